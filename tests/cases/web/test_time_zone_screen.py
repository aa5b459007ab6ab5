"""Account Settings -> Time zone on the cases side: set by whoever holds the settings
permission (audited), a wrong name refused with nothing changed."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from casebridge.cases.models import Cost, Firm
from casebridge.cases.services import firms
from casebridge.core.models import AuditEvent
from tests.cases.conftest import cost_code

from .conftest import HX, text

#: 2026-12-06 12:00 UTC: the 6th in Los Angeles, already the 7th in Kiritimati.
NOON_UTC = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def test_an_administrator_sets_the_zone_and_it_is_audited(admin_client, cfirm, cadmin):
    url = reverse("cases:settings_time_zone")
    page = text(admin_client.get(url))
    assert 'aria-current="page">Time zone</a>' in page
    assert "No time zone is set: the server's, America/Los_Angeles, stands for it." in page
    response = admin_client.post(url, {"time_zone": "America/Chicago"})
    assert response.status_code == 302
    assert Firm.objects.get(pk=cfirm.pk).time_zone == "America/Chicago"
    assert "Time zone saved: America/Chicago." in text(admin_client.get(url))
    event = AuditEvent.objects.get(system="cases", entity_type="firm", action="change")
    assert (event.actor_id, event.after) == (cadmin.pk, {"time_zone": "America/Chicago"})


def test_a_wrong_name_is_refused_and_nothing_changes(admin_client, cfirm):
    response = admin_client.post(reverse("cases:settings_time_zone"), {"time_zone": "Nowhere"})
    assert response.status_code == 422
    assert "Select a valid choice. Nowhere is not one of the available choices." in text(response)
    assert Firm.objects.get(pk=cfirm.pk).time_zone is None
    assert not AuditEvent.objects.filter(
        system="cases", entity_type="firm", action="change"
    ).exists()


def test_a_firm_in_kiritimati_may_date_a_cost_on_its_own_today(
    admin_client, cfirm, cadmin, case, payee, monkeypatch
):
    """12:00 UTC on 6 December is the 7th in Kiritimati (UTC+14): its cost dated the 7th
    goes in, where the same cost from a firm on Los Angeles time is dated tomorrow."""
    monkeypatch.setattr(timezone, "now", lambda: NOON_UTC)
    form = {
        "payee": "Records Inc",
        "amount": "125.00",
        "priority": "normal",
        "cost_code": cost_code(cfirm, "E101").pk,
        "cost_date": "2026-12-07",
    }
    new_cost = reverse("cases:cost_new", args=[case.pk])
    assert admin_client.post(new_cost, form, **HX).status_code == 422
    firms.firm_time_zone_set(firm=cfirm, actor=cadmin, time_zone="Pacific/Kiritimati")
    assert admin_client.post(new_cost, form, **HX).status_code == 200
    assert Cost.objects.get(case=case).cost_date == dt.date(2026, 12, 7)
