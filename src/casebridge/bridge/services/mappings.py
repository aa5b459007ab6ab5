"""Cost code mapping: which books activity code a cost of each cost code is sent with.

A cost code without a mapping goes as COPP (the readiness check finds the books' COPP
code). Only a firm administrator or a holder of the administration settings permission
changes a mapping; every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from casebridge.bridge.client import (
    BooksActivityCode,
    BooksAuthLapsed,
    BooksError,
    BooksUnreachable,
)
from casebridge.bridge.errors import BooksRefused, ValidationFailed
from casebridge.bridge.models import Connection, CostCodeMapping
from casebridge.bridge.services.connection import client_for, connection_mark_lapsed
from casebridge.cases.models import CostCode, Firm, User
from casebridge.cases.permissions import require_settings_access
from casebridge.core import clock
from casebridge.core.audit import audit_record


@dataclass(frozen=True)
class MappingRow:
    cost_code: CostCode
    mapping: CostCodeMapping | None


def mapping_rows(firm: Firm) -> list[MappingRow]:
    """The firm's active cost codes, each with its mapping (None: sent as COPP)."""
    mappings = {m.cost_code_id: m for m in CostCodeMapping.objects.filter(firm=firm)}
    return [
        MappingRow(code, mappings.get(code.pk))
        for code in CostCode.objects.filter(firm=firm, is_active=True).order_by("code")
    ]


def mapping_of(firm: Firm, code: CostCode) -> CostCodeMapping | None:
    return CostCodeMapping.objects.filter(firm=firm, cost_code=code).first()


def activity_code_label(code: BooksActivityCode) -> str:
    return f"{code.code} {code.name}".strip() if code.name != code.code else code.code


def books_activity_codes(conn: Connection) -> list[BooksActivityCode]:
    """The books' active activity codes, asked now; a failure is a refusal in words."""
    client = client_for(conn)
    try:
        codes = client.activity_codes()
    except BooksAuthLapsed:
        connection_mark_lapsed(conn=conn)
        raise BooksRefused(
            "reauthentication_required",
            "The books token has lapsed (the monthly re-authentication). Re-authenticate, "
            "then try again.",
        ) from None
    except BooksUnreachable as exc:
        raise BooksRefused(
            "books_unreachable",
            f"The books at {conn.books_url} could not be reached ({exc.message}).",
        ) from None
    except BooksError as exc:
        raise BooksRefused(exc.code, f"The books refused: {exc.message}") from None
    finally:
        client.close()
    return [c for c in codes if c.is_active]


def cost_code_mapping_save(
    *,
    firm: Firm,
    actor: User,
    cost_code_id: int,
    activity_code_id: int | None,
    activity_code_label: str,
) -> CostCodeMapping | None:
    """Map a cost code to a books activity code, or (``activity_code_id`` None) remove its
    mapping so that it goes as COPP. Returns the mapping, or None when removed."""
    require_settings_access(actor)
    label = activity_code_label.strip()
    if activity_code_id is not None:
        if activity_code_id <= 0:
            raise ValidationFailed("choose one of the books' activity codes", field="activity_code")
        if not label:
            raise ValidationFailed("the activity code's label is required", field="activity_code")
        if len(label) > 200:
            raise ValidationFailed(
                "the activity code's label is at most 200 characters", field="activity_code"
            )
    with transaction.atomic():
        code = CostCode.objects.filter(firm=firm, pk=cost_code_id).first()
        if code is None:
            raise ValidationFailed("no such cost code in this firm", field="cost_code")
        existing = (
            CostCodeMapping.objects.select_for_update().filter(firm=firm, cost_code=code).first()
        )
        before: dict[str, object] = (
            {"activity_code_id": existing.activity_code_id, "label": existing.activity_code_label}
            if existing
            else {"activity_code_id": None, "label": "COPP (default)"}
        )
        if activity_code_id is None:
            if existing is None:
                return None
            existing.delete()
            mapping = None
            after: dict[str, object] = {"activity_code_id": None, "label": "COPP (default)"}
            summary = f"Cost code {code.code} goes as COPP (default) again"
        else:
            mapping = existing or CostCodeMapping(firm=firm, cost_code=code)
            if (
                existing is not None
                and existing.activity_code_id == activity_code_id
                and existing.activity_code_label == label
            ):
                return existing
            mapping.activity_code_id = activity_code_id
            mapping.activity_code_label = label
            mapping.updated_at = clock.now()
            mapping.save()
            after = {"activity_code_id": activity_code_id, "label": label}
            summary = f"Cost code {code.code} goes to the books as {label}"
        audit_record(
            system="bridge",
            firm_id=firm.pk,
            actor_id=actor.pk,
            actor_label=actor.email,
            action="delete" if mapping is None else ("change" if existing else "create"),
            entity_type="cost_code_mapping",
            entity_id=code.pk,
            summary=summary,
            before=before,
            after=after,
        )
    return mapping
