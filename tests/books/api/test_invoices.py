"""Invoices through the API: Records Time, automatic release paid from trust, the review
path, the release stage feature, and voiding."""

from __future__ import annotations

import pytest

from casebridge.books.models import AccountRole, ActivityCode, Invoice, InvoiceStage
from casebridge.books.services import setup
from tests.books.api.conftest import row_counts
from tests.conftest import account


@pytest.fixture
def e101(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E101")


@pytest.fixture
def fee_invoice(attorney, funded_file, e101) -> dict[str, object]:
    return {
        "file_id": funded_file.pk,
        "invoice_date": "2026-03-10",
        "description": "Settlement disbursement",
        "pay_from_trust": True,
        "external_ref": "settlement-1-fee",
        "lines": [
            {
                "kind": "fee",
                "description": "Contingency fee 33.33%",
                "amount": "300.00",
                "timekeeper_id": attorney.pk,
                "hours": "1.5",
            },
            {
                "kind": "cost",
                "description": "Copies",
                "amount": "50.25",
                "activity_code_id": e101.pk,
            },
        ],
    }


def test_a_fee_line_by_a_user_without_records_time_is_refused(api, admin, fee_invoice):
    before = row_counts()
    lines = fee_invoice["lines"]
    assert isinstance(lines, list)
    reply = api.post(
        "/invoices", {**fee_invoice, "lines": [{**lines[0], "timekeeper_id": admin.pk}]}
    )
    assert reply.status == 422
    assert reply.error["code"] == "records_time_off"
    assert reply.error["field"] == "lines"
    assert "admin@smith.test does not have Records Time turned on" in reply.error["message"]
    assert row_counts() == before


def test_release_auto_finalises_posts_and_pays_from_trust(
    api, firm, attorney, trust, operating, funded_file, e101, fee_invoice
):
    reply = api.post("/invoices", {**fee_invoice, "release": "auto"})
    assert reply.status == 201
    body = reply.body
    invoice = Invoice.objects.get()
    lines = list(invoice.lines.order_by("pk"))
    assert body == {
        "id": invoice.pk,
        "number": 1001,
        "file_id": funded_file.pk,
        "stage": "final",
        "invoice_date": "2026-03-10",
        "description": "Settlement disbursement",
        "pay_from_trust": True,
        "trust_bank_account_id": trust.pk,
        "operating_bank_account_id": operating.pk,
        "total": "350.25",
        "external_ref": "settlement-1-fee",
        "entry_id": invoice.entry_id,
        "void_entry_id": None,
        "finalised_on": "2026-03-10",
        "lines": [
            {
                "id": lines[0].pk,
                "kind": "fee",
                "description": "Contingency fee 33.33%",
                "amount": "300.00",
                "timekeeper_id": attorney.pk,
                "hours": "1.50",
                "activity_code_id": None,
                "line_date": "2026-03-10",
                "external_ref": "",
                "utbms_task_code": "",
                "utbms_activity_code": "",
                "utbms_expense_code": "",
            },
            {
                "id": lines[1].pk,
                "kind": "cost",
                "description": "Copies",
                "amount": "50.25",
                "timekeeper_id": None,
                "hours": None,
                "activity_code_id": e101.pk,
                "line_date": "2026-03-10",
                "external_ref": "",
                "utbms_task_code": "",
                "utbms_activity_code": "",
                "utbms_expense_code": "",
            },
        ],
    }
    entry = api.get(f"/journal-entries/{invoice.entry_id}").body
    assert entry["date"] == "2026-03-10"
    assert entry["source"] == "invoice"
    assert [
        (p["account_number"], p["debit"], p["credit"], p["file_id"]) for p in entry["lines"]
    ] == [
        ("2100", "350.25", "0.00", funded_file.pk),
        ("1010", "0.00", "350.25", funded_file.pk),
        ("1000", "350.25", "0.00", funded_file.pk),
        ("1300", "0.00", "50.25", funded_file.pk),
        ("4000", "0.00", "300.00", funded_file.pk),
    ]
    assert api.get(f"/files/{funded_file.pk}").body["trust_balances"][0]["balance"] == "649.75"
    assert account(firm, AccountRole.FEE_INCOME).normal_balance_cents == 30_000


def test_by_default_an_invoice_waits_in_review_until_released(api, fee_invoice, funded_file):
    reply = api.post("/invoices", fee_invoice)
    assert reply.status == 201
    assert (reply.body["stage"], reply.body["entry_id"]) == ("review", None)
    invoice_id = reply.body["id"]

    released = api.post(f"/invoices/{invoice_id}/release", {"on": "2026-03-12"})
    assert released.status == 200
    assert (released.body["stage"], released.body["finalised_on"]) == ("final", "2026-03-12")
    assert released.body["entry_id"] is not None
    again = api.post(f"/invoices/{invoice_id}/advance")  # no body: every option defaults
    assert (again.status, again.error["code"]) == (409, "conflict")


def test_with_the_release_stage_enabled_advance_goes_review_release_final(
    api, firm, admin, fee_invoice
):
    setup.firm_features_update(firm=firm, actor=admin, release_invoice_stage_enabled=True)
    assert api.get("/features").body == {"release_invoice_stage_enabled": True}
    invoice_id = api.post("/invoices", fee_invoice).body["id"]

    stale = api.post(f"/invoices/{invoice_id}/advance", {"expected_stage": "draft"})
    assert (stale.status, stale.error["code"]) == (409, "conflict")
    to_release = api.post(f"/invoices/{invoice_id}/advance", {"expected_stage": "review"})
    assert (to_release.body["stage"], to_release.body["entry_id"]) == ("release", None)
    final = api.post(f"/invoices/{invoice_id}/advance", {"on": "2026-03-11"})
    assert (final.body["stage"], final.body["finalised_on"]) == ("final", "2026-03-11")


def test_voiding_a_final_invoice_puts_the_money_back_in_trust(api, fee_invoice, funded_file):
    invoice = api.post("/invoices", {**fee_invoice, "release": "auto"}).body
    voided = api.post(f"/invoices/{invoice['id']}/void", {"void_date": "2026-03-15"})
    assert voided.status == 200
    assert voided.body["stage"] == InvoiceStage.VOIDED
    assert voided.body["void_entry_id"] is not None
    assert api.get(f"/files/{funded_file.pk}").body["trust_balances"][0]["balance"] == "1000.00"
    listed = api.get("/invoices", {"stage": "voided"})
    assert [i["id"] for i in listed.body["items"]] == [invoice["id"]]


def test_paying_more_than_the_trust_holds_is_refused_whole(api, fee_invoice):
    lines = fee_invoice["lines"]
    assert isinstance(lines, list)
    big = {**fee_invoice, "release": "auto", "lines": [{**lines[0], "amount": "1000.01"}]}
    before = row_counts()
    reply = api.post("/invoices", big)
    assert (reply.status, reply.error["code"]) == (409, "insufficient_trust_funds")
    assert reply.error["details"]["available"] == "1000.00"
    assert row_counts() == before  # not even the draft invoice is left behind


@pytest.mark.parametrize(
    ("line_change", "status", "field"),
    [
        ({"kind": "expense"}, 422, "lines[0].kind"),
        ({"amount": "0"}, 422, "lines[0].amount"),
        ({"hours": "-1"}, 422, "lines[0].hours"),
        ({"hours": "1.255"}, 422, "lines[0].hours"),
        ({"timekeeper_id": 987654}, 404, "lines[0].timekeeper_id"),
        ({"timekeeper_id": None}, 422, "lines"),
    ],
)
def test_bad_invoice_lines_are_named(api, fee_invoice, line_change, status, field):
    lines = fee_invoice["lines"]
    assert isinstance(lines, list)
    before = row_counts()
    reply = api.post("/invoices", {**fee_invoice, "lines": [{**lines[0], **line_change}]})
    assert (reply.status, reply.error["field"]) == (status, field)
    assert row_counts() == before


def test_an_invoice_needs_lines(api, fee_invoice):
    reply = api.post("/invoices", {**fee_invoice, "lines": []})
    assert (reply.status, reply.error["field"]) == (422, "lines")
