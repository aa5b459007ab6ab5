"""Medical treatment and bills (issue 16): providers, treatment, bills with exact totals,
records and bills requests, and a bill's balance becoming a lien once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Max

from casebridge.cases.errors import Conflict, Locked, PermissionDenied, ValidationFailed
from casebridge.cases.models import Bill, Contact, Lien, MedicalRequest, Treatment
from casebridge.cases.selectors.medical import (
    RequestStatus,
    medical_totals,
    request_status,
)
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import firms
from casebridge.cases.services import medical as med
from casebridge.cases.services.medical import BillAmounts, RequestDates
from casebridge.core.models import AuditEvent
from tests.cases.conftest import PASSWORD

D = dt.date(2026, 3, 2)


def medical_snapshot() -> dict[str, Any]:
    return {
        "contacts": list(Contact.objects.order_by("pk").values_list()),
        "treatments": list(Treatment.objects.order_by("pk").values_list()),
        "bills": list(Bill.objects.order_by("pk").values_list()),
        "requests": list(MedicalRequest.objects.order_by("pk").values_list()),
        "liens": list(Lien.objects.order_by("pk").values_list()),
        "audit": AuditEvent.objects.aggregate(m=Max("pk"))["m"],
    }


@pytest.fixture
def provider(cfirm, cadmin) -> Contact:
    return case_services.contact_create(
        firm=cfirm, actor=cadmin, name="Valley Medical", is_medical_provider=True
    )


@pytest.fixture
def treatment(cfirm, paralegal, case, provider) -> Treatment:
    return med.treatment_create(
        firm=cfirm,
        actor=paralegal,
        case_id=case.pk,
        provider_id=provider.pk,
        first_visit=D,
        last_visit=D + dt.timedelta(days=30),
        status="finished",
    )


def add_bill(firm, actor, case, provider, **amounts: int) -> Bill:
    return med.bill_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        provider_id=provider.pk,
        bill_date=D,
        amounts=BillAmounts(**amounts),
    )


def test_a_paralegal_records_treatment_and_bills_and_the_totals_are_exact(
    cfirm, paralegal, case, provider, treatment
):
    assert treatment.status == "finished"
    assert treatment.last_visit == dt.date(2026, 4, 1)
    add_bill(
        cfirm,
        paralegal,
        case,
        provider,
        billed=1_234_567,
        adjustments=200_001,
        paid_health_insurance=300_000,
        paid_medpay=100_000,
        paid_pip=50_000,
        paid_client=4_566,
    )
    er = case_services.contact_create(firm=cfirm, actor=paralegal, name="St. Mary ER")
    second = med.bill_create(
        firm=cfirm,
        actor=paralegal,
        case_id=case.pk,
        provider_id=er.pk,
        service_from=D,
        service_to=D,
        amounts=BillAmounts(billed=99_999, paid_health_insurance=33_333),
    )
    voided = add_bill(cfirm, paralegal, case, provider, billed=5_000_000)
    med.bill_void(firm=cfirm, actor=paralegal, bill_id=voided.pk, reason="entered twice")

    er.refresh_from_db()
    assert er.is_medical_provider  # named as a bill's provider, it became one
    assert second.outstanding_cents == 66_666
    totals = medical_totals(case=case)
    assert totals.count == 2
    assert totals.billed_cents == 1_334_566
    assert totals.adjustments_cents == 200_001
    assert totals.paid_health_insurance_cents == 333_333
    assert totals.paid_medpay_cents == 100_000
    assert totals.paid_pip_cents == 50_000
    assert totals.paid_client_cents == 4_566
    assert totals.paid_cents == 487_899
    assert totals.outstanding_cents == 646_666  # 1,334,566 - 200,001 - 487,899
    assert totals.lien_cents == 0


def test_a_negative_balance_is_refused_naming_the_amount_that_tips_it(
    cfirm, paralegal, case, provider
):
    before = medical_snapshot()
    with pytest.raises(ValidationFailed) as refusal:
        add_bill(
            cfirm,
            paralegal,
            case,
            provider,
            billed=100_000,
            adjustments=60_000,
            paid_health_insurance=30_000,
            paid_medpay=20_000,
        )
    assert refusal.value.field == "paid_medpay"
    assert refusal.value.message.startswith("the outstanding balance cannot be negative")
    assert medical_snapshot() == before


def test_the_database_refuses_a_negative_balance_too(cfirm, cadmin, case, provider):
    bill = add_bill(cfirm, cadmin, case, provider, billed=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Bill.objects.filter(pk=bill.pk).update(paid_client_cents=101)


def test_a_last_visit_before_the_first_is_refused(cfirm, paralegal, case, provider):
    before = medical_snapshot()
    with pytest.raises(ValidationFailed) as refusal:
        med.treatment_create(
            firm=cfirm,
            actor=paralegal,
            case_id=case.pk,
            provider_id=provider.pk,
            first_visit=D,
            last_visit=D - dt.timedelta(days=1),
        )
    assert refusal.value.field == "last_visit"
    assert medical_snapshot() == before


def test_a_date_outside_the_firms_window_is_refused(cfirm, paralegal, case, provider):
    before = medical_snapshot()
    with pytest.raises(ValidationFailed) as refusal:
        med.treatment_create(
            firm=cfirm,
            actor=paralegal,
            case_id=case.pk,
            provider_id=provider.pk,
            first_visit=dt.date(1990, 1, 1),
        )
    assert refusal.value.field == "first_visit"
    with pytest.raises(ValidationFailed) as refusal:
        med.bill_create(
            firm=cfirm,
            actor=paralegal,
            case_id=case.pk,
            provider_id=provider.pk,
            bill_date=dt.date(2099, 1, 1),
            amounts=BillAmounts(billed=100),
        )
    assert refusal.value.field == "bill_date"
    assert medical_snapshot() == before


def test_another_firms_case_and_provider_are_not_found(cfirm, paralegal, case, provider):
    other = firms.firm_create(code="jones-pi", name="Jones Injury Law")
    admin = firms.user_create(
        firm=other, actor=None, email="a@jones.test", password=PASSWORD, is_firm_admin=True
    )
    client = case_services.contact_create(firm=other, actor=admin, name="Jones Client")
    their_case = case_services.case_create(
        firm=other, actor=admin, name="Jones v. One", client_id=client.pk
    )
    their_bill = add_bill(other, admin, their_case, client, billed=100)
    before = medical_snapshot()
    with pytest.raises(ValidationFailed) as refusal:
        add_bill(cfirm, paralegal, their_case, provider, billed=100)
    assert refusal.value.field == "case"
    with pytest.raises(ValidationFailed) as refusal:
        add_bill(cfirm, paralegal, case, client, billed=100)
    assert refusal.value.field == "provider"
    with pytest.raises(ValidationFailed) as refusal:
        med.bill_to_lien(firm=cfirm, actor=paralegal, bill_id=their_bill.pk)
    assert refusal.value.field == "bill"
    with pytest.raises(PermissionDenied):  # a user of another firm
        add_bill(cfirm, admin, case, provider, billed=100)
    assert medical_snapshot() == before


def test_a_bill_becomes_a_lien_once(cfirm, paralegal, case, provider):
    bill = add_bill(
        cfirm, paralegal, case, provider, billed=500_000, adjustments=120_000, paid_medpay=80_000
    )
    lien = med.bill_to_lien(firm=cfirm, actor=paralegal, bill_id=bill.pk)
    bill.refresh_from_db()
    assert bill.lien_id == lien.pk
    assert (lien.kind, lien.holder_id, lien.claimed_cents) == ("medical", provider.pk, 300_000)
    assert lien.note == "Bill of 2026-03-02"
    assert medical_totals(case=case).lien_cents == 300_000
    event = AuditEvent.objects.filter(entity_type="medical_bill", action="convert").get()
    assert event.after == {"lien": lien.pk, "claimed_cents": 300_000}

    before = medical_snapshot()
    with pytest.raises(Conflict) as refusal:
        med.bill_to_lien(firm=cfirm, actor=paralegal, bill_id=bill.pk)
    assert refusal.value.field == "bill"
    with pytest.raises(Locked):  # the lien is negotiated now, not the bill
        med.bill_update(
            firm=cfirm,
            actor=paralegal,
            bill_id=bill.pk,
            provider_id=provider.pk,
            bill_date=D,
            amounts=BillAmounts(billed=1),
        )
    with pytest.raises(Locked):
        med.bill_void(firm=cfirm, actor=paralegal, bill_id=bill.pk, reason="x")
    assert medical_snapshot() == before


def test_a_correction_is_audited_with_before_and_after(cfirm, paralegal, case, provider):
    bill = add_bill(cfirm, paralegal, case, provider, billed=10_000)
    med.bill_update(
        firm=cfirm,
        actor=paralegal,
        bill_id=bill.pk,
        provider_id=provider.pk,
        bill_date=D,
        amounts=BillAmounts(billed=10_000, adjustments=2_500),
    )
    event = AuditEvent.objects.filter(entity_type="medical_bill", action="change").get()
    assert event.before["adjustments_cents"] == 0
    assert event.after["adjustments_cents"] == 2_500
    assert event.after["outstanding_cents"] == 7_500
    assert Bill.objects.get(pk=bill.pk).outstanding_cents == 7_500


def test_request_status_follows_the_dates(cfirm, paralegal, case, provider):
    request = med.medical_request_create(
        firm=cfirm,
        actor=paralegal,
        case_id=case.pk,
        provider_id=provider.pk,
        dates=RequestDates(
            records_requested_on=D, bills_requested_on=D, follow_up_on=D + dt.timedelta(14)
        ),
    )
    assert request_status(request, D + dt.timedelta(14)) == RequestStatus.REQUESTED
    assert request_status(request, D + dt.timedelta(15)) == RequestStatus.OVERDUE
    request = med.medical_request_update(
        firm=cfirm,
        actor=paralegal,
        request_id=request.pk,
        dates=RequestDates(
            records_requested_on=D,
            records_received_on=D + dt.timedelta(3),
            bills_requested_on=D,
            bills_received_on=D + dt.timedelta(5),
            follow_up_on=D + dt.timedelta(14),
        ),
    )
    assert request_status(request, D + dt.timedelta(15)) == RequestStatus.RECEIVED
    before = medical_snapshot()
    with pytest.raises(ValidationFailed) as refusal:
        med.medical_request_update(
            firm=cfirm,
            actor=paralegal,
            request_id=request.pk,
            dates=RequestDates(records_requested_on=D, records_received_on=D - dt.timedelta(1)),
        )
    assert refusal.value.field == "records_received_on"
    with pytest.raises(Conflict) as refusal:
        med.medical_request_create(
            firm=cfirm,
            actor=paralegal,
            case_id=case.pk,
            provider_id=provider.pk,
            dates=RequestDates(),
        )
    assert refusal.value.field == "provider"
    assert medical_snapshot() == before


def test_a_provider_is_found_by_the_global_search(cfirm, cadmin, paralegal):
    """Migration 0011 adds a column to cases_contact (SQLite remakes the table): the
    search's triggers on it are made again, so a contact added since is found."""
    from casebridge.cases.selectors.search import search_cases_side

    med.provider_for_name(firm=cfirm, actor=paralegal, name="Ortega Physical Therapy")
    groups = {g.kind: [h.label for h in g.hits] for g in search_cases_side(cadmin, "ortega").groups}
    assert any("Ortega Physical Therapy" in label for labels in groups.values() for label in labels)


def test_a_lien_from_a_bill_never_claims_more_than_the_bill_billed(
    cfirm, cadmin, paralegal, case, provider
):
    """The statement shows billed, the reduction and what is paid: a claim raised above the
    bill would show a negative reduction."""
    from casebridge.cases.services import settlement as settlement_services

    bill = add_bill(cfirm, paralegal, case, provider, billed=5_000, paid_pip=1_000)
    lien = med.bill_to_lien(firm=cfirm, actor=paralegal, bill_id=bill.pk)
    before = medical_snapshot()
    for claimed, final, field in ((900_000, None, "claimed"), (4_000, 5_001, "final")):
        with pytest.raises(ValidationFailed) as refusal:
            settlement_services.lien_update(
                firm=cfirm,
                actor=cadmin,
                lien_id=lien.pk,
                claimed_cents=claimed,
                final_cents=final,
                paid_direct=False,
            )
        assert refusal.value.field == field
        assert "$50.00" in str(refusal.value)
    assert medical_snapshot() == before
    settlement_services.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=lien.pk,
        claimed_cents=5_000,
        final_cents=3_000,
        paid_direct=False,
    )
    lien.refresh_from_db()
    assert (lien.claimed_cents, lien.final_cents) == (5_000, 3_000)


def test_a_treatment_with_bills_keeps_its_provider(cfirm, paralegal, case, provider, treatment):
    other = case_services.contact_create(firm=cfirm, actor=paralegal, name="Bay Imaging")
    med.bill_create(
        firm=cfirm,
        actor=paralegal,
        case_id=case.pk,
        provider_id=provider.pk,
        treatment_id=treatment.pk,
        bill_date=D,
        amounts=BillAmounts(billed=10_000),
    )
    before = medical_snapshot()
    with pytest.raises(ValidationFailed) as refusal:
        med.treatment_update(
            firm=cfirm,
            actor=paralegal,
            treatment_id=treatment.pk,
            provider_id=other.pk,
            first_visit=D,
            last_visit=None,
            status="finished",
        )
    assert refusal.value.field == "provider"
    assert medical_snapshot() == before  # Bay Imaging not even marked a provider
