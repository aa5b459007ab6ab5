"""Reports -> 1099 payees (issue 15, ADR 0045): the report, the payee and check pop-ups,
the CSV and the reveal; TINs masked on every page, refusals writing nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.models import PaymentTaxReport, TaxPayee
from casebridge.core.models import AuditEvent
from tests.books.test_tax1099 import accountant, staff, year_of_payments  # noqa: F401
from tests.books.test_tax1099_by_tin import _pay, funded, twice  # noqa: F401

from .conftest import HX, sign_in, text

pytestmark = pytest.mark.django_db

REPORT = "/books/reports/1099/"
WHOLE = ("123-45-6789", "123456789", "12-3456789", "951234567")


@pytest.fixture
def staff_client(staff) -> Client:  # noqa: F811
    return sign_in(Client(), staff)


@pytest.fixture
def accountant_client(accountant) -> Client:  # noqa: F811
    return sign_in(Client(), accountant)


def _no_whole_tin(page: str) -> None:
    for tin in WHOLE:
        assert tin not in page


def test_the_report_shows_totals_and_masked_tins_only(admin_client, year_of_payments):  # noqa: F811
    response = admin_client.get(REPORT, {"year": "2026"})
    assert response.status_code == 200
    page = text(response)
    _no_whole_tin(page)
    assert "SSN •••••6789" in page
    assert "EIN •••••4567" in page
    assert "$2,200.00" in page  # Dr. Rivera's medical payments, trust and operating
    assert "$1,999.99" in page  # Quick Copy, below the threshold
    assert "1 payee to report has no TIN: ask for a W-9 before filing." in page
    assert "1099-NEC CSV (full TINs)" in page
    assert "3 to report" in page


def test_a_year_without_thresholds_uses_the_latest_and_says_so(admin_client, firm):
    page = text(admin_client.get(REPORT, {"year": "2027"}))
    assert "No thresholds are set for 2027: 2026's are used." in page


def test_a_year_out_of_range_is_refused_naming_the_field(admin_client):
    response = admin_client.get(REPORT, {"year": "1999"})
    assert response.status_code == 422


def test_the_csv_is_an_administrators_and_audited(
    admin_client,
    accountant_client,
    year_of_payments,  # noqa: F811
):
    url = reverse("books:tax1099_csv")
    events = AuditEvent.objects.count()
    refused = accountant_client.get(url, {"year": "2026", "form": "1099-NEC"})
    assert refused.status_code == 403
    assert AuditEvent.objects.count() == events
    assert "1099-NEC CSV" not in text(accountant_client.get(REPORT))
    response = admin_client.get(url, {"year": "2026", "form": "1099-NEC"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="smith-pi-1099-nec-2026.csv"'
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][3:6] == ["Hale Investigations", "EIN", "12-3456789"]
    assert AuditEvent.objects.filter(entity_type="tax1099_csv").count() == 1
    assert admin_client.get(url, {"year": "2026", "form": "W-2"}).status_code == 422


def test_an_accountant_marks_a_contact_as_a_payee_from_its_pop_up(accountant_client, client_file):
    client = client_file.client
    url = reverse("books:tax_payee_edit", args=[client.pk])
    assert accountant_client.get(url, **HX).status_code == 200
    response = accountant_client.post(
        url,
        {
            "is_1099": "on",
            "tin_type": "SSN",
            "tin": "123-45-6789",
            "default_box": "MISC-3",
            "address_line1": "1 Elm St",
            "city": "Fresno",
            "state": "CA",
            "zip_code": "93721",
        },
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == REPORT
    saved = TaxPayee.objects.get(contact=client)
    assert (saved.tin_type, saved.tin_last4, saved.default_box) == ("SSN", "6789", "MISC-3")
    again = text(accountant_client.get(url, **HX))
    assert "Kept: •••••6789" in again
    _no_whole_tin(again)


def test_a_malformed_tin_is_shown_beside_its_field_and_nothing_is_saved(
    accountant_client, client_file
):
    url = reverse("books:tax_payee_edit", args=[client_file.client.pk])
    response = accountant_client.post(
        url, {"is_1099": "on", "tin_type": "EIN", "tin": "07-1234567", "default_box": "NEC-1"}, **HX
    )
    assert response.status_code == 422
    assert "An EIN never starts with 07: check the number" in text(response)
    assert "07-1234567" not in text(response)  # never echoed back
    assert not TaxPayee.objects.exists()


def test_staff_may_not_open_or_post_the_payee_pop_up(staff_client, client_file):
    url = reverse("books:tax_payee_edit", args=[client_file.client.pk])
    events = AuditEvent.objects.count()
    assert staff_client.get(url, **HX).status_code == 403
    response = staff_client.post(
        url, {"is_1099": "on", "tin_type": "SSN", "tin": "123-45-6789", "default_box": "NEC-1"}
    )
    assert response.status_code == 403
    assert not TaxPayee.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_new_payee_is_added_with_its_contact(accountant_client):
    response = accountant_client.post(
        reverse("books:tax_payee_new"),
        {
            "name": "Hale Investigations",
            "is_1099": "on",
            "tin_type": "EIN",
            "tin": "12-3456789",
            "default_box": "NEC-1",
        },
        **HX,
    )
    assert response.status_code == 200
    assert TaxPayee.objects.get().contact.name == "Hale Investigations"
    page = text(accountant_client.get(REPORT))
    assert "Hale Investigations" in page
    assert "EIN •••••6789" in page


def test_a_check_is_reported_from_its_pop_up_and_staff_are_refused(
    accountant_client,
    staff_client,
    year_of_payments,  # noqa: F811
):
    queued = year_of_payments["checks"][4]
    hale = year_of_payments["hale"]
    url = reverse("books:check_tax1099", args=[queued.pk])
    assert staff_client.post(url, {"contact": str(hale.contact_id)}).status_code == 403
    assert not PaymentTaxReport.objects.filter(payment=queued, contact=hale.contact).exists()
    page = text(accountant_client.get(url, **HX))
    assert "Hale Investigations" in page
    response = accountant_client.post(url, {"contact": str(hale.contact_id), "box": ""}, **HX)
    assert response.status_code == 200
    report = PaymentTaxReport.objects.get(payment=queued)
    assert (report.contact_id, report.box) == (hale.contact_id, "NEC-1")


def test_an_administrator_reveals_a_tin_after_a_post_audited(
    admin_client,
    accountant_client,
    year_of_payments,  # noqa: F811
):
    url = reverse("books:tax_payee_reveal", args=[year_of_payments["rivera"].contact_id])
    assert accountant_client.post(url, **HX).status_code == 403
    shown = text(admin_client.get(url, **HX))
    _no_whole_tin(shown)
    assert not AuditEvent.objects.filter(action="reveal").exists()
    revealed = admin_client.post(url, **HX)
    assert '<strong id="revealed-tin">123456789</strong>' in text(revealed)
    assert AuditEvent.objects.filter(action="reveal").count() == 1


def test_contacts_sharing_a_tin_show_as_one_payee(
    admin_client,
    firm,
    admin,
    operating,
    funded,  # noqa: F811
    twice,  # noqa: F811
):
    """ADR 0055: each contact below the threshold, together above: one line, reported."""
    first, second = twice
    _pay(firm, admin, operating, funded, first, 120_000, dt.date(2026, 2, 3))
    _pay(firm, admin, operating, funded, second, 100_000, dt.date(2026, 2, 4))
    page = text(admin_client.get(REPORT, {"year": "2026"}))
    _no_whole_tin(page)
    assert "$2,200.00" in page
    assert "$1,200.00" not in page
    assert (
        "2 contacts share this TIN and are one recipient: Hale Investigations, "
        "Hale Investigations LLC"
    ) in page
    assert "1 to report" in page
