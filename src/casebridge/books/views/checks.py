"""The check queue: Queued / Printed / Voided, with Print and Void pop-ups; Print selected
(a batch of one bank account's checks numbered in one go, then its PDF for check stock),
Reprint (spoiled) and the positive pay file (issue 11)."""

from __future__ import annotations

import re

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import (
    LAYOUT_CHOICES,
    CheckBatchPrintForm,
    CheckPrintForm,
    CheckReprintForm,
    PositivePayForm,
    VoidForm,
)
from casebridge.books.models import BankAccount, Check, CheckStatus
from casebridge.books.printing.checks_pdf import CheckLayout, render_checks_pdf
from casebridge.books.roles import CORRECTIONS
from casebridge.books.selectors.checks import (
    MAX_CHECKS_PER_PDF,
    next_free_check_numbers,
    printed_checks_for_pdf,
)
from casebridge.books.selectors.positive_pay import (
    PRESETS,
    positive_pay_csv,
    positive_pay_format_of,
)
from casebridge.books.services import checks as check_services
from casebridge.core import clock
from casebridge.core.errors import DomainError
from casebridge.web.paging import paginate
from casebridge.web.popups import INVALID, apply_domain_error, finish, popup_form, render_modal

TABS = [
    (CheckStatus.QUEUED.value, "Queued"),
    (CheckStatus.PRINTED.value, "Printed"),
    (CheckStatus.VOIDED.value, "Voided"),
]


def _queue_url(status: str) -> str:
    return f"{reverse('books:checks')}?status={status}"


@books_login_required()
def checks_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    status = request.GET.get("status", CheckStatus.QUEUED)
    if status not in CheckStatus.values:
        status = CheckStatus.QUEUED
    # A check paid by ACH is never printed: its queue is ACH payments (ADR 0046).
    printable = Check.objects.filter(firm=firm).exclude(
        status=CheckStatus.QUEUED, ach_payment__isnull=False
    )
    counts = dict(printable.values_list("status").annotate(n=Count("id")).order_by())
    order = ("request_date", "pk") if status == CheckStatus.QUEUED else ("-request_date", "-pk")
    checks = (
        printable.filter(status=status)
        .select_related("bank_account", "file", "activity_code")
        .order_by(*order)
    )
    return render(
        request,
        "books/checks/list.html",
        {
            "nav": "checks",
            "status": status,
            "tabs": [(value, label, counts.get(value, 0)) for value, label in TABS],
            "page": paginate(request, checks),
        },
    )


def _next_free_number(check: Check) -> int:
    """The number the bank account would give this check (what the service defaults to:
    numbers on other checks and spoiled ones skipped)."""
    return next_free_check_numbers(check.bank_account, 1)[0]


@books_login_required()
@require_http_methods(["GET", "POST"])
def check_print_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    check = get_object_or_404(
        Check.objects.select_related("bank_account", "file"), firm=me.firm, pk=pk
    )

    def print_check(form: CheckPrintForm) -> str:
        printed = check_services.check_print(
            firm=me.firm,
            actor=me,
            check_id=check.pk,
            check_number=form.cleaned_data["check_number"],
            printed_on=form.cleaned_data["printed_on"],
        )
        return f"Check {printed.check_number} to {printed.payee} printed."

    return popup_form(
        request,
        CheckPrintForm,
        on_valid=print_check,
        template="books/checks/_print_form.html",
        title=f"Print check to {check.payee}",
        success=_queue_url(CheckStatus.QUEUED),
        back_url=_queue_url(check.status),
        initial=None
        if request.method == "POST"
        else {"check_number": _next_free_number(check), "printed_on": clock.today()},
        context={"check": check},
    )


@books_login_required(role=CORRECTIONS, doing="Voiding a check")
@require_http_methods(["GET", "POST"])
def check_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    check = get_object_or_404(
        Check.objects.select_related("bank_account", "file"), firm=me.firm, pk=pk
    )
    before = check.status

    def void(form: VoidForm) -> HttpResponse:
        check_services.check_void(
            firm=me.firm,
            actor=me,
            check_id=check.pk,
            void_date=form.cleaned_data["void_date"],
            reason=form.cleaned_data["reason"],
        )
        label = f"Check {check.check_number}" if check.check_number else "Check request"
        return finish(request, _queue_url(before), f"{label} to {check.payee} voided.")

    return popup_form(
        request,
        VoidForm,
        on_valid=void,
        template="books/checks/_void_form.html",
        title=f"Void check to {check.payee}",
        back_url=_queue_url(check.status),
        context={"check": check},
        field_map={"date": "void_date"},
    )


# --- Checks out (issue 11): print a batch, the PDF, reprint, positive pay ----------------


def _ids(values: list[str]) -> list[int] | None:
    """The ids a form sent (``ids=3&ids=4`` or ``ids=3,4``), in order; None if one is not
    a number."""
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isascii() or not part.isdigit() or len(part) > 18:
                return None
            ids.append(int(part))
    return ids


def pdf_url(ids: list[int], layout: str) -> str:
    return f"{reverse('books:checks_pdf')}?ids={','.join(str(i) for i in ids)}&layout={layout}"


def _batch_problem(checks: list[Check], ids: list[int] | None) -> str:
    """Why these checks cannot be printed together, or ''. The service decides again."""
    if not ids:
        return "Choose the queued checks to print (tick them in the Queued list)."
    found = {c.pk for c in checks}
    missing = [i for i in ids if i not in found]
    if missing:
        return f"Check {missing[0]} is not one of this firm's checks."
    not_queued = [c for c in checks if c.status != CheckStatus.QUEUED]
    if not_queued:
        c = not_queued[0]
        return f"The check to {c.payee} is {c.get_status_display().lower()}, not queued."
    if len({c.bank_account_id for c in checks}) > 1:
        return (
            "The checks are drawn on more than one bank account: print each bank account's "
            "checks on its own (its own check stock and numbers)."
        )
    if len(ids) > MAX_CHECKS_PER_PDF:
        return f"Print at most {MAX_CHECKS_PER_PDF} checks at a time."
    return ""


def _micr_missing(bank: BankAccount) -> bool:
    return not (bank.routing_number and bank.account_number)


@books_login_required()
@require_http_methods(["GET", "POST"])
def checks_print_batch_view(request: HttpRequest) -> HttpResponse:
    """Print selected: the queued checks ticked on the Queued tab (one bank account) get
    their numbers in one go, then the PDF is a click away."""
    me = books_user(request)
    source = request.POST if request.method == "POST" else request.GET
    ids = _ids(source.getlist("ids"))
    rows = (
        {
            c.pk: c
            for c in Check.objects.filter(firm=me.firm, pk__in=ids).select_related(
                "bank_account", "file"
            )
        }
        if ids
        else {}
    )
    checks = [rows[i] for i in ids or [] if i in rows]
    problem = _batch_problem(checks, ids)
    bank = checks[0].bank_account if checks else None
    status = 200
    form = CheckBatchPrintForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not problem and bank is not None:
        if form.is_valid():
            try:
                printed = check_services.checks_print_batch(
                    firm=me.firm,
                    actor=me,
                    check_ids=[c.pk for c in checks],
                    bank_account_id=bank.pk,
                    printed_on=form.cleaned_data["printed_on"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"check_ids": "__all__"})
            else:
                numbers = [c.check_number for c in printed]
                layout = form.cleaned_data["layout"]
                return render_modal(
                    request,
                    "books/checks/_print_done.html",
                    {
                        "message": (
                            f"Check {numbers[0]} printed to {printed[0].payee}."
                            if len(numbers) == 1
                            else f"{len(numbers)} checks on {bank.name} numbered "
                            f"{numbers[0]} to {numbers[-1]}."
                        ),
                        "bank": bank,
                        "micr_missing": _micr_missing(bank),
                        "layouts": _pdf_links([c.pk for c in printed], layout),
                        "done_url": _queue_url(CheckStatus.PRINTED),
                    },
                    title="Checks printed" if len(numbers) > 1 else "Check printed",
                )
        status = INVALID
    elif problem:
        status = INVALID if request.method == "POST" else 200
    preview = next_free_check_numbers(bank, len(checks)) if bank is not None and not problem else []
    return render_modal(
        request,
        "books/checks/_print_batch_form.html",
        {
            "form": form,
            "problem": problem,
            "rows": list(zip(checks, preview, strict=False)),
            "bank": bank,
            "micr_missing": bank is not None and _micr_missing(bank),
            "total": sum(c.amount_cents for c in checks),
        },
        title=f"Print {len(checks)} check{'s' if len(checks) != 1 else ''}"
        if checks
        else "Print checks",
        status=status,
        back_url=_queue_url(CheckStatus.QUEUED),
    )


def _pdf_links(ids: list[int], chosen: str) -> list[tuple[str, str, bool]]:
    """(label, url, chosen) for each layout, the chosen one first."""
    links = [(label, pdf_url(ids, value), value == chosen) for value, label in LAYOUT_CHOICES]
    return sorted(links, key=lambda link: not link[2])


@books_login_required()
@require_http_methods(["GET"])
def checks_pdf_view(request: HttpRequest) -> HttpResponse:
    """The PDF of printed checks (``ids``, ``layout``) for check stock."""
    me = books_user(request)
    ids = _ids(request.GET.getlist("ids"))
    layout = request.GET.get("layout", CheckLayout.CHECK_ON_TOP.value)
    if layout not in CheckLayout._value2member_map_:
        return HttpResponse(
            "Unknown layout: choose check_on_top or three_per_page.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    if ids is None:
        return HttpResponse(
            "ids must be check numbers separated by commas.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    try:
        rows = printed_checks_for_pdf(firm=me.firm, check_ids=ids)
    except DomainError as exc:
        return HttpResponse(
            exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(
        render_checks_pdf(rows, CheckLayout(layout)), content_type="application/pdf"
    )
    first, last = rows[0].check_number, rows[-1].check_number
    name = f"checks-{first}" + (f"-{last}" if len(rows) > 1 else "") + ".pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@books_login_required()
@require_http_methods(["GET", "POST"])
def check_reprint_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Reprint (spoiled): the number on the spoiled paper is voided as spoiled, the same
    payment printed again with the next number."""
    me = books_user(request)
    check = get_object_or_404(
        Check.objects.select_related("bank_account", "file"), firm=me.firm, pk=pk
    )

    def reprint(form: CheckReprintForm) -> HttpResponse:
        spoiled = check.check_number
        again = check_services.check_reprint(
            firm=me.firm,
            actor=me,
            check_id=check.pk,
            reason=form.cleaned_data["reason"],
            printed_on=form.cleaned_data["printed_on"],
        )
        return render_modal(
            request,
            "books/checks/_print_done.html",
            {
                "message": f"Check {spoiled} to {again.payee} is spoiled; the same "
                f"payment is now check {again.check_number}.",
                "bank": check.bank_account,
                "micr_missing": _micr_missing(check.bank_account),
                "layouts": _pdf_links([again.pk], form.cleaned_data["layout"]),
                "done_url": _queue_url(CheckStatus.PRINTED),
            },
            title="Check printed again",
        )

    return popup_form(
        request,
        CheckReprintForm,
        on_valid=reprint,
        template="books/checks/_reprint_form.html",
        title=f"Reprint check {check.check_number or ''} to {check.payee}",
        back_url=_queue_url(check.status),
        context=lambda form: {
            "check": check,
            "next_number": next_free_check_numbers(check.bank_account, 1)[0],
        },
    )


@books_login_required()
@require_http_methods(["GET"])
def positive_pay_view(request: HttpRequest) -> HttpResponse:
    """Positive pay: the file of a bank account's issued and voided checks for a date
    range. The form is a plain GET, so the browser downloads the file."""
    me = books_user(request)
    status = 200
    if "bank_account" in request.GET:
        form = PositivePayForm(request.GET, firm=me.firm)
        if form.is_valid():
            bank: BankAccount = form.cleaned_data["bank_account"]
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            layout = form.cleaned_data["layout"]
            fmt = positive_pay_format_of(bank)[0] if layout == "saved" else PRESETS[layout][1]
            try:
                text = positive_pay_csv(bank=bank, start=start, end=end, fmt=fmt)
            except DomainError as exc:
                apply_domain_error(form, exc, {"account_number": "bank_account"})
            else:
                response = HttpResponse(text, content_type="text/csv; charset=utf-8")
                slug = re.sub(r"[^A-Za-z0-9]+", "-", bank.name).strip("-").lower() or "bank"
                response["Content-Disposition"] = (
                    f'attachment; filename="positive-pay-{slug}-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
                )
                patch_cache_control(response, private=True, no_store=True)
                return response
        status = INVALID
    else:
        form = PositivePayForm(firm=me.firm)
    return render_modal(
        request,
        "books/checks/_positive_pay_form.html",
        {"form": form},
        title="Positive pay file",
        status=status,
        back_url=reverse("books:checks"),
    )
