"""Reads of the Treatment tab (issue 16): a case's treatments, bills and records and bills
requests, the request status, and the case's medical totals in one SQL aggregate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from casebridge.cases.models import Bill, Case, Contact, Firm, MedicalRequest, Treatment
from casebridge.core import clock
from casebridge.core.api.schemas import PageIn, keyset_page

#: Suggestions beyond this many are left out of the provider datalist.
MAX_SUGGESTIONS = 5000


class RequestStatus:
    NOT_REQUESTED = "not_requested"
    REQUESTED = "requested"
    OVERDUE = "overdue"
    RECEIVED = "received"

    LABELS = {
        NOT_REQUESTED: "Not requested",
        REQUESTED: "Requested",
        OVERDUE: "Overdue",
        RECEIVED: "Received",
    }


def request_status(request: MedicalRequest, today: dt.date | None = None) -> str:
    """Received: everything requested has come in; overdue: something requested is still
    out and the follow-up date has passed; requested: still out, follow-up not passed (or
    none); not requested: nothing asked for yet."""
    today = today or clock.today()
    asked = [
        (request.records_requested_on, request.records_received_on),
        (request.bills_requested_on, request.bills_received_on),
    ]
    if all(on is None for on, _ in asked):
        return RequestStatus.NOT_REQUESTED
    waiting = any(on is not None and got is None for on, got in asked)
    if not waiting:
        return RequestStatus.RECEIVED
    if request.follow_up_on is not None and request.follow_up_on < today:
        return RequestStatus.OVERDUE
    return RequestStatus.REQUESTED


@dataclass(frozen=True)
class MedicalTotals:
    """A case's bills (void bills left out), in cents."""

    count: int
    billed_cents: int  # the specials
    adjustments_cents: int
    paid_health_insurance_cents: int
    paid_medpay_cents: int
    paid_pip_cents: int
    paid_client_cents: int
    outstanding_cents: int
    lien_cents: int  # of the outstanding, what became liens

    @property
    def paid_cents(self) -> int:
        return (
            self.paid_health_insurance_cents
            + self.paid_medpay_cents
            + self.paid_pip_cents
            + self.paid_client_cents
        )


_OUTSTANDING = (
    F("billed_cents")
    - F("adjustments_cents")
    - F("paid_health_insurance_cents")
    - F("paid_medpay_cents")
    - F("paid_pip_cents")
    - F("paid_client_cents")
)


def medical_totals(*, case: Case) -> MedicalTotals:
    """The case's specials, adjustments, payments by source and outstanding: one
    aggregate query over its bills, exact cents."""
    zero = 0
    sums = {
        f"t_{name}": Coalesce(Sum(name), zero)
        for name in (
            "billed_cents",
            "adjustments_cents",
            "paid_health_insurance_cents",
            "paid_medpay_cents",
            "paid_pip_cents",
            "paid_client_cents",
        )
    }
    row = Bill.objects.filter(case=case, voided_on__isnull=True).aggregate(
        t_count=Count("id"),
        **sums,
        t_outstanding_cents=Coalesce(Sum(_OUTSTANDING), zero),
        t_lien_cents=Coalesce(Sum(_OUTSTANDING, filter=Q(lien__isnull=False)), zero),
    )
    return MedicalTotals(**{name[2:]: int(value) for name, value in row.items()})


def case_treatments(*, case: Case) -> QuerySet[Treatment]:
    return Treatment.objects.filter(case=case).select_related("provider").order_by("id")


def case_bills(*, case: Case) -> QuerySet[Bill]:
    """The case's bills, void ones included (the tab shows them struck through)."""
    return (
        Bill.objects.filter(case=case)
        .select_related("provider", "lien", "treatment")
        .annotate(outstanding=_OUTSTANDING)
        .order_by("id")
    )


#: Rows on a page of the Treatment tab's treatments and bills (each its own keyset pager).
TREATMENTS_PAGE_SIZE = 25
BILLS_PAGE_SIZE = 50


def case_treatments_page(
    *, case: Case, cursor: str | None = None, limit: int = TREATMENTS_PAGE_SIZE
) -> tuple[list[Treatment], str | None]:
    """One page of the case's treatments from ``cursor`` (in the order entered, walked by
    keyset on the ``cases_treatment_case`` index) and the next page's cursor (None on the
    last). A cursor of another list or tampered with is refused (ValidationFailed)."""
    return keyset_page(case_treatments(case=case), PageIn(limit=limit, cursor=cursor))


def case_bills_page(
    *, case: Case, cursor: str | None = None, limit: int = BILLS_PAGE_SIZE
) -> tuple[list[Bill], str | None]:
    """One page of :func:`case_bills` from ``cursor`` (keyset on ``cases_bill_case``) and
    the next page's cursor (None on the last)."""
    return keyset_page(case_bills(case=case), PageIn(limit=limit, cursor=cursor))


def case_treatment_count(*, case: Case) -> int:
    return Treatment.objects.filter(case=case).count()


def case_bill_count(*, case: Case) -> int:
    """The case's bills, void ones included (as the list shows them)."""
    return Bill.objects.filter(case=case).count()


def case_medical_requests(*, case: Case) -> QuerySet[MedicalRequest]:
    return MedicalRequest.objects.filter(case=case).select_related("provider").order_by("id")


def provider_names(firm: Firm) -> list[str]:
    """The firm's medical providers, for the provider field's suggestions."""
    return list(
        Contact.objects.filter(firm=firm, is_medical_provider=True)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()[:MAX_SUGGESTIONS]
    )


def bills_by_lien(*, case_id: int) -> dict[int, Bill]:
    """The case's bills that became liens, by lien id (the settlement statement)."""
    return {
        bill.lien_id: bill
        for bill in Bill.objects.filter(case_id=case_id, lien__isnull=False)
        if bill.lien_id is not None
    }
