"""Financial statements as of a date (issue 15, ADR 0042): profit and loss, balance sheet,
general ledger detail and cost advances by file, on the hand-checked workload of
tests/books/financial_workload.py (domain.md 4: advances are an asset, recovered from the
settlement; fees are income; client money is a liability)."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import GLAccount
from casebridge.books.selectors import financial, reports
from tests.books.financial_workload import Workload, build, gl_account

D = dt.date
DEC_31 = D(2025, 12, 31)
MAR_1 = D(2026, 3, 1)
MAR_31 = D(2026, 3, 31)


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build(firm, admin, attorney, operating, trust, client_file)


def sheet(bs: financial.BalanceSheet) -> dict[str, object]:
    return {
        section.title: [(r.number, r.name, r.balance_cents) for r in section.rows]
        + [("", "Total", section.total_cents)]
        for section in (bs.assets, bs.liabilities, bs.equity)
    }


# --- balance sheet ------------------------------------------------------------------------


def test_the_balance_sheet_on_march_31_leaves_april_out_and_balances(firm, books):
    bs = financial.balance_sheet(firm=firm, as_of=MAR_31)
    assert bs.fiscal_year_start == D(2026, 1, 1)
    assert sheet(bs) == {
        "Assets": [
            ("1000", "Operating Bank", 7_847_500),
            ("1010", "Client Trust Bank (IOLTA)", 880_000),
            ("1300", "Advanced Client Costs", 110_000),
            ("", "Total", 8_837_500),
        ],
        "Liabilities": [
            ("2100", "Client Trust Liability", 880_000),
            ("", "Total", 880_000),
        ],
        "Equity": [
            ("3000", "Owner's Equity", 5_000_000),
            ("", "Retained earnings", -2_500),
            ("", "Current-year earnings", 2_960_000),
            ("", "Total", 7_957_500),
        ],
    }
    assert bs.total_liabilities_and_equity_cents == 8_837_500
    assert bs.is_balanced


def test_the_balance_sheet_at_the_year_end_before(firm, books):
    bs = financial.balance_sheet(firm=firm, as_of=DEC_31)
    assert bs.fiscal_year_start == D(2025, 1, 1)
    assert sheet(bs) == {
        "Assets": [
            ("1000", "Operating Bank", 4_877_500),
            ("1300", "Advanced Client Costs", 120_000),
            ("", "Total", 4_997_500),
        ],
        "Liabilities": [("", "Total", 0)],
        "Equity": [
            ("3000", "Owner's Equity", 5_000_000),
            ("", "Retained earnings", 0),
            ("", "Current-year earnings", -2_500),
            ("", "Total", 4_997_500),
        ],
    }
    assert bs.is_balanced


def test_the_balance_sheet_of_today_counts_april_and_the_later_void(firm, books, today):
    bs = financial.balance_sheet(firm=firm)
    assert bs.as_of == today
    assert sheet(bs)["Assets"] == [
        ("1000", "Operating Bank", 7_797_500),
        ("1010", "Client Trust Bank (IOLTA)", 8_880_000),  # the 60,000.00 check voided
        ("1300", "Advanced Client Costs", 160_000),
        ("", "Total", 16_837_500),
    ]
    assert bs.total_liabilities_and_equity_cents == 16_837_500
    assert bs.retained_earnings_cents + bs.current_year_earnings_cents == 2_957_500


@pytest.mark.parametrize(
    "day",
    [D(2025, 11, 2), D(2025, 11, 3), DEC_31, D(2026, 1, 1), D(2026, 2, 20), MAR_1, D(2026, 3, 5),
     D(2026, 3, 10), MAR_31, D(2026, 4, 2), D(2026, 4, 15)],
)  # fmt: skip
def test_the_balance_sheet_balances_on_every_day_and_agrees_with_the_trial_balance(
    firm, books, day
):
    bs = financial.balance_sheet(firm=firm, as_of=day)
    assert bs.assets.total_cents == bs.total_liabilities_and_equity_cents
    tb = reports.trial_balance(firm=firm, as_of=day)
    by_number = {r.number: r.debit_cents - r.credit_cents for r in tb.rows}
    for row in bs.assets.rows:
        assert row.balance_cents == by_number[row.number]
    for row in bs.liabilities.rows:
        assert row.balance_cents == -by_number[row.number]


# --- profit and loss ----------------------------------------------------------------------


def pl_rows(pl: financial.ProfitLoss) -> list[tuple[object, ...]]:
    return list(pl.table()[1])


def test_the_first_quarter_with_the_same_quarter_a_year_earlier(firm, books):
    pl = financial.profit_and_loss(
        firm=firm, start=D(2026, 1, 1), end=MAR_31, comparison="previous_year"
    )
    assert (pl.comparison_start, pl.comparison_end) == (D(2025, 1, 1), D(2025, 3, 31))
    assert pl.table()[0] == [
        "Section",
        "Account",
        "Name",
        "2026-01-01 to 2026-03-31",
        "2025-01-01 to 2025-03-31",
        "Difference",
    ]
    assert pl_rows(pl) == [
        ("Income", "4000", "Attorney Fee Income", 3_000_000, 0, 3_000_000),
        ("Income", "", "Total income", 3_000_000, 0, 3_000_000),
        ("Expenses", "5200", "Office Expenses", 40_000, 0, 40_000),
        ("Expenses", "", "Total expenses", 40_000, 0, 40_000),
        ("Net income", "", "Net income", 2_960_000, 0, 2_960_000),
    ]


def test_the_first_quarter_against_the_quarter_before(firm, books):
    pl = financial.profit_and_loss(
        firm=firm, start=D(2026, 1, 1), end=MAR_31, comparison="previous_period"
    )
    # 90 days back to back: 2025-10-03 to 2025-12-31, with December's bank charges
    assert (pl.comparison_start, pl.comparison_end) == (D(2025, 10, 3), DEC_31)
    assert pl_rows(pl) == [
        ("Income", "4000", "Attorney Fee Income", 3_000_000, 0, 3_000_000),
        ("Income", "", "Total income", 3_000_000, 0, 3_000_000),
        ("Expenses", "5000", "Bank Charges", 0, 2_500, -2_500),
        ("Expenses", "5200", "Office Expenses", 40_000, 0, 40_000),
        ("Expenses", "", "Total expenses", 40_000, 2_500, 37_500),
        ("Net income", "", "Net income", 2_960_000, -2_500, 2_962_500),
    ]


def test_by_month_from_december_to_march(firm, books):
    pl = financial.profit_and_loss(firm=firm, start=D(2025, 12, 1), end=MAR_31, by_month=True)
    assert pl.table()[0] == [
        "Section", "Account", "Name", "2025-12", "2026-01", "2026-02", "2026-03",
        "2025-12-01 to 2026-03-31",
    ]  # fmt: skip
    assert pl_rows(pl) == [
        ("Income", "4000", "Attorney Fee Income", 0, 0, 0, 3_000_000, 3_000_000),
        ("Income", "", "Total income", 0, 0, 0, 3_000_000, 3_000_000),
        ("Expenses", "5000", "Bank Charges", 2_500, 0, 0, 0, 2_500),
        ("Expenses", "5200", "Office Expenses", 0, 0, 0, 40_000, 40_000),
        ("Expenses", "", "Total expenses", 2_500, 0, 0, 40_000, 42_500),
        ("Net income", "", "Net income", -2_500, 0, 0, 2_960_000, 2_957_500),
    ]


def test_a_cost_advance_and_its_recovery_are_not_income_or_expense(firm, books):
    """domain.md 4: advances are loans to the case (an asset), so neither the advances
    nor their recovery from the settlement are in the profit and loss."""
    pl = financial.profit_and_loss(firm=firm, start=D(2025, 1, 1), end=D(2026, 4, 30))
    assert [r.number for r in pl.income.rows + pl.expenses.rows] == ["4000", "5000", "5200"]


@pytest.mark.parametrize(
    ("start", "end"),
    [(D(2026, 1, 1), MAR_31), (D(2025, 11, 1), D(2026, 4, 30)), (MAR_1, D(2026, 3, 15)),
     (D(2025, 12, 21), D(2026, 3, 9))],
)  # fmt: skip
def test_net_income_is_the_change_in_retained_and_current_earnings(firm, books, start, end):
    pl = financial.profit_and_loss(firm=firm, start=start, end=end)
    before = financial.balance_sheet(firm=firm, as_of=start - dt.timedelta(days=1))
    after = financial.balance_sheet(firm=firm, as_of=end)

    def earnings(bs: financial.BalanceSheet) -> int:
        return bs.retained_earnings_cents + bs.current_year_earnings_cents

    assert pl.net_income_cents == earnings(after) - earnings(before)


def test_bad_periods_are_refused_naming_the_field(firm):
    with pytest.raises(ValidationFailed) as info:
        financial.profit_and_loss(firm=firm, start=MAR_31, end=MAR_1)
    assert (info.value.field, info.value.message) == (
        "end",
        "end 2026-03-01 is before start 2026-03-31",
    )
    with pytest.raises(ValidationFailed) as info:
        financial.profit_and_loss(
            firm=firm, start=D(2020, 1, 1), end=D(2023, 12, 31), by_month=True
        )
    assert info.value.field == "by_month"
    with pytest.raises(ValidationFailed) as info:
        financial.profit_and_loss(firm=firm, start=D(2000, 1, 1), end=D(2026, 1, 1))
    assert info.value.field == "start"


# --- general ledger detail ----------------------------------------------------------------


def test_the_operating_accounts_ledger_for_the_first_quarter(firm, books):
    operating = gl_account(firm, "1000")
    page = financial.general_ledger(
        firm=firm, start=D(2026, 1, 1), end=MAR_31, account_id=operating.pk
    )
    [acct] = page.accounts
    assert (acct.opening_cents, acct.debit_cents, acct.credit_cents, acct.closing_cents) == (
        4_877_500,
        3_135_000,
        165_000,
        7_847_500,
    )
    headers, rows = page.table()
    a = books.file_a.number
    invoice_memo = f"Invoice 1001 for file {a} paid from trust"
    assert headers[2:] == ["Date", "Entry", "Reference", "Memo", "File", "Debit", "Credit",
                           "Balance"]  # fmt: skip
    assert [(r[2], r[5], r[6], r[7], r[8], r[9]) for r in rows] == [
        (D(2026, 1, 1), "Opening balance", "", None, None, 4_877_500),
        (D(2026, 1, 10), "Records Inc", "2026-B", None, 80_000, 4_797_500),
        (D(2026, 2, 5), "Records Inc", a, None, 30_000, 4_767_500),
        (D(2026, 2, 20), "Records Inc", "2026-B", None, 15_000, 4_752_500),
        (D(2026, 3, 5), "Records Inc", "2026-B", 15_000, None, 4_767_500),  # the void
        (D(2026, 3, 10), invoice_memo, a, 3_120_000, None, 7_887_500),
        (D(2026, 3, 20), "Office supplies", "", None, 40_000, 7_847_500),
        (MAR_31, "Closing balance", "", 3_135_000, 165_000, 7_847_500),
    ]
    assert page.next_cursor is None


def test_paging_the_whole_ledger_gives_the_same_rows_as_one_page(firm, books):
    whole = financial.general_ledger(firm=firm, start=D(2025, 12, 1), end=MAR_31, limit=1000)
    assert whole.next_cursor is None
    one_go = list(whole.table()[1])
    paged: list[tuple[object, ...]] = []
    page = financial.general_ledger(firm=firm, start=D(2025, 12, 1), end=MAR_31, limit=2)
    pages = 1
    while True:
        assert len(page.lines) <= 2
        paged += list(page.table()[1])
        if page.next_cursor is None:
            break
        page = financial.general_ledger(
            firm=firm, start=D(2025, 12, 1), end=MAR_31, limit=2, cursor=page.next_cursor
        )
        pages += 1
    assert paged == one_go
    assert pages == 12  # 23 postings, two a page
    assert list(financial.general_ledger_table(firm=firm, start=D(2025, 12, 1), end=MAR_31,
                                               page_size=3)[1]) == one_go  # fmt: skip
    # every account's opening and closing rows; the closings add up to zero
    closings = [r for r in one_go if r[5] == "Closing balance"]
    assert [r[0] for r in closings] == ["1000", "1010", "1300", "2100", "3000", "4000",
                                        "5000", "5200"]  # fmt: skip
    by_type = {a.number: a.type for a in GLAccount.objects.filter(firm=firm)}
    assert (
        sum(
            r[9] if by_type[r[0]] in ("asset", "expense") else -r[9]  # type: ignore[operator]
            for r in closings
        )
        == 0
    )


def test_a_tampered_or_foreign_cursor_is_refused_on_cursor(firm, books):
    page = financial.general_ledger(firm=firm, start=D(2025, 12, 1), end=MAR_31, limit=2)
    assert page.next_cursor
    for cursor, start in [
        (page.next_cursor[:-2] + "xx", D(2025, 12, 1)),
        (page.next_cursor, D(2025, 12, 2)),  # another period
        ("nonsense", D(2025, 12, 1)),
    ]:
        with pytest.raises(ValidationFailed) as info:
            financial.general_ledger(firm=firm, start=start, end=MAR_31, cursor=cursor)
        assert info.value.field == "cursor"


def test_an_account_of_another_firm_is_not_found(firm, other_firm):
    theirs = GLAccount.objects.filter(firm=other_firm).first()
    assert theirs is not None
    with pytest.raises(ValidationFailed) as info:
        financial.general_ledger(firm=firm, account_id=theirs.pk)
    assert info.value.field == "account"


# --- cost advances by file ----------------------------------------------------------------


def advances(report: financial.CostAdvances) -> list[tuple[object, ...]]:
    return [
        (r.file_number, r.advanced_cents, r.recovered_cents, r.unrecovered_cents,
         r.oldest_unrecovered, r.age_days, r.buckets_cents)
        for r in report.rows
    ]  # fmt: skip


def test_cost_advances_on_march_31(firm, books):
    report = financial.cost_advances_by_file(firm=firm, as_of=MAR_31)
    a = books.file_a.number
    # A: 1,200.00 recovered by the invoice pays the oldest advance; 300.00 of 02-05 is left.
    # B: the 150.00 advance voided on 03-05 is in neither column.
    assert a < "2026-B"  # by file number
    assert advances(report) == [
        (a, 150_000, 120_000, 30_000, D(2026, 2, 5), 54, (0, 30_000, 0, 0)),
        ("2026-B", 80_000, 0, 80_000, D(2026, 1, 10), 80, (0, 0, 80_000, 0)),
    ]
    assert report.unrecovered_cents == 110_000
    assert report.buckets_cents == (0, 30_000, 80_000, 0)
    assert report.unrecovered_cents == reports.account_balance_cents(
        firm=firm, account_id=gl_account(firm, "1300").pk, as_of=MAR_31
    )


def test_cost_advances_on_march_1_before_the_recovery_and_the_void(firm, books):
    report = financial.cost_advances_by_file(firm=firm, as_of=MAR_1)
    by_file = {row[0]: row[1:] for row in advances(report)}
    assert by_file == {
        books.file_a.number: (150_000, 0, 150_000, D(2025, 12, 15), 76, (30_000, 0, 120_000, 0)),
        "2026-B": (95_000, 0, 95_000, D(2026, 1, 10), 50, (15_000, 80_000, 0, 0)),
    }
    assert report.buckets_cents == (45_000, 80_000, 120_000, 0)


def test_cost_advances_today_add_file_c_and_match_the_account(firm, books, today):
    report = financial.cost_advances_by_file(firm=firm)
    assert {r.file_number: r.unrecovered_cents for r in report.rows} == {
        books.file_a.number: 30_000,
        "2026-B": 80_000,
        "2026-C": 50_000,
    }
    assert report.unrecovered_cents == 160_000 == sum(report.buckets_cents)
    assert report.unrecovered_cents == reports.account_balance_cents(
        firm=firm, account_id=gl_account(firm, "1300").pk
    )


# --- the client ledger and the trust journal as of a past day -----------------------------


def test_the_client_ledger_on_march_31_keeps_the_check_voided_in_april(firm, books):
    [ledger] = reports.client_trust_ledger(firm=firm, file_id=books.file_a.pk, as_of=MAR_31)
    assert [(line.date, line.deposit_cents, line.disbursement_cents, line.balance_cents)
            for line in ledger.lines] == [
        (D(2026, 3, 2), 10_000_000, 0, 10_000_000),
        (D(2026, 3, 10), 0, 3_120_000, 6_880_000),
        (D(2026, 3, 12), 0, 6_000_000, 880_000),
    ]  # fmt: skip
    assert (ledger.balance_cents, ledger.later_entries) == (880_000, 1)
    [today_ledger] = reports.client_trust_ledger(firm=firm, file_id=books.file_a.pk)
    assert (today_ledger.balance_cents, today_ledger.later_entries) == (6_880_000, 0)
    # file B's first deposit came in April: no ledger yet on March 31
    assert reports.client_trust_ledger(firm=firm, file_id=books.file_b.pk, as_of=MAR_31) == []


def test_the_trust_journal_to_march_31(firm, books, trust):
    page = reports.trust_account_journal(firm=firm, bank_account_id=trust.pk, end=MAR_31)
    assert [
        (line.date, line.debit_cents, line.credit_cents, line.balance_cents) for line in page.lines
    ] == [
        (D(2026, 3, 2), 10_000_000, 0, 10_000_000),
        (D(2026, 3, 10), 0, 3_120_000, 6_880_000),
        (D(2026, 3, 12), 0, 6_000_000, 880_000),
    ]


# --- the tables the export writers take -----------------------------------------------------


def test_every_statement_is_a_table_of_plain_cells_with_cents_as_int(firm, books):
    tables = {
        "balance sheet": financial.balance_sheet(firm=firm, as_of=MAR_31).table(),
        "profit and loss": financial.profit_and_loss(
            firm=firm, start=D(2026, 1, 1), end=MAR_31, by_month=True, comparison="previous_year"
        ).table(),
        "ledger": financial.general_ledger_table(firm=firm, start=D(2026, 1, 1), end=MAR_31),
        "cost advances": financial.cost_advances_by_file(firm=firm, as_of=MAR_31).table(),
    }
    for name, (headers, rows) in tables.items():
        assert all(isinstance(h, str) for h in headers), name
        materialised = list(rows)
        assert materialised, name
        for row in materialised:
            assert len(row) == len(headers), (name, row)
            assert all(cell is None or type(cell) in (int, str, dt.date) for cell in row), (
                name,
                row,
            )
    headers, rows = tables["balance sheet"]
    assert headers == ["Section", "Account", "Name", "Balance 2026-03-31"]
    assert list(financial.balance_sheet(firm=firm, as_of=MAR_31).table()[1])[-1] == (
        "", "", "Total liabilities and equity", 8_837_500,
    )  # fmt: skip
    headers, rows = financial.cost_advances_by_file(firm=firm, as_of=MAR_31).table()
    assert headers[-4:] == ["0-30 days", "31-60 days", "61-90 days", "90+ days"]
    assert list(rows)[-1] == ("Total", "", "", 230_000, 120_000, 110_000, None, None, 0, 30_000,
                              80_000, 0)  # fmt: skip
