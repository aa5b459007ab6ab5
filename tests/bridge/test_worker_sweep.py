"""The worker's side of what requests ask of the books (ADR 0008): each queued run is done
once, the minute sweep asks again for what a lost enqueue left and fails what a dead
worker left running, and every connection is read again on its period. The clock is
injected; nothing sleeps."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from casebridge.bridge.models import (
    Connection,
    ReconciliationRun,
    RunState,
    SyncRun,
    SyncTrigger,
)
from casebridge.bridge.services import jobs, status_sync, worker
from casebridge.core import clock


def _asked(monkeypatch) -> list[tuple[str, int]]:
    """What is asked of the task engine from now on (instead of enqueuing it)."""
    asked: list[tuple[str, int]] = []
    monkeypatch.setattr(worker, "_enqueue", lambda work, ident: asked.append((work, ident)))
    return asked


def test_a_queued_sync_is_done_once_whoever_takes_it(books, cases, connected):
    run = status_sync.sync_request(firm=cases.firm, actor=cases.admin)
    assert (run.state, run.finished_at) == (RunState.QUEUED, None)
    done = status_sync.sync_run_execute(run_id=run.pk)
    assert done is not None
    assert (done.state, done.error) == (RunState.DONE, "")
    assert status_sync.sync_run_execute(run_id=run.pk) is None  # a second worker: nothing
    assert SyncRun.objects.filter(trigger=SyncTrigger.MANUAL).count() == 1


def test_the_sweep_reads_each_connection_again_on_its_period(books, cases, connected, monkeypatch):
    asked = _asked(monkeypatch)
    read = Connection.objects.get().readiness_checked_at
    assert read is not None
    monkeypatch.setattr(clock, "now", lambda: read + dt.timedelta(seconds=60))
    jobs.sweep()
    assert asked == []  # read a minute ago: nothing to do
    later = read + dt.timedelta(seconds=settings.BRIDGE_REFRESH_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    jobs.sweep()
    assert asked == [("refresh", cases.firm.pk)]
    assert Connection.objects.get().refresh_requested_at == later
    jobs.run_pending(firm_id=cases.firm.pk)
    conn = Connection.objects.get()
    assert (conn.readiness_checked_at, conn.refresh_requested_at) == (later, None)


def test_the_sweep_asks_again_for_work_whose_enqueue_was_lost(books, cases, connected, monkeypatch):
    asked = _asked(monkeypatch)
    run = status_sync.sync_request(firm=cases.firm, actor=cases.admin)
    assert asked == [("sync", run.pk)]  # when the request committed
    asked.clear()
    jobs.sweep()
    assert asked == []  # just asked: its task is on its way
    monkeypatch.setattr(clock, "now", lambda: run.started_at + jobs.LOST_AFTER)
    jobs.sweep()
    assert asked == [("sync", run.pk)]


def test_the_sweep_fails_a_run_a_dead_worker_left_running(books, cases, connected, monkeypatch):
    started = clock.now()
    run = ReconciliationRun.objects.create(
        firm=cases.firm,
        trigger=SyncTrigger.MANUAL,
        state=RunState.RUNNING,
        started_by=cases.admin,
        started_at=started,
    )
    monkeypatch.setattr(clock, "now", lambda: started + jobs.INTERRUPTED_AFTER)
    jobs.sweep()
    run.refresh_from_db()
    assert run.state == RunState.RUNNING  # not yet
    gone = started + jobs.INTERRUPTED_AFTER + dt.timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: gone)
    jobs.sweep()
    run.refresh_from_db()
    assert (run.state, run.error, run.finished_at) == (
        RunState.FAILED,
        "Interrupted: the worker stopped while it ran this. Ask again.",
        gone,
    )
