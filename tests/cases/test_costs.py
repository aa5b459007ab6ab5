"""The Costs tab: adding a cost, the edit rules (unpaid in full, paid only its paid date and
memo, void not at all), voiding (shown as $0.00 void and out of the total) and paying a cost
by check or card when the firm has no bridge to the books."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from casebridge.cases.errors import Locked, ValidationFailed
from casebridge.cases.models import Cost, CostCode, CostStatus
from casebridge.cases.selectors.costs import case_costs
from casebridge.cases.selectors.settlement import case_costs_total_cents
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms
from tests.cases.helpers import D, add_cost, audits, code_of, contact, new_case, refused


@pytest.fixture
def records(cfirm):
    return contact(cfirm, "Records Inc")


@pytest.fixture
def cost(cfirm, cadmin, case, records) -> Cost:
    return add_cost(cfirm, cadmin, case, 12_345, invoice_reference="INV-7", memo="ER records")


def sent_to_the_books(cost: Cost) -> Cost:
    """What the bridge does when a cost is sent: Pending, with the time it was sent."""
    Cost.objects.filter(pk=cost.pk).update(status=CostStatus.PENDING, sent_at=timezone.now())
    return Cost.objects.get(pk=cost.pk)


def paid(cfirm, cadmin, cost: Cost) -> Cost:
    return costs.cost_pay(
        firm=cfirm, actor=cadmin, cost_id=cost.pk, method="check", reference="1042", paid_date=D
    )


def edit(cfirm, cadmin, cost: Cost, **changes):
    return costs.cost_update(firm=cfirm, actor=cadmin, cost_id=cost.pk, **changes)


def fields(cost: Cost) -> tuple:
    fresh = Cost.objects.get(pk=cost.pk)
    return (
        fresh.status,
        fresh.amount_cents,
        fresh.payee_id,
        fresh.cost_code_id,
        fresh.memo,
        fresh.paid_date,
    )


# --- adding a cost --------------------------------------------------------------------------


def test_a_cost_keeps_everything_the_costs_tab_shows(cfirm, cadmin, case, records):
    cost = costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=records.pk,
        amount_cents=12_345,
        cost_code_id=code_of(cfirm, "MEDREC").pk,
        cost_date=D,
        invoice_reference=" INV-7 ",
        priority="high",
        memo=" ER records ",
    )
    fresh = Cost.objects.get(pk=cost.pk)
    assert (
        fresh.case_id,
        fresh.payee_id,
        fresh.amount_cents,
        fresh.cost_code.code,
        fresh.cost_date,
        fresh.invoice_reference,
        fresh.priority,
        fresh.memo,
        fresh.status,
        fresh.created_by_id,
    ) == (
        case.pk,
        records.pk,
        12_345,
        "MEDREC",
        D,
        "INV-7",
        "high",
        "ER records",
        "open",
        cadmin.pk,
    )
    [event] = audits("cost", cost.pk)
    assert event.action == "create"
    assert event.summary == "Cost $123.45 added to case PI-000001"
    assert event.after["amount_cents"] == 12_345
    assert event.after["status"] == "open"


def test_a_cost_is_dated_today_unless_told(cfirm, cadmin, case, records, today):
    cost = costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=records.pk,
        amount_cents=100,
        cost_code_id=code_of(cfirm, "E101").pk,
    )
    assert cost.cost_date == today


@pytest.mark.parametrize("cents", [0, -1, -50_000])
def test_a_zero_or_negative_cost_is_refused_and_voiding_is_suggested(cfirm, cadmin, case, cents):
    contact(cfirm, "Records Inc")
    with refused(ValidationFailed, code="validation_error") as info:
        add_cost(cfirm, cadmin, case, cents)
    assert info.value.message == "a cost must be greater than $0.00 (to take a cost back, void it)"
    assert info.value.field == "amount"


def test_a_payee_or_cost_code_of_another_firm_is_refused(cfirm, cadmin, case, records):
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    stranger = contact(rival, "Rival Records")
    rival_code = CostCode.objects.get(firm=rival, code="E112")
    with refused(ValidationFailed, code="validation_error") as info:
        costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_id=stranger.pk,
            amount_cents=100,
            cost_code_id=code_of(cfirm, "E112").pk,
        )
    assert (info.value.message, info.value.field) == ("payee not found in this firm", "payee")
    with refused(ValidationFailed, code="validation_error") as info:
        costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_id=records.pk,
            amount_cents=100,
            cost_code_id=rival_code.pk,
        )
    assert (info.value.message, info.value.field) == (
        "cost code not found in this firm",
        "cost_code",
    )


def test_a_cost_on_another_firms_case_is_refused(cfirm, cadmin, case, records):
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    foreign = new_case(rival, None, "Ann Other")
    with refused(ValidationFailed, code="validation_error") as info:
        add_cost(cfirm, cadmin, foreign, 100)
    assert info.value.message == "case not found in this firm"


def test_a_retired_cost_code_is_no_longer_offered(cfirm, cadmin, case, records):
    CostCode.objects.filter(firm=cfirm, code="E104").update(is_active=False)
    with refused(ValidationFailed, code="validation_error") as info:
        add_cost(cfirm, cadmin, case, 100, cost_code="E104")
    assert info.value.message == "cost code not found in this firm"


def test_a_firms_own_cost_code_is_offered(cfirm, cadmin, case, records):
    firms.cost_code_create(firm=cfirm, actor=cadmin, code="XRAY", name="X-ray films")
    assert add_cost(cfirm, cadmin, case, 4_000, cost_code="XRAY").cost_code.name == "X-ray films"


def test_no_cost_is_added_to_a_closed_case(cfirm, cadmin, case, records):
    case_services.case_update(case=case, actor=cadmin, status="closed")
    with refused(Locked, code="locked") as info:
        add_cost(cfirm, cadmin, case, 100)
    assert info.value.message == "case PI-000001 is closed; reopen it to add costs"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"priority": "asap"}, "priority must be one of low, normal, high, urgent"),
        ({"memo": "x" * 501}, "memo is longer than 500 characters"),
        ({"invoice_reference": "x" * 61}, "invoice reference is longer than 60 characters"),
    ],
)
def test_impossible_cost_details_are_refused(cfirm, cadmin, case, records, kw, message):
    with refused(ValidationFailed, code="validation_error") as info:
        add_cost(cfirm, cadmin, case, 100, **kw)
    assert info.value.message == message


# --- the edit rules -----------------------------------------------------------------------


def test_an_open_cost_is_editable_in_full(cfirm, cadmin, cost):
    lab = contact(cfirm, "City Lab")
    updated = edit(
        cfirm,
        cadmin,
        cost,
        amount_cents=20_000,
        payee_id=lab.pk,
        cost_code_id=code_of(cfirm, "E119").pk,
        invoice_reference="INV-8",
        priority="urgent",
        memo="Expert report",
        cost_date=dt.date(2026, 2, 1),
    )
    assert fields(updated) == (
        "open",
        20_000,
        lab.pk,
        code_of(cfirm, "E119").pk,
        "Expert report",
        None,
    )
    event = audits("cost", cost.pk, "change")[-1]
    assert (event.before["amount_cents"], event.after["amount_cents"]) == (12_345, 20_000)
    assert (event.before["memo"], event.after["memo"]) == ("ER records", "Expert report")


def test_a_pending_cost_is_still_editable_in_full(cfirm, cadmin, cost):
    cost = sent_to_the_books(cost)
    edit(cfirm, cadmin, cost, amount_cents=12_000, memo="corrected")
    assert fields(cost)[:2] == ("pending", 12_000)


def test_editing_a_cost_to_zero_is_refused_and_voiding_is_suggested(cfirm, cadmin, cost):
    with refused(ValidationFailed, code="validation_error") as info:
        edit(cfirm, cadmin, cost, amount_cents=0)
    assert "void it" in info.value.message


def test_a_paid_cost_changes_only_its_paid_date_and_memo(cfirm, cadmin, cost):
    cost = paid(cfirm, cadmin, cost)
    edit(cfirm, cadmin, cost, paid_date=dt.date(2026, 3, 3), memo="paid late")
    assert fields(cost)[-2:] == ("paid late", dt.date(2026, 3, 3))
    event = audits("cost", cost.pk, "change")[-1]
    assert event.before["paid_date"] == "2026-03-02"
    assert event.after["paid_date"] == "2026-03-03"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_cents": 100}, "amount"),
        ({"cost_code_id": None}, "cost_code"),
        ({"invoice_reference": "X"}, "invoice_reference"),
        ({"memo": "ok", "priority": "low"}, "priority"),
    ],
)
def test_a_paid_cost_is_locked_in_everything_else(cfirm, cadmin, cost, change, field):
    cost = paid(cfirm, cadmin, cost)
    before = fields(cost)
    with refused(Locked, code="locked") as info:
        edit(cfirm, cadmin, cost, **change)
    assert info.value.message == "a paid cost can only change its paid date and memo"
    assert info.value.field == field
    assert fields(cost) == before


def test_a_paid_cost_keeps_a_paid_date(cfirm, cadmin, cost):
    cost = paid(cfirm, cadmin, cost)
    with refused(ValidationFailed, code="validation_error") as info:
        edit(cfirm, cadmin, cost, paid_date=None)
    assert info.value.message == "a paid cost needs its paid date"


def test_a_void_cost_is_not_editable(cfirm, cadmin, cost):
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk)
    with refused(Locked, code="locked") as info:
        edit(cfirm, cadmin, cost, memo="oops")
    assert info.value.message == "a void cost cannot be edited; add a new cost instead"


def test_an_unpaid_cost_cannot_move_case_or_status_by_editing(cfirm, cadmin, cost):
    with refused(ValidationFailed, code="validation_error") as info:
        edit(cfirm, cadmin, cost, status="paid", case_id=cost.case_id)
    assert info.value.message == "cannot change case_id, status"


def test_an_unpaid_cost_keeps_a_date(cfirm, cadmin, cost):
    with refused(ValidationFailed, code="validation_error") as info:
        edit(cfirm, cadmin, cost, cost_date=None)
    assert info.value.message == "the cost date is required"


def test_another_firms_cost_is_not_found(cfirm, cadmin, cost):
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    with refused(ValidationFailed, code="validation_error") as info:
        costs.cost_update(firm=rival, actor=cadmin, cost_id=cost.pk, memo="mine now")
    assert info.value.message == "cost not found in this firm"
    with refused(ValidationFailed, code="validation_error") as info:
        costs.cost_void(firm=rival, actor=cadmin, cost_id=cost.pk)
    assert info.value.message == "cost not found in this firm"


# --- void -----------------------------------------------------------------------------------


def test_a_void_cost_shows_zero_and_leaves_the_total(cfirm, cadmin, case, cost, today):
    other = add_cost(cfirm, cadmin, case, 5_000)
    assert case_costs_total_cents(case.pk) == 17_345
    voided = costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk, reason=" duplicate ")
    assert (voided.status, voided.amount_cents, voided.shown_amount_cents) == ("void", 12_345, 0)
    assert (voided.voided_on, voided.void_reason) == (today, "duplicate")
    assert case_costs_total_cents(case.pk) == 5_000
    assert [(c.pk, c.shown_amount_cents) for c in case_costs(case=case)] == [
        (other.pk, 5_000),
        (cost.pk, 0),
    ]
    [event] = audits("cost", cost.pk, "void")
    assert (event.before["status"], event.after["status"]) == ("open", "void")
    assert event.after["void_reason"] == "duplicate"
    assert event.summary == f"Cost to {cost.payee.name} for $123.45 voided"


def test_a_pending_cost_can_be_voided(cfirm, cadmin, cost):
    sent_to_the_books(cost)
    assert costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk).status == "void"


def test_a_paid_cost_is_voided_by_voiding_its_check(cfirm, cadmin, cost):
    cost = paid(cfirm, cadmin, cost)
    with refused(Locked, code="locked") as info:
        costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk)
    assert info.value.message == "a paid cost is voided by voiding its check, not here"


def test_a_cost_is_voided_once(cfirm, cadmin, cost):
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk)
    with refused(Locked, code="locked") as info:
        costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk)
    assert info.value.message == "this cost is already void"


# --- pay (a firm without the bridge) ----------------------------------------------------


def test_paying_an_open_cost_records_the_check_or_card_number(cfirm, cadmin, cost):
    done = costs.cost_pay(
        firm=cfirm, actor=cadmin, cost_id=cost.pk, method="card", reference=" 4242 ", paid_date=D
    )
    fresh = Cost.objects.get(pk=done.pk)
    assert (fresh.status, fresh.payment_method, fresh.payment_reference, fresh.paid_date) == (
        "paid",
        "card",
        "4242",
        D,
    )
    assert fresh.amount_cents == 12_345
    [event] = audits("cost", cost.pk, "pay")
    assert (event.before["status"], event.after["status"]) == ("open", "paid")
    assert (event.after["method"], event.after["reference"]) == ("card", "4242")


def test_a_cost_paid_without_a_date_is_paid_today(cfirm, cadmin, cost, today):
    done = costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=cost.pk, method="check", reference="9")
    assert done.paid_date == today


def test_a_cost_sent_to_the_books_is_paid_there(cfirm, cadmin, cost):
    sent_to_the_books(cost)
    with refused(Locked, code="locked") as info:
        paid(cfirm, cadmin, cost)
    assert info.value.message.startswith("only an open cost can be paid here; this one is Pending")


def test_an_open_cost_already_sent_is_paid_in_the_books(cfirm, cadmin, cost):
    Cost.objects.filter(pk=cost.pk).update(sent_at=timezone.now())
    with refused(Locked, code="locked") as info:
        paid(cfirm, cadmin, cost)
    assert info.value.message == (
        "this cost was sent to the books; its payment comes back from there"
    )


@pytest.mark.parametrize("status", ["paid", "void"])
def test_a_paid_or_void_cost_is_not_paid_again(cfirm, cadmin, cost, status):
    if status == "paid":
        paid(cfirm, cadmin, cost)
    else:
        costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk)
    with refused(Locked, code="locked") as info:
        paid(cfirm, cadmin, cost)
    assert info.value.message.startswith(
        f"only an open cost can be paid here; this one is {status.title()}"
    )


@pytest.mark.parametrize(
    ("method", "reference", "message"),
    [
        ("cash", "1", "choose check or card"),
        ("check", "  ", "the check number is required"),
        ("card", "", "the card number is required"),
    ],
)
def test_a_payment_is_by_check_or_card_with_its_number(
    cfirm, cadmin, cost, method, reference, message
):
    with refused(ValidationFailed, code="validation_error") as info:
        costs.cost_pay(
            firm=cfirm, actor=cadmin, cost_id=cost.pk, method=method, reference=reference
        )
    assert info.value.message == message


def test_a_cost_is_not_voided_once_its_reimbursement_is_pushed_to_disbursement(cfirm, cadmin, case):
    from casebridge.cases.services import settlement
    from tests.cases.helpers import deposit, offer, stage

    cost = add_cost(cfirm, cadmin, case, 50_000)
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    deposit(cfirm, cadmin, case, accepted, 1_000_000)
    stage(cfirm, cadmin, case, "fee")
    stage(cfirm, cadmin, case, "cost_reimbursement")
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk)
    with refused(Locked, code="locked", match="cost reimbursement has been pushed to disbursement"):
        costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk)
    cost.refresh_from_db()
    assert cost.status == CostStatus.OPEN
