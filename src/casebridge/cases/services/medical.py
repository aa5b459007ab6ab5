"""Medical treatment and bills (issue 16): providers, a case's treatment by each, the
providers' bills and the requests for records and bills; a bill's outstanding balance
becomes a medical lien on the settlement in one step.

Rules (the database holds the amounts' and dates' too):
- any active user of the firm may record treatment, bills and requests (as costs and
  liens: no extra permission);
- every date given falls in the firm's date window (ADR 0007); a last visit is never
  before the first, a service range never ends before it starts, a receipt never comes
  before its request;
- a bill's amounts are zero or more and its outstanding balance (billed less adjustments
  and the four payments) is never negative: the refusal names the amount that tips it;
- a bill is corrected by an edit (audited with before and after) or voided with a reason,
  never deleted; once it became a lien it is locked (the lien is negotiated instead) and
  it becomes a lien only once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import Conflict, Locked, PermissionDenied, ValidationFailed
from casebridge.cases.models import (
    BILL_PAYERS,
    Bill,
    Case,
    Contact,
    Firm,
    Lien,
    LienKind,
    MedicalRequest,
    Treatment,
    TreatmentStatus,
    User,
)
from casebridge.cases.services import settlement as settlement_services
from casebridge.cases.services.cases import contact_create
from casebridge.cases.services.dates import date_in_window
from casebridge.core import clock
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line

#: A bill's amounts as the services, forms and API name them, with how a refusal says them.
AMOUNT_FIELDS = (
    ("billed", "the billed amount"),
    ("adjustments", "the adjustments (write-offs)"),
    ("paid_health_insurance", "the amount paid by health insurance"),
    ("paid_medpay", "the amount paid by MedPay"),
    ("paid_pip", "the amount paid by PIP"),
    ("paid_client", "the amount paid by the client"),
)


@dataclass(frozen=True)
class BillAmounts:
    """A bill's figures in cents."""

    billed: int
    adjustments: int = 0
    paid_health_insurance: int = 0
    paid_medpay: int = 0
    paid_pip: int = 0
    paid_client: int = 0

    @property
    def outstanding(self) -> int:
        return (
            self.billed
            - self.adjustments
            - self.paid_health_insurance
            - self.paid_medpay
            - self.paid_pip
            - self.paid_client
        )

    def check(self) -> None:
        """Each amount zero or more, and the balance never negative: the refusal names the
        amount at which the deductions pass the billed amount."""
        for name, label in AMOUNT_FIELDS:
            if getattr(self, name) < 0:
                raise ValidationFailed(f"{label} cannot be negative", field=name)
        taken = 0
        for name, label in AMOUNT_FIELDS[1:]:
            taken += getattr(self, name)
            if taken > self.billed:
                raise ValidationFailed(
                    f"the outstanding balance cannot be negative: the adjustments and "
                    f"payments ({format_cents(taken)}, with {label}) exceed the billed "
                    f"amount ({format_cents(self.billed)})",
                    field=name,
                )

    def as_model_fields(self) -> dict[str, int]:
        return {
            "billed_cents": self.billed,
            "adjustments_cents": self.adjustments,
            "paid_health_insurance_cents": self.paid_health_insurance,
            "paid_medpay_cents": self.paid_medpay,
            "paid_pip_cents": self.paid_pip,
            "paid_client_cents": self.paid_client,
        }

    @classmethod
    def of(cls, bill: Bill) -> BillAmounts:
        return cls(
            billed=bill.billed_cents,
            adjustments=bill.adjustments_cents,
            paid_health_insurance=bill.paid_health_insurance_cents,
            paid_medpay=bill.paid_medpay_cents,
            paid_pip=bill.paid_pip_cents,
            paid_client=bill.paid_client_cents,
        )


# --- Checks shared by every write -------------------------------------------------------


def _active(firm: Firm, actor: User) -> None:
    """Any active user of the firm may record treatment and bills."""
    if not actor.is_active or actor.firm_id != firm.pk:
        raise PermissionDenied(
            "only an active user of this firm can record treatment and bills",
            permission="active_user",
        )


def _case(firm: Firm, case_id: int) -> Case:
    case = Case.objects.filter(firm=firm, pk=case_id).first()
    if case is None:
        raise ValidationFailed("case not found in this firm", field="case")
    return case


def _date(firm: Firm, value: dt.date | None, field: str) -> dt.date | None:
    return None if value is None else date_in_window(firm, value, field=field)


def _note(text: str, field: str = "note", length: int = 500) -> str:
    text = plain_line(text.strip(), field=field)
    if len(text) > length:
        raise ValidationFailed(f"the {field} is longer than {length} characters", field=field)
    return text


def _provider(firm: Firm, actor: User, provider_id: int, *, case: Case) -> Contact:
    """The firm's contact ``provider_id``, marked a medical provider if it was not yet (the
    event under "Case <number>: ", so the case's audit trail shows it)."""
    contact = Contact.objects.filter(firm=firm, pk=provider_id).first()
    if contact is None:
        raise ValidationFailed("provider not found in this firm", field="provider")
    if not contact.is_medical_provider:
        _mark_provider(firm, actor, contact, True, case=case)
    return contact


def _mark_provider(
    firm: Firm, actor: User | None, contact: Contact, value: bool, *, case: Case | None = None
) -> None:
    Contact.objects.filter(pk=contact.pk).update(is_medical_provider=value)
    contact.is_medical_provider = value
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="change",
        entity_type="contact",
        entity_id=contact.pk,
        summary=(f"Case {case.number}: " if case is not None else "")
        + f"{contact.name} {'is' if value else 'is no longer'} a medical provider",
        before={"is_medical_provider": not value},
        after={"is_medical_provider": value},
    )


def _audit(
    case: Case,
    actor: User,
    action: str,
    entity_type: str,
    entity_id: int,
    summary: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    cases_audit(
        firm_id=case.firm_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        summary=f"Case {case.number}: {summary}",
        before=before,
        after=after,
    )


# --- Providers --------------------------------------------------------------------------


@transaction.atomic
def provider_set(*, firm: Firm, actor: User, contact_id: int, is_provider: bool = True) -> Contact:
    """Mark a contact of the firm a medical provider (or no longer one)."""
    _active(firm, actor)
    contact = Contact.objects.select_for_update().filter(firm=firm, pk=contact_id).first()
    if contact is None:
        raise ValidationFailed("contact not found in this firm", field="contact")
    if contact.is_medical_provider != is_provider:
        _mark_provider(firm, actor, contact, is_provider)
    return contact


@transaction.atomic
def provider_for_name(
    *, firm: Firm, actor: User, name: str, phone: str = "", email: str = ""
) -> Contact:
    """The contact named ``name`` (case-insensitive; a provider first), else a new contact
    of that name (with ``phone`` and ``email``), marked a medical provider. Call it inside
    the caller's transaction, so a refused write leaves no stray contact."""
    _active(firm, actor)
    name = plain_line(name.strip(), field="provider", label="provider")
    if not name:
        raise ValidationFailed("a provider is required", field="provider")
    contact = (
        Contact.objects.filter(firm=firm, name__iexact=name)
        .order_by("-is_medical_provider", "pk")
        .first()
    )
    if contact is None:
        contact = contact_create(
            firm=firm, actor=actor, name=name, phone=phone, email=email, is_medical_provider=True
        )
    elif not contact.is_medical_provider:
        _mark_provider(firm, actor, contact, True)
    return contact


# --- Treatment --------------------------------------------------------------------------


def _treatment_values(
    firm: Firm,
    *,
    first_visit: dt.date | None,
    last_visit: dt.date | None,
    status: str,
    note: str,
) -> dict[str, Any]:
    if status not in TreatmentStatus.values:
        raise ValidationFailed(
            f"status must be one of {', '.join(TreatmentStatus.values)}", field="status"
        )
    first = _date(firm, first_visit, "first_visit")
    last = _date(firm, last_visit, "last_visit")
    if first is not None and last is not None and last < first:
        raise ValidationFailed(
            f"the last visit ({last.isoformat()}) is before the first ({first.isoformat()})",
            field="last_visit",
        )
    return {"first_visit": first, "last_visit": last, "status": status, "note": _note(note)}


def _treatment_state(t: Treatment) -> dict[str, Any]:
    return {
        "provider": t.provider.name,
        "first_visit": t.first_visit,
        "last_visit": t.last_visit,
        "status": t.status,
        "note": t.note,
    }


@transaction.atomic
def treatment_create(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    provider_id: int,
    first_visit: dt.date | None = None,
    last_visit: dt.date | None = None,
    status: str = TreatmentStatus.TREATING,
    note: str = "",
) -> Treatment:
    _active(firm, actor)
    case = _case(firm, case_id)
    values = _treatment_values(
        firm, first_visit=first_visit, last_visit=last_visit, status=status, note=note
    )
    provider = _provider(firm, actor, provider_id, case=case)
    treatment = Treatment.objects.create(
        firm=firm,
        case=case,
        provider=provider,
        created_by=actor,
        created_at=clock.now(),
        **values,
    )
    _audit(
        case,
        actor,
        "create",
        "treatment",
        treatment.pk,
        f"treatment by {provider.name} added",
        after=_treatment_state(treatment),
    )
    return treatment


@transaction.atomic
def treatment_update(
    *,
    firm: Firm,
    actor: User,
    treatment_id: int,
    provider_id: int,
    first_visit: dt.date | None,
    last_visit: dt.date | None,
    status: str,
    note: str = "",
) -> Treatment:
    """Correct a treatment: every field as given; audited with before and after."""
    _active(firm, actor)
    treatment = (
        Treatment.objects.select_for_update(of=("self",))  # not the case's nor the provider's row
        .select_related("case", "provider")
        .filter(firm=firm, pk=treatment_id)
        .first()
    )
    if treatment is None:
        raise ValidationFailed("treatment not found in this firm", field="treatment")
    values = _treatment_values(
        firm, first_visit=first_visit, last_visit=last_visit, status=status, note=note
    )
    before = _treatment_state(treatment)
    if provider_id != treatment.provider_id and Bill.objects.filter(treatment=treatment).exists():
        raise ValidationFailed(
            f"the treatment has bills of {treatment.provider.name}: it keeps its provider "
            "(add a treatment by the other provider instead)",
            field="provider",
        )
    treatment.provider = _provider(firm, actor, provider_id, case=treatment.case)
    for name, value in values.items():
        setattr(treatment, name, value)
    after = _treatment_state(treatment)
    if after != before:
        treatment.save()
        _audit(
            treatment.case,
            actor,
            "change",
            "treatment",
            treatment.pk,
            f"treatment by {treatment.provider.name} changed",
            before=before,
            after=after,
        )
    return treatment


# --- Bills ------------------------------------------------------------------------------


def _bill_values(
    firm: Firm,
    *,
    amounts: BillAmounts,
    service_from: dt.date | None,
    service_to: dt.date | None,
    bill_date: dt.date | None,
    reference: str,
) -> dict[str, Any]:
    amounts.check()
    start = _date(firm, service_from, "service_from")
    end = _date(firm, service_to, "service_to")
    if start is not None and end is not None and end < start:
        raise ValidationFailed(
            f"the service range ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            field="service_to",
        )
    billed_on = _date(firm, bill_date, "bill_date")
    if start is None and end is None and billed_on is None:
        raise ValidationFailed("enter the dates of service or the bill date", field="bill_date")
    return {
        "service_from": start,
        "service_to": end,
        "bill_date": billed_on,
        "reference": _note(reference, "reference", 60),
        **amounts.as_model_fields(),
    }


def _treatment_of(
    firm: Firm, case: Case, treatment_id: int | None, provider_id: int | None
) -> tuple[Treatment | None, int]:
    """The bill's treatment (on the same case) and provider (the treatment's by default)."""
    if treatment_id is None:
        if provider_id is None:
            raise ValidationFailed("a provider is required", field="provider")
        return None, provider_id
    treatment = Treatment.objects.filter(firm=firm, case=case, pk=treatment_id).first()
    if treatment is None:
        raise ValidationFailed("treatment not found on this case", field="treatment")
    if provider_id is not None and provider_id != treatment.provider_id:
        raise ValidationFailed(
            "the bill's provider is not the treatment's provider", field="treatment"
        )
    return treatment, treatment.provider_id


def _bill_state(bill: Bill) -> dict[str, Any]:
    return {
        "provider": bill.provider.name,
        "treatment": bill.treatment_id,
        "service_from": bill.service_from,
        "service_to": bill.service_to,
        "bill_date": bill.bill_date,
        "reference": bill.reference,
        **BillAmounts.of(bill).as_model_fields(),
        "outstanding_cents": bill.outstanding_cents,
    }


def _bill_words(bill: Bill) -> str:
    return f"bill of {bill.provider.name} for {format_cents(bill.billed_cents)}"


def _locked_bill(firm: Firm, bill_id: int) -> Bill:
    bill = (
        Bill.objects.select_for_update(of=("self",))  # not the case's nor the provider's row
        .select_related("case", "provider")
        .filter(firm=firm, pk=bill_id)
        .first()
    )
    if bill is None:
        raise ValidationFailed("bill not found in this firm", field="bill")
    return bill


def _refuse_unless_open(bill: Bill) -> None:
    if bill.is_void:
        raise Locked("this bill is void")
    if bill.lien_id is not None:
        raise Locked("this bill's balance is a lien on the settlement; change the lien instead")


@transaction.atomic
def bill_create(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    amounts: BillAmounts,
    provider_id: int | None = None,
    treatment_id: int | None = None,
    service_from: dt.date | None = None,
    service_to: dt.date | None = None,
    bill_date: dt.date | None = None,
    reference: str = "",
) -> Bill:
    _active(firm, actor)
    case = _case(firm, case_id)
    treatment, provider_id = _treatment_of(firm, case, treatment_id, provider_id)
    values = _bill_values(
        firm,
        amounts=amounts,
        service_from=service_from,
        service_to=service_to,
        bill_date=bill_date,
        reference=reference,
    )
    provider = _provider(firm, actor, provider_id, case=case)
    bill = Bill.objects.create(
        firm=firm,
        case=case,
        treatment=treatment,
        provider=provider,
        created_by=actor,
        created_at=clock.now(),
        **values,
    )
    _audit(
        case,
        actor,
        "create",
        "medical_bill",
        bill.pk,
        f"{_bill_words(bill)} added",
        after=_bill_state(bill),
    )
    return bill


@transaction.atomic
def bill_update(
    *,
    firm: Firm,
    actor: User,
    bill_id: int,
    amounts: BillAmounts,
    provider_id: int | None = None,
    treatment_id: int | None = None,
    service_from: dt.date | None = None,
    service_to: dt.date | None = None,
    bill_date: dt.date | None = None,
    reference: str = "",
) -> Bill:
    """Correct a bill (every field as given): not a ledger entry, an edit audited with
    before and after. A void bill, or one whose balance became a lien, is locked."""
    _active(firm, actor)
    bill = _locked_bill(firm, bill_id)
    _refuse_unless_open(bill)
    treatment, provider_id = _treatment_of(firm, bill.case, treatment_id, provider_id)
    values = _bill_values(
        firm,
        amounts=amounts,
        service_from=service_from,
        service_to=service_to,
        bill_date=bill_date,
        reference=reference,
    )
    before = _bill_state(bill)
    bill.provider = _provider(firm, actor, provider_id, case=bill.case)
    bill.treatment = treatment
    for name, value in values.items():
        setattr(bill, name, value)
    after = _bill_state(bill)
    if after != before:
        bill.save()
        _audit(
            bill.case,
            actor,
            "change",
            "medical_bill",
            bill.pk,
            f"{_bill_words(bill)} corrected",
            before=before,
            after=after,
        )
    return bill


@transaction.atomic
def bill_void(*, firm: Firm, actor: User, bill_id: int, reason: str) -> Bill:
    """Void a bill entered in error: it stays on the tab as void and leaves the totals."""
    _active(firm, actor)
    bill = _locked_bill(firm, bill_id)
    _refuse_unless_open(bill)
    reason = _note(reason, "reason", 255)
    if not reason:
        raise ValidationFailed("say why the bill is void", field="reason")
    bill.voided_on, bill.void_reason = clock.today(), reason
    bill.save(update_fields=["voided_on", "void_reason"])
    _audit(
        bill.case,
        actor,
        "void",
        "medical_bill",
        bill.pk,
        f"{_bill_words(bill)} voided",
        before={"voided_on": None},
        after={"voided_on": bill.voided_on, "reason": reason},
    )
    return bill


@transaction.atomic
def bill_to_lien(*, firm: Firm, actor: User, bill_id: int) -> Lien:
    """The bill's outstanding balance becomes a medical lien of its provider on the case's
    settlement (as Add lien makes one: :func:`settlement.lien_create`), linked to the bill.
    Once only; a void bill or one with nothing outstanding is refused."""
    _active(firm, actor)
    bill = _locked_bill(firm, bill_id)
    if bill.lien_id is not None:
        raise Conflict("this bill's balance is already a lien on the settlement", field="bill")
    if bill.is_void:
        raise Locked("this bill is void", field="bill")
    outstanding = bill.outstanding_cents
    if outstanding <= 0:
        raise ValidationFailed(
            "this bill has no outstanding balance to become a lien", field="bill"
        )
    dated = bill.bill_date or bill.service_to or bill.service_from
    note = f"Bill of {dated.isoformat()}" if dated else "Bill"
    if bill.reference:
        note += f", ref. {bill.reference}"
    lien = settlement_services.lien_create(
        firm=firm,
        actor=actor,
        case_id=bill.case_id,
        kind=LienKind.MEDICAL,
        holder_id=bill.provider_id,
        claimed_cents=outstanding,
        note=note,
    )
    bill.lien = lien
    try:
        with transaction.atomic():
            bill.save(update_fields=["lien"])
    except IntegrityError:  # pragma: no cover - the row lock above serialises conversions
        raise Conflict(
            "this bill's balance is already a lien on the settlement", field="bill"
        ) from None
    _audit(
        bill.case,
        actor,
        "convert",
        "medical_bill",
        bill.pk,
        f"{_bill_words(bill)}: {format_cents(outstanding)} outstanding became a lien",
        before={"lien": None},
        after={"lien": lien.pk, "claimed_cents": outstanding},
    )
    return lien


# --- Records and bills requests ---------------------------------------------------------


@dataclass(frozen=True)
class RequestDates:
    records_requested_on: dt.date | None = None
    records_received_on: dt.date | None = None
    bills_requested_on: dt.date | None = None
    bills_received_on: dt.date | None = None
    follow_up_on: dt.date | None = None


def _request_values(firm: Firm, dates: RequestDates, note: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in (
        "records_requested_on",
        "records_received_on",
        "bills_requested_on",
        "bills_received_on",
        "follow_up_on",
    ):
        values[name] = _date(firm, getattr(dates, name), name)
    for what in ("records", "bills"):
        asked, got = values[f"{what}_requested_on"], values[f"{what}_received_on"]
        if asked is not None and got is not None and got < asked:
            raise ValidationFailed(
                f"the {what} were received ({got.isoformat()}) before they were requested "
                f"({asked.isoformat()})",
                field=f"{what}_received_on",
            )
    values["note"] = _note(note)
    return values


def _request_state(r: MedicalRequest) -> dict[str, Any]:
    return {
        "records_requested_on": r.records_requested_on,
        "records_received_on": r.records_received_on,
        "bills_requested_on": r.bills_requested_on,
        "bills_received_on": r.bills_received_on,
        "follow_up_on": r.follow_up_on,
        "note": r.note,
    }


@transaction.atomic
def medical_request_create(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    provider_id: int,
    dates: RequestDates,
    note: str = "",
) -> MedicalRequest:
    """The records and bills request to one provider on a case (one per provider)."""
    _active(firm, actor)
    case = _case(firm, case_id)
    values = _request_values(firm, dates, note)
    provider = _provider(firm, actor, provider_id, case=case)
    if MedicalRequest.objects.filter(case=case, provider=provider).exists():
        raise Conflict(
            f"{provider.name} already has a records and bills request on this case; "
            "change that one",
            field="provider",
        )
    request = MedicalRequest.objects.create(
        firm=firm, case=case, provider=provider, created_at=clock.now(), **values
    )
    _audit(
        case,
        actor,
        "create",
        "medical_request",
        request.pk,
        f"records and bills request to {provider.name} added",
        after=_request_state(request),
    )
    return request


@transaction.atomic
def medical_request_update(
    *, firm: Firm, actor: User, request_id: int, dates: RequestDates, note: str = ""
) -> MedicalRequest:
    _active(firm, actor)
    request = (
        MedicalRequest.objects.select_for_update(
            of=("self",)
        )  # not the case's nor the provider's row
        .select_related("case", "provider")
        .filter(firm=firm, pk=request_id)
        .first()
    )
    if request is None:
        raise ValidationFailed("records and bills request not found in this firm", field="request")
    values = _request_values(firm, dates, note)
    before = _request_state(request)
    for name, value in values.items():
        setattr(request, name, value)
    after = _request_state(request)
    if after != before:
        request.save()
        _audit(
            request.case,
            actor,
            "change",
            "medical_request",
            request.pk,
            f"records and bills request to {request.provider.name} changed",
            before=before,
            after=after,
        )
    return request


__all__ = [
    "AMOUNT_FIELDS",
    "BILL_PAYERS",
    "BillAmounts",
    "RequestDates",
    "bill_create",
    "bill_to_lien",
    "bill_update",
    "bill_void",
    "medical_request_create",
    "medical_request_update",
    "provider_for_name",
    "provider_set",
    "treatment_create",
    "treatment_update",
]
