"""A case's Costs tab: add (payee chosen or created), edit by the edit rules, void, pay,
and split across linked cases (the parts must add up to the cent)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.cases.models import Contact, Cost, CostStatus
from casebridge.cases.services import costs
from casebridge.core.models import AuditEvent
from tests.cases.conftest import cost_code

from .conftest import HX, D, nothing_written, text


def add_cost(client, case, **data):
    return client.post(reverse("cases:cost_new", args=[case.pk]), data, **HX)


def test_the_add_cost_pop_up_offers_utbms_and_firm_codes(admin_client, cfirm, case, payee):
    page = text(admin_client.get(reverse("cases:cost_new", args=[case.pk]), **HX))
    assert '<optgroup label="Firm codes">' in page
    assert '<optgroup label="UTBMS expense codes">' in page
    assert "E112 Court fees" in page
    assert "MEDREC Medical records" in page
    assert 'list="payee-names"' in page
    assert '<datalist id="payee-names"><option value="Records Inc"></option>' in page
    assert "Maria Lopez" not in page  # a case's client is not suggested as a payee


def test_a_cost_to_a_payee_from_the_list(admin_client, cfirm, cadmin, case, payee):
    response = add_cost(
        admin_client,
        case,
        payee="records inc",
        amount="1,234.56",
        invoice_reference="INV-9",
        priority="high",
        cost_code=cost_code(cfirm, "E112").pk,
        memo="Filing fee",
        cost_date="2026-03-01",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("cases:case_costs", args=[case.pk])
    cost = Cost.objects.get()
    assert (
        cost.case_id,
        cost.payee_id,
        cost.amount_cents,
        cost.invoice_reference,
        cost.priority,
        cost.cost_code.code,
        cost.memo,
        cost.cost_date,
        cost.status,
        cost.created_by_id,
    ) == (
        case.pk,
        payee.pk,
        123_456,
        "INV-9",
        "high",
        "E112",
        "Filing fee",
        dt.date(2026, 3, 1),
        CostStatus.OPEN,
        cadmin.pk,
    )
    assert AuditEvent.objects.filter(entity_type="cost", action="create").count() == 1


def test_a_cost_to_a_new_payee_creates_the_contact(admin_client, cfirm, case):
    response = add_cost(
        admin_client,
        case,
        payee="Court Reporters LLC",
        amount="99.99",
        priority="normal",
        cost_code=cost_code(cfirm, "E115").pk,
        cost_date="2026-03-01",
    )
    assert response.status_code == 200
    cost = Cost.objects.get()
    assert cost.payee.name == "Court Reporters LLC"
    assert cost.payee.firm_id == cfirm.pk
    assert cost.amount_cents == 9_999


def test_a_payee_is_required(admin_client, cfirm, case):
    with nothing_written():
        response = add_cost(
            admin_client,
            case,
            amount="10.00",
            priority="normal",
            cost_code=cost_code(cfirm, "E101").pk,
            cost_date="2026-03-01",
        )
    assert response.status_code == 422
    assert 'id="id_payee_error"' in text(response)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "A cost must be greater than $0.00 (to take a cost back, void it)"),
        ("0.00", "A cost must be greater than $0.00"),
        ("-5.00", "Enter a positive amount."),
        ("1.234", "Amount has more than two decimal places: 1.234"),
        ("12abc", "Enter an amount such as 1,234.56."),
        ("", "This field is required."),
    ],
)
def test_a_zero_or_negative_cost_is_refused_with_a_new_payee_not_created(
    admin_client, cfirm, case, amount, message
):
    with nothing_written():
        response = add_cost(
            admin_client,
            case,
            payee="Someone New",
            amount=amount,
            priority="normal",
            cost_code=cost_code(cfirm, "E101").pk,
            cost_date="2026-03-01",
        )
    assert response.status_code == 422
    body = text(response)
    assert message in body
    assert 'id="id_amount_error"' in body
    assert not Contact.objects.filter(name="Someone New").exists()


def test_the_costs_tab_shows_a_void_cost_as_zero_and_leaves_it_out_of_the_total(
    admin_client, cfirm, cadmin, case, payee, cost
):
    other = costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=payee.pk,
        amount_cents=10_000,
        cost_code_id=cost_code(cfirm, "E101").pk,
        cost_date=D,
    )
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=other.pk, reason="Duplicate")
    page = text(admin_client.get(reverse("cases:case_costs", args=[case.pk])))
    assert '<span class="void-amount">$0.00 VOID</span>' in page
    assert "was $100.00" in page
    assert '<span class="stat-value" data-figure="cost-total">$300.01</span>' in page
    for column in ("Date", "Payee", "Code", "Invoice ref.", "Priority", "Memo", "Amount", "Status"):
        assert f">{column}</th>" in page
    assert "INV-7" in page
    assert "Records of Valley Medical" in page


def test_editing_an_open_cost(admin_client, cfirm, cost):
    response = admin_client.post(
        reverse("cases:cost_edit", args=[cost.pk]),
        {
            "payee": "New Records Co",
            "amount": "250.00",
            "invoice_reference": "INV-8",
            "priority": "urgent",
            "cost_code": cost_code(cfirm, "E101").pk,
            "memo": "Fixed",
            "cost_date": "2026-03-03",
        },
        **HX,
    )
    assert response.status_code == 200
    cost.refresh_from_db()
    assert (
        cost.payee.name,
        cost.amount_cents,
        cost.invoice_reference,
        cost.priority,
        cost.cost_code.code,
        cost.memo,
        cost.cost_date,
    ) == ("New Records Co", 25_000, "INV-8", "urgent", "E101", "Fixed", dt.date(2026, 3, 3))


def test_a_paid_cost_changes_only_its_paid_date_and_memo(admin_client, cfirm, cadmin, cost):
    costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=cost.pk, method="check", reference="1001")
    form = text(admin_client.get(reverse("cases:cost_edit", args=[cost.pk]), **HX))
    assert "only its paid date and memo can change" in form
    amount = 'name="amount" value="300.01" inputmode="decimal" autocomplete="off"'
    assert amount + ' maxlength="24" disabled' in form
    response = admin_client.post(
        reverse("cases:cost_edit", args=[cost.pk]),
        {"amount": "1.00", "memo": "Paid by check 1001", "paid_date": "2026-03-05"},
        **HX,
    )
    assert response.status_code == 200
    cost.refresh_from_db()
    assert (cost.amount_cents, cost.memo, cost.paid_date) == (
        30_001,  # disabled: the posted amount is ignored
        "Paid by check 1001",
        dt.date(2026, 3, 5),
    )


def test_a_paid_cost_needs_its_paid_date(admin_client, cfirm, cadmin, cost):
    costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=cost.pk, method="check", reference="1001")
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_edit", args=[cost.pk]), {"memo": "x", "paid_date": ""}, **HX
        )
    assert response.status_code == 422
    assert 'id="id_paid_date_error"' in text(response)


def test_editing_a_void_cost_is_refused(admin_client, cfirm, cadmin, cost):
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=cost.pk)
    form = text(admin_client.get(reverse("cases:cost_edit", args=[cost.pk]), **HX))
    assert "A void cost cannot be edited." in form
    assert ">Save</button>" not in form
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_edit", args=[cost.pk]),
            {
                "payee": cost.payee.name,
                "amount": "5.00",
                "priority": "normal",
                "cost_code": cost.cost_code_id,
                "cost_date": "2026-03-02",
            },
            **HX,
        )
    assert response.status_code == 422
    assert "A void cost cannot be edited; add a new cost instead" in text(response)


def test_voiding_a_cost(admin_client, cost):
    response = admin_client.post(
        reverse("cases:cost_void", args=[cost.pk]), {"reason": "Entered twice"}, **HX
    )
    assert response.status_code == 200
    cost.refresh_from_db()
    assert (cost.status, cost.void_reason, cost.voided_on is not None) == (
        CostStatus.VOID,
        "Entered twice",
        True,
    )
    assert cost.amount_cents == 30_001  # kept; shown as $0.00 VOID


def test_voiding_a_paid_cost_is_refused(admin_client, cfirm, cadmin, cost):
    costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=cost.pk, method="card", reference="4242")
    with nothing_written():
        response = admin_client.post(reverse("cases:cost_void", args=[cost.pk]), {}, **HX)
    assert response.status_code == 422
    assert "A paid cost is voided by voiding its check, not here" in text(response)


def test_paying_an_open_cost_by_check(admin_client, cost):
    response = admin_client.post(
        reverse("cases:cost_pay", args=[cost.pk]),
        {"method": "check", "reference": "10452", "paid_date": "2026-03-04"},
        **HX,
    )
    assert response.status_code == 200
    cost.refresh_from_db()
    assert (cost.status, cost.payment_method, cost.payment_reference, cost.paid_date) == (
        CostStatus.PAID,
        "check",
        "10452",
        dt.date(2026, 3, 4),
    )


def test_paying_needs_the_number(admin_client, cost):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_pay", args=[cost.pk]),
            {"method": "card", "reference": "  ", "paid_date": "2026-03-04"},
            **HX,
        )
    assert response.status_code == 422
    assert 'id="id_reference_error"' in text(response)


def test_paying_twice_is_refused(admin_client, cfirm, cadmin, cost):
    costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=cost.pk, method="check", reference="1")
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_pay", args=[cost.pk]),
            {"method": "check", "reference": "2", "paid_date": "2026-03-04"},
            **HX,
        )
    assert response.status_code == 422
    assert "only an open cost can be paid here; this one is Paid" in text(response).replace(
        "Only", "only"
    )


# --- Split --------------------------------------------------------------------------------


def test_the_split_pop_up_shows_the_even_split(admin_client, case, linked_case, cost):
    page = text(admin_client.get(reverse("cases:cost_split", args=[cost.pk]), **HX))
    assert f'name="part_{case.pk}"' in page
    assert f'name="part_{linked_case.pk}"' in page
    assert 'value="150.01"' in page  # 300.01 = 150.01 + 150.00, to the cent
    assert 'value="150.00"' in page
    assert "$300.01</strong> · adds up to the cost" in page


def test_the_live_sum_says_whether_the_parts_add_up(admin_client, case, linked_case, cost):
    url = reverse("cases:cost_split_sum", args=[cost.pk])
    ok = text(admin_client.get(url, {f"part_{case.pk}": "200.01", f"part_{linked_case.pk}": "100"}))
    assert 'data-ok="true"' in ok
    short = text(
        admin_client.get(url, {f"part_{case.pk}": "200.00", f"part_{linked_case.pk}": "100"})
    )
    assert "$0.01 short of the cost's $300.01" in short
    over = text(admin_client.get(url, {f"part_{case.pk}": "250", f"part_{linked_case.pk}": "100"}))
    assert "$49.99 over" in over
    junk = text(admin_client.get(url, {f"part_{case.pk}": "abc"}))
    assert "One of the amounts is not a number." in junk


def test_splitting_with_edited_amounts(admin_client, cadmin, case, linked_case, cost):
    response = admin_client.post(
        reverse("cases:cost_split", args=[cost.pk]),
        {f"part_{case.pk}": "200.01", f"part_{linked_case.pk}": "100.00"},
        **HX,
    )
    assert response.status_code == 200
    cost.refresh_from_db()
    part = Cost.objects.get(split_from=cost)
    assert (cost.amount_cents, cost.case_id) == (20_001, case.pk)
    assert (part.amount_cents, part.case_id, part.payee_id, part.created_by_id) == (
        10_000,
        linked_case.pk,
        cost.payee_id,
        cadmin.pk,
    )
    assert "Split from $300.01" in cost.memo
    assert part.memo == cost.memo


def test_split_parts_that_do_not_add_up_are_refused_with_the_difference(
    admin_client, case, linked_case, cost
):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_split", args=[cost.pk]),
            {f"part_{case.pk}": "200.00", f"part_{linked_case.pk}": "100.00"},
            **HX,
        )
    assert response.status_code == 422
    body = text(response)
    assert "The parts add up to $300.00, not the cost&#x27;s $300.01 ($0.01 short)" in body
    assert "$0.01 short of" in body  # the live line agrees


def test_a_zero_part_is_refused(admin_client, case, linked_case, cost):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_split", args=[cost.pk]),
            {f"part_{case.pk}": "300.01", f"part_{linked_case.pk}": "0"},
            **HX,
        )
    assert response.status_code == 422
    assert "Every part must be greater than $0.00" in text(response)


def test_a_cost_without_linked_cases_cannot_be_split(admin_client, cost):
    page = text(admin_client.get(reverse("cases:cost_split", args=[cost.pk]), **HX))
    assert "has no linked cases to split with; link the cases first" in page
    assert ">Split cost</button>" not in page
    with nothing_written():
        response = admin_client.post(reverse("cases:cost_split", args=[cost.pk]), {}, **HX)
    assert response.status_code == 422


def test_a_paid_cost_cannot_be_split(admin_client, cfirm, cadmin, case, linked_case, cost):
    costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=cost.pk, method="check", reference="1")
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_split", args=[cost.pk]),
            {f"part_{case.pk}": "150.01", f"part_{linked_case.pk}": "150.00"},
            **HX,
        )
    assert response.status_code == 422
    assert "only an open cost that has not been sent to the books can be split" in text(
        response
    ).replace("Only", "only")


def test_the_costs_tab_offers_actions_by_status(admin_client, case, linked_case, cost):
    page = text(admin_client.get(reverse("cases:case_costs", args=[case.pk])))
    for action in ("Edit", "Pay", "Split", "Void"):
        assert f'aria-label="{action} cost of 2026-03-02 to Records Inc for $300.01"' in page
