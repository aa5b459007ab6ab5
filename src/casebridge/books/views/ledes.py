"""LEDES 1998B e-billing screens (issue 15, ADR 0044): the export of one invoice (its
screen's "LEDES" button), of the invoices ticked on a list tab or of the whole tab (one
file), and where the LEDES identifiers are kept: Settings -> LEDES e-billing (the firm's
law firm ID and fee codes), File -> LEDES IDs (client id, client matter id), Rates/Codes
-> Timekeepers -> LEDES (timekeeper id, classification); and Invoice -> a line's UTBMS
codes (ADR 0054: a fee line's task and activity code, a cost line's expense code).
Viewing invoices is enough to export them, as ``GET /invoices/{id}/ledes``; a refusal
comes back as a message on the screen the export was asked from, and nothing is
written."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import (
    UTBMS_KEYS,
    InvoiceLineCodesForm,
    LedesMatterForm,
    LedesSettingsForm,
    LedesTimekeeperForm,
)
from casebridge.books.models import (
    File,
    Invoice,
    InvoiceLine,
    InvoiceStage,
    LedesClassification,
    LedesMatter,
    LedesSettings,
    LedesTimekeeper,
    LineKind,
    User,
)
from casebridge.books.services import invoices as invoice_service
from casebridge.books.services import ledes as ledes_service
from casebridge.core.errors import DomainError
from casebridge.core.throttle import client_address
from casebridge.web.popups import is_htmx, message_of, popup_form


def _download(exported: ledes_service.LedesFile) -> HttpResponse:
    response = HttpResponse(exported.text, content_type="text/plain; charset=us-ascii")
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


def _export(request: HttpRequest, ids: list[int], back: str) -> HttpResponse:
    me = books_user(request)
    try:
        exported = ledes_service.invoices_ledes_export(
            firm=me.firm, actor=me, invoice_ids=ids, ip_address=client_address(request)
        )
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return redirect(back)
    return _download(exported)


@books_login_required()
@require_GET
def invoice_ledes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Invoice -> LEDES: the invoice as a LEDES 1998B file."""
    invoice = get_object_or_404(Invoice, firm=books_user(request).firm, pk=pk)
    return _export(request, [invoice.pk], reverse("books:invoice_detail", args=[invoice.pk]))


@books_login_required()
@require_GET
def invoices_ledes_view(request: HttpRequest) -> HttpResponse:
    """Invoices -> Export LEDES: the ticked invoices (``?id=``, repeated), else with
    ``all=1`` every invoice of the tab (``?stage=``), in one file."""
    firm = books_user(request).firm
    stage = request.GET.get("stage", "")
    # back to the tab the export was asked from (a known stage only: never a typed address)
    back = reverse("books:invoices") + (f"?stage={stage}" if stage in InvoiceStage.values else "")
    picked = [
        int(v) for v in request.GET.getlist("id") if v.isascii() and v.isdigit() and len(v) < 19
    ]
    if not picked and request.GET.get("all") == "1" and stage in InvoiceStage.values:
        picked = list(
            Invoice.objects.filter(firm=firm, stage=stage)
            .order_by("number")
            .values_list("pk", flat=True)[: ledes_service.MAX_INVOICES + 1]
        )
    return _export(request, picked, back)


# --- where the identifiers are kept -----------------------------------------------------------


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def ledes_settings_view(request: HttpRequest) -> HttpResponse:
    """Settings -> LEDES e-billing: the firm's law firm ID and its fee lines' codes."""
    me = books_user(request)
    current = LedesSettings.objects.filter(firm=me.firm).first()

    def save(form: LedesSettingsForm) -> HttpResponse:
        data = form.cleaned_data
        saved = ledes_service.ledes_settings_save(
            firm=me.firm,
            actor=me,
            law_firm_id=data["law_firm_id"],
            fee_task_code=data["fee_task_code"],
            fee_activity_code=data["fee_activity_code"],
        )
        messages.success(
            request,
            f"LEDES settings saved: law firm ID {saved.law_firm_id}, fee lines billed under "
            f"{saved.fee_task_code} and {saved.fee_activity_code}.",
        )
        return redirect("books:ledes_settings")

    return popup_form(
        request,
        LedesSettingsForm,
        on_valid=save,
        template="books/settings/ledes.html",
        initial={
            "law_firm_id": current.law_firm_id if current else "",
            "fee_task_code": current.fee_task_code if current else "",
            "fee_activity_code": current.fee_activity_code if current else "",
        },
        context={"nav": "settings", "section": "settings", "tab": "ledes"},
        modal=False,
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def file_ledes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """File -> LEDES IDs: the client id and the client's matter id in LEDES files."""
    me = books_user(request)
    file = get_object_or_404(File.objects.select_related("client"), firm=me.firm, pk=pk)
    current = LedesMatter.objects.filter(file=file).first()

    def save(form: LedesMatterForm) -> str:
        data = form.cleaned_data
        ledes_service.file_ledes_ids_save(
            firm=me.firm,
            actor=me,
            file_id=file.pk,
            client_id=data["client_id"],
            client_matter_id=data["client_matter_id"],
        )
        return f"LEDES IDs of file {file.number} saved."

    action = reverse("books:file_ledes", args=[file.pk])
    return popup_form(
        request,
        LedesMatterForm,
        on_valid=save,
        template="books/files/_ledes_form.html",
        title=f"LEDES IDs of file {file.number}",
        success=reverse("books:file_detail", args=[file.pk]),
        initial={
            "client_id": current.client_id if current else "",
            "client_matter_id": current.client_matter_id if current else "",
        },
        context={"action": action, "file": file},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def timekeeper_ledes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Rates/Codes -> Timekeepers -> LEDES: a timekeeper's LEDES id and classification."""
    me = books_user(request)
    user = get_object_or_404(User, firm=me.firm, pk=pk)
    current = LedesTimekeeper.objects.filter(user=user).first()

    def save(form: LedesTimekeeperForm) -> str:
        data = form.cleaned_data
        saved = ledes_service.timekeeper_ledes_save(
            firm=me.firm,
            actor=me,
            user_id=user.pk,
            timekeeper_id=data["timekeeper_id"],
            classification=data["classification"],
        )
        label = LedesClassification(saved.classification).label
        return f"{user.display_name} is billed in LEDES files as {label}."

    action = reverse("books:timekeeper_ledes", args=[user.pk])
    return popup_form(
        request,
        LedesTimekeeperForm,
        on_valid=save,
        template="books/settings/_timekeeper_ledes_form.html",
        title=f"LEDES: {user.display_name}",
        success=reverse("books:timekeepers"),
        initial={
            "timekeeper_id": current.timekeeper_id if current else "",
            "classification": current.classification if current else "",
        },
        context={"action": action, "keeper": user},
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def invoice_line_codes_view(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """Invoice -> a line's UTBMS codes (the twin of ``PUT /invoices/{id}/lines/{line_id}/
    utbms``): a fee line's task and activity code, a cost line's expense code, each
    "Default" for the firm's LEDES fee codes or the activity code's UTBMS code."""
    me = books_user(request)
    invoice = get_object_or_404(Invoice, firm=me.firm, pk=pk)
    line = get_object_or_404(
        InvoiceLine.objects.select_related("activity_code"), invoice=invoice, pk=line_pk
    )
    if request.method == "GET" and invoice.stage == InvoiceStage.VOIDED:
        # the screen hides Codes on a void invoice; its address, opened anyway, gives the
        # refusal on the invoice's page rather than a form that cannot be saved
        messages.error(
            request, f"Invoice {invoice.number} is void; its lines' codes no longer change."
        )
        url = reverse("books:invoice_detail", args=[invoice.pk])
        if is_htmx(request):
            response = HttpResponse("")
            response["HX-Redirect"] = url
            return response
        return redirect(url)

    def save(form: InvoiceLineCodesForm) -> str:
        saved = invoice_service.invoice_line_codes_set(
            firm=me.firm,
            actor=me,
            invoice_id=invoice.pk,
            line_id=line.pk,
            **{key: form.cleaned_data.get(key) or "" for key in UTBMS_KEYS},
        )
        codes = [getattr(saved, key) for key in UTBMS_KEYS if getattr(saved, key)]
        shown = " / ".join(codes) if codes else "the defaults"
        return f"Invoice {invoice.number}: “{line.description[:40]}” is billed under {shown}."

    settings = ledes_service.ledes_settings_of(me.firm)
    if line.kind == LineKind.FEE:
        default = (
            f"{settings.fee_task_code} / {settings.fee_activity_code}, the firm's LEDES fee codes"
            if settings
            else "the firm's LEDES fee codes (not set yet: Settings → LEDES e-billing)"
        )
    else:
        code = line.activity_code
        default = (
            f"{code.utbms_code}, the UTBMS code of activity code {code.code}"
            if code and code.utbms_code
            else "none: its activity code has no UTBMS code"
        )
    action = reverse("books:invoice_line_codes", args=[invoice.pk, line.pk])
    return popup_form(
        request,
        InvoiceLineCodesForm,
        on_valid=save,
        template="books/invoices/_line_codes_form.html",
        title=f"UTBMS codes: invoice {invoice.number}",
        success=reverse("books:invoice_detail", args=[invoice.pk]),
        initial={key: getattr(line, key) for key in UTBMS_KEYS},
        form_kwargs={"kind": line.kind},
        context={"action": action, "line": line, "default": default},
    )
