"""The monthly bank reconciliation (issue 11): per bank account and month the live figures
(statement balance, + deposits in transit, - outstanding checks, - reconciling items,
- cleared ahead, = adjusted; the journal balance; for trust the client ledgers), every
difference and note shown; Prepare, Sign (an attorney), the history of saved
reconciliations with the PDF and CSV downloads, and Reopen (an administrator).
Thin: ``selectors.bank`` computes, ``services.reconciliations`` saves and signs."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.models import (
    BankAccount,
    BankAccountKind,
    Firm,
    Reconciliation,
    ReconciliationStatus,
    User,
)
from casebridge.books.selectors.bank import BankReconciliation, bank_reconciliation, month_bounds
from casebridge.books.selectors.bank import parse_month as _parse_month
from casebridge.books.services import reconciliations as service
from casebridge.core import clock
from casebridge.core.errors import DomainError, ValidationFailed
from casebridge.core.money import cents_to_decimal
from casebridge.web.paging import paginate
from casebridge.web.popups import (
    INVALID,
    MoneyField,
    apply_domain_error,
    finish,
    popup_form,
)

#: The lists a reconciliation's CSV downloads carry (``exports.reconciliation.render_csv``).
CSV_LISTS = (
    ("outstanding_checks", "Outstanding checks"),
    ("deposits_in_transit", "Deposits in transit"),
    ("reconciling_items", "Reconciling items"),
    ("client_ledgers", "Client ledgers"),
)
_LIVE = (ReconciliationStatus.PREPARED, ReconciliationStatus.SIGNED)
#: The years a month may be typed in (the previous and next month links stay dates).
MIN_YEAR, MAX_YEAR = 1900, 2999


def last_complete_month_end(today: dt.date | None = None) -> dt.date:
    """The last day of the month before ``today``'s (default: the firm's today)."""
    return (today or clock.today()).replace(day=1) - dt.timedelta(days=1)


def month_url(bank: BankAccount, month_end: dt.date, **query: Any) -> str:
    params = {"month": month_end.strftime("%Y-%m"), **{k: v for k, v in query.items() if v}}
    return f"{reverse('books:bank_reconciliation', args=[bank.pk])}?{urlencode(params)}"


class MonthField(forms.CharField):
    """A month typed as YYYY-MM (the browser's month picker), cleaned to its last day."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "month"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return None
        try:
            month_end = _parse_month(text)
        except ValidationFailed:
            raise forms.ValidationError("Enter a month as YYYY-MM.") from None
        if not MIN_YEAR <= month_end.year <= MAX_YEAR:
            raise forms.ValidationError(f"Enter a month between {MIN_YEAR} and {MAX_YEAR}.")
        return month_end


class MonthForm(forms.Form):
    month = MonthField(label="Month")
    statement_balance = MoneyField(
        label="Statement ending balance",
        allow_negative=True,
        required=False,
        help_text="No statement of this month states its ending balance: type it from the "
        "bank's statement.",
    )


class ReopenForm(forms.Form):
    month = MonthField(label="Reopen from the month")
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        required=False,  # the service says what is missing
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept with the superseded reconciliations and in the audit trail.",
    )


def _bank(firm: Firm, pk: int) -> BankAccount:
    return get_object_or_404(BankAccount, firm=firm, pk=pk)


def _live_record(bank: BankAccount, month_end: dt.date) -> Reconciliation | None:
    return (
        Reconciliation.objects.filter(bank_account=bank, period_end=month_end, status__in=_LIVE)
        .select_related("prepared_by", "signed_by")
        .first()
    )


def _saved_balance(saved: Reconciliation | None) -> int | None:
    """The ending balance a record was prepared with when its month has no statement (so
    the live figures are those it was prepared with); None if it was prepared without."""
    if saved is None or saved.statement_id is not None:
        return None
    return saved.statement_balance_cents


def sign_state(user: User, saved: Reconciliation | None, month_end: dt.date) -> tuple[bool, str]:
    """Whether the Sign button is enabled for ``user``, and if not, why."""
    if saved is not None and saved.status == ReconciliationStatus.SIGNED:
        return False, "Signed."
    if not user.is_attorney:
        return False, (
            "Only an attorney may sign a reconciliation: an administrator ticks "
            "“Attorney (may sign reconciliations)” for them under Users."
        )
    if saved is None:
        return False, "Prepare the month first; then an attorney signs what was prepared."
    if month_end >= clock.today():
        return False, f"{month_end:%B %Y} has not ended yet."
    if saved.difference_cents != 0:
        return False, "The prepared month does not reconcile: resolve the differences first."
    return True, ""


def _render(
    request: HttpRequest,
    bank: BankAccount,
    form: MonthForm,
    *,
    sign_error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = books_user(request)
    month_end = last_complete_month_end()
    given: int | None = None
    if form.is_valid():
        month_end = form.cleaned_data["month"] or month_end
        given = form.cleaned_data["statement_balance"]
    elif "month" not in form.errors:
        month_end = form.cleaned_data.get("month") or month_end
    elif status == 200:
        status = INVALID
    saved = _live_record(bank, month_end)
    rec: BankReconciliation = bank_reconciliation(
        firm=user.firm, bank_account_id=bank.pk, period_end=month_end
    )
    needs_balance = rec.statement_balance_cents is None
    if needs_balance:
        given = given if given is not None else _saved_balance(saved)
        if given is not None:
            rec = bank_reconciliation(
                firm=user.firm,
                bank_account_id=bank.pk,
                period_end=month_end,
                statement_balance_cents=given,
            )
    if (
        needs_balance
        and given is not None
        and not form.errors
        and not form.data.get("statement_balance")
    ):  # the balance the month was prepared with, shown in its field
        data = {key: form.data.get(key) for key in ("month",)}
        data["statement_balance"] = str(cents_to_decimal(given))
        form = MonthForm(data)
        form.is_valid()
    can_sign, sign_reason = sign_state(user, saved, month_end)
    history = (
        Reconciliation.objects.filter(bank_account=bank)
        .select_related("prepared_by", "signed_by")
        .order_by("-period_end", "-pk")
    )
    previous = month_bounds(month_end)[0] - dt.timedelta(days=1)
    following = month_bounds(month_end + dt.timedelta(days=1))[1]
    return render(
        request,
        "books/bank/reconciliation.html",
        {
            "nav": "dashboard",
            "bank": bank,
            "is_trust": bank.kind == BankAccountKind.TRUST,
            "form": form,
            "month_end": month_end,
            "month_value": month_end.strftime("%Y-%m"),
            "previous_url": month_url(bank, previous),
            "next_url": month_url(bank, following) if following < clock.today() else "",
            "rec": rec,
            "needs_balance": needs_balance,
            "given_balance": given,
            "saved": saved,
            "can_sign": can_sign,
            "sign_reason": sign_reason,
            "sign_error": sign_error,
            "can_reopen": user.is_admin and bank.closed_through is not None,
            "outstanding_page": paginate(request, rec.outstanding_checks, param="ocpage"),
            "transit_page": paginate(request, rec.deposits_in_transit, param="ditpage"),
            "reconciling_page": paginate(request, rec.reconciling_items, param="ripage"),
            "unresolved_page": paginate(request, rec.unresolved_lines, param="ulpage"),
            "ahead_page": paginate(request, rec.cleared_ahead, param="capage"),
            "ledgers_page": paginate(request, rec.client_ledgers or [], param="clpage"),
            "history": paginate(request, history, param="hpage"),
            "csv_lists": [
                (which, label)
                for which, label in CSV_LISTS
                if which != "client_ledgers" or bank.kind == BankAccountKind.TRUST
            ],
        },
        status=status,
    )


@books_login_required()
@require_GET
def bank_reconciliation_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The month's reconciliation of a bank account (default: the last complete month)."""
    bank = _bank(books_user(request).firm, pk)
    data = request.GET.copy()
    if not data.get("month"):
        data["month"] = last_complete_month_end().strftime("%Y-%m")
    return _render(request, bank, MonthForm(data))


@books_login_required()
@require_POST
def reconciliation_prepare_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the month's reconciliation as prepared (replacing an unsigned one)."""
    user = books_user(request)
    bank = _bank(user.firm, pk)
    form = MonthForm(request.POST)
    if form.is_valid():
        month_end = form.cleaned_data["month"]
        balance = form.cleaned_data["statement_balance"]
        try:
            saved = service.reconciliation_prepare(
                firm=user.firm,
                actor=user,
                bank_account_id=bank.pk,
                month=month_end,
                statement_balance_cents=balance,
            )
        except DomainError as exc:
            apply_domain_error(form, exc, {"statement_balance_cents": "statement_balance"})
        else:
            outcome = (
                "it does not reconcile yet: see the differences"
                if (saved.items or {}).get("differences")
                else "it reconciles; an attorney may sign it"
            )
            return finish(
                request,
                month_url(bank, month_end),
                f"Reconciliation of {bank.name} for {month_end:%B %Y} prepared: {outcome}.",
            )
    return _render(request, bank, form, status=INVALID)


@books_login_required()
@require_POST
def reconciliation_sign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An attorney signs a prepared reconciliation; the month closes for the account."""
    user = books_user(request)
    saved = get_object_or_404(
        Reconciliation.objects.select_related("bank_account"), firm=user.firm, pk=pk
    )
    bank = saved.bank_account
    try:
        signed = service.reconciliation_sign(firm=user.firm, actor=user, reconciliation_id=saved.pk)
    except DomainError as exc:
        form = MonthForm({"month": saved.period_end.strftime("%Y-%m")})
        message = exc.message[:1].upper() + exc.message[1:]
        return _render(
            request,
            bank,
            form,
            sign_error=message,
            status=403 if exc.http_status == 403 else INVALID,
        )
    bank.refresh_from_db(fields=["closed_through"])
    closed = bank.closed_through.isoformat() if bank.closed_through else "-"
    return finish(
        request,
        month_url(bank, signed.period_end),
        f"Reconciliation of {bank.name} for {signed.period_end:%B %Y} signed; {bank.name} "
        f"is closed through {closed}.",
    )


# --- Downloads ---------------------------------------------------------------------------


def _download_name(saved: Reconciliation, suffix: str) -> str:
    stem = slugify(saved.bank_account.name) or f"bank-{saved.bank_account_id}"
    return f"reconciliation-{stem}-{saved.period_end:%Y-%m}{suffix}"


def _saved(request: HttpRequest, pk: int) -> Reconciliation:
    return get_object_or_404(
        Reconciliation.objects.select_related("bank_account", "prepared_by", "signed_by"),
        firm=books_user(request).firm,
        pk=pk,
    )


@books_login_required()
@require_GET
def reconciliation_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The saved reconciliation as the PDF an auditor asks for."""
    saved = _saved(request, pk)
    from casebridge.books.exports.reconciliation import render_pdf  # written alongside

    response = HttpResponse(render_pdf(saved), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_download_name(saved, ".pdf")}"'
    return response


@books_login_required()
@require_GET
def reconciliation_csv_view(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    """One list of the saved reconciliation as CSV."""
    if which not in dict(CSV_LISTS):
        raise Http404("no such list")
    saved = _saved(request, pk)
    from casebridge.books.exports.reconciliation import render_csv  # written alongside

    response = HttpResponse(render_csv(saved, which), content_type="text/csv; charset=utf-8")
    name = _download_name(saved, f"-{which.replace('_', '-')}.csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Reopen ------------------------------------------------------------------------------


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def bank_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator reopens a bank account from a month on, with a reason: the signed
    reconciliations from that month are superseded."""
    user = books_user(request)
    bank = _bank(user.firm, pk)

    def reopen(form: ReopenForm) -> HttpResponse:
        month_end = form.cleaned_data["month"]
        superseded = service.reconciliation_reopen(
            firm=user.firm,
            actor=user,
            bank_account_id=bank.pk,
            month=month_end,
            reason=form.cleaned_data["reason"],
        )
        count = len(superseded)
        return finish(
            request,
            month_url(bank, month_end),
            f"{bank.name} reopened from {month_end:%B %Y}: {count} signed "
            f"reconciliation{'s' if count != 1 else ''} superseded.",
        )

    month = request.GET.get("month") or (
        bank.closed_through.strftime("%Y-%m") if bank.closed_through else ""
    )
    return popup_form(
        request,
        ReopenForm,
        on_valid=reopen,
        template="books/bank/_reopen_form.html",
        title=f"Reopen {bank.name}",
        back_url=reverse("books:bank_reconciliation", args=[bank.pk]),
        initial={"month": month[:7]},
        context={"bank": bank},
    )
