"""Reports as of a date: every figure of a report taken as of D comes from what was posted
on or before D (and the documents as they stood on D); without a date a report is as of
today, and an entry dated after today is not in it (domain.md 5: "Reports 'as of' a date use
only entries dated on or before it")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F

from casebridge.books.models import (
    AccountRole,
    File,
    GLAccount,
    JournalEntry,
    Posting,
    TrustLedger,
)
from casebridge.books.selectors import reports
from casebridge.books.services import checks, files
from casebridge.books.services.journal import Line, journal_entry_post
from casebridge.core import clock
from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.conftest import account

MAR = {day: dt.date(2026, 3, day) for day in range(1, 32)}
APR = {day: dt.date(2026, 4, day) for day in range(1, 31)}


@pytest.fixture
def second_file(firm, admin) -> File:
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Tom Baker")
    file, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Baker v. City Bus", client=client, number="2026-B"
    )
    return file


@pytest.fixture
def march_then_april(firm, admin, trust, client_file, second_file):
    """March: 1,000.00 in, a 300.00 check printed. April, after the March statement: 500.00
    in for another client, a 200.00 check, and March's check voided.

    As of March 31 the trust account holds 700.00 (the 300.00 check still outstanding);
    today it holds 1,300.00."""
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[2])
    march_check = trust_check(firm, admin, trust, client_file, 30_000, on=MAR[10], payee="Valley")
    checks.check_print(firm=firm, actor=admin, check_id=march_check.pk, printed_on=MAR[10])
    deposit(firm, admin, trust, second_file, 50_000, on=APR[3])
    trust_check(firm, admin, trust, client_file, 20_000, on=APR[6], payee="Records Inc")
    checks.check_void(firm=firm, actor=admin, check_id=march_check.pk, void_date=APR[8])
    return march_check


def figures(rec: reports.ThreeWayReconciliation) -> dict[str, object]:
    return {
        "as_of": rec.as_of,
        "outstanding": [(c.check_id, c.amount_cents) for c in rec.outstanding_checks],
        "outstanding_cents": rec.outstanding_checks_cents,
        "adjusted": rec.adjusted_bank_balance_cents,
        "bank_gl": rec.trust_journal_balance_cents,
        "client_ledgers": rec.client_ledgers_total_cents,
        "client_postings": rec.client_ledgers_recomputed_cents,
        "liability": rec.trust_liability_balance_cents,
        "differences": rec.differences,
    }


# --- the three-way reconciliation as of a past date -------------------------------------------


def test_a_reconciliation_as_of_march_31_counts_nothing_that_happened_in_april(
    firm, trust, march_then_april
):
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=100_000,
        deposits_in_transit_cents=0,
        as_of=MAR[31],
    )
    assert rec.client_ledgers_total_cents == 70_000  # not today's 1,300.00
    assert figures(rec) == {
        "as_of": MAR[31],
        "outstanding": [(march_then_april.pk, 30_000)],  # voided only in April
        "outstanding_cents": 30_000,
        "adjusted": 70_000,
        "bank_gl": 70_000,
        "client_ledgers": 70_000,
        "client_postings": 70_000,
        "liability": 70_000,
        "differences": [],
    }
    assert rec.is_reconciled


def test_the_same_books_reconciled_today_count_april(firm, trust, march_then_april, today):
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=150_000,
        deposits_in_transit_cents=0,
    )
    [april_check] = rec.outstanding_checks
    assert figures(rec) == {
        "as_of": today,
        "outstanding": [(april_check.check_id, 20_000)],
        "outstanding_cents": 20_000,
        "adjusted": 130_000,
        "bank_gl": 130_000,
        "client_ledgers": 130_000,
        "client_postings": 130_000,
        "liability": 130_000,
        "differences": [],
    }


def test_a_statement_that_matches_todays_books_does_not_reconcile_march(
    firm, trust, march_then_april
):
    """March's statement read against April's ledgers would hide a 600.00 difference."""
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=130_000,
        deposits_in_transit_cents=0,
        outstanding_checks_cents=0,
        as_of=MAR[31],
    )
    assert not rec.is_reconciled
    assert rec.differences == [
        "adjusted bank balance $1,300.00 differs from the trust journal $700.00 by $600.00"
    ]
    assert (rec.client_ledgers_total_cents, rec.trust_liability_balance_cents) == (70_000, 70_000)


# --- books out of balance on the date asked for ---------------------------------------------


def test_client_balances_that_drift_from_their_postings_show_as_of_a_past_date_too(
    firm, trust, client_file, march_then_april
):
    # a maintained balance moved without postings (which the services never do)
    TrustLedger.objects.filter(file=client_file).update(balance_cents=F("balance_cents") - 1_000)
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=100_000,
        deposits_in_transit_cents=0,
        as_of=MAR[31],
    )
    assert not rec.is_reconciled
    assert (rec.client_ledgers_total_cents, rec.client_ledgers_recomputed_cents) == (69_000, 70_000)
    assert rec.differences == [
        "client ledgers total $690.00 differs from the trust journal $700.00 by -$10.00",
        "maintained client balances $690.00 drifted from their postings $700.00",
    ]


def posted_behind_the_services_back(firm, on: dt.date, lines: list[Line]) -> None:
    """Rows as an import from an older system might have left them, unchecked by the
    posting service (which refuses a disbursement a client's trust did not cover)."""
    entry = JournalEntry.objects.create(firm=firm, date=on, memo="imported", created_at=clock.now())
    for line in lines:
        ledger = None
        if line.account.is_client_trust:
            ledger = TrustLedger.objects.get(file=line.file)
            TrustLedger.objects.filter(pk=ledger.pk).update(
                balance_cents=F("balance_cents") + line.credit_cents - line.debit_cents
            )
        Posting.objects.create(
            entry=entry,
            account=line.account,
            file=line.file,
            trust_ledger=ledger,
            debit_cents=line.debit_cents,
            credit_cents=line.credit_cents,
        )
        GLAccount.objects.filter(pk=line.account.pk).update(
            balance_cents=F("balance_cents") + line.debit_cents - line.credit_cents
        )


def test_a_client_ledger_below_zero_on_the_date_is_not_reconciled(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[10])
    posted_behind_the_services_back(  # paid out on March 5, before the money came in
        firm,
        MAR[5],
        [
            Line(
                account=account(firm, AccountRole.CLIENT_TRUST_LIABILITY),
                debit_cents=30_000,
                file=client_file,
            ),
            Line(account=account(firm, AccountRole.TRUST_BANK), credit_cents=30_000),
        ],
    )
    # the bank, the journal and the client ledgers all say -300.00 on March 7 ...
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=-30_000,
        deposits_in_transit_cents=0,
        outstanding_checks_cents=0,
        as_of=MAR[7],
    )
    assert (
        rec.adjusted_bank_balance_cents,
        rec.trust_journal_balance_cents,
        rec.client_ledgers_total_cents,
        rec.client_ledgers_recomputed_cents,
        rec.trust_liability_balance_cents,
    ) == (-30_000, -30_000, -30_000, -30_000, -30_000)
    # ... but a client's trust may never go below zero
    assert not rec.is_reconciled
    assert rec.differences == [
        f"client ledger of file {client_file.number} is -$300.00 on 2026-03-07"
    ]
    # by March 31 the deposit covers it
    later = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=70_000,
        deposits_in_transit_cents=0,
        outstanding_checks_cents=0,
        as_of=MAR[31],
    )
    assert later.differences == []


# --- without a date: as of today, nothing dated later ------------------------------------------


@pytest.fixture
def in_a_month(today) -> dt.date:
    return today + dt.timedelta(days=30)


@pytest.fixture
def fee_booked_ahead(firm, admin, in_a_month):
    """A manual entry dated a month ahead: 50.00 fee income into operating."""
    books_open(firm, admin)  # opened on Jan 1: an entry ahead is not the first record
    return journal_entry_post(
        firm=firm,
        date=in_a_month,
        memo="Fee expected next month",
        actor=admin,
        lines=[
            Line(account=account(firm, AccountRole.OPERATING_BANK), debit_cents=5_000),
            Line(account=account(firm, AccountRole.FEE_INCOME), credit_cents=5_000),
        ],
    )


@pytest.fixture
def trust_deposit_ahead(firm, admin, client_file, in_a_month):
    """A manual entry dated a month ahead: 250.00 into the client's trust."""
    books_open(firm, admin)  # opened on Jan 1: an entry ahead is not the first record
    return journal_entry_post(
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


def test_todays_trial_balance_leaves_out_an_entry_dated_next_month(
    firm, admin, trust, client_file, fee_booked_ahead, today, in_a_month
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[2])

    tb = reports.trial_balance(firm=firm)

    assert tb.as_of == today
    assert [(r.number, r.debit_cents, r.credit_cents) for r in tb.rows] == [
        ("1010", 100_000, 0),
        ("2100", 0, 100_000),
    ]
    assert (tb.total_debit_cents, tb.total_credit_cents) == (100_000, 100_000)
    ahead = reports.trial_balance(firm=firm, as_of=in_a_month)
    assert [(r.number, r.debit_cents, r.credit_cents) for r in ahead.rows] == [
        ("1000", 5_000, 0),
        ("1010", 100_000, 0),
        ("2100", 0, 100_000),
        ("4000", 0, 5_000),
    ]


def test_an_accounts_balance_today_leaves_out_an_entry_dated_next_month(
    firm, fee_booked_ahead, in_a_month
):
    operating_gl = account(firm, AccountRole.OPERATING_BANK)
    assert operating_gl.balance_cents == 5_000  # the maintained column holds every posting
    assert reports.account_balance_cents(firm=firm, account_id=operating_gl.pk) == 0
    assert (
        reports.account_balance_cents(firm=firm, account_id=operating_gl.pk, as_of=in_a_month)
        == 5_000
    )


def test_todays_reconciliation_leaves_out_a_trust_entry_dated_next_month(
    firm, admin, trust, client_file, trust_deposit_ahead, today
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[2])
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=100_000,
        deposits_in_transit_cents=0,
    )
    assert figures(rec) == {
        "as_of": today,
        "outstanding": [],
        "outstanding_cents": 0,
        "adjusted": 100_000,
        "bank_gl": 100_000,
        "client_ledgers": 100_000,
        "client_postings": 100_000,
        "liability": 100_000,
        "differences": [],
    }


# --- the client trust ledger and the trust account journal ---------------------------------


def test_a_client_ledger_as_of_a_date_stops_at_that_date(
    firm, trust, client_file, march_then_april
):
    [ledger] = reports.client_trust_ledger(firm=firm, file_id=client_file.pk, as_of=MAR[31])
    assert ledger.as_of == MAR[31]
    assert [
        (ln.date, ln.deposit_cents, ln.disbursement_cents, ln.balance_cents) for ln in ledger.lines
    ] == [
        (MAR[2], 100_000, 0, 100_000),
        (MAR[10], 0, 30_000, 70_000),
    ]
    assert (ledger.balance_cents, ledger.later_entries) == (70_000, 2)

    [today_ledger] = reports.client_trust_ledger(firm=firm, file_id=client_file.pk)
    assert (today_ledger.balance_cents, len(today_ledger.lines), today_ledger.later_entries) == (
        80_000,
        4,
        0,
    )


def test_a_file_whose_trust_money_came_later_has_no_ledger_as_of_before(
    firm, second_file, march_then_april
):
    assert reports.client_trust_ledger(firm=firm, file_id=second_file.pk, as_of=MAR[31]) == []
    [ledger] = reports.client_trust_ledger(firm=firm, file_id=second_file.pk, as_of=APR[3])
    assert ledger.balance_cents == 50_000


def test_todays_client_ledger_leaves_out_an_entry_dated_next_month(
    firm, admin, trust, client_file, trust_deposit_ahead, today, in_a_month
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[2])
    [ledger] = reports.client_trust_ledger(firm=firm, file_id=client_file.pk)
    assert ledger.as_of == today
    assert [(ln.date, ln.balance_cents) for ln in ledger.lines] == [(MAR[2], 100_000)]
    assert (ledger.balance_cents, ledger.later_entries) == (100_000, 1)
    [ahead] = reports.client_trust_ledger(firm=firm, file_id=client_file.pk, as_of=in_a_month)
    assert [(ln.date, ln.balance_cents) for ln in ahead.lines] == [
        (MAR[2], 100_000),
        (in_a_month, 125_000),
    ]
    assert (ahead.balance_cents, ahead.later_entries) == (125_000, 0)


def test_the_trust_journal_ends_today_unless_told_otherwise(
    firm, admin, trust, client_file, trust_deposit_ahead, in_a_month
):
    first = deposit(firm, admin, trust, client_file, 100_000, on=MAR[2])
    assert [
        (j.entry_id, j.debit_cents)
        for j in reports.trust_account_journal(firm=firm, bank_account_id=trust.pk).lines
    ] == [(first.entry_id, 100_000)]
    assert [
        (j.entry_id, j.debit_cents)
        for j in reports.trust_account_journal(
            firm=firm, bank_account_id=trust.pk, end=in_a_month
        ).lines
    ] == [(first.entry_id, 100_000), (trust_deposit_ahead.pk, 25_000)]


# --- the bulk trust balances and the dashboard's figures ---------------------------------------


def test_trust_balances_as_of_a_date_and_today(
    firm, trust, client_file, second_file, march_then_april
):
    assert reports.trust_balances_page(
        firm=firm, bank_account_id=trust.pk, after_file_id=0, limit=10, as_of=MAR[31]
    ) == [(client_file.pk, client_file.number, 70_000), (second_file.pk, "2026-B", 0)]
    assert reports.trust_balances_of_files(
        firm=firm,
        bank_account_id=trust.pk,
        file_ids=[second_file.pk, client_file.pk],
        as_of=MAR[31],
    ) == [(client_file.pk, client_file.number, 70_000), (second_file.pk, "2026-B", 0)]
    assert reports.trust_balances_page(
        firm=firm, bank_account_id=trust.pk, after_file_id=0, limit=10
    ) == [(client_file.pk, client_file.number, 80_000), (second_file.pk, "2026-B", 50_000)]


def test_todays_trust_balances_leave_out_an_entry_dated_next_month(
    firm, admin, trust, client_file, trust_deposit_ahead
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[2])
    assert reports.trust_balances_page(
        firm=firm, bank_account_id=trust.pk, after_file_id=0, limit=10
    ) == [(client_file.pk, client_file.number, 100_000)]
    assert reports.trust_balances_of_files(
        firm=firm, bank_account_id=trust.pk, file_ids=[client_file.pk]
    ) == [(client_file.pk, client_file.number, 100_000)]
    assert reports.client_trust_total_cents(firm=firm) == 100_000
    trust_gl = account(firm, AccountRole.TRUST_BANK)
    assert reports.gl_balances(firm=firm, accounts=[trust_gl]) == {trust_gl.pk: 100_000}
