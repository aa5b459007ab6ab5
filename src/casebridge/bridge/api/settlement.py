"""Settlement money: a case's fee invoice (its plan, create, read), its payments' trust
checks and a voided check's Send again."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from casebridge.bridge.api.idempotency import idempotent
from casebridge.bridge.models import FeeInvoice, InvoiceRelease, TrustItemLink
from casebridge.bridge.selectors.settlement import fee_invoice_states, payment_states
from casebridge.bridge.services import settlement as settlement_services
from casebridge.cases.api.schemas import ERRORS as ERRORS_403
from casebridge.cases.api.security import context
from casebridge.cases.models import (
    Case,
    Firm,
    Permission,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.permissions import require
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import Id, Money, Out, money
from casebridge.core.errors import NotFound

router = Router(tags=["books integration"])


def _case(firm: Firm, case_id: int) -> Case:
    """The firm's case, else 404 (another firm's case is indistinguishable from none)."""
    return get_or_404(Case.objects.filter(firm=firm), case_id, field="case_id")


class InvoiceLineOut(Out):
    kind: str = Field(
        description="fee (the responsible attorney's time entry) or cost (an activity code)."
    )
    description: str
    amount: Money
    source: str = Field(
        description="The line's external_ref: its source on the cases side "
        "(cases-trust-item-<id> or cases-cost-<id>)."
    )


def _line_out(kind: str, description: str, cents: int, source: str) -> InvoiceLineOut:
    return InvoiceLineOut(kind=kind, description=description, amount=money(cents), source=source)


class FeeInvoicePlanOut(Out):
    case_id: int
    release: InvoiceRelease = Field(
        description="automatic: final at once; review: waits for the accountant in the books."
    )
    release_label: str
    total: Money
    lines: list[InvoiceLineOut]


@router.get(
    "/cases/{int:case_id}/fee-invoice/plan",
    response={200: FeeInvoicePlanOut, **ERRORS_403},
    summary="What Create fee invoice would send",
)
def fee_invoice_plan(request: HttpRequest, case_id: Id) -> FeeInvoicePlanOut:
    """The lines Create fee invoice would send, nothing written. Refusals name the reason:
    409 ``integration_not_connected``, 409 ``conflict`` (the case already has a fee invoice),
    422 ``validation_error`` (nothing waiting to be invoiced, costs never sent)."""
    ctx = context(request)
    require(ctx.user, Permission.DEPOSIT_SETTLEMENT)
    case = _case(ctx.firm, case_id)
    plan = settlement_services.fee_invoice_plan(firm=ctx.firm, actor=ctx.user, case_id=case.pk)
    return FeeInvoicePlanOut(
        case_id=case.pk,
        release=InvoiceRelease(plan.conn.invoice_release),
        release_label=plan.release_label,
        total=money(plan.total_cents),
        lines=[_line_out(ln.kind, ln.description, ln.amount_cents, ln.source) for ln in plan.lines],
    )


class FeeInvoiceOut(Out):
    id: int
    case_id: int
    external_ref: str
    stage: str = Field(
        description='"" while on its way to the books; then draft, review, release, final '
        "or voided, as the books last said."
    )
    books_invoice_id: int | None
    books_invoice_number: int | None
    total: Money
    release: InvoiceRelease
    lines: list[InvoiceLineOut]
    note: str = Field(description="How it stands: on its way, refused (and why), its stage.")
    problem: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, invoice: FeeInvoice, note: str, problem: bool) -> FeeInvoiceOut:
        return cls(
            id=invoice.pk,
            case_id=invoice.case_id,
            external_ref=invoice.external_ref,
            stage=invoice.stage,
            books_invoice_id=invoice.books_invoice_id,
            books_invoice_number=invoice.books_invoice_number,
            total=money(invoice.total_cents),
            release=InvoiceRelease(invoice.release),
            lines=[
                _line_out(
                    str(ln["kind"]),
                    str(ln["description"]),
                    int(ln["amount_cents"]),
                    str(ln["source"]),
                )
                for ln in invoice.lines
            ],
            note=note,
            problem=problem,
            created_at=invoice.created_at,
        )


def _fee_invoice_out(case: Case) -> FeeInvoiceOut:
    state = fee_invoice_states([case.pk]).get(case.pk)
    if state is None or state.invoice is None:
        raise NotFound(f"case {case.pk} has no fee invoice", field="case_id")
    return FeeInvoiceOut.of(state.invoice, state.note, state.problem)


@router.post(
    "/cases/{int:case_id}/fee-invoice",
    response={201: FeeInvoiceOut, **ERRORS_403},
    summary="Create fee invoice",
)
@idempotent
def fee_invoice_create(request: HttpRequest, case_id: Id) -> Status[FeeInvoiceOut]:
    """Queues the case's fee invoice for the books (the lines of ``GET .../plan``), paid from
    trust; ``stage`` is "" until it is delivered. 409 ``integration_not_ready`` names the
    failing prerequisite (no books user for the attorney, Records Time off, the release stage
    off); 409 ``conflict`` while the case has a fee invoice that is not voided."""
    ctx = context(request)
    require(ctx.user, Permission.DEPOSIT_SETTLEMENT)
    case = _case(ctx.firm, case_id)
    settlement_services.fee_invoice_create(firm=ctx.firm, actor=ctx.user, case_id=case.pk)
    return Status(201, _fee_invoice_out(case))


@router.get(
    "/cases/{int:case_id}/fee-invoice",
    response={200: FeeInvoiceOut, **ERRORS_403},
    summary="The case's fee invoice",
)
def fee_invoice_get(request: HttpRequest, case_id: Id) -> FeeInvoiceOut:
    """The case's latest fee invoice and how it stands; 404 when it has none."""
    ctx = context(request)
    return _fee_invoice_out(_case(ctx.firm, case_id))


class TrustCheckOut(Out):
    trust_item_id: int
    external_ref: str = Field(description="cases-trust-item-<id>, then -<generation> from 2.")
    generation: int = Field(description="1 for the first check; each Send again adds one.")
    check_state: str = Field(
        description='"" until the books hold the request; then queued, printed, void or '
        "missing; paid by ACH, ach_queued, ach_file, ach_sent or ach_clear (a returned "
        "ACH payment is void)."
    )
    check_number: int | None
    problem: str

    @classmethod
    def of(cls, link: TrustItemLink) -> TrustCheckOut:
        return cls(
            trust_item_id=link.trust_item_id,
            external_ref=link.external_ref,
            generation=link.generation,
            check_state=link.check_state,
            check_number=link.check_number,
            problem=link.problem,
        )


@router.post(
    "/trust-items/{int:item_id}/send-again",
    response={200: TrustCheckOut, **ERRORS_403},
    summary="Send a voided trust check again",
)
@idempotent
def trust_check_send_again(request: HttpRequest, item_id: Id) -> TrustCheckOut:
    """Requests a new trust check (a new external_ref) for a payment whose check the books
    voided. 409 ``conflict`` when its check is not void; 422 when it was never sent."""
    ctx = context(request)
    require(ctx.user, Permission.DEPOSIT_SETTLEMENT)
    get_or_404(TrustItem.objects.filter(firm=ctx.firm), item_id, field="item_id")
    link = settlement_services.trust_check_send_again(
        firm=ctx.firm, actor=ctx.user, trust_item_id=item_id
    )
    return TrustCheckOut.of(link)


class PaymentOut(Out):
    id: int
    kind: TrustItemKind
    payee: str
    amount: Money
    status: TrustItemStatus
    paid_direct: bool
    check_number: str
    invoice_reference: str
    books_note: str = Field(
        description="Its trust check in the books (queued, printed, voided, refused...); "
        '"" when it was never sent (staged, paid direct, or paid by the fee invoice).'
    )
    books_problem: bool
    can_send_again: bool


class PaymentsOut(Out):
    case_id: int
    items: list[PaymentOut]


@router.get(
    "/cases/{int:case_id}/payments",
    response={200: PaymentsOut, **ERRORS_403},
    summary="The case's payments and their trust checks",
)
def payments(request: HttpRequest, case_id: Id) -> PaymentsOut:
    """Every payment out of the case's trust, with its state in the books."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    states = payment_states([case.pk])
    out = []
    for item in TrustItem.objects.filter(firm=ctx.firm, case=case).order_by("pk"):
        state = states.get(item.pk)
        out.append(
            PaymentOut(
                id=item.pk,
                kind=TrustItemKind(item.kind),
                payee=item.payee_name,
                amount=money(item.amount_cents),
                status=TrustItemStatus(item.status),
                paid_direct=item.paid_direct,
                check_number=item.check_number,
                invoice_reference=item.invoice_reference,
                books_note=state.note if state else "",
                books_problem=state.problem if state else False,
                can_send_again=state.can_send_again if state else False,
            )
        )
    return PaymentsOut(case_id=case.pk, items=out)
