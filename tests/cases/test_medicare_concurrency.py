"""Medicare writes at the same moment as a push, on PostgreSQL where the row locks are
real (ADR 0039): they take the case's Settlement row lock the push checks the hold under,
so a revoke and a push take turns, and two first-time beneficiary settings on two cases of
one client both succeed with one row."""

from __future__ import annotations

import pytest
from django.db import connection

from casebridge.cases.errors import Conflict, MedicareHold
from casebridge.cases.models import (
    Case,
    ClientMedicareStatus,
    MedicareHoldOverride,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import medicare, settlement
from tests.cases.medicare_world import worked_settlement
from tests.cases.test_concurrency import at_the_same_moment

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_a_revoke_and_a_push_at_the_same_moment_take_turns(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case)
    medicare.medicare_hold_override(
        firm=cfirm, actor=cadmin, case_id=case.pk, reason="CMS confirmed no claim"
    )
    outcomes = at_the_same_moment(
        lambda: settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk),
        lambda: medicare.medicare_hold_override_revoke(
            firm=cfirm, actor=cadmin, case_id=case.pk, reason="letter arrived"
        ),
    )
    check = TrustItem.objects.get(case=case, kind=TrustItemKind.CLIENT)
    override = MedicareHoldOverride.objects.get()
    kinds = [kind for kind, _ in outcomes]
    assert sorted(kinds) == ["error", "ok"], outcomes
    if kinds == ["ok", "error"]:  # pushed first: the revoke is refused, the override stays
        assert isinstance(outcomes[1][1], Conflict)
        assert (check.status, override.revoked_at) == (TrustItemStatus.TO_BE_DISBURSED, None)
    else:  # revoked first: the push is held, nothing moved
        assert isinstance(outcomes[0][1], MedicareHold)
        assert check.status == TrustItemStatus.STAGED
        assert override.revoked_at is not None


def test_two_first_time_beneficiary_settings_both_succeed_with_one_row(cfirm, cadmin, case):
    second = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Lopez v. City Bus",
        client_id=case.client_id,
        status="open",
    )
    outcomes = at_the_same_moment(
        *[
            (
                lambda each=each: medicare.client_medicare_set(
                    firm=cfirm, actor=cadmin, case_id=each.pk, is_beneficiary=True
                )
            )
            for each in (case, second)
        ]
    )
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert list(ClientMedicareStatus.objects.values_list("contact_id", "is_beneficiary")) == [
        (case.client_id, True)
    ]
    assert Case.objects.count() == 2
