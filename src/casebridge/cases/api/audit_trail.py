"""The audit trail (issue 16): ``GET /audit-events`` (the firm's: firm administrators and
the administration settings permission) and ``GET /cases/{case_id}/audit-events`` (a
case's: anyone of the firm), newest first, filtered, paged by keyset ``{items, next}``.
Each event as people read it: who by name, before and after field by field, amounts as
decimal strings in the words of the screen, references by name, never a database id."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from casebridge.cases.api.schemas import ERRORS
from casebridge.cases.api.security import context
from casebridge.cases.models import Case, Firm
from casebridge.cases.permissions import require_settings_access
from casebridge.cases.selectors.audit_trail import (
    AuditFilters,
    AuditRow,
    audit_events,
    audit_rows,
)
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import Id, Out, Page, PageIn, keyset_page

router = Router(tags=["audit trail"])


class AuditFilterIn(PageIn):
    user_id: Id | None = Field(default=None, description="Only this user's events.")
    entity: str = Field(default="", max_length=64, description="Kind of record, e.g. cost.")
    action: str = Field(default="", max_length=64, description="e.g. create, change, void.")
    since: dt.date | None = Field(default=None, description="From this day (firm's clock).")
    until: dt.date | None = Field(default=None, description="To this day, inclusive.")
    case_number: str = Field(default="", max_length=40, description="Only this case's.")
    q: str = Field(default="", max_length=100, description="Words in the summary.")

    def filters(self) -> AuditFilters:
        return AuditFilters(
            user_id=self.user_id,
            entity=self.entity,
            action=self.action,
            since=self.since,
            until=self.until,
            case_number=self.case_number,
            text=self.q,
        )


class AuditChangeOut(Out):
    field: str
    before: str
    after: str


class AuditEventOut(Out):
    id: int
    at: dt.datetime
    who: str
    action: str
    action_label: str
    record: str = Field(description="Kind of record, e.g. cost.")
    record_label: str
    summary: str
    changes: list[AuditChangeOut]

    @classmethod
    def of(cls, row: AuditRow) -> AuditEventOut:
        return cls(
            id=row.event_id,
            at=row.at,
            who=row.who,
            action=row.action,
            action_label=row.action_label,
            record=row.entity,
            record_label=row.entity_label,
            summary=row.summary,
            changes=[
                AuditChangeOut(field=c.label, before=c.before, after=c.after) for c in row.changes
            ],
        )


def _page(firm: Firm, page: AuditFilterIn, case: Case | None) -> Page[AuditEventOut]:
    qs = audit_events(firm=firm, filters=page.filters(), case=case)
    events, next_cursor = keyset_page(qs, page)
    rows = audit_rows(firm=firm, events=events)
    return Page[AuditEventOut](items=[AuditEventOut.of(r) for r in rows], next=next_cursor)


@router.get("/audit-events", response={200: Page[AuditEventOut], **ERRORS})
def audit_events_list(request: HttpRequest, page: Query[AuditFilterIn]) -> Page[AuditEventOut]:
    """The firm's audit trail, newest first."""
    ctx = context(request)
    require_settings_access(ctx.user)
    return _page(ctx.firm, page, None)


@router.get("/cases/{int:case_id}/audit-events", response={200: Page[AuditEventOut], **ERRORS})
def case_audit_events(
    request: HttpRequest, case_id: Id, page: Query[AuditFilterIn]
) -> Page[AuditEventOut]:
    """A case's audit trail, newest first."""
    ctx = context(request)
    case = get_or_404(Case.objects.filter(firm=ctx.firm), case_id)
    return _page(ctx.firm, page, case)
