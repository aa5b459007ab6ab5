"""The cases side's background work on Huey (ADR 0002): the nightly retention purge of the
idempotency records its API and the bridge's API keep. Run by `manage.py run_huey`."""

from __future__ import annotations

import logging

from huey import crontab

from casebridge.cases.services.maintenance import retention_purge
from casebridge.core.tasks import periodic_task

log = logging.getLogger(__name__)


@periodic_task(crontab(hour="3", minute="40"))
def retention_purge_nightly() -> None:
    records = retention_purge()
    log.info("purged %s cases idempotency records", records)
