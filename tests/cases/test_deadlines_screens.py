"""The deadlines screens (issue 16): the firm-wide list with filters and pages, the Satisfy
and Change pop-ups, a case's Deadlines tab, Account Settings -> Limitation rules, and the
Home page's card and reminders."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.cases.models import Deadline, DeadlineStatus, LimitationRule
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines
from casebridge.core.models import AuditEvent
from tests.cases.web.conftest import HX, sign_in, text


@pytest.fixture
def admin_client(cadmin) -> Client:
    return sign_in(Client(), cadmin)


@pytest.fixture
def florida_case(cfirm, cadmin, cattorney, client_contact):
    return case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Lopez v. Acme Trucking",
        client_id=client_contact.pk,
        responsible_attorney_id=cattorney.pk,
        incident_date=dt.date(2025, 6, 1),
        jurisdiction_state="FL",
        claim_type="negligence",
        status="open",
    )


def add(firm, actor, case, title: str, due: dt.date) -> Deadline:
    return deadlines.deadline_create(
        firm=firm, actor=actor, case_id=case.pk, title=title, due_date=due
    )


def row_titles(page: str) -> list[str]:
    return [t.strip() for t in re.findall(r'<td data-label="Deadline">([^<]+)', page)]


def test_the_deadlines_screen_lists_open_deadlines_soonest_first(
    admin_client, cfirm, cadmin, florida_case, today
):
    add(cfirm, cadmin, florida_case, "Expert disclosure", today + dt.timedelta(days=10))
    add(cfirm, cadmin, florida_case, "Mediation statement", today - dt.timedelta(days=2))
    response = admin_client.get(reverse("cases:deadlines"))
    assert response.status_code == 200
    page = text(response)
    assert row_titles(page) == [
        "Mediation statement",
        "Expert disclosure",
        "Statute of limitations: FL negligence, 2 years",
    ]
    assert "2 days overdue" in page
    assert "10 days" in page
    assert page.count(">Verify with counsel</span>") == 1  # the computed statute only
    assert 'href="/cases/deadlines/" aria-current="page">Deadlines</a>' in page


def test_the_filters_narrow_the_list(
    admin_client, cfirm, cadmin, florida_case, client_contact, today
):
    add(cfirm, cadmin, florida_case, "Expert disclosure", today + dt.timedelta(days=10))
    add(cfirm, cadmin, florida_case, "Mediation statement", today - dt.timedelta(days=2))
    no_attorney = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Doe v. Roe", client_id=client_contact.pk
    )
    add(cfirm, cadmin, no_attorney, "Answer due", today + dt.timedelta(days=20))
    url = reverse("cases:deadlines")
    attorney = florida_case.responsible_attorney_id
    assert row_titles(text(admin_client.get(url, {"overdue": "on"}))) == ["Mediation statement"]
    assert row_titles(text(admin_client.get(url, {"within": "30"}))) == [
        "Mediation statement",
        "Expert disclosure",
        "Answer due",
    ]
    assert row_titles(text(admin_client.get(url, {"kind": "statute"}))) == [
        "Statute of limitations: FL negligence, 2 years"
    ]
    assert row_titles(text(admin_client.get(url, {"attorney": attorney, "within": "30"}))) == [
        "Mediation statement",
        "Expert disclosure",
    ]


def test_the_list_pages_by_cursor(admin_client, cfirm, cadmin, florida_case, today):
    for n in range(55):
        add(cfirm, cadmin, florida_case, f"Deadline {n:02d}", today + dt.timedelta(days=n))
    first = text(admin_client.get(reverse("cases:deadlines"), {"kind": "manual"}))
    assert row_titles(first) == [f"Deadline {n:02d}" for n in range(50)]
    next_url = re.search(r'href="(\?[^"]+)" rel="next"', first)
    assert next_url is not None
    second = text(
        admin_client.get(reverse("cases:deadlines") + next_url.group(1).replace("&amp;", "&"))
    )
    assert row_titles(second) == [f"Deadline {n:02d}" for n in range(50, 55)]
    assert 'rel="next"' not in second
    assert ">First page</a>" in second
    for cursor in ("junk", "A" * 1001, "abc\x00def"):  # longer than any cursor; a NUL
        junk = admin_client.get(reverse("cases:deadlines"), {"kind": "manual", "cursor": cursor})
        assert junk.status_code == 200
        assert row_titles(text(junk))[0] == "Deadline 00"


def test_satisfy_in_the_pop_up(admin_client, cfirm, cadmin, florida_case, today):
    deadline = add(cfirm, cadmin, florida_case, "Expert disclosure", today + dt.timedelta(days=3))
    url = reverse("cases:deadline_satisfy", args=[deadline.pk])
    assert admin_client.get(url, **HX).status_code == 200
    response = admin_client.post(url, {"satisfied_on": today.isoformat(), "note": "Served"}, **HX)
    assert response.status_code in (200, 204)
    deadline.refresh_from_db()
    assert (deadline.status, deadline.satisfied_on, deadline.satisfied_note) == (
        DeadlineStatus.SATISFIED,
        today,
        "Served",
    )
    assert deadline.satisfied_by == cadmin


def test_a_next_with_a_newline_satisfies_and_returns_to_the_case_s_deadlines(
    admin_client, cfirm, cadmin, florida_case, today
):
    deadline = add(cfirm, cadmin, florida_case, "Expert disclosure", today + dt.timedelta(days=3))
    back = reverse("cases:case_deadlines", args=[florida_case.pk])
    # was: the deadline satisfied, then a 500 (a newline in the HX-Redirect header)
    response = admin_client.post(
        reverse("cases:deadline_satisfy", args=[deadline.pk]),
        {
            "satisfied_on": today.isoformat(),
            "note": "Served",
            "next": reverse("cases:deadlines") + "\nSet-Cookie: x=1",
        },
        **HX,
    )
    assert (response.status_code, response["HX-Redirect"]) == (200, back)
    assert "Set-Cookie" not in response.headers
    deadline.refresh_from_db()
    assert (deadline.status, deadline.satisfied_note) == (DeadlineStatus.SATISFIED, "Served")
    # "Mark all read" on Home, sent a next with a carriage return: Home
    home = reverse("cases:dashboard")
    read = admin_client.post(reverse("cases:reminders_read"), {"next": home + "\r"})
    assert (read.status_code, read["Location"]) == (302, home)


def test_a_change_without_a_reason_is_refused_beside_the_field(
    admin_client, cfirm, cadmin, florida_case, today
):
    deadline = add(cfirm, cadmin, florida_case, "Expert disclosure", today + dt.timedelta(days=3))
    events = AuditEvent.objects.count()
    response = admin_client.post(
        reverse("cases:deadline_change", args=[deadline.pk]),
        {"due_date": (today + dt.timedelta(days=9)).isoformat(), "reason": ""},
        **HX,
    )
    assert response.status_code == 422
    assert "Say why the due date changes" in text(response)
    deadline.refresh_from_db()
    assert deadline.due_date == today + dt.timedelta(days=3)
    assert AuditEvent.objects.count() == events


def test_a_change_with_a_reason_moves_the_date(admin_client, cfirm, cadmin, florida_case, today):
    deadline = add(cfirm, cadmin, florida_case, "Expert disclosure", today + dt.timedelta(days=3))
    response = admin_client.post(
        reverse("cases:deadline_change", args=[deadline.pk]),
        {"due_date": (today + dt.timedelta(days=9)).isoformat(), "reason": "Stipulated"},
        **HX,
    )
    assert response.status_code in (200, 204)
    deadline.refresh_from_db()
    assert deadline.due_date == today + dt.timedelta(days=9)


def test_the_case_tab_says_when_no_rule_applies(admin_client, cfirm, cadmin, client_contact):
    case = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Tex v. Mex",
        client_id=client_contact.pk,
        incident_date=dt.date(2025, 1, 5),
        jurisdiction_state="TX",
        claim_type="negligence",
    )
    page = text(admin_client.get(reverse("cases:case_deadlines", args=[case.pk])))
    assert "No rule for TX / negligence: enter the deadline by hand." in page
    assert "No deadlines yet." in page


def test_the_case_tab_shows_the_rule_and_its_citation(admin_client, florida_case):
    page = text(admin_client.get(reverse("cases:case_deadlines", args=[florida_case.pk])))
    assert "§ 95.11(4)(a), Fla. Stat., as amended by ch. 2023-15" in page
    assert "1 Jun 2027" in page or "Jun 1, 2027" in page or "2027-06-01" in page


def test_editing_the_case_s_state_and_claim_computes_the_statute(
    admin_client, cfirm, cadmin, client_contact
):
    case = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Cal v. Ifornia",
        client_id=client_contact.pk,
        incident_date=dt.date(2024, 2, 29),
    )
    response = admin_client.post(
        reverse("cases:case_edit", args=[case.pk]),
        {
            "name": case.name,
            "status": case.status,
            "incident_date": "2024-02-29",
            "jurisdiction_state": "ca",
            "claim_type": "negligence",
            "tolling_notes": "Client was a minor until 2025-01-01.",
        },
        **HX,
    )
    assert response.status_code in (200, 204)
    case.refresh_from_db()
    assert (case.jurisdiction_state, case.tolling_notes) == (
        "CA",
        "Client was a minor until 2025-01-01.",
    )
    assert Deadline.objects.get(case=case).due_date == dt.date(2026, 2, 28)


def test_a_bad_state_is_named_beside_its_field(admin_client, cfirm, cadmin, client_contact):
    case = case_services.case_create(
        firm=cfirm, actor=cadmin, name="X v. Y", client_id=client_contact.pk
    )
    response = admin_client.post(
        reverse("cases:case_edit", args=[case.pk]),
        {"name": case.name, "status": case.status, "jurisdiction_state": "1X"},
        **HX,
    )
    assert response.status_code == 422
    assert 'id="id_jurisdiction_state_error"' in text(response)


def test_home_shows_the_card_and_the_attorney_s_reminders(
    cfirm, cadmin, cattorney, florida_case, today
):
    add(cfirm, cadmin, florida_case, "Expert disclosure", today + dt.timedelta(days=6))
    add(cfirm, cadmin, florida_case, "Mediation", today - dt.timedelta(days=1))
    deadlines.deadline_reminders_send(today=today)
    client = sign_in(Client(), cattorney)
    page = text(client.get(reverse("cases:dashboard")))
    card = re.search(r'id="stat-deadlines">(.*?)</a>', page, re.S)
    assert card is not None
    assert "Deadlines in the next 90 days" in card.group(1)
    assert '<span class="stat-value">1</span>' in card.group(1)
    assert "1 overdue" in card.group(1)
    assert "Your deadline reminders (1 unread)" in page
    assert "7 days:</strong> Expert disclosure" in page
    client.post(reverse("cases:reminders_read"))
    assert "Your deadline reminders" not in text(client.get(reverse("cases:dashboard")))


def test_the_rules_screen_adds_and_retires_a_rule(admin_client, cfirm):
    page = text(admin_client.get(reverse("cases:limitation_rules")))
    assert "Cal. Civ. Proc. Code § 335.1" in page
    response = admin_client.post(
        reverse("cases:limitation_rule_new"),
        {
            "state": "ny",
            "claim_type": "negligence",
            "rule_type": "statute",
            "period_count": "3",
            "period_unit": "years",
            "citation": "N.Y. C.P.L.R. 214",
            "verify_with_counsel": "on",
        },
        **HX,
    )
    assert response.status_code in (200, 204)
    rule = LimitationRule.objects.get(firm=cfirm, state="NY")
    assert (rule.period_count, rule.verify_with_counsel, rule.is_active) == (3, True, True)
    admin_client.post(
        reverse("cases:limitation_rule_edit", args=[rule.pk]),
        {
            "state": "NY",
            "claim_type": "negligence",
            "rule_type": "statute",
            "period_count": "3",
            "period_unit": "years",
            "citation": "N.Y. C.P.L.R. 214",
            "verify_with_counsel": "on",
        },
        **HX,
    )
    rule.refresh_from_db()
    assert rule.is_active is False


def test_a_paralegal_cannot_open_the_rules(paralegal):
    client = sign_in(Client(), paralegal)
    response = client.get(reverse("cases:limitation_rules"))
    assert response.status_code in (302, 403)
    assert client.get(reverse("cases:deadlines")).status_code == 200
