"""Invoices: fee lines (a time entry by a user who records time) and cost lines (with an
activity code), moving draft -> review -> [release] -> final. The release stage is used
only when the firm's "Enable release invoice stage in billing" feature is on.

Finalising posts the entry. With ``pay_from_trust`` the same entry settles the invoice from
the client's trust (domain.md section 4): Dr client trust liability (file), Cr trust bank,
Dr operating bank, Cr fee income / each cost line's account. Otherwise: Dr accounts
receivable, Cr the same income and cost accounts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from casebridge.books.audit import books_audit
from casebridge.books.errors import (
    Conflict,
    ExternalRefConflict,
    RecordsTimeOff,
    ValidationFailed,
)
from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    BankAccount,
    BankAccountKind,
    File,
    Firm,
    GLAccount,
    Invoice,
    InvoiceLine,
    InvoiceStage,
    LineKind,
    User,
)
from casebridge.books.roles import CORRECTIONS, require_role
from casebridge.books.services.checks import role_account
from casebridge.books.services.dates import date_in_window, window_for
from casebridge.books.services.journal import Line, journal_entry_post, journal_entry_reverse
from casebridge.core import clock
from casebridge.core.money import format_cents


@dataclass(frozen=True)
class LineSpec:
    kind: str  # "fee" or "cost"
    description: str
    amount_cents: int
    timekeeper_id: int | None = None
    hours: Decimal | None = None
    activity_code_id: int | None = None
    line_date: dt.date | None = None
    external_ref: str = ""


def _audit(
    invoice: Invoice,
    actor: User | None,
    action: str,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    books_audit(
        firm_id=invoice.firm_id,
        action=action,
        entity_type="invoice",
        entity_id=invoice.pk,
        actor=actor,
        summary=summary,
        before=before,
        after=after,
    )


def _bank_of_kind(firm: Firm, bank_id: int | None, kind: str, field: str) -> BankAccount:
    qs = BankAccount.objects.filter(firm=firm, kind=kind, is_active=True)
    bank = qs.filter(pk=bank_id).first() if bank_id is not None else qs.order_by("pk").first()
    if bank is None:
        label = "client trust" if kind == BankAccountKind.TRUST else "operating"
        raise ValidationFailed(f"no {label} bank account found in this firm", field=field)
    return bank


@transaction.atomic
def invoice_create(
    *,
    firm: Firm,
    actor: User | None,
    file_id: int,
    lines: list[LineSpec],
    invoice_date: dt.date | None = None,
    description: str = "",
    pay_from_trust: bool = False,
    trust_bank_account_id: int | None = None,
    operating_bank_account_id: int | None = None,
    external_ref: str | None = None,
) -> Invoice:
    """A draft invoice with its lines, numbered from the firm's sequence.

    An ``external_ref`` is unique per firm: one already used is refused
    :class:`ExternalRefConflict` naming the invoice that has it (``details.invoice_id``)."""
    file = File.objects.filter(firm=firm, pk=file_id).first()
    if file is None:
        raise ValidationFailed("file not found in this firm", field="file")
    external_ref = (external_ref or "").strip()[:120] or None
    if external_ref is not None:
        taken = Invoice.objects.filter(firm=firm, external_ref=external_ref).first()
        if taken is not None:
            raise ExternalRefConflict(
                f"external_ref {external_ref!r} is already invoice {taken.number} "
                f"(id {taken.pk}) in this firm; a new invoice needs a new external_ref",
                field="external_ref",
                invoice_id=taken.pk,
            )
    if not lines:
        raise ValidationFailed("an invoice needs at least one line", field="lines")
    date = invoice_date or clock.today()
    # every date given is in the firm's window (ADR 0007)
    window = (
        window_for(firm)
        if invoice_date is not None or any(ln.line_date is not None for ln in lines)
        else None
    )
    if window is not None and invoice_date is not None:
        window.check(invoice_date, field="invoice_date")
    trust = operating = None
    if pay_from_trust:
        trust = _bank_of_kind(
            firm, trust_bank_account_id, BankAccountKind.TRUST, "trust_bank_account"
        )
        operating = _bank_of_kind(
            firm, operating_bank_account_id, BankAccountKind.OPERATING, "operating_bank_account"
        )
    built: list[InvoiceLine] = []
    for n, spec in enumerate(lines, start=1):
        where = f"line {n}"
        if spec.amount_cents <= 0:
            raise ValidationFailed(f"{where}: amount must be greater than zero", field="lines")
        if not spec.description.strip():
            raise ValidationFailed(f"{where}: a description is required", field="lines")
        if window is not None and spec.line_date is not None:
            window.check(spec.line_date, field="lines", label="line_date", where=where)
        line = InvoiceLine(
            kind=spec.kind,
            description=spec.description.strip()[:255],
            amount_cents=spec.amount_cents,
            line_date=spec.line_date or date,
            external_ref=spec.external_ref[:120],
        )
        if spec.kind == LineKind.FEE:
            keeper = (
                User.objects.filter(firm=firm, pk=spec.timekeeper_id).first()
                if spec.timekeeper_id
                else None
            )
            if keeper is None:
                raise ValidationFailed(
                    f"{where}: a fee line needs a timekeeper in this firm", field="lines"
                )
            if not keeper.records_time:
                raise RecordsTimeOff(
                    f"{where}: {keeper.email} does not have Records Time turned on "
                    "(Users -> pencil -> Accounting -> Records Time)",
                    field="lines",
                )
            if spec.hours is not None and spec.hours < 0:
                raise ValidationFailed(f"{where}: hours cannot be negative", field="lines")
            line.timekeeper, line.hours = keeper, spec.hours
        elif spec.kind == LineKind.COST:
            code = (
                ActivityCode.objects.filter(
                    firm=firm, pk=spec.activity_code_id, is_active=True
                ).first()
                if spec.activity_code_id
                else None
            )
            if code is None:
                raise ValidationFailed(
                    f"{where}: a cost line needs an activity code in this firm", field="lines"
                )
            line.activity_code = code
        else:
            raise ValidationFailed(f"{where}: kind must be 'fee' or 'cost'", field="lines")
        built.append(line)
    # The firm's counter, first of the locks this request takes (ADR 0012); FOR NO KEY
    # UPDATE, so every other posting's foreign-key check on the firm row still passes.
    locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
    number = locked.next_invoice_number
    locked.next_invoice_number = number + 1
    locked.save(update_fields=["next_invoice_number"])
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                firm=firm,
                number=number,
                file=file,
                invoice_date=date,
                description=description.strip()[:255],
                pay_from_trust=pay_from_trust,
                trust_bank_account=trust,
                operating_bank_account=operating,
                total_cents=sum(ln.amount_cents for ln in built),
                external_ref=external_ref,
                created_by=actor,
                created_at=clock.now(),
            )
    except IntegrityError:
        if external_ref is not None and (
            Invoice.objects.filter(firm=firm, external_ref=external_ref).exists()
        ):
            raise Conflict(
                f"another request created the invoice with external_ref {external_ref!r} at "
                "the same time; nothing was written",
                field="external_ref",
                retryable=True,
            ) from None
        raise
    for ln in built:
        ln.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    _audit(
        invoice,
        actor,
        "create",
        f"Invoice {number} for file {file.number}, {format_cents(invoice.total_cents)}",
        after={
            "number": number,
            "file": file.number,
            "total_cents": invoice.total_cents,
            "lines": len(built),
            "pay_from_trust": pay_from_trust,
        },
    )
    return invoice


def _locked(firm: Firm, invoice_id: int) -> Invoice:
    invoice = Invoice.objects.select_for_update().filter(firm=firm, pk=invoice_id).first()
    if invoice is None:
        raise ValidationFailed("invoice not found in this firm", field="invoice")
    return invoice


def _next_stage(firm: Firm, stage: str) -> str:
    if stage == InvoiceStage.DRAFT:
        return InvoiceStage.REVIEW
    if stage == InvoiceStage.REVIEW:
        release = Firm.objects.values_list("release_invoice_stage_enabled", flat=True).get(
            pk=firm.pk
        )
        return InvoiceStage.RELEASE if release else InvoiceStage.FINAL
    if stage == InvoiceStage.RELEASE:
        return InvoiceStage.FINAL
    raise Conflict(f"an invoice in stage {stage} cannot move on")


def _post(invoice: Invoice, actor: User | None, on: dt.date) -> None:
    firm = invoice.firm
    credits: dict[int, int] = defaultdict(int)
    accounts: dict[int, GLAccount] = {}
    fee_income = None
    for ln in invoice.lines.select_related("activity_code__gl_account"):
        if ln.kind == LineKind.FEE:
            fee_income = fee_income or role_account(firm, AccountRole.FEE_INCOME)
            acct = fee_income
        else:
            assert ln.activity_code is not None
            acct = ln.activity_code.gl_account
        accounts[acct.pk] = acct
        credits[acct.pk] += ln.amount_cents
    total = invoice.total_cents
    file = invoice.file
    lines = [
        Line(account=accounts[a], credit_cents=c, file=file) for a, c in sorted(credits.items())
    ]
    if invoice.pay_from_trust:
        trust, operating = invoice.trust_bank_account, invoice.operating_bank_account
        assert trust is not None
        assert trust.trust_liability_account is not None
        assert operating is not None
        lines = [
            Line(account=trust.trust_liability_account, debit_cents=total, file=file),
            Line(account=trust.gl_account, credit_cents=total, file=file),
            Line(account=operating.gl_account, debit_cents=total, file=file),
            *lines,
        ]
    else:
        lines = [
            Line(
                account=role_account(firm, AccountRole.ACCOUNTS_RECEIVABLE),
                debit_cents=total,
                file=file,
            ),
            *lines,
        ]
    invoice.entry = journal_entry_post(
        firm=firm,
        date=on,
        lines=lines,
        actor=actor,
        source="invoice",
        memo=f"Invoice {invoice.number} for file {file.number}"
        + (" paid from trust" if invoice.pay_from_trust else ""),
    )
    invoice.finalised_on = on


@transaction.atomic
def invoice_advance(
    *,
    firm: Firm,
    actor: User | None,
    invoice_id: int,
    expected_stage: str | None = None,
    on: dt.date | None = None,
) -> Invoice:
    """Move an invoice one stage on (submit for review, approve, release). Reaching final
    posts it. ``expected_stage`` guards against two people acting on a stale screen."""
    invoice = _locked(firm, invoice_id)
    if expected_stage is not None and invoice.stage != expected_stage:
        raise Conflict(
            f"invoice {invoice.number} is now in stage {invoice.stage}, not {expected_stage}"
        )
    before = invoice.stage
    invoice.stage = _next_stage(firm, before)
    fields = ["stage"]
    if invoice.stage == InvoiceStage.FINAL:
        if on is not None:
            date_in_window(firm, on, field="on")
        _post(invoice, actor, on or clock.today())
        fields += ["entry", "finalised_on"]
    invoice.save(update_fields=fields)
    _audit(
        invoice,
        actor,
        "change",
        f"Invoice {invoice.number} moved from {before} to {invoice.stage}",
        {"stage": before},
        {"stage": invoice.stage},
    )
    return invoice


@transaction.atomic
def invoice_finalise(
    *, firm: Firm, actor: User | None, invoice_id: int, on: dt.date | None = None
) -> Invoice:
    """Take an invoice through every remaining stage to final ("released automatically")."""
    if on is not None:
        date_in_window(firm, on, field="on")
    invoice = _locked(firm, invoice_id)
    while invoice.stage != InvoiceStage.FINAL:
        invoice = invoice_advance(firm=firm, actor=actor, invoice_id=invoice.pk, on=on)
    return invoice


@transaction.atomic
def invoice_void(
    *,
    firm: Firm,
    actor: User | None,
    invoice_id: int,
    void_date: dt.date | None = None,
    reason: str = "",
) -> Invoice:
    """Void an invoice; a final one is reversed on the void date (money goes back to trust).
    A correction: the accountant role or above (403 ``role_required``)."""
    require_role(actor, CORRECTIONS, doing="Voiding an invoice")
    invoice = _locked(firm, invoice_id)
    if invoice.stage == InvoiceStage.VOIDED:
        raise Conflict(f"invoice {invoice.number} is already void")
    if void_date is not None:
        date_in_window(firm, void_date, field="void_date")
    before = invoice.stage
    fields = ["stage"]
    if invoice.entry_id is not None:
        assert invoice.entry is not None
        date = void_date or clock.today()
        invoice.void_entry = journal_entry_reverse(
            document_void=True,
            firm=firm,
            entry=invoice.entry,
            date=date,
            actor=actor,
            memo=f"Void of invoice {invoice.number}" + (f": {reason}" if reason else ""),
        )
        fields.append("void_entry")
    invoice.stage = InvoiceStage.VOIDED
    invoice.save(update_fields=fields)
    _audit(
        invoice,
        actor,
        "void",
        f"Invoice {invoice.number} voided",
        {"stage": before},
        {"stage": "voided", "reason": reason},
    )
    return invoice
