"""ACH payments (issue 15, ADR 0046): payee bank details, a bank account's ACH settings,
the queue of payments paid by ACH, NACHA files and returns.

A disbursement is paid by ACH when requested with ``method: "ach"`` and a
``payee_contact_id`` on ``POST /checks`` (or ``/checks/batch``): it posts as a check does
and is never printed. ``POST /ach-batches`` puts queued ACH payments of one bank account
into one NACHA file, once (a payment not queued any more is 409); ``GET
/ach-batches/{id}/file`` downloads it, the same bytes every time. ``POST
/ach-batches/{id}/sent`` marks it sent; ``POST /ach-payments/{id}/return`` records the
bank's return (the check voided with a reversal), ``.../cancel`` cancels a queued one.

An account number is written (``PUT``, not kept in an idempotency record) and never read
back whole: answers carry it masked. A file's effective entry date is a banking day
(default: the next one); a payee's bank details say when a live entry may follow their
prenote (ADR 0055).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.books.api.idempotency import idempotent
from casebridge.books.api.security import context
from casebridge.books.errors import NotFound
from casebridge.books.models import (
    AchBatch,
    AchPayment,
    AchSettings,
    AchStatus,
    BankAccount,
    Contact,
)
from casebridge.books.services import ach as service
from casebridge.core import clock
from casebridge.core.api.lookups import get_or_404, require_in_firm
from casebridge.core.api.schemas import (
    ERRORS,
    Clean,
    ErrorOut,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["ACH payments"])


# --- payee bank details ------------------------------------------------------------------


class BankDetailsIn(In):
    routing_number: str = Field(max_length=20, description="9 digits with a valid ABA checksum.")
    account_number: str = Field(
        max_length=40, description="1 to 17 letters or digits (spaces and dashes dropped)."
    )
    account_type: Literal["checking", "savings"]
    holder_kind: Literal["person", "business"] = Field(
        description="person: PPD entries; business: CCD."
    )
    prenote: bool = Field(False, description="Send a zero-dollar prenote in the next file.")


class BankDetailsOut(Out):
    id: int
    contact_id: int
    routing_number: str
    account_number_masked: str
    account_type: str
    holder_kind: str
    sec_code: str
    prenote_status: str
    prenote_sent_on: dt.date | None
    prenote_settles_on: dt.date | None = Field(
        description="The settlement date of the prenote (its file's effective entry date, or "
        "the banking day after it was sent when later); null until its file is marked sent."
    )
    live_entries_from: dt.date | None = Field(
        description="After a prenote: the first day a live entry may be sent, the third "
        "banking day after the prenote settles (Nacha rule 2.6.2; ADR 0055)."
    )
    prenote_note: str = Field(description="The prenote's status in words, as the screen shows it.")

    @classmethod
    def of(cls, view: service.PayeeBankView) -> BankDetailsOut:
        return cls(**view.__dict__)


@router.get("/contacts/{int:contact_id}/bank-details", response={200: BankDetailsOut, **ERRORS})
def bank_details_get(request: HttpRequest, contact_id: Id) -> BankDetailsOut:
    """The contact's bank details for ACH, masked; 404 when it has none."""
    firm = context(request).firm
    contact = get_or_404(Contact.objects.filter(firm=firm), contact_id)
    account = service.payee_bank_account_of(firm, contact.pk)
    if account is None:
        raise NotFound(f"{contact.name} has no bank details", field="contact_id")
    return BankDetailsOut.of(service.payee_bank_view(account))


@router.put(
    "/contacts/{int:contact_id}/bank-details",
    response={200: BankDetailsOut, 403: ErrorOut, **ERRORS},
)
def bank_details_put(
    request: HttpRequest, contact_id: Id, payload: BankDetailsIn
) -> BankDetailsOut:
    """Set the contact's bank details (accountant or above). 422 naming
    ``routing_number`` (not 9 digits, or a failed checksum) or ``account_number``."""
    ctx = context(request)
    contact = get_or_404(Contact.objects.filter(firm=ctx.firm), contact_id)
    account = service.payee_bank_account_set(
        firm=ctx.firm,
        actor=ctx.user,
        contact_id=contact.pk,
        routing_number=payload.routing_number,
        account_number=payload.account_number,
        account_type=payload.account_type,
        holder_kind=payload.holder_kind,
        prenote=payload.prenote,
    )
    return BankDetailsOut.of(service.payee_bank_view(account))


# --- ACH settings ------------------------------------------------------------------------


class AchSettingsIn(In):
    immediate_destination: str = Field(max_length=20, description="Your bank's routing number.")
    immediate_destination_name: str = Field(max_length=23)
    immediate_origin: str = Field(max_length=10, description="9 or 10 characters, as assigned.")
    immediate_origin_name: str = Field(max_length=23)
    company_name: str = Field(max_length=16)
    company_id: str = Field(max_length=10)
    balanced: bool = Field(False, description="Offset each batch with a debit to this account.")


class AchSettingsOut(Out):
    bank_account_id: int
    immediate_destination: str
    immediate_destination_name: str
    immediate_origin: str
    immediate_origin_name: str
    company_name: str
    company_id: str
    balanced: bool

    @classmethod
    def of(cls, s: AchSettings) -> AchSettingsOut:
        return cls(
            bank_account_id=s.bank_account_id,
            immediate_destination=s.immediate_destination,
            immediate_destination_name=s.immediate_destination_name,
            immediate_origin=s.immediate_origin,
            immediate_origin_name=s.immediate_origin_name,
            company_name=s.company_name,
            company_id=s.company_id,
            balanced=s.balanced,
        )


def _bank(request: HttpRequest, bank_account_id: int) -> BankAccount:
    return get_or_404(BankAccount.objects.filter(firm=context(request).firm), bank_account_id)


@router.get(
    "/bank-accounts/{int:bank_account_id}/ach-settings", response={200: AchSettingsOut, **ERRORS}
)
def ach_settings_get(request: HttpRequest, bank_account_id: Id) -> AchSettingsOut:
    """The bank account's ACH settings; 404 when it has none."""
    bank = _bank(request, bank_account_id)
    settings = AchSettings.objects.filter(bank_account=bank).first()
    if settings is None:
        raise NotFound(f"{bank.name} has no ACH settings", field="bank_account_id")
    return AchSettingsOut.of(settings)


@router.put(
    "/bank-accounts/{int:bank_account_id}/ach-settings",
    response={200: AchSettingsOut, 403: ErrorOut, **ERRORS},
)
def ach_settings_put(
    request: HttpRequest, bank_account_id: Id, payload: AchSettingsIn
) -> AchSettingsOut:
    """Set the bank account's ACH settings (a books administrator)."""
    ctx = context(request)
    bank = _bank(request, bank_account_id)
    return AchSettingsOut.of(
        service.ach_settings_set(
            firm=ctx.firm, actor=ctx.user, bank_account_id=bank.pk, **payload.model_dump()
        )
    )


# --- payments and files ------------------------------------------------------------------


class PrenoteWaitOut(Out):
    reason: str
    possible_on: dt.date = Field(description="From when a live entry may be sent.")


class AchPaymentOut(Out):
    id: int
    check_id: int
    bank_account_id: int
    file_id: int | None
    payee: str
    payee_contact_id: int
    amount: Money
    request_date: dt.date
    sec_code: str
    status: AchStatus
    batch_id: int | None
    trace_number: str
    sent_on: dt.date | None
    returned_on: dt.date | None
    return_reason: str
    prenote_wait: PrenoteWaitOut | None = Field(
        description="A queued payment whose payee's prenote has not yet settled three banking "
        "days: why it cannot go into a file today and from when it can (ADR 0055)."
    )

    @classmethod
    def of(cls, p: AchPayment) -> AchPaymentOut:
        check = p.disbursement
        wait = (
            service.prenote_wait(p.payee_account, clock.today())
            if p.status == AchStatus.QUEUED
            else None
        )
        return cls(
            id=p.pk,
            check_id=check.pk,
            bank_account_id=check.bank_account_id,
            file_id=check.file_id,
            payee=check.payee,
            payee_contact_id=p.payee_account.contact_id,
            amount=money(check.amount_cents),
            request_date=check.request_date,
            sec_code=p.payee_account.sec_code,
            status=AchStatus(p.status),
            batch_id=p.batch_id,
            trace_number=p.trace_number,
            sent_on=p.sent_on,
            returned_on=p.returned_on,
            return_reason=p.return_reason,
            prenote_wait=PrenoteWaitOut(reason=wait.reason, possible_on=wait.possible_on)
            if wait
            else None,
        )


class AchPaymentFilter(Clean):
    status: AchStatus | None = None
    bank_account_id: Id | None = None
    batch_id: Id | None = None


def _payments(request: HttpRequest):  # type: ignore[no-untyped-def]
    return AchPayment.objects.filter(firm=context(request).firm).select_related(
        "disbursement", "payee_account", "payee_account__prenote_batch"
    )


@router.get("/ach-payments", response={200: Page[AchPaymentOut], **ERRORS})
def ach_payment_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[AchPaymentFilter]
) -> Page[AchPaymentOut]:
    qs = _payments(request).order_by("pk")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.bank_account_id:
        qs = qs.filter(disbursement__bank_account_id=filters.bank_account_id)
    if filters.batch_id:
        qs = qs.filter(batch_id=filters.batch_id)
    rows, next_cursor = keyset_page(qs, page)
    return Page[AchPaymentOut](items=[AchPaymentOut.of(p) for p in rows], next=next_cursor)


class ReturnIn(In):
    reason: str = Field(min_length=1, max_length=255, description="The bank's return code.")
    returned_on: dt.date | None = Field(None, description="Default: today.")


class CancelIn(In):
    reason: str = Field(default="", max_length=255)


CANCEL_DEFAULTS = CancelIn()


@router.post(
    "/ach-payments/{int:payment_id}/return", response={200: AchPaymentOut, 403: ErrorOut, **ERRORS}
)
@idempotent
def ach_payment_return(request: HttpRequest, payment_id: Id, payload: ReturnIn) -> AchPaymentOut:
    """The bank returned the payment: it is voided with a reversal dated ``returned_on``
    (accountant or above). Only a payment in a file; else 409."""
    ctx = context(request)
    payment = get_or_404(_payments(request), payment_id)
    service.ach_payment_return(
        firm=ctx.firm,
        actor=ctx.user,
        payment_id=payment.pk,
        returned_on=payload.returned_on,
        reason=payload.reason,
    )
    return AchPaymentOut.of(_payments(request).get(pk=payment.pk))


@router.post(
    "/ach-payments/{int:payment_id}/cancel", response={200: AchPaymentOut, 403: ErrorOut, **ERRORS}
)
@idempotent
def ach_payment_cancel(
    request: HttpRequest, payment_id: Id, payload: CancelIn = CANCEL_DEFAULTS
) -> AchPaymentOut:
    """Cancel a queued payment (its check voided with a reversal today); else 409."""
    ctx = context(request)
    payment = get_or_404(_payments(request), payment_id)
    service.ach_payment_cancel(
        firm=ctx.firm, actor=ctx.user, payment_id=payment.pk, reason=payload.reason
    )
    return AchPaymentOut.of(_payments(request).get(pk=payment.pk))


class AchBatchIn(In):
    bank_account_id: Id
    payment_ids: list[Id] = Field(max_length=service.MAX_PAYMENTS_PER_FILE)
    effective_date: dt.date | None = Field(
        None,
        description="A banking day (not a weekend or a Federal Reserve holiday) from today "
        "to 30 days ahead; default: the next banking day (ADR 0055).",
    )
    include_prenotes: bool = False


class AchBatchOut(Out):
    id: int
    bank_account_id: int
    effective_date: dt.date
    created_on: dt.date
    file_id_modifier: str
    entry_count: int
    prenote_count: int
    entry_hash: int
    total_credit: Money
    total_debit: Money
    sent_on: dt.date | None
    payment_ids: list[int]
    file_name: str

    @classmethod
    def of(cls, b: AchBatch) -> AchBatchOut:
        return cls(
            id=b.pk,
            bank_account_id=b.bank_account_id,
            effective_date=b.effective_date,
            created_on=b.created_on,
            file_id_modifier=b.file_id_modifier,
            entry_count=b.entry_count,
            prenote_count=b.prenote_count,
            entry_hash=b.entry_hash,
            total_credit=money(b.total_credit_cents),
            total_debit=money(b.total_debit_cents),
            sent_on=b.sent_on,
            payment_ids=sorted(b.payments.values_list("pk", flat=True)),
            file_name=service.ach_batch_filename(b),
        )


def _batches(request: HttpRequest):  # type: ignore[no-untyped-def]
    return AchBatch.objects.filter(firm=context(request).firm)


@router.get("/ach-batches", response={200: Page[AchBatchOut], **ERRORS})
def ach_batch_list(request: HttpRequest, page: Query[PageIn]) -> Page[AchBatchOut]:
    rows, next_cursor = keyset_page(_batches(request).order_by("pk"), page)
    return Page[AchBatchOut](items=[AchBatchOut.of(b) for b in rows], next=next_cursor)


@router.post("/ach-batches", response={201: AchBatchOut, 403: ErrorOut, **ERRORS})
@idempotent
def ach_batch_create(request: HttpRequest, payload: AchBatchIn) -> Status[AchBatchOut]:
    """Make a NACHA file of these queued ACH payments of one bank account (201). A payment
    already in a file is 409 naming ``payment_ids`` (``details.index``): the same payment
    never goes into two files; so is one whose payee must still wait for a prenote
    (``details.possible_on``: from when it may go). Without ACH settings: 422 on
    ``bank_account``; an effective date that is not a banking day: 422 on
    ``effective_date`` (``details.next_banking_day``)."""
    ctx = context(request)
    require_in_firm(ctx.firm, [(BankAccount, payload.bank_account_id, "bank_account_id")])
    batch = service.ach_batch_create(
        firm=ctx.firm,
        actor=ctx.user,
        bank_account_id=payload.bank_account_id,
        payment_ids=payload.payment_ids,
        effective_date=payload.effective_date,
        include_prenotes=payload.include_prenotes,
    )
    return Status(201, AchBatchOut.of(batch))


@router.get("/ach-batches/{int:batch_id}", response={200: AchBatchOut, **ERRORS})
def ach_batch_get(request: HttpRequest, batch_id: Id) -> AchBatchOut:
    return AchBatchOut.of(get_or_404(_batches(request), batch_id))


_FILE_RESPONSE = {
    "responses": {
        "200": {
            "description": "The NACHA file as made: 94-character records, blocks of ten.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/ach-batches/{int:batch_id}/file",
    response={403: ErrorOut, **ERRORS},
    url_name="ach_batch_file",
    openapi_extra=_FILE_RESPONSE,
)
def ach_batch_file(request: HttpRequest, batch_id: Id) -> HttpResponse:
    """The NACHA file, byte for byte as it was made. Accountant or above (403); each
    download is audited."""
    ctx = context(request)
    batch = get_or_404(_batches(request), batch_id)
    name, text = service.ach_batch_download(firm=ctx.firm, actor=ctx.user, batch_id=batch.pk)
    response = HttpResponse(text.encode("ascii"), content_type="text/plain; charset=us-ascii")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


class SentIn(In):
    sent_on: dt.date | None = Field(default=None, description="Default: today.")


SENT_DEFAULTS = SentIn()


@router.post(
    "/ach-batches/{int:batch_id}/sent", response={200: AchBatchOut, 403: ErrorOut, **ERRORS}
)
@idempotent
def ach_batch_sent(
    request: HttpRequest, batch_id: Id, payload: SentIn = SENT_DEFAULTS
) -> AchBatchOut:
    """The file went to the bank: its payments become sent. Once; again is 409."""
    ctx = context(request)
    batch = get_or_404(_batches(request), batch_id)
    return AchBatchOut.of(
        service.ach_batch_mark_sent(
            firm=ctx.firm, actor=ctx.user, batch_id=batch.pk, sent_on=payload.sent_on
        )
    )
