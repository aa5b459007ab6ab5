"""LEDES 1998B e-billing (issue 15, ADR 0044): the firm's, a file's and a timekeeper's
LEDES identifiers, and the export of fee invoices (``books.exports.ledes`` writes the
text; this module reads the invoices, fills the fields from the books and records the
export in the audit log).

Where each field comes from:

- INVOICE_NUMBER, INVOICE_DATE, INVOICE_DESCRIPTION (else the file's name), INVOICE_TOTAL:
  the invoice; BILLING_START_DATE / BILLING_END_DATE: its first and last line dates;
- LAW_FIRM_MATTER_ID: the file's number; CLIENT_ID: the file's LEDES client id, else the
  client contact's number in the books; CLIENT_MATTER_ID: the file's client matter id
  (e.g. the insurer's claim number), else empty;
- LAW_FIRM_ID: the firm's LEDES settings (its federal tax ID);
- a fee line (F): the timekeeper's LEDES id (else the user's number in the books), name
  as ``Last, First`` and classification; the line's own UTBMS task and activity codes,
  each else the firm's LEDES fee code (ADR 0054); units and unit cost: the hours and the
  rate when the amount divides by the hours to the cent, else one unit at the amount (a
  contingency fee, a flat fee);
- a cost line (E): the line's own UTBMS expense code, else its activity code's; one unit
  at the amount;
- LINE_ITEM_ADJUSTMENT_AMOUNT is 0.00: the books bill line amounts as they are.

Viewing an invoice is enough to export it (as the invoice screens and ``GET /invoices``);
a voided invoice is refused; every export is one audit event naming its invoices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch

from casebridge.books.audit import books_audit
from casebridge.books.errors import AdminRequired, ValidationFailed
from casebridge.books.exports import ledes
from casebridge.books.models import (
    File,
    Firm,
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
from casebridge.core import clock
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line

#: The most invoices one file holds.
MAX_INVOICES = 500
SETTINGS_HINT = "Settings → LEDES e-billing"
TIMEKEEPER_HINT = "Rates/Codes → Timekeepers → LEDES"
ACTIVITY_HINT = "Rates/Codes → Activity Code"
LINE_HINT = "Invoice → the line's UTBMS codes"


@dataclass(frozen=True)
class LedesFile:
    """An export: the file's text, its download name and the invoices in it."""

    text: str
    filename: str
    invoice_numbers: tuple[int, ...]
    total_cents: int


# --- identifiers --------------------------------------------------------------------------


def _identifier(value: str, *, field: str, label: str, required: bool) -> str:
    value = plain_line(value.strip(), field=field, label=label)
    if not value:
        if required:
            raise ValidationFailed(f"{label} is required", field=field)
        return ""
    problem = ledes.identifier_problem(value, label)
    if problem:
        raise ValidationFailed(problem, field=field)
    return value


def _utbms(value: str, *, field: str, label: str, pattern: str, example: str) -> str:
    value = value.strip().upper()
    matcher = ledes.TASK_CODE if pattern == "task" else ledes.ACTIVITY_CODE
    if not matcher.fullmatch(value):
        raise ValidationFailed(f"{label} must be a UTBMS code such as {example}", field=field)
    return value


def _require_admin(firm: Firm, actor: User | None, what: str) -> None:
    if actor is not None and (not actor.is_admin or actor.firm_id != firm.pk):
        raise AdminRequired(f"only a books administrator can change {what}")


@transaction.atomic
def ledes_settings_save(
    *,
    firm: Firm,
    actor: User | None,
    law_firm_id: str,
    fee_task_code: str,
    fee_activity_code: str,
) -> LedesSettings:
    """Settings -> LEDES e-billing: the firm's LAW_FIRM_ID (its federal tax ID) and the
    UTBMS task and activity codes its fee lines are billed under. Administrators."""
    _require_admin(firm, actor, "the LEDES settings")
    values = {
        "law_firm_id": _identifier(
            law_firm_id, field="law_firm_id", label="LAW_FIRM_ID", required=True
        ),
        "fee_task_code": _utbms(
            fee_task_code,
            field="fee_task_code",
            label="The fee task code",
            pattern="task",
            example="L110",
        ),
        "fee_activity_code": _utbms(
            fee_activity_code,
            field="fee_activity_code",
            label="The fee activity code",
            pattern="activity",
            example="A101",
        ),
    }
    current = LedesSettings.objects.select_for_update().filter(firm=firm).first()
    before = {k: getattr(current, k) for k in values} if current is not None else None
    row, _ = LedesSettings.objects.update_or_create(
        firm=firm, defaults={**values, "updated_by": actor, "updated_at": clock.now()}
    )
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="update",
        entity_type="ledes_settings",
        entity_id=firm.pk,
        summary=f"LEDES settings: law firm ID {values['law_firm_id']}, fees under "
        f"{values['fee_task_code']} / {values['fee_activity_code']}",
        before=before,
        after=values,
    )
    return row


@transaction.atomic
def file_ledes_ids_save(
    *, firm: Firm, actor: User | None, file_id: int, client_id: str, client_matter_id: str
) -> LedesMatter:
    """File -> LEDES IDs: the CLIENT_ID (blank: the client contact's number) and the
    CLIENT_MATTER_ID (the client's reference, e.g. the insurer's claim number)."""
    file = File.objects.filter(firm=firm, pk=file_id).first()
    if file is None:
        raise ValidationFailed("file not found in this firm", field="file")
    values = {
        "client_id": _identifier(client_id, field="client_id", label="CLIENT_ID", required=False),
        "client_matter_id": _identifier(
            client_matter_id, field="client_matter_id", label="CLIENT_MATTER_ID", required=False
        ),
    }
    current = LedesMatter.objects.select_for_update().filter(file=file).first()
    before = {k: getattr(current, k) for k in values} if current is not None else None
    row, _ = LedesMatter.objects.update_or_create(
        file=file,
        defaults={**values, "firm": firm, "updated_by": actor, "updated_at": clock.now()},
    )
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="update",
        entity_type="file",
        entity_id=file.pk,
        summary=f"LEDES IDs of file {file.number}: client {values['client_id'] or '(default)'}"
        f", client matter {values['client_matter_id'] or '(none)'}",
        before=before,
        after=values,
    )
    return row


@transaction.atomic
def timekeeper_ledes_save(
    *, firm: Firm, actor: User | None, user_id: int, timekeeper_id: str, classification: str
) -> LedesTimekeeper:
    """Rates/Codes -> Timekeepers -> LEDES: the TIMEKEEPER_ID (blank: the user's number in
    the books) and the classification (PT, AS, OC, LA, OT). Administrators."""
    _require_admin(firm, actor, "a timekeeper's LEDES details")
    user = User.objects.filter(firm=firm, pk=user_id).first()
    if user is None:
        raise ValidationFailed("user not found in this firm", field="user")
    if classification not in LedesClassification.values:
        raise ValidationFailed(
            f"the classification must be one of {', '.join(LedesClassification.values)}",
            field="classification",
        )
    values = {
        "timekeeper_id": _identifier(
            timekeeper_id, field="timekeeper_id", label="TIMEKEEPER_ID", required=False
        ),
        "classification": classification,
    }
    current = LedesTimekeeper.objects.select_for_update().filter(user=user).first()
    before = {k: getattr(current, k) for k in values} if current is not None else None
    row, _ = LedesTimekeeper.objects.update_or_create(
        user=user,
        defaults={**values, "firm": firm, "updated_by": actor, "updated_at": clock.now()},
    )
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="update",
        entity_type="user",
        entity_id=user.pk,
        summary=f"LEDES timekeeper {user.display_name}: "
        f"{LedesClassification(classification).label}, ID {values['timekeeper_id'] or user.pk}",
        before=before,
        after=values,
    )
    return row


# --- the export -----------------------------------------------------------------------------


def timekeeper_name(user: User) -> str:
    """``Last, First`` as e-billing systems want it; the display name without both."""
    if user.first_name.strip() and user.last_name.strip():
        return f"{user.last_name.strip()}, {user.first_name.strip()}"
    return user.display_name


def _units(line: InvoiceLine) -> tuple[Decimal, int]:
    """The hours and the rate when the amount divides by the hours to the cent, else one
    unit at the amount."""
    hours = line.hours
    if line.kind == LineKind.FEE and hours is not None and hours > 0:
        rate = Decimal(line.amount_cents) / hours
        if rate == rate.to_integral_value():
            return hours, int(rate)
    return Decimal(1), line.amount_cents


def _identity(user: User) -> LedesTimekeeper | None:
    try:
        return user.ledes  # read by select_related
    except LedesTimekeeper.DoesNotExist:
        return None


def _matter(file: File) -> LedesMatter | None:
    try:
        return file.ledes  # read by select_related
    except LedesMatter.DoesNotExist:
        return None


def _refused(invoice: Invoice, label: str, message: str, field: str) -> ledes.LedesRefused:
    return ledes.LedesRefused(f"Invoice {invoice.number}, {label}: {message}", field=field)


def _ledes_line(
    invoice: Invoice, line: InvoiceLine, n: int, settings: LedesSettings
) -> ledes.LedesLine:
    label = f"line {n} ({line.description[:40]})"
    units, unit_cost = _units(line)
    base = ledes.LedesLine(
        type=ledes.EXPENSE,
        date=line.line_date,
        description=line.description,
        units=units,
        unit_cost_cents=unit_cost,
        label=label,
    )
    if line.kind == LineKind.FEE:
        keeper = line.timekeeper
        assert keeper is not None  # CHECK books_line_kind_fields
        identity = _identity(keeper)
        if identity is None:
            raise _refused(
                invoice,
                label,
                f"the timekeeper {keeper.display_name} has no LEDES classification "
                f"({TIMEKEEPER_HINT})",
                "TIMEKEEPER_CLASSIFICATION",
            )
        return replace(
            base,
            type=ledes.FEE,
            task_code=line.utbms_task_code or settings.fee_task_code,
            activity_code=line.utbms_activity_code or settings.fee_activity_code,
            timekeeper_id=identity.timekeeper_id or str(keeper.pk),
            timekeeper_name=timekeeper_name(keeper),
            timekeeper_classification=identity.classification,
        )
    if line.utbms_expense_code:
        return replace(base, expense_code=line.utbms_expense_code)
    code = line.activity_code
    assert code is not None  # CHECK books_line_kind_fields
    if not code.utbms_code:
        raise _refused(
            invoice,
            label,
            f"its activity code {code.code} has no UTBMS expense code, nor has the line "
            f"({LINE_HINT}, or {ACTIVITY_HINT})",
            "LINE_ITEM_EXPENSE_CODE",
        )
    return replace(base, expense_code=code.utbms_code)


def _ledes_invoice(invoice: Invoice, settings: LedesSettings) -> ledes.LedesInvoice:
    if invoice.stage == InvoiceStage.VOIDED:
        raise ledes.LedesRefused(
            f"Invoice {invoice.number} is voided: a voided invoice is not billed",
            field="invoices",
        )
    lines = list(invoice.lines.all())
    if not lines:
        raise ledes.LedesRefused(f"Invoice {invoice.number} has no lines", field="invoices")
    file = invoice.file
    matter = _matter(file)
    dates = [ln.line_date for ln in lines]
    return ledes.LedesInvoice(
        number=str(invoice.number),
        date=invoice.invoice_date,
        client_id=(matter.client_id if matter else "") or str(file.client_id),
        law_firm_matter_id=file.number,
        law_firm_id=settings.law_firm_id,
        total_cents=invoice.total_cents,
        billing_start=min(dates),
        billing_end=max(dates),
        description=invoice.description or file.name,
        client_matter_id=matter.client_matter_id if matter else "",
        lines=[_ledes_line(invoice, ln, n, settings) for n, ln in enumerate(lines, 1)],
    )


def download_name(numbers: Sequence[int]) -> str:
    if len(numbers) == 1:
        return f"LEDES1998B-invoice-{numbers[0]}.txt"
    return f"LEDES1998B-invoices-{numbers[0]}-to-{numbers[-1]}-{len(numbers)}.txt"


@transaction.atomic
def invoices_ledes_export(
    *, firm: Firm, actor: User | None, invoice_ids: Sequence[int], ip_address: str = ""
) -> LedesFile:
    """One LEDES 1998B file of the firm's invoices ``invoice_ids`` (in invoice number
    order), and its audit event. Refused (422 ``ledes_refused``, naming the invoice, the
    line and the field; nothing written) if the firm has no LEDES settings, an invoice is
    voided or not the firm's, or a line lacks what the format requires."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        raise ValidationFailed("choose at least one invoice", field="invoices")
    if len(ids) > MAX_INVOICES:
        raise ValidationFailed(
            f"at most {MAX_INVOICES} invoices go in one LEDES file; {len(ids)} were chosen",
            field="invoices",
        )
    invoices = list(
        Invoice.objects.filter(firm=firm, pk__in=ids)
        .select_related("file__ledes")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=InvoiceLine.objects.select_related(
                    "timekeeper__ledes", "activity_code"
                ).order_by("line_date", "pk"),
            )
        )
        .order_by("number")
    )
    if len(invoices) != len(ids):
        missing = sorted(set(ids) - {inv.pk for inv in invoices})
        raise ValidationFailed(
            f"no invoice {missing[0]} in this firm", field="invoices", missing=missing
        )
    settings = LedesSettings.objects.filter(firm=firm).first()
    if settings is None:
        raise ledes.LedesRefused(
            "the firm has no LEDES law firm ID (its federal tax ID) nor fee task and "
            f"activity codes yet ({SETTINGS_HINT})",
            field="LAW_FIRM_ID",
        )
    text = ledes.ledes_1998b(_ledes_invoice(inv, settings) for inv in invoices)
    numbers = tuple(inv.number for inv in invoices)
    total = sum(inv.total_cents for inv in invoices)
    shown = ", ".join(str(n) for n in numbers[:10]) + (" ..." if len(numbers) > 10 else "")
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="export",
        entity_type="invoice",
        entity_id=invoices[0].pk if len(invoices) == 1 else "",
        summary=f"Exported {len(numbers)} invoice{'s' if len(numbers) != 1 else ''} as "
        f"LEDES 1998B ({shown}; {format_cents(total)})",
        after={
            "format": "LEDES1998B",
            "invoice_ids": [inv.pk for inv in invoices],
            "invoice_numbers": list(numbers),
            "total_cents": total,
        },
        ip_address=ip_address,
    )
    return LedesFile(
        text=text, filename=download_name(numbers), invoice_numbers=numbers, total_cents=total
    )


def ledes_settings_of(firm: Firm) -> LedesSettings | None:
    return LedesSettings.objects.filter(firm=firm).first()
