"""Defects found in review of the financial statements (ADR 0042, 0053), each pinned by a
test that failed before its fix: a month layout ending in December 9999 and cost advances
as of 1 January of year 1 (500s), a ledger walked while an entry is posted (its closing
balance disagreed with its last running balance), and the ledger's figures summed once
per account (N+1). On the hand-checked workload of tests/books/financial_workload.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import Posting
from casebridge.books.selectors import financial
from casebridge.books.services.journal import Line, journal_entry_post
from casebridge.books.services.setup import gl_account_create
from tests.books.financial_workload import Workload, build, gl_account

D = dt.date
Q1 = (D(2026, 1, 1), D(2026, 3, 31))


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build(firm, admin, attorney, operating, trust, client_file)


# --- profit and loss and cost advances at the calendar's ends -----------------------------


def test_a_month_layout_ending_in_december_9999_has_its_three_months(firm, books):
    """It was a 500 (OverflowError): the month after December 9999 was computed as a day."""
    pl = financial.profit_and_loss(firm=firm, start=D(9999, 10, 15), end=D(9999, 12, 31),
                                   by_month=True)  # fmt: skip
    assert pl.months == [D(9999, 10, 1), D(9999, 11, 1), D(9999, 12, 1)]
    assert (pl.income.rows, pl.expenses.rows, pl.net_months_cents) == ([], [], (0, 0, 0))


def test_cost_advances_on_the_first_day_of_the_calendar_are_empty(firm, books):
    """It was a 500 (OverflowError): the aging buckets' first days are before year 1."""
    report = financial.cost_advances_by_file(firm=firm, as_of=dt.date.min)
    assert (report.rows, report.unrecovered_cents, report.buckets_cents) == ([], 0, (0, 0, 0, 0))


def test_an_advance_without_a_file_is_aged_and_the_buckets_add_up(firm, admin, books):
    """The reviewer's case (the set-based report of ADR 0053 already ages it; kept as a
    guard): a manual Dr Advanced client costs / Cr Operating bank with no file."""
    journal_entry_post(
        firm=firm,
        date=D(2026, 3, 1),
        lines=[Line(account=gl_account(firm, "1300"), debit_cents=10_000),
               Line(account=gl_account(firm, "1000"), credit_cents=10_000)],
        memo="advance without a file",
        actor=admin,
    )  # fmt: skip
    report = financial.cost_advances_by_file(firm=firm, as_of=D(2026, 3, 31))
    [no_file] = [r for r in report.rows if r.file_id is None]
    assert (no_file.unrecovered_cents, no_file.oldest_unrecovered, no_file.buckets_cents) == (
        10_000,
        D(2026, 3, 1),
        (10_000, 0, 0, 0),
    )
    for row in report.rows:
        assert sum(row.buckets_cents) == row.unrecovered_cents, row
    assert sum(report.buckets_cents) == report.unrecovered_cents


# --- general ledger detail ----------------------------------------------------------------


def test_an_entry_posted_between_pages_is_in_none_of_them(firm, admin, books):
    operating = gl_account(firm, "1000")
    first = financial.general_ledger(firm=firm, start=Q1[0], end=Q1[1],
                                     account_id=operating.pk, limit=4)  # fmt: skip
    assert first.next_cursor is not None
    late = journal_entry_post(
        firm=firm,
        date=D(2026, 3, 25),
        lines=[Line(account=gl_account(firm, "5200"), debit_cents=10_000),
               Line(account=operating, credit_cents=10_000)],
        memo="posted while paging",
        actor=admin,
    )  # fmt: skip
    second = financial.general_ledger(firm=firm, start=Q1[0], end=Q1[1], account_id=operating.pk,
                                      limit=4, cursor=first.next_cursor)  # fmt: skip
    acct = second.account(operating.pk)
    assert (acct.opening_cents, acct.debit_cents, acct.credit_cents, acct.closing_cents) == (
        4_877_500,
        3_135_000,
        165_000,
        7_847_500,
    )  # as on the first page: the late entry is not counted
    assert second.lines[-1].balance_cents == acct.closing_cents == 7_847_500
    assert second.next_cursor is None
    late_ids = set(Posting.objects.filter(entry=late).values_list("pk", flat=True))
    assert not late_ids & {line.posting_id for line in first.lines + second.lines}
    # a new walk counts it
    again = financial.general_ledger(firm=firm, start=Q1[0], end=Q1[1], account_id=operating.pk)
    assert (again.account(operating.pk).closing_cents, again.lines[-1].memo) == (
        7_837_500,
        "posted while paging",
    )


def test_an_account_reached_on_a_later_page_is_summed_as_of_the_first(firm, admin, books):
    """The mark holds for the accounts a later page reaches, not only the one it resumes:
    the walk gives the ledger as it was when its first page was read."""
    as_it_was = list(financial.general_ledger_table(firm=firm, start=Q1[0], end=Q1[1])[1])
    first = financial.general_ledger(firm=firm, start=Q1[0], end=Q1[1], limit=2)
    assert gl_account(firm, "5200").pk not in {a.account_id for a in first.accounts}
    journal_entry_post(
        firm=firm,
        date=D(2026, 3, 26),
        lines=[Line(account=gl_account(firm, "5200"), debit_cents=7_000),
               Line(account=gl_account(firm, "4000"), credit_cents=7_000)],
        memo="posted while paging",
        actor=admin,
    )  # fmt: skip
    rows = list(first.table()[1])
    page = first
    while page.next_cursor:
        page = financial.general_ledger(firm=firm, start=Q1[0], end=Q1[1], limit=2,
                                        cursor=page.next_cursor)  # fmt: skip
        rows += list(page.table()[1])
    assert rows == as_it_was
    assert [r[5:] for r in rows if r[0] == "5200"][-1] == ("Closing balance", "", 40_000, 0,
                                                           40_000)  # fmt: skip
    now = list(financial.general_ledger_table(firm=firm, start=Q1[0], end=Q1[1])[1])
    assert len(now) == len(as_it_was) + 2  # a new walk has both of its postings


def _chart_with_more_accounts(firm, admin, count: int) -> None:
    """``count`` more expense accounts, each with a balance from before the first quarter
    (so each is shown, with an opening and closing row)."""
    accounts = [
        gl_account_create(firm=firm, actor=admin, number=f"6{i:03}", name=f"Cost {i}",
                          type="expense")
        for i in range(count)
    ]  # fmt: skip
    journal_entry_post(
        firm=firm,
        date=D(2025, 6, 1),
        lines=[*(Line(account=a, debit_cents=100) for a in accounts),
               Line(account=gl_account(firm, "1000"), credit_cents=100 * count)],
        memo="costs of 2025",
        actor=admin,
    )  # fmt: skip


def _queries(firm) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        page = financial.general_ledger(firm=firm, start=Q1[0], end=Q1[1], limit=1000)
    return len(captured.captured_queries), len(page.accounts)


def test_the_ledgers_query_count_does_not_grow_with_the_chart(firm, admin, books):
    """It was two queries per account (its figures, then its postings): ~300 for a
    150-account chart. The figures are now one grouped query."""
    few, shown = _queries(firm)
    _chart_with_more_accounts(firm, admin, 60)
    many, shown_now = _queries(firm)
    assert shown_now == shown + 60
    assert many == few
