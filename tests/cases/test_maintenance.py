"""The cases side's nightly purge of idempotency records (cases API and bridge API)."""

from __future__ import annotations

import datetime as dt

from casebridge.cases import tasks
from casebridge.cases.models import IdempotencyRecord
from casebridge.cases.services.maintenance import retention_purge


def _record(firm, key: str, created_at: dt.datetime) -> None:
    IdempotencyRecord.objects.create(
        firm=firm,
        key=key,
        scope="bridge POST /costs/send",
        request_hash="h",
        status_code=202,
        response_body={},
        created_at=created_at,
    )


def test_the_purge_removes_records_older_than_180_days_and_keeps_the_rest(cfirm):
    now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    _record(cfirm, "old", now - dt.timedelta(days=181))
    _record(cfirm, "recent", now - dt.timedelta(days=179))
    assert retention_purge(now=now) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def test_the_worker_runs_the_purge_every_night():
    assert tasks.retention_purge_nightly.task_class().validate_datetime(
        dt.datetime(2026, 11, 26, 3, 40, tzinfo=dt.UTC)
    )
    assert not tasks.retention_purge_nightly.task_class().validate_datetime(
        dt.datetime(2026, 11, 26, 3, 41, tzinfo=dt.UTC)
    )
