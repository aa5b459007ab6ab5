"""The 1099 endpoints (issue 15, ADR 0045): the report with masked TINs, the payee and
check writes (accountant or above, nothing written on a refusal), the CSV (administrators)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from casebridge.books.models import PaymentTaxReport, TaxPayee
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import BASE, ApiClient, issue_token
from tests.books.test_tax1099 import accountant, staff, year_of_payments  # noqa: F401
from tests.books.test_tax1099_by_tin import _pay, funded, twice  # noqa: F401

pytestmark = pytest.mark.django_db

WHOLE = ("123-45-6789", "123456789", "12-3456789", "951234567")


@pytest.fixture
def staff_api(client, staff) -> ApiClient:  # noqa: F811
    return ApiClient(Client(), issue_token("smith-pi", staff.email))


@pytest.fixture
def accountant_api(accountant) -> ApiClient:  # noqa: F811
    return ApiClient(Client(), issue_token("smith-pi", accountant.email))


def test_the_report_answers_exact_totals_and_masked_tins(api, year_of_payments):  # noqa: F811
    reply = api.get("/reports/1099", {"year": 2026})
    assert reply.status == 200
    raw = json.dumps(reply.body, ensure_ascii=False)
    for tin in WHOLE:
        assert tin not in raw
    body = reply.body
    assert (body["year"], body["threshold_year"], body["reportable"], body["missing_tins"]) == (
        2026,
        2026,
        3,
        1,
    )
    assert body["thresholds"]["NEC-1"] == "2000.00"
    assert body["thresholds"]["MISC-10"] == "600.00"
    rivera = next(p for p in body["payees"] if p["name"] == "Dr. Rivera")
    assert (rivera["tin_type"], rivera["tin"]) == ("SSN", "•••••6789")
    assert [(b["box"], b["payments"], b["total"], b["reportable"]) for b in rivera["boxes"]] == [
        ("NEC-1", 1, "500.00", False),
        ("MISC-6", 2, "2200.00", True),
    ]
    cole = next(p for p in body["payees"] if p["name"] == "Cole & Partners")
    assert cole["tin"] == ""
    assert cole["warnings"] == [
        "No TIN: ask for a W-9 before filing",
        "No complete mailing address",
    ]


def test_a_year_out_of_range_is_422_naming_year(api):
    reply = api.get("/reports/1099", {"year": 1999})
    assert reply.status == 422
    assert "year" in json.dumps(reply.error)


def test_a_payee_is_marked_and_its_tin_is_never_answered_whole(api, client_file):
    contact = client_file.client
    reply = api.put(
        f"/contacts/{contact.pk}/tax-payee",
        {
            "tin_type": "EIN",
            "tin": "12-3456789",
            "default_box": "MISC-10",
            "state": "NY",
            "zip_code": "10001",
            "address_line1": "5 Broad St",
            "city": "New York",
        },
    )
    assert reply.status == 200
    assert reply.body == {
        "contact_id": contact.pk,
        "name": "Maria Lopez",
        "is_1099": True,
        "tin_type": "EIN",
        "tin": "•••••6789",
        "default_box": "MISC-10",
        "address_line1": "5 Broad St",
        "address_line2": "",
        "city": "New York",
        "state": "NY",
        "zip_code": "10001",
    }
    listed = api.get("/tax-payees")
    assert [p["tin"] for p in listed.body["items"]] == ["•••••6789"]
    kept = api.put(f"/contacts/{contact.pk}/tax-payee", {"tin_type": "EIN", "state": "NJ"})
    assert (kept.status, kept.body["tin"], kept.body["state"]) == (200, "•••••6789", "NJ")


def test_a_bad_tin_is_422_naming_tin_and_writes_nothing(api, client_file):
    events = AuditEvent.objects.count()
    reply = api.put(
        f"/contacts/{client_file.client.pk}/tax-payee", {"tin_type": "SSN", "tin": "666-12-3456"}
    )
    assert reply.status == 422
    assert (reply.error["code"], reply.error["field"]) == ("validation_error", "tin")
    assert "666" not in reply.error["message"]
    assert not TaxPayee.objects.exists()
    assert AuditEvent.objects.count() == events


def test_staff_writes_are_refused_and_write_nothing(staff_api, year_of_payments):  # noqa: F811
    hale = year_of_payments["hale"]
    queued = year_of_payments["checks"][4]
    events, reports = AuditEvent.objects.count(), PaymentTaxReport.objects.count()
    refused = staff_api.put(
        f"/contacts/{hale.contact_id}/tax-payee", {"tin_type": "SSN", "tin": "123-45-6789"}
    )
    assert (refused.status, refused.error["code"]) == (403, "role_required")
    refused = staff_api.put(f"/checks/{queued.pk}/tax-report", {"contact_id": hale.contact_id})
    assert (refused.status, refused.error["code"]) == (403, "role_required")
    hale.refresh_from_db()
    assert (hale.tin_type, hale.tin_last4) == ("EIN", "6789")
    assert (AuditEvent.objects.count(), PaymentTaxReport.objects.count()) == (events, reports)
    assert staff_api.get("/reports/1099", {"year": 2026}).status == 200  # reading is anyone's


def test_a_check_is_reported_and_taken_off(accountant_api, year_of_payments):  # noqa: F811
    queued = year_of_payments["checks"][4]
    hale = year_of_payments["hale"]
    reply = accountant_api.put(
        f"/checks/{queued.pk}/tax-report", {"contact_id": hale.contact_id, "box": "MISC-3"}
    )
    assert reply.body == {"check_id": queued.pk, "contact_id": hale.contact_id, "box": "MISC-3"}
    off = accountant_api.put(f"/checks/{queued.pk}/tax-report", {"contact_id": None})
    assert off.body == {"check_id": queued.pk, "contact_id": None, "box": None}
    voided = year_of_payments["checks"][2]
    refused = accountant_api.put(f"/checks/{voided.pk}/tax-report", {"contact_id": hale.contact_id})
    assert (refused.status, refused.error["message"]) == (
        422,
        "a voided check is not reported on a 1099",
    )


def test_the_csv_is_an_administrators(client, token, accountant, year_of_payments):  # noqa: F811
    url = f"{BASE}/reports/1099.csv"
    other = issue_token("smith-pi", accountant.email)
    refused = Client().get(
        url, {"year": 2026, "form": "1099-NEC"}, headers={"Authorization": f"Bearer {other}"}
    )
    assert refused.status_code == 403
    assert not AuditEvent.objects.filter(entity_type="tax1099_csv").exists()
    response = client.get(
        url, {"year": 2026, "form": "1099-NEC"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[1].endswith(
        "Hale Investigations,EIN,12-3456789,12 Main St,Suite 4,Fresno,CA,93721,2000.00"
    )
    bad = client.get(
        url, {"year": 2026, "form": "W-2"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 422


def test_contacts_sharing_a_tin_are_one_payee_listing_them(
    api,
    firm,
    admin,
    operating,
    funded,  # noqa: F811
    twice,  # noqa: F811
):
    """ADR 0055: two contacts with one TIN are one payee, their payments summed before the
    threshold applies; the answer lists both, the TIN masked."""
    first, second = twice
    _pay(firm, admin, operating, funded, first, 120_000, dt.date(2026, 2, 3))
    _pay(firm, admin, operating, funded, second, 100_000, dt.date(2026, 2, 4))
    body = api.get("/reports/1099", {"year": 2026}).body
    [payee] = body["payees"]
    assert (payee["contact_id"], payee["name"], payee["tin"]) == (
        second.contact_id,
        "Hale Investigations LLC",
        "•••••6789",
    )
    assert payee["contacts"] == [
        {"contact_id": first.contact_id, "name": "Hale Investigations"},
        {"contact_id": second.contact_id, "name": "Hale Investigations LLC"},
    ]
    assert [(b["box"], b["payments"], b["total"], b["reportable"]) for b in payee["boxes"]] == [
        ("NEC-1", 2, "2200.00", True)
    ]
    assert (body["reportable"], body["missing_tins"]) == (1, 0)
