"""A token sees its own firm only: another firm's ids are 404, exactly like ids that do
not exist, and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    BankAccountKind,
    GLAccount,
    JournalEntry,
)
from casebridge.books.services import checks, invoices
from tests.books.api.conftest import row_counts


@pytest.fixture
def theirs(other_firm, other_user, other_file):
    """One of everything in the other firm (Jones Law)."""
    trust = BankAccount.objects.get(firm=other_firm, kind=BankAccountKind.TRUST)
    operating = BankAccount.objects.get(firm=other_firm, kind=BankAccountKind.OPERATING)
    receipt = checks.trust_receipt_record(
        firm=other_firm,
        actor=other_user,
        bank_account_id=trust.pk,
        file_id=other_file.pk,
        payer="Their insurer",
        amount_cents=50_000,
        received_on=dt.date(2026, 3, 1),
    )
    check = checks.check_request_create(
        firm=other_firm,
        actor=other_user,
        bank_account_id=trust.pk,
        payee="Their client",
        amount_cents=10_000,
        file_id=other_file.pk,
    )
    invoice = invoices.invoice_create(
        firm=other_firm,
        actor=other_user,
        file_id=other_file.pk,
        lines=[
            invoices.LineSpec(
                kind="fee", description="Fee", amount_cents=1_000, timekeeper_id=other_user.pk
            )
        ],
    )
    return {
        "file": other_file,
        "contact": other_file.client,
        "user": other_user,
        "trust": trust,
        "operating": operating,
        "receipt": receipt,
        "check": check,
        "invoice": invoice,
        "entry": receipt.entry,
        "account": GLAccount.objects.get(firm=other_firm, number="5000"),
    }


def test_reading_another_firms_records_is_404(api, theirs):
    paths = [
        f"/files/{theirs['file'].pk}",
        f"/files/{theirs['file'].pk}/trust-ledger",
        f"/contacts/{theirs['contact'].pk}",
        f"/users/{theirs['user'].pk}",
        f"/bank-accounts/{theirs['trust'].pk}",
        f"/gl-accounts/{theirs['account'].pk}",
        f"/gl-accounts/{theirs['account'].pk}/balance",
        f"/checks/{theirs['check'].pk}",
        f"/trust-receipts/{theirs['receipt'].pk}",
        f"/invoices/{theirs['invoice'].pk}",
        f"/invoices/{theirs['invoice'].pk}/ledes",
        f"/journal-entries/{theirs['entry'].pk}",
    ]
    for path in paths:
        reply = api.get(path)
        assert (reply.status, reply.error["code"]) == (404, "not_found"), path
        assert "Jones" not in reply.error["message"]
    # the same answer as for an id that exists nowhere
    nowhere = api.get("/files/987654321")
    assert nowhere.error == {"code": "not_found", "message": "file 987654321 not found"}
    assert api.get(f"/files/{theirs['file'].pk}").error == {
        "code": "not_found",
        "message": f"file {theirs['file'].pk} not found",
    }
    rec = api.get(
        "/reports/three-way-reconciliation",
        {"bank_account_id": theirs["trust"].pk, "statement_balance": "0"},
    )
    assert (rec.status, rec.error["field"]) == (404, "bank_account_id")
    ledger = api.get("/reports/general-ledger", {"account_id": theirs["account"].pk})
    assert (ledger.status, ledger.error["field"]) == (404, "account_id")
    journal = api.get("/reports/trust-journal", {"bank_account_id": theirs["trust"].pk})
    assert (journal.status, journal.error["field"]) == (404, "bank_account_id")
    assert "Jones" not in journal.error["message"]


def test_lists_show_only_the_callers_firm(api, theirs, client_file, admin, attorney):
    assert [f["id"] for f in api.get("/files").body["items"]] == [client_file.pk]
    assert [u["id"] for u in api.get("/users").body["items"]] == [admin.pk, attorney.pk]
    assert api.get("/users", {"email": "pat@jones.test"}).body == {
        "items": [],
        "next": None,
        "count": 0,
    }
    empty = {"items": [], "next": None}
    assert api.get("/checks").body == empty
    assert api.get("/trust-receipts").body == empty
    assert api.get("/invoices").body == empty
    assert api.get("/journal-entries").body == empty
    assert len(api.get("/contacts").body["items"]) == 1


def test_writing_with_another_firms_ids_is_404_and_writes_nothing(
    api, firm, theirs, trust, operating, client_file
):
    e101 = ActivityCode.objects.get(firm=firm, code="E101").pk
    own_check = {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "10.00",
        "file_id": client_file.pk,
        "activity_code_id": e101,
    }
    attempts = [
        ("/checks", {**own_check, "file_id": theirs["file"].pk}, "file_id"),
        ("/checks", {**own_check, "bank_account_id": theirs["operating"].pk}, "bank_account_id"),
        (
            "/trust-receipts",
            {
                "bank_account_id": trust.pk,
                "file_id": theirs["file"].pk,
                "payer": "X",
                "amount": "1.00",
            },
            "file_id",
        ),
        (
            "/invoices",
            {
                "file_id": theirs["file"].pk,
                "lines": [
                    {"kind": "cost", "description": "x", "amount": "1.00", "activity_code_id": e101}
                ],
            },
            "file_id",
        ),
        (
            "/invoices",
            {
                "file_id": client_file.pk,
                "lines": [
                    {
                        "kind": "fee",
                        "description": "x",
                        "amount": "1.00",
                        "timekeeper_id": theirs["user"].pk,
                    }
                ],
            },
            "lines[0].timekeeper_id",
        ),
        ("/files", {"name": "Mine?", "client_id": theirs["contact"].pk}, "client_id"),
        (
            "/checks/batch",
            {"items": [own_check, {**own_check, "file_id": theirs["file"].pk}]},
            "items[1].file_id",
        ),
        (f"/checks/{theirs['check'].pk}/void", {}, None),
        (f"/checks/{theirs['check'].pk}/print", {}, None),
        (f"/trust-receipts/{theirs['receipt'].pk}/void", {}, None),
        (f"/invoices/{theirs['invoice'].pk}/advance", {}, None),
        (f"/invoices/{theirs['invoice'].pk}/release", {}, None),
        (f"/invoices/{theirs['invoice'].pk}/void", {}, None),
        (f"/journal-entries/{theirs['entry'].pk}/reverse", {"date": "2026-03-09"}, None),
    ]
    before = row_counts()
    their_entries = JournalEntry.objects.filter(firm=theirs["file"].firm).count()
    for path, body, field in attempts:
        reply = api.post(path, body, key=f"scoping-{path}")
        assert (reply.status, reply.error["code"]) == (404, "not_found"), (path, reply.body)
        assert reply.error.get("field") == field, path
    assert row_counts() == before
    assert JournalEntry.objects.filter(firm=theirs["file"].firm).count() == their_entries
    assert theirs["check"].__class__.objects.get(pk=theirs["check"].pk).status == "queued"


def test_putting_codes_on_another_firms_invoice_line_is_404_and_writes_nothing(
    api, theirs, firm, admin, attorney, client_file
):
    theirs_line = theirs["invoice"].lines.get()
    mine = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        lines=[
            invoices.LineSpec(
                kind="fee", description="Fee", amount_cents=1_000, timekeeper_id=attorney.pk
            )
        ],
    )
    before = (row_counts(), theirs_line.utbms_task_code)
    for path in (
        f"/invoices/{theirs['invoice'].pk}/lines/{theirs_line.pk}/utbms",
        # their line under my invoice
        f"/invoices/{mine.pk}/lines/{theirs_line.pk}/utbms",
    ):
        reply = api.put(path, {"utbms_task_code": "L110"})
        assert (reply.status, reply.error["code"]) == (404, "not_found"), path
        assert "Jones" not in reply.error["message"]
    theirs_line.refresh_from_db()
    assert (row_counts(), theirs_line.utbms_task_code) == before
