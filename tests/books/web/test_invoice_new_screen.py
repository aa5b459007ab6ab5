"""New invoice on the screens (issue 14, the twin of POST /invoices): a draft typed by
hand with fee and cost lines, through the invoices service; a refusal names its line or
field and writes nothing."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from casebridge.books.models import ActivityCode, Invoice, InvoiceLine, InvoiceStage
from casebridge.core.models import AuditEvent

from .conftest import HX, text
from .test_auth_screens import field_error

D = dt.date(2026, 2, 10)


def _form(file, **rows: dict[str, str]) -> dict[str, str]:
    data = {"file": file.number, "invoice_date": D.isoformat(), "description": "Fees and costs"}
    for n, row in rows.items():
        for key, value in row.items():
            data[f"{key}_{n[-1]}"] = value
    return data


def test_a_draft_invoice_with_a_fee_and_a_cost(admin_client, firm, attorney, funded_file):
    code = ActivityCode.objects.get(firm=firm, code="E101")
    response = admin_client.post(
        reverse("books:invoice_new"),
        _form(
            funded_file,
            row1={
                "kind": "fee",
                "description": "Contingency fee",
                "amount": "333.33",
                "timekeeper": str(attorney.pk),
                "hours": "1.5",
            },
            row2={
                "kind": "cost",
                "description": "Copies",
                "amount": "12.50",
                "activity_code": str(code.pk),
            },
        ),
        **HX,
    )
    invoice = Invoice.objects.get(firm=firm)
    assert response["HX-Redirect"] == reverse("books:invoice_detail", args=[invoice.pk])
    assert (invoice.stage, invoice.total_cents, invoice.invoice_date, invoice.file_id) == (
        InvoiceStage.DRAFT,
        34_583,
        D,
        funded_file.pk,
    )
    assert sorted(
        InvoiceLine.objects.filter(invoice=invoice).values_list(
            "kind", "amount_cents", "timekeeper_id", "activity_code_id"
        )
    ) == [("cost", 1_250, None, code.pk), ("fee", 33_333, attorney.pk, None)]
    page = text(admin_client.get(reverse("books:invoice_detail", args=[invoice.pk])))
    assert f"Invoice {invoice.number} created in Draft for $345.83." in page
    assert AuditEvent.objects.filter(entity_type="invoice", action="create").count() == 1


def test_a_fee_without_a_timekeeper_is_refused_and_nothing_written(admin_client, funded_file):
    response = admin_client.post(
        reverse("books:invoice_new"),
        _form(funded_file, row1={"kind": "fee", "description": "Fee", "amount": "100.00"}),
        **HX,
    )
    assert response.status_code == 422
    assert "Line 1: a fee line needs a timekeeper in this firm" in text(response)
    assert Invoice.objects.count() == 0
    assert InvoiceLine.objects.count() == 0


def test_an_unknown_file_and_an_empty_invoice_are_refused(admin_client, funded_file):
    unknown = admin_client.post(
        reverse("books:invoice_new"),
        {**_form(funded_file, row1={"kind": "cost", "amount": "1.00"}), "file": "NOPE"},
        **HX,
    )
    assert unknown.status_code == 422
    assert "No file numbered NOPE" in field_error(text(unknown), "file")
    empty = admin_client.post(reverse("books:invoice_new"), _form(funded_file), **HX)
    assert empty.status_code == 422
    assert "An invoice needs at least one line" in text(empty)
    assert Invoice.objects.count() == 0


def test_the_invoices_page_offers_new_invoice(admin_client, funded_file):
    html = text(admin_client.get(reverse("books:invoices")))
    assert reverse("books:invoice_new") in html
    form = text(admin_client.get(reverse("books:invoice_new"), **HX))
    assert f'<option value="{funded_file.number}">' in form
    assert 'for="id_timekeeper_1"' in form


def test_a_refused_line_is_named_by_the_row_it_was_typed_in(admin_client, firm, funded_file):
    code = ActivityCode.objects.get(firm=firm, code="E101")
    response = admin_client.post(
        reverse("books:invoice_new"),
        _form(
            funded_file,
            row1={
                "kind": "cost",
                "description": "Copies",
                "amount": "1.00",
                "activity_code": str(code.pk),
            },
            row3={"kind": "fee", "description": "Fee", "amount": "100.00"},
        ),
        **HX,
    )
    assert response.status_code == 422
    assert "Line 3: a fee line needs a timekeeper in this firm" in field_error(
        text(response), "kind_3"
    )
    assert Invoice.objects.count() == 0
