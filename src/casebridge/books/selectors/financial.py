"""Financial statements (issue 15, ADR 0042): profit and loss, balance sheet, general
ledger detail and the operating account's cost advances by file, each as of a day.

The rule is the reports' (ADR 0013): a figure counts only the postings dated on or before
its day, and a void or reversal counts from the day it is dated. Entries are never edited
(a correction is a reversing entry), so a statement for a past day is the same whenever it
is asked for, and an entry dated after the day is left out.

Each statement is a plain dataclass with a ``table()`` method: ``(headers, rows)``, the
rows an iterator of tuples whose money is integer cents (the export writers' input; a
negative figure is a negative int). Amounts are shown in the account's normal sign (an
asset's or expense's debit balance, a liability's, equity's or income's credit balance is
positive), so income, expenses and net income read as an accountant writes them.

The fiscal year starts on the first day of the firm's ``fiscal_year_start_month``
(January unless an administrator chose another; ADR 0053): the balance sheet's
current-year earnings are the net income from the first day of the fiscal year its day is
in to the day, retained earnings the net income of every earlier day, and a period with no
start begins on that first day (:func:`fiscal_year_start`). A balance sheet may carry a
second column as of another day (a year earlier, the end of the previous fiscal year, or a
chosen day) with the difference."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from django.core import signing
from django.db import connection
from django.db.models import F, Min, Q, QuerySet, RowRange, Sum, Window

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    DEBIT_NORMAL,
    AccountRole,
    AccountType,
    File,
    Firm,
    GLAccount,
    JournalEntry,
    Posting,
)
from casebridge.books.selectors.reports import gl_balances, posting_mark
from casebridge.core import clock

#: The headers and rows of a statement as the export writers take it; money in cents.
Row = tuple[object, ...]
Table = tuple[list[str], Iterator[Row]]

#: The longest period a profit and loss or a ledger detail covers (ten years and leap days).
MAX_PERIOD_DAYS = 3653
#: The most month columns a profit and loss shows side by side.
MAX_MONTH_COLUMNS = 36
#: Rows a ledger detail page holds by default, and at most.
GL_PAGE_DEFAULT = 500
GL_PAGE_MAX = 1000

Comparison = Literal["none", "previous_period", "previous_year"]
COMPARISONS: tuple[Comparison, ...] = ("none", "previous_period", "previous_year")

#: What a balance sheet is compared with: nothing, the same day a year earlier, the last
#: day of the previous fiscal year, or a day chosen (``compare_to``).
BalanceComparison = Literal["none", "year_earlier", "fiscal_year_end", "date"]
BALANCE_COMPARISONS: tuple[BalanceComparison, ...] = (
    "none",
    "year_earlier",
    "fiscal_year_end",
    "date",
)

#: Cost advance aging buckets: (label, first day, last day or None).
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)


def _fiscal_year_first(day: dt.date, month: int) -> int:
    """The calendar year the fiscal year ``day`` is in begins (0 before year 1's month)."""
    return day.year if day.month >= month else day.year - 1


def fiscal_year_start(day: dt.date, *, firm: Firm) -> dt.date:
    """The first day of the fiscal year ``day`` is in: the first of the firm's
    ``fiscal_year_start_month`` on or before ``day`` (a fiscal year from July: 1 July
    2026 for any day from 1 July 2026 to 30 June 2027). A day before the first fiscal year
    the calendar holds (year 1, before the month) gives 1 January of year 1."""
    month = firm.fiscal_year_start_month
    year = _fiscal_year_first(day, month)
    return dt.date(year, month, 1) if year >= 1 else dt.date.min


def fiscal_year_end(day: dt.date, *, firm: Firm) -> dt.date:
    """The last day of the fiscal year ``day`` is in: the day before the next one starts
    (the calendar's last day for a fiscal year it cannot end)."""
    month = firm.fiscal_year_start_month
    try:
        return dt.date(_fiscal_year_first(day, month) + 1, month, 1) - dt.timedelta(days=1)
    except (OverflowError, ValueError):
        return dt.date.max


def _normal(account_type: str, debit_minus_credit: int) -> int:
    return debit_minus_credit if account_type in DEBIT_NORMAL else -debit_minus_credit


def check_period(
    start: dt.date | None,
    end: dt.date | None,
    *,
    firm: Firm,
    names: tuple[str, str] = ("start", "end"),
) -> tuple[dt.date, dt.date]:
    """``start``..``end`` (``end`` default today; ``start`` default the first day of the
    firm's fiscal year ``end`` is in). Refused when it runs backwards (naming the end) or
    is longer than ten years (naming the start); ``names``: the fields as the caller calls
    them."""
    end = end or clock.today()
    start = start or fiscal_year_start(end, firm=firm)
    if start > end:
        raise ValidationFailed(
            f"{names[1]} {end.isoformat()} is before {names[0]} {start.isoformat()}",
            field=names[1],
        )
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed(f"{names[0]}: a period is at most ten years long", field=names[0])
    return start, end


def _shift_year(day: dt.date, years: int) -> dt.date:
    """``day`` ``years`` later (earlier when negative); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def comparison_period(
    start: dt.date, end: dt.date, comparison: Comparison
) -> tuple[dt.date, dt.date] | None:
    """The period a profit and loss is compared with: the same days a year earlier, or the
    period of the same length that ends the day before ``start``; None for ``"none"``.
    A period the calendar does not hold (before year 1) is refused naming ``comparison``."""
    try:
        if comparison == "previous_year":
            return _shift_year(start, -1), _shift_year(end, -1)
        if comparison == "previous_period":
            days = (end - start).days
            prev_end = start - dt.timedelta(days=1)
            return prev_end - dt.timedelta(days=days), prev_end
    except (OverflowError, ValueError):
        raise ValidationFailed(
            "comparison: the period compared with would begin before year 1",
            field="comparison",
        ) from None
    return None


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of each calendar month from ``start``'s to ``end``'s, counted by
    year and month (no date arithmetic, so December 9999 is the last, not an overflow)."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _firm_postings(firm: Firm) -> QuerySet[Posting]:
    return Posting.objects.filter(account__firm=firm)


def _sums_by_account(postings: QuerySet[Posting]) -> dict[int, int]:
    """Debits minus credits of ``postings`` by account id: one grouped query."""
    rows = postings.values("account_id").annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    return {r["account_id"]: (r["d"] or 0) - (r["c"] or 0) for r in rows.order_by()}


# --- profit and loss ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfitLossRow:
    account_id: int
    number: str
    name: str
    type: str
    #: one figure per month column (empty without the month layout)
    months_cents: tuple[int, ...]
    total_cents: int
    comparison_cents: int | None
    #: total minus comparison (None without a comparison)
    difference_cents: int | None


@dataclass(frozen=True)
class ProfitLossSection:
    type: str  # "income" or "expense"
    title: str
    rows: list[ProfitLossRow]
    months_cents: tuple[int, ...]
    total_cents: int
    comparison_cents: int | None
    difference_cents: int | None


@dataclass(frozen=True)
class ProfitLoss:
    start: dt.date
    end: dt.date
    #: the first day of each month column (empty without the month layout)
    months: list[dt.date]
    comparison: Comparison
    comparison_start: dt.date | None
    comparison_end: dt.date | None
    income: ProfitLossSection
    expenses: ProfitLossSection
    net_months_cents: tuple[int, ...]
    net_income_cents: int
    comparison_net_income_cents: int | None
    net_difference_cents: int | None

    @property
    def as_of(self) -> dt.date:
        """A profit and loss counts the postings dated up to its last day."""
        return self.end

    def headers(self) -> list[str]:
        heads = ["Section", "Account", "Name", *(m.strftime("%Y-%m") for m in self.months)]
        heads.append(f"{self.start.isoformat()} to {self.end.isoformat()}")
        if self.comparison_start and self.comparison_end:
            heads += [
                f"{self.comparison_start.isoformat()} to {self.comparison_end.isoformat()}",
                "Difference",
            ]
        return heads

    def _figures(
        self, months: tuple[int, ...], total: int, comparison: int | None, diff: int | None
    ) -> Row:
        tail: Row = (comparison, diff) if self.comparison_start else ()
        return (*months, total, *tail)

    def table(self) -> Table:
        def rows() -> Iterator[Row]:
            for section in (self.income, self.expenses):
                for r in section.rows:
                    yield (
                        section.title,
                        r.number,
                        r.name,
                        *self._figures(
                            r.months_cents, r.total_cents, r.comparison_cents, r.difference_cents
                        ),
                    )
                yield (
                    section.title,
                    "",
                    f"Total {section.title.lower()}",
                    *self._figures(
                        section.months_cents,
                        section.total_cents,
                        section.comparison_cents,
                        section.difference_cents,
                    ),
                )
            yield (
                "Net income",
                "",
                "Net income",
                *self._figures(
                    self.net_months_cents,
                    self.net_income_cents,
                    self.comparison_net_income_cents,
                    self.net_difference_cents,
                ),
            )

        return self.headers(), rows()


def profit_and_loss(
    *,
    firm: Firm,
    start: dt.date | None = None,
    end: dt.date | None = None,
    by_month: bool = False,
    comparison: Comparison = "none",
) -> ProfitLoss:
    """Income and expenses from ``start`` to ``end`` (default: the fiscal year to today)
    by account, in the normal sign, with net income = income - expenses. ``by_month``
    adds a column per calendar month (the first and last clipped to the period; at most
    36); ``comparison`` adds the same accounts' totals for the period compared with and
    the difference. Only postings dated within the period count, so a void dated after
    ``end`` leaves the figures as they were (two or three grouped queries)."""
    start, end = check_period(start, end, firm=firm)
    if comparison not in COMPARISONS:
        raise ValidationFailed(
            f"comparison must be one of {', '.join(COMPARISONS)}", field="comparison"
        )
    months = _month_starts(start, end) if by_month else []
    if len(months) > MAX_MONTH_COLUMNS:
        raise ValidationFailed(
            f"the month layout shows at most {MAX_MONTH_COLUMNS} months; shorten the period",
            field="by_month",
        )
    accounts = list(
        GLAccount.objects.filter(
            firm=firm, type__in=[AccountType.INCOME, AccountType.EXPENSE]
        ).order_by("number")
    )
    types = {a.pk: a.type for a in accounts}
    in_period = _firm_postings(firm).filter(
        account_id__in=types.keys(), entry__date__gte=start, entry__date__lte=end
    )
    month_index = {(m.year, m.month): i for i, m in enumerate(months)}
    per_month: dict[int, list[int]] = defaultdict(lambda: [0] * len(months))
    totals: dict[int, int] = defaultdict(int)
    if by_month:
        daily = (
            in_period.values("account_id", "entry__date")
            .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
            .order_by()
        )
        for r in daily:
            amount = _normal(types[r["account_id"]], (r["d"] or 0) - (r["c"] or 0))
            day = r["entry__date"]
            per_month[r["account_id"]][month_index[(day.year, day.month)]] += amount
            totals[r["account_id"]] += amount
    else:
        for pk, net in _sums_by_account(in_period).items():
            totals[pk] = _normal(types[pk], net)
    compared = comparison_period(start, end, comparison)
    previous: dict[int, int] | None = None
    if compared is not None:
        previous = {
            pk: _normal(types[pk], net)
            for pk, net in _sums_by_account(
                _firm_postings(firm).filter(
                    account_id__in=types.keys(),
                    entry__date__gte=compared[0],
                    entry__date__lte=compared[1],
                )
            ).items()
        }

    def section(kind: str, title: str) -> ProfitLossSection:
        rows = []
        for a in accounts:
            if a.type != kind:
                continue
            total = totals.get(a.pk, 0)
            before = previous.get(a.pk, 0) if previous is not None else None
            if not total and not before and a.pk not in totals:
                continue  # no posting in either period
            rows.append(
                ProfitLossRow(
                    a.pk,
                    a.number,
                    a.name,
                    a.type,
                    tuple(per_month[a.pk]) if by_month else (),
                    total,
                    before,
                    None if before is None else total - before,
                )
            )
        month_sums = tuple(sum(r.months_cents[i] for r in rows) for i in range(len(months)))
        total = sum(r.total_cents for r in rows)
        before = sum(r.comparison_cents or 0 for r in rows) if previous is not None else None
        return ProfitLossSection(
            kind,
            title,
            rows,
            month_sums,
            total,
            before,
            None if before is None else total - before,
        )

    income = section(AccountType.INCOME, "Income")
    expenses = section(AccountType.EXPENSE, "Expenses")
    net = income.total_cents - expenses.total_cents
    net_before = (
        None
        if previous is None
        else (income.comparison_cents or 0) - (expenses.comparison_cents or 0)
    )
    return ProfitLoss(
        start=start,
        end=end,
        months=months,
        comparison=comparison,
        comparison_start=compared[0] if compared else None,
        comparison_end=compared[1] if compared else None,
        income=income,
        expenses=expenses,
        net_months_cents=tuple(
            i - e for i, e in zip(income.months_cents, expenses.months_cents, strict=True)
        ),
        net_income_cents=net,
        comparison_net_income_cents=net_before,
        net_difference_cents=None if net_before is None else net - net_before,
    )


# --- balance sheet --------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceSheetRow:
    #: None for the computed equity lines (retained and current-year earnings)
    account_id: int | None
    number: str
    name: str
    balance_cents: int
    #: the balance on the day compared with (None without a comparison)
    comparison_cents: int | None = None
    #: balance - comparison (None without a comparison)
    difference_cents: int | None = None


@dataclass(frozen=True)
class BalanceSheetSection:
    type: str  # "asset", "liability" or "equity"
    title: str
    rows: list[BalanceSheetRow]
    total_cents: int
    comparison_cents: int | None = None
    difference_cents: int | None = None


@dataclass(frozen=True)
class BalanceSheet:
    as_of: dt.date
    fiscal_year_start: dt.date
    assets: BalanceSheetSection
    liabilities: BalanceSheetSection
    #: the equity accounts, then retained earnings and current-year earnings
    equity: BalanceSheetSection
    retained_earnings_cents: int
    current_year_earnings_cents: int
    total_liabilities_and_equity_cents: int
    comparison: BalanceComparison = "none"
    #: the day of the second column and the first day of its own fiscal year (None
    #: without a comparison); its retained and current-year earnings are split there
    comparison_as_of: dt.date | None = None
    comparison_fiscal_year_start: dt.date | None = None
    comparison_retained_earnings_cents: int | None = None
    comparison_current_year_earnings_cents: int | None = None
    comparison_total_liabilities_and_equity_cents: int | None = None

    @property
    def total_liabilities_and_equity_difference_cents(self) -> int | None:
        compared = self.comparison_total_liabilities_and_equity_cents
        return None if compared is None else self.total_liabilities_and_equity_cents - compared

    @property
    def is_balanced(self) -> bool:
        """Assets = liabilities + equity, in each column shown."""
        return self.assets.total_cents == self.total_liabilities_and_equity_cents and (
            self.comparison_as_of is None
            or self.assets.comparison_cents == self.comparison_total_liabilities_and_equity_cents
        )

    def headers(self) -> list[str]:
        """The balance column is "Balance <day>"; compared, the two columns are the days
        alone (short enough for a PDF's money column) and "Difference"."""
        if self.comparison_as_of is None:
            return ["Section", "Account", "Name", f"Balance {self.as_of.isoformat()}"]
        return [
            "Section",
            "Account",
            "Name",
            self.as_of.isoformat(),
            self.comparison_as_of.isoformat(),
            "Difference",
        ]

    def table(self) -> Table:
        compared = self.comparison_as_of is not None

        def figures(cents: int, before: int | None, diff: int | None) -> Row:
            return (cents, before, diff) if compared else (cents,)

        def rows() -> Iterator[Row]:
            for s in (self.assets, self.liabilities, self.equity):
                for r in s.rows:
                    yield (
                        s.title,
                        r.number,
                        r.name,
                        *figures(r.balance_cents, r.comparison_cents, r.difference_cents),
                    )
                yield (
                    s.title,
                    "",
                    f"Total {s.title.lower()}",
                    *figures(s.total_cents, s.comparison_cents, s.difference_cents),
                )
            yield (
                "",
                "",
                "Total liabilities and equity",
                *figures(
                    self.total_liabilities_and_equity_cents,
                    self.comparison_total_liabilities_and_equity_cents,
                    self.total_liabilities_and_equity_difference_cents,
                ),
            )

        return self.headers(), rows()


@dataclass(frozen=True)
class _Position:
    """The balances of one day: every account's (debits - credits) and the two computed
    equity lines, split at the first day of that day's fiscal year."""

    balances: dict[int, int]
    fiscal_year_start: dt.date
    retained_cents: int
    current_cents: int


def _position(firm: Firm, accounts: list[GLAccount], day: dt.date) -> _Position:
    fy_start = fiscal_year_start(day, firm=firm)
    balances = gl_balances(firm=firm, accounts=accounts, as_of=day)
    results = {a.pk for a in accounts if a.type in (AccountType.INCOME, AccountType.EXPENSE)}
    earlier = _sums_by_account(
        _firm_postings(firm).filter(account_id__in=results, entry__date__lt=fy_start)
    )
    retained = -sum(earlier.values())  # credits minus debits: income - expenses
    all_years = -sum(balances.get(pk, 0) for pk in results)
    return _Position(balances, fy_start, retained, all_years - retained)


def balance_comparison_day(
    *,
    firm: Firm,
    as_of: dt.date,
    comparison: BalanceComparison,
    compare_to: dt.date | None = None,
) -> dt.date | None:
    """The day a balance sheet as of ``as_of`` is compared with: the same day a year
    earlier (29 February: the 28th), the last day of the previous fiscal year, or
    ``compare_to`` (``comparison="date"``, where it is required and the only place it is
    read); None for ``"none"``. Refusals name ``comparison`` or ``compare_to``."""
    if comparison not in BALANCE_COMPARISONS:
        raise ValidationFailed(
            f"comparison must be one of {', '.join(BALANCE_COMPARISONS)}", field="comparison"
        )
    if comparison == "date":
        if compare_to is None:
            raise ValidationFailed(
                "compare_to: the day to compare with is required with comparison=date",
                field="compare_to",
            )
        return compare_to
    if compare_to is not None:
        raise ValidationFailed("compare_to is read only with comparison=date", field="compare_to")
    try:
        if comparison == "year_earlier":
            return _shift_year(as_of, -1)
        if comparison == "fiscal_year_end":
            return fiscal_year_start(as_of, firm=firm) - dt.timedelta(days=1)
    except (OverflowError, ValueError):
        raise ValidationFailed(
            "comparison: the day compared with would be before year 1", field="comparison"
        ) from None
    return None


def balance_sheet(
    *,
    firm: Firm,
    as_of: dt.date | None = None,
    comparison: BalanceComparison = "none",
    compare_to: dt.date | None = None,
) -> BalanceSheet:
    """Assets, liabilities and equity as of ``as_of`` (default today), each account in its
    normal sign. Income and expense accounts are not closed into equity by an entry, so
    equity carries two computed lines: retained earnings (the net income of every day
    before the first day of the firm's fiscal year the day is in) and current-year
    earnings (from that day to ``as_of``). Every posting is in exactly one of the lines,
    so assets = liabilities + equity to the cent. The maintained balances when they hold
    the day (ADR 0013), else one grouped sum; one more for the earlier years' income and
    expenses.

    ``comparison`` (:func:`balance_comparison_day`) adds a second column, the same
    statement as of the day compared with (its earnings split at its own fiscal year's
    first day), and the difference (as of - compared); an account with a balance on
    either day is a row."""
    day = as_of or clock.today()
    other = balance_comparison_day(
        firm=firm, as_of=day, comparison=comparison, compare_to=compare_to
    )
    accounts = list(GLAccount.objects.filter(firm=firm).order_by("number"))
    now = _position(firm, accounts, day)
    then = _position(firm, accounts, other) if other is not None else None

    def row(
        account_id: int | None, number: str, name: str, cents: int, before: int | None
    ) -> BalanceSheetRow:
        return BalanceSheetRow(
            account_id,
            number,
            name,
            cents,
            before,
            None if before is None else cents - before,
        )

    def section(kind: str, title: str, extra: list[BalanceSheetRow]) -> BalanceSheetSection:
        rows = []
        for a in accounts:
            if a.type != kind:
                continue
            cents = _normal(a.type, now.balances.get(a.pk, 0))
            before = _normal(a.type, then.balances.get(a.pk, 0)) if then else None
            if cents or before:
                rows.append(row(a.pk, a.number, a.name, cents, before))
        rows += extra
        total = sum(r.balance_cents for r in rows)
        before_total = sum(r.comparison_cents or 0 for r in rows) if then else None
        return BalanceSheetSection(
            kind,
            title,
            rows,
            total,
            before_total,
            None if before_total is None else total - before_total,
        )

    equity = section(
        AccountType.EQUITY,
        "Equity",
        [
            row(None, "", "Retained earnings", now.retained_cents,
                then.retained_cents if then else None),
            row(None, "", "Current-year earnings", now.current_cents,
                then.current_cents if then else None),
        ],
    )  # fmt: skip
    liabilities = section(AccountType.LIABILITY, "Liabilities", [])
    compared_total = (
        None
        if then is None
        else (liabilities.comparison_cents or 0) + (equity.comparison_cents or 0)
    )
    return BalanceSheet(
        as_of=day,
        fiscal_year_start=now.fiscal_year_start,
        assets=section(AccountType.ASSET, "Assets", []),
        liabilities=liabilities,
        equity=equity,
        retained_earnings_cents=now.retained_cents,
        current_year_earnings_cents=now.current_cents,
        total_liabilities_and_equity_cents=liabilities.total_cents + equity.total_cents,
        comparison=comparison,
        comparison_as_of=other,
        comparison_fiscal_year_start=then.fiscal_year_start if then else None,
        comparison_retained_earnings_cents=then.retained_cents if then else None,
        comparison_current_year_earnings_cents=then.current_cents if then else None,
        comparison_total_liabilities_and_equity_cents=compared_total,
    )


# --- general ledger detail ------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerAccount:
    """One account's figures for the period: opening, movements and closing (normal sign)."""

    account_id: int
    number: str
    name: str
    type: str
    opening_cents: int
    debit_cents: int
    credit_cents: int
    closing_cents: int


@dataclass(frozen=True)
class LedgerPosting:
    account_id: int
    posting_id: int
    entry_id: int
    date: dt.date
    reference: str
    memo: str
    file_number: str
    debit_cents: int
    credit_cents: int
    #: the account's running balance after this posting (normal sign)
    balance_cents: int


@dataclass(frozen=True)
class GeneralLedgerPage:
    start: dt.date
    end: dt.date
    #: the accounts this page shows (its postings' accounts, and the accounts with a balance
    #: but no movement it passes), in number order, each with its figures for the whole period
    accounts: list[LedgerAccount]
    #: this page's postings, in account number, date, entry and posting order
    lines: list[LedgerPosting]
    #: the next page's cursor (None on the last page)
    next_cursor: str | None
    #: the accounts whose first posting of the period is on this page / whose last is
    starts: frozenset[int] = field(default_factory=frozenset)
    ends: frozenset[int] = field(default_factory=frozenset)

    def account(self, account_id: int) -> LedgerAccount:
        return next(a for a in self.accounts if a.account_id == account_id)

    def table(self) -> Table:
        """This page as rows: an account's opening balance row before its first posting,
        its closing row after its last (the whole ledger: :func:`general_ledger_table`)."""
        return GL_HEADERS, _ledger_rows(self)


GL_HEADERS = [
    "Account",
    "Name",
    "Date",
    "Entry",
    "Reference",
    "Memo",
    "File",
    "Debit",
    "Credit",
    "Balance",
]


def _ledger_rows(page: GeneralLedgerPage) -> Iterator[Row]:
    by_account: dict[int, list[LedgerPosting]] = defaultdict(list)
    for line in page.lines:
        by_account[line.account_id].append(line)
    for a in page.accounts:
        if a.account_id not in by_account and a.account_id not in page.starts | page.ends:
            continue
        if a.account_id in page.starts:
            yield (a.number, a.name, page.start, "", "", "Opening balance", "", None, None,
                   a.opening_cents)  # fmt: skip
        for line in by_account.get(a.account_id, ()):
            yield (
                a.number,
                a.name,
                line.date,
                f"JE{line.entry_id}",
                line.reference,
                line.memo,
                line.file_number,
                line.debit_cents or None,
                line.credit_cents or None,
                line.balance_cents,
            )
        if a.account_id in page.ends:
            yield (a.number, a.name, page.end, "", "", "Closing balance", "", a.debit_cents,
                   a.credit_cents, a.closing_cents)  # fmt: skip


_GL_SALT = "casebridge.books.general-ledger"


@dataclass(frozen=True)
class _Resume:
    """Where a ledger page resumes: the account, and inside it (``mid``) after the last
    posting read, with the account's figures and the running balance after that posting.
    ``mark``: the largest posting id when the first page was read; every page counts only
    the postings up to it, so an entry posted while the pages are walked is in none of
    them and the figures agree with the running balances (ADR 0042)."""

    account_id: int
    mark: int = 0
    mid: bool = False
    date: dt.date | None = None
    entry_id: int = 0
    posting_id: int = 0
    running_cents: int = 0
    opening_cents: int = 0
    debit_cents: int = 0
    credit_cents: int = 0


def _gl_cursor(
    firm: Firm, start: dt.date, end: dt.date, account_id: int | None, resume: _Resume
) -> str:
    return signing.Signer(salt=_GL_SALT).sign_object(
        [
            firm.pk,
            start.isoformat(),
            end.isoformat(),
            account_id,
            resume.account_id,
            resume.mark,
            resume.mid,
            resume.date.isoformat() if resume.date else None,
            resume.entry_id,
            resume.posting_id,
            resume.running_cents,
            resume.opening_cents,
            resume.debit_cents,
            resume.credit_cents,
        ]
    )


def _read_gl_cursor(
    cursor: str, firm: Firm, start: dt.date, end: dt.date, account_id: int | None
) -> _Resume:
    bad = ValidationFailed(
        "cursor: not a cursor of this ledger and period; pass a page's `next` unchanged, "
        "or leave cursor out for the first page",
        field="cursor",
    )
    try:
        data = signing.Signer(salt=_GL_SALT).unsign_object(cursor)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise bad from None
    if not isinstance(data, list) or len(data) != 14:
        raise bad
    if data[:4] != [firm.pk, start.isoformat(), end.isoformat(), account_id]:
        raise bad
    acct, mark, mid, day, *numbers = data[4:]
    try:
        return _Resume(
            int(acct),
            int(mark),
            bool(mid),
            dt.date.fromisoformat(day) if day else None,
            *(int(n) for n in numbers),
        )
    except (TypeError, ValueError):
        raise bad from None


#: Accounts whose figures one grouped query sums (a page needing more asks again).
GL_FIGURES_BATCH = 200


def _accounts_figures(
    accounts: list[GLAccount], start: dt.date, end: dt.date, mark: int
) -> dict[int, tuple[int, int, int]]:
    """Each account's opening balance (normal sign) and its debits and credits of the
    period, counting its postings up to ``end`` with an id up to ``mark``: one grouped
    query for all of ``accounts`` (never one per account); an account without a posting
    is all zeros."""
    before = Q(entry__date__lt=start)
    within = Q(entry__date__gte=start)
    rows = (
        Posting.objects.filter(
            account_id__in=[a.pk for a in accounts], entry__date__lte=end, pk__lte=mark
        )
        .values("account_id")
        .annotate(
            od=Sum("debit_cents", filter=before),
            oc=Sum("credit_cents", filter=before),
            d=Sum("debit_cents", filter=within),
            c=Sum("credit_cents", filter=within),
        )
        .order_by()
    )
    sums = {r["account_id"]: r for r in rows}
    figures = {}
    for a in accounts:
        r = sums.get(a.pk)
        if r is None:
            figures[a.pk] = (0, 0, 0)
            continue
        opening = _normal(a.type, (r["od"] or 0) - (r["oc"] or 0))
        figures[a.pk] = (opening, int(r["d"] or 0), int(r["c"] or 0))
    return figures


def general_ledger(
    *,
    firm: Firm,
    start: dt.date | None = None,
    end: dt.date | None = None,
    account_id: int | None = None,
    cursor: str | None = None,
    limit: int = GL_PAGE_DEFAULT,
) -> GeneralLedgerPage:
    """One page of the general ledger detail from ``start`` to ``end`` (default: the
    fiscal year to today): one account's (``account_id``) or every account's postings with
    their running balance, each account's opening balance (its postings before ``start``),
    debits, credits and closing balance. Only postings dated up to ``end`` count, so a
    void dated later is not in it; an account with neither a balance nor a movement is
    left out of every accounts' ledger.

    Keyset-paged: a page reads at most ``limit`` postings after the cursor's (account
    number, date, entry, posting) and never loads an account's postings at once; the
    figures of the accounts a page walks are summed by one grouped query (per
    ``GL_FIGURES_BATCH`` accounts), then one query reads each account's postings on the
    page. The cursor is signed and carries the running balance and the figures of the
    account it resumes in, so a page costs the same at any depth, and the high-water mark
    (the largest posting id when the first page was read): every page and figure counts
    only the postings up to it, so the walk is one consistent ledger even when entries
    are posted meanwhile. A cursor of another firm, account or period, or tampered with,
    is a 422 naming ``cursor``."""
    start, end = check_period(start, end, firm=firm)
    if not 1 <= limit <= GL_PAGE_MAX:
        raise ValidationFailed(f"limit must be from 1 to {GL_PAGE_MAX}", field="limit")
    chart = GLAccount.objects.filter(firm=firm).order_by("number")
    if account_id is not None:
        chart = chart.filter(pk=account_id)
    accounts = list(chart)
    if account_id is not None and not accounts:
        raise ValidationFailed("account not found in this firm", field="account")
    resume = _read_gl_cursor(cursor, firm, start, end, account_id) if cursor else None
    at = 0
    if resume is not None:
        at = next((i for i, a in enumerate(accounts) if a.pk == resume.account_id), -1)
        if at < 0:
            raise ValidationFailed("cursor: not a cursor of this ledger", field="cursor")
        mark = resume.mark
    else:
        mark = posting_mark(firm)
    figures_of: dict[int, tuple[int, int, int]] = {}
    shown: list[LedgerAccount] = []
    lines: list[LedgerPosting] = []
    starts: set[int] = set()
    ends: set[int] = set()
    next_at: _Resume | None = None
    for i, acct in enumerate(accounts[at:], start=at):
        mid = resume is not None and resume.mid and resume.account_id == acct.pk
        if lines and len(lines) == limit:
            next_at = _Resume(acct.pk, mark)
            break
        if mid:
            assert resume is not None
            opening, debits, credits = resume.opening_cents, resume.debit_cents, resume.credit_cents
        else:
            if acct.pk not in figures_of:
                batch = accounts[i : i + GL_FIGURES_BATCH]
                figures_of.update(_accounts_figures(batch, start, end, mark))
            opening, debits, credits = figures_of[acct.pk]
            if account_id is None and not opening and not debits and not credits:
                continue
        figures = LedgerAccount(
            acct.pk,
            acct.number,
            acct.name,
            acct.type,
            opening,
            debits,
            credits,
            opening + _normal(acct.type, debits - credits),
        )
        shown.append(figures)
        if not mid:
            starts.add(acct.pk)
        if not debits and not credits:
            ends.add(acct.pk)  # no posting in the period: its opening is its closing
            continue
        room = limit - len(lines)
        # The entry's firm too: PostgreSQL then walks the (firm, date) index in date order
        # and looks each entry's posting up by (account, entry), stopping at the page's
        # end, where the account has many postings (a few ms a page at any depth).
        qs = Posting.objects.filter(
            account_id=acct.pk,
            entry__firm=firm,
            entry__date__gte=start,
            entry__date__lte=end,
            pk__lte=mark,
        )
        running = opening
        if mid:
            assert resume is not None
            assert resume.date is not None
            day, running = resume.date, resume.running_cents
            qs = qs.filter(
                Q(entry__date__gte=day),
                Q(entry__date__gt=day)
                | Q(entry_id__gt=resume.entry_id)
                | Q(entry_id=resume.entry_id, pk__gt=resume.posting_id),
            )
        rows = list(
            qs.order_by("entry__date", "entry_id", "pk").values_list(
                "pk",
                "entry_id",
                "entry__date",
                "entry__posting_reference",
                "entry__memo",
                "memo",
                "file__number",
                "debit_cents",
                "credit_cents",
            )[: room + 1]
        )
        for pk, entry_id, day, ref, entry_memo, memo, file_number, d, c in rows[:room]:
            running += _normal(acct.type, d - c)
            lines.append(
                LedgerPosting(
                    acct.pk,
                    pk,
                    entry_id,
                    day,
                    ref,
                    memo or entry_memo,
                    file_number or "",
                    d,
                    c,
                    running,
                )
            )
        if len(rows) > room:
            last = lines[-1]
            next_at = _Resume(
                acct.pk, mark, True, last.date, last.entry_id, last.posting_id, running, opening,
                debits, credits,
            )  # fmt: skip
            break
        ends.add(acct.pk)
    next_cursor = _gl_cursor(firm, start, end, account_id, next_at) if next_at else None
    return GeneralLedgerPage(
        start, end, shown, lines, next_cursor, frozenset(starts), frozenset(ends)
    )


def general_ledger_table(
    *,
    firm: Firm,
    start: dt.date | None = None,
    end: dt.date | None = None,
    account_id: int | None = None,
    page_size: int = GL_PAGE_MAX,
) -> Table:
    """The whole ledger detail as one table, read page by page (constant memory: one page
    of postings at a time): each account's opening row, postings and closing row."""
    first = general_ledger(firm=firm, start=start, end=end, account_id=account_id, limit=page_size)

    def rows() -> Iterator[Row]:
        page: GeneralLedgerPage | None = first
        while page is not None:
            yield from page.table()[1]
            if page.next_cursor is None:
                break
            page = general_ledger(
                firm=firm,
                start=page.start,
                end=page.end,
                account_id=account_id,
                cursor=page.next_cursor,
                limit=page_size,
            )

    return GL_HEADERS, rows()


# --- operating-account cost advances by file ------------------------------------------------


@dataclass(frozen=True)
class CostAdvanceRow:
    file_id: int | None
    file_number: str
    file_name: str
    client: str
    #: advances (debits to Advanced client costs) dated by the day, voided ones left out
    advanced_cents: int
    #: recovered from a settlement or invoice, or written off (credits), voids left out
    recovered_cents: int
    unrecovered_cents: int
    #: the oldest advance not yet recovered (first in, first out); None when nothing is
    oldest_unrecovered: dt.date | None
    age_days: int | None
    #: the unrecovered amount by the age of the advances it is made of (AGING_BUCKETS)
    buckets_cents: tuple[int, int, int, int]


@dataclass(frozen=True)
class CostAdvances:
    as_of: dt.date
    account_number: str
    account_name: str
    #: files with an unrecovered balance (or over-recovered: a negative one), by file number;
    #: postings without a file come last as one row (file_id None)
    rows: list[CostAdvanceRow]
    advanced_cents: int
    recovered_cents: int
    unrecovered_cents: int
    buckets_cents: tuple[int, int, int, int]

    def table(self) -> Table:
        headers = [
            "File",
            "Name",
            "Client",
            "Advanced",
            "Recovered",
            "Unrecovered",
            "Oldest unrecovered",
            "Age (days)",
            *(f"{label} days" for label, _, _ in AGING_BUCKETS),
        ]

        def rows() -> Iterator[Row]:
            for r in self.rows:
                yield (
                    r.file_number,
                    r.file_name,
                    r.client,
                    r.advanced_cents,
                    r.recovered_cents,
                    r.unrecovered_cents,
                    r.oldest_unrecovered,
                    r.age_days,
                    *r.buckets_cents,
                )
            yield (
                "Total",
                "",
                "",
                self.advanced_cents,
                self.recovered_cents,
                self.unrecovered_cents,
                None,
                None,
                *self.buckets_cents,
            )

        return headers, rows()


def _bucket_filters(day: dt.date) -> list[Q]:
    """Each aging bucket as a filter on the advance's date: an advance dated D is
    ``day - D`` days old, so it is in a bucket when D is from ``day - high`` to
    ``day - low`` (no date arithmetic in SQL, the same on both databases)."""

    def days_before(days: int) -> dt.date | None:
        try:
            return day - dt.timedelta(days=days)
        except OverflowError:  # before 1 January of year 1: no advance is dated then
            return None

    filters = []
    for _, low, high in AGING_BUCKETS:
        newest = days_before(low)
        if newest is None:
            # the bucket's newest day is before the calendar's first: no advance is in it
            filters.append(Q(entry__date__lt=dt.date.min))
            continue
        within = Q(entry__date__lte=newest)
        oldest = days_before(high) if high is not None else None
        if oldest is not None:
            within &= Q(entry__date__gte=oldest)
        filters.append(within)
    return filters


def _as_date(value: object) -> dt.date | None:
    """A date read back from raw SQL (SQLite answers its ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _counted_advances(firm: Firm, account: GLAccount, day: dt.date) -> QuerySet[Posting]:
    """The account's postings dated by ``day`` less the pairs that cancel out: an entry
    and its reversal both dated by the day (a reversal of a reversal would be an entry of
    its own, paired with its own reversal). Both sets are read as ``IN`` lists of the
    firm's reversals (few rows: hashed once), never a join per posting."""
    reversals = JournalEntry.objects.filter(firm=firm, reverses__isnull=False)
    reversed_by_day = reversals.filter(date__lte=day).values("reverses_id")
    return (
        Posting.objects.filter(account=account, entry__date__lte=day)
        .exclude(Q(entry__reverses__isnull=True) & Q(entry_id__in=reversed_by_day))
        .exclude(
            Q(entry__reverses__isnull=False) & ~Q(entry__reverses_id__in=reversals.values("pk"))
        )
    )


def _oldest_unrecovered(
    counted: QuerySet[Posting], fids: list[int | None]
) -> dict[int | None, dt.date]:
    """The date of the oldest advance still (partly) unrecovered, for files part of
    whose advances were recovered: walking each file's advances newest first (date,
    entry, posting), the first whose newer advances alone do not cover what the file
    owes. One query: two window sums per file (what it owes; the advances up to and
    including each, newest first), grouped by file."""
    wanted = Q(file_id__in=[f for f in fids if f is not None])
    if None in fids:
        wanted |= Q(file_id__isnull=True)
    by_file = [F("file_id")]
    postings = (
        counted.filter(wanted)
        .order_by()
        .annotate(
            fid=F("file_id"),
            dated=F("entry__date"),
            dr=F("debit_cents"),
            owed=Window(Sum(F("debit_cents") - F("credit_cents")), partition_by=by_file),
            newer=Window(
                Sum("debit_cents"),
                partition_by=by_file,
                order_by=[F("entry__date").desc(), F("entry_id").desc(), F("pk").desc()],
                frame=RowRange(start=None, end=0),
            ),
        )
        .values("fid", "dated", "dr", "owed", "newer")
    )
    inner_sql, params = postings.query.get_compiler(using=postings.db).as_sql()
    sql = f"""
        SELECT fid, MIN(dated) FROM ({inner_sql}) postings
        WHERE dr > 0 AND owed - (newer - dr) > 0
        GROUP BY fid
    """  # noqa: S608 - the inner query is Django's, the rest constant; values are bound
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {fid: d for fid, value in cursor.fetchall() if (d := _as_date(value))}


def _allocate_newest_first(owed: int, bucket_advances: list[int]) -> tuple[int, int, int, int]:
    """``owed`` spread over the buckets' advances newest first (0-30 days first): FIFO
    recovery leaves the newest advances unrecovered, and the buckets are consecutive
    date ranges, so each takes what is owed beyond the newer buckets, at most its own."""
    parts, left = [], max(owed, 0)
    for cents in bucket_advances:
        part = min(left, cents)
        parts.append(part)
        left -= part
    return (parts[0], parts[1], parts[2], parts[3])


def cost_advances_by_file(
    *, firm: Firm, as_of: dt.date | None = None, file_ids: Iterable[int] | None = None
) -> CostAdvances:
    """What the firm has advanced for each file's costs and not yet recovered, as of
    ``as_of`` (default today): the postings to the Advanced client costs account
    (domain.md 4: an advance is Dr Advanced client costs / Cr Operating bank; recovery
    from the settlement or an invoice and a write-off credit it) dated on or before the
    day. A voided advance and its void cancel out when the void is dated by the day, so
    they are in neither column; voided later, the advance still counts.

    Recoveries pay the oldest advances first: the unrecovered amount is the newest
    advances', each aged from its date to the day (0-30, 31-60, 61-90, 90+ days). Files
    whose advances are all recovered are left out.

    Set-based (ADR 0053): one grouped query answers per file what was advanced and
    recovered, the advances dated in each aging bucket and the oldest advance; what is
    owed is spread over the buckets newest first in Python, per file (never per
    posting). The oldest unrecovered advance is the oldest advance when nothing was
    recovered; for the files part recovered, one more query with window sums finds it
    (:func:`_oldest_unrecovered`). Then one query for the files' numbers and clients."""
    day = as_of or clock.today()
    account = GLAccount.objects.filter(firm=firm, role=AccountRole.ADVANCED_COSTS).first()
    if account is None:
        return CostAdvances(day, "", "", [], 0, 0, 0, (0, 0, 0, 0))
    counted = _counted_advances(firm, account, day)
    if file_ids is not None:
        counted = counted.filter(file_id__in=list(file_ids))
    buckets = {
        f"b{i}": Sum("debit_cents", filter=within) for i, within in enumerate(_bucket_filters(day))
    }
    grouped = {
        r["file_id"]: r
        for r in counted.values("file_id")
        .annotate(
            d=Sum("debit_cents"),
            c=Sum("credit_cents"),
            oldest=Min("entry__date", filter=Q(debit_cents__gt=0)),
            **buckets,
        )
        .order_by()
    }
    # a reversal mirrors its entry, so a pair nets to 0 on the account: what is left out
    # above changes no balance (the tests hold the total to the account's).
    open_files = {fid: r for fid, r in grouped.items() if (r["d"] or 0) != (r["c"] or 0)}
    part_recovered = [
        fid for fid, r in open_files.items() if (r["c"] or 0) > 0 and r["d"] > (r["c"] or 0)
    ]
    oldest_of = _oldest_unrecovered(counted, part_recovered) if part_recovered else {}
    files = {
        f.pk: f
        for f in File.objects.filter(firm=firm, pk__in=[k for k in open_files if k is not None])
        .select_related("client")
        .only("number", "name", "client__name")
    }
    rows = []
    for fid in sorted(open_files, key=lambda k: (k is None, files[k].number if k else "")):
        r = open_files[fid]
        d, c = int(r["d"] or 0), int(r["c"] or 0)
        owed = d - c
        parts = _allocate_newest_first(owed, [int(r[f"b{i}"] or 0) for i in range(4)])
        oldest = None
        if owed > 0:
            oldest = r["oldest"] if c == 0 else oldest_of.get(fid)
        f = files.get(fid) if fid is not None else None
        rows.append(
            CostAdvanceRow(
                fid,
                f.number if f else "",
                f.name if f else "(no file)",
                f.client.name if f else "",
                d,
                c,
                owed,
                oldest,
                (day - oldest).days if oldest else None,
                parts,
            )
        )
    bucket_totals = tuple(sum(r.buckets_cents[i] for r in rows) for i in range(4))
    return CostAdvances(
        as_of=day,
        account_number=account.number,
        account_name=account.name,
        rows=rows,
        advanced_cents=sum(r.advanced_cents for r in rows),
        recovered_cents=sum(r.recovered_cents for r in rows),
        unrecovered_cents=sum(r.unrecovered_cents for r in rows),
        buckets_cents=(bucket_totals[0], bucket_totals[1], bucket_totals[2], bucket_totals[3]),
    )
