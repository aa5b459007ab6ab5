"""The check queue: Queued / Printed / Voided, with Print and Void pop-ups."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required
from casebridge.books.forms import CheckPrintForm, VoidForm
from casebridge.books.models import Check, CheckStatus
from casebridge.books.services import checks as check_services
from casebridge.core import clock
from casebridge.core.errors import DomainError

from ._common import INVALID, apply_domain_error, books_user, finish, paginate, render_modal

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
    counts = dict(
        Check.objects.filter(firm=firm).values_list("status").annotate(n=Count("id")).order_by()
    )
    order = ("request_date", "pk") if status == CheckStatus.QUEUED else ("-request_date", "-pk")
    checks = (
        Check.objects.filter(firm=firm, status=status)
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
    """The number the bank account would give this check (what the service defaults to)."""
    bank = check.bank_account
    number = bank.next_check_number
    used = set(
        Check.objects.filter(bank_account=bank, check_number__gte=number)
        .order_by("check_number")
        .values_list("check_number", flat=True)[:1000]
    )
    while number in used:
        number += 1
    return number


@books_login_required()
@require_http_methods(["GET", "POST"])
def check_print_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    check = get_object_or_404(
        Check.objects.select_related("bank_account", "file"), firm=me.firm, pk=pk
    )
    status = 200
    if request.method == "POST":
        form = CheckPrintForm(request.POST)
        if form.is_valid():
            try:
                printed = check_services.check_print(
                    firm=me.firm,
                    actor=me,
                    check_id=check.pk,
                    check_number=form.cleaned_data["check_number"],
                    printed_on=form.cleaned_data["printed_on"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    _queue_url(CheckStatus.QUEUED),
                    f"Check {printed.check_number} to {printed.payee} printed.",
                )
        status = INVALID
    else:
        form = CheckPrintForm(
            initial={"check_number": _next_free_number(check), "printed_on": clock.today()}
        )
    return render_modal(
        request,
        "books/checks/_print_form.html",
        {"form": form, "check": check},
        title=f"Print check to {check.payee}",
        status=status,
        back_url=_queue_url(check.status),
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def check_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    check = get_object_or_404(
        Check.objects.select_related("bank_account", "file"), firm=me.firm, pk=pk
    )
    status = 200
    if request.method == "POST":
        form = VoidForm(request.POST)
        if form.is_valid():
            before = check.status
            try:
                check_services.check_void(
                    firm=me.firm,
                    actor=me,
                    check_id=check.pk,
                    void_date=form.cleaned_data["void_date"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"date": "void_date"})
            else:
                label = f"Check {check.check_number}" if check.check_number else "Check request"
                return finish(request, _queue_url(before), f"{label} to {check.payee} voided.")
        status = INVALID
    else:
        form = VoidForm()
    return render_modal(
        request,
        "books/checks/_void_form.html",
        {"form": form, "check": check},
        title=f"Void check to {check.payee}",
        status=status,
        back_url=_queue_url(check.status),
    )
