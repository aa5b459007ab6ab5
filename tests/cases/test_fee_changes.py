"""Changing a case's fee and charges: an administrator's change applies at once; when the
firm requires approval, anyone else's fee change becomes a request an administrator approves
or rejects. A staged fee is locked until it is unstaged."""

from __future__ import annotations

import pytest

from casebridge.cases.errors import Locked, PermissionDenied, ValidationFailed
from casebridge.cases.models import FeeChangeRequest, Settlement
from casebridge.cases.services import firms, settlement
from tests.cases.helpers import audits, deposit, figures, offer, refused, stage, terms


@pytest.fixture
def settled(cfirm, cadmin, case):
    """Acme's 250,000.00 accepted and deposited."""
    accepted = offer(cfirm, cadmin, case, 25_000_000)
    deposit(cfirm, cadmin, case, accepted, 25_000_000)
    return case


def fee_of(case) -> tuple:
    s = Settlement.objects.get(case=case)
    return (s.fee_mode, s.fee_rate_bp, s.fee_fixed_cents, s.fee_on_net_of_costs)


def charges_of(case) -> tuple:
    s = Settlement.objects.get(case=case)
    return (s.copp_cents, s.property_damage_fee_cents)


def decide(cfirm, actor, request, approve: bool):
    return settlement.fee_change_request_decide(
        firm=cfirm, actor=actor, request_id=request.pk, approve=approve
    )


# --- an administrator ------------------------------------------------------------------------


def test_an_administrators_fee_change_applies_at_once(cfirm, cadmin, settled):
    s, request = terms(cfirm, cadmin, settled, fee_rate_bp=4000)
    assert request is None
    assert fee_of(settled) == ("percent", 4000, 0, False)
    assert figures(settled).fee_cents == 10_000_000
    assert not FeeChangeRequest.objects.exists()
    [event] = audits("settlement", s.pk, "change")
    assert event.before == {"fee": ["percent", 3333, 0, False], "charges": [0, 0]}
    assert event.after == {"fee": ["percent", 4000, 0, False], "charges": [0, 0]}


def test_saving_unchanged_terms_writes_no_audit(cfirm, cadmin, settled):
    terms(cfirm, cadmin, settled)
    assert audits("settlement") == []


# --- someone else, when the firm requires approval ---------------------------------------


def test_anyone_elses_fee_change_becomes_a_request_and_leaves_the_fee(cfirm, cattorney, settled):
    _, request = terms(cfirm, cattorney, settled, fee_rate_bp=4000, reason="  agreed at 40%  ")
    assert request is not None
    fresh = FeeChangeRequest.objects.get(pk=request.pk)
    assert (
        fresh.status,
        fresh.fee_mode,
        fresh.fee_rate_bp,
        fresh.reason,
        fresh.requested_by_id,
    ) == ("pending", "percent", 4000, "agreed at 40%", cattorney.pk)
    assert fee_of(settled) == ("percent", 3333, 0, False)
    assert figures(settled).fee_cents == 8_332_500
    [event] = audits("fee_change", request.pk, "request")
    assert event.after == {"fee": ["percent", 4000, 0, False], "reason": "  agreed at 40%  "}


def test_a_requested_change_needs_a_reason(cfirm, cattorney, settled):
    with refused(ValidationFailed, code="validation_error") as info:
        terms(cfirm, cattorney, settled, fee_rate_bp=4000, reason="  ")
    assert info.value.message == "say why the fee should change; an administrator approves it"


def test_a_second_request_waits_for_the_first(cfirm, cattorney, paralegal, settled):
    terms(cfirm, cattorney, settled, fee_rate_bp=4000, reason="agreed at 40%")
    with refused(ValidationFailed, code="validation_error") as info:
        terms(cfirm, paralegal, settled, fee_mode="fixed", fee_fixed_cents=1, reason="flat")
    assert info.value.message == (
        "a fee change for this case is already waiting for approval; "
        "ask an administrator to decide it first"
    )


def test_charges_change_at_once_even_when_the_fee_waits(cfirm, cattorney, settled):
    _, request = terms(
        cfirm,
        cattorney,
        settled,
        fee_rate_bp=4000,
        copp_cents=2_500,
        property_damage_fee_cents=-10_000,
        reason="agreed",
    )
    assert request is not None
    assert charges_of(settled) == (2_500, -10_000)
    assert fee_of(settled) == ("percent", 3333, 0, False)


def test_charges_alone_need_no_approval(cfirm, cattorney, settled):
    _, request = terms(cfirm, cattorney, settled, copp_cents=2_500)
    assert request is None
    assert charges_of(settled) == (2_500, 0)


def test_a_firm_without_approval_takes_anyones_fee_change_at_once(
    cfirm, cadmin, cattorney, settled
):
    firms.firm_defaults_update(
        firm=cfirm,
        actor=cadmin,
        default_fee_rate_bp=3333,
        default_copp_cents=0,
        default_property_damage_fee_cents=0,
        fee_changes_need_approval=False,
    )
    # ``cfirm`` was loaded before the change: the service must go by the firm as it is now
    _, request = terms(cfirm, cattorney, settled, fee_rate_bp=3000)
    assert request is None
    assert fee_of(settled) == ("percent", 3000, 0, False)


def test_taking_the_fee_on_the_net_of_costs_is_an_administrators_change(
    cfirm, cadmin, cattorney, settled
):
    """A request cannot carry that switch, so it must not be silently lost on approval."""
    with refused(ValidationFailed, code="validation_error") as info:
        terms(cfirm, cattorney, settled, fee_on_net_of_costs=True, reason="costs first")
    assert info.value.message == (
        "only a firm administrator can change whether the fee is taken on the net of costs; "
        "ask one to make this change"
    )
    terms(cfirm, cadmin, settled, fee_on_net_of_costs=True)
    assert fee_of(settled) == ("percent", 3333, 0, True)


# --- approving and rejecting -------------------------------------------------------------


def test_an_administrator_approves_and_the_fee_changes(cfirm, cadmin, cattorney, settled):
    _, request = terms(
        cfirm, cattorney, settled, fee_mode="fixed", fee_fixed_cents=6_000_000, reason="flat"
    )
    decided = decide(cfirm, cadmin, request, approve=True)
    assert (decided.status, decided.decided_by_id) == ("approved", cadmin.pk)
    assert decided.decided_at is not None
    assert fee_of(settled) == ("fixed", 3333, 6_000_000, False)
    assert figures(settled).fee_cents == 6_000_000
    [event] = audits("fee_change", request.pk, "approve")
    assert event.before == {"status": "pending", "fee": ["percent", 3333, 0, False]}
    assert event.after == {
        "status": "approved",
        "fee_mode": "fixed",
        "fee_rate_bp": 3333,
        "fee_fixed_cents": 6_000_000,
    }


def test_a_rejected_request_leaves_the_fee(cfirm, cadmin, cattorney, settled):
    _, request = terms(cfirm, cattorney, settled, fee_rate_bp=4000, reason="agreed")
    assert decide(cfirm, cadmin, request, approve=False).status == "rejected"
    assert fee_of(settled) == ("percent", 3333, 0, False)
    # with nothing waiting, a new request can be made
    terms(cfirm, cattorney, settled, fee_rate_bp=3500, reason="second try")


def test_only_an_administrator_decides_a_fee_change(cfirm, cadmin, cattorney, settled):
    _, request = terms(cfirm, cattorney, settled, fee_rate_bp=4000, reason="agreed")
    office = firms.user_create(
        firm=cfirm,
        actor=None,
        email="olive@lopez.test",
        password="correct horse battery",
        perm_admin_settings=True,
    )
    for who in (cattorney, office):
        with refused(PermissionDenied, code="permission_denied") as info:
            decide(cfirm, who, request, approve=True)
        assert info.value.message == "only a firm administrator can approve fee changes"


def test_a_request_is_decided_once(cfirm, cadmin, cattorney, settled):
    _, request = terms(cfirm, cattorney, settled, fee_rate_bp=4000, reason="agreed")
    decide(cfirm, cadmin, request, approve=False)
    with refused(Locked, code="locked") as info:
        decide(cfirm, cadmin, request, approve=True)
    assert info.value.message == "this request was already rejected"


# --- a staged fee is locked -----------------------------------------------------------------


def test_a_staged_fee_cannot_change(cfirm, cadmin, settled):
    stage(cfirm, cadmin, settled, "fee")
    with refused(Locked, code="locked") as info:
        terms(cfirm, cadmin, settled, fee_rate_bp=4000)
    assert info.value.message == "the fee is staged; unstage it before changing the fee"
    with refused(Locked, code="locked") as info:
        terms(cfirm, cadmin, settled, fee_on_net_of_costs=True)
    assert info.value.message.startswith("the fee is staged; unstage it")


def test_a_staged_fee_blocks_approving_a_change_but_not_rejecting_it(
    cfirm, cadmin, cattorney, settled
):
    _, request = terms(cfirm, cattorney, settled, fee_rate_bp=4000, reason="agreed")
    stage(cfirm, cadmin, settled, "fee")
    with refused(Locked, code="locked") as info:
        decide(cfirm, cadmin, request, approve=True)
    assert info.value.message == "the fee is staged; unstage it before approving a fee change"
    assert decide(cfirm, cadmin, request, approve=False).status == "rejected"


def test_staged_charges_cannot_change(cfirm, cadmin, settled):
    terms(cfirm, cadmin, settled, copp_cents=5_000, property_damage_fee_cents=20_000)
    stage(cfirm, cadmin, settled, "copp")
    with refused(Locked, code="locked") as info:
        terms(cfirm, cadmin, settled, copp_cents=6_000)
    assert info.value.message == "COPP charges are staged; unstage them first"
    stage(cfirm, cadmin, settled, "property_damage_fee")
    with refused(Locked, code="locked") as info:
        terms(cfirm, cadmin, settled, property_damage_fee_cents=10_000)
    assert info.value.message == (
        "the Property Damage Fee or cost reimbursement is staged; unstage it first"
    )
    terms(cfirm, cadmin, settled, fee_rate_bp=3000)  # the fee itself is not staged


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fee_mode": "hourly"}, "the fee is a percentage or a fixed amount"),
        ({"fee_rate_bp": 10_001}, "the fee percentage must be between 0 and 100"),
        ({"fee_rate_bp": -1}, "the fee percentage must be between 0 and 100"),
        ({"fee_fixed_cents": -1}, "a fixed fee cannot be negative"),
        ({"copp_cents": -1}, "COPP charges cannot be negative"),
    ],
)
def test_impossible_terms_are_refused(cfirm, cadmin, settled, change, message):
    with refused(ValidationFailed, code="validation_error") as info:
        terms(cfirm, cadmin, settled, **change)
    assert info.value.message == message
