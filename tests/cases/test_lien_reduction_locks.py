"""Lien reductions lock the lien rows only (PostgreSQL).

A step locks its lien, and applying a scenario locks the case's liens, while they read the
lien's holder and case alongside. A bare ``FOR UPDATE`` over that join locked the holder's
contact row and the case row too: a step on case Y's lien from the same holder waited for
a transaction on case X's. With ``of=("self",)`` the other rows stay free: another
transaction locks the holder and the case without waiting (NOWAIT) and records a step on
case Y's lien from the same holder while case X's transaction is still open.

SQLite serialises its writers: there is nothing to race there."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from casebridge.cases.models import Case, Contact, LienReduction
from casebridge.cases.services.lien_reductions import (
    lien_reduction_record,
    lien_reductions_request,
)
from tests.cases.helpers import D, add_cost, lien, new_case, offer
from tests.clockwork import PATIENCE

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.mark.parametrize("held_by", ["a step", "a scenario applied"])
def test_a_reduction_on_case_x_leaves_the_holder_and_case_y_free(cfirm, cadmin, case, held_by):
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    offer(cfirm, cadmin, case, 25_000_000)
    on_x = lien(cfirm, cadmin, case, 2_000_000, holder="Valley Medical")
    on_y = lien(cfirm, cadmin, new_case(cfirm, cadmin, "Ann Lee"), 900_000, holder="Valley Medical")
    assert on_x.holder_id == on_y.holder_id
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def case_x() -> None:  # a transaction on case X's lien, kept open
        try:
            with transaction.atomic():
                if held_by == "a step":
                    lien_reduction_record(
                        firm=cfirm,
                        actor=cadmin,
                        lien_id=on_x.pk,
                        step="requested",
                        amount_cents=1_500_000,
                        made_on=D,
                    )
                else:
                    lien_reductions_request(
                        firm=cfirm, actor=cadmin, case_id=case.pk, scenario="procurement", made_on=D
                    )
                holding.set()
                assert release.wait(PATIENCE)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=case_x)
    thread.start()
    try:
        assert holding.wait(PATIENCE)
        with transaction.atomic():
            # before the fix: "could not obtain lock on row in relation ..."
            assert Contact.objects.select_for_update(nowait=True).get(pk=on_x.holder_id)
            assert Case.objects.select_for_update(nowait=True).get(pk=case.pk)
        lien_reduction_record(
            firm=cfirm,
            actor=cadmin,
            lien_id=on_y.pk,
            step="requested",
            amount_cents=600_000,
            made_on=D,
        )
    finally:
        release.set()
        thread.join(PATIENCE)
    assert not thread.is_alive()
    assert errors == []
    assert LienReduction.objects.filter(lien=on_y).values_list("amount_cents", flat=True).get() == (
        600_000
    )
