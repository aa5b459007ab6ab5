"""Staging the client's trust money: Stage Payment for the fee, the cost reimbursement, COPP
charges, the Property Damage Fee and accepted liens, never more than is due nor more than the
deposited money not yet staged; Push to Client Trust makes the client's check the remainder
so the trust comes to exactly $0.00; Push to Disbursement locks the settlement."""

from __future__ import annotations

import pytest

from casebridge.cases.errors import Locked, StagingExceedsTrust, ValidationFailed
from casebridge.cases.models import Settlement, TrustItem, TrustItemKind, TrustItemStatus
from casebridge.cases.services import firms, settlement
from casebridge.cases.services import medicare as medicare_service
from tests.cases.helpers import (
    add_cost,
    audits,
    contact,
    deposit,
    figures,
    lien,
    offer,
    refused,
    stage,
    staged,
    terms,
    writes_nothing,
)

LOCKED = "case PI-000001 has been pushed to disbursement; its settlement is locked"


@pytest.fixture
def acme(cfirm, cadmin, case):
    """The worked example's accepted offer of 250,000.00 and its 8,500.00 of costs."""
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    return offer(cfirm, cadmin, case, 25_000_000)


@pytest.fixture
def funded(cfirm, cadmin, case, acme):
    """... deposited in full."""
    deposit(cfirm, cadmin, case, acme, 25_000_000)
    return case


@pytest.fixture
def liens(cfirm, cadmin, funded):
    """Valley Medical accepted at 30,000.00 and Blue Shield at 15,000.00."""
    return [
        lien(cfirm, cadmin, funded, 3_100_000, final=3_000_000),
        lien(cfirm, cadmin, funded, 1_500_000, final=1_500_000, holder="Blue Shield"),
    ]


@pytest.fixture
def ready(cfirm, cadmin, funded, liens):
    """Everything of the worked example staged but the client's check."""
    for held in liens:
        stage(cfirm, cadmin, funded, "lien", of=held)
    stage(cfirm, cadmin, funded, "fee")
    stage(cfirm, cadmin, funded, "cost_reimbursement")
    return funded


def push(cfirm, cadmin, case, **kw):
    return settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk, **kw)


def disburse(cfirm, cadmin, case):
    return settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk)


def pushed_at(case):
    return Settlement.objects.get(case=case).pushed_to_client_trust_at


def client_check(case):
    return TrustItem.objects.filter(case=case, kind=TrustItemKind.CLIENT).first()


# --- Stage Payment --------------------------------------------------------------------------


def test_each_payment_is_staged_for_what_is_due_by_default(cfirm, cadmin, funded):
    terms(cfirm, cadmin, funded, copp_cents=12_500, property_damage_fee_cents=40_000)
    fee = stage(cfirm, cadmin, funded, "fee")
    stage(cfirm, cadmin, funded, "cost_reimbursement")
    stage(cfirm, cadmin, funded, "copp")
    stage(cfirm, cadmin, funded, "property_damage_fee")
    assert staged(funded) == [
        ("fee", 8_332_500, "staged"),
        ("cost_reimbursement", 850_000, "staged"),
        ("copp", 12_500, "staged"),
        ("property_damage_fee", 40_000, "staged"),
    ]
    assert (fee.payee_name, fee.paid_direct, fee.staged_by_id) == (
        "Lopez Injury Attorneys",
        False,
        cadmin.pk,
    )
    f = figures(funded)
    assert f.staged_from_trust_cents == 8_332_500 + 850_000 + 12_500 + 40_000
    assert f.trust_remaining_cents == 25_000_000 - f.staged_from_trust_cents
    [event] = audits("trust_item", fee.pk, "stage")
    assert event.after == {
        "kind": "fee",
        "amount_cents": 8_332_500,
        "payee": "Lopez Injury Attorneys",
        "paid_direct": False,
    }
    assert event.summary == "Case PI-000001: Attorney fee of $83,325.00 staged"


def test_less_than_is_due_may_be_staged(cfirm, cadmin, funded):
    stage(cfirm, cadmin, funded, "fee", 5_000_000)
    assert staged(funded) == [("fee", 5_000_000, "staged")]


def test_no_more_than_is_due_is_staged(cfirm, cadmin, funded):
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "fee", 8_332_501)
    assert info.value.message == "$83,325.01 is more than the $83,325.00 due"
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "cost_reimbursement", 850_001)
    assert info.value.message == "$8,500.01 is more than the $8,500.00 due"


@pytest.mark.parametrize("cents", [0, -100])
def test_a_staged_payment_is_more_than_zero(cfirm, cadmin, funded, cents):
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "fee", cents)
    assert info.value.message == "amount must be greater than $0.00"


def test_the_fee_is_taken_only_after_a_deposit(cfirm, cadmin, case, acme):
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, case, "fee")
    assert info.value.message == "fees can be taken only after a settlement check is deposited"


def test_nothing_is_staged_for_a_charge_that_is_not_due(cfirm, cadmin, funded):
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "copp")
    assert info.value.message == "nothing is due for the COPP charges"


def test_a_payment_is_staged_once(cfirm, cadmin, funded):
    stage(cfirm, cadmin, funded, "fee", 1_000_000)
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "fee", 1_000_000)
    assert info.value.message == "the Attorney fee is already staged; unstage it to stage it again"


def test_a_negative_property_damage_fee_is_not_staged(cfirm, cadmin, funded):
    terms(cfirm, cadmin, funded, property_damage_fee_cents=-50_000)
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "property_damage_fee")
    assert info.value.message == (
        "a negative Property Damage Fee is a waiver: it reduces the cost "
        "reimbursement and is not paid from trust"
    )
    assert stage(cfirm, cadmin, funded, "cost_reimbursement").amount_cents == 800_000


def test_the_clients_check_is_not_staged_by_hand(cfirm, cadmin, funded):
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "client", 100)
    assert info.value.message == "the client's check is made by Push to Client Trust"
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, funded, "bonus", 100)
    assert info.value.message.startswith("kind must be one of fee, cost_reimbursement")


def test_another_firms_case_is_not_staged(cfirm, cadmin, funded):
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.trust_item_stage(firm=rival, actor=cadmin, case_id=funded.pk, kind="fee")
    assert info.value.message == "case not found in this firm"


# --- never more than the trust holds ------------------------------------------------------


def test_staging_more_than_the_deposited_money_not_yet_staged_is_refused(cfirm, cadmin, case, acme):
    deposit(cfirm, cadmin, case, acme, 5_000_000)  # a first, partial check of 50,000.00
    with refused(StagingExceedsTrust, code="staging_exceeds_trust") as info:
        stage(cfirm, cadmin, case, "fee")
    assert info.value.message == (
        "only $50,000.00 of deposited money is not yet staged; $83,325.00 cannot be staged"
    )
    assert info.value.details == {"available_cents": 5_000_000}
    assert info.value.http_status == 409

    stage(cfirm, cadmin, case, "fee", 4_999_999)
    with refused(StagingExceedsTrust, code="staging_exceeds_trust") as info:
        stage(cfirm, cadmin, case, "cost_reimbursement", 2)
    assert info.value.details == {"available_cents": 1}
    stage(cfirm, cadmin, case, "cost_reimbursement", 1)
    f = figures(case)
    assert (f.staged_from_trust_cents, f.trust_remaining_cents) == (5_000_000, 0)


def test_a_later_deposit_makes_room_for_more(cfirm, cadmin, case, acme):
    deposit(cfirm, cadmin, case, acme, 5_000_000, check="1")
    stage(cfirm, cadmin, case, "cost_reimbursement")
    with refused(StagingExceedsTrust, code="staging_exceeds_trust") as info:
        stage(cfirm, cadmin, case, "fee")
    assert info.value.message == (
        "only $41,500.00 of deposited money is not yet staged; $83,325.00 cannot be staged"
    )
    deposit(cfirm, cadmin, case, acme, 20_000_000, check="2")
    stage(cfirm, cadmin, case, "fee")
    assert figures(case).trust_remaining_cents == 25_000_000 - 850_000 - 8_332_500


# --- unstaging ------------------------------------------------------------------------------


def test_unstaging_gives_the_money_back_to_the_trust_remaining(cfirm, cadmin, funded):
    fee = stage(cfirm, cadmin, funded, "fee")
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=fee.pk)
    assert staged(funded) == []
    assert figures(funded).trust_remaining_cents == 25_000_000
    [event] = audits("trust_item", fee.pk, "unstage")
    assert event.before == {"kind": "fee", "amount_cents": 8_332_500}
    stage(cfirm, cadmin, funded, "fee", 8_000_000)  # and it can be staged again


def test_another_firms_staged_payment_is_not_found(cfirm, cadmin, funded):
    fee = stage(cfirm, cadmin, funded, "fee")
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.trust_item_unstage(firm=rival, actor=cadmin, item_id=fee.pk)
    assert info.value.message == "staged payment not found in this firm"


# --- Push to Client Trust -----------------------------------------------------------------


def test_the_clients_check_is_the_remainder_and_the_trust_comes_to_zero(cfirm, cadmin, ready):
    client = push(cfirm, cadmin, ready)
    assert client is not None
    assert (client.kind, client.payee_name, client.amount_cents, client.status) == (
        "client",
        "Maria Lopez",
        11_317_500,
        "staged",
    )
    f = figures(ready)
    assert (f.trust_remaining_cents, f.client_item_cents) == (0, 11_317_500)
    assert f.client_item_cents == f.net_to_client_cents
    assert pushed_at(ready) is not None
    [event] = audits("settlement", action="push_to_client_trust")
    assert event.after == {"client_cents": 11_317_500, "payee": "Maria Lopez"}
    assert event.summary == (
        "Case PI-000001: client's final check $113,175.00 to Maria Lopez; trust remaining $0.00"
    )


def test_a_client_advance_can_name_another_payee(cfirm, cadmin, ready):
    client = push(cfirm, cadmin, ready, payee_name="  Guardian of M. Lopez ", note="minor")
    assert client is not None
    assert (client.payee_name, client.note) == ("Guardian of M. Lopez", "minor")


def test_with_nothing_left_there_is_no_client_check_but_the_trust_is_pushed(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    deposit(cfirm, cadmin, case, accepted, 1_000_000)
    held = lien(cfirm, cadmin, case, 666_700, final=666_700)
    stage(cfirm, cadmin, case, "fee")  # 333,300
    stage(cfirm, cadmin, case, "lien", of=held)
    assert push(cfirm, cadmin, case) is None
    assert client_check(case) is None
    assert pushed_at(case) is not None
    assert figures(case).trust_remaining_cents == 0
    assert disburse(cfirm, cadmin, case) == 2


def test_pushing_again_recomputes_the_one_client_check(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    again = push(cfirm, cadmin, ready, payee_name="Guardian of M. Lopez")
    assert again is not None
    assert TrustItem.objects.filter(case=ready, kind="client").count() == 1
    assert (again.amount_cents, again.payee_name) == (11_317_500, "Guardian of M. Lopez")
    assert figures(ready).trust_remaining_cents == 0


def test_push_to_client_trust_needs_an_accepted_offer(cfirm, cadmin, case):
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, case)
    assert info.value.message == "no offer is accepted on this case yet; accept an offer first"


def test_push_to_client_trust_waits_for_the_money_and_says_how_much(cfirm, cadmin, case, acme):
    deposit(cfirm, cadmin, case, acme, 20_000_000)
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, case)
    assert info.value.message == (
        "$50,000.00 of the accepted settlement has not been deposited yet; "
        "deposit every settlement check first"
    )


def test_push_to_client_trust_waits_for_every_lien_to_be_decided(cfirm, cadmin, funded):
    lien(cfirm, cadmin, funded, 3_100_000)
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, funded)
    assert info.value.message == (
        "the medical bill of Valley Medical has no accepted final amount yet; "
        "accept it (or set it to $0.00) first"
    )


def test_push_to_client_trust_waits_for_accepted_liens_to_be_staged(cfirm, cadmin, funded, liens):
    stage(cfirm, cadmin, funded, "lien", of=liens[0])
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, funded)
    assert info.value.message == (
        "the medical bill of Blue Shield ($15,000.00) is not staged yet; stage its payment first"
    )


def test_a_refused_push_keeps_the_earlier_client_check(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    before = client_check(ready)
    lien(cfirm, cadmin, ready, 10_000)  # a late claim, not decided
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, ready)
    assert "has no accepted final amount yet" in info.value.message
    assert client_check(ready) == before


# --- any staging change after the push takes the client's check back ----------------------


def assert_client_check_withdrawn(case):
    assert client_check(case) is None
    assert pushed_at(case) is None
    f = figures(case)
    assert f.trust_remaining_cents == f.deposited_cents - f.staged_from_trust_cents > 0


def test_staging_after_the_push_withdraws_the_clients_check(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    terms(cfirm, cadmin, ready, copp_cents=10_000)  # a charge added late
    assert_client_check_withdrawn(ready)
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, ready)  # the COPP charges would go to the client
    assert info.value.message == (
        "nothing is staged for the copp charges ($100.00); stage it, or set it to $0.00 if "
        "the firm waives it"
    )
    stage(cfirm, cadmin, ready, "copp")
    assert push(cfirm, cadmin, ready).amount_cents == 11_317_500 - 10_000


def test_push_to_client_trust_needs_the_fee_and_costs_that_are_due_staged(cfirm, cadmin, funded):
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, funded)
    assert info.value.message.startswith("nothing is staged for the attorney fee ($83,325.00)")
    stage(cfirm, cadmin, funded, "fee")
    with refused(ValidationFailed, code="validation_error") as info:
        push(cfirm, cadmin, funded)
    assert info.value.message.startswith("nothing is staged for the cost reimbursement ($8,500.00)")


def test_staging_after_the_push_may_use_the_money_of_the_clients_check(cfirm, cadmin, funded):
    stage(cfirm, cadmin, funded, "fee", 5_000_000)
    stage(cfirm, cadmin, funded, "cost_reimbursement", 100_000)
    push(cfirm, cadmin, funded)
    assert figures(funded).trust_remaining_cents == 0
    cost = TrustItem.objects.get(case=funded, kind="cost_reimbursement")
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=cost.pk)
    stage(cfirm, cadmin, funded, "cost_reimbursement")  # the remainder is free again
    assert_client_check_withdrawn(funded)
    withdrawn = audits("trust_item", action="unstage")[-1]
    assert withdrawn.summary == "Case PI-000001: client's check withdrawn: staging changed"
    assert withdrawn.before == {"client_cents": 25_000_000 - 5_000_000 - 100_000}


def test_a_staging_refused_after_the_push_keeps_the_clients_check(cfirm, cadmin, ready):
    client = push(cfirm, cadmin, ready)
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, ready, "fee")  # already staged
    assert info.value.message.startswith("the Attorney fee is already staged")
    assert client_check(ready) == client
    assert pushed_at(ready) is not None


def test_unstaging_after_the_push_withdraws_the_clients_check(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    fee = TrustItem.objects.get(case=ready, kind="fee")
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=fee.pk)
    assert_client_check_withdrawn(ready)


def test_unstaging_the_clients_check_itself_undoes_the_push(cfirm, cadmin, ready):
    client = push(cfirm, cadmin, ready)
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=client.pk)
    assert_client_check_withdrawn(ready)


def test_a_deposit_after_the_push_withdraws_the_clients_check(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    umbrella = offer(cfirm, cadmin, ready, 1_000_000, payer="Umbrella Mutual")
    deposit(cfirm, cadmin, ready, umbrella, 1_000_000, check="U-1")
    assert_client_check_withdrawn(ready)
    assert push(cfirm, cadmin, ready).amount_cents == 11_317_500 + 1_000_000


def test_a_fee_change_after_the_push_withdraws_the_clients_check(cfirm, cadmin, ready):
    fee = TrustItem.objects.get(case=ready, kind="fee")
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=fee.pk)
    terms(cfirm, cadmin, ready, fee_rate_bp=0)  # fee waived for now
    push(cfirm, cadmin, ready)
    terms(cfirm, cadmin, ready, fee_rate_bp=3000)
    assert_client_check_withdrawn(ready)


# --- Push to Disbursement -----------------------------------------------------------------


def test_push_to_disbursement_moves_every_staged_payment(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    assert disburse(cfirm, cadmin, ready) == 5
    assert {status for _, _, status in staged(ready)} == {TrustItemStatus.TO_BE_DISBURSED}
    assert not TrustItem.objects.filter(case=ready, pushed_to_disbursement_at__isnull=True).exists()
    [event] = audits("settlement", action="push_to_disbursement")
    assert event.summary == "Case PI-000001: 5 payments pushed to disbursement"
    assert event.after == {"moved": 5, "total_cents": 25_000_000}


def test_push_to_disbursement_needs_push_to_client_trust(cfirm, cadmin, ready):
    with refused(ValidationFailed, code="validation_error") as info:
        disburse(cfirm, cadmin, ready)
    assert info.value.message == "push to client trust first, so the trust comes to $0.00"


def test_a_lien_claimed_after_the_push_holds_up_disbursement(cfirm, cadmin, ready):
    """Disbursing now would hand the lien holder's money to the client."""
    push(cfirm, cadmin, ready)
    lien(cfirm, cadmin, ready, 200_000, holder="Late Clinic")
    with refused(ValidationFailed, code="validation_error") as info:
        disburse(cfirm, cadmin, ready)
    assert info.value.message == (
        "the medical bill of Late Clinic has no accepted final amount yet; "
        "accept it (or set it to $0.00) first"
    )


def test_an_offer_accepted_after_the_push_holds_up_disbursement(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    offer(cfirm, cadmin, ready, 1_000_000, payer="Umbrella Mutual")
    with refused(ValidationFailed, code="validation_error") as info:
        disburse(cfirm, cadmin, ready)
    assert info.value.message.startswith(
        "$10,000.00 of the accepted settlement has not been deposited yet"
    )


@pytest.fixture
def disbursing(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    disburse(cfirm, cadmin, ready)
    return ready


def test_after_push_to_disbursement_the_staging_is_locked(cfirm, cadmin, disbursing):
    fee = TrustItem.objects.get(case=disbursing, kind="fee")
    attempts = [
        lambda: stage(cfirm, cadmin, disbursing, "copp", 1),
        lambda: settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=fee.pk),
        lambda: push(cfirm, cadmin, disbursing),
        lambda: disburse(cfirm, cadmin, disbursing),
        lambda: terms(cfirm, cadmin, disbursing),
        lambda: terms(cfirm, cadmin, disbursing, copp_cents=1_000),
        lambda: lien(cfirm, cadmin, disbursing, 100, holder="Late Clinic"),
    ]
    contact(cfirm, "Late Clinic")
    for attempt in attempts:
        with refused(Locked, code="locked") as info:
            attempt()
        assert info.value.message == LOCKED


def test_after_push_to_disbursement_no_money_comes_or_goes(cfirm, cadmin, disbursing):
    check = disbursing.deposits.get()
    late = offer(cfirm, cadmin, disbursing, 1_000_000, payer="Umbrella Mutual", accept=False)
    for attempt in [
        lambda: settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=check.pk),
        lambda: settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=late.pk),
    ]:
        with refused(Locked, code="locked") as info:
            attempt()
        assert info.value.message == LOCKED


def test_after_push_to_disbursement_a_late_deposit_is_refused(cfirm, cadmin, case):
    """The insurer paid Medicare directly, so the offer still has room for a deposit."""
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    medicare = lien(
        cfirm,
        cadmin,
        case,
        200_000,
        final=200_000,
        holder="Medicare",
        kind="medicare",
        paid_direct=True,
    )
    deposit(cfirm, cadmin, case, accepted, 800_000, check="1")
    stage(cfirm, cadmin, case, "lien", of=medicare)
    stage(cfirm, cadmin, case, "fee")
    push(cfirm, cadmin, case)
    # Medicare's final demand, paid direct at that amount: the hold releases (ADR 0039)
    medicare_service.medicare_step_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="final_demand",
        on=medicare.accepted_on,
        amount_cents=200_000,
    )
    disburse(cfirm, cadmin, case)
    with refused(Locked, code="locked") as info:
        deposit(cfirm, cadmin, case, accepted, 200_000, check="2")
    assert info.value.message == LOCKED


def test_a_fee_change_is_not_approved_after_push_to_disbursement(cfirm, cadmin, cattorney, ready):
    fee = TrustItem.objects.get(case=ready, kind="fee")
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=fee.pk)
    _, request = terms(cfirm, cattorney, ready, fee_rate_bp=3000, reason="agreed")
    stage(cfirm, cadmin, ready, "fee")  # the current fee, while the request waits
    push(cfirm, cadmin, ready)
    disburse(cfirm, cadmin, ready)
    with refused(Locked, code="locked") as info:
        settlement.fee_change_request_decide(
            firm=cfirm, actor=cadmin, request_id=request.pk, approve=True
        )
    assert info.value.message == LOCKED


def test_reading_the_figures_writes_nothing(cfirm, cadmin, ready):
    push(cfirm, cadmin, ready)
    with writes_nothing():
        figures(ready)
