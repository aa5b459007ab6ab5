"""The books' background work on Huey (ADR 0002): nightly ledger integrity checks, a
retention purge, and every five minutes the compaction of the file digests' deltas (ADR
0035). Run by `manage.py run_huey` (started by `make run`)."""

from __future__ import annotations

import logging

from huey import crontab

from casebridge.books.exports.jobs import export_job_run, export_jobs_expire
from casebridge.books.exports.jobs import set_enqueuer as set_export_enqueuer
from casebridge.books.models import Firm
from casebridge.books.services.maintenance import (
    file_digests_compact,
    ledger_integrity_check,
    retention_purge,
)
from casebridge.core.tasks import background_task, periodic_task

log = logging.getLogger(__name__)


@background_task()
def ledger_integrity_check_firm(firm_id: int) -> bool:
    firm = Firm.objects.get(pk=firm_id)
    report = ledger_integrity_check(firm=firm)
    if not report.ok:
        log.error("ledger integrity problems in firm %s: %s", firm.code, report.problems)
    return report.ok


@periodic_task(crontab(hour="2", minute="15"))
def ledger_integrity_check_nightly() -> None:
    for firm_id in Firm.objects.values_list("pk", flat=True):
        ledger_integrity_check_firm(firm_id)


@periodic_task(crontab(hour="3", minute="30"))
def retention_purge_nightly() -> None:
    attempts, records = retention_purge()
    log.info("purged %s login attempts and %s idempotency records", attempts, records)


@periodic_task(crontab(minute="*/5"))
def file_digests_compact_periodic() -> None:
    folded = file_digests_compact()
    log.info("file digests compacted: %s deltas folded", "-" if folded is None else folded)


# --- export jobs (issue 15, ADR 0043) ---


@background_task()
def export_job_task(job_id: int) -> None:
    export_job_run(job_id)


def _ask_export(job_id: int) -> None:
    export_job_task(job_id)


set_export_enqueuer(_ask_export)


@periodic_task(crontab(minute="7"))
def export_jobs_expire_hourly() -> None:
    deleted, failed = export_jobs_expire()
    if deleted or failed:
        log.info("export jobs: %s expired, %s left running marked failed", deleted, failed)
