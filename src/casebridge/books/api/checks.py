"""Checks (cost advances from operating, disbursements from trust) and trust receipts.

A check request posts at once (a queued trust check already holds the client's money), is
printed with a number later, or voided with a reversal on the void date. A batch of one
bank account's queued checks is numbered in one transaction (``POST /checks/print-batch``)
and drawn on check stock by ``GET /checks/pdf``; a spoiled printed check is printed again
under the next number (``POST /checks/{id}/reprint``: the payment and its entry stay as
they are, the spoiled number is kept and never used again). The bridge sends
costs with ``POST /checks`` or ``POST /checks/batch`` (all or nothing) and reads their
status back with ``GET /checks?ids=...``: a check paid by ACH says so (``method: "ach"``)
and how its payment stands (``ach``: queued, in a file, sent, returned; ``cleared_on`` when
the bank cleared it; ADR 0055).

Checks and trust receipts are found again by ``external_ref`` (unique per firm), so a
sender that cannot know whether its last request arrived can simply send it again: the
same request with a known ``external_ref`` returns the record already there (200, or
``created: false`` in a batch) and posts nothing; a different request under a known
``external_ref`` is refused 409 ``external_ref_conflict`` naming the record
(``details.check_id`` / ``details.receipt_id``). Two requests racing with the same new
``external_ref``: one is created, the other refused 409 ``conflict`` (retry it: it then
finds the first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Literal, Self, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.books.api.batches import batch_answer, documents_find_or_create
from casebridge.books.api.idempotency import idempotent
from casebridge.books.api.schemas import VOID_DEFAULTS, VoidIn
from casebridge.books.api.security import context
from casebridge.books.errors import DomainError, ValidationFailed
from casebridge.books.models import (
    AchPayment,
    AchStatus,
    ActivityCode,
    BankAccount,
    Check,
    CheckStatus,
    Contact,
    File,
    Firm,
    ReceiptStatus,
    SpoiledCheckNumber,
    TrustReceipt,
)
from casebridge.books.printing.checks_pdf import CheckLayout, render_checks_pdf
from casebridge.books.selectors.checks import (
    MAX_CHECK_NUMBER,
    MAX_CHECKS_PER_PDF,
    printed_checks_for_pdf,
)
from casebridge.books.services import ach as ach_service
from casebridge.books.services import checks as check_service
from casebridge.books.services.matching import cleared_dates
from casebridge.core.api.errors import at_index
from casebridge.core.api.lookups import Reference, get_or_404, require_in_firm
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

router = Router(tags=["checks and trust receipts"])

Shown = TypeVar("Shown", bound=Out)

MAX_BATCH = 1000
_AMOUNT = {"amount"}
_NOT_ASKED = {"amount", "method", "payee_contact_id"}


def _ach_of(check_ids: Sequence[int]) -> dict[int, AchPayment]:
    """The ACH payments among these checks, by check id (one query; none when empty)."""
    if not check_ids:
        return {}
    return {
        p.disbursement_id: p
        for p in AchPayment.objects.filter(disbursement_id__in=list(check_ids)).select_related(
            "batch"
        )
    }


def _checks_out(checks: Sequence[Check]) -> list[CheckOut]:
    """The checks as the API shows them, with when the bank cleared each and how an ACH
    payment stands (two queries)."""
    cleared = cleared_dates([c.entry_id for c in checks])
    ach = _ach_of([c.pk for c in checks])
    return [CheckOut.of(c, cleared_on=cleared.get(c.entry_id), ach=ach.get(c.pk)) for c in checks]


def _check_out(check: Check) -> CheckOut:
    return _checks_out([check])[0]


def _receipts_out(receipts: Sequence[TrustReceipt]) -> list[ReceiptOut]:
    cleared = cleared_dates([r.entry_id for r in receipts])
    return [ReceiptOut.of(r, cleared_on=cleared.get(r.entry_id)) for r in receipts]


def _receipt_out(receipt: TrustReceipt) -> ReceiptOut:
    return _receipts_out([receipt])[0]


def _documents_out(
    of: Callable[..., Shown],
    results: Sequence[tuple[Check | TrustReceipt, bool]],
    *,
    created: bool = False,
) -> list[Shown]:
    """A batch's checks or receipts as the API shows them (``of``: the schema's ``of``),
    with when the bank cleared each: only one found again can have been, so one query
    at most, none when every one is new. ``created``: each with its ``created`` flag."""
    cleared = cleared_dates([doc.entry_id for doc, new in results if not new])
    checks = [doc.pk for doc, _new in results if isinstance(doc, Check)]
    ach = _ach_of(checks)
    return [
        of(
            doc,
            cleared_on=cleared.get(doc.entry_id),
            **({"ach": ach.get(doc.pk)} if isinstance(doc, Check) else {}),
            **({"created": new} if created else {}),
        )
        for doc, new in results
    ]


class AchStateOut(Out):
    """How a check paid by ACH stands (ADR 0046, 0055); the money is the check's."""

    payment_id: int
    status: AchStatus = Field(
        description="queued (in no file yet), batched (in a NACHA file), sent (the file went "
        "to the bank), returned (by the bank: the check is voided) or cancelled (voided)."
    )
    batch_id: int | None
    effective_date: dt.date | None = Field(description="The file's effective entry date.")
    trace_number: str
    sent_on: dt.date | None
    returned_on: dt.date | None
    return_reason: str

    @classmethod
    def of(cls, p: AchPayment) -> AchStateOut:
        return cls(
            payment_id=p.pk,
            status=AchStatus(p.status),
            batch_id=p.batch_id,
            effective_date=p.batch.effective_date if p.batch is not None else None,
            trace_number=p.trace_number,
            sent_on=p.sent_on,
            returned_on=p.returned_on,
            return_reason=p.return_reason,
        )


class CheckOut(Out):
    id: int
    bank_account_id: int
    file_id: int | None
    payee: str
    amount: Money
    activity_code_id: int | None
    memo: str
    posting_reference: str
    external_ref: str | None
    status: CheckStatus
    check_number: int | None
    request_date: dt.date
    printed_on: dt.date | None
    voided_on: dt.date | None
    void_reason: str
    entry_id: int
    void_entry_id: int | None
    cleared_on: dt.date | None = Field(
        description="When the bank cleared it (a statement line matched to it), else null."
    )
    method: Literal["check", "ach"] = Field(
        "check", description="How it is paid: a printed check, or an ACH credit (ADR 0046)."
    )
    ach: AchStateOut | None = Field(
        None,
        description="Paid by ACH: how the payment stands (its status stays queued here until "
        "it is voided, as it is never printed); null for a printed check.",
    )

    @classmethod
    def of(
        cls,
        check: Check,
        *,
        cleared_on: dt.date | None,
        ach: AchPayment | None = None,
        **extra: Any,
    ) -> Self:
        return cls(
            id=check.pk,
            bank_account_id=check.bank_account_id,
            file_id=check.file_id,
            payee=check.payee,
            amount=money(check.amount_cents),
            activity_code_id=check.activity_code_id,
            memo=check.memo,
            posting_reference=check.posting_reference,
            external_ref=check.external_ref,
            status=CheckStatus(check.status),
            check_number=check.check_number,
            request_date=check.request_date,
            printed_on=check.printed_on,
            voided_on=check.voided_on,
            void_reason=check.void_reason,
            entry_id=check.entry_id,
            void_entry_id=check.void_entry_id,
            cleared_on=cleared_on,
            method="ach" if ach is not None else "check",
            ach=AchStateOut.of(ach) if ach is not None else None,
            **extra,
        )


class CheckIn(In):
    bank_account_id: Id
    payee: str = Field(min_length=1, max_length=200)
    amount: PositiveCents
    file_id: Id | None = Field(None, description="Required for a trust check.")
    activity_code_id: Id | None = Field(None, description="Required for an operating check.")
    memo: str = Field("", max_length=255)
    posting_reference: str = Field("", max_length=60)
    request_date: dt.date | None = Field(None, description="Default: today.")
    external_ref: str | None = Field(None, max_length=120)
    method: Literal["check", "ach"] = Field(
        "check",
        description="How it is paid: a printed check, or an ACH credit to the bank details "
        "of payee_contact_id (422 on payee_contact when the payee has none; ADR 0046).",
    )
    payee_contact_id: Id | None = Field(None, description="The payee's contact; for ach.")


class CheckBatchIn(In):
    items: list[CheckIn] = Field(min_length=1, max_length=MAX_BATCH)


class CheckBatchItemOut(CheckOut):
    created: bool = Field(
        description="False: a check with this external_ref was already in the books (the "
        "same request); it is returned as it is now and nothing was posted."
    )


class CheckBatchOut(Out):
    items: list[CheckBatchItemOut]
    count: int
    created: int = Field(description="How many of the items were created by this request.")


class CheckFilter(Clean):
    status: CheckStatus | None = None
    file_id: Id | None = None
    bank_account_id: Id | None = None
    external_ref: str | None = Field(None, max_length=120)
    ids: str | None = Field(
        None, max_length=20_000, description="Comma-separated ids, e.g. ids=3,4,9."
    )


def _check_references(item: CheckIn, prefix: str = "") -> list[Reference]:
    return [
        (BankAccount, item.bank_account_id, f"{prefix}bank_account_id"),
        (File, item.file_id, f"{prefix}file_id"),
        (ActivityCode, item.activity_code_id, f"{prefix}activity_code_id"),
        (Contact, item.payee_contact_id, f"{prefix}payee_contact_id"),
    ]


def parse_ids(text: str, field: str = "ids") -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValidationFailed(f"{field} must be comma-separated numbers", field=field) from None
    if any(not 1 <= i < 2**63 for i in ids):
        raise ValidationFailed(f"{field} must be positive ids", field=field)
    return ids


def _checks(firm: Firm) -> QuerySet[Check]:
    return Check.objects.filter(firm=firm)


@router.get("/checks", response={200: Page[CheckOut], **ERRORS})
def check_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[CheckFilter]
) -> Page[CheckOut]:
    qs = _checks(context(request).firm).order_by("pk")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.file_id:
        qs = qs.filter(file_id=filters.file_id)
    if filters.bank_account_id:
        qs = qs.filter(bank_account_id=filters.bank_account_id)
    if filters.external_ref:
        qs = qs.filter(external_ref=filters.external_ref)
    if filters.ids is not None:
        qs = qs.filter(pk__in=parse_ids(filters.ids))
    rows, next_cursor = keyset_page(qs, page)
    return Page[CheckOut](items=_checks_out(rows), next=next_cursor)


@router.get("/checks/{int:check_id}", response={200: CheckOut, **ERRORS})
def check_get(request: HttpRequest, check_id: Id) -> CheckOut:
    return _check_out(get_or_404(_checks(context(request).firm), check_id))


def _check_request(item: CheckIn) -> ach_service.Disbursement:
    # the same names but the amount's (the service's in cents) and how it is paid
    return ach_service.Disbursement(
        check_service.CheckRequest(amount_cents=item.amount, **item.model_dump(exclude=_NOT_ASKED)),
        method=item.method,
        payee_contact_id=item.payee_contact_id,
    )


def _request_checks(
    request: HttpRequest, items: list[CheckIn], *, located: bool
) -> list[tuple[Check, bool]]:
    """Both endpoints' one path (a batch's items must not repeat an external_ref)."""
    if located:
        _refuse_repeated_refs(items)
    return documents_find_or_create(
        request,
        items,
        located=located,
        references=_check_references,
        service=ach_service.disbursements_find_or_create,
        service_request=_check_request,
    )


@router.post("/checks", response={200: CheckOut, 201: CheckOut, **ERRORS})
@idempotent
def check_create(request: HttpRequest, payload: CheckIn) -> Status[CheckOut]:
    """Request a check; it posts at once (201). A trust check beyond the client's balance is
    refused 409 ``insufficient_trust_funds`` with ``details.available``: the lowest running
    balance from its ``request_date`` on (ADR 0011). When a date rather than the current
    balance is the limit, ``details.date`` is the check's date and the message names it
    (and ``details.limited_on`` the later date whose balance is the limit, if one is).

    With an ``external_ref`` the firm already has a check for: the same request (bank
    account, payee, amount, file, activity code) answers 200 with that check as it is now
    (even if printed or voided) and posts nothing; a different one is refused 409
    ``external_ref_conflict`` with ``details.check_id`` and ``details.differing`` (the
    fields that differ). A batch of one (``POST /checks/batch``)."""
    results = _request_checks(request, [payload], located=False)
    [answer] = _documents_out(CheckOut.of, results)
    return Status(201 if results[0][1] else 200, answer)


def _refuse_repeated_refs(items: list[CheckIn]) -> None:
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        ref = item.external_ref or None  # blank is no external_ref
        if ref is None:
            continue
        if ref in first:
            raise ValidationFailed(
                f"items[{i}].external_ref: {ref!r} repeats items[{first[ref]}].external_ref; "
                "each check in a batch needs its own",
                field=f"items[{i}].external_ref",
            )
        first[ref] = i


@router.post("/checks/batch", response={200: CheckBatchOut, 201: CheckBatchOut, **ERRORS})
@idempotent
def check_create_batch(request: HttpRequest, payload: CheckBatchIn) -> Status[CheckBatchOut]:
    """Request many checks, all or nothing: one refusal (named ``items[i]...``) and none
    is written.

    Each item is found or created as by ``POST /checks``: an item whose ``external_ref``
    the firm already has (with the same content) is returned with ``created: false`` and
    not posted again; one with different content refuses the batch 409
    ``external_ref_conflict`` (``items[i].external_ref``). Two items with the same
    ``external_ref`` are refused 422 ``validation_error`` naming the later one
    (``items[i].external_ref``). Answers 201 if any check was created, 200 if every one
    was already in the books; ``created`` counts the new ones."""
    results = _request_checks(request, payload.items, located=True)
    return batch_answer(CheckBatchOut, _documents_out(CheckBatchItemOut.of, results, created=True))


class PrintIn(In):
    check_number: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CHECK_NUMBER,
        description="Default: the bank account's next number.",
    )
    printed_on: dt.date | None = None


PRINT_DEFAULTS = PrintIn()


@router.post("/checks/{int:check_id}/print", response={200: CheckOut, **ERRORS})
@idempotent
def check_print(request: HttpRequest, check_id: Id, payload: PrintIn = PRINT_DEFAULTS) -> CheckOut:
    ctx = context(request)
    check = get_or_404(_checks(ctx.firm), check_id)
    return _check_out(
        check_service.check_print(
            firm=ctx.firm,
            actor=ctx.user,
            check_id=check.pk,
            check_number=payload.check_number,
            printed_on=payload.printed_on,
        )
    )


class PrintBatchIn(In):
    ids: list[Id] = Field(
        min_length=1,
        max_length=MAX_CHECKS_PER_PDF,
        description="Queued checks of one bank account, numbered in this order.",
    )
    bank_account_id: Id
    printed_on: dt.date | None = Field(None, description="Default: today.")
    layout: CheckLayout = Field(
        CheckLayout.CHECK_ON_TOP, description="The layout of the PDF that `pdf_url` gives."
    )


class PrintBatchOut(Out):
    bank_account_id: int
    printed_on: dt.date
    numbers: list[int] = Field(description="Each check's number, in the order of `ids`.")
    items: list[CheckOut]
    pdf_url: str = Field(description="GET it (with the same token) for the checks' PDF.")
    micr_line: bool = Field(
        description="False: the bank account has no routing or account number, so the checks "
        "print without a MICR line (set them with PUT /bank-accounts/{id}/check-printing)."
    )


def pdf_path(ids: list[int], layout: CheckLayout) -> str:
    return (
        reverse("books:books_api:check_pdf")
        + f"?ids={','.join(str(i) for i in ids)}&layout={layout.value}"
    )


def _located(exc: DomainError, field: str, ids_field: str = "ids") -> DomainError:
    """A batch service's refusal named after the request: ``check_ids`` at index i is
    ``ids[i]``."""
    index = exc.details.get("index")
    if exc.field == field and isinstance(index, int):
        return at_index(type(exc)(exc.message, **exc.details), ids_field, index)
    return exc


@router.post("/checks/print-batch", response={200: PrintBatchOut, **ERRORS})
@idempotent
def check_print_batch(request: HttpRequest, payload: PrintBatchIn) -> PrintBatchOut:
    """Print a batch of queued checks of one bank account: in one transaction, numbered
    from the bank account's next number in the order of ``ids`` (consecutive, skipping
    only a number already used), printed on ``printed_on``. All or nothing: a check of
    another firm is 404 (``ids[i]``); one not queued 409, drawn on another bank account or
    dated after ``printed_on`` 422, each naming ``ids[i]``; nothing is written. Then GET
    ``pdf_url`` for the PDF."""
    ctx = context(request)
    require_in_firm(
        ctx.firm,
        [(BankAccount, payload.bank_account_id, "bank_account_id")]
        + [(Check, pk, f"ids[{i}]") for i, pk in enumerate(payload.ids)],
    )
    try:
        printed = check_service.checks_print_batch(
            firm=ctx.firm,
            actor=ctx.user,
            check_ids=payload.ids,
            bank_account_id=payload.bank_account_id,
            printed_on=payload.printed_on,
        )
    except DomainError as exc:
        raise _located(exc, "check_ids") from None
    bank = BankAccount.objects.get(pk=payload.bank_account_id)
    printed_on = printed[0].printed_on
    assert printed_on is not None  # printed
    return PrintBatchOut(
        bank_account_id=bank.pk,
        printed_on=printed_on,
        numbers=[c.check_number for c in printed if c.check_number is not None],
        items=_checks_out(printed),
        pdf_url=pdf_path([c.pk for c in printed], payload.layout),
        micr_line=bool(bank.routing_number and bank.account_number),
    )


class PdfIn(Clean):
    ids: str = Field(
        max_length=20_000, description="Comma-separated ids of printed checks, e.g. ids=3,4,9."
    )
    layout: CheckLayout = CheckLayout.CHECK_ON_TOP


_PDF_RESPONSE = {
    "responses": {
        "200": {
            "description": "The checks on Letter-size check stock: `check_on_top` (one check "
            "and two stubs a page) or `three_per_page`. The MICR line needs MICR toner.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get("/checks/pdf", response={**ERRORS}, url_name="check_pdf", openapi_extra=_PDF_RESPONSE)
def check_pdf(request: HttpRequest, params: Query[PdfIn]) -> HttpResponse:
    """The PDF of printed checks, in the order of ``ids``. A check that is not the
    firm's is 404, one not printed (queued, voided) 409, each naming ``ids``; at most
    500. Print with 100% scale ("actual size") and MICR toner."""
    rows = printed_checks_for_pdf(firm=context(request).firm, check_ids=parse_ids(params.ids))
    response = HttpResponse(render_checks_pdf(rows, params.layout), content_type="application/pdf")
    first, last = rows[0].check_number, rows[-1].check_number
    name = f"checks-{first}" + (f"-{last}" if len(rows) > 1 else "") + ".pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


class ReprintIn(In):
    reason: str = Field(min_length=1, max_length=255, description="What happened to the paper.")
    printed_on: dt.date | None = Field(None, description="Default: today.")


class ReprintOut(CheckOut):
    spoiled_number: int = Field(description="The number printed on the spoiled paper.")


@router.post("/checks/{int:check_id}/reprint", response={200: ReprintOut, **ERRORS})
@idempotent
def check_reprint(request: HttpRequest, check_id: Id, payload: ReprintIn) -> ReprintOut:
    """Print a printed check again because its paper was spoiled: its number is kept as
    spoiled (never used again) and it gets the bank account's next number. The payment
    is the same check and journal entry: nothing is posted. A check not printed is 409."""
    ctx = context(request)
    check = get_or_404(_checks(ctx.firm), check_id)
    again = check_service.check_reprint(
        firm=ctx.firm,
        actor=ctx.user,
        check_id=check.pk,
        reason=payload.reason,
        printed_on=payload.printed_on,
    )
    spoiled = SpoiledCheckNumber.objects.filter(reprinted_check=again).latest("pk")
    return ReprintOut(**_check_out(again).model_dump(), spoiled_number=spoiled.number)


@router.post("/checks/{int:check_id}/void", response={200: CheckOut, **ERRORS})
@idempotent
def check_void(request: HttpRequest, check_id: Id, payload: VoidIn = VOID_DEFAULTS) -> CheckOut:
    """Void a queued or printed check: a reversal dated ``void_date`` restores the money."""
    ctx = context(request)
    check = get_or_404(_checks(ctx.firm), check_id)
    return _check_out(
        check_service.check_void(
            firm=ctx.firm,
            actor=ctx.user,
            check_id=check.pk,
            void_date=payload.void_date,
            reason=payload.reason,
        )
    )


class ReceiptOut(Out):
    id: int
    bank_account_id: int
    file_id: int
    payer: str
    amount: Money
    received_on: dt.date
    reference: str
    memo: str
    external_ref: str | None
    status: ReceiptStatus
    voided_on: dt.date | None
    entry_id: int
    void_entry_id: int | None
    cleared_on: dt.date | None = Field(
        description="When the bank cleared it (a statement line matched to it), else null."
    )

    @classmethod
    def of(cls, receipt: TrustReceipt, *, cleared_on: dt.date | None, **extra: Any) -> Self:
        return cls(
            id=receipt.pk,
            bank_account_id=receipt.bank_account_id,
            file_id=receipt.file_id,
            payer=receipt.payer,
            amount=money(receipt.amount_cents),
            received_on=receipt.received_on,
            reference=receipt.reference,
            memo=receipt.memo,
            external_ref=receipt.external_ref,
            status=ReceiptStatus(receipt.status),
            voided_on=receipt.voided_on,
            entry_id=receipt.entry_id,
            void_entry_id=receipt.void_entry_id,
            cleared_on=cleared_on,
            **extra,
        )


class ReceiptIn(In):
    bank_account_id: Id = Field(description="A client trust bank account.")
    file_id: Id
    payer: str = Field(min_length=1, max_length=200)
    amount: PositiveCents
    received_on: dt.date | None = Field(None, description="Default: today.")
    reference: str = Field("", max_length=60, description="The deposited check's number.")
    memo: str = Field("", max_length=255)
    external_ref: str | None = Field(None, max_length=120)


class ReceiptFilter(Clean):
    status: ReceiptStatus | None = None
    file_id: Id | None = None
    external_ref: str | None = Field(None, max_length=120)


def _receipts(firm: Firm) -> QuerySet[TrustReceipt]:
    return TrustReceipt.objects.filter(firm=firm)


@router.get("/trust-receipts", response={200: Page[ReceiptOut], **ERRORS})
def receipt_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[ReceiptFilter]
) -> Page[ReceiptOut]:
    qs = _receipts(context(request).firm).order_by("pk")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.file_id:
        qs = qs.filter(file_id=filters.file_id)
    if filters.external_ref:
        qs = qs.filter(external_ref=filters.external_ref)
    rows, next_cursor = keyset_page(qs, page)
    return Page[ReceiptOut](items=_receipts_out(rows), next=next_cursor)


@router.get("/trust-receipts/{int:receipt_id}", response={200: ReceiptOut, **ERRORS})
def receipt_get(request: HttpRequest, receipt_id: Id) -> ReceiptOut:
    return _receipt_out(get_or_404(_receipts(context(request).firm), receipt_id))


class ReceiptBatchIn(In):
    items: list[ReceiptIn] = Field(min_length=1, max_length=MAX_BATCH)


class ReceiptBatchItemOut(ReceiptOut):
    created: bool = Field(
        description="False: a receipt with this external_ref was already in the books (the "
        "same deposit); it is returned as it is now and nothing was posted."
    )


class ReceiptBatchOut(Out):
    items: list[ReceiptBatchItemOut]
    count: int
    created: int = Field(description="How many of the items were recorded by this request.")


def _receipt_references(item: ReceiptIn, prefix: str = "") -> list[Reference]:
    return [
        (BankAccount, item.bank_account_id, f"{prefix}bank_account_id"),
        (File, item.file_id, f"{prefix}file_id"),
    ]


def _receipt_request(item: ReceiptIn) -> check_service.ReceiptRequest:
    return check_service.ReceiptRequest(
        amount_cents=item.amount, **item.model_dump(exclude=_AMOUNT)
    )


def _record_receipts(
    request: HttpRequest, items: list[ReceiptIn], *, located: bool
) -> list[tuple[TrustReceipt, bool]]:
    """Both endpoints' one path: every deposit found or recorded, all or nothing."""
    return documents_find_or_create(
        request,
        items,
        located=located,
        references=_receipt_references,
        service=check_service.trust_receipts_find_or_record,
        service_request=_receipt_request,
    )


@router.post("/trust-receipts", response={200: ReceiptOut, 201: ReceiptOut, **ERRORS})
@idempotent
def receipt_create(request: HttpRequest, payload: ReceiptIn) -> Status[ReceiptOut]:
    """Deposit into a client's trust (e.g. the settlement check): 201.

    With an ``external_ref`` the firm already has a receipt for: the same deposit (bank
    account, file, payer, amount) answers 200 with that receipt and posts nothing; a
    different one is refused 409 ``external_ref_conflict`` with ``details.receipt_id``.
    A batch of one (``POST /trust-receipts/batch``)."""
    results = _record_receipts(request, [payload], located=False)
    [answer] = _documents_out(ReceiptOut.of, results)
    return Status(201 if results[0][1] else 200, answer)


@router.post(
    "/trust-receipts/batch", response={200: ReceiptBatchOut, 201: ReceiptBatchOut, **ERRORS}
)
@idempotent
def receipt_create_batch(request: HttpRequest, payload: ReceiptBatchIn) -> Status[ReceiptBatchOut]:
    """Record many deposits, all or nothing: one refusal (named ``items[i]...``, with
    ``details.index``) and none is written; the sender fails that item and sends the
    others again.

    Each item is found or recorded as by ``POST /trust-receipts``: an item whose
    ``external_ref`` the firm already has (the same deposit) is returned with ``created:
    false`` and not posted again; a different deposit refuses the batch 409
    ``external_ref_conflict`` (``items[i].external_ref``). Two items with the same
    ``external_ref`` are refused 422 ``validation_error`` naming the later one. Answers
    201 if any receipt was recorded, 200 if every one was already in the books."""
    results = _record_receipts(request, payload.items, located=True)
    return batch_answer(
        ReceiptBatchOut, _documents_out(ReceiptBatchItemOut.of, results, created=True)
    )


@router.post("/trust-receipts/{int:receipt_id}/void", response={200: ReceiptOut, **ERRORS})
@idempotent
def receipt_void(
    request: HttpRequest, receipt_id: Id, payload: VoidIn = VOID_DEFAULTS
) -> ReceiptOut:
    """Reverse a deposit (a bounced check), dated ``void_date`` (default today); refused
    409 ``insufficient_trust_funds`` if the money was already paid out: if any running
    balance from the void's date on would go below zero."""
    ctx = context(request)
    receipt = get_or_404(_receipts(ctx.firm), receipt_id)
    return _receipt_out(
        check_service.trust_receipt_void(
            firm=ctx.firm,
            actor=ctx.user,
            receipt_id=receipt.pk,
            void_date=payload.void_date,
            reason=payload.reason,
        )
    )
