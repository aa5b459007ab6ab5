"""Contacts, users, case types and cases over the API."""

from __future__ import annotations

from casebridge.cases.models import Case, CaseStatus, Contact
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import firms
from tests.cases.api.conftest import db_state, refused
from tests.cases.conftest import PASSWORD


def test_contacts_create_get_and_search(api, cfirm):
    made = api.post(
        "/contacts",
        {
            "name": "  Maria Lopez ",
            "address": "1 Main St\nFresno CA",
            "date_of_birth": "1985-04-12",
            "phone": "555-0100",
            "email": "maria@example.test",
        },
    )
    assert made.status == 201
    assert made.body == {
        "id": made.body["id"],
        "name": "Maria Lopez",
        "address": "1 Main St\nFresno CA",
        "date_of_birth": "1985-04-12",
        "phone": "555-0100",
        "email": "maria@example.test",
        "is_medical_provider": False,
    }
    assert api.get(f"/contacts/{made.body['id']}").body == made.body
    api.post("/contacts", {"name": "Acme Insurance"})
    found = api.get("/contacts", {"q": "lopez"})
    assert [c["name"] for c in found.body["items"]] == ["Maria Lopez"]
    by_phone = api.get("/contacts", {"q": "0100"})
    assert [c["name"] for c in by_phone.body["items"]] == ["Maria Lopez"]
    first = api.get("/contacts", {"limit": 1})
    assert [c["name"] for c in first.body["items"]] == ["Acme Insurance"]
    rest = api.get("/contacts", {"limit": 1, "cursor": first.body["next"]})
    assert ([c["name"] for c in rest.body["items"]], rest.body["next"]) == (["Maria Lopez"], None)


def test_contact_refusals(api):
    before = db_state()
    future = api.post("/contacts", {"name": "Baby", "date_of_birth": "2999-01-01"})
    refused(
        future, 422, "validation_error", "the date of birth is in the future", field="date_of_birth"
    )
    blank = api.post("/contacts", {"name": "   "})
    refused(blank, 422, "validation_error", "name:", field="name")
    email = api.post("/contacts", {"name": "X", "email": "not an email"})
    refused(email, 422, "validation_error", "email:", field="email")
    assert db_state() == before


def test_users_and_case_types(api, cadmin, cattorney, paralegal):
    attorneys = api.get("/users", {"is_attorney": "true"})
    assert [u["email"] for u in attorneys.body["items"]] == ["sam.smith@lopez.test"]
    assert attorneys.body["items"][0]["permissions"] == []
    assert api.get("/users").body["count"] == 3
    types = api.get("/case-types")
    assert [(t["name"], t["is_default"]) for t in types.body["items"]] == [
        ("Personal Injury", True)
    ]


def test_open_a_case_and_read_it(api, cfirm, client_contact, cattorney):
    made = api.post(
        "/cases",
        {
            "name": "Lopez v. Acme Trucking",
            "client_id": client_contact.pk,
            "responsible_attorney_id": cattorney.pk,
            "incident_date": "2025-06-01",
            "status": "open",
            "opened_on": "2026-01-05",
        },
    )
    assert made.status == 201
    body = made.body
    assert body["number"] == "PI-000001"
    assert body["client"] == {"id": client_contact.pk, "name": "Maria Lopez"}
    assert body["case_type"]["name"] == "Personal Injury"
    assert body["responsible_attorney"] == {
        "id": cattorney.pk,
        "name": "Sam Smith",
        "email": "sam.smith@lopez.test",
    }
    assert (body["status"], body["opened_on"], body["linked_cases"]) == ("open", "2026-01-05", [])
    assert body["settlement"]["net_to_client"] == "0.00"
    assert api.get(f"/cases/{body['id']}").body == body


def test_a_case_needs_an_attorney_who_is_one(api, client_contact, paralegal):
    before = db_state()
    reply = api.post(
        "/cases",
        {"name": "X", "client_id": client_contact.pk, "responsible_attorney_id": paralegal.pk},
    )
    refused(
        reply,
        422,
        "validation_error",
        "Pat Paralegal is not an attorney",
        field="responsible_attorney",
    )
    future = api.post(
        "/cases", {"name": "X", "client_id": client_contact.pk, "incident_date": "2999-01-01"}
    )
    refused(future, 422, "validation_error", "the incident date is in the future")
    assert db_state() == before


def test_list_cases_with_filters(api, cfirm, cadmin, case, client_contact, cattorney):
    other = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Lopez v. Other", client_id=client_contact.pk
    )
    everything = api.get("/cases")
    assert [c["id"] for c in everything.body["items"]] == [other.pk, case.pk]
    assert api.get("/cases", {"status": "open"}).body["items"][0]["id"] == case.pk
    by_attorney = api.get("/cases", {"attorney_id": cattorney.pk})
    assert [c["id"] for c in by_attorney.body["items"]] == [case.pk]
    assert [c["id"] for c in api.get("/cases", {"q": "other"}).body["items"]] == [other.pk]
    assert api.get("/cases", {"status": "closed"}).body == {"items": [], "next": None}
    bad = api.get("/cases", {"status": "archived"})
    assert (bad.status, bad.error["field"]) == (422, "status")


def test_change_status_and_attorney(api, cfirm, case):
    partner = firms.user_create(
        firm=cfirm,
        actor=None,
        email="lee@lopez.test",
        password=PASSWORD,
        first_name="Lee",
        is_attorney=True,
    )
    reply = api.patch(
        f"/cases/{case.pk}", {"status": "settled", "responsible_attorney_id": partner.pk}
    )
    assert reply.status == 200
    assert (reply.body["status"], reply.body["responsible_attorney"]["id"]) == (
        "settled",
        partner.pk,
    )
    assert Case.objects.get().status == CaseStatus.SETTLED
    before = db_state()
    nulled = api.patch(f"/cases/{case.pk}", {"status": None})
    assert (nulled.status, nulled.error["field"]) == (422, "status")
    assert db_state() == before


def test_link_and_unlink_cases(api, cfirm, cadmin, case, client_contact):
    other = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Passenger", client_id=client_contact.pk
    )
    linked = api.post(f"/cases/{case.pk}/links", {"case_id": other.pk})
    assert linked.status == 200
    assert [c["id"] for c in linked.body["linked_cases"]] == [other.pk]
    assert [c["id"] for c in api.get(f"/cases/{other.pk}").body["linked_cases"]] == [case.pk]

    before = db_state()
    itself = api.post(f"/cases/{case.pk}/links", {"case_id": case.pk})
    refused(itself, 422, "validation_error", "a case cannot be linked to itself")
    assert db_state() == before

    unlinked = api.delete(f"/cases/{case.pk}/links/{other.pk}")
    assert (unlinked.status, unlinked.body["linked_cases"]) == (200, [])
    before = db_state()
    again = api.delete(f"/cases/{case.pk}/links/{other.pk}")
    refused(
        again,
        404,
        "not_found",
        f"case {other.pk} is not linked to case {case.number}",
        field="other_case_id",
    )
    assert db_state() == before
    assert Contact.objects.count() == 1
