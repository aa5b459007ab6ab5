"""The Settlement tab's money coming in: demands and offers, accepting one offer per payer,
depositing settlement checks (partial ones too) only against an accepted offer, and the
figures computed from them: the gross, the fee, COPP charges and the Property Damage Fee
(a negative one is a waiver), and the net to the client."""

from __future__ import annotations

import pytest

from casebridge.cases.errors import Locked, PermissionDenied, StagingExceedsTrust, ValidationFailed
from casebridge.cases.models import Deposit, Negotiation
from casebridge.cases.services import costs, firms, settlement
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import (
    D,
    add_cost,
    audits,
    contact,
    deposit,
    figures,
    lien,
    new_case,
    offer,
    refused,
    stage,
    terms,
)

DEPOSIT_DENIED = "this needs the 'Deposit settlement checks' permission; ask a firm administrator"


@pytest.fixture
def teller(cfirm):
    """A paralegal trusted to deposit settlement checks."""
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="terry@lopez.test",
        password=PASSWORD,
        first_name="Terry",
        last_name="Teller",
        perm_deposit_settlement=True,
    )


@pytest.fixture
def acme(cfirm, cadmin, case):
    """Acme Insurance's accepted offer of 250,000.00."""
    return offer(cfirm, cadmin, case, 25_000_000)


def record(cfirm, actor, case, kind, cents, party="Acme Insurance"):
    return settlement.negotiation_record(
        firm=cfirm,
        actor=actor,
        case_id=case.pk,
        kind=kind,
        party_id=contact(cfirm, party).pk,
        amount_cents=cents,
        made_on=D,
        note="by phone",
    )


def accept(cfirm, actor, neg):
    return settlement.offer_accept(firm=cfirm, actor=actor, negotiation_id=neg.pk, on=D)


# --- negotiations ---------------------------------------------------------------------------


def test_demands_and_offers_are_recorded_with_their_dates(cfirm, cadmin, case):
    demand = record(cfirm, cadmin, case, "demand", 50_000_000)
    counter = record(cfirm, cadmin, case, "offer", 20_000_000)
    assert list(Negotiation.objects.filter(case=case).values_list("kind", "amount_cents")) == [
        ("demand", 50_000_000),
        ("offer", 20_000_000),
    ]
    assert (demand.made_on, demand.note, counter.is_accepted) == (D, "by phone", False)
    event = audits("negotiation", counter.pk)[0]
    assert event.after == {"kind": "offer", "amount_cents": 20_000_000, "party": "Acme Insurance"}
    assert event.summary == "Case PI-000001: offer of $200,000.00 (Acme Insurance)"
    assert figures(case).gross_cents == 0  # nothing is accepted yet


@pytest.mark.parametrize(
    ("kind", "cents", "message"),
    [
        ("offer", 0, "amount must be greater than $0.00"),
        ("offer", -100, "amount must be greater than $0.00"),
        ("counter", 100, "kind must be demand or offer"),
    ],
)
def test_a_negotiation_needs_a_kind_and_a_positive_amount(
    cfirm, cadmin, case, kind, cents, message
):
    contact(cfirm, "Acme Insurance")
    with refused(ValidationFailed, code="validation_error") as info:
        record(cfirm, cadmin, case, kind, cents)
    assert info.value.message == message


def test_the_party_must_belong_to_the_firm(cfirm, cadmin, case):
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    stranger = contact(rival, "Rival Insurance")
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.negotiation_record(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            kind="offer",
            party_id=stranger.pk,
            amount_cents=100,
        )
    assert info.value.message == "party not found in this firm"


def test_accepting_an_offer_makes_it_the_gross_and_is_audited(cfirm, cadmin, case):
    neg = record(cfirm, cadmin, case, "offer", 25_000_000)
    accepted = accept(cfirm, cadmin, neg)
    assert (accepted.accepted_on, accepted.accepted_by_id) == (D, cadmin.pk)
    f = figures(case)
    assert f.gross_cents == 25_000_000
    assert [(s.payer, s.accepted_cents, s.deposited_cents) for s in f.sources] == [
        ("Acme Insurance", 25_000_000, 0)
    ]
    [event] = audits("negotiation", neg.pk, "accept")
    assert event.summary == ("Case PI-000001: offer of $250,000.00 from Acme Insurance accepted")
    assert event.before == {"accepted_on": None}
    assert event.after == {
        "accepted_on": "2026-03-02",
        "amount_cents": 25_000_000,
        "party": "Acme Insurance",
    }


def test_a_demand_cannot_be_accepted(cfirm, cadmin, case):
    demand = record(cfirm, cadmin, case, "demand", 50_000_000)
    with refused(ValidationFailed, code="validation_error") as info:
        accept(cfirm, cadmin, demand)
    assert info.value.message == "a demand cannot be accepted; record the offer and accept that"


def test_an_accepted_offer_is_locked(cfirm, cadmin, case, acme):
    with refused(Locked, code="locked") as info:
        accept(cfirm, cadmin, acme)
    assert info.value.message == "this offer is already accepted"
    with refused(Locked, code="locked") as info:
        settlement.negotiation_delete(firm=cfirm, actor=cadmin, negotiation_id=acme.pk)
    assert info.value.message == "an accepted offer is locked and cannot be deleted"


def test_an_offer_not_accepted_can_be_deleted(cfirm, cadmin, case):
    neg = record(cfirm, cadmin, case, "offer", 1_000_000)
    settlement.negotiation_delete(firm=cfirm, actor=cadmin, negotiation_id=neg.pk)
    assert not Negotiation.objects.filter(pk=neg.pk).exists()
    [event] = audits("negotiation", neg.pk, "delete")
    assert event.before == {"kind": "offer", "amount_cents": 1_000_000}


def test_one_accepted_offer_per_payer(cfirm, cadmin, case, acme):
    second = record(cfirm, cadmin, case, "offer", 26_000_000)
    with refused(ValidationFailed, code="validation_error") as info:
        accept(cfirm, cadmin, second)
    assert info.value.message.startswith(
        "an offer from Acme Insurance is already accepted on this case"
    )
    assert figures(case).gross_cents == 25_000_000


def test_offers_accepted_from_two_payers_add_up_to_the_gross(cfirm, cadmin, case, acme):
    offer(cfirm, cadmin, case, 10_000_000, payer="Umbrella Mutual")
    f = figures(case)
    assert f.gross_cents == 35_000_000
    assert [s.payer for s in f.sources] == ["Acme Insurance", "Umbrella Mutual"]


def test_another_firms_offer_is_not_found(cfirm, cadmin, case):
    neg = record(cfirm, cadmin, case, "offer", 100)
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.offer_accept(firm=rival, actor=cadmin, negotiation_id=neg.pk)
    assert info.value.message == "offer not found in this firm"


# --- deposits -------------------------------------------------------------------------------


def test_depositing_needs_the_deposit_permission(cfirm, paralegal, case, acme):
    with refused(PermissionDenied, code="permission_denied") as info:
        deposit(cfirm, paralegal, case, acme, 1_000_000)
    assert info.value.message == DEPOSIT_DENIED
    assert info.value.details == {"permission": "deposit_settlement"}


def test_a_holder_of_the_deposit_permission_and_an_administrator_deposit(
    cfirm, cadmin, teller, case, acme
):
    deposit(cfirm, teller, case, acme, 10_000_000, check="1")
    deposit(cfirm, cadmin, case, acme, 15_000_000, check="2")
    assert figures(case).deposited_cents == 25_000_000


def test_a_check_is_deposited_only_against_an_accepted_offer(cfirm, cadmin, case):
    pending = record(cfirm, cadmin, case, "offer", 25_000_000)
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(cfirm, cadmin, case, pending, 25_000_000)
    assert info.value.message == (
        "a settlement check can be deposited only against an accepted offer; accept the offer first"
    )
    assert info.value.field == "offer"


def test_an_offer_of_another_case_is_not_deposited_here(cfirm, cadmin, case, acme):
    other = new_case(cfirm, cadmin, "Tom Baker")
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(cfirm, cadmin, other, acme, 100)
    assert info.value.message == "offer not found on this case"


def test_partial_deposits_are_recorded_check_by_check(cfirm, cadmin, case, acme):
    first = deposit(cfirm, cadmin, case, acme, 10_000_000, check="88123")
    deposit(cfirm, cadmin, case, acme, 15_000_000, check="88124")
    recorded = Deposit.objects.filter(case=case).order_by("pk")
    assert list(recorded.values_list("check_number", "amount_cents")) == [
        ("88123", 10_000_000),
        ("88124", 15_000_000),
    ]
    f = figures(case)
    assert (f.deposited_cents, f.not_yet_deposited_cents, f.trust_remaining_cents) == (
        25_000_000,
        0,
        25_000_000,
    )
    [event] = audits("deposit", first.pk)
    assert event.after == {
        "amount_cents": 10_000_000,
        "check_number": "88123",
        "offer": acme.pk,
        "deposited_on": "2026-03-02",
    }


def test_no_deposit_beyond_the_offer_and_the_message_says_what_remains(cfirm, cadmin, case, acme):
    deposit(cfirm, cadmin, case, acme, 15_000_000)
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(cfirm, cadmin, case, acme, 10_000_001, check="2")
    assert info.value.message == (
        "this would deposit $250,000.01 against an offer of $250,000.00; "
        "at most $100,000.00 remains to be deposited"
    )
    deposit(cfirm, cadmin, case, acme, 10_000_000, check="2")  # exactly the rest is fine


@pytest.mark.parametrize(
    ("cents", "check", "message"),
    [
        (0, "1", "amount must be greater than $0.00"),
        (-5, "1", "amount must be greater than $0.00"),
        (100, "   ", "the check number is required"),
    ],
)
def test_a_deposit_needs_an_amount_and_a_check_number(
    cfirm, cadmin, case, acme, cents, check, message
):
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(cfirm, cadmin, case, acme, cents, check=check)
    assert info.value.message == message


def test_a_voided_deposit_leaves_the_trust_money(cfirm, cadmin, case, acme, today):
    bounced = deposit(cfirm, cadmin, case, acme, 10_000_000, check="1")
    deposit(cfirm, cadmin, case, acme, 5_000_000, check="2")
    settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=bounced.pk, reason=" bounced ")
    fresh = Deposit.objects.get(pk=bounced.pk)
    assert (fresh.voided_on, fresh.void_reason) == (today, "bounced")
    f = figures(case)
    assert (f.deposited_cents, f.not_yet_deposited_cents) == (5_000_000, 20_000_000)
    [event] = audits("deposit", bounced.pk, "void")
    assert event.before == {"voided_on": None}
    assert event.after["reason"] == " bounced "
    # the voided check no longer counts against the offer
    deposit(cfirm, cadmin, case, acme, 20_000_000, check="3")


def test_a_deposit_is_voided_once(cfirm, cadmin, case, acme):
    bounced = deposit(cfirm, cadmin, case, acme, 100)
    settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=bounced.pk)
    with refused(Locked, code="locked") as info:
        settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=bounced.pk)
    assert info.value.message == "this deposit is already void"


def test_voiding_a_deposit_needs_the_deposit_permission(cfirm, cadmin, paralegal, case, acme):
    made = deposit(cfirm, cadmin, case, acme, 100)
    with refused(PermissionDenied, code="permission_denied") as info:
        settlement.deposit_void(firm=cfirm, actor=paralegal, deposit_id=made.pk)
    assert info.value.message == DEPOSIT_DENIED


def test_a_deposit_is_not_voided_while_staged_payments_need_the_money(cfirm, cadmin, case, acme):
    deposit(cfirm, cadmin, case, acme, 20_000_000, check="1")
    second = deposit(cfirm, cadmin, case, acme, 5_000_000, check="2")
    stage(cfirm, cadmin, case, "fee")  # 83,325.00
    held = lien(cfirm, cadmin, case, 12_000_000, final=12_000_000)
    stage(cfirm, cadmin, case, "lien", of=held)  # 203,325.00 staged of 250,000.00
    with refused(StagingExceedsTrust, code="staging_exceeds_trust") as info:
        settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=second.pk)
    assert info.value.message == (
        "payments of $203,325.00 are staged against this money; unstage $3,325.00 first"
    )
    assert info.value.http_status == 409
    assert info.value.details == {"staged_cents": 20_332_500}


def test_a_deposit_is_voided_once_enough_is_unstaged(cfirm, cadmin, case, acme):
    deposit(cfirm, cadmin, case, acme, 20_000_000, check="1")
    second = deposit(cfirm, cadmin, case, acme, 5_000_000, check="2")
    held = lien(cfirm, cadmin, case, 20_100_000, final=20_100_000)
    item = stage(cfirm, cadmin, case, "lien", of=held)
    with refused(StagingExceedsTrust, code="staging_exceeds_trust") as info:
        settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=second.pk)
    assert info.value.message.endswith("unstage $1,000.00 first")
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=item.pk)
    stage(cfirm, cadmin, case, "lien", 20_000_000, of=held)
    settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=second.pk)
    f = figures(case)
    assert (f.deposited_cents, f.staged_from_trust_cents, f.trust_remaining_cents) == (
        20_000_000,
        20_000_000,
        0,
    )


# --- the fee, COPP, the Property Damage Fee and the net ------------------------------------


def test_the_fee_is_33_33_percent_of_the_gross_by_default(cfirm, cadmin, case, acme):
    f = figures(case)
    assert (f.fee_mode, f.fee_rate_bp, f.fee_base_cents, f.fee_cents) == (
        "percent",
        3333,
        25_000_000,
        8_332_500,
    )
    assert str(f.fee_rate_percent) == "33.33"


def test_a_fee_on_the_net_of_costs_takes_the_costs_off_first(cfirm, cadmin, case, acme):
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    terms(cfirm, cadmin, case, fee_on_net_of_costs=True)
    f = figures(case)
    assert (f.costs_cents, f.fee_base_cents, f.fee_cents) == (850_000, 24_150_000, 8_049_195)


def test_a_void_cost_is_not_taken_off_for_the_fee(cfirm, cadmin, case, acme):
    expert = add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=expert.pk)
    terms(cfirm, cadmin, case, fee_on_net_of_costs=True)
    assert (figures(case).fee_base_cents, figures(case).fee_cents) == (24_650_000, 8_215_845)


def test_a_fixed_fee_is_the_fee_whatever_the_gross(cfirm, cadmin, case, acme):
    terms(cfirm, cadmin, case, fee_mode="fixed", fee_fixed_cents=5_000_000)
    f = figures(case)
    assert (f.fee_mode, f.fee_cents) == ("fixed", 5_000_000)


def test_a_fee_percentage_is_rounded_once_half_up(cfirm, cadmin, case):
    offer(cfirm, cadmin, case, 5)  # $0.05
    terms(cfirm, cadmin, case, fee_rate_bp=1000)  # 10% = $0.005
    assert figures(case).fee_cents == 1


def test_copp_charges_come_from_the_firm_default_and_are_editable_per_case(cfirm, cadmin):
    firms.firm_defaults_update(
        firm=cfirm,
        actor=cadmin,
        default_fee_rate_bp=3333,
        default_copp_cents=15_000,
        default_property_damage_fee_cents=50_000,
        fee_changes_need_approval=True,
    )
    case = new_case(cfirm, cadmin, "Tom Baker")
    offer(cfirm, cadmin, case, 10_000_000)
    f = figures(case)
    assert (f.copp_cents, f.property_damage_fee_cents) == (15_000, 50_000)
    assert f.net_to_client_cents == 10_000_000 - 3_333_000 - 15_000 - 50_000
    terms(cfirm, cadmin, case, copp_cents=20_000)
    assert figures(case).copp_cents == 20_000


def test_a_negative_property_damage_fee_is_a_waiver_that_raises_the_net(cfirm, cadmin, case, acme):
    add_cost(cfirm, cadmin, case, 850_000)
    before = figures(case)
    assert before.cost_reimbursement_due_cents == 850_000
    terms(cfirm, cadmin, case, property_damage_fee_cents=-50_000)
    after = figures(case)
    assert after.property_damage_fee_cents == -50_000
    assert after.cost_reimbursement_due_cents == 800_000
    assert after.net_to_client_cents == before.net_to_client_cents + 50_000


def test_a_waiver_larger_than_the_costs_reimburses_nothing(cfirm, cadmin, case, acme):
    add_cost(cfirm, cadmin, case, 30_000)
    terms(cfirm, cadmin, case, property_damage_fee_cents=-50_000)
    assert figures(case).cost_reimbursement_due_cents == 0


def test_the_net_to_the_client_is_the_clients_check_even_with_a_large_waiver(
    cfirm, cadmin, case, acme
):
    """Waiving 500.00 of 300.00 of costs waives the 300.00; the other 200.00 is not money
    the trust holds for the client."""
    add_cost(cfirm, cadmin, case, 30_000)
    terms(cfirm, cadmin, case, property_damage_fee_cents=-50_000)
    deposit(cfirm, cadmin, case, acme, 25_000_000)
    stage(cfirm, cadmin, case, "fee")
    client = settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    assert client is not None
    assert client.amount_cents == 25_000_000 - 8_332_500
    assert figures(case).net_to_client_cents == client.amount_cents


def test_the_worked_settlement_figures_to_the_cent(cfirm, cadmin, case, acme):
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    deposit(cfirm, cadmin, case, acme, 25_000_000)
    lien(cfirm, cadmin, case, 3_100_000, final=3_000_000)
    lien(
        cfirm,
        cadmin,
        case,
        1_600_000,
        final=1_500_000,
        holder="Blue Shield",
        kind="health_insurance",
    )
    f = figures(case)
    assert (f.gross_cents, f.deposited_cents, f.fee_cents, f.costs_cents, f.liens_cents) == (
        25_000_000,
        25_000_000,
        8_332_500,
        850_000,
        4_500_000,
    )
    assert f.net_to_client_cents == 11_317_500
    assert [(ln.holder, ln.claimed_cents, ln.final_cents, ln.accepted) for ln in f.liens] == [
        ("Valley Medical", 3_100_000, 3_000_000, True),
        ("Blue Shield", 1_600_000, 1_500_000, True),
    ]
    assert (f.expected_in_trust_cents, f.not_yet_deposited_cents) == (25_000_000, 0)
    assert (f.staged_from_trust_cents, f.trust_remaining_cents) == (0, 25_000_000)


# --- liens paid direct take their share before trust ------------------------------------


def _paid_direct_lien(cfirm, cadmin, case, cents):
    lien = settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medicare",
        holder_id=contact(cfirm, "Medicare").pk,
        claimed_cents=cents,
        paid_direct=True,
    )
    return settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=cents)


def test_a_deposit_cannot_bring_in_what_a_lien_was_paid_directly(cfirm, cadmin, case, acme):
    _paid_direct_lien(cfirm, cadmin, case, 1_000_000)
    with refused(
        ValidationFailed,
        code="validation_error",
        match=r"liens of \$10,000.00 are paid direct from the settlement, so at most "
        r"\$240,000.00 more is expected in trust",
    ):
        settlement.deposit_record(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            offer_id=acme.pk,
            amount_cents=25_000_000,
            check_number="9001",
        )
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=acme.pk,
        amount_cents=24_000_000,
        check_number="9001",
    )


def test_push_to_client_trust_refuses_deposits_beyond_what_is_expected(cfirm, cadmin, case, acme):
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=acme.pk,
        amount_cents=25_000_000,
        check_number="9001",
    )
    _paid_direct_lien(cfirm, cadmin, case, 1_000_000)  # learnt of after the deposit
    with refused(
        ValidationFailed,
        code="validation_error",
        match=r"\$250,000.00 was deposited but only \$240,000.00 is expected in trust",
    ):
        settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
