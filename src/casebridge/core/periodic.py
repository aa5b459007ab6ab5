"""Each periodic job runs once per scheduled period, however many workers run.

Every ``manage.py run_huey`` process has its own scheduler, and each one enqueues every
periodic job when its schedule fires: with workers on N machines sharing one Redis queue,
the job is enqueued N times. :func:`once_per_period` (which ``core.tasks.periodic_task``
wraps around every periodic job) lets only the first of them run: it inserts a
:class:`~casebridge.core.models.PeriodicLease` row keyed (job, period) with INSERT ... ON
CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite: ``bulk_create(ignore_conflicts=True)``; the
unique constraint decides, so two workers inserting at the same instant cannot both win),
and runs the job only when the row it reads back carries its own token. The others skip it.

- **The period** is the latest minute, at or before the moment the job starts, at which its
  schedule fires (read on Huey's clock: UTC). A nightly job that starts a little late (its
  worker was busy) still counts for that night; an every-minute sweep counts for the minute
  it starts in.
- **A runner that dies mid-run** (killed, machine lost) keeps its period: nobody runs the
  job again for that period (no later enqueue of the same period arrives to take it over,
  and a live run cannot be told from a dead one without a heartbeat). The job runs again
  at its next period, and each job does whatever is due when it runs (the sweeps take up
  whatever is due, the purge deletes everything past retention, the integrity check checks
  every firm), so the next run covers what the dead one left; a firm whose nightly
  check-status sync was lost gets it the next night, or on demand from its screen. The row
  stays without ``finished_at``; the job's next run marks such a row ``error`` = "never
  finished" once it is an hour old, and logs a warning, so an operator sees it.
- **A job that raises** keeps its period too (it is not retried in that period); the error
  is written on the row and raised on to Huey, which logs it.
- **Old rows** (a week past their period) are deleted by the job's own next run.
- ``call_local`` (the tests, a command) runs the job at once, without a lease: only the
  schedule's runs are counted.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import TypeVar

from casebridge.core import clock
from casebridge.core.models import PeriodicLease

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Rows are kept this long after their period (an operator sees last week's runs).
KEEP = dt.timedelta(days=7)
#: A run still unfinished this long after it started is reported as never finished.
ABANDONED_AFTER = dt.timedelta(hours=1)
#: How far back the period's start is looked for; a schedule that fired nowhere in it
#: (rarer than weekly) counts the minute the job starts in.
LOOKBACK_MINUTES = 8 * 24 * 60

#: This process, as the rows name it: the machine and the process id.
WORKER = f"{socket.gethostname()} pid {os.getpid()}"


def period_of(
    schedule: Callable[[dt.datetime], bool], now: dt.datetime, *, utc: bool = True
) -> dt.datetime:
    """The start of the period ``now`` falls in (UTC, to the minute): the latest minute at
    or before ``now`` at which ``schedule`` fires. Huey evaluates its crontabs on naive UTC
    times (``utc=True``, its default) or naive local times."""
    minute = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    for back in range(LOOKBACK_MINUTES):
        moment = minute - dt.timedelta(minutes=back)
        naive = moment if utc else moment.astimezone()
        if schedule(naive.replace(tzinfo=None)):
            return moment
    return minute


def take(task: str, period: dt.datetime, now: dt.datetime) -> str | None:
    """The lease of ``task`` for ``period``: this run's token when it is the first to ask,
    None when another run has it. One INSERT that a racing one cannot also win."""
    token = uuid.uuid4().hex
    PeriodicLease.objects.bulk_create(
        [PeriodicLease(task=task, period=period, worker=WORKER, token=token, started_at=now)],
        ignore_conflicts=True,
    )
    if PeriodicLease.objects.filter(task=task, period=period, token=token).exists():
        return token
    return None


def _tidy(task: str, now: dt.datetime) -> None:
    """The job's old rows go; its runs that never finished are reported, once each."""
    PeriodicLease.objects.filter(task=task, period__lt=now - KEEP).delete()
    abandoned = list(
        PeriodicLease.objects.filter(
            task=task, finished_at__isnull=True, error="", started_at__lt=now - ABANDONED_AFTER
        ).values_list("pk", "period", "worker")
    )
    for pk, period, worker in abandoned:
        log.warning(
            "periodic job %s of %s started by %s never finished (its worker stopped?); "
            "this run does what is due now",
            task,
            period.isoformat(),
            worker,
            extra={"periodic_task": task, "periodic_period": period.isoformat()},
        )
        PeriodicLease.objects.filter(pk=pk, finished_at__isnull=True).update(
            error="never finished (its worker stopped?)"
        )


def _finish(token: str, error: str) -> None:
    PeriodicLease.objects.filter(token=token).update(finished_at=clock.now(), error=error[:500])


def once_per_period(
    task: str, schedule: Callable[[dt.datetime], bool], fn: Callable[[], R], *, utc: bool = True
) -> R | None:
    """Run ``fn`` if this is the first run of ``task`` for the current period of
    ``schedule``; None without running it otherwise."""
    now = clock.now()
    period = period_of(schedule, now, utc=utc)
    token = take(task, period, now)
    if token is None:
        log.debug("periodic job %s of %s: another worker runs it", task, period.isoformat())
        return None
    _tidy(task, now)
    try:
        result = fn()
    except BaseException as exc:
        _finish(token, f"{type(exc).__name__}: {exc}")
        raise
    _finish(token, "")
    return result
