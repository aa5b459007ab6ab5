"""The bridge's background work on Huey (ADR 0002, ADR 0005, ADR 0008). Only here does
the bridge call the books: every task runs as the worker (``client.worker``), even when
Huey's immediate mode runs it inside a web request.

- :func:`outbox_deliver_task`: one delivery run for a firm, enqueued when a send commits
  and when a retry falls due. Runs of one firm never overlap (a lease on the connection,
  see ``delivery._take_run``); a second one ends at once, since the first keeps going
  until nothing is due.
- :func:`outbox_watchdog`: set by a run when it claims; follows the run's lease and takes
  over what it holds a second after the lease runs out, should its worker have died
  (worst case: one lease, 60 s by default, instead of the lease and the next sweep).
- :func:`outbox_sweep`: every minute, a run for each firm with something due (what a
  lost enqueue left behind, backoffs that expired; a backstop for a lost watchdog).
- :func:`books_work_task`: what a web request asked of the books (a sign-in, a readiness
  refresh, a check-status sync, a reconciliation, a withdrawal's check, the three-way
  reconciliation, the files' trust balances), enqueued when its transaction commits.
- :func:`books_sweep`: every minute, the periodic readiness refresh of every connection,
  and what a lost enqueue or a dead worker left (see ``jobs.sweep``).
- :func:`check_status_sync_hourly`: each hour, the check-status sync of the firms whose
  configured hour it is (nightly at 02:00 by default), followed by the firm's
  reconciliation, so that it compares fresh statuses.
- :func:`case_digests_check_nightly`: each night, every firm's case digests against a full
  recomputation (the books' ledger integrity check does the same for the file digests); a
  drift is recorded as a failed reconciliation run and logged (ADR 0032).
- :func:`case_digests_compact_periodic`: every five minutes, the case digests' deltas
  folded into the kept rows (ADR 0035).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager

from django.db.models import Q
from huey import crontab

from casebridge.bridge.client import worker
from casebridge.bridge.models import (
    Connection,
    OutboxItem,
    OutboxState,
    SyncTrigger,
)
from casebridge.bridge.services import jobs
from casebridge.bridge.services import worker as worker_services
from casebridge.bridge.services.delivery import (
    outbox_deliver,
    outbox_watch,
    set_enqueuer,
    set_watcher,
)
from casebridge.bridge.services.reconciliation import (
    case_digests_check,
    case_digests_compact,
    reconciliation_run,
)
from casebridge.bridge.services.status_sync import check_status_sync, scheduled_syncs_due
from casebridge.bridge.services.worker import Work
from casebridge.cases.models import Firm
from casebridge.core import clock, timezones
from casebridge.core.tasks import background_task, periodic_task

log = logging.getLogger(__name__)


def _zone_of_firm(firm_id: int | None) -> AbstractContextManager[None]:
    """A firm's work runs in its time zone: "today" is the firm's (core/timezones.py)."""
    if firm_id is None:
        return timezones.firm_zone(None)
    zone = Firm.objects.filter(pk=firm_id).values_list("time_zone", flat=True).first()
    return timezones.firm_zone(zone)


@background_task()
def outbox_deliver_task(firm_id: int) -> None:
    with worker(), _zone_of_firm(firm_id):
        report = outbox_deliver(firm_id=firm_id)
    if report.passes:
        log.info(
            "bridge delivery firm=%s sent=%s failed=%s retrying=%s waiting=%s",
            firm_id,
            report.sent,
            report.failed,
            report.retrying,
            report.waiting,
        )


def _enqueue(firm_id: int, delay: float | None) -> None:
    if delay:
        outbox_deliver_task.schedule((firm_id,), delay=delay)  # type: ignore[attr-defined]
    else:
        outbox_deliver_task(firm_id)


set_enqueuer(_enqueue)


@background_task()
def outbox_watchdog(firm_id: int) -> None:
    """Set by a delivery run when it claims: follows its lease, and takes over what it
    holds a second after the lease runs out should its worker have died."""
    with worker():
        delay = outbox_watch(firm_id=firm_id)
    if delay is not None:
        outbox_watchdog.schedule((firm_id,), delay=delay)  # type: ignore[attr-defined]


def _watch(firm_id: int, delay: float) -> None:
    outbox_watchdog.schedule((firm_id,), delay=delay)  # type: ignore[attr-defined]


set_watcher(_watch)


@background_task()
def books_work_task(work: Work, ident: int) -> None:
    with worker(), _zone_of_firm(jobs.firm_of(work, ident)):
        jobs.run(work, ident)


def _ask(work: Work, ident: int) -> None:
    books_work_task(work, ident)


worker_services.set_enqueuer(_ask)


@periodic_task(crontab(minute="*"))
def books_sweep() -> None:
    with worker():
        jobs.sweep()


@periodic_task(crontab(minute="*"))
def outbox_sweep() -> None:
    now = clock.now()
    firms = (
        OutboxItem.objects.filter(
            Q(state=OutboxState.QUEUED, next_attempt_at__lte=now)
            | Q(state=OutboxState.SENDING, lease_until__lte=now)
        )
        .values_list("firm_id", flat=True)
        .distinct()
    )
    for firm_id in firms:
        outbox_deliver_task(firm_id)


@background_task()
def check_status_sync_task(firm_id: int) -> None:
    with worker(), _zone_of_firm(firm_id):
        _sync_and_reconcile(firm_id)


def _sync_and_reconcile(firm_id: int) -> None:
    conn = Connection.objects.select_related("firm").get(firm_id=firm_id)
    run = check_status_sync(firm=conn.firm, trigger=SyncTrigger.SCHEDULED)
    log.info(
        "check status sync firm=%s checked=%s paid=%s voided=%s problems=%s error=%s",
        firm_id,
        run.checked,
        run.paid,
        run.voided,
        run.problems,
        run.error or "-",
    )
    rec = reconciliation_run(firm=conn.firm, trigger=SyncTrigger.SCHEDULED)
    log.info(
        "reconciliation firm=%s cases=%s documents=%s differences=%s error=%s",
        firm_id,
        rec.cases_compared,
        rec.documents_compared,
        rec.differences,
        rec.error or "-",
    )


@periodic_task(crontab(minute="5"))
def check_status_sync_hourly() -> None:
    for firm_id in scheduled_syncs_due(now=clock.now()):
        check_status_sync_task(firm_id)


@background_task()
def case_digests_check_firm(firm_id: int) -> bool:
    """One firm's case digests checked (True when clean)."""
    firm = Firm.objects.get(pk=firm_id)
    return case_digests_check(firm=firm) is None


@periodic_task(crontab(hour="2", minute="35"))
def case_digests_check_nightly() -> None:
    for firm_id in Firm.objects.order_by("pk").values_list("pk", flat=True):
        case_digests_check_firm(firm_id)


@periodic_task(crontab(minute="*/5"))
def case_digests_compact_periodic() -> None:
    folded = case_digests_compact()
    log.info("case digests compacted: %s deltas folded", "-" if folded is None else folded)
