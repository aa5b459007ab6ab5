"""What operations read about the bridge (``/readyz?books=1`` and ``/metrics``): a few
cheap aggregate queries, read-only, never a call to the books (ADR 0008).

- :func:`outbox_backlog`: unfinished items per kind and state, with the oldest one's
  creation time (the partial index ``bridge_outbox_unfinished`` holds just those rows).
- :func:`delivery_latency`: the histogram the worker keeps (``DeliveryLatency``).
- :func:`last_reconciliations`: each connected firm's last whole-firm reconciliation.
- :func:`connections`: each connection's token expiry and the worker's last read of the
  books (``readiness_checked_at`` / ``refresh_error``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min, OuterRef, Subquery

from casebridge.bridge.models import (
    UNFINISHED,
    Connection,
    ConnectionStatus,
    DeliveryLatency,
    OutboxItem,
    ReconciliationRun,
)


@dataclass(frozen=True)
class Backlog:
    kind: str
    state: str
    items: int
    oldest_created_at: dt.datetime


def outbox_backlog() -> list[Backlog]:
    return [
        Backlog(row["kind"], row["state"], row["n"], row["oldest"])
        for row in OutboxItem.objects.filter(state__in=UNFINISHED)
        .values("kind", "state")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
        .order_by("kind", "state")
    ]


def delivery_latency() -> dict[str, dict[int, tuple[int, int]]]:
    """Per kind: bucket -> (items, total milliseconds)."""
    found: dict[str, dict[int, tuple[int, int]]] = {}
    for kind, bucket, items, total_ms in DeliveryLatency.objects.values_list(
        "kind", "bucket", "items", "total_ms"
    ):
        found.setdefault(kind, {})[bucket] = (items, total_ms)
    return found


@dataclass(frozen=True)
class ConnectionState:
    firm_code: str
    status: str
    token_expires_at: dt.datetime | None
    books_read_at: dt.datetime | None
    books_read_error: bool


def connections() -> list[ConnectionState]:
    """Every connection not deactivated, by firm code."""
    return [
        ConnectionState(
            firm_code=code,
            status=status,
            token_expires_at=expires,
            books_read_at=read_at,
            books_read_error=bool(error),
        )
        for code, status, expires, read_at, error in Connection.objects.exclude(
            status=ConnectionStatus.DEACTIVATED
        )
        .order_by("firm__code")
        .values_list(
            "firm__code", "status", "token_expires_at", "readiness_checked_at", "refresh_error"
        )
    ]


@dataclass(frozen=True)
class LastReconciliation:
    firm_code: str
    finished_at: dt.datetime
    differences: int
    failed: bool


def last_reconciliations() -> list[LastReconciliation]:
    """Each connected firm's last finished whole-firm reconciliation (firms never
    reconciled are left out)."""
    last = (
        ReconciliationRun.objects.filter(
            firm=OuterRef("firm"), case__isnull=True, finished_at__isnull=False
        )
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )
    ids = dict(
        Connection.objects.exclude(status=ConnectionStatus.DEACTIVATED)
        .annotate(last=Subquery(last))
        .exclude(last__isnull=True)
        .values_list("last", "firm__code")
    )
    runs = ReconciliationRun.objects.filter(pk__in=ids).order_by("firm__code")
    return [
        LastReconciliation(
            firm_code=ids[run.pk],
            finished_at=run.finished_at,
            differences=run.differences,
            failed=bool(run.error),
        )
        for run in runs
        if run.finished_at is not None
    ]
