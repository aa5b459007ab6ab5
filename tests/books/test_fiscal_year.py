"""The firm's fiscal year (issue 15, ADR 0053): the month it starts on, set by an
administrator and audited, moves where the balance sheet splits retained from
current-year earnings and where a period without a start begins; the balance sheet
compared with another day. On the workload of tests/books/financial_workload.py with the
entries around 1 July 2026 (``build_across_july``): a fiscal year from July puts 30 June
in 2025-26 and 1 July in 2026-27, and the June income reversed on 15 July counts in
2026-27."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from casebridge.books.errors import AdminRequired, ValidationFailed
from casebridge.books.models import Firm, GLAccount, Role
from casebridge.books.selectors import financial, reports
from casebridge.books.services import auth, setup
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.financial_workload import Workload, build_across_july
from tests.conftest import PASSWORD

D = dt.date
JUNE_30 = D(2026, 6, 30)
JULY_1 = D(2026, 7, 1)
JULY_15 = D(2026, 7, 15)


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build_across_july(firm, admin, attorney, operating, trust, client_file)


@pytest.fixture
def july(firm, admin) -> Firm:
    """The firm with a fiscal year from 1 July, as the settings screen saves it."""
    return setup.firm_fiscal_year_set(firm=firm, actor=admin, first_month=7)


def sheet(bs: financial.BalanceSheet) -> dict[str, list[tuple[object, ...]]]:
    return {
        s.title: [(r.number, r.name, r.balance_cents) for r in s.rows]
        + [("", "Total", s.total_cents)]
        for s in (bs.assets, bs.liabilities, bs.equity)
    }


def compared(bs: financial.BalanceSheet) -> dict[str, list[tuple[object, ...]]]:
    return {
        s.title: [
            (r.number, r.name, r.balance_cents, r.comparison_cents, r.difference_cents)
            for r in s.rows
        ]
        + [("", "Total", s.total_cents, s.comparison_cents, s.difference_cents)]
        for s in (bs.assets, bs.liabilities, bs.equity)
    }


# --- the first day of a fiscal year --------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "day", "start", "end"),
    [
        (1, D(2026, 1, 1), D(2026, 1, 1), D(2026, 12, 31)),
        (1, D(2026, 12, 31), D(2026, 1, 1), D(2026, 12, 31)),
        (7, D(2026, 6, 30), D(2025, 7, 1), D(2026, 6, 30)),
        (7, D(2026, 7, 1), D(2026, 7, 1), D(2027, 6, 30)),
        (7, D(2027, 1, 31), D(2026, 7, 1), D(2027, 6, 30)),
        (3, D(2028, 2, 29), D(2027, 3, 1), D(2028, 2, 29)),  # a leap year's last day
        (12, D(2026, 11, 30), D(2025, 12, 1), D(2026, 11, 30)),
        (7, D(1, 3, 1), dt.date.min, D(1, 6, 30)),  # before the calendar's first July
    ],
)
def test_a_fiscal_year_runs_from_the_first_of_its_month(month, day, start, end):
    firm = Firm(fiscal_year_start_month=month)
    assert financial.fiscal_year_start(day, firm=firm) == start
    assert financial.fiscal_year_end(day, firm=firm) == end


def test_a_firm_starts_with_a_calendar_fiscal_year(firm):
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1


# --- the balance sheet across 1 July -------------------------------------------------------


def test_on_june_30_the_whole_year_2025_26_is_current_earnings(firm, books, july):
    bs = financial.balance_sheet(firm=july, as_of=JUNE_30)
    assert bs.fiscal_year_start == D(2025, 7, 1)
    assert sheet(bs) == {
        "Assets": [
            ("1000", "Operating Bank", 7_847_500),
            ("1010", "Client Trust Bank (IOLTA)", 8_880_000),
            ("1300", "Advanced Client Costs", 160_000),
            ("", "Total", 16_887_500),
        ],
        "Liabilities": [("2100", "Client Trust Liability", 8_880_000), ("", "Total", 8_880_000)],
        "Equity": [
            ("3000", "Owner's Equity", 5_000_000),
            # nothing was earned before 1 July 2025; December's bank charges are this year's
            ("", "Retained earnings", 0),
            ("", "Current-year earnings", 3_007_500),
            ("", "Total", 8_007_500),
        ],
    }
    assert bs.total_liabilities_and_equity_cents == 16_887_500


def test_on_july_1_the_year_before_is_retained(firm, books, july):
    bs = financial.balance_sheet(firm=july, as_of=JULY_1)
    assert bs.fiscal_year_start == JULY_1
    assert (bs.retained_earnings_cents, bs.current_year_earnings_cents) == (3_007_500, -4_000)
    assert bs.assets.total_cents == bs.total_liabilities_and_equity_cents == 16_883_500


def test_the_june_income_reversed_in_july_is_a_loss_of_the_new_year(firm, admin, books, july):
    bs = financial.balance_sheet(firm=july, as_of=JULY_15)
    assert (bs.retained_earnings_cents, bs.current_year_earnings_cents) == (3_007_500, -54_000)
    assert bs.assets.total_cents == bs.total_liabilities_and_equity_cents == 16_833_500
    # a calendar fiscal year splits the same total elsewhere: 2025's bank charges retained
    january = setup.firm_fiscal_year_set(firm=july, actor=admin, first_month=1)
    bs = financial.balance_sheet(firm=january, as_of=JULY_15)
    assert (bs.retained_earnings_cents, bs.current_year_earnings_cents) == (-2_500, 2_956_000)
    assert bs.total_liabilities_and_equity_cents == 16_833_500


@pytest.mark.parametrize(
    "day",
    [D(2025, 6, 30), D(2025, 7, 1), D(2025, 11, 3), D(2025, 12, 31), D(2026, 1, 1),
     D(2026, 3, 31), JUNE_30, JULY_1, D(2026, 7, 14), JULY_15, D(2026, 12, 1)],
)  # fmt: skip
@pytest.mark.parametrize("month", [1, 7, 12])
def test_assets_equal_liabilities_and_equity_on_every_day_whatever_the_fiscal_year(
    firm, admin, books, day, month
):
    firm = setup.firm_fiscal_year_set(firm=firm, actor=admin, first_month=month)
    bs = financial.balance_sheet(firm=firm, as_of=day)
    assert bs.assets.total_cents == bs.total_liabilities_and_equity_cents
    assert bs.is_balanced
    # earnings of every year to the day, however they are split
    tb = reports.trial_balance(firm=firm, as_of=day)
    results = sum(
        r.credit_cents - r.debit_cents for r in tb.rows if r.type in ("income", "expense")
    )
    assert bs.retained_earnings_cents + bs.current_year_earnings_cents == results


# --- the periods that begin on the fiscal year's first day ---------------------------------


def test_a_profit_and_loss_without_a_start_begins_on_the_fiscal_years_first_day(firm, books, july):
    to_june = financial.profit_and_loss(firm=july, end=JUNE_30)
    assert (to_june.start, to_june.end) == (D(2025, 7, 1), JUNE_30)
    assert [(r.number, r.total_cents) for r in to_june.income.rows + to_june.expenses.rows] == [
        ("4000", 3_000_000),
        ("4100", 50_000),
        ("5000", 2_500),
        ("5200", 40_000),
    ]
    assert to_june.net_income_cents == 3_007_500
    to_july_15 = financial.profit_and_loss(firm=july, end=JULY_15)
    assert (to_july_15.start, to_july_15.net_income_cents) == (JULY_1, -54_000)
    assert [(r.number, r.total_cents) for r in to_july_15.income.rows] == [("4100", -50_000)]


def test_the_default_profit_and_loss_and_balance_sheet_of_today(firm, books, july, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: D(2026, 8, 31))
    pl = financial.profit_and_loss(firm=july)
    assert (pl.start, pl.end, pl.net_income_cents) == (JULY_1, D(2026, 8, 31), -54_000)
    bs = financial.balance_sheet(firm=july)
    assert (bs.as_of, bs.fiscal_year_start) == (D(2026, 8, 31), JULY_1)
    assert (bs.retained_earnings_cents, bs.current_year_earnings_cents) == (3_007_500, -54_000)


def test_a_ledger_detail_without_a_start_begins_on_the_fiscal_years_first_day(firm, books, july):
    operating = GLAccount.objects.get(firm=firm, number="1000")
    page = financial.general_ledger(firm=july, end=JULY_15, account_id=operating.pk)
    assert (page.start, page.end) == (JULY_1, JULY_15)
    [account] = page.accounts
    assert (account.opening_cents, account.debit_cents, account.credit_cents) == (
        7_847_500,
        0,
        54_000,
    )
    assert [(line.date, line.credit_cents, line.balance_cents) for line in page.lines] == [
        (JULY_1, 4_000, 7_843_500),
        (JULY_15, 50_000, 7_793_500),
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [(D(2025, 7, 1), JUNE_30), (D(2026, 6, 1), JULY_15), (JULY_1, JULY_15), (JUNE_30, JULY_1)],
)
def test_net_income_across_the_boundary_is_the_change_in_earnings(firm, books, july, start, end):
    pl = financial.profit_and_loss(firm=july, start=start, end=end)
    before = financial.balance_sheet(firm=july, as_of=start - dt.timedelta(days=1))
    after = financial.balance_sheet(firm=july, as_of=end)

    def earnings(bs: financial.BalanceSheet) -> int:
        return bs.retained_earnings_cents + bs.current_year_earnings_cents

    assert pl.net_income_cents == earnings(after) - earnings(before)


# --- the setting: administrators, audited, 1 to 12 -----------------------------------------


def _audits() -> list[tuple[str, str, object, object]]:
    return [
        (e.action, e.summary, e.before, e.after)
        for e in AuditEvent.objects.filter(
            system="books", entity_type="firm", summary__startswith="Fiscal year"
        ).order_by("pk")
    ]


def test_an_administrator_sets_the_month_and_it_is_audited(firm, admin):
    saved = setup.firm_fiscal_year_set(firm=firm, actor=admin, first_month=7)
    assert saved.fiscal_year_start_month == 7
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 7
    setup.firm_fiscal_year_set(firm=firm, actor=admin, first_month=7)  # no change: no event
    setup.firm_fiscal_year_set(firm=firm, actor=admin, first_month=10)
    assert _audits() == [
        (
            "change",
            "Fiscal year starts in July (was January)",
            {"fiscal_year_start_month": 1},
            {"fiscal_year_start_month": 7},
        ),
        (
            "change",
            "Fiscal year starts in October (was July)",
            {"fiscal_year_start_month": 7},
            {"fiscal_year_start_month": 10},
        ),
    ]
    event = AuditEvent.objects.filter(system="books", entity_type="firm").latest("pk")
    assert event.actor_id == admin.pk


def test_anyone_but_an_administrator_is_refused_and_nothing_changes(firm, admin, other_firm):
    accountant = auth.user_create(
        firm=firm, email="acc@smith.test", password=PASSWORD, role=Role.ACCOUNTANT
    )
    outsider = auth.user_create(
        firm=other_firm, email="boss@jones.test", password=PASSWORD, is_admin=True
    )
    for actor in (accountant, outsider):
        with pytest.raises(AdminRequired) as refused:
            setup.firm_fiscal_year_set(firm=firm, actor=actor, first_month=7)
        assert (
            refused.value.message == "only a books administrator can change the firm's fiscal year"
        )
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1
    assert _audits() == []


@pytest.mark.parametrize("month", [0, 13, -1, 7.0, "7", True, None])
def test_a_month_that_is_not_1_to_12_is_refused_naming_it(firm, admin, month):
    with pytest.raises(ValidationFailed) as refused:
        setup.firm_fiscal_year_set(firm=firm, actor=admin, first_month=month)
    assert refused.value.field == "first_month"
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1
    assert _audits() == []


@pytest.mark.parametrize("month", [0, 13])
def test_the_database_holds_the_month_to_1_to_12(firm, month):
    with pytest.raises(IntegrityError), transaction.atomic():
        Firm.objects.filter(pk=firm.pk).update(fiscal_year_start_month=month)
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1


# --- the balance sheet compared with another day ---------------------------------------------


MARCH_31_AGAINST_DECEMBER_31 = {
    "Assets": [
        ("1000", "Operating Bank", 7_847_500, 4_877_500, 2_970_000),
        ("1010", "Client Trust Bank (IOLTA)", 880_000, 0, 880_000),
        ("1300", "Advanced Client Costs", 110_000, 120_000, -10_000),
        ("", "Total", 8_837_500, 4_997_500, 3_840_000),
    ],
    "Liabilities": [
        ("2100", "Client Trust Liability", 880_000, 0, 880_000),
        ("", "Total", 880_000, 0, 880_000),
    ],
    "Equity": [
        ("3000", "Owner's Equity", 5_000_000, 5_000_000, 0),
        # 2025's bank charges: December's current-year earnings, March's retained earnings
        ("", "Retained earnings", -2_500, 0, -2_500),
        ("", "Current-year earnings", 2_960_000, -2_500, 2_962_500),
        ("", "Total", 7_957_500, 4_997_500, 2_960_000),
    ],
}


def test_march_31_against_the_end_of_the_previous_fiscal_year(firm, books):
    bs = financial.balance_sheet(firm=firm, as_of=D(2026, 3, 31), comparison="fiscal_year_end")
    assert (bs.comparison_as_of, bs.comparison_fiscal_year_start) == (
        D(2025, 12, 31),
        D(2025, 1, 1),
    )
    assert compared(bs) == MARCH_31_AGAINST_DECEMBER_31
    assert (
        bs.total_liabilities_and_equity_cents,
        bs.comparison_total_liabilities_and_equity_cents,
        bs.total_liabilities_and_equity_difference_cents,
    ) == (8_837_500, 4_997_500, 3_840_000)
    assert bs.is_balanced
    headers, rows = bs.table()
    assert headers == [
        "Section", "Account", "Name", "2026-03-31", "2025-12-31", "Difference",
    ]  # fmt: skip
    assert list(rows)[-4:] == [
        ("Equity", "", "Retained earnings", -2_500, 0, -2_500),
        ("Equity", "", "Current-year earnings", 2_960_000, -2_500, 2_962_500),
        ("Equity", "", "Total equity", 7_957_500, 4_997_500, 2_960_000),
        ("", "", "Total liabilities and equity", 8_837_500, 4_997_500, 3_840_000),
    ]


def test_a_chosen_date_gives_the_same_figures_for_the_same_day(firm, books):
    bs = financial.balance_sheet(
        firm=firm, as_of=D(2026, 3, 31), comparison="date", compare_to=D(2025, 12, 31)
    )
    assert bs.comparison == "date"
    assert compared(bs) == MARCH_31_AGAINST_DECEMBER_31


def test_a_later_chosen_date_shows_the_accounts_that_only_have_a_balance_then(firm, books):
    """The void of the client's check on 2 April and April's deposits and advance are in
    the compared column; December has no trust money at all."""
    bs = financial.balance_sheet(
        firm=firm, as_of=D(2025, 12, 31), comparison="date", compare_to=D(2026, 4, 30)
    )
    assert compared(bs)["Assets"] == [
        ("1000", "Operating Bank", 4_877_500, 7_797_500, -2_920_000),
        ("1010", "Client Trust Bank (IOLTA)", 0, 8_880_000, -8_880_000),
        ("1300", "Advanced Client Costs", 120_000, 160_000, -40_000),
        ("", "Total", 4_997_500, 16_837_500, -11_840_000),
    ]
    assert bs.comparison_total_liabilities_and_equity_cents == 16_837_500
    assert bs.is_balanced


def test_across_the_july_boundary_against_the_year_end(firm, books, july):
    bs = financial.balance_sheet(firm=july, as_of=JULY_15, comparison="fiscal_year_end")
    assert (bs.comparison_as_of, bs.comparison_fiscal_year_start) == (JUNE_30, D(2025, 7, 1))
    assert compared(bs) == {
        "Assets": [
            ("1000", "Operating Bank", 7_793_500, 7_847_500, -54_000),
            ("1010", "Client Trust Bank (IOLTA)", 8_880_000, 8_880_000, 0),
            ("1300", "Advanced Client Costs", 160_000, 160_000, 0),
            ("", "Total", 16_833_500, 16_887_500, -54_000),
        ],
        "Liabilities": [
            ("2100", "Client Trust Liability", 8_880_000, 8_880_000, 0),
            ("", "Total", 8_880_000, 8_880_000, 0),
        ],
        "Equity": [
            ("3000", "Owner's Equity", 5_000_000, 5_000_000, 0),
            ("", "Retained earnings", 3_007_500, 0, 3_007_500),
            ("", "Current-year earnings", -54_000, 3_007_500, -3_061_500),
            ("", "Total", 7_953_500, 8_007_500, -54_000),
        ],
    }
    assert bs.is_balanced


def test_a_year_earlier_is_the_same_day_of_the_year_before(firm, books):
    bs = financial.balance_sheet(firm=firm, as_of=D(2026, 12, 1), comparison="year_earlier")
    assert bs.comparison_as_of == D(2025, 12, 1)
    assert compared(bs)["Equity"] == [
        ("3000", "Owner's Equity", 5_000_000, 5_000_000, 0),
        ("", "Retained earnings", -2_500, 0, -2_500),
        ("", "Current-year earnings", 2_956_000, 0, 2_956_000),
        ("", "Total", 7_953_500, 5_000_000, 2_953_500),
    ]
    assert bs.is_balanced
    leap = financial.balance_comparison_day(
        firm=firm, as_of=D(2028, 2, 29), comparison="year_earlier"
    )
    assert leap == D(2027, 2, 28)


@pytest.mark.parametrize(
    ("as_of", "comparison", "compare_to", "field"),
    [
        (D(2026, 3, 31), "date", None, "compare_to"),
        (D(2026, 3, 31), "year_earlier", D(2025, 3, 31), "compare_to"),
        (D(2026, 3, 31), "none", D(2025, 3, 31), "compare_to"),
        (D(2026, 3, 31), "last_decade", None, "comparison"),
        (dt.date.min, "fiscal_year_end", None, "comparison"),
        (D(1, 6, 1), "year_earlier", None, "comparison"),
    ],
)
def test_a_comparison_that_cannot_be_made_is_refused_naming_its_field(
    firm, as_of, comparison, compare_to, field
):
    with pytest.raises(ValidationFailed) as refused:
        financial.balance_sheet(
            firm=firm, as_of=as_of, comparison=comparison, compare_to=compare_to
        )
    assert refused.value.field == field


def test_a_profit_and_loss_compared_with_a_period_before_year_1_is_refused(firm):
    """It was a 500 (OverflowError): the day before 1 January of year 1."""
    with pytest.raises(ValidationFailed) as refused:
        financial.profit_and_loss(
            firm=firm, start=dt.date.min, end=D(1, 1, 5), comparison="previous_period"
        )
    assert refused.value.field == "comparison"
