"""Two people staging, depositing or pushing on the same case at the same moment, on
PostgreSQL where the row locks are real. Each thread has its own connection and commits for
real; the lock on the case's Settlement row makes them take turns."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from casebridge.cases.errors import StagingExceedsTrust, ValidationFailed
from casebridge.cases.models import Case, Deposit, Settlement, TrustItem
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import firms, settlement
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import D, contact, deposit, figures, lien, offer, stage, terms
from tests.clockwork import PATIENCE

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


def at_the_same_moment(*actions: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run each action in its own thread (and connection), released together by a barrier.
    Returns ("ok", result) or ("error", exception) per action, in order."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[tuple[str, Any]] = [("not run", None)] * len(actions)

    def run(i: int, action: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect first, so the race is in the work
            barrier.wait()  # however long the others take to connect
            outcomes[i] = ("ok", action())
        except Exception as exc:  # reported to the test
            barrier.abort()  # a thread that could not start releases the others
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=PATIENCE)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return outcomes


def one_ok_one_error(outcomes: list[tuple[str, Any]]) -> Exception:
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    [error] = [value for kind, value in outcomes if kind == "error"]
    return error


def assert_trust_consistent(case: Case) -> None:
    f = figures(case)
    assert 0 <= f.staged_from_trust_cents <= f.deposited_cents
    assert f.trust_remaining_cents >= 0
    pushed = Settlement.objects.get(case=case).pushed_to_client_trust_at is not None
    clients = TrustItem.objects.filter(case=case, kind="client").count()
    assert clients <= 1
    if pushed:
        assert f.trust_remaining_cents == 0
    else:
        assert clients == 0


@pytest.fixture
def teller(cfirm):
    """A second person who may stage and push trust money (Deposit settlement checks)."""
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="tess.teller@lopez.test",
        password=PASSWORD,
        perm_deposit_settlement=True,
    )


@pytest.fixture
def funded(cfirm, cadmin, case):
    """An accepted offer of 100,000.00, deposited in full."""
    accepted = offer(cfirm, cadmin, case, 10_000_000)
    deposit(cfirm, cadmin, case, accepted, 10_000_000)
    return case


def test_two_people_staging_more_than_the_trust_holds_one_wins(cfirm, cadmin, teller, funded):
    valley = lien(cfirm, cadmin, funded, 6_000_000, final=6_000_000)
    shield = lien(cfirm, cadmin, funded, 6_000_000, final=6_000_000, holder="Blue Shield")

    outcomes = at_the_same_moment(
        lambda: stage(cfirm, cadmin, funded, "lien", of=valley),
        lambda: stage(cfirm, teller, funded, "lien", of=shield),
    )

    error = one_ok_one_error(outcomes)
    assert isinstance(error, StagingExceedsTrust)
    assert error.details == {"available_cents": 4_000_000}  # it saw the winner's payment
    assert error.message == (
        "only $40,000.00 of deposited money is not yet staged; $60,000.00 cannot be staged"
    )
    assert list(TrustItem.objects.filter(case=funded).values_list("amount_cents", flat=True)) == [
        6_000_000
    ]
    f = figures(funded)
    assert (f.staged_from_trust_cents, f.trust_remaining_cents) == (6_000_000, 4_000_000)
    assert_trust_consistent(funded)


def test_staging_the_fee_and_a_lien_together_never_overdraws(cfirm, cadmin, teller, funded):
    valley = lien(cfirm, cadmin, funded, 7_000_000, final=7_000_000)

    outcomes = at_the_same_moment(
        lambda: stage(cfirm, cadmin, funded, "fee"),  # 33,330.00
        lambda: stage(cfirm, teller, funded, "lien", of=valley),  # 70,000.00
    )

    error = one_ok_one_error(outcomes)
    assert isinstance(error, StagingExceedsTrust)
    assert error.details["available_cents"] in (10_000_000 - 3_333_000, 10_000_000 - 7_000_000)
    assert figures(funded).staged_from_trust_cents in (3_333_000, 7_000_000)
    assert_trust_consistent(funded)


def test_two_deposits_beyond_the_offer_one_is_refused(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 10_000_000)

    outcomes = at_the_same_moment(
        lambda: deposit(cfirm, cadmin, case, accepted, 6_000_000, check="A-1"),
        lambda: deposit(cfirm, cadmin, case, accepted, 6_000_000, check="B-1"),
    )

    error = one_ok_one_error(outcomes)
    assert isinstance(error, ValidationFailed)
    assert error.message == (
        "this would deposit $120,000.00 against an offer of $100,000.00; "
        "at most $40,000.00 remains to be deposited"
    )
    assert list(Deposit.objects.filter(case=case).values_list("amount_cents", flat=True)) == [
        6_000_000
    ]
    assert figures(case).deposited_cents == 6_000_000


def test_two_deposits_within_the_offer_both_land(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 10_000_000)

    outcomes = at_the_same_moment(
        lambda: deposit(cfirm, cadmin, case, accepted, 6_000_000, check="A-1"),
        lambda: deposit(cfirm, cadmin, case, accepted, 4_000_000, check="B-1"),
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert figures(case).deposited_cents == 10_000_000


def test_voiding_a_check_while_its_money_is_being_staged_never_overdraws(
    cfirm, cadmin, teller, case
):
    accepted = offer(cfirm, cadmin, case, 10_000_000)
    deposit(cfirm, cadmin, case, accepted, 6_000_000, check="1")
    second = deposit(cfirm, cadmin, case, accepted, 4_000_000, check="2")
    valley = lien(cfirm, cadmin, case, 7_000_000, final=7_000_000)

    outcomes = at_the_same_moment(
        lambda: settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=second.pk),
        lambda: stage(cfirm, teller, case, "lien", of=valley),
    )

    error = one_ok_one_error(outcomes)
    assert isinstance(error, StagingExceedsTrust)
    f = figures(case)
    assert (f.deposited_cents, f.staged_from_trust_cents) in [
        (6_000_000, 0),  # the void won; 70,000.00 no longer fits in 60,000.00
        (10_000_000, 7_000_000),  # the staging won; the check cannot be voided under it
    ]
    assert_trust_consistent(case)


def test_a_push_to_client_trust_racing_a_staging_leaves_the_trust_consistent(
    cfirm, cadmin, teller, funded
):
    terms(cfirm, cadmin, funded, copp_cents=500_000)
    stage(cfirm, cadmin, funded, "fee")  # 33,330.00

    outcomes = at_the_same_moment(
        lambda: settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=funded.pk),
        lambda: stage(cfirm, teller, funded, "copp"),  # 5,000.00
    )

    assert outcomes[1][0] == "ok", outcomes  # the staging always goes through
    f = figures(funded)
    assert f.staged_from_trust_cents - f.client_item_cents == 3_333_000 + 500_000
    pushed = Settlement.objects.get(case=funded).pushed_to_client_trust_at is not None
    if pushed:  # the staging went first: the client's check is the remainder after it
        assert outcomes[0][0] == "ok", outcomes
        assert f.client_item_cents == 10_000_000 - 3_333_000 - 500_000
    else:  # the push went first and was refused: the COPP charges were not staged yet
        kind, error = outcomes[0]
        assert kind == "error"
        assert isinstance(error, ValidationFailed)
        assert error.message.startswith("nothing is staged for the copp charges ($5,000.00)")
        assert f.client_item_cents == 0
        assert f.trust_remaining_cents == 10_000_000 - 3_333_000 - 500_000
    assert_trust_consistent(funded)


def test_two_pushes_to_client_trust_make_one_client_check(cfirm, cadmin, teller, funded):
    stage(cfirm, cadmin, funded, "fee")

    outcomes = at_the_same_moment(
        lambda: settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=funded.pk),
        lambda: settlement.push_to_client_trust(
            firm=cfirm, actor=teller, case_id=funded.pk, payee_name="Guardian of M. Lopez"
        ),
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    [client] = TrustItem.objects.filter(case=funded, kind="client")
    assert client.amount_cents == 10_000_000 - 3_333_000
    assert figures(funded).trust_remaining_cents == 0
    assert_trust_consistent(funded)


def test_cases_opened_at_the_same_moment_get_the_next_numbers(cfirm, cadmin):
    client = contact(cfirm, "Tom Baker")

    def open_case(n: int):
        return lambda: case_services.case_create(
            firm=cfirm, actor=cadmin, name=f"Baker v. Bus {n}", client_id=client.pk, opened_on=D
        )

    outcomes = at_the_same_moment(*(open_case(n) for n in range(3)))

    assert [kind for kind, _ in outcomes] == ["ok", "ok", "ok"], outcomes
    assert sorted(Case.objects.filter(firm=cfirm).values_list("number", flat=True)) == [
        "PI-000001",
        "PI-000002",
        "PI-000003",
    ]


def test_reopening_a_lien_while_it_is_staged_leaves_no_payment_for_it(
    cfirm, cadmin, teller, funded
):
    """Issue 10, item 11: whichever goes first, a reopened lien has no staged payment."""
    valley = lien(cfirm, cadmin, funded, 3_000_000, final=3_000_000)
    outcomes = at_the_same_moment(
        lambda: settlement.lien_reopen(
            firm=cfirm, actor=cadmin, lien_id=valley.pk, reason="amount disputed"
        ),
        lambda: stage(cfirm, teller, funded, "lien", of=valley),
    )
    assert outcomes[0][0] == "ok", outcomes
    if outcomes[1][0] == "error":  # the reopen went first: the lien is no longer accepted
        assert isinstance(outcomes[1][1], ValidationFailed)
        assert outcomes[1][1].message.startswith("a payment can be staged only for an accepted")
    valley.refresh_from_db()
    assert valley.accepted_on is None
    assert not TrustItem.objects.filter(lien=valley).exists()
    assert_trust_consistent(funded)
