"""The Treatment tab's records for the API's shared tests (scoping, robustness): one of
each on a case, and a valid body for each of its endpoints that takes one."""

from __future__ import annotations

from casebridge.cases.models import Case, Firm, User
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import medical
from casebridge.cases.services.medical import BillAmounts, RequestDates
from casebridge.core import clock

#: The path ids of the Treatment tab's endpoints.
MEDICAL_ID_NAMES = ("treatment_id", "bill_id", "medical_request_id")


def medical_ids(firm: Firm, actor: User, case: Case) -> dict[str, int]:
    """A provider's treatment, bill and records and bills request on ``case``."""
    provider = case_services.contact_create(
        firm=firm, actor=actor, name=f"{firm.code} Clinic", is_medical_provider=True
    )
    day = clock.today()  # within the window whatever the firm's first cost
    treatment = medical.treatment_create(
        firm=firm, actor=actor, case_id=case.pk, provider_id=provider.pk, first_visit=day
    )
    bill = medical.bill_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        treatment_id=treatment.pk,
        bill_date=day,
        amounts=BillAmounts(billed=10_000),
    )
    request = medical.medical_request_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        provider_id=provider.pk,
        dates=RequestDates(records_requested_on=day),
    )
    return {"treatment_id": treatment.pk, "bill_id": bill.pk, "medical_request_id": request.pk}


def medical_bodies(ids: dict[str, int]) -> dict[tuple[str, str], dict[str, object]]:
    """A valid body for every Treatment tab endpoint that takes one (``ids``: the
    contact's as ``contact_id``)."""
    bill = {
        "provider_id": ids["contact_id"],
        "bill_date": "2026-01-05",
        "service_from": "2026-01-01",
        "service_to": "2026-01-05",
        "reference": "R",
        "billed": "10.00",
        "adjustments": "1.00",
        "paid_health_insurance": "1.00",
        "paid_medpay": "1.00",
        "paid_pip": "1.00",
        "paid_client": "1.00",
    }
    dates = {
        "records_requested_on": "2026-01-05",
        "records_received_on": "2026-01-06",
        "bills_requested_on": "2026-01-05",
        "bills_received_on": "2026-01-06",
        "follow_up_on": "2026-01-20",
        "note": "N",
    }
    treatment = {
        "provider_id": ids["contact_id"],
        "first_visit": "2026-01-05",
        "last_visit": "2026-01-06",
        "status": "finished",
        "note": "N",
    }
    return {
        ("put", "/contacts/{contact_id}/medical-provider"): {"is_medical_provider": True},
        ("post", "/cases/{case_id}/treatments"): treatment,
        ("put", "/treatments/{treatment_id}"): treatment,
        ("post", "/cases/{case_id}/bills"): bill,
        ("put", "/bills/{bill_id}"): bill,
        ("post", "/bills/{bill_id}/void"): {"reason": "R"},
        ("post", "/cases/{case_id}/medical-requests"): {
            **dates,
            "provider_id": ids["contact_id"],
        },
        ("put", "/medical-requests/{medical_request_id}"): dates,
    }
