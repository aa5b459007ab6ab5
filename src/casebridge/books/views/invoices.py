"""Invoices by stage: Draft -> Review -> [Release] -> Final, and Voided. Every stage move
names the stage the screen showed, so a stale screen cannot move an invoice twice."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import InvoiceAdvanceForm, InvoiceCreateForm, VoidForm
from casebridge.books.models import File, Firm, Invoice, InvoiceStage
from casebridge.books.roles import CORRECTIONS
from casebridge.books.services import invoices as invoice_services
from casebridge.core.errors import DomainError, ValidationFailed
from casebridge.core.money import format_cents
from casebridge.web.paging import first_tab_with_work, paginate
from casebridge.web.popups import finish, message_of, popup_form, safe_next

#: The button that moves an invoice on from each stage.
ACTIONS = {
    InvoiceStage.DRAFT.value: "Submit for review",
    InvoiceStage.REVIEW.value: "Approve",
    InvoiceStage.RELEASE.value: "Release",
}
#: The stages with something still to do, in order.
WORK_STAGES = tuple(ACTIONS)


def _stage_url(stage: str) -> str:
    return f"{reverse('books:invoices')}?stage={stage}"


def _tabs(firm: Firm) -> list[tuple[str, str, int]]:
    counts = dict(
        Invoice.objects.filter(firm=firm).values_list("stage").annotate(n=Count("id")).order_by()
    )
    show_release = firm.release_invoice_stage_enabled or counts.get(InvoiceStage.RELEASE, 0) > 0
    return [
        (stage.value, stage.label, counts.get(stage.value, 0))
        for stage in InvoiceStage
        if stage != InvoiceStage.RELEASE or show_release
    ]


@books_login_required()
def invoices_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    tabs = _tabs(firm)
    # without a stage asked for: the first with work (Final and Voided are done)
    stage = request.GET.get("stage") or first_tab_with_work(
        {value: count for value, _, count in tabs}, WORK_STAGES, default=InvoiceStage.DRAFT
    )
    if stage not in {value for value, _, _ in tabs}:
        stage = InvoiceStage.DRAFT
    invoices = (
        Invoice.objects.filter(firm=firm, stage=stage)
        .select_related("file__client")
        .order_by("-invoice_date", "-number")
    )
    return render(
        request,
        "books/invoices/list.html",
        {
            "nav": "invoices",
            "stage": stage,
            "tabs": tabs,
            "action_label": ACTIONS.get(stage, ""),
            "approve_goes_to": "Release"
            if firm.release_invoice_stage_enabled
            else "Final (posted)",
            "page": paginate(request, invoices),
            "voidable": stage != InvoiceStage.VOIDED,
        },
    )


@books_login_required()
def invoice_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    firm = books_user(request).firm
    invoice = get_object_or_404(
        Invoice.objects.select_related(
            "file__client", "trust_bank_account", "operating_bank_account", "created_by"
        ),
        firm=firm,
        pk=pk,
    )
    lines = invoice.lines.select_related("timekeeper", "activity_code").order_by("line_date", "pk")
    return render(
        request,
        "books/invoices/detail.html",
        {
            "nav": "invoices",
            "invoice": invoice,
            "page": paginate(request, lines),
            "action_label": ACTIONS.get(invoice.stage, ""),
            "voidable": invoice.stage != InvoiceStage.VOIDED,
        },
    )


@books_login_required()
@require_POST
def invoice_advance_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    invoice = get_object_or_404(Invoice, firm=me.firm, pk=pk)
    back = safe_next(request, request.POST.get("next"), _stage_url(invoice.stage))
    form = InvoiceAdvanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The screen did not say which stage it showed; reload it.")
        return redirect(back)
    try:
        moved = invoice_services.invoice_advance(
            firm=me.firm,
            actor=me,
            invoice_id=invoice.pk,
            expected_stage=form.cleaned_data["expected_stage"],
        )
    except DomainError as exc:
        messages.error(request, message_of(exc))
    else:
        done = (
            f"Invoice {moved.number} is final and posted ({format_cents(moved.total_cents)})."
            if moved.stage == InvoiceStage.FINAL
            else f"Invoice {moved.number} moved to {moved.get_stage_display()}."
        )
        messages.success(request, done)
    return redirect(back)


@books_login_required(role=CORRECTIONS, doing="Voiding an invoice")
@require_http_methods(["GET", "POST"])
def invoice_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    invoice = get_object_or_404(Invoice.objects.select_related("file"), firm=me.firm, pk=pk)

    def void(form: VoidForm) -> str:
        invoice_services.invoice_void(
            firm=me.firm,
            actor=me,
            invoice_id=invoice.pk,
            void_date=form.cleaned_data["void_date"],
            reason=form.cleaned_data["reason"],
        )
        return f"Invoice {invoice.number} voided."

    return popup_form(
        request,
        VoidForm,
        on_valid=void,
        template="books/invoices/_void_form.html",
        title=f"Void invoice {invoice.number}",
        success=_stage_url(invoice.stage),
        context={"invoice": invoice},
        field_map={"date": "void_date"},
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def invoice_new_view(request: HttpRequest) -> HttpResponse:
    """New invoice (issue 14, the twin of ``POST /invoices``): a draft with up to six
    lines, through the same service; a refusal names its line and writes nothing."""
    me = books_user(request)

    def create(form: InvoiceCreateForm) -> HttpResponse | None:
        data = form.cleaned_data
        file = File.objects.filter(firm=me.firm, number=data["file"]).first()
        if file is None:
            raise ValidationFailed(f"no file numbered {data['file']}", field="file")
        lines = [
            invoice_services.LineSpec(
                kind=row["kind"] or "",
                description=row["description"] or "",
                amount_cents=row["amount"] or 0,
                timekeeper_id=row["timekeeper"].pk if row["timekeeper"] else None,
                activity_code_id=row["activity_code"].pk if row["activity_code"] else None,
                hours=row["hours"],
                utbms_task_code=row["utbms_task_code"] or "",
                utbms_activity_code=row["utbms_activity_code"] or "",
                utbms_expense_code=row["utbms_expense_code"] or "",
            )
            for _, row in form.filled_rows()
        ]
        try:
            invoice = invoice_services.invoice_create(
                firm=me.firm,
                actor=me,
                file_id=file.pk,
                lines=lines,
                invoice_date=data["invoice_date"],
                description=data["description"],
                pay_from_trust=data["pay_from_trust"],
            )
        except DomainError as exc:
            if not form.add_line_error(exc):
                raise
            return None
        return finish(
            request,
            reverse("books:invoice_detail", args=[invoice.pk]),
            f"Invoice {invoice.number} created in Draft for {format_cents(invoice.total_cents)}.",
        )

    return popup_form(
        request,
        InvoiceCreateForm,
        on_valid=create,
        template="books/invoices/_new_form.html",
        title="New invoice",
        success=_stage_url(InvoiceStage.DRAFT.value),
        form_kwargs={"firm": me.firm},
        context=lambda form: {
            "rows": form.rows(),
            "file_numbers": File.objects.filter(firm=me.firm)
            .order_by("-pk")
            .values_list("number", flat=True)[:200],
        },
        wide=True,
    )
