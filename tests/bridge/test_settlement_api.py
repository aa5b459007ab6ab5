"""The settlement money over the bridge's API (/cases/api/v1/integrations/books/): the fee
invoice's plan, Create fee invoice and its stage, each payment's trust check, and Send
again, with a cases bearer token, against the books on a real port. The worked settlement
of domain.md is set up by ``_settle_to_disbursement`` of the end-to-end test."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from casebridge.books.models import Check, CheckStatus, Invoice
from casebridge.books.services import checks as books_checks
from casebridge.bridge.api.settlement import TrustCheckOut
from casebridge.bridge.models import (
    CheckState,
    FeeInvoice,
    InvoiceRelease,
    OutboxItem,
    TrustItemLink,
)
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.bridge.services.status_sync import check_status_sync
from casebridge.cases.models import Case, TrustItem
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import firms
from casebridge.core.models import AuditEvent

from .conftest import PASSWORD, activate, add_cost, books_read_again
from .test_api import Api
from .test_settlement_to_books import _settle_to_disbursement

BASE = "/cases/api/v1/integrations/books"


def _written() -> dict[str, int]:
    """What a refusal must leave untouched."""
    return {
        "fee_invoices": FeeInvoice.objects.count(),
        "outbox": OutboxItem.objects.count(),
        "links": TrustItemLink.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def _items(case: Case) -> dict[str, TrustItem]:
    return {
        i.payee_name if i.kind == "lien" else i.kind: i for i in TrustItem.objects.filter(case=case)
    }


def _expected_lines(case: Case) -> list[dict[str, str]]:
    fee = TrustItem.objects.get(case=case, kind="fee")
    records, wu = case.costs.order_by("pk")
    return [
        {
            "kind": "fee",
            "description": f"Attorney fee, {case.number} {case.name}",
            "amount": "83325.00",
            "source": f"cases-trust-item-{fee.pk}",
        },
        {
            "kind": "cost",
            "description": "Reimbursed cost: Records Inc, E112 2026-11-02",
            "amount": "5000.00",
            "source": f"cases-cost-{records.pk}",
        },
        {
            "kind": "cost",
            "description": "Reimbursed cost: Dr. Wu, E112 2026-11-02",
            "amount": "3500.00",
            "source": f"cases-cost-{wu.pk}",
        },
    ]


def _other_firms_case() -> Case:
    firm = firms.firm_create(code="jones-law", name="Jones Law")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@jones.test",
        password=PASSWORD,
        first_name="Jo",
        last_name="Jones",
        is_firm_admin=True,
    )
    client = case_services.contact_create(firm=firm, actor=admin, name="Lee Park")
    return case_services.case_create(
        firm=firm, actor=admin, name="Park v. Bolt", client_id=client.pk, status="open"
    )


@pytest.fixture
def api(cases) -> Api:
    return Api(cases.admin.email)


# --- the plan -----------------------------------------------------------------------------


def test_the_plan_lists_the_lines_of_the_worked_settlement_and_writes_nothing(books, cases, api):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    before = _written()

    status, body = api.get(f"/cases/{settled.case.pk}/fee-invoice/plan")

    assert status == 200, body
    assert body == {
        "case_id": settled.case.pk,
        "release": "automatic",
        "release_label": "Released automatically",
        "total": "91825.00",
        "lines": _expected_lines(settled.case),
    }
    assert _written() == before


def test_the_plan_in_review_mode_says_so(books, cases, api):
    activate(books, cases, release=InvoiceRelease.REVIEW)
    settled = _settle_to_disbursement(books, cases)
    status, body = api.get(f"/cases/{settled.case.pk}/fee-invoice/plan")
    assert (status, body["release"], body["release_label"], body["total"]) == (
        200,
        "review",
        "Reviewed in the books",
        "91825.00",
    )


def test_the_plans_refusals_name_the_reason(books, cases, api):
    path = f"/cases/{cases.case.pk}/fee-invoice/plan"
    status, body = api.get(path)
    assert (status, body["error"]["code"]) == (409, "integration_not_connected")

    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    status, body = api.get(path)
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        422,
        "validation_error",
        "case",
    )
    assert "nothing on this case is waiting to be invoiced" in body["error"]["message"]


def test_costs_never_sent_refuse_the_plan_naming_them(books, cases, api):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    # a cost added after the push (never sent): the books hold no advance to reimburse
    add_cost(cases, 12_500, payee="Court Clerk")
    status, body = api.get(f"/cases/{settled.case.pk}/fee-invoice/plan")
    assert (status, body["error"]["code"]) == (422, "validation_error")
    assert (
        "1 of this case's costs ($125.00) were never sent to the books"
        in (body["error"]["message"])
    )
    status, body = api.post(f"/cases/{settled.case.pk}/fee-invoice")
    assert status == 422
    assert not FeeInvoice.objects.exists()


# --- Create fee invoice, then its stage ---------------------------------------------------


def test_create_then_get_shows_on_its_way_then_final_with_the_books_number(books, cases, api):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    case_id = settled.case.pk

    status, created = api.post(f"/cases/{case_id}/fee-invoice")

    assert status == 201, created
    fee_invoice = FeeInvoice.objects.get()
    expected = {
        "id": fee_invoice.pk,
        "case_id": case_id,
        "external_ref": f"cases-fee-invoice-{fee_invoice.pk}",
        "stage": "",
        "books_invoice_id": None,
        "books_invoice_number": None,
        "total": "91825.00",
        "release": "automatic",
        "lines": _expected_lines(settled.case),
        "note": "Fee invoice on its way to the books",
        "problem": False,
        "created_at": created["created_at"],
    }
    assert created == expected
    assert OutboxItem.objects.filter(kind="fee_invoice", fee_invoice=fee_invoice).count() == 1
    status, got = api.get(f"/cases/{case_id}/fee-invoice")
    assert (status, got) == (200, expected)

    report = outbox_deliver(firm_id=cases.firm.pk)
    assert (report.sent, report.failed) == (1, 0)

    invoice = Invoice.objects.get(firm=books.firm)
    status, got = api.get(f"/cases/{case_id}/fee-invoice")
    assert status == 200
    assert got == {
        **expected,
        "stage": "final",
        "books_invoice_id": invoice.pk,
        "books_invoice_number": invoice.number,
        "note": f"Fee invoice {invoice.number}: final",
    }
    # the fee and the reimbursement are disbursed, with the invoice as their reference
    status, body = api.get(f"/cases/{case_id}/payments")
    assert status == 200
    by_kind = {p["kind"]: p for p in body["items"]}
    for kind in ("fee", "cost_reimbursement"):
        assert (by_kind[kind]["status"], by_kind[kind]["invoice_reference"]) == (
            "disbursed",
            f"Invoice {invoice.number}",
        )


def test_a_reviewed_invoice_waits_for_the_accountant(books, cases, api):
    activate(books, cases, release=InvoiceRelease.REVIEW)
    settled = _settle_to_disbursement(books, cases)
    assert api.post(f"/cases/{settled.case.pk}/fee-invoice")[0] == 201
    outbox_deliver(firm_id=cases.firm.pk)
    invoice = Invoice.objects.get(firm=books.firm)
    status, got = api.get(f"/cases/{settled.case.pk}/fee-invoice")
    assert (status, got["stage"], got["release"], got["books_invoice_number"]) == (
        200,
        "review",
        "review",
        invoice.number,
    )
    assert got["note"] == (
        f"Fee invoice {invoice.number}: review "
        "(waiting for the accountant to release it in the books)"
    )


def test_a_second_create_is_a_409_and_writes_nothing(books, cases, api):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    assert api.post(f"/cases/{settled.case.pk}/fee-invoice")[0] == 201
    before = _written()

    status, body = api.post(f"/cases/{settled.case.pk}/fee-invoice")

    assert (status, body["error"]["code"], body["error"]["field"]) == (409, "conflict", "case")
    assert (
        "this case already has a fee invoice (on its way to the books)"
        in (body["error"]["message"])
    )
    assert _written() == before
    assert (FeeInvoice.objects.count(), OutboxItem.objects.filter(kind="fee_invoice").count()) == (
        1,
        1,
    )
    # after delivery the refusal names the books' invoice
    outbox_deliver(firm_id=cases.firm.pk)
    number = Invoice.objects.get(firm=books.firm).number
    status, body = api.post(f"/cases/{settled.case.pk}/fee-invoice")
    assert status == 409
    assert f"(invoice {number}, final)" in body["error"]["message"]
    assert FeeInvoice.objects.count() == 1


def test_a_case_without_a_fee_invoice_is_a_404(books, cases, api):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    status, body = api.get(f"/cases/{cases.case.pk}/fee-invoice")
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        404,
        "not_found",
        "case_id",
    )
    assert body["error"]["message"] == f"case {cases.case.pk} has no fee invoice"


def test_a_refusal_of_the_books_prerequisites_is_a_409_naming_it(books, cases, api):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    books.attorney.records_time = False
    books.attorney.save(update_fields=["records_time"])
    books_read_again(cases)
    before = _written()
    status, body = api.post(f"/cases/{settled.case.pk}/fee-invoice")
    assert (status, body["error"]["code"]) == (409, "integration_not_ready")
    assert "Records Time is off for sam.smith@lopez.test in the books" in (body["error"]["message"])
    assert _written() == before


# --- permissions and bad ids --------------------------------------------------------------


def test_without_the_deposit_settlement_permission_every_write_is_a_403(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    paralegal = Api(cases.paralegal.email)
    lien_item = _items(settled.case)["Valley Medical"]
    before = _written()
    for method, path in [
        ("get", f"/cases/{settled.case.pk}/fee-invoice/plan"),
        ("post", f"/cases/{settled.case.pk}/fee-invoice"),
        ("post", f"/trust-items/{lien_item.pk}/send-again"),
        # refused before the lookup: no hint whether the id exists
        ("post", "/cases/999999/fee-invoice"),
    ]:
        status, body = getattr(paralegal, method)(path)
        assert status == 403, (path, body)
        assert body["error"]["code"] == "permission_denied"
        assert "'Deposit settlement checks' permission" in body["error"]["message"]
        assert body["error"]["details"] == {"permission": "deposit_settlement"}
    assert _written() == before
    # reading stays open to every user of the firm, as on Client Trust Management
    assert paralegal.get(f"/cases/{settled.case.pk}/payments")[0] == 200


def test_bad_ids_are_4xx_json_never_a_500(books, cases, api, caplog):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    other = _other_firms_case()
    before = _written()
    paths = [
        "/cases/{}/fee-invoice/plan",
        "/cases/{}/fee-invoice",
        "/cases/{}/payments",
        "/trust-items/{}/send-again",
    ]
    for template in paths:
        methods = ("post",) if template.endswith("send-again") else ("get",)
        if template == "/cases/{}/fee-invoice":
            methods = ("get", "post")
        for method in methods:
            for value, expected in [
                (999_999, 404),
                (other.pk if template.startswith("/cases") else 999_998, 404),
                (0, 422),
                (-1, 404),  # not an integer path: no endpoint matches
                ("abc", 404),
                (2**63, 422),
            ]:
                status, body = getattr(api, method)(template.format(value))
                assert status == expected, (method, template, value, body)
                assert body["error"]["code"] in ("not_found", "validation_error"), body
                assert body["error"]["message"]
    # another firm's case is answered exactly like one that does not exist
    status, body = api.get(f"/cases/{other.pk}/payments")
    assert (status, body["error"]) == (
        404,
        {"code": "not_found", "message": f"case_id: case {other.pk} not found", "field": "case_id"},
    )
    assert _written() == before
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_payment_never_sent_cannot_be_sent_again(books, cases, api):
    """A payment of this firm that has no trust check (the fee, paid by the invoice)."""
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    fee = _items(settled.case)["fee"]
    before = _written()
    status, body = api.post(f"/trust-items/{fee.pk}/send-again")
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        422,
        "validation_error",
        "item",
    )
    assert body["error"]["message"] == "this payment was never sent to the books"
    assert _written() == before


def test_without_a_token_is_a_401(books, cases):
    from django.test import Client

    response = Client().get(f"{BASE}/cases/{cases.case.pk}/payments")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- the payments and Send again ----------------------------------------------------------


def test_payments_show_each_trust_check_then_the_printed_numbers(books, cases, api):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    items = _items(settled.case)
    checks = {c.payee: c for c in settled.trust_checks}

    status, body = api.get(f"/cases/{settled.case.pk}/payments")

    assert status == 200
    assert body == {
        "case_id": settled.case.pk,
        "items": [
            {
                "id": item.pk,
                "kind": item.kind,
                "payee": item.payee_name,
                "amount": amount,
                "status": "to_be_disbursed",
                "paid_direct": False,
                "check_number": "",
                "invoice_reference": "",
                "books_note": (
                    "Trust check requested, queued for printing in the books"
                    if item.payee_name in checks
                    else ""
                ),
                "books_problem": False,
                "can_send_again": False,
            }
            for item, amount in [
                (items["Valley Medical"], "30000.00"),
                (items["Blue Shield"], "15000.00"),
                (items["fee"], "83325.00"),
                (items["cost_reimbursement"], "8500.00"),
                (items["client"], "113175.00"),
            ]
        ],
    }
    assert items["client"].payee_name == "Maria Lopez"

    for number, check in enumerate(settled.trust_checks, start=5001):
        books_checks.check_print(
            firm=books.firm, actor=books.admin, check_id=check.pk, check_number=number
        )
    check_status_sync(firm=cases.firm, actor=cases.admin)
    status, body = api.get(f"/cases/{settled.case.pk}/payments")
    printed = {
        p["payee"]: (p["status"], p["check_number"], p["books_note"])
        for p in body["items"]
        if p["kind"] in ("lien", "client")
    }
    assert printed == {
        "Valley Medical": ("disbursed", "5001", "Trust check #5001"),
        "Blue Shield": ("disbursed", "5002", "Trust check #5002"),
        "Maria Lopez": ("disbursed", "5003", "Trust check #5003"),
    }


def test_send_again_is_refused_until_the_books_void_the_check_then_requests_a_new_one(
    books, cases, api
):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    item = _items(settled.case)["Valley Medical"]
    first_check = next(c for c in settled.trust_checks if c.payee == "Valley Medical")
    path = f"/trust-items/{item.pk}/send-again"

    # its check is still queued for printing: nothing to send again
    before = _written()
    status, body = api.post(path)
    assert (status, body["error"]["code"], body["error"]["field"]) == (409, "conflict", "item")
    assert body["error"]["message"] == (
        "only a payment whose check was voided in the books can be sent again"
    )
    assert _written() == before

    books_checks.check_void(
        firm=books.firm, actor=books.admin, check_id=first_check.pk, reason="Lost in the mail"
    )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.error, run.voided) == ("", 1)
    status, body = api.get(f"/cases/{settled.case.pk}/payments")
    voided = next(p for p in body["items"] if p["id"] == item.pk)
    assert (voided["status"], voided["books_problem"], voided["can_send_again"]) == (
        "to_be_disbursed",
        True,
        True,
    )
    assert voided["books_note"] == (
        "Check voided in the books (Lost in the mail); the money is back in trust. "
        "Send it again from Client Trust Management."
    )

    status, body = api.post(path)

    assert (status, body) == (
        200,
        {
            "trust_item_id": item.pk,
            "external_ref": f"cases-trust-item-{item.pk}-2",
            "generation": 2,
            "check_state": "",
            "check_number": None,
            "problem": "",
        },
    )
    assert OutboxItem.objects.filter(
        kind="trust_check", trust_item=item, payload__external_ref=f"cases-trust-item-{item.pk}-2"
    ).exists()
    # sent again once: a second Send again is refused (its new check is on its way)
    before = _written()
    assert api.post(path)[0] == 409
    assert _written() == before

    report = outbox_deliver(firm_id=cases.firm.pk)
    assert (report.sent, report.failed) == (1, 0)
    valley = list(
        Check.objects.filter(firm=books.firm, payee="Valley Medical")
        .order_by("pk")
        .values_list("status", "amount_cents", "external_ref")
    )
    assert valley == [
        (CheckStatus.VOIDED, 3_000_000, f"cases-trust-item-{item.pk}"),
        (CheckStatus.QUEUED, 3_000_000, f"cases-trust-item-{item.pk}-2"),
    ]
    status, body = api.get(f"/cases/{settled.case.pk}/payments")
    again = next(p for p in body["items"] if p["id"] == item.pk)
    assert (again["books_note"], again["books_problem"], again["can_send_again"]) == (
        "Trust check requested, queued for printing in the books",
        False,
        False,
    )


# --- the schema ---------------------------------------------------------------------------


def _schema(api: Api) -> dict[str, Any]:
    return json.loads(api.client.get(f"{BASE}/openapi.json").content)


def test_the_schema_documents_the_settlement_endpoints(cases, api):
    schema = _schema(api)
    paths = {p.removeprefix(BASE): set(ops) for p, ops in schema["paths"].items()}
    assert paths["/cases/{case_id}/fee-invoice/plan"] == {"get"}
    assert paths["/cases/{case_id}/fee-invoice"] == {"get", "post"}
    assert paths["/trust-items/{item_id}/send-again"] == {"post"}
    assert paths["/cases/{case_id}/payments"] == {"get"}
    create = schema["paths"][f"{BASE}/cases/{{case_id}}/fee-invoice"]["post"]
    assert set(create["responses"]) >= {"201", "401", "403", "404", "409", "422"}
    assert create["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorOut"
    )
    components = schema["components"]["schemas"]
    assert components["InvoiceLineOut"]["properties"]["amount"]["type"] == "string"
    assert components["FeeInvoiceOut"]["properties"]["total"]["pattern"] == (r"^-?\d+(\.\d{1,2})?$")
    assert set(components["TrustCheckOut"]["required"]) == {
        "trust_item_id",
        "external_ref",
        "generation",
        "check_state",
        "check_number",
        "problem",
    }


def test_the_trust_check_state_is_described_by_the_values_it_takes():
    """The API's description of a trust check's state names exactly the stored values."""
    description = TrustCheckOut.model_fields["check_state"].description or ""
    named = set(re.findall(r"\b(?:ach_[a-z_]+|queued|printed|void|missing)\b", description))
    assert named == {state.value for state in CheckState}
    assert {state.value for state in CheckState} == {
        "queued",
        "printed",
        "void",
        "missing",
        "ach_queued",
        "ach_file",
        "ach_sent",
        "ach_clear",
    }
