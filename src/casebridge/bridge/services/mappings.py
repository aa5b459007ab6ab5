"""Cost code mapping: which books activity code a cost advance of each cost code posts to.

A cost advance is Dr Advanced client costs / Cr Operating bank (domain.md section 4), so
every code a cost goes with must post to an asset account of the advanced-costs role. A cost
code goes with, in order (:func:`cost_activity_codes`):

1. the mapping an administrator chose for it (:func:`cost_code_mapping_save`);
2. the books' activity code with the same UTBMS code (cost code E112 -> the books' E112),
   when that code posts to Advanced client costs;
3. the connection's default cost posting reference (pop-up 2).

COPP is never a fallback: it is the income the fee invoice *charges* (ADR 0010). What the
books hold is read by the readiness run and kept on the connection
(``Connection.activity_codes``), so none of this asks the books inside a web request. Only
a firm administrator or a holder of the administration settings permission changes a
mapping; every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction

from casebridge.bridge.client import BooksActivityCode
from casebridge.bridge.errors import ValidationFailed
from casebridge.bridge.models import Connection, CostCodeMapping
from casebridge.cases.models import CostCode, Firm, User
from casebridge.cases.permissions import require_settings_access
from casebridge.core import clock
from casebridge.core.audit import audit_record

DEFAULT_LABEL = "Default (same UTBMS code, else the cost posting reference)"


def activity_code_label(code: BooksActivityCode) -> str:
    return f"{code.code} {code.name}".strip() if code.name != code.code else code.code


def activity_codes_snapshot(codes: Iterable[BooksActivityCode]) -> list[dict[str, Any]]:
    """The books' activity codes as kept on the connection (plain JSON)."""
    return [asdict(c) for c in codes]


def known_activity_codes(conn: Connection | None) -> list[BooksActivityCode]:
    """The books' activity codes as the last readiness run read them."""
    if conn is None:
        return []
    fields = set(BooksActivityCode.__dataclass_fields__)
    return [
        BooksActivityCode(**{k: v for k, v in row.items() if k in fields})
        for row in (conn.activity_codes or [])
    ]


def advance_codes(conn: Connection | None) -> list[BooksActivityCode]:
    """The active activity codes a cost advance may post to (Advanced client costs)."""
    return [c for c in known_activity_codes(conn) if c.is_active and c.posts_to_advanced_costs]


def _automatic(conn: Connection) -> dict[str, BooksActivityCode]:
    """The books' advance codes by UTBMS code (upper case); the lowest id wins a tie."""
    found: dict[str, BooksActivityCode] = {}
    for c in sorted(advance_codes(conn), key=lambda c: c.id):
        if c.utbms_code:
            found.setdefault(c.utbms_code.strip().upper(), c)
    return found


@dataclass(frozen=True)
class MappingRow:
    cost_code: CostCode
    mapping: CostCodeMapping | None
    #: what the cost code goes with when it has no mapping of its own
    automatic: BooksActivityCode | None = None


def mapping_rows(firm: Firm, conn: Connection | None = None) -> list[MappingRow]:
    """The firm's active cost codes, each with its mapping, or (None) the books' code of the
    same UTBMS code it goes with automatically (None again: the cost posting reference)."""
    mappings = {m.cost_code_id: m for m in CostCodeMapping.objects.filter(firm=firm)}
    automatic = _automatic(conn) if conn is not None else {}
    return [
        MappingRow(code, mappings.get(code.pk), automatic.get(code.code.strip().upper()))
        for code in CostCode.objects.filter(firm=firm, is_active=True).order_by("code")
    ]


def mapping_row(firm: Firm, code: CostCode, conn: Connection | None) -> MappingRow:
    """One cost code's row of :func:`mapping_rows` (its mapping, else what it goes with)."""
    automatic = _automatic(conn) if conn is not None else {}
    return MappingRow(code, mapping_of(firm, code), automatic.get(code.code.strip().upper()))


def mapping_of(firm: Firm, code: CostCode) -> CostCodeMapping | None:
    return CostCodeMapping.objects.filter(firm=firm, cost_code=code).first()


def cost_activity_codes(conn: Connection, cost_code_ids: Iterable[int]) -> dict[int, int | None]:
    """The books activity code each cost code's advances post to: its mapping, else the
    books' code of the same UTBMS code, else the cost posting reference (None when the
    connection has none yet). One query for the mappings, one for the codes."""
    wanted = set(cost_code_ids)
    mapped = dict(
        CostCodeMapping.objects.filter(firm_id=conn.firm_id, cost_code_id__in=wanted).values_list(
            "cost_code_id", "activity_code_id"
        )
    )
    automatic = _automatic(conn)
    out: dict[int, int | None] = {}
    for pk, code in CostCode.objects.filter(firm_id=conn.firm_id, pk__in=wanted).values_list(
        "pk", "code"
    ):
        auto = automatic.get(code.strip().upper())
        out[pk] = mapped.get(pk) or (auto.id if auto else None) or conn.cost_posting_code_id
    return out


def misdirected_mappings(
    conn: Connection, codes: Sequence[BooksActivityCode]
) -> list[tuple[CostCodeMapping, str]]:
    """Mappings whose books code does not post to Advanced client costs (or is gone or
    inactive), each with what is wrong: cost advances of those codes would post elsewhere."""
    by_id = {c.id: c for c in codes}
    wrong = []
    for m in CostCodeMapping.objects.filter(firm_id=conn.firm_id).select_related("cost_code"):
        code = by_id.get(m.activity_code_id)
        if code is None:
            wrong.append((m, f"{m.activity_code_label} is no longer in the books"))
        elif not code.is_active:
            wrong.append((m, f"{m.activity_code_label} is inactive in the books"))
        elif not code.posts_to_advanced_costs:
            wrong.append((m, f"{m.activity_code_label} posts to GL {code.gl_account_label}"))
    return wrong


def cost_code_mapping_save(
    *,
    firm: Firm,
    actor: User,
    cost_code_id: int,
    activity_code_id: int | None,
) -> CostCodeMapping | None:
    """Map a cost code to a books activity code that posts to Advanced client costs, or
    (``activity_code_id`` None) remove its mapping so that it goes with the default (the
    books' code of the same UTBMS code, else the cost posting reference). The code is
    checked against the books' codes as the last readiness run read them. Returns the
    mapping, or None when removed."""
    require_settings_access(actor)
    label = ""
    if activity_code_id is not None:
        conn = Connection.objects.filter(firm=firm).first()
        chosen = {c.id: c for c in known_activity_codes(conn)}.get(activity_code_id)
        if chosen is None:
            raise ValidationFailed(
                "choose one of the books' activity codes listed (run the readiness check to "
                "read them from the books again)",
                field="activity_code",
            )
        label = activity_code_label(chosen)[:200]
        if not chosen.is_active:
            raise ValidationFailed(
                f"{label} is inactive in the books; choose an active code",
                field="activity_code",
            )
        if not chosen.posts_to_advanced_costs:
            raise ValidationFailed(
                f"{label} posts to GL {chosen.gl_account_label}, not to Advanced client "
                "costs: a cost advance is Dr Advanced client costs / Cr Operating bank. "
                "Choose a code that posts to the Advanced client costs asset account",
                field="activity_code",
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
            else {"activity_code_id": None, "label": DEFAULT_LABEL}
        )
        if activity_code_id is None:
            if existing is None:
                return None
            existing.delete()
            mapping = None
            after: dict[str, object] = {"activity_code_id": None, "label": DEFAULT_LABEL}
            summary = f"Cost code {code.code} goes with the default again"
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
