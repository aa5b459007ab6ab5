"""Issue 10, item 11: a lien marked paid direct after the whole settlement was deposited.

Trust should then hold the settlement less the liens paid direct, so Push to Client Trust
is refused ("void the excess deposit or correct the liens"). The way out: the excess is
named wherever the lien is decided (the figures carry it, and the warning says what to
do); the deposit is voided and recorded again for the right amount; or a firm
administrator reopens an accepted lien (before Push to Disbursement) to correct it, which
takes back what depended on it as the staging rules require."""

from __future__ import annotations

import pytest

from casebridge.cases.errors import Locked, PermissionDenied, ValidationFailed
from casebridge.cases.models import Lien, Settlement, TrustItem
from casebridge.cases.selectors.settlement import excess_deposit_warning
from casebridge.cases.services import firms, settlement
from casebridge.cases.services import medicare as medicare_service
from tests.cases.helpers import (
    D,
    audits,
    deposit,
    figures,
    lien,
    offer,
    refused,
    stage,
    staged,
)

GROSS = 10_000_000  # $100,000.00
MEDICARE = 1_200_000  # $12,000.00, paid direct by the insurer
FEE = 3_333_000  # 33.33% of the gross (the firm's default)

WARNING = (
    "$100,000.00 is deposited but trust should hold only $88,000.00: $12,000.00 of liens "
    "is paid direct (CMS Medicare $12,000.00), so $12,000.00 too much is in trust. Void the "
    "deposit and record it again for the right amount (the deposits should come to "
    "$88,000.00), or, if a lien is not in fact paid direct, correct the lien (an "
    "administrator can reopen an accepted lien). Push to Client Trust is refused until then."
)
PUSH_REFUSAL = (
    "$100,000.00 was deposited but only $88,000.00 is expected in trust (the settlement less "
    "liens paid direct); void the excess deposit or correct the liens"
)


@pytest.fixture
def full(cfirm, cadmin, case):
    """The whole settlement deposited, then Medicare's lien marked paid direct and
    accepted."""
    accepted = offer(cfirm, cadmin, case, GROSS)
    check = deposit(cfirm, cadmin, case, accepted, GROSS, check="88123")
    medicare = lien(cfirm, cadmin, case, MEDICARE, holder="CMS Medicare", kind="medicare")
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=medicare.pk,
        claimed_cents=MEDICARE,
        final_cents=MEDICARE,
        paid_direct=True,
    )
    medicare = settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=medicare.pk, on=D)
    return {"offer": accepted, "deposit": check, "medicare": medicare}


def test_the_excess_is_named_with_the_fix(case, full):
    seen = figures(case)
    assert (seen.deposited_cents, seen.expected_in_trust_cents) == (GROSS, GROSS - MEDICARE)
    assert seen.excess_deposited_cents == MEDICARE
    assert excess_deposit_warning(seen) == WARNING


def test_no_warning_while_the_deposits_fit(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, GROSS)
    deposit(cfirm, cadmin, case, accepted, GROSS - MEDICARE)
    lien(cfirm, cadmin, case, MEDICARE, final=MEDICARE, holder="CMS Medicare", paid_direct=True)
    seen = figures(case)
    assert seen.excess_deposited_cents == 0
    assert excess_deposit_warning(seen) == ""


def test_the_dead_end_is_left_by_voiding_the_deposit_and_depositing_the_right_amount(
    cfirm, cadmin, case, full
):
    stage(cfirm, cadmin, case, "lien", of=full["medicare"])  # paid direct: takes no trust
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    assert info.value.message == PUSH_REFUSAL

    settlement.deposit_void(
        firm=cfirm,
        actor=cadmin,
        deposit_id=full["deposit"].pk,
        reason="recorded the whole settlement; Medicare was paid direct",
    )
    assert figures(case).excess_deposited_cents == 0
    deposit(cfirm, cadmin, case, full["offer"], GROSS - MEDICARE, check="88124")
    stage(cfirm, cadmin, case, "fee")
    client = settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    assert client is not None
    assert client.amount_cents == GROSS - MEDICARE - FEE == figures(case).net_to_client_cents
    assert figures(case).trust_remaining_cents == 0


# --- an administrator reopens an accepted lien --------------------------------------------


def reopen(cfirm, actor, held: Lien, reason: str = "Medicare was not paid direct"):
    return settlement.lien_reopen(firm=cfirm, actor=actor, lien_id=held.pk, reason=reason)


def test_reopening_takes_back_the_acceptance_the_payment_and_the_clients_check(
    cfirm, cadmin, case, full
):
    """The other way out: Medicare is in fact paid from trust. The administrator reopens
    the lien; its staged payment and the client's check go (the staging changed), and the
    lien is corrected and accepted again."""
    settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=full["deposit"].pk, reason="x")
    deposit(cfirm, cadmin, case, full["offer"], GROSS - MEDICARE, check="88124")
    medicare = full["medicare"]
    item = stage(cfirm, cadmin, case, "lien", of=medicare)
    stage(cfirm, cadmin, case, "fee")
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    assert [k for k, _, _ in staged(case)] == ["lien", "fee", "client"]

    reopened = reopen(cfirm, cadmin, medicare)

    assert reopened.accepted_on is None
    fresh = Lien.objects.get(pk=medicare.pk)
    assert (fresh.accepted_on, fresh.final_cents, fresh.paid_direct) == (None, MEDICARE, True)
    assert staged(case) == [("fee", FEE, "staged")]
    assert not TrustItem.objects.filter(pk=item.pk).exists()
    assert Settlement.objects.get(case=case).pushed_to_client_trust_at is None
    [event] = audits("lien", medicare.pk, "reopen")
    assert event.actor_id == cadmin.pk
    assert event.summary == (
        "Case PI-000001: accepted lien of CMS Medicare reopened: Medicare was not paid direct"
    )
    assert event.before == {
        "accepted_on": D.isoformat(),
        "final_cents": MEDICARE,
        "paid_direct": True,
        "staged_cents": MEDICARE,
    }
    assert event.after == {
        "accepted_on": None,
        "final_cents": MEDICARE,
        "paid_direct": True,
        "staged_cents": 0,
        "reason": "Medicare was not paid direct",
    }
    [unstaged] = audits("trust_item", item.pk, "unstage")
    assert unstaged.before == {"kind": "lien", "amount_cents": MEDICARE, "lien": medicare.pk}

    # editable again: paid from trust after all, then accepted and staged from trust
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=medicare.pk,
        claimed_cents=MEDICARE,
        final_cents=MEDICARE,
        paid_direct=False,
    )
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=medicare.pk, on=D)
    assert figures(case).expected_in_trust_cents == GROSS
    assert figures(case).not_yet_deposited_cents == MEDICARE


def test_reopening_is_refused_after_push_to_disbursement(cfirm, cadmin, case, full):
    settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=full["deposit"].pk, reason="x")
    deposit(cfirm, cadmin, case, full["offer"], GROSS - MEDICARE, check="88124")
    stage(cfirm, cadmin, case, "lien", of=full["medicare"])
    stage(cfirm, cadmin, case, "fee")
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    # Medicare's final demand, paid direct at that amount: the hold releases (ADR 0039)
    medicare_service.medicare_step_record(
        firm=cfirm, actor=cadmin, case_id=case.pk, kind="final_demand", on=D, amount_cents=MEDICARE
    )
    settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk)
    with refused(Locked, code="locked") as info:
        reopen(cfirm, cadmin, full["medicare"])
    assert info.value.message == (
        "case PI-000001 has been pushed to disbursement; its settlement is locked"
    )


@pytest.mark.parametrize("who", ["cattorney", "paralegal"])
def test_reopening_is_for_administrators_only(request, cfirm, full, who):
    user = request.getfixturevalue(who)
    with refused(PermissionDenied, code="permission_denied") as info:
        reopen(cfirm, user, full["medicare"])
    assert info.value.message == "only a firm administrator can reopen an accepted lien"
    assert info.value.details == {"permission": "firm_admin"}


def test_reopening_needs_a_reason_and_an_accepted_lien(cfirm, cadmin, case, full):
    with refused(ValidationFailed, code="validation_error") as info:
        reopen(cfirm, cadmin, full["medicare"], reason="   ")
    assert (info.value.message, info.value.field) == (
        "say why the accepted lien is reopened",
        "reason",
    )
    open_claim = lien(cfirm, cadmin, case, 50_000, holder="Valley Medical")
    with refused(ValidationFailed, code="validation_error") as info:
        reopen(cfirm, cadmin, open_claim)
    assert info.value.message == (
        "the lien of Valley Medical is not accepted, so there is nothing to reopen; edit it instead"
    )


def test_a_lien_of_another_firm_is_not_reopened(cfirm, cadmin, full):
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.lien_reopen(
            firm=rival, actor=cadmin, lien_id=full["medicare"].pk, reason="not mine"
        )
    assert info.value.message == "lien not found in this firm"
