"""Financial statements (issue 15, ADR 0042): profit and loss, balance sheet, general
ledger detail and the operating account's cost advances by file
(``books.selectors.financial``), each as of a day: only entries dated on or before it count,
and a void counts from the day it is dated.

A period is ``from`` and ``to`` (both included; ``to`` default today, ``from`` default the
first day of the firm's fiscal year ``to`` is in: ``GET /fiscal-year``); ``to`` before
``from`` is 422 naming ``to``, a period longer than ten years 422 naming ``from``, a date
that is not one 422 naming its field. A balance sheet may be compared with another day
(``comparison``, ``compare_to``). Amounts are decimal strings in the account's normal
sign (income, expenses, liabilities and equity positive when they are what they should
be)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import ConfigDict, Field

from casebridge.books.api.security import context
from casebridge.books.models import Firm, GLAccount
from casebridge.books.selectors import financial
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    CURSOR_HELP,
    ERRORS,
    MAX_CURSOR_LENGTH,
    NEXT_HELP,
    Clean,
    Id,
    Money,
    Out,
    money,
)

router = Router(tags=["reports"])

AS_OF = "Default: today. Only entries dated on or before it count."


class PeriodIn(Clean):
    model_config = ConfigDict(str_strip_whitespace=True, populate_by_name=True)

    start: dt.date | None = Field(
        None,
        alias="from",
        description="The first day (default: the first day of the firm's fiscal year `to` is in).",
    )
    end: dt.date | None = Field(
        None, alias="to", description="The last day, included (default: today)."
    )

    def period(self, firm: Firm) -> tuple[dt.date, dt.date]:
        """The period, refused on the API's field names (``from``, ``to``)."""
        return financial.check_period(self.start, self.end, firm=firm, names=("from", "to"))


# --- profit and loss ------------------------------------------------------------------------


class ProfitLossIn(PeriodIn):
    by_month: bool = Field(False, description="A column per calendar month (at most 36).")
    comparison: Literal["none", "previous_period", "previous_year"] = Field(
        "none",
        description="Compare with the same days a year earlier, or the period of the same "
        "length just before.",
    )


class ProfitLossRowOut(Out):
    account_id: int
    number: str
    name: str
    months: list[Money] = Field(description="One figure per month column (by_month).")
    total: Money
    comparison: Money | None
    difference: Money | None = Field(description="total - comparison")


class ProfitLossSectionOut(Out):
    rows: list[ProfitLossRowOut]
    months: list[Money]
    total: Money
    comparison: Money | None
    difference: Money | None


class ProfitLossOut(Out):
    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    months: list[str] = Field(description="The month columns, YYYY-MM.")
    comparison: str
    comparison_from: dt.date | None
    comparison_to: dt.date | None
    income: ProfitLossSectionOut
    expenses: ProfitLossSectionOut
    net_months: list[Money]
    net_income: Money
    comparison_net_income: Money | None
    net_difference: Money | None


def _m(cents: int | None) -> str | None:
    return None if cents is None else money(cents)


def _pl_section(section: financial.ProfitLossSection) -> ProfitLossSectionOut:
    return ProfitLossSectionOut(
        rows=[
            ProfitLossRowOut(
                account_id=r.account_id,
                number=r.number,
                name=r.name,
                months=[money(c) for c in r.months_cents],
                total=money(r.total_cents),
                comparison=_m(r.comparison_cents),
                difference=_m(r.difference_cents),
            )
            for r in section.rows
        ],
        months=[money(c) for c in section.months_cents],
        total=money(section.total_cents),
        comparison=_m(section.comparison_cents),
        difference=_m(section.difference_cents),
    )


@router.get("/reports/profit-and-loss", response={200: ProfitLossOut, **ERRORS}, by_alias=True)
def profit_and_loss(request: HttpRequest, params: Query[ProfitLossIn]) -> ProfitLossOut:
    """Income and expense accounts for a period, net income, optionally by month and
    compared with another period."""
    firm = context(request).firm
    start, end = params.period(firm)
    pl = financial.profit_and_loss(
        firm=firm,
        start=start,
        end=end,
        by_month=params.by_month,
        comparison=params.comparison,
    )
    return ProfitLossOut(
        start=pl.start,
        end=pl.end,
        months=[m.strftime("%Y-%m") for m in pl.months],
        comparison=pl.comparison,
        comparison_from=pl.comparison_start,
        comparison_to=pl.comparison_end,
        income=_pl_section(pl.income),
        expenses=_pl_section(pl.expenses),
        net_months=[money(c) for c in pl.net_months_cents],
        net_income=money(pl.net_income_cents),
        comparison_net_income=_m(pl.comparison_net_income_cents),
        net_difference=_m(pl.net_difference_cents),
    )


# --- balance sheet --------------------------------------------------------------------------


class BalanceSheetIn(Clean):
    as_of: dt.date | None = Field(None, description=AS_OF)
    comparison: Literal["none", "year_earlier", "fiscal_year_end", "date"] = Field(
        "none",
        description="A second column as of another day: the same day a year earlier, the "
        "last day of the previous fiscal year, or `compare_to`.",
    )
    compare_to: dt.date | None = Field(
        None, description="The day compared with: required with comparison=date, else refused."
    )


class BalanceSheetRowOut(Out):
    account_id: int | None = Field(description="null for retained and current-year earnings")
    number: str
    name: str
    balance: Money
    comparison: Money | None = Field(description="The balance on comparison_as_of.")
    difference: Money | None = Field(description="balance - comparison")


class BalanceSheetSectionOut(Out):
    rows: list[BalanceSheetRowOut]
    total: Money
    comparison: Money | None
    difference: Money | None


class BalanceSheetOut(Out):
    as_of: dt.date
    fiscal_year_start: dt.date = Field(
        description="The first day of the firm's fiscal year as_of is in (GET /fiscal-year)."
    )
    assets: BalanceSheetSectionOut
    liabilities: BalanceSheetSectionOut
    equity: BalanceSheetSectionOut
    retained_earnings: Money
    current_year_earnings: Money
    total_liabilities_and_equity: Money
    comparison: str
    comparison_as_of: dt.date | None
    comparison_fiscal_year_start: dt.date | None = Field(
        description="Where the compared day's retained and current-year earnings split."
    )
    comparison_retained_earnings: Money | None
    comparison_current_year_earnings: Money | None
    comparison_total_liabilities_and_equity: Money | None
    total_liabilities_and_equity_difference: Money | None
    is_balanced: bool = Field(description="Assets = liabilities + equity in each column.")


def _bs_section(section: financial.BalanceSheetSection) -> BalanceSheetSectionOut:
    return BalanceSheetSectionOut(
        rows=[
            BalanceSheetRowOut(
                account_id=r.account_id,
                number=r.number,
                name=r.name,
                balance=money(r.balance_cents),
                comparison=_m(r.comparison_cents),
                difference=_m(r.difference_cents),
            )
            for r in section.rows
        ],
        total=money(section.total_cents),
        comparison=_m(section.comparison_cents),
        difference=_m(section.difference_cents),
    )


@router.get("/reports/balance-sheet", response={200: BalanceSheetOut, **ERRORS})
def balance_sheet(request: HttpRequest, params: Query[BalanceSheetIn]) -> BalanceSheetOut:
    """Assets, liabilities and equity (with retained and current-year earnings) as of a
    day: assets = liabilities + equity to the cent; optionally beside the same statement
    as of another day, with the difference."""
    bs = financial.balance_sheet(
        firm=context(request).firm,
        as_of=params.as_of,
        comparison=params.comparison,
        compare_to=params.compare_to,
    )
    return BalanceSheetOut(
        as_of=bs.as_of,
        fiscal_year_start=bs.fiscal_year_start,
        assets=_bs_section(bs.assets),
        liabilities=_bs_section(bs.liabilities),
        equity=_bs_section(bs.equity),
        retained_earnings=money(bs.retained_earnings_cents),
        current_year_earnings=money(bs.current_year_earnings_cents),
        total_liabilities_and_equity=money(bs.total_liabilities_and_equity_cents),
        comparison=bs.comparison,
        comparison_as_of=bs.comparison_as_of,
        comparison_fiscal_year_start=bs.comparison_fiscal_year_start,
        comparison_retained_earnings=_m(bs.comparison_retained_earnings_cents),
        comparison_current_year_earnings=_m(bs.comparison_current_year_earnings_cents),
        comparison_total_liabilities_and_equity=_m(
            bs.comparison_total_liabilities_and_equity_cents
        ),
        total_liabilities_and_equity_difference=_m(
            bs.total_liabilities_and_equity_difference_cents
        ),
        is_balanced=bs.is_balanced,
    )


# --- general ledger detail ------------------------------------------------------------------


class GeneralLedgerIn(PeriodIn):
    account_id: Id | None = Field(None, description="One account (default: every account).")
    limit: int = Field(
        financial.GL_PAGE_DEFAULT, ge=1, le=financial.GL_PAGE_MAX, description="Postings a page."
    )
    cursor: str | None = Field(None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_HELP)


class LedgerAccountOut(Out):
    account_id: int
    number: str
    name: str
    type: str
    opening: Money
    debits: Money
    credits: Money
    closing: Money


class LedgerPostingOut(Out):
    account_id: int
    posting_id: int
    entry_id: int
    date: dt.date
    reference: str
    memo: str
    file_number: str
    debit: Money
    credit: Money
    balance: Money = Field(description="The account's running balance (normal sign).")


class GeneralLedgerOut(Out):
    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    accounts: list[LedgerAccountOut]
    items: list[LedgerPostingOut]
    next: str | None = Field(description=NEXT_HELP)


@router.get("/reports/general-ledger", response={200: GeneralLedgerOut, **ERRORS}, by_alias=True)
def general_ledger(request: HttpRequest, params: Query[GeneralLedgerIn]) -> GeneralLedgerOut:
    """Each account's opening balance, postings with their running balance, and closing
    balance for a period; postings keyset-paged in account number, date and entry order."""
    firm = context(request).firm
    start, end = params.period(firm)
    if params.account_id is not None:
        get_or_404(GLAccount.objects.filter(firm=firm), params.account_id, field="account_id")
    page = financial.general_ledger(
        firm=firm,
        start=start,
        end=end,
        account_id=params.account_id,
        cursor=params.cursor,
        limit=params.limit,
    )
    return GeneralLedgerOut(
        start=page.start,
        end=page.end,
        accounts=[
            LedgerAccountOut(
                account_id=a.account_id,
                number=a.number,
                name=a.name,
                type=a.type,
                opening=money(a.opening_cents),
                debits=money(a.debit_cents),
                credits=money(a.credit_cents),
                closing=money(a.closing_cents),
            )
            for a in page.accounts
        ],
        items=[
            LedgerPostingOut(
                account_id=p.account_id,
                posting_id=p.posting_id,
                entry_id=p.entry_id,
                date=p.date,
                reference=p.reference,
                memo=p.memo,
                file_number=p.file_number,
                debit=money(p.debit_cents),
                credit=money(p.credit_cents),
                balance=money(p.balance_cents),
            )
            for p in page.lines
        ],
        next=page.next_cursor,
    )


# --- cost advances by file ------------------------------------------------------------------


class CostAdvancesIn(Clean):
    as_of: dt.date | None = Field(None, description=AS_OF)


class CostAdvanceRowOut(Out):
    file_id: int | None = Field(description="null: advances posted without a file")
    file_number: str
    file_name: str
    client: str
    advanced: Money
    recovered: Money = Field(description="Recovered from the settlement or written off.")
    unrecovered: Money
    oldest_unrecovered: dt.date | None
    age_days: int | None
    aging: dict[str, Money] = Field(description='By days: "0-30", "31-60", "61-90", "90+".')


class CostAdvancesOut(Out):
    as_of: dt.date
    account_number: str
    account_name: str
    rows: list[CostAdvanceRowOut]
    advanced: Money
    recovered: Money
    unrecovered: Money
    aging: dict[str, Money]


def _aging(buckets: tuple[int, ...]) -> dict[str, str]:
    return {
        label: money(c) for (label, _, _), c in zip(financial.AGING_BUCKETS, buckets, strict=True)
    }


@router.get("/reports/cost-advances", response={200: CostAdvancesOut, **ERRORS})
def cost_advances(request: HttpRequest, params: Query[CostAdvancesIn]) -> CostAdvancesOut:
    """Costs advanced from operating per file and not yet recovered, with the oldest
    unrecovered advance and the amount by age (recoveries pay the oldest first)."""
    report = financial.cost_advances_by_file(firm=context(request).firm, as_of=params.as_of)
    return CostAdvancesOut(
        as_of=report.as_of,
        account_number=report.account_number,
        account_name=report.account_name,
        rows=[
            CostAdvanceRowOut(
                file_id=r.file_id,
                file_number=r.file_number,
                file_name=r.file_name,
                client=r.client,
                advanced=money(r.advanced_cents),
                recovered=money(r.recovered_cents),
                unrecovered=money(r.unrecovered_cents),
                oldest_unrecovered=r.oldest_unrecovered,
                age_days=r.age_days,
                aging=_aging(r.buckets_cents),
            )
            for r in report.rows
        ],
        advanced=money(report.advanced_cents),
        recovered=money(report.recovered_cents),
        unrecovered=money(report.unrecovered_cents),
        aging=_aging(report.buckets_cents),
    )
