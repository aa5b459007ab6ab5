"""Reports: trial balance, client trust ledger, trust account journal, and the three-way
reconciliation (domain.md section 5). Reports only read, so their forms use GET.

Each is as of a day (its "As of" or "To" field; blank is today): only entries dated on or
before it count, so an entry dated later is never in a report of today."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import (
    ClientLedgerForm,
    ReconciliationForm,
    TrialBalanceForm,
    TrustJournalForm,
)
from casebridge.books.models import File
from casebridge.books.selectors import reports
from casebridge.core import clock
from casebridge.core.errors import DomainError, ValidationFailed
from casebridge.web.paging import PER_PAGE, cursor_param, paginate
from casebridge.web.popups import INVALID, apply_domain_error

NAV = {"nav": "reports"}


@books_login_required()
def reports_index_view(request: HttpRequest) -> HttpResponse:
    return render(request, "books/reports/index.html", NAV)


@books_login_required()
def trial_balance_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = TrialBalanceForm(request.GET or None)
    as_of = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            as_of = form.cleaned_data["as_of"]
        else:
            status = INVALID
    tb = reports.trial_balance(firm=firm, as_of=as_of) if status == 200 else None
    return render(
        request,
        "books/reports/trial_balance.html",
        {
            **NAV,
            "form": form,
            "tb": tb,
            "page": paginate(request, tb.rows) if tb else None,
            "is_today": as_of is None,
            "difference_cents": (tb.total_debit_cents - tb.total_credit_cents) if tb else 0,
        },
        status=status,
    )


@books_login_required()
def client_ledger_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = ClientLedgerForm(request.GET or None)
    file = None
    ledger_pages: list[dict[str, Any]] = []
    as_of = clock.today()
    status = 200
    if form.is_bound:
        if form.is_valid():
            as_of = form.cleaned_data["as_of"] or as_of
            number = form.cleaned_data["file"].strip()
            file = (
                File.objects.filter(firm=firm, number__iexact=number)
                .select_related("client")
                .first()
            )
            if file is None:
                form.add_error("file", f"No file numbered {number} in this firm.")
                status = INVALID
            else:
                ledger_pages = [
                    {
                        "ledger": ledger,
                        "page": paginate(
                            request, ledger.lines, param=f"ledger{ledger.bank_account.pk}"
                        ),
                    }
                    for ledger in reports.client_trust_ledger(
                        firm=firm, file_id=file.pk, as_of=as_of
                    )
                ]
        else:
            status = INVALID
    recent = File.objects.filter(firm=firm).order_by("-pk").values_list("number", "name")[:200]
    return render(
        request,
        "books/reports/client_ledger.html",
        {
            **NAV,
            "form": form,
            "file": file,
            "ledger_pages": ledger_pages,
            "as_of": as_of,
            "recent": recent,
        },
        status=status,
    )


#: Movements a trust journal screen page shows.
JOURNAL_PAGE = PER_PAGE


@books_login_required()
def trust_journal_view(request: HttpRequest) -> HttpResponse:
    """Keyset-paged (ADR 0053): Next carries a signed cursor of the last movement shown
    and its running balance; a stale or edited one shows the first page with a notice."""
    firm = books_user(request).firm
    form = TrustJournalForm(request.GET or None, firm=firm)
    context: dict[str, Any] = {**NAV, "form": form}
    status = 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            bank = data["bank_account"]
            end = data["end"] or clock.today()
            cursor = cursor_param(request)

            def page_at(at: str | None) -> reports.TrustJournalPage:
                return reports.trust_account_journal(
                    firm=firm,
                    bank_account_id=bank.pk,
                    start=data["start"],
                    end=end,
                    cursor=at,
                    limit=JOURNAL_PAGE,
                )

            try:
                page = page_at(cursor)
            except ValidationFailed as refused:
                if refused.field != "cursor":
                    raise
                context["notice"] = "That page link is out of date; showing the first page."
                page, cursor = page_at(None), None
            query = {
                "bank_account": bank.pk,
                "start": data["start"].isoformat() if data["start"] else "",
                "end": end.isoformat(),
            }
            context.update(
                bank=bank,
                figures=page.figures,
                lines=page.lines,
                next_url="?" + urlencode({**query, "cursor": page.next_cursor})
                if page.next_cursor
                else "",
                first_url="?" + urlencode(query) if cursor else "",
            )
        else:
            status = INVALID
    return render(request, "books/reports/trust_journal.html", context, status=status)


@books_login_required()
def reconciliation_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = ReconciliationForm(request.GET or None, firm=firm)
    rec = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            try:
                rec = reports.three_way_reconciliation(
                    firm=firm,
                    bank_account_id=data["bank_account"].pk,
                    statement_balance_cents=data["statement_balance"],
                    deposits_in_transit_cents=data["deposits_in_transit"] or 0,
                    outstanding_checks_cents=data["outstanding_checks"],
                    as_of=data["as_of"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
                status = INVALID
        else:
            status = INVALID
    return render(
        request,
        "books/reports/reconciliation.html",
        {
            **NAV,
            "form": form,
            "rec": rec,
            "outstanding_page": paginate(request, rec.outstanding_checks) if rec else None,
        },
        status=status,
    )
