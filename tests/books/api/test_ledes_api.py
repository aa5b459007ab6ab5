"""GET /invoices/{id}/ledes and GET /invoices/ledes?id=: the twins of the invoice screens'
LEDES exports (ADR 0044): a text file, the refusals as JSON naming the field, nothing
written on a refusal, one audit event per export."""

from __future__ import annotations

import pytest

from casebridge.books.exports import ledes
from casebridge.books.models import ActivityCode, InvoiceLine
from casebridge.books.services import invoices
from casebridge.books.services import ledes as ledes_service
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import writes_nothing
from tests.books.test_ledes import worked_invoice

from .conftest import BASE, ApiClient, issue_token, row_counts


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


# --- the identifiers ----------------------------------------------------------------------


def test_the_firms_ledes_settings(api, firm, attorney):
    assert api.get("/ledes/settings").body == {
        "saved": False,
        "law_firm_id": "",
        "fee_task_code": "",
        "fee_activity_code": "",
    }
    with writes_nothing():
        bad = api.put(
            "/ledes/settings",
            {"law_firm_id": "12-3456789", "fee_task_code": "L120", "fee_activity_code": "E101"},
        )
    assert (bad.status, bad.error["field"], bad.error["message"]) == (
        422,
        "fee_activity_code",
        "The fee activity code must be a UTBMS code such as A101",
    )
    good = api.put(
        "/ledes/settings",
        {"law_firm_id": "12-3456789", "fee_task_code": "l120", "fee_activity_code": "A103"},
    )
    assert good.body == {
        "saved": True,
        "law_firm_id": "12-3456789",
        "fee_task_code": "L120",
        "fee_activity_code": "A103",
    }


def test_only_an_administrator_sets_the_firms_ledes_settings(client, firm, attorney):
    theirs = ApiClient(client, issue_token("smith-pi", attorney.email))
    with writes_nothing():
        reply = theirs.put(
            "/ledes/settings",
            {"law_firm_id": "12-3456789", "fee_task_code": "L120", "fee_activity_code": "A103"},
        )
    assert (reply.status, reply.error["code"]) == (403, "admin_required")


def test_a_files_ledes_ids(api, client_file, other_file):
    assert api.get(f"/files/{client_file.pk}/ledes").body == {
        "file_id": client_file.pk,
        "client_id": "",
        "client_matter_id": "",
        "sent_client_id": str(client_file.client_id),
    }
    with writes_nothing():
        bad = api.put(f"/files/{client_file.pk}/ledes", {"client_matter_id": "CLM[]7788"})
    assert (bad.status, bad.error["field"]) == (422, "client_matter_id")
    reply = api.put(
        f"/files/{client_file.pk}/ledes", {"client_id": "ACME-INS", "client_matter_id": "CLM-7788"}
    )
    assert reply.body == {
        "file_id": client_file.pk,
        "client_id": "ACME-INS",
        "client_matter_id": "CLM-7788",
        "sent_client_id": "ACME-INS",
    }
    with writes_nothing():
        theirs = api.put(f"/files/{other_file.pk}/ledes", {"client_id": "X"})
    assert (theirs.status, theirs.error["code"]) == (404, "not_found")


def test_a_timekeepers_ledes_identity(api, attorney):
    assert api.get(f"/users/{attorney.pk}/ledes").body == {
        "user_id": attorney.pk,
        "saved": False,
        "timekeeper_id": "",
        "classification": None,
        "sent_timekeeper_id": str(attorney.pk),
    }
    with writes_nothing():
        bad = api.put(f"/users/{attorney.pk}/ledes", {"classification": "XX"})
    assert (bad.status, bad.error["code"]) == (422, "validation_error")
    reply = api.put(f"/users/{attorney.pk}/ledes", {"classification": "AS", "timekeeper_id": "SS"})
    assert reply.body == {
        "user_id": attorney.pk,
        "saved": True,
        "timekeeper_id": "SS",
        "classification": "AS",
        "sent_timekeeper_id": "SS",
    }


# --- a line's own UTBMS codes (ADR 0054) ---------------------------------------------------


def coded_body(client_file, attorney, e101) -> dict[str, object]:
    return {
        "file_id": client_file.pk,
        "invoice_date": "2026-03-02",
        "lines": [
            {
                "kind": "fee",
                "description": "Deposition of the truck driver",
                "amount": "1200.00",
                "hours": "3.00",
                "timekeeper_id": attorney.pk,
                "line_date": "2026-02-10",
                "utbms_task_code": "L330",
                "utbms_activity_code": "a109",
            },
            {
                "kind": "fee",
                "description": "Client update call",
                "amount": "80.00",
                "hours": "0.20",
                "timekeeper_id": attorney.pk,
                "line_date": "2026-02-25",
            },
            {
                "kind": "cost",
                "description": "Deposition transcript",
                "amount": "612.40",
                "activity_code_id": e101.pk,
                "line_date": "2026-02-11",
                "utbms_expense_code": "E115",
            },
        ],
    }


def codes_of(rows):
    return [
        (
            r["LINE_ITEM_NUMBER"],
            r["LINE_ITEM_TASK_CODE"],
            r["LINE_ITEM_ACTIVITY_CODE"],
            r["LINE_ITEM_EXPENSE_CODE"],
        )
        for r in rows
    ]


def test_an_invoices_line_codes_through_the_api_and_into_its_ledes_file(
    api, client, token, ledes_ready, firm, attorney, client_file
):
    e101 = ActivityCode.objects.get(firm=firm, code="E101")
    reply = api.post("/invoices", coded_body(client_file, attorney, e101))
    assert reply.status == 201
    assert [
        (ln["utbms_task_code"], ln["utbms_activity_code"], ln["utbms_expense_code"])
        for ln in reply.body["lines"]
    ] == [("L330", "A109", ""), ("", "", ""), ("", "", "E115")]
    file = get(client, token, f"/invoices/{reply.body['id']}/ledes").content.decode("ascii")
    assert codes_of(ledes.parse(file)) == [
        ("1", "L330", "A109", ""),
        ("2", "", "", "E115"),
        ("3", "L120", "A103", ""),
    ]


def test_an_unknown_line_code_is_422_naming_the_line_and_field_and_writes_nothing(
    api, firm, attorney, client_file
):
    e101 = ActivityCode.objects.get(firm=firm, code="E101")
    body = coded_body(client_file, attorney, e101)
    lines = body["lines"]
    assert isinstance(lines, list)
    before = row_counts()
    reply = api.post(
        "/invoices", {**body, "lines": [lines[0], {**lines[1], "utbms_task_code": "L999"}]}
    )
    assert (reply.status, reply.error) == (
        422,
        {
            "code": "validation_error",
            "message": "line 2: task code 'L999' is not in the UTBMS litigation code set "
            "(L110 to L530)",
            "field": "lines[1].utbms_task_code",
        },
    )
    batch = api.post(
        "/invoices/batch",
        {"items": [body, {**body, "lines": [{**lines[2], "utbms_activity_code": "A103"}]}]},
    )
    assert (batch.status, batch.error["field"], batch.error["message"]) == (
        422,
        "items[1].lines[0].utbms_activity_code",
        "items[1]: line 1: a cost line takes a UTBMS expense code, not a task or activity code",
    )
    too_long = api.post(
        "/invoices", {**body, "lines": [{**lines[2], "utbms_expense_code": "E1150"}]}
    )
    assert (too_long.status, too_long.error["field"]) == (422, "lines[0].utbms_expense_code")
    assert row_counts() == before


def test_put_a_lines_codes(api, client, token, ledes_ready, firm, admin, attorney, client_file):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    fee = invoice.lines.get(kind="fee")
    path = f"/invoices/{invoice.pk}/lines/{fee.pk}/utbms"
    reply = api.put(path, {"utbms_task_code": "L160", "utbms_activity_code": "A106"})
    assert reply.status == 200
    assert {k: v for k, v in reply.body.items() if k.startswith("utbms_")} == {
        "utbms_task_code": "L160",
        "utbms_activity_code": "A106",
        "utbms_expense_code": "",
    }
    file = get(client, token, f"/invoices/{invoice.pk}/ledes").content.decode("ascii")
    assert codes_of(ledes.parse(file))[1] == (
        "2",
        "L160",
        "A106",
        "",
    )
    # a whole replacement: what is left out is the default again
    assert api.put(path, {"utbms_activity_code": "A104"}).body["utbms_task_code"] == ""


def test_a_refused_put_of_a_lines_codes_names_the_field_and_writes_nothing(
    api, ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    other = worked_invoice(firm, admin, attorney, client_file)
    copies = invoice.lines.get(description="Medical records copies")
    path = f"/invoices/{invoice.pk}/lines/{copies.pk}/utbms"

    def kept():
        return list(
            InvoiceLine.objects.order_by("pk").values_list(
                "utbms_task_code", "utbms_activity_code", "utbms_expense_code"
            )
        )

    before, counts = kept(), row_counts()
    wrong_kind = api.put(path, {"utbms_task_code": "L110"})
    assert (wrong_kind.status, wrong_kind.error) == (
        422,
        {
            "code": "validation_error",
            "message": "Invoice 1001, line 1 (Medical records copies): a cost line takes a "
            "UTBMS expense code, not a task or activity code",
            "field": "utbms_task_code",
        },
    )
    unknown = api.put(path, {"utbms_expense_code": "E200"})
    assert (unknown.status, unknown.error["field"]) == (422, "utbms_expense_code")
    elsewhere = api.put(f"/invoices/{other.pk}/lines/{copies.pk}/utbms", {})
    assert (elsewhere.status, elsewhere.error["code"]) == (404, "not_found")
    assert (kept(), row_counts()) == (before, counts)
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk, reason="Wrong file")
    counts = row_counts()
    void = api.put(path, {"utbms_expense_code": "E102"})
    assert (void.status, void.error["code"]) == (409, "conflict")
    assert (kept(), row_counts()) == (before, counts)
