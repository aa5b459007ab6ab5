"""The settlement money from Client Trust Management: Create fee invoice, a trust check's Send
again, and Sync from the books."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.bridge.models import InvoiceRelease
from casebridge.bridge.selectors.settlement import PaymentState, payment_states
from casebridge.bridge.services import settlement as settlement_services
from casebridge.bridge.services.status_sync import sync_request
from casebridge.bridge.views._common import finish_sync, refusal_status
from casebridge.cases.auth import cases_permission_required, cases_user
from casebridge.cases.models import Case, Permission, TrustItem
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents
from casebridge.web.popups import ConfirmForm, message_of, popup_form, render_modal

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
    try:
        plan = settlement_services.fee_invoice_plan(firm=me.firm, actor=me, case_id=pk)
    except DomainError as exc:
        return render_modal(
            request,
            "bridge/_fee_invoice_form.html",
            {"form": ConfirmForm(), "case_id": pk, "refusal": message_of(exc)},
            title="Create fee invoice",
            status=refusal_status(request),
            back_url=back,
        )

    def create(form: ConfirmForm) -> str:
        invoice = settlement_services.fee_invoice_create(firm=me.firm, actor=me, case_id=pk)
        then = (
            "it is released to final at once"
            if invoice.release == InvoiceRelease.AUTOMATIC
            else "it waits in the books for the accountant to review and release it"
        )
        return (
            f"Fee invoice of {format_cents(invoice.total_cents)} for case "
            f"{plan.case.number} sent to the books; {then}."
        )

    return popup_form(
        request,
        ConfirmForm,
        on_valid=create,
        template="bridge/_fee_invoice_form.html",
        title=f"Create fee invoice · {plan.case.number}",
        success=back,
        context={"case_id": pk, "plan": plan},
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def trust_check_send_again_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Request a new trust check for a payment whose check the books voided."""
    me = cases_user(request)
    back = _client_trust_url()
    item = get_object_or_404(TrustItem.objects.select_related("case"), firm=me.firm, pk=pk)
    if not payment_states([item.case_id]).get(item.pk, _NOT_VOID).can_send_again:
        return render_modal(
            request,
            "bridge/_send_again_form.html",
            {
                "form": ConfirmForm(),
                "item": item,
                "refusal": "Only a payment whose check was voided in the books can be sent again",
            },
            title="Send the trust check again",
            status=refusal_status(request),
            back_url=back,
        )

    def send_again(form: ConfirmForm) -> str:
        settlement_services.trust_check_send_again(firm=me.firm, actor=me, trust_item_id=pk)
        return (
            f"A new trust check for {item.payee_name} ({format_cents(item.amount_cents)}) "
            "was requested from the books."
        )

    return popup_form(
        request,
        ConfirmForm,
        on_valid=send_again,
        template="bridge/_send_again_form.html",
        title="Send the trust check again",
        success=back,
        context={"item": item},
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def settlement_sync_view(request: HttpRequest) -> HttpResponse:
    """Bring statuses back from the books now, from Client Trust Management: trust checks
    printed or voided, fee invoices released (and the costs' checks with them)."""
    me = cases_user(request)
    back = _client_trust_url()
    return popup_form(
        request,
        ConfirmForm,
        on_valid=lambda form: finish_sync(request, back, sync_request(firm=me.firm, actor=me)),
        template="bridge/_settlement_sync_form.html",
        title="Sync from the books",
        success=back,
    )
