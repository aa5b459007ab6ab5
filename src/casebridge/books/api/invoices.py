"""Invoices: created with their lines, then moved draft -> review -> [release] -> final.

``POST /invoices`` creates the invoice and submits it to review; with ``"release":
"auto"`` it is finalised at once (posted, and paid from trust when ``pay_from_trust``), as
the bridge's "released automatically" setting asks. A fee line names a timekeeper who
has Records Time on (else 422 ``records_time_off``); a cost line names an activity code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, Self

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.books.api.batches import batch_answer, documents_find_or_create
from casebridge.books.api.idempotency import idempotent
from casebridge.books.api.schemas import VOID_DEFAULTS, VoidIn
from casebridge.books.api.security import context
from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    File,
    Firm,
    Invoice,
    InvoiceLine,
    InvoiceStage,
    LineKind,
    User,
)
from casebridge.books.services import invoices as invoice_service
from casebridge.core.api.lookups import Reference, get_or_404
from casebridge.core.api.schemas import (
    ERRORS,
    Clean,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    PositiveCents,
    keyset_page,
    money,
)

router = Router(tags=["invoices"])

MAX_BATCH = 1000


class InvoiceLineOut(Out):
    id: int
    kind: LineKind
    description: str
    amount: Money
    timekeeper_id: int | None
    hours: Decimal | None
    activity_code_id: int | None
    line_date: dt.date
    external_ref: str
    utbms_task_code: str = Field(
        description="The fee line's own UTBMS task code; empty: the default."
    )
    utbms_activity_code: str = Field(
        description="The fee line's own UTBMS activity code; empty: the default."
    )
    utbms_expense_code: str = Field(
        description="The cost line's own UTBMS expense code; empty: the default."
    )

    @classmethod
    def of(cls, line: InvoiceLine) -> InvoiceLineOut:
        return cls(
            id=line.pk,
            kind=LineKind(line.kind),
            description=line.description,
            amount=money(line.amount_cents),
            timekeeper_id=line.timekeeper_id,
            hours=line.hours,
            activity_code_id=line.activity_code_id,
            line_date=line.line_date,
            external_ref=line.external_ref,
            utbms_task_code=line.utbms_task_code,
            utbms_activity_code=line.utbms_activity_code,
            utbms_expense_code=line.utbms_expense_code,
        )


class InvoiceOut(Out):
    id: int
    number: int
    file_id: int
    stage: InvoiceStage
    invoice_date: dt.date
    description: str
    pay_from_trust: bool
    trust_bank_account_id: int | None
    operating_bank_account_id: int | None
    total: Money
    external_ref: str | None
    entry_id: int | None
    void_entry_id: int | None
    finalised_on: dt.date | None
    lines: list[InvoiceLineOut]

    @classmethod
    def of(cls, invoice: Invoice, **extra: Any) -> Self:
        return cls(
            id=invoice.pk,
            number=invoice.number,
            file_id=invoice.file_id,
            stage=InvoiceStage(invoice.stage),
            invoice_date=invoice.invoice_date,
            description=invoice.description,
            pay_from_trust=invoice.pay_from_trust,
            trust_bank_account_id=invoice.trust_bank_account_id,
            operating_bank_account_id=invoice.operating_bank_account_id,
            total=money(invoice.total_cents),
            external_ref=invoice.external_ref,
            entry_id=invoice.entry_id,
            void_entry_id=invoice.void_entry_id,
            finalised_on=invoice.finalised_on,
            lines=[InvoiceLineOut.of(ln) for ln in invoice.lines.all()],
            **extra,
        )


_TASK = (
    "A fee line's UTBMS task code, of the litigation code set (L110 to L530); empty: "
    "the firm's LEDES fee task code."
)
_ACTIVITY = (
    "A fee line's UTBMS activity code (A101 to A111); empty: the firm's LEDES fee activity code."
)
_EXPENSE = "A cost line's UTBMS expense code (E101 to E124); empty: its activity code's UTBMS code."


class InvoiceLineIn(In):
    kind: LineKind
    description: str = Field(min_length=1, max_length=255)
    amount: PositiveCents
    timekeeper_id: Id | None = Field(None, description="A fee line's timekeeper.")
    hours: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    activity_code_id: Id | None = Field(None, description="A cost line's activity code.")
    line_date: dt.date | None = Field(None, description="Default: the invoice date.")
    external_ref: str = Field("", max_length=120)
    utbms_task_code: str = Field("", max_length=4, description=_TASK)
    utbms_activity_code: str = Field("", max_length=4, description=_ACTIVITY)
    utbms_expense_code: str = Field("", max_length=4, description=_EXPENSE)


class InvoiceIn(In):
    file_id: Id
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=500)
    invoice_date: dt.date | None = Field(None, description="Default: today.")
    description: str = Field("", max_length=255)
    pay_from_trust: bool = False
    trust_bank_account_id: Id | None = None
    operating_bank_account_id: Id | None = None
    external_ref: str | None = Field(None, max_length=120)
    release: Literal["auto", "review"] = Field(
        "review",
        description="auto: finalise now (posted on the invoice date); review: submit it to "
        "the review stage for someone to release in the books.",
    )


class InvoiceFilter(Clean):
    stage: InvoiceStage | None = None
    file_id: Id | None = None
    external_ref: str | None = Field(None, max_length=120)


def _invoices(firm: Firm) -> QuerySet[Invoice]:
    return Invoice.objects.filter(firm=firm).prefetch_related("lines")


def _fresh(firm: Firm, invoice: Invoice) -> InvoiceOut:
    return InvoiceOut.of(_invoices(firm).get(pk=invoice.pk))


@router.get("/invoices", response={200: Page[InvoiceOut], **ERRORS})
def invoice_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[InvoiceFilter]
) -> Page[InvoiceOut]:
    qs = _invoices(context(request).firm).order_by("pk")
    if filters.stage:
        qs = qs.filter(stage=filters.stage)
    if filters.file_id:
        qs = qs.filter(file_id=filters.file_id)
    if filters.external_ref:
        qs = qs.filter(external_ref=filters.external_ref)
    rows, next_cursor = keyset_page(qs, page)
    return Page[InvoiceOut](items=[InvoiceOut.of(i) for i in rows], next=next_cursor)


@router.get("/invoices/{int:invoice_id}", response={200: InvoiceOut, **ERRORS})
def invoice_get(request: HttpRequest, invoice_id: Id) -> InvoiceOut:
    return InvoiceOut.of(get_or_404(_invoices(context(request).firm), invoice_id))


class InvoiceBatchIn(In):
    items: list[InvoiceIn] = Field(min_length=1, max_length=MAX_BATCH)


class InvoiceBatchItemOut(InvoiceOut):
    created: bool = Field(
        description="False: an invoice with this external_ref was already in the books (the "
        "same invoice); it is returned as it is now and nothing was written."
    )


class InvoiceBatchOut(Out):
    items: list[InvoiceBatchItemOut]
    count: int
    created: int = Field(description="How many of the items were created by this request.")


def _invoice_references(item: InvoiceIn, prefix: str = "") -> list[Reference]:
    return [
        (File, item.file_id, f"{prefix}file_id"),
        (BankAccount, item.trust_bank_account_id, f"{prefix}trust_bank_account_id"),
        (BankAccount, item.operating_bank_account_id, f"{prefix}operating_bank_account_id"),
        *[
            ref
            for i, ln in enumerate(item.lines)
            for ref in (
                (User, ln.timekeeper_id, f"{prefix}lines[{i}].timekeeper_id"),
                (ActivityCode, ln.activity_code_id, f"{prefix}lines[{i}].activity_code_id"),
            )
        ],
    ]


def _invoice_request(item: InvoiceIn) -> invoice_service.InvoiceRequest:
    return invoice_service.InvoiceRequest(
        file_id=item.file_id,
        lines=[
            invoice_service.LineSpec(
                kind=ln.kind,
                description=ln.description,
                amount_cents=ln.amount,
                timekeeper_id=ln.timekeeper_id,
                hours=ln.hours,
                activity_code_id=ln.activity_code_id,
                line_date=ln.line_date,
                external_ref=ln.external_ref,
                utbms_task_code=ln.utbms_task_code,
                utbms_activity_code=ln.utbms_activity_code,
                utbms_expense_code=ln.utbms_expense_code,
            )
            for ln in item.lines
        ],
        invoice_date=item.invoice_date,
        description=item.description,
        pay_from_trust=item.pay_from_trust,
        trust_bank_account_id=item.trust_bank_account_id,
        operating_bank_account_id=item.operating_bank_account_id,
        external_ref=item.external_ref,
        release=item.release,
    )


def _create_invoices(
    request: HttpRequest, items: list[InvoiceIn], *, located: bool
) -> list[tuple[Invoice, bool]]:
    """Both endpoints' one path: every invoice found or created and taken to the stage its
    ``release`` asks, all or nothing. Each comes back as the books hold it now, its lines
    included (those created were just written with them, those found again were read
    with them): shown without reading them again."""
    return documents_find_or_create(
        request,
        items,
        located=located,
        references=_invoice_references,
        service=invoice_service.invoices_create,
        service_request=_invoice_request,
    )


@router.post("/invoices", response={200: InvoiceOut, 201: InvoiceOut, **ERRORS})
@idempotent
def invoice_create(request: HttpRequest, payload: InvoiceIn) -> Status[InvoiceOut]:
    """Create an invoice and submit it to review, or with ``release: auto`` finalise it
    (posted on the invoice date; paid from trust when ``pay_from_trust``, refused 409
    ``insufficient_trust_funds`` if the client's trust would go below zero): 201.

    With an ``external_ref`` the firm already has an invoice for: the same invoice (file,
    ``pay_from_trust``, lines' kinds, amounts and references) answers 200 with that
    invoice as it is now and writes nothing; a different one is refused 409
    ``external_ref_conflict`` with ``details.invoice_id``. A batch of one
    (``POST /invoices/batch``)."""
    [(invoice, created)] = _create_invoices(request, [payload], located=False)
    return Status(201 if created else 200, InvoiceOut.of(invoice))


@router.post("/invoices/batch", response={200: InvoiceBatchOut, 201: InvoiceBatchOut, **ERRORS})
@idempotent
def invoice_create_batch(request: HttpRequest, payload: InvoiceBatchIn) -> Status[InvoiceBatchOut]:
    """Create many invoices, all or nothing: one refusal (named ``items[i]...``, with
    ``details.index``) and none is written; the sender fails that item and sends the
    others again.

    Each item is found or created as by ``POST /invoices``: an item whose ``external_ref``
    the firm already has (the same invoice) is returned with ``created: false``; a
    different one refuses the batch 409 ``external_ref_conflict``
    (``items[i].external_ref``). Paid from trust, each invoice's draw counts those before
    it. Two items with the same ``external_ref`` are refused 422 naming the later one.
    Answers 201 if any invoice was created, 200 if every one was already in the books."""
    results = _create_invoices(request, payload.items, located=True)
    return batch_answer(
        InvoiceBatchOut,
        [InvoiceBatchItemOut.of(invoice, created=created) for invoice, created in results],
    )


class AdvanceIn(In):
    expected_stage: InvoiceStage | None = Field(
        default=None, description="Refuse (409) if the invoice has moved on meanwhile."
    )
    on: dt.date | None = Field(default=None, description="Posting date if this finalises it.")


class ReleaseIn(In):
    on: dt.date | None = Field(default=None, description="Posting date. Default: today.")


#: Bodies sent empty: every field has a default.
ADVANCE_DEFAULTS = AdvanceIn()
RELEASE_DEFAULTS = ReleaseIn()


@router.post("/invoices/{int:invoice_id}/advance", response={200: InvoiceOut, **ERRORS})
@idempotent
def invoice_advance(
    request: HttpRequest, invoice_id: Id, payload: AdvanceIn = ADVANCE_DEFAULTS
) -> InvoiceOut:
    """Move the invoice one stage on; reaching final posts it."""
    ctx = context(request)
    invoice = get_or_404(_invoices(ctx.firm), invoice_id)
    invoice = invoice_service.invoice_advance(
        firm=ctx.firm,
        actor=ctx.user,
        invoice_id=invoice.pk,
        expected_stage=payload.expected_stage,
        on=payload.on,
    )
    return _fresh(ctx.firm, invoice)


@router.post("/invoices/{int:invoice_id}/release", response={200: InvoiceOut, **ERRORS})
@idempotent
def invoice_release(
    request: HttpRequest, invoice_id: Id, payload: ReleaseIn = RELEASE_DEFAULTS
) -> InvoiceOut:
    """Take the invoice through every remaining stage to final (posted)."""
    ctx = context(request)
    invoice = get_or_404(_invoices(ctx.firm), invoice_id)
    invoice = invoice_service.invoice_finalise(
        firm=ctx.firm, actor=ctx.user, invoice_id=invoice.pk, on=payload.on
    )
    return _fresh(ctx.firm, invoice)


@router.post("/invoices/{int:invoice_id}/void", response={200: InvoiceOut, **ERRORS})
@idempotent
def invoice_void(
    request: HttpRequest, invoice_id: Id, payload: VoidIn = VOID_DEFAULTS
) -> InvoiceOut:
    """Void; a final invoice is reversed on ``void_date`` (the money goes back to trust)."""
    ctx = context(request)
    invoice = get_or_404(_invoices(ctx.firm), invoice_id)
    invoice = invoice_service.invoice_void(
        firm=ctx.firm,
        actor=ctx.user,
        invoice_id=invoice.pk,
        void_date=payload.void_date,
        reason=payload.reason,
    )
    return _fresh(ctx.firm, invoice)


class LineCodesIn(In):
    utbms_task_code: str = Field("", max_length=4, description=_TASK)
    utbms_activity_code: str = Field("", max_length=4, description=_ACTIVITY)
    utbms_expense_code: str = Field("", max_length=4, description=_EXPENSE)


@router.put(
    "/invoices/{int:invoice_id}/lines/{int:line_id}/utbms",
    response={200: InvoiceLineOut, **ERRORS},
)
def invoice_line_codes_put(
    request: HttpRequest, invoice_id: Id, line_id: Id, payload: LineCodesIn
) -> InvoiceLineOut:
    """Set a line's own UTBMS codes (a whole replacement: a code left out is the
    default): a fee line's task and activity code, a cost line's expense code, written
    into the invoice's LEDES files. An invoice in any stage but voided (409 ``conflict``);
    a code outside its set, or of the other kind of line, is 422 naming the field."""
    ctx = context(request)
    invoice = get_or_404(_invoices(ctx.firm), invoice_id)
    line = get_or_404(InvoiceLine.objects.filter(invoice=invoice), line_id)
    line = invoice_service.invoice_line_codes_set(
        firm=ctx.firm,
        actor=ctx.user,
        invoice_id=invoice.pk,
        line_id=line.pk,
        utbms_task_code=payload.utbms_task_code,
        utbms_activity_code=payload.utbms_activity_code,
        utbms_expense_code=payload.utbms_expense_code,
    )
    return InvoiceLineOut.of(line)
