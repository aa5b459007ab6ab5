"""Financial statements (issue 15, ADR 0042): profit and loss, balance sheet, general
ledger detail and cost advances by file, under Reports. Reads only, so their forms use GET;
each is as of a day (its "As of" or "To" field; blank is today), from
``books.selectors.financial``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import (
    BalanceSheetForm,
    FinancialAsOfForm,
    GeneralLedgerForm,
    ProfitLossForm,
)
from casebridge.books.selectors import financial
from casebridge.core.errors import DomainError
from casebridge.web.popups import INVALID, apply_domain_error

NAV = {"nav": "reports"}


def _run(
    form: forms.Form, compute: Any, field_map: dict[str, str] | None = None
) -> tuple[Any, int]:
    """The report from ``compute(cleaned_data)`` for a bound, valid form; a refusal is put
    on the form's field (422), or above the form."""
    if not form.is_bound:
        return None, 200
    if not form.is_valid():
        return None, INVALID
    try:
        return compute(form.cleaned_data), 200
    except DomainError as exc:
        apply_domain_error(form, exc, field_map)
        return None, INVALID


@books_login_required()
def profit_and_loss_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = ProfitLossForm(request.GET or None)
    pl, status = _run(
        form,
        lambda d: financial.profit_and_loss(
            firm=firm,
            start=d["start"],
            end=d["end"],
            by_month=d["by_month"],
            comparison=d["comparison"] or "none",
        ),
    )
    if pl is None and status == 200:
        pl = financial.profit_and_loss(firm=firm)
    return render(
        request,
        "books/reports/profit_and_loss.html",
        {
            **NAV,
            "form": form,
            "pl": pl,
            "columns": len(pl.months) + (4 if pl.comparison_start else 2) if pl else 0,
        },
        status=status,
    )


@books_login_required()
def balance_sheet_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = BalanceSheetForm(request.GET or None)
    bs, status = _run(
        form,
        lambda d: financial.balance_sheet(
            firm=firm, as_of=d["as_of"], comparison=d["comparison"], compare_to=d["compare_to"]
        ),
    )
    if bs is None and status == 200:
        bs = financial.balance_sheet(firm=firm)
    return render(
        request,
        "books/reports/balance_sheet.html",
        {
            **NAV,
            "form": form,
            "bs": bs,
            "sections": [bs.assets, bs.liabilities, bs.equity] if bs else [],
            "columns": 4 if bs is not None and bs.comparison_as_of else 2,
        },
        status=status,
    )


@books_login_required()
def general_ledger_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = GeneralLedgerForm(request.GET or None, firm=firm)
    page, status = _run(
        form,
        lambda d: financial.general_ledger(
            firm=firm,
            start=d["start"],
            end=d["end"],
            account_id=d["account"].pk if d["account"] else None,
            cursor=d["cursor"] or None,
            limit=100,
        ),
        {"cursor": "__all__"},  # a bad cursor: above the form
    )
    if page is None and status == 200:
        page = financial.general_ledger(firm=firm, limit=100)
    sections: list[dict[str, Any]] = []
    next_url = first_url = None
    if page is not None:
        by_account: dict[int, list[financial.LedgerPosting]] = {}
        for line in page.lines:
            by_account.setdefault(line.account_id, []).append(line)
        sections = [
            {
                "account": a,
                "lines": by_account.get(a.account_id, []),
                "opening": a.account_id in page.starts,
                "closing": a.account_id in page.ends,
            }
            for a in page.accounts
            if a.account_id in by_account or a.account_id in page.starts | page.ends
        ]
        chosen = form.cleaned_data.get("account") if form.is_bound else None
        query = {
            "start": page.start.isoformat(),
            "end": page.end.isoformat(),
            "account": chosen.pk if chosen else "",
        }
        if page.next_cursor:
            next_url = "?" + urlencode({**query, "cursor": page.next_cursor})
        if form.is_bound and form.cleaned_data.get("cursor"):
            first_url = "?" + urlencode(query)
    return render(
        request,
        "books/reports/general_ledger.html",
        {
            **NAV,
            "form": form,
            "page": page,
            "sections": sections,
            "next_url": next_url,
            "first_url": first_url,
        },
        status=status,
    )


@books_login_required()
def cost_advances_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = FinancialAsOfForm(request.GET or None)
    report, status = _run(
        form, lambda d: financial.cost_advances_by_file(firm=firm, as_of=d["as_of"])
    )
    if report is None and status == 200:
        report = financial.cost_advances_by_file(firm=firm)
    return render(
        request,
        "books/reports/cost_advances.html",
        {
            **NAV,
            "form": form,
            "report": report,
            "buckets": [label for label, _, _ in financial.AGING_BUCKETS],
            "bucket_totals": [
                (label, cents)
                for (label, _, _), cents in zip(
                    financial.AGING_BUCKETS, report.buckets_cents if report else (), strict=False
                )
            ],
        },
        status=status,
    )
