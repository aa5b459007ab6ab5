"""A periodic job runs once per scheduled period however many workers run it
(casebridge.core.periodic, issue 12 "Many machines").

Every worker's scheduler enqueues each periodic job when its schedule fires; here each
enqueued copy is played by running the job's Huey task (``HUEY.execute``), as a worker
does. The clock is injected (``clock.now``); nothing sleeps."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from huey import crontab
from huey.contrib.djhuey import HUEY

from casebridge.core import clock, periodic
from casebridge.core.models import PeriodicLease
from casebridge.core.tasks import Task, periodic_task
from tests.clockwork import PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 11, 2, 2, 15, 7, tzinfo=dt.UTC)
NIGHTLY = "tests.core.test_periodic.nightly_job"
MINUTELY = "tests.core.test_periodic.minute_job"


@pytest.fixture
def at(monkeypatch):
    def move(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return move


@pytest.fixture
def runs() -> Iterator[tuple[list[str], Task[[], None], Task[[], None]]]:
    """Two periodic jobs of this module (a nightly one at 02:15 and an every-minute one)
    that record their runs; unregistered afterwards."""
    seen: list[str] = []

    def nightly_job() -> None:
        seen.append("nightly")

    def minute_job() -> None:
        seen.append("minute")

    nightly_job.__qualname__ = "nightly_job"
    minute_job.__qualname__ = "minute_job"
    nightly = periodic_task(crontab(hour="2", minute="15"))(nightly_job)
    minutely = periodic_task(crontab(minute="*"))(minute_job)
    try:
        yield seen, nightly, minutely
    finally:
        nightly.unregister()  # type: ignore[attr-defined]
        minutely.unregister()  # type: ignore[attr-defined]


def run_as_worker(task: Task[[], None]) -> None:
    """One enqueued copy of the periodic job, run as a worker runs it."""
    HUEY.execute(task.s())  # type: ignore[attr-defined]


def test_two_runs_in_the_same_period_run_the_job_once(runs, at):
    seen, nightly, minutely = runs
    at(T0)
    run_as_worker(nightly)
    run_as_worker(minutely)
    at(T0 + dt.timedelta(seconds=40))  # the second worker's scheduler, later in the minute
    run_as_worker(nightly)
    run_as_worker(minutely)
    assert seen == ["nightly", "minute"]
    rows = PeriodicLease.objects.order_by("task")
    assert [(r.task, r.period, r.started_at, r.finished_at, r.error) for r in rows] == [
        (MINUTELY, T0.replace(second=0), T0, T0, ""),
        (NIGHTLY, T0.replace(second=0), T0, T0, ""),
    ]
    assert {r.worker for r in rows} == {periodic.WORKER}


def test_the_next_period_runs_again(runs, at):
    seen, nightly, minutely = runs
    at(T0)
    run_as_worker(minutely)
    run_as_worker(nightly)
    at(T0 + dt.timedelta(minutes=1))
    run_as_worker(minutely)
    run_as_worker(nightly)  # still the night's period (02:15): not again
    at(T0 + dt.timedelta(days=1))
    run_as_worker(nightly)
    run_as_worker(nightly)
    assert seen == ["minute", "nightly", "minute", "nightly"]
    assert sorted(PeriodicLease.objects.values_list("task", "period")) == [
        (MINUTELY, dt.datetime(2026, 11, 2, 2, 15, tzinfo=dt.UTC)),
        (MINUTELY, dt.datetime(2026, 11, 2, 2, 16, tzinfo=dt.UTC)),
        (NIGHTLY, dt.datetime(2026, 11, 2, 2, 15, tzinfo=dt.UTC)),
        (NIGHTLY, dt.datetime(2026, 11, 3, 2, 15, tzinfo=dt.UTC)),
    ]


def test_a_nightly_job_started_late_counts_for_its_night(runs, at):
    seen, nightly, _ = runs
    at(dt.datetime(2026, 11, 2, 2, 16, 30, tzinfo=dt.UTC))  # its worker was busy
    run_as_worker(nightly)
    at(dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC))
    run_as_worker(nightly)
    assert seen == ["nightly"]
    assert list(PeriodicLease.objects.values_list("period", flat=True)) == [
        dt.datetime(2026, 11, 2, 2, 15, tzinfo=dt.UTC)
    ]


def test_call_local_runs_at_once_without_a_lease(runs, at):
    seen, nightly, _ = runs
    at(T0)
    nightly.call_local()
    nightly.call_local()
    assert seen == ["nightly", "nightly"]
    assert not PeriodicLease.objects.exists()


def test_a_job_that_raises_keeps_its_period_and_says_why(at):
    calls: list[int] = []

    def failing_job() -> None:
        calls.append(1)
        raise RuntimeError("the books are down")

    failing_job.__qualname__ = "failing_job"
    task = periodic_task(crontab(minute="*"))(failing_job)
    try:
        at(T0)
        run_as_worker(task)  # Huey logs the error; the lease row says it
        run_as_worker(task)
    finally:
        task.unregister()  # type: ignore[attr-defined]
    assert calls == [1]
    row = PeriodicLease.objects.get()
    assert (row.task, row.finished_at, row.error) == (
        "tests.core.test_periodic.failing_job",
        T0,
        "RuntimeError: the books are down",
    )


def test_old_rows_go_and_a_run_that_never_finished_is_reported_once(runs, at, caplog):
    seen, _, minutely = runs
    old = T0 - periodic.KEEP - dt.timedelta(minutes=1)
    PeriodicLease.objects.create(
        task=MINUTELY, period=old, worker="w1", token="a" * 32, started_at=old, finished_at=old
    )
    dead = T0.replace(second=0) - dt.timedelta(hours=2)
    PeriodicLease.objects.create(
        task=MINUTELY, period=dead, worker="w2 pid 7", token="b" * 32, started_at=dead
    )
    recent = T0 - dt.timedelta(minutes=10)  # still running, perhaps: not reported
    PeriodicLease.objects.create(
        task=MINUTELY, period=recent, worker="w3", token="c" * 32, started_at=recent
    )
    other = T0 - periodic.KEEP - dt.timedelta(days=1)  # another job's row: its own run tidies it
    PeriodicLease.objects.create(
        task=NIGHTLY, period=other, worker="w1", token="d" * 32, started_at=other
    )
    with caplog.at_level(logging.WARNING, logger="casebridge.core.periodic"):
        at(T0)
        run_as_worker(minutely)
        at(T0 + dt.timedelta(minutes=1))
        run_as_worker(minutely)
    assert seen == ["minute", "minute"]
    made = PeriodicLease.objects.filter(token__in=["a" * 32, "b" * 32, "c" * 32, "d" * 32])
    assert sorted(made.values_list("token", "error")) == [
        ("b" * 32, "never finished (its worker stopped?)"),
        ("c" * 32, ""),
        ("d" * 32, ""),
    ]
    assert list(
        PeriodicLease.objects.filter(period__gte=T0.replace(second=0))
        .order_by("period")
        .values_list("period", "error")
    ) == [(T0.replace(second=0), ""), (T0.replace(second=0) + dt.timedelta(minutes=1), "")]
    assert [r.getMessage() for r in caplog.records] == [
        f"periodic job {MINUTELY} of 2026-11-02T00:15:00+00:00 started by w2 pid 7 never "
        "finished (its worker stopped?); this run does what is due now"
    ]


def test_every_periodic_job_of_the_project_runs_once_per_period(at):
    """The eleven jobs (sweeps, sync, integrity checks, purges, statistics, the digests'
    compactions, deadline reminders) all go through the lease."""
    at(T0)
    for side in ("books", "bridge", "cases"):  # registered, as the worker finds them
        importlib.import_module(f"casebridge.{side}.tasks")
    tasks = HUEY._registry.periodic_tasks
    names = {f"{type(t).__module__}.{type(t).__name__}" for t in tasks}
    assert names == {
        "casebridge.bridge.tasks.books_sweep",
        "casebridge.bridge.tasks.outbox_sweep",
        "casebridge.bridge.tasks.check_status_sync_hourly",
        "casebridge.bridge.tasks.case_digests_check_nightly",
        "casebridge.bridge.tasks.case_digests_compact_periodic",
        "casebridge.books.tasks.file_digests_compact_periodic",
        "casebridge.books.tasks.ledger_integrity_check_nightly",
        "casebridge.books.tasks.retention_purge_nightly",
        "casebridge.books.tasks.export_jobs_expire_hourly",
        "casebridge.cases.tasks.retention_purge_nightly",
        "casebridge.cases.tasks.deadline_reminders_hourly",
        "casebridge.core.tasks.statistics_refresh_nightly",
    }
    for _ in range(2):  # two workers' schedulers, the same minute
        for task in HUEY._registry.periodic_tasks:
            HUEY.execute(task)
    assert sorted(PeriodicLease.objects.values_list("task", flat=True)) == sorted(names)
    assert not PeriodicLease.objects.exclude(error="").exists()


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_workers_racing_for_one_period_run_it_once(at):
    """Eight threads, each with its own connection, insert the same period's lease at one
    instant (a barrier): the unique constraint lets one through."""
    at(T0)
    ran: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8, timeout=PATIENCE)
    failures: list[BaseException] = []

    def job() -> None:
        with lock:
            ran.append(threading.current_thread().name)

    def worker() -> None:
        try:
            start.wait()
            periodic.once_per_period("race.job", crontab(minute="*"), job)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE)
    assert failures == []
    assert len(ran) == 1
    row = PeriodicLease.objects.get()
    assert (row.task, row.period, row.error) == ("race.job", T0.replace(second=0), "")
    assert row.finished_at == T0
