"""The cases side's background work on Huey (ADR 0002): the nightly retention purge of the
idempotency records its API and the bridge's API keep, and the hourly deadline reminders.
Run by `manage.py run_huey`."""

from __future__ import annotations

import logging

from huey import crontab

from casebridge.cases.services.deadlines import deadline_reminders_send
from casebridge.cases.services.maintenance import retention_purge
from casebridge.core.tasks import periodic_task

log = logging.getLogger(__name__)


@periodic_task(crontab(hour="3", minute="40"))
def retention_purge_nightly() -> None:
    records = retention_purge()
    log.info("purged %s cases idempotency records", records)


@periodic_task(crontab(minute="5"))
def deadline_reminders_hourly() -> None:
    """The deadline reminders due (90/60/30/7 days before): hourly, so each firm's day is
    seen soon after it starts in its own time zone; a reminder is made once however often
    this runs, and a failed email is tried again with backoff (services/deadlines.py)."""
    run = deadline_reminders_send()
    log.info(
        "deadline reminders: %s made, %s emailed; %s failed emails tried again, %s sent",
        run.made,
        run.emailed,
        run.retried,
        run.resent,
    )
