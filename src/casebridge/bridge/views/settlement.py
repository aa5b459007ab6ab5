"""The settlement money from Client Trust Management: Create fee invoice, a trust check's Send
again, and Sync from the books."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.bridge.models import InvoiceRelease
from casebridge.bridge.selectors.settlement import PaymentState, payment_states
from casebridge.bridge.services import settlement as settlement_services
from casebridge.bridge.services.status_sync import sync_request
from casebridge.bridge.views._common import finish_sync, refusal_status
from casebridge.cases.auth import cases_permission_required
from casebridge.cases.models import Case, Permission, TrustItem
from casebridge.cases.views._common import (
    INVALID,
    apply_domain_error,
    cases_user,
    confirm_form,
    finish,
    message_of,
    render_modal,
)
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents

_NOT_VOID = PaymentState("")


def _client_trust_url() -> str:
    return reverse("cases:client_trust") + "?tab=to_be_disbursed"


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def fee_invoice_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Create fee invoice: shows the lines the books will get, then queues the invoice."""
    me = cases_user(request)
    get_object_or_404(Case, firm=me.firm, pk=pk)
    back = _client_trust_url()
    form = confirm_form(request)
    context: dict[str, Any] = {"form": form, "case_id": pk}
    try:
        plan = settlement_services.fee_invoice_plan(firm=me.firm, actor=me, case_id=pk)
    except DomainError as exc:
        context["refusal"] = message_of(exc)
        return render_modal(
            request,
            "bridge/_fee_invoice_form.html",
            context,
            title="Create fee invoice",
            status=refusal_status(request),
            back_url=back,
        )
    context["plan"] = plan
    status = 200
    if request.method == "POST":
        try:
            invoice = settlement_services.fee_invoice_create(firm=me.firm, actor=me, case_id=pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            then = (
                "it is released to final at once"
                if invoice.release == InvoiceRelease.AUTOMATIC
                else "it waits in the books for the accountant to review and release it"
            )
            return finish(
                request,
                back,
                f"Fee invoice of {format_cents(invoice.total_cents)} for case "
                f"{plan.case.number} sent to the books; {then}.",
            )
    return render_modal(
        request,
        "bridge/_fee_invoice_form.html",
        context,
        title=f"Create fee invoice · {plan.case.number}",
        status=status,
        back_url=back,
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def trust_check_send_again_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Request a new trust check for a payment whose check the books voided."""
    me = cases_user(request)
    back = _client_trust_url()
    item = get_object_or_404(TrustItem.objects.select_related("case"), firm=me.firm, pk=pk)
    form = confirm_form(request)
    status = 200
    if not payment_states([item.case_id]).get(item.pk, _NOT_VOID).can_send_again:
        return render_modal(
            request,
            "bridge/_send_again_form.html",
            {
                "form": form,
                "item": item,
                "refusal": "Only a payment whose check was voided in the books can be sent again",
            },
            title="Send the trust check again",
            status=refusal_status(request),
            back_url=back,
        )
    if request.method == "POST":
        try:
            settlement_services.trust_check_send_again(firm=me.firm, actor=me, trust_item_id=pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish(
                request,
                back,
                f"A new trust check for {item.payee_name} ({format_cents(item.amount_cents)}) "
                "was requested from the books.",
            )
    return render_modal(
        request,
        "bridge/_send_again_form.html",
        {"form": form, "item": item},
        title="Send the trust check again",
        status=status,
        back_url=back,
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def settlement_sync_view(request: HttpRequest) -> HttpResponse:
    """Bring statuses back from the books now, from Client Trust Management: trust checks
    printed or voided, fee invoices released (and the costs' checks with them)."""
    me = cases_user(request)
    back = _client_trust_url()
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            run = sync_request(firm=me.firm, actor=me)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish_sync(request, back, run)
    return render_modal(
        request,
        "bridge/_settlement_sync_form.html",
        {"form": form},
        title="Sync from the books",
        status=status,
        back_url=back,
    )
