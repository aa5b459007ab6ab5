"""Settings -> Time zone: an administrator sets the firm's zone (audited); a name that is
not one is refused under the field with nothing changed; the screens then show "today" on
the firm's clock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.books.models import Firm
from casebridge.core.models import AuditEvent

from .conftest import text
from .test_auth_screens import field_error

#: 2026-12-06 12:00 UTC: the 6th in Los Angeles, already the 7th in Kiritimati.
NOON_UTC = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def url() -> str:
    return reverse("books:settings_time_zone")


def test_the_tab_says_the_servers_zone_stands_for_an_unset_one(admin_client):
    html = text(admin_client.get(url()))
    assert 'aria-current="page">Time zone</a>' in html
    assert "No time zone is set: the server's, America/Los_Angeles, stands for it." in html
    assert '<option value="America/Los_Angeles" selected>' in html


def test_an_administrator_sets_the_zone_and_it_is_audited(admin_client, firm, admin):
    response = admin_client.post(url(), {"time_zone": "America/New_York"})
    assert response.status_code == 302
    assert response["Location"] == url()
    assert Firm.objects.get(pk=firm.pk).time_zone == "America/New_York"
    assert "Time zone saved: America/New_York." in text(admin_client.get(url()))
    event = AuditEvent.objects.get(entity_type="firm", action="change")
    assert (event.actor_id, event.before, event.after) == (
        admin.pk,
        {"time_zone": None},
        {"time_zone": "America/New_York"},
    )


def test_a_name_that_is_not_a_zone_is_refused_under_the_field(admin_client, firm):
    response = admin_client.post(url(), {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    assert "Select a valid choice. Mars/Olympus_Mons is not one of the available choices." in (
        field_error(text(response), "time_zone")
    )
    assert Firm.objects.get(pk=firm.pk).time_zone is None
    assert not AuditEvent.objects.filter(entity_type="firm", action="change").exists()


@pytest.mark.parametrize(
    ("zone", "shown"), [(None, "2026-12-06"), ("Pacific/Kiritimati", "2026-12-07")]
)
def test_the_screens_run_to_the_firms_today(admin_client, firm, trust, monkeypatch, zone, shown):
    Firm.objects.filter(pk=firm.pk).update(time_zone=zone)
    monkeypatch.setattr(timezone, "now", lambda: NOON_UTC)
    html = text(admin_client.get(reverse("books:trust_journal"), {"bank_account": trust.pk}))
    assert f"{trust.name} · to {shown}" in html
