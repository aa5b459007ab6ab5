"""The deadlines API (issue 16): rules listed, added and changed; the firm's open deadlines
paged by cursor; satisfy; change with a reason; refusals as 4xx JSON naming the field,
with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from casebridge.cases.models import Deadline, LimitationRule
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines
from casebridge.core.models import AuditEvent
from tests.cases.api.conftest import ApiClient, issue


@pytest.fixture
def api(cfirm, cadmin) -> ApiClient:
    return ApiClient(Client(), issue(cfirm, cadmin))


@pytest.fixture
def paralegal_api(cfirm, paralegal) -> ApiClient:
    return ApiClient(Client(), issue(cfirm, paralegal))


@pytest.fixture
def florida_case(cfirm, cadmin, cattorney, client_contact):
    return case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Lopez v. Acme Trucking",
        client_id=client_contact.pk,
        responsible_attorney_id=cattorney.pk,
        incident_date=dt.date(2023, 3, 24),
        jurisdiction_state="FL",
        claim_type="negligence",
        status="open",
    )


def test_the_rules_list_shows_the_seeded_rules(api):
    reply = api.get("/limitation-rules")
    assert reply.status == 200
    assert reply.body["count"] == 3
    florida = [r for r in reply.body["items"] if r["state"] == "FL"]
    assert sorted(
        (r["period_count"], r["effective_from"], r["effective_until"]) for r in florida
    ) == [
        (2, "2023-03-25", None),
        (4, None, "2023-03-24"),
    ]
    assert all(r["verify_with_counsel"] for r in reply.body["items"])


def test_add_and_deactivate_a_rule(api, cfirm):
    reply = api.post(
        "/limitation-rules",
        {
            "state": "NY",
            "claim_type": "negligence",
            "rule_type": "statute",
            "period_count": 3,
            "period_unit": "years",
            "citation": "N.Y. C.P.L.R. 214",
        },
    )
    assert reply.status == 201, reply.body
    assert (reply.body["state"], reply.body["verify_with_counsel"]) == ("NY", True)
    patched = api.patch(f"/limitation-rules/{reply.body['id']}", {"is_active": False})
    assert patched.status == 200
    assert patched.body["is_active"] is False
    assert api.get("/limitation-rules").body["count"] == 3
    assert api.get("/limitation-rules", {"include_inactive": "true"}).body["count"] == 4


def test_a_bad_state_is_422_naming_the_field(api, cfirm):
    reply = api.post(
        "/limitation-rules",
        {
            "state": "1X",
            "claim_type": "negligence",
            "rule_type": "statute",
            "period_count": 3,
            "period_unit": "years",
            "citation": "Somewhere",
        },
    )
    assert reply.status == 422
    assert reply.error["field"] == "state"
    assert LimitationRule.objects.filter(firm=cfirm).count() == 3


def test_a_paralegal_cannot_add_a_rule(paralegal_api, cfirm):
    reply = paralegal_api.post(
        "/limitation-rules",
        {
            "state": "NY",
            "claim_type": "negligence",
            "rule_type": "statute",
            "period_count": 3,
            "period_unit": "years",
            "citation": "N.Y. C.P.L.R. 214",
        },
    )
    assert reply.status == 403
    assert reply.error["code"] == "permission_denied"
    assert LimitationRule.objects.filter(firm=cfirm).count() == 3


def test_the_deadlines_list_pages_by_cursor(api, cfirm, cadmin, florida_case):
    for n in range(5):
        deadlines.deadline_create(
            firm=cfirm,
            actor=cadmin,
            case_id=florida_case.pk,
            title=f"Deadline {n}",
            due_date=dt.date(2027, 1, 1) + dt.timedelta(days=n),
        )
    first = api.get("/deadlines", {"limit": 4})
    assert first.status == 200
    assert [d["title"] for d in first.body["items"]] == [
        "Deadline 0",
        "Deadline 1",
        "Deadline 2",
        "Deadline 3",
    ]
    second = api.get("/deadlines", {"limit": 4, "cursor": first.body["next"]})
    assert [d["title"] for d in second.body["items"]] == [
        "Deadline 4",
        "Statute of limitations: FL negligence, 4 years",
    ]
    assert second.body["next"] is None
    statute = second.body["items"][1]
    assert (statute["due_date"], statute["kind"], statute["verify_with_counsel"]) == (
        "2027-03-24",
        "statute",
        True,
    )
    assert statute["responsible_attorney"]["email"] == "sam.smith@lopez.test"
    assert api.get("/deadlines", {"kind": "statute"}).body["items"][0]["id"] == statute["id"]


def test_a_tampered_cursor_is_422_naming_it(api):
    reply = api.get("/deadlines", {"cursor": "junk"})
    assert reply.status == 422
    assert reply.error["field"] == "cursor"


def test_change_without_a_reason_is_422_and_writes_nothing(api, florida_case):
    statute = Deadline.objects.get(case=florida_case)
    events = AuditEvent.objects.count()
    reply = api.post(f"/deadlines/{statute.pk}/change", {"due_date": "2027-01-01"})
    assert reply.status == 422
    assert reply.error["field"] == "reason"
    statute.refresh_from_db()
    assert statute.due_date == dt.date(2027, 3, 24)
    assert AuditEvent.objects.count() == events


def test_change_with_a_reason_then_satisfy(api, florida_case):
    statute = Deadline.objects.get(case=florida_case)
    changed = api.post(
        f"/deadlines/{statute.pk}/change",
        {"due_date": "2027-03-01", "reason": "File early: counsel's call"},
    )
    assert changed.status == 200
    assert (changed.body["due_date"], changed.body["computed_due_date"]) == (
        "2027-03-01",
        "2027-03-24",
    )
    assert changed.body["set_by_hand"] is True
    satisfied = api.post(
        f"/deadlines/{statute.pk}/satisfy", {"satisfied_on": "2025-01-10", "note": "Filed"}
    )
    assert satisfied.status == 200
    assert (satisfied.body["status"], satisfied.body["satisfied_on"]) == ("satisfied", "2025-01-10")
    again = api.post(f"/deadlines/{statute.pk}/satisfy", {})
    assert again.status == 409


def test_a_case_s_deadlines_and_its_missing_rule(api, cfirm, cadmin, client_contact):
    reply = api.post(
        "/cases",
        {
            "name": "Tex v. Mex",
            "client_id": client_contact.pk,
            "incident_date": "2025-01-05",
            "jurisdiction_state": "TX",
            "claim_type": "negligence",
        },
    )
    assert reply.status == 201, reply.body
    assert (reply.body["jurisdiction_state"], reply.body["claim_type"]) == ("TX", "negligence")
    case_id = reply.body["id"]
    listed = api.get(f"/cases/{case_id}/deadlines")
    assert listed.body == {
        "items": [],
        "findings": ["No rule for TX / negligence: enter the deadline by hand."],
    }
    manual = api.post(
        f"/cases/{case_id}/deadlines", {"title": "Statute (counsel)", "due_date": "2027-01-05"}
    )
    assert manual.status == 201
    assert manual.body["kind"] == "manual"
    patched = api.patch(f"/cases/{case_id}", {"jurisdiction_state": "FL"})
    assert patched.status == 200
    kinds = [d["kind"] for d in api.get(f"/cases/{case_id}/deadlines").body["items"]]
    assert kinds == ["manual", "statute"]


def test_another_firm_s_deadline_is_404(api, florida_case):
    from casebridge.cases.services import firms

    other = firms.firm_create(code="jones-pi", name="Jones Injury Law")
    admin = firms.user_create(
        firm=other,
        actor=None,
        email="a@jones.test",
        password="correct horse battery",
        is_firm_admin=True,
    )
    theirs = ApiClient(Client(), issue(other, admin))
    statute = Deadline.objects.get(case=florida_case)
    assert theirs.post(f"/deadlines/{statute.pk}/satisfy", {}).status == 404
