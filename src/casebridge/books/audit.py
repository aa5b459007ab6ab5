"""The books' side of the audit log: one call that fills in the system and the actor."""

from __future__ import annotations

from typing import Any

from casebridge.books.models import User
from casebridge.core.audit import audit_record, audit_record_many


def books_audit(
    *,
    firm_id: int,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: object = "",
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str = "",
) -> None:
    """Record who did what to which entity; ``actor=None`` means the system itself."""
    audit_record(
        system="books",
        firm_id=firm_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor.pk if actor else None,
        actor_label=actor.email if actor else "system",
        summary=summary,
        before=before,
        after=after,
        ip_address=ip_address,
    )


def books_audit_many(*, firm_id: int, actor: User | None, events: list[dict[str, Any]]) -> int:
    """:func:`books_audit` for many events in one INSERT (a batch of thousands): each dict
    gives ``action``, ``entity_type``, ``entity_id``, ``summary`` and optionally ``before``
    and ``after``; the system, firm and actor are filled in as books_audit does."""
    if not events:
        return 0
    who = {
        "system": "books",
        "firm_id": firm_id,
        "actor_id": actor.pk if actor else None,
        "actor_label": actor.email if actor else "system",
    }
    return audit_record_many([{**event, **who} for event in events])
