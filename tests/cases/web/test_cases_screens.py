"""The cases list (search, status filter, pages), New case, the Overview tab, editing a
case, and linking and unlinking cases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.cases.models import Case, CaseType, Contact, Settlement
from casebridge.cases.services import cases as case_services
from casebridge.core import clock

from .conftest import HX, nothing_written, text


def test_the_list_searches_by_number_name_and_client(admin_client, case, linked_case):
    page = text(admin_client.get(reverse("cases:case_list"), {"q": "luis"}))
    assert "L. Lopez v. Acme Trucking" in page
    assert f">{case.number}<" not in page
    page = text(admin_client.get(reverse("cases:case_list"), {"q": case.number}))
    assert "Lopez v. Acme Trucking" in page


def test_the_list_filters_by_status(admin_client, cfirm, cadmin, case, client_contact):
    case_services.case_create(
        firm=cfirm, actor=cadmin, name="Intake one", client_id=client_contact.pk
    )
    page = text(admin_client.get(reverse("cases:case_list"), {"status": "intake"}))
    assert "Intake one" in page
    assert "Lopez v. Acme Trucking" not in page
    page = text(admin_client.get(reverse("cases:case_list"), {"status": "open"}))
    assert "Lopez v. Acme Trucking" in page
    assert "Intake one" not in page


def test_the_live_search_answers_just_the_results(admin_client, case):
    response = admin_client.get(
        reverse("cases:case_list"), {"q": "Lopez"}, HTTP_HX_TARGET="case-results", **HX
    )
    assert response.status_code == 200
    assert "<html" not in text(response)
    assert "Lopez v. Acme Trucking" in text(response)


def test_the_list_has_page_numbers(admin_client, cfirm, cadmin, client_contact):
    for i in range(30):
        case_services.case_create(
            firm=cfirm, actor=cadmin, name=f"Case {i:02d}", client_id=client_contact.pk
        )
    first = text(admin_client.get(reverse("cases:case_list")))
    assert "Case 29" in first
    assert "Case 00" not in first
    assert 'aria-label="Page 2"' in first
    second = text(admin_client.get(reverse("cases:case_list"), {"page": "2"}))
    assert "Case 00" in second
    assert 'aria-current="page" aria-label="Page 2"' in second
    assert admin_client.get(reverse("cases:case_list"), {"page": "999"}).status_code == 200


def test_a_new_case_with_its_client(admin_client, cfirm, cattorney):
    default = CaseType.objects.get(firm=cfirm, is_default=True)
    form = text(admin_client.get(reverse("cases:case_new"), **HX))
    assert "<dialog" in form
    assert f'<option value="{default.pk}" selected>Personal Injury</option>' in form
    response = admin_client.post(
        reverse("cases:case_new"),
        {
            "client_name": "Rosa Diaz",
            "client_address": "1 Elm St\nFresno, CA",
            "client_date_of_birth": "1990-05-06",
            "client_phone": "555-0199",
            "client_email": "rosa@example.test",
            "name": "Diaz v. Metro Bus",
            "case_type": default.pk,
            "responsible_attorney": cattorney.pk,
            "incident_date": "2025-11-01",
            "status": "open",
        },
        **HX,
    )
    assert response.status_code == 200
    case = Case.objects.get(name="Diaz v. Metro Bus")
    assert response["HX-Redirect"] == reverse("cases:case_detail", args=[case.pk])
    client = case.client
    assert (client.name, client.address, client.date_of_birth, client.phone, client.email) == (
        "Rosa Diaz",
        "1 Elm St\nFresno, CA",
        dt.date(1990, 5, 6),
        "555-0199",
        "rosa@example.test",
    )
    assert (case.case_type_id, case.responsible_attorney_id, case.status) == (
        default.pk,
        cattorney.pk,
        "open",
    )
    assert case.incident_date == dt.date(2025, 11, 1)
    assert Settlement.objects.get(case=case).fee_rate_bp == cfirm.default_fee_rate_bp
    page = text(admin_client.get(reverse("cases:case_detail", args=[case.pk])))
    assert f"Case {case.number} Diaz v. Metro Bus opened." in page
    assert "1990-05-06" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("client_date_of_birth", "2999-01-01", "The date of birth is in the future"),
        ("incident_date", "2999-01-01", "The incident date is in the future"),
        ("client_name", "   ", "This field is required."),
    ],
)
def test_a_refused_new_case_writes_no_client(admin_client, cfirm, field, value, message):
    data = {
        "client_name": "Rosa Diaz",
        "name": "Diaz v. Metro Bus",
        "case_type": CaseType.objects.get(firm=cfirm).pk,
        "status": "intake",
        field: value,
    }
    with nothing_written():
        response = admin_client.post(reverse("cases:case_new"), data, **HX)
    assert response.status_code == 422
    assert message in text(response)
    assert f'id="id_{field}_error"' in text(response)


def test_a_non_attorney_cannot_be_the_responsible_attorney(admin_client, cfirm, paralegal):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:case_new"),
            {
                "client_name": "Rosa Diaz",
                "name": "Diaz",
                "case_type": CaseType.objects.get(firm=cfirm).pk,
                "responsible_attorney": paralegal.pk,
                "status": "intake",
            },
            **HX,
        )
    assert response.status_code == 422
    assert "Select a valid choice" in text(response)  # only attorneys are offered


def test_the_overview_shows_client_attorney_status_and_linked_cases(
    admin_client, case, linked_case
):
    page = text(admin_client.get(reverse("cases:case_detail", args=[case.pk])))
    for expected in ("Maria Lopez", "1985-04-12", "555-0100", "Sam Smith", "Open"):
        assert expected in page
    assert linked_case.number in page
    assert reverse("cases:case_unlink", args=[case.pk, linked_case.pk]) in page


def test_editing_a_case(admin_client, case):
    response = admin_client.post(
        reverse("cases:case_edit", args=[case.pk]),
        {
            "name": "Lopez v. Acme Trucking Co.",
            "status": "settled",
            "responsible_attorney": case.responsible_attorney_id,
            "incident_date": "2025-06-02",
        },
        **HX,
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.name, case.status, case.incident_date) == (
        "Lopez v. Acme Trucking Co.",
        "settled",
        dt.date(2025, 6, 2),
    )


def test_a_future_incident_date_is_refused_on_edit(admin_client, case):
    future = (clock.today() + dt.timedelta(days=3)).isoformat()
    with nothing_written():
        response = admin_client.post(
            reverse("cases:case_edit", args=[case.pk]),
            {"name": case.name, "status": "open", "incident_date": future},
            **HX,
        )
    assert response.status_code == 422
    assert "The incident date is in the future" in text(response)


def test_linking_and_unlinking_a_case(admin_client, cfirm, cadmin, case, client_contact):
    other = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Passenger", client_id=client_contact.pk
    )
    form = text(admin_client.get(reverse("cases:case_link", args=[case.pk]), **HX))
    assert f'<option value="{other.number}">' in form
    response = admin_client.post(
        reverse("cases:case_link", args=[case.pk]), {"number": other.number.lower()}, **HX
    )
    assert response.status_code == 200
    assert list(case.linked_cases.all()) == [other]
    assert list(other.linked_cases.all()) == [case]
    response = admin_client.post(reverse("cases:case_unlink", args=[case.pk, other.pk]), **HX)
    assert response.status_code == 200
    assert not case.linked_cases.exists()


def test_a_case_cannot_be_linked_to_itself(admin_client, case):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:case_link", args=[case.pk]), {"number": case.number}, **HX
        )
    assert response.status_code == 422
    assert "A case cannot be linked to itself" in text(response)
    assert 'id="id_number_error"' in text(response)


def test_an_unknown_case_number_is_refused(admin_client, case):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:case_link", args=[case.pk]), {"number": "PI-999999"}, **HX
        )
    assert response.status_code == 422
    assert "No case numbered PI-999999 in this firm." in text(response)


def test_only_linked_cases_can_be_unlinked(admin_client, cfirm, cadmin, case, client_contact):
    other = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Passenger", client_id=client_contact.pk
    )
    assert (
        admin_client.post(reverse("cases:case_unlink", args=[case.pk, other.pk])).status_code == 404
    )


def test_contacts_are_not_left_behind_by_a_refused_case(admin_client, cfirm):
    before = Contact.objects.count()
    admin_client.post(
        reverse("cases:case_new"),
        {"client_name": "X", "name": "", "case_type": CaseType.objects.get(firm=cfirm).pk},
        **HX,
    )
    assert Contact.objects.count() == before
