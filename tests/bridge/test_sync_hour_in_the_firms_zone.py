"""The nightly check-status sync runs at the connection's hour on the firm's own clock,
once a day: on the spring-forward day whose 02:00 never comes it runs at 03:05, and on the
fall-back day whose 01:00 comes twice it runs once."""

from __future__ import annotations

import datetime as dt

from casebridge.bridge.models import Connection, SyncRun, SyncTrigger
from casebridge.bridge.services.status_sync import scheduled_syncs_due
from casebridge.cases.services import firms


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def _ran_at(firm, at: dt.datetime) -> None:
    SyncRun.objects.create(firm=firm, trigger=SyncTrigger.SCHEDULED, state="done", started_at=at)


def test_the_hour_is_the_firms_own_and_daylight_saving_neither_skips_nor_repeats_it(
    books, cases, connected
):
    firms.firm_time_zone_set(firm=cases.firm, actor=cases.admin, time_zone="America/New_York")
    Connection.objects.update(check_sync_hour=2)
    firm_id = cases.firm.pk

    # an ordinary night: 02:05 in New York is 07:05 UTC (EST); 02:05 UTC is not it
    assert scheduled_syncs_due(now=utc(2026, 12, 7, 2, 5)) == []
    assert scheduled_syncs_due(now=utc(2026, 12, 7, 7, 5)) == [firm_id]
    _ran_at(cases.firm, utc(2026, 12, 7, 7, 5))
    assert scheduled_syncs_due(now=utc(2026, 12, 7, 7, 5)) == []  # once a night

    # 8 March 2026: the clocks go from 01:59 EST to 03:00 EDT; 02:00 never comes
    assert scheduled_syncs_due(now=utc(2026, 3, 8, 6, 5)) == []  # 01:05 EST
    assert scheduled_syncs_due(now=utc(2026, 3, 8, 7, 5)) == [firm_id]  # 03:05 EDT

    # 1 November 2026: 01:00 comes twice (EDT, then EST); with the hour set to 1 the sync
    # runs at the first and not at the second
    Connection.objects.update(check_sync_hour=1)
    first, second = utc(2026, 11, 1, 5, 5), utc(2026, 11, 1, 6, 5)
    assert scheduled_syncs_due(now=first) == [firm_id]
    _ran_at(cases.firm, first)
    assert scheduled_syncs_due(now=second) == []


def test_a_firm_without_a_zone_keeps_the_servers(books, cases, connected):
    Connection.objects.update(check_sync_hour=2)
    # 02:05 in Los Angeles (PST) is 10:05 UTC
    assert scheduled_syncs_due(now=utc(2026, 12, 7, 10, 5)) == [cases.firm.pk]
    assert scheduled_syncs_due(now=utc(2026, 12, 7, 7, 5)) == []
