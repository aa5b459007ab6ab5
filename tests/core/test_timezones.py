"""The firm time-zone helpers: names are IANA names, and work in a firm's zone puts the
zone that was back afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from casebridge.core import clock, timezones
from casebridge.core.errors import ValidationFailed


def test_an_iana_name_is_kept_as_typed_without_spaces():
    assert timezones.clean_zone(" America/New_York ") == "America/New_York"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "EST5EDT ; drop", "../etc/passwd"])
def test_anything_else_is_refused_naming_the_field(name):
    with pytest.raises(ValidationFailed) as refused:
        timezones.clean_zone(name)
    assert refused.value.field == "time_zone"
    assert refused.value.message == (
        f"{name.strip()!r} is not a time zone name; use an IANA name such as "
        "America/New_York or America/Los_Angeles"
    )


def test_work_in_a_firms_zone_sees_its_date_and_puts_the_server_zone_back(monkeypatch):
    instant = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: instant)
    assert clock.today() == dt.date(2026, 12, 6)  # Los Angeles, 04:00
    with timezones.firm_zone("Pacific/Kiritimati"):
        assert clock.today() == dt.date(2026, 12, 7)
        with timezones.firm_zone(None):  # no zone of its own: the server's
            assert clock.today() == dt.date(2026, 12, 6)
        assert clock.today() == dt.date(2026, 12, 7)
    assert clock.today() == dt.date(2026, 12, 6)
    assert timezone.get_current_timezone_name() == "America/Los_Angeles"
