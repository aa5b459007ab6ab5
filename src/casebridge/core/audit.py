"""Writing audit events. Services call :func:`audit_record` inside their transaction.

``before``/``after`` are stored as JSON with Django's encoder (dates, datetimes and
Decimals become ISO strings and decimal strings)."""

from __future__ import annotations

from typing import Any

from casebridge.core import clock
from casebridge.core.db import insert_rows
from casebridge.core.models import AuditEvent


def audit_record(
    *,
    system: str,
    firm_id: int,
    action: str,
    entity_type: str,
    entity_id: object = "",
    actor_id: int | None = None,
    actor_label: str = "",
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        system=system,
        firm_id=firm_id,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        summary=summary[:500],
        before=before,
        after=after,
        ip_address=ip_address,
        at=clock.now(),
    )


_EVENT_FIELDS = (
    "system",
    "firm_id",
    "actor_id",
    "actor_label",
    "action",
    "entity_type",
    "entity_id",
    "summary",
    "before",
    "after",
    "ip_address",
    "at",
)


def audit_record_many(events: list[dict[str, Any]]) -> int:
    """Write many events set-based (a bulk action on thousands of rows:
    :func:`casebridge.core.db.insert_rows`, no model built per event): each dict takes the
    keyword arguments of :func:`audit_record`. Returns how many were written."""
    at = clock.now()
    rows = [
        (
            e["system"],
            e["firm_id"],
            e.get("actor_id"),
            e.get("actor_label", ""),
            e["action"],
            e["entity_type"],
            str(e.get("entity_id", "")),
            str(e.get("summary", ""))[:500],
            e.get("before"),
            e.get("after"),
            e.get("ip_address", ""),
            at,
        )
        for e in events
    ]
    insert_rows(AuditEvent, _EVENT_FIELDS, rows, returning=False)
    return len(rows)


def changed_fields(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, for compact before/after records."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
