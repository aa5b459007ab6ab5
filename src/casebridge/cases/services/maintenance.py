"""The cases side's housekeeping: the purge of rows kept only for a while."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from casebridge.cases.models import IdempotencyRecord
from casebridge.core import clock

#: How long a creating request's stored answer is replayed (cases API and bridge API);
#: the same period as the books' (casebridge.books.services.maintenance).
IDEMPOTENCY_RETENTION = dt.timedelta(days=180)


@transaction.atomic
def retention_purge(*, now: dt.datetime | None = None) -> int:
    """Delete idempotency records past their retention period; returns how many."""
    now = now or clock.now()
    records, _ = IdempotencyRecord.objects.filter(
        created_at__lt=now - IDEMPOTENCY_RETENTION
    ).delete()
    return records
