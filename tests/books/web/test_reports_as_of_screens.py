"""The screens, as of a date: a report of March shows March's figures, and a balance shown
as today's leaves out an entry dated later (a manual entry booked a month ahead)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from casebridge.books.models import AccountRole
from casebridge.books.services import checks
from casebridge.books.services.journal import Line, journal_entry_post
from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.conftest import account

from .conftest import text

MAR2, MAR10, MAR31, APR3 = (
    dt.date(2026, 3, 2),
    dt.date(2026, 3, 10),
    dt.date(2026, 3, 31),
    dt.date(2026, 4, 3),
)


def squeeze(html: str) -> str:
    """The page's text without tags, white space run together."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def march_then_april(firm, admin, trust, client_file):
    """1,000.00 in and a 300.00 check in March; 500.00 more in April."""
    deposit(firm, admin, trust, client_file, 100_000, on=MAR2)
    check = trust_check(firm, admin, trust, client_file, 30_000, on=MAR10, payee="Valley Med")
    checks.check_print(firm=firm, actor=admin, check_id=check.pk, printed_on=MAR10)
    deposit(firm, admin, trust, client_file, 50_000, on=APR3, payer="Second payment")


@pytest.fixture
def in_a_month(today) -> dt.date:
    return today + dt.timedelta(days=30)


@pytest.fixture
def booked_ahead(firm, admin, client_file, in_a_month):
    """Manual entries dated a month ahead: 250.00 into the client's trust, 50.00 of fees."""
    books_open(firm, admin)  # opened on Jan 1: an entry ahead is not the first record
    journal_entry_post(
        firm=firm,
        date=in_a_month,
        memo="Settlement expected next month",
        actor=admin,
        lines=[
            Line(account=account(firm, AccountRole.TRUST_BANK), debit_cents=25_000),
            Line(
                account=account(firm, AccountRole.CLIENT_TRUST_LIABILITY),
                credit_cents=25_000,
                file=client_file,
            ),
        ],
    )
    journal_entry_post(
        firm=firm,
        date=in_a_month,
        memo="Fee expected next month",
        actor=admin,
        lines=[
            Line(account=account(firm, AccountRole.OPERATING_BANK), debit_cents=5_000),
            Line(account=account(firm, AccountRole.FEE_INCOME), credit_cents=5_000),
        ],
    )


def test_marchs_reconciliation_screen_shows_marchs_figures(admin_client, trust, march_then_april):
    html = squeeze(
        text(
            admin_client.get(
                reverse("books:reconciliation"),
                {"bank_account": trust.pk, "statement_balance": "1,000.00", "as_of": "2026-03-31"},
            )
        )
    )
    assert "Client Trust (IOLTA) · as of 2026-03-31" in html
    assert " Reconciled " in html
    assert "Not reconciled" not in html
    assert "Client ledgers total $700.00" in html
    assert "client trust liability account: $700.00" in html
    assert "$1,200.00" not in html  # today's figure


def test_todays_screens_leave_out_entries_dated_next_month(
    admin_client, firm, admin, trust, client_file, booked_ahead, today, in_a_month
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR2)
    ahead = in_a_month.isoformat()

    dashboard = squeeze(text(admin_client.get(reverse("books:dashboard"))))
    assert "Client money held in trust $1,000.00" in dashboard
    assert "Client Trust (IOLTA) Statements · Reconcile Client trust $1,000.00" in dashboard
    assert "Operating Statements · Reconcile Operating $0.00" in dashboard

    file_page = squeeze(text(admin_client.get(reverse("books:file_detail", args=[client_file.pk]))))
    assert "Held in trust for this file $1,000.00" in file_page
    assert f"Balance $1,000.00 as of {today.isoformat()}" in file_page
    assert f"1 entry dated after {today.isoformat()} not shown." in file_page
    assert "Settlement expected next month" not in file_page

    ledger = squeeze(
        text(admin_client.get(reverse("books:client_ledger"), {"file": client_file.number}))
    )
    assert f"Balance $1,000.00 as of {today.isoformat()}" in ledger
    later = squeeze(
        text(
            admin_client.get(
                reverse("books:client_ledger"), {"file": client_file.number, "as_of": ahead}
            )
        )
    )
    assert f"Balance $1,250.00 as of {ahead}" in later
    assert "Settlement expected next month" in later
    before = squeeze(
        text(
            admin_client.get(
                reverse("books:client_ledger"), {"file": client_file.number, "as_of": "2026-03-01"}
            )
        )
    )
    assert "No trust money has moved for this file by 2026-03-01." in before

    journal = squeeze(
        text(admin_client.get(reverse("books:trust_journal"), {"bank_account": trust.pk}))
    )
    assert f"Client Trust (IOLTA) · to {today.isoformat()}" in journal
    assert "Closing balance $1,000.00" in journal
    assert "Settlement expected next month" not in journal

    tb = squeeze(text(admin_client.get(reverse("books:trial_balance"))))
    assert f"As of {today.isoformat()} (today)" in tb
    assert "Operating Bank" not in tb
    assert "Attorney Fee Income" not in tb
    assert "Totals $1,000.00 $1,000.00" in tb

    rec = squeeze(
        text(
            admin_client.get(
                reverse("books:reconciliation"),
                {"bank_account": trust.pk, "statement_balance": "1,000.00"},
            )
        )
    )
    assert "All three figures agree." in rec

    accounts = squeeze(text(admin_client.get(reverse("books:accounts"))))
    assert "1000 Operating Bank Asset Operating bank $0.00" in accounts
    liability = "2100 Client Trust Liability Client trust Liability Client trust liability"
    assert f"{liability} $1,000.00" in accounts
    banks = squeeze(text(admin_client.get(reverse("books:bank_accounts"))))
    assert (
        "Operating Statements · Reconcile · Monthly reconciliation Operating — 1000 Operating "
        "Bank — 1001 $0.00"
    ) in banks
