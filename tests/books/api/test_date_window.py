"""Dates have a window through the API too (ADR 0007): a receipt dated 2028 or 1900, a
check requested for tomorrow, a journal entry before the opening date or more than 366 days
ahead are refused 422, the error naming the field and the range; nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import ActivityCode, GLAccount, JournalEntry, TrustReceipt
from casebridge.books.services import setup
from casebridge.core import clock
from tests.books.api.conftest import row_counts

TODAY = dt.date(2026, 12, 6)
RANGE = "dates from 2025-01-01 to 2026-12-06 are accepted"


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def opened(firm, admin):
    return setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=dt.date(2025, 1, 1))


@pytest.fixture
def receipt(trust, client_file) -> dict[str, object]:
    return {
        "bank_account_id": trust.pk,
        "file_id": client_file.pk,
        "payer": "Acme Insurance",
        "amount": "1000.00",
        "reference": "88123",
    }


@pytest.fixture
def accts(firm) -> dict[str, int]:
    return {a.number: a.pk for a in GLAccount.objects.filter(firm=firm)}


def entry(accts, on: dt.date) -> dict[str, object]:
    return {
        "date": on.isoformat(),
        "memo": "Accrued rent",
        "lines": [
            {"account_id": accts["5200"], "debit": "1250.00"},
            {"account_id": accts["2000"], "credit": "1250.00"},
        ],
    }


def refused_422(api, path: str, body: dict[str, object]) -> dict[str, object]:
    before = row_counts()
    reply = api.post(path, body)
    assert reply.status == 422, reply.body
    assert row_counts() == before
    return reply.error


def test_a_receipt_dated_2028_is_refused_naming_the_field(api, receipt, opened):
    error = refused_422(api, "/trust-receipts", {**receipt, "received_on": "2028-01-05"})
    assert error == {
        "code": "validation_error",
        "message": f"received_on 2028-01-05 is after today (2026-12-06); {RANGE}",
        "field": "received_on",
        "details": {"earliest": "2025-01-01", "latest": "2026-12-06"},
    }


def test_a_receipt_dated_1900_is_refused(api, receipt, opened):
    error = refused_422(api, "/trust-receipts", {**receipt, "received_on": "1900-01-01"})
    assert error["field"] == "received_on"
    assert error["message"] == (
        "received_on 1900-01-01 is before the firm's opening date 2025-01-01 "
        f"(Settings > Opening date); {RANGE}"
    )


def test_a_receipt_dated_1900_is_refused_by_a_firm_with_no_opening_date(api, receipt):
    error = refused_422(api, "/trust-receipts", {**receipt, "received_on": "1900-01-01"})
    assert error["field"] == "received_on"
    assert "is more than 10 years ago" in str(error["message"])


def test_a_receipt_dated_today_is_accepted(api, receipt, opened):
    reply = api.post("/trust-receipts", {**receipt, "received_on": "2026-12-06"})
    assert reply.status == 201
    assert reply.body["received_on"] == "2026-12-06"
    assert TrustReceipt.objects.get().received_on == TODAY


def test_a_check_requested_for_tomorrow_is_refused(api, firm, operating, client_file, opened):
    body = {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "125.00",
        "file_id": client_file.pk,
        "activity_code_id": ActivityCode.objects.get(firm=firm, code="E101").pk,
        "request_date": "2026-12-07",
    }
    error = refused_422(api, "/checks", body)
    assert error["field"] == "request_date"
    assert error["message"] == f"request_date 2026-12-07 is after today (2026-12-06); {RANGE}"
    batch = refused_422(
        api,
        "/checks/batch",
        {"items": [{**body, "request_date": "2026-12-06"}, body]},
    )
    assert (batch["field"], batch["details"]["index"]) == ("items[1].request_date", 1)
    assert batch["message"] == f"items[1]: {error['message']}"


def test_a_journal_entry_before_the_opening_date_is_refused(api, accts, opened):
    error = refused_422(api, "/journal-entries", entry(accts, dt.date(2024, 12, 31)))
    assert error["field"] == "date"
    assert error["message"] == (
        "date 2024-12-31 is before the firm's opening date 2025-01-01 (Settings > Opening date); "
        "dates from 2025-01-01 to 2027-12-07 are accepted"
    )


def test_an_accrual_30_days_ahead_is_accepted_and_400_days_ahead_refused(api, accts, opened):
    reply = api.post("/journal-entries", entry(accts, TODAY + dt.timedelta(days=30)))
    assert reply.status == 201
    assert reply.body["date"] == "2027-01-05"
    error = refused_422(api, "/journal-entries", entry(accts, TODAY + dt.timedelta(days=400)))
    assert error["field"] == "date"
    assert error["message"] == (
        "date 2028-01-10 is after 2027-12-07, 366 days after today (2026-12-06); "
        "dates from 2025-01-01 to 2027-12-07 are accepted"
    )
    assert JournalEntry.objects.count() == 1


def test_a_batch_names_the_entry_out_of_the_window(api, accts, opened):
    error = refused_422(
        api,
        "/journal-entries/batch",
        {"entries": [entry(accts, TODAY), entry(accts, dt.date(1900, 1, 1))]},
    )
    assert error["field"] == "date"
    assert str(error["message"]).startswith("entry 2: date 1900-01-01 is before")


def test_an_invoice_dated_tomorrow_is_refused(api, attorney, client_file, opened):
    error = refused_422(
        api,
        "/invoices",
        {
            "file_id": client_file.pk,
            "invoice_date": "2026-12-07",
            "lines": [
                {
                    "kind": "fee",
                    "description": "Fee",
                    "amount": "100.00",
                    "timekeeper_id": attorney.pk,
                }
            ],
        },
    )
    assert error["field"] == "invoice_date"
