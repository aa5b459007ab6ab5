"""GET /invoices/{id}/ledes and GET /invoices/ledes?id=: the twins of the invoice screens'
LEDES exports (ADR 0044): a text file, the refusals as JSON naming the field, nothing
written on a refusal, one audit event per export."""

from __future__ import annotations

import pytest

from casebridge.books.exports import ledes
from casebridge.books.services import invoices
from casebridge.books.services import ledes as ledes_service
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import writes_nothing
from tests.books.test_ledes import worked_invoice

from .conftest import BASE


@pytest.fixture
def ledes_ready(firm, admin, attorney):
    ledes_service.ledes_settings_save(
        firm=firm,
        actor=admin,
        law_firm_id="12-3456789",
        fee_task_code="L120",
        fee_activity_code="A103",
    )
    ledes_service.timekeeper_ledes_save(
        firm=firm, actor=admin, user_id=attorney.pk, timekeeper_id="SS", classification="PT"
    )


def get(client, token, path, **params):
    return client.get(BASE + path, params, headers={"Authorization": f"Bearer {token}"})


def test_one_invoice_as_a_ledes_file(
    client, token, ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    response = get(client, token, f"/invoices/{invoice.pk}/ledes")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=us-ascii"
    assert response["Content-Disposition"] == 'attachment; filename="LEDES1998B-invoice-1001.txt"'
    assert "no-store" in response["Cache-Control"]
    rows = ledes.parse(response.content.decode("ascii"))
    assert [
        (r["LINE_ITEM_NUMBER"], r["EXP/FEE/INV_ADJ_TYPE"], r["LINE_ITEM_TOTAL"]) for r in rows
    ] == [("1", "E", "125.50"), ("2", "F", "3000.00"), ("3", "E", "435.00")]
    assert {r["INVOICE_TOTAL"] for r in rows} == {"3560.50"}
    assert AuditEvent.objects.filter(action="export", entity_type="invoice").count() == 1


def test_several_invoices_in_one_file(
    client, token, ledes_ready, firm, admin, attorney, client_file
):
    first = worked_invoice(firm, admin, attorney, client_file)
    second = worked_invoice(firm, admin, attorney, client_file)
    response = client.get(
        f"{BASE}/invoices/ledes?id={second.pk}&id={first.pk}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    rows = ledes.parse(response.content.decode("ascii"))
    assert [r["INVOICE_NUMBER"] for r in rows] == ["1001"] * 3 + ["1002"] * 3
    assert response["Content-Disposition"] == (
        'attachment; filename="LEDES1998B-invoices-1001-to-1002-2.txt"'
    )


def test_a_voided_invoice_is_422_naming_the_invoice_and_writes_nothing(
    api, ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk, reason="Wrong file")
    with writes_nothing():
        reply = api.get(f"/invoices/{invoice.pk}/ledes")
    assert reply.status == 422
    assert reply.error == {
        "code": "ledes_refused",
        "message": "Invoice 1001 is voided: a voided invoice is not billed",
        "field": "invoices",
    }


def test_a_line_the_format_cannot_carry_is_named_with_its_ledes_field(
    api, firm, admin, attorney, client_file
):
    ledes_service.ledes_settings_save(
        firm=firm,
        actor=admin,
        law_firm_id="12-3456789",
        fee_task_code="L120",
        fee_activity_code="A103",
    )
    invoice = worked_invoice(firm, admin, attorney, client_file)
    with writes_nothing():
        reply = api.get(f"/invoices/{invoice.pk}/ledes")
    assert (reply.status, reply.error["field"]) == (422, "TIMEKEEPER_CLASSIFICATION")
    assert reply.error["message"] == (
        "Invoice 1001, line 2 (Demand package | medical summary): the timekeeper Sam Smith "
        "has no LEDES classification (Rates/Codes → Timekeepers → LEDES)"
    )


def test_unknown_invoices_and_bad_ids(api, ledes_ready, firm, admin, attorney, client_file):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    assert api.get("/invoices/987654321/ledes").error == {
        "code": "not_found",
        "message": "invoice 987654321 not found",
    }
    with writes_nothing():
        reply = api.get(f"/invoices/ledes?id={invoice.pk}&id=987654321")
    assert (reply.status, reply.error["field"], reply.error["message"]) == (
        422,
        "invoices",
        "no invoice 987654321 in this firm",
    )
    assert api.get("/invoices/ledes").status == 422
    assert api.get("/invoices/ledes?id=abc").status == 422
