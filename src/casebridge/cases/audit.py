"""The cases side's audit calls: one function that fills in the system and the actor."""

from __future__ import annotations

from typing import Any

from casebridge.cases.models import User
from casebridge.core.audit import audit_record


def cases_audit(
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
    audit_record(
        system="cases",
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
