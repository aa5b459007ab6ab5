"""The Treatment tab's API twin (issue 16): providers, treatments, bills, requests and
totals; refusals are 4xx JSON naming the field and write nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from casebridge.cases.models import Bill, Lien
from casebridge.cases.services import cases as case_services
from tests.cases.api.conftest import ApiClient, db_state, issue


@pytest.fixture
def papi(cfirm, paralegal) -> ApiClient:
    """A user with no extra permission: treatment and bills need none."""
    return ApiClient(Client(), issue(cfirm, paralegal))


@pytest.fixture
def provider(cfirm, cadmin):
    return case_services.contact_create(firm=cfirm, actor=cadmin, name="Valley Medical")


def test_treatment_bills_totals_and_a_lien_over_the_api(papi, case, provider):
    reply = papi.put(f"/contacts/{provider.pk}/medical-provider", {"is_medical_provider": True})
    assert reply.status == 200
    assert reply.body["is_medical_provider"] is True
    reply = papi.get("/medical-providers")
    assert [p["name"] for p in reply.body["items"]] == ["Valley Medical"]

    reply = papi.post(
        f"/cases/{case.pk}/treatments",
        {
            "provider_id": provider.pk,
            "first_visit": "2026-01-05",
            "last_visit": "2026-02-20",
            "status": "finished",
        },
    )
    assert reply.status == 201, reply.body
    treatment = reply.body
    assert treatment["status_label"] == "Finished"

    reply = papi.post(
        f"/cases/{case.pk}/bills",
        {
            "treatment_id": treatment["id"],
            "service_from": "2026-01-05",
            "service_to": "2026-02-20",
            "billed": "12345.67",
            "adjustments": "2000.01",
            "paid_health_insurance": "3000.00",
            "paid_medpay": "1000.00",
            "paid_pip": "500.00",
            "paid_client": "45.66",
        },
    )
    assert reply.status == 201, reply.body
    bill = reply.body
    assert bill["provider"]["name"] == "Valley Medical"
    assert bill["outstanding"] == "5800.00"

    totals = papi.get(f"/cases/{case.pk}/medical-totals").body
    assert totals == {
        "bills": 1,
        "specials": "12345.67",
        "adjustments": "2000.01",
        "paid_health_insurance": "3000.00",
        "paid_medpay": "1000.00",
        "paid_pip": "500.00",
        "paid_client": "45.66",
        "paid": "4545.66",
        "outstanding": "5800.00",
        "became_liens": "0.00",
    }

    reply = papi.post(f"/bills/{bill['id']}/lien")
    assert reply.status == 201, reply.body
    lien = Lien.objects.get(pk=reply.body["lien_id"])
    assert (lien.kind, lien.holder_id, lien.claimed_cents) == ("medical", provider.pk, 580_000)

    before = db_state()
    reply = papi.post(f"/bills/{bill['id']}/lien")
    assert reply.status == 409
    assert reply.error["code"] == "conflict"
    assert reply.error["field"] == "bill"
    assert db_state() == before

    page = papi.get(f"/cases/{case.pk}/bills", {"limit": 1}).body
    assert page["count"] == 1
    assert page["next"] is None
    assert page["items"][0]["lien_id"] == lien.pk

    reply = papi.post(
        f"/cases/{case.pk}/medical-requests",
        {
            "provider_id": provider.pk,
            "records_requested_on": "2026-01-06",
            "follow_up_on": "2026-01-20",
        },
    )
    assert reply.status == 201, reply.body
    assert reply.body["status"] == "overdue"  # the follow-up date has passed, nothing in
    reply = papi.put(
        f"/medical-requests/{reply.body['id']}",
        {"records_requested_on": "2026-01-06", "records_received_on": "2026-01-25"},
    )
    assert reply.status == 200
    assert reply.body["status_label"] == "Received"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"billed": "100.00", "adjustments": "60.00", "paid_pip": "40.01"}, "paid_pip"),
        ({"billed": "-1.00"}, "billed"),
        ({"billed": "100.00", "bill_date": "1990-01-01"}, "bill_date"),
        (
            {"billed": "100.00", "service_from": "2026-02-02", "service_to": "2026-02-01"},
            "service_to",
        ),
    ],
)
def test_a_refused_bill_is_a_422_naming_the_field_and_writes_nothing(
    papi, case, provider, body, field
):
    before = db_state()
    reply = papi.post(
        f"/cases/{case.pk}/bills",
        {"provider_id": provider.pk, "bill_date": "2026-02-01", **body},
    )
    assert reply.status == 422, reply.body
    assert reply.error["field"] == field
    assert db_state() == before
    assert not Bill.objects.exists()


def test_a_last_visit_before_the_first_is_a_422(papi, case, provider):
    reply = papi.post(
        f"/cases/{case.pk}/treatments",
        {"provider_id": provider.pk, "first_visit": "2026-02-02", "last_visit": "2026-02-01"},
    )
    assert reply.status == 422
    assert reply.error["field"] == "last_visit"


def test_another_firms_provider_is_a_404_naming_the_field(papi, case):
    from casebridge.cases.services import firms
    from tests.cases.conftest import PASSWORD

    other = firms.firm_create(code="jones-pi", name="Jones Injury Law")
    admin = firms.user_create(
        firm=other, actor=None, email="a@jones.test", password=PASSWORD, is_firm_admin=True
    )
    theirs = case_services.contact_create(firm=other, actor=admin, name="Jones Clinic")
    reply = papi.post(
        f"/cases/{case.pk}/bills",
        {"provider_id": theirs.pk, "bill_date": "2026-02-01", "billed": "1.00"},
    )
    assert reply.status == 404
    assert reply.error["field"] == "provider_id"
