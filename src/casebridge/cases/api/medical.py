"""Medical treatment and bills (issue 16), the Treatment tab's twin: providers, a case's
treatments, bills (with the four payers and the outstanding balance), records and bills
requests and the case's medical totals; a bill's balance made a lien."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import ERRORS, NOTE_LENGTH, CaseRef, ContactRef
from casebridge.cases.api.security import context
from casebridge.cases.models import (
    Bill,
    Case,
    Contact,
    Firm,
    MedicalRequest,
    Treatment,
    TreatmentStatus,
)
from casebridge.cases.selectors import medical as selectors
from casebridge.cases.services import medical as service
from casebridge.core.api.lookups import get_or_404, require_in_firm
from casebridge.core.api.schemas import (
    Cents,
    CountedPage,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["medical treatment and bills"])


def _case(firm: Firm, case_id: int) -> Case:
    return get_or_404(Case.objects.filter(firm=firm), case_id)


# --- Providers --------------------------------------------------------------------------


class ProviderOut(Out):
    id: int
    name: str
    phone: str
    email: str
    is_medical_provider: bool

    @classmethod
    def of(cls, contact: Contact) -> ProviderOut:
        return cls(
            id=contact.pk,
            name=contact.name,
            phone=contact.phone,
            email=contact.email,
            is_medical_provider=contact.is_medical_provider,
        )


@router.get("/medical-providers", response={200: Page[ProviderOut], **ERRORS})
def provider_list(request: HttpRequest, page: Query[PageIn]) -> Page[ProviderOut]:
    """The firm's medical providers by name."""
    qs = Contact.objects.filter(firm=context(request).firm, is_medical_provider=True).order_by(
        "name", "pk"
    )
    rows, next_cursor = keyset_page(qs, page)
    return Page[ProviderOut](items=[ProviderOut.of(c) for c in rows], next=next_cursor)


class ProviderIn(In):
    is_medical_provider: bool = True


@router.put("/contacts/{int:contact_id}/medical-provider", response={200: ProviderOut, **ERRORS})
def provider_set(request: HttpRequest, contact_id: Id, payload: ProviderIn) -> ProviderOut:
    """Mark a contact a medical provider (or no longer one). Naming a contact as a
    treatment's or bill's provider marks it too."""
    ctx = context(request)
    contact = get_or_404(Contact.objects.filter(firm=ctx.firm), contact_id)
    contact = service.provider_set(
        firm=ctx.firm,
        actor=ctx.user,
        contact_id=contact.pk,
        is_provider=payload.is_medical_provider,
    )
    return ProviderOut.of(contact)


# --- Treatments -------------------------------------------------------------------------


class TreatmentOut(Out):
    id: int
    case: CaseRef
    provider: ContactRef
    first_visit: dt.date | None
    last_visit: dt.date | None
    status: TreatmentStatus
    status_label: str
    note: str

    @classmethod
    def of(cls, t: Treatment) -> TreatmentOut:
        return cls(
            id=t.pk,
            case=CaseRef.of(t.case),
            provider=ContactRef.of(t.provider),
            first_visit=t.first_visit,
            last_visit=t.last_visit,
            status=TreatmentStatus(t.status),
            status_label=t.get_status_display(),
            note=t.note,
        )


class TreatmentIn(In):
    provider_id: Id
    first_visit: dt.date | None = None
    last_visit: dt.date | None = Field(default=None, description="Not before the first visit.")
    status: TreatmentStatus = TreatmentStatus.TREATING
    note: str = Field(default="", max_length=500)


def _treatments(firm: Firm) -> QuerySet[Treatment]:
    return Treatment.objects.filter(firm=firm).select_related("case", "provider")


@router.get("/cases/{int:case_id}/treatments", response={200: CountedPage[TreatmentOut], **ERRORS})
def treatment_list(
    request: HttpRequest, case_id: Id, page: Query[PageIn]
) -> CountedPage[TreatmentOut]:
    case = _case(context(request).firm, case_id)
    qs = selectors.case_treatments(case=case).select_related("case").order_by("pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[TreatmentOut](
        items=[TreatmentOut.of(t) for t in rows], next=next_cursor, count=qs.count()
    )


@router.post("/cases/{int:case_id}/treatments", response={201: TreatmentOut, **ERRORS})
@idempotent
def treatment_create(
    request: HttpRequest, case_id: Id, payload: TreatmentIn
) -> Status[TreatmentOut]:
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    require_in_firm(ctx.firm, [(Contact, payload.provider_id, "provider_id")])
    treatment = service.treatment_create(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        provider_id=payload.provider_id,
        first_visit=payload.first_visit,
        last_visit=payload.last_visit,
        status=payload.status,
        note=payload.note,
    )
    return Status(201, TreatmentOut.of(get_or_404(_treatments(ctx.firm), treatment.pk)))


@router.put("/treatments/{int:treatment_id}", response={200: TreatmentOut, **ERRORS})
def treatment_update(request: HttpRequest, treatment_id: Id, payload: TreatmentIn) -> TreatmentOut:
    """Correct a treatment: every field as sent (audited with before and after)."""
    ctx = context(request)
    treatment = get_or_404(_treatments(ctx.firm), treatment_id)
    require_in_firm(ctx.firm, [(Contact, payload.provider_id, "provider_id")])
    service.treatment_update(
        firm=ctx.firm,
        actor=ctx.user,
        treatment_id=treatment.pk,
        provider_id=payload.provider_id,
        first_visit=payload.first_visit,
        last_visit=payload.last_visit,
        status=payload.status,
        note=payload.note,
    )
    return TreatmentOut.of(get_or_404(_treatments(ctx.firm), treatment.pk))


# --- Bills ------------------------------------------------------------------------------


class BillOut(Out):
    id: int
    case: CaseRef
    provider: ContactRef
    treatment_id: int | None
    service_from: dt.date | None
    service_to: dt.date | None
    bill_date: dt.date | None
    reference: str
    billed: Money
    adjustments: Money = Field(description="Write-offs.")
    paid_health_insurance: Money
    paid_medpay: Money
    paid_pip: Money
    paid_client: Money
    outstanding: Money = Field(description="billed - adjustments - the four payments.")
    lien_id: int | None = Field(description="The lien its balance became, if it did.")
    voided_on: dt.date | None
    void_reason: str

    @classmethod
    def of(cls, bill: Bill) -> BillOut:
        return cls(
            id=bill.pk,
            case=CaseRef.of(bill.case),
            provider=ContactRef.of(bill.provider),
            treatment_id=bill.treatment_id,
            service_from=bill.service_from,
            service_to=bill.service_to,
            bill_date=bill.bill_date,
            reference=bill.reference,
            billed=money(bill.billed_cents),
            adjustments=money(bill.adjustments_cents),
            paid_health_insurance=money(bill.paid_health_insurance_cents),
            paid_medpay=money(bill.paid_medpay_cents),
            paid_pip=money(bill.paid_pip_cents),
            paid_client=money(bill.paid_client_cents),
            outstanding=money(bill.outstanding_cents),
            lien_id=bill.lien_id,
            voided_on=bill.voided_on,
            void_reason=bill.void_reason,
        )


class BillIn(In):
    """A bill: the provider (or the treatment it belongs to, whose provider it is), the
    dates of service or the bill date, and the amounts. The outstanding balance must not
    be negative: the refusal names the amount that makes it so."""

    provider_id: Id | None = Field(default=None, description="Default: the treatment's.")
    treatment_id: Id | None = None
    service_from: dt.date | None = None
    service_to: dt.date | None = None
    bill_date: dt.date | None = None
    reference: str = Field(default="", max_length=60)
    billed: Cents
    adjustments: Cents = 0
    paid_health_insurance: Cents = 0
    paid_medpay: Cents = 0
    paid_pip: Cents = 0
    paid_client: Cents = 0

    def amounts(self) -> service.BillAmounts:
        return service.BillAmounts(
            billed=self.billed,
            adjustments=self.adjustments,
            paid_health_insurance=self.paid_health_insurance,
            paid_medpay=self.paid_medpay,
            paid_pip=self.paid_pip,
            paid_client=self.paid_client,
        )


def _bills(firm: Firm) -> QuerySet[Bill]:
    return Bill.objects.filter(firm=firm).select_related("case", "provider")


def _bill_refs(firm: Firm, payload: BillIn) -> None:
    require_in_firm(
        firm,
        [
            (Contact, payload.provider_id, "provider_id"),
            (Treatment, payload.treatment_id, "treatment_id"),
        ],
    )


@router.get("/cases/{int:case_id}/bills", response={200: CountedPage[BillOut], **ERRORS})
def bill_list(request: HttpRequest, case_id: Id, page: Query[PageIn]) -> CountedPage[BillOut]:
    """A case's bills in the order entered, void ones included."""
    case = _case(context(request).firm, case_id)
    qs = Bill.objects.filter(case=case).select_related("case", "provider").order_by("pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[BillOut](
        items=[BillOut.of(b) for b in rows], next=next_cursor, count=qs.count()
    )


@router.post("/cases/{int:case_id}/bills", response={201: BillOut, **ERRORS})
@idempotent
def bill_create(request: HttpRequest, case_id: Id, payload: BillIn) -> Status[BillOut]:
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    _bill_refs(ctx.firm, payload)
    bill = service.bill_create(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        amounts=payload.amounts(),
        provider_id=payload.provider_id,
        treatment_id=payload.treatment_id,
        service_from=payload.service_from,
        service_to=payload.service_to,
        bill_date=payload.bill_date,
        reference=payload.reference,
    )
    return Status(201, BillOut.of(get_or_404(_bills(ctx.firm), bill.pk)))


@router.get("/bills/{int:bill_id}", response={200: BillOut, **ERRORS})
def bill_get(request: HttpRequest, bill_id: Id) -> BillOut:
    return BillOut.of(get_or_404(_bills(context(request).firm), bill_id))


@router.put("/bills/{int:bill_id}", response={200: BillOut, **ERRORS})
def bill_update(request: HttpRequest, bill_id: Id, payload: BillIn) -> BillOut:
    """Correct a bill: every field as sent (an edit audited with before and after, not a
    ledger entry). A void bill, or one whose balance became a lien, is 409 ``locked``."""
    ctx = context(request)
    bill = get_or_404(_bills(ctx.firm), bill_id)
    _bill_refs(ctx.firm, payload)
    service.bill_update(
        firm=ctx.firm,
        actor=ctx.user,
        bill_id=bill.pk,
        amounts=payload.amounts(),
        provider_id=payload.provider_id,
        treatment_id=payload.treatment_id,
        service_from=payload.service_from,
        service_to=payload.service_to,
        bill_date=payload.bill_date,
        reference=payload.reference,
    )
    return BillOut.of(get_or_404(_bills(ctx.firm), bill.pk))


class VoidIn(In):
    reason: str = Field(min_length=1, max_length=NOTE_LENGTH)


@router.post("/bills/{int:bill_id}/void", response={200: BillOut, **ERRORS})
@idempotent
def bill_void(request: HttpRequest, bill_id: Id, payload: VoidIn) -> BillOut:
    """Void a bill entered in error: it stays, marked void, and leaves the totals."""
    ctx = context(request)
    bill = get_or_404(_bills(ctx.firm), bill_id)
    service.bill_void(firm=ctx.firm, actor=ctx.user, bill_id=bill.pk, reason=payload.reason)
    return BillOut.of(get_or_404(_bills(ctx.firm), bill.pk))


@router.post("/bills/{int:bill_id}/lien", response={201: BillOut, **ERRORS})
@idempotent
def bill_to_lien(request: HttpRequest, bill_id: Id) -> Status[BillOut]:
    """The bill's outstanding balance becomes a medical lien of its provider on the
    settlement (claimed = outstanding); the bill answers with its ``lien_id``. A second
    time is 409 ``conflict``."""
    ctx = context(request)
    bill = get_or_404(_bills(ctx.firm), bill_id)
    service.bill_to_lien(firm=ctx.firm, actor=ctx.user, bill_id=bill.pk)
    return Status(201, BillOut.of(get_or_404(_bills(ctx.firm), bill.pk)))


# --- Records and bills requests ---------------------------------------------------------


class MedicalRequestOut(Out):
    id: int
    case: CaseRef
    provider: ContactRef
    records_requested_on: dt.date | None
    records_received_on: dt.date | None
    bills_requested_on: dt.date | None
    bills_received_on: dt.date | None
    follow_up_on: dt.date | None
    note: str
    status: str = Field(description="not_requested, requested, overdue or received.")
    status_label: str

    @classmethod
    def of(cls, r: MedicalRequest) -> MedicalRequestOut:
        status = selectors.request_status(r)
        return cls(
            id=r.pk,
            case=CaseRef.of(r.case),
            provider=ContactRef.of(r.provider),
            records_requested_on=r.records_requested_on,
            records_received_on=r.records_received_on,
            bills_requested_on=r.bills_requested_on,
            bills_received_on=r.bills_received_on,
            follow_up_on=r.follow_up_on,
            note=r.note,
            status=status,
            status_label=selectors.RequestStatus.LABELS[status],
        )


class MedicalRequestIn(In):
    records_requested_on: dt.date | None = None
    records_received_on: dt.date | None = None
    bills_requested_on: dt.date | None = None
    bills_received_on: dt.date | None = None
    follow_up_on: dt.date | None = None
    note: str = Field(default="", max_length=500)

    def dates(self) -> service.RequestDates:
        return service.RequestDates(
            records_requested_on=self.records_requested_on,
            records_received_on=self.records_received_on,
            bills_requested_on=self.bills_requested_on,
            bills_received_on=self.bills_received_on,
            follow_up_on=self.follow_up_on,
        )


class MedicalRequestCreateIn(MedicalRequestIn):
    provider_id: Id


def _requests(firm: Firm) -> QuerySet[MedicalRequest]:
    return MedicalRequest.objects.filter(firm=firm).select_related("case", "provider")


@router.get(
    "/cases/{int:case_id}/medical-requests",
    response={200: CountedPage[MedicalRequestOut], **ERRORS},
)
def medical_request_list(
    request: HttpRequest, case_id: Id, page: Query[PageIn]
) -> CountedPage[MedicalRequestOut]:
    case = _case(context(request).firm, case_id)
    qs = _requests(context(request).firm).filter(case=case).order_by("pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[MedicalRequestOut](
        items=[MedicalRequestOut.of(r) for r in rows], next=next_cursor, count=qs.count()
    )


@router.post("/cases/{int:case_id}/medical-requests", response={201: MedicalRequestOut, **ERRORS})
@idempotent
def medical_request_create(
    request: HttpRequest, case_id: Id, payload: MedicalRequestCreateIn
) -> Status[MedicalRequestOut]:
    """The records and bills request to one provider on a case (one per provider: a
    second is 409 naming ``provider``)."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    require_in_firm(ctx.firm, [(Contact, payload.provider_id, "provider_id")])
    made = service.medical_request_create(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        provider_id=payload.provider_id,
        dates=payload.dates(),
        note=payload.note,
    )
    return Status(201, MedicalRequestOut.of(get_or_404(_requests(ctx.firm), made.pk)))


@router.put(
    "/medical-requests/{int:medical_request_id}", response={200: MedicalRequestOut, **ERRORS}
)
def medical_request_update(
    request: HttpRequest, medical_request_id: Id, payload: MedicalRequestIn
) -> MedicalRequestOut:
    ctx = context(request)
    found = get_or_404(_requests(ctx.firm), medical_request_id)
    service.medical_request_update(
        firm=ctx.firm,
        actor=ctx.user,
        request_id=found.pk,
        dates=payload.dates(),
        note=payload.note,
    )
    return MedicalRequestOut.of(get_or_404(_requests(ctx.firm), found.pk))


# --- Totals -----------------------------------------------------------------------------


class MedicalTotalsOut(Out):
    bills: int = Field(description="Bills counted (void bills are not).")
    specials: Money = Field(description="The sum billed.")
    adjustments: Money
    paid_health_insurance: Money
    paid_medpay: Money
    paid_pip: Money
    paid_client: Money
    paid: Money = Field(description="The four payments together.")
    outstanding: Money
    became_liens: Money = Field(description="Of the outstanding, what became liens.")


@router.get("/cases/{int:case_id}/medical-totals", response={200: MedicalTotalsOut, **ERRORS})
def medical_totals(request: HttpRequest, case_id: Id) -> MedicalTotalsOut:
    """The case's specials, adjustments, payments by source and outstanding balance."""
    t = selectors.medical_totals(case=_case(context(request).firm, case_id))
    return MedicalTotalsOut(
        bills=t.count,
        specials=money(t.billed_cents),
        adjustments=money(t.adjustments_cents),
        paid_health_insurance=money(t.paid_health_insurance_cents),
        paid_medpay=money(t.paid_medpay_cents),
        paid_pip=money(t.paid_pip_cents),
        paid_client=money(t.paid_client_cents),
        paid=money(t.paid_cents),
        outstanding=money(t.outstanding_cents),
        became_liens=money(t.lien_cents),
    )
