"""Reports: trial balance, client trust ledger, trust account journal, and the three-way
reconciliation (domain.md section 5). Reports only read, so their forms use GET.

Each is as of a day (its "As of" or "To" field; blank is today): only entries dated on or
before it count, so an entry dated later is never in a report of today."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import (
    ClientLedgerForm,
    ReconciliationForm,
    TrialBalanceForm,
    TrustJournalForm,
)
from casebridge.books.models import BankAccount, File, Firm, Posting
from casebridge.books.selectors import reports
from casebridge.core import clock
from casebridge.core.errors import DomainError
from casebridge.web.paging import paginate
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


class _JournalPages:
    """Lets Django's Paginator page the trust account journal selector: ``count()`` is
    one aggregate and each page one query with OFFSET/LIMIT. Without an end date the
    journal runs to today (an entry dated later is left out, as the selector does)."""

    def __init__(self, firm: Firm, bank: BankAccount, form_data: dict[str, Any]) -> None:
        self.firm, self.bank = firm, bank
        self.start = form_data.get("start")
        self.end = form_data.get("end") or clock.today()

    def _postings(self) -> Any:
        qs = Posting.objects.filter(account_id=self.bank.gl_account_id, entry__date__lte=self.end)
        if self.start:
            qs = qs.filter(entry__date__gte=self.start)
        return qs

    def count(self) -> int:
        return int(self._postings().count())

    def totals(self) -> tuple[int, int]:
        sums = self._postings().aggregate(d=Sum("debit_cents"), c=Sum("credit_cents"))
        return sums["d"] or 0, sums["c"] or 0

    def opening_cents(self) -> int:
        if not self.start:
            return 0
        sums = Posting.objects.filter(
            account_id=self.bank.gl_account_id, entry__date__lt=self.start
        ).aggregate(d=Sum("debit_cents"), c=Sum("credit_cents"))
        return (sums["d"] or 0) - (sums["c"] or 0)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[reports.JournalLine]:
        start = key.start or 0
        stop = key.stop if key.stop is not None else start + 50
        return reports.trust_account_journal(
            firm=self.firm,
            bank_account_id=self.bank.pk,
            start=self.start,
            end=self.end,
            offset=start,
            limit=max(stop - start, 0),
        )


@books_login_required()
def trust_journal_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = TrustJournalForm(request.GET or None, firm=firm)
    context: dict[str, Any] = {**NAV, "form": form}
    status = 200
    if form.is_bound:
        if form.is_valid():
            bank = form.cleaned_data["bank_account"]
            pages = _JournalPages(firm, bank, form.cleaned_data)
            debits, credits = pages.totals()
            opening = pages.opening_cents()
            context.update(
                bank=bank,
                start=pages.start,
                end=pages.end,
                page=paginate(request, pages),
                opening_cents=opening,
                deposits_cents=debits,
                disbursements_cents=credits,
                closing_cents=opening + debits - credits,
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
