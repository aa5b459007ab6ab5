"""Splitting a cost across linked cases (passengers of the same accident): an even split by
largest remainder that adds back to the original to the cent, or parts the user edits; the
original cost keeps its own case's part and the original amount in its memo."""

from __future__ import annotations

import pytest
from django.utils import timezone

from casebridge.cases.errors import Locked, ValidationFailed
from casebridge.cases.models import Cost, CostStatus
from casebridge.cases.selectors.settlement import case_costs_total_cents
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs
from casebridge.cases.services.costs import SplitPart
from tests.cases.helpers import D, add_cost, audits, new_case, refused


@pytest.fixture
def passengers(cfirm, cadmin, case):
    """The driver's case and two passengers' cases, linked."""
    others = [new_case(cfirm, cadmin, name) for name in ("Luis Lopez", "Ana Lopez")]
    for other in others:
        case_services.cases_link(case=case, other_case_id=other.pk, actor=cadmin)
    return [case, *others]


@pytest.fixture
def tow(cfirm, cadmin, case, passengers) -> Cost:
    return add_cost(
        cfirm,
        cadmin,
        case,
        10_000,
        payee="City Towing",
        cost_code="E124",
        invoice_reference="T-55",
        priority="high",
        memo="Tow of the car",
    )


def split(cfirm, cadmin, cost, parts=None):
    return costs.cost_split(firm=cfirm, actor=cadmin, cost_id=cost.pk, parts=parts)


def parts(passengers, *amounts) -> list[SplitPart]:
    return [SplitPart(c.pk, a) for c, a in zip(passengers, amounts, strict=True)]


def test_the_even_split_of_100_across_three_cases_is_33_34_33_33_33_33(cfirm, tow, passengers):
    proposal = costs.cost_split_proposal(firm=cfirm, cost_id=tow.pk)
    assert proposal == parts(passengers, 3_334, 3_333, 3_333)


def test_splitting_evenly_keeps_the_first_part_on_the_original_cost(cfirm, cadmin, tow, passengers):
    result = split(cfirm, cadmin, tow)

    assert [(c.case_id, c.amount_cents) for c in result] == [
        (passengers[0].pk, 3_334),
        (passengers[1].pk, 3_333),
        (passengers[2].pk, 3_333),
    ]
    assert result[0].pk == tow.pk
    assert sum(c.amount_cents for c in result) == 10_000
    memo = f"Tow of the car [Split from $100.00 on case {tow.case.number} across 3 cases]"
    for cost in Cost.objects.filter(pk__in=[c.pk for c in result]):
        assert cost.memo == memo
        assert "Split from $100.00" in cost.memo
        assert (
            cost.payee.name,
            cost.cost_code.code,
            cost.invoice_reference,
            cost.priority,
            cost.cost_date,
            cost.status,
        ) == ("City Towing", "E124", "T-55", "high", D, "open")
    assert Cost.objects.get(pk=tow.pk).split_from_id is None
    assert sorted(Cost.objects.filter(split_from=tow).values_list("amount_cents", flat=True)) == [
        3_333,
        3_333,
    ]
    assert [case_costs_total_cents(c.pk) for c in passengers] == [3_334, 3_333, 3_333]


def test_a_split_is_audited_with_the_original_and_every_part(cfirm, cadmin, tow, passengers):
    result = split(cfirm, cadmin, tow)
    [event] = audits("cost", tow.pk, "split")
    assert event.before["amount_cents"] == 10_000
    assert event.after == {
        "parts": [{"cost": c.pk, "case": c.case_id, "amount_cents": c.amount_cents} for c in result]
    }
    assert event.summary == f"Split from $100.00 on case {tow.case.number} across 3 cases"


def test_edited_parts_that_add_up_are_taken_as_given(cfirm, cadmin, tow, passengers):
    result = split(cfirm, cadmin, tow, parts(passengers, 5_000, 2_500, 2_500))
    assert [c.amount_cents for c in result] == [5_000, 2_500, 2_500]


def test_a_split_may_leave_a_linked_case_out(cfirm, cadmin, tow, passengers):
    result = split(cfirm, cadmin, tow, parts(passengers[:2], 6_000, 4_000))
    assert [(c.case_id, c.amount_cents) for c in result] == [
        (passengers[0].pk, 6_000),
        (passengers[1].pk, 4_000),
    ]
    assert case_costs_total_cents(passengers[2].pk) == 0


def test_an_empty_memo_still_records_the_original_amount(cfirm, cadmin, case, passengers):
    cost = add_cost(cfirm, cadmin, case, 1_001)
    result = split(cfirm, cadmin, cost)
    assert [c.amount_cents for c in result] == [334, 334, 333]
    assert result[1].memo == f"[Split from $10.01 on case {case.number} across 3 cases]"


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        (
            (4_000, 3_000, 2_000),
            "the parts add up to $90.00, not the cost's $100.00 ($10.00 short)",
        ),
        (
            (4_000, 3_000, 3_001),
            "the parts add up to $100.01, not the cost's $100.00 ($0.01 over)",
        ),
    ],
)
def test_parts_that_do_not_add_up_are_refused_with_the_difference(
    cfirm, cadmin, tow, passengers, amounts, message
):
    with refused(ValidationFailed, code="validation_error") as info:
        split(cfirm, cadmin, tow, parts(passengers, *amounts))
    assert info.value.message == message
    assert info.value.field == "parts"


def test_a_case_that_is_not_linked_is_refused(cfirm, cadmin, tow, passengers):
    stranger = new_case(cfirm, cadmin, "Zoe Stranger")
    with refused(ValidationFailed, code="validation_error") as info:
        split(
            cfirm, cadmin, tow, [SplitPart(passengers[0].pk, 5_000), SplitPart(stranger.pk, 5_000)]
        )
    assert info.value.message == (
        f"case {stranger.number} is not linked to this cost's case; link the cases first"
    )


def test_a_case_named_twice_is_refused(cfirm, cadmin, tow, passengers):
    with refused(ValidationFailed, code="validation_error") as info:
        split(cfirm, cadmin, tow, parts(passengers[:2] + passengers[1:2], 5_000, 2_500, 2_500))
    assert info.value.message == (
        f"case {passengers[1].number} appears twice; give each case a single part"
    )


@pytest.mark.parametrize("amounts", [(10_000, 0, 0), (10_100, -100, 0)])
def test_a_zero_or_negative_part_is_refused(cfirm, cadmin, tow, passengers, amounts):
    with refused(ValidationFailed, code="validation_error") as info:
        split(cfirm, cadmin, tow, parts(passengers, *amounts))
    assert info.value.message == (
        "every part must be greater than $0.00; leave a case out of the split instead"
    )


def test_the_costs_own_case_must_keep_a_part(cfirm, cadmin, tow, passengers):
    with refused(ValidationFailed, code="validation_error") as info:
        split(cfirm, cadmin, tow, parts(passengers[1:], 5_000, 5_000))
    assert info.value.message == "the cost's own case must keep a part"


def test_a_split_needs_two_cases(cfirm, cadmin, tow, passengers):
    with refused(ValidationFailed, code="validation_error") as info:
        split(cfirm, cadmin, tow, parts(passengers[:1], 10_000))
    assert info.value.message.startswith("a split needs at least two cases")


def test_a_case_without_linked_cases_cannot_split(cfirm, cadmin):
    alone = new_case(cfirm, cadmin, "Solo Client")
    cost = add_cost(cfirm, cadmin, alone, 10_000)
    with refused(ValidationFailed, code="validation_error") as info:
        split(cfirm, cadmin, cost)
    assert info.value.message == (
        f"case {alone.number} has no linked cases to split with; link the cases first"
    )


def test_too_few_cents_to_give_every_case_a_part_is_refused(cfirm, cadmin, case, passengers):
    cost = add_cost(cfirm, cadmin, case, 2)
    with refused(ValidationFailed, code="validation_error") as info:
        split(cfirm, cadmin, cost)
    assert info.value.message == (
        "every part must be greater than $0.00; leave a case out of the split instead"
    )


def test_no_part_goes_to_a_closed_case(cfirm, cadmin, tow, passengers):
    case_services.case_update(case=passengers[2], actor=cadmin, status="closed")
    with refused(Locked, code="locked") as info:
        split(cfirm, cadmin, tow)
    assert info.value.message == (
        f"case {passengers[2].number} is closed; reopen it or leave it out of the split"
    )
    assert len(split(cfirm, cadmin, tow, parts(passengers[:2], 5_000, 5_000))) == 2


@pytest.mark.parametrize("state", ["paid", "pending", "sent", "void"])
def test_a_paid_sent_or_void_cost_cannot_be_split(cfirm, cadmin, tow, passengers, state):
    if state == "paid":
        costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=tow.pk, method="check", reference="7")
    elif state == "pending":
        Cost.objects.filter(pk=tow.pk).update(status=CostStatus.PENDING, sent_at=timezone.now())
    elif state == "sent":  # sent, the books have not answered yet
        Cost.objects.filter(pk=tow.pk).update(sent_at=timezone.now())
    else:
        costs.cost_void(firm=cfirm, actor=cadmin, cost_id=tow.pk)
    with refused(Locked, code="locked") as info:
        split(cfirm, cadmin, tow)
    assert info.value.message == (
        "only an open cost that has not been sent to the books can be split"
    )


def test_a_part_of_a_split_cost_can_be_split_again(cfirm, cadmin, tow, passengers):
    first = split(cfirm, cadmin, tow, parts(passengers[:2], 6_000, 4_000))
    again = split(cfirm, cadmin, first[0], parts(passengers[::2], 3_001, 2_999))
    assert [c.amount_cents for c in again] == [3_001, 2_999]
    assert sum(c.amount_cents for c in Cost.objects.filter(status="open")) == 10_000
