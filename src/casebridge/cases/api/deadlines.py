"""Statutes of limitations and deadlines (issue 16): the firm's limitation rules (list, add,
change or deactivate: never delete), the firm's open deadlines by due date (paged by
cursor), a case's deadlines, a deadline entered by hand, satisfy, and change a due date
with a reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field, field_validator

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import ERRORS, CaseRef, UserRef
from casebridge.cases.api.security import context
from casebridge.cases.models import (
    Case,
    ClaimType,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    LimitationRule,
    PeriodUnit,
    RuleType,
)
from casebridge.cases.selectors import deadlines as selectors
from casebridge.cases.services import deadlines as services
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    Clean,
    CountedPage,
    Id,
    In,
    Out,
    Page,
    PageIn,
    keyset_page,
)

router = Router(tags=["deadlines"])

State = Field(min_length=2, max_length=2, description="Two-letter state code, e.g. FL.")


class RuleOut(Out):
    id: int
    state: str
    claim_type: ClaimType
    rule_type: RuleType
    period_count: int
    period_unit: PeriodUnit
    effective_from: dt.date | None = Field(
        description="First incident (accrual) date the rule covers; null: any earlier date."
    )
    effective_until: dt.date | None = Field(
        description="Last incident date the rule covers; null: still in force."
    )
    citation: str
    verify_with_counsel: bool
    note: str
    is_active: bool

    @classmethod
    def of(cls, rule: LimitationRule) -> RuleOut:
        return cls(
            id=rule.pk,
            state=rule.state,
            claim_type=ClaimType(rule.claim_type),
            rule_type=RuleType(rule.rule_type),
            period_count=rule.period_count,
            period_unit=PeriodUnit(rule.period_unit),
            effective_from=rule.effective_from,
            effective_until=rule.effective_until,
            citation=rule.citation,
            verify_with_counsel=rule.verify_with_counsel,
            note=rule.note,
            is_active=rule.is_active,
        )


class RuleFilter(Clean):
    include_inactive: bool = False


@router.get("/limitation-rules", response={200: CountedPage[RuleOut], **ERRORS})
def limitation_rule_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[RuleFilter]
) -> CountedPage[RuleOut]:
    """The firm's limitation rules by state, claim type and rule type."""
    qs = LimitationRule.objects.filter(firm=context(request).firm).order_by(
        "state", "claim_type", "rule_type", "pk"
    )
    if not filters.include_inactive:
        qs = qs.filter(is_active=True)
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[RuleOut](
        items=[RuleOut.of(r) for r in rows], next=next_cursor, count=qs.count()
    )


class RuleIn(In):
    state: str = State
    claim_type: ClaimType
    rule_type: RuleType
    period_count: int = Field(ge=1, le=3650)
    period_unit: PeriodUnit
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    citation: str = Field(min_length=1, max_length=200)
    verify_with_counsel: bool = True
    note: str = Field(default="", max_length=500)


@router.post("/limitation-rules", response={201: RuleOut, **ERRORS})
@idempotent
def limitation_rule_create(request: HttpRequest, payload: RuleIn) -> Status[RuleOut]:
    """Add a rule. Needs 'Administration settings page access' (or a firm administrator).
    A rule that overlaps an active one of the same state, claim type and rule type is 422
    naming ``effective_from``."""
    ctx = context(request)
    rule = services.limitation_rule_create(firm=ctx.firm, actor=ctx.user, **payload.model_dump())
    return Status(201, RuleOut.of(rule))


class RuleUpdateIn(In):
    """Only the fields sent change; ``is_active: false`` deactivates the rule."""

    state: str | None = Field(default=None, min_length=2, max_length=2)
    claim_type: ClaimType | None = None
    rule_type: RuleType | None = None
    period_count: int | None = Field(default=None, ge=1, le=3650)
    period_unit: PeriodUnit | None = None
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    citation: str | None = Field(default=None, min_length=1, max_length=200)
    verify_with_counsel: bool | None = None
    note: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None

    @field_validator(
        "state",
        "claim_type",
        "rule_type",
        "period_count",
        "period_unit",
        "citation",
        "verify_with_counsel",
        "note",
        "is_active",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value


@router.patch("/limitation-rules/{int:rule_id}", response={200: RuleOut, **ERRORS})
def limitation_rule_update(request: HttpRequest, rule_id: Id, payload: RuleUpdateIn) -> RuleOut:
    """Change a rule (``effective_from`` / ``effective_until``: null clears them). The open
    computed deadlines of the cases it may apply to are computed again; satisfied ones and
    dates changed by hand are kept."""
    ctx = context(request)
    rule = get_or_404(LimitationRule.objects.filter(firm=ctx.firm), rule_id)
    changes: dict[str, Any] = {
        name: getattr(payload, name) for name in sorted(payload.model_fields_set)
    }
    return RuleOut.of(
        services.limitation_rule_update(firm=ctx.firm, actor=ctx.user, rule_id=rule.pk, **changes)
    )


# --- Deadlines -----------------------------------------------------------------------------


class DeadlineOut(Out):
    id: int
    case: CaseRef
    kind: DeadlineKind
    title: str
    due_date: dt.date
    computed_due_date: dt.date | None = Field(
        description="The date the firm's rules give (computed deadlines); null otherwise."
    )
    rule_id: int | None
    set_by_hand: bool
    verify_with_counsel: bool = Field(
        description="Computed from a rule marked 'verify with counsel': show it beside the date."
    )
    status: DeadlineStatus
    days_left: int = Field(description="From the firm's today; negative when overdue.")
    responsible_attorney: UserRef | None
    satisfied_on: dt.date | None
    satisfied_note: str

    @classmethod
    def of(cls, deadline: Deadline, today: dt.date) -> DeadlineOut:
        attorney = deadline.case.responsible_attorney
        return cls(
            id=deadline.pk,
            case=CaseRef.of(deadline.case),
            kind=DeadlineKind(deadline.kind),
            title=deadline.title,
            due_date=deadline.due_date,
            computed_due_date=deadline.computed_due_date,
            rule_id=deadline.rule_id,
            set_by_hand=deadline.set_by_hand,
            verify_with_counsel=deadline.verify_with_counsel,
            status=DeadlineStatus(deadline.status),
            days_left=(deadline.due_date - today).days,
            responsible_attorney=UserRef.of(attorney) if attorney else None,
            satisfied_on=deadline.satisfied_on,
            satisfied_note=deadline.satisfied_note,
        )


def _deadline(firm: Any, deadline_id: int) -> Deadline:
    return get_or_404(
        Deadline.objects.filter(firm=firm).select_related("case", "case__responsible_attorney"),
        deadline_id,
    )


class DeadlineQuery(Clean):
    attorney_id: Id | None = Field(default=None, description="The case's responsible attorney.")
    kind: DeadlineKind | None = None
    within_days: int | None = Field(
        default=None, ge=0, le=36500, description="Due on or before today plus this many days."
    )
    overdue: bool = Field(default=False, description="Only those past their due date.")


@router.get("/deadlines", response={200: Page[DeadlineOut], **ERRORS})
def deadline_list(
    request: HttpRequest, page: Query[PageIn], query: Query[DeadlineQuery]
) -> Page[DeadlineOut]:
    """The firm's open deadlines, soonest first. Pass a page's `next` as `cursor`."""
    firm = context(request).firm
    today = services.firm_today(firm)
    rows, next_cursor = keyset_page(
        selectors.open_deadlines(
            firm,
            selectors.DeadlineFilters(
                attorney_id=query.attorney_id,
                kind=query.kind,
                within_days=query.within_days,
                overdue=query.overdue,
            ),
            today,
        ),
        page,
    )
    return Page[DeadlineOut](items=[DeadlineOut.of(d, today) for d in rows], next=next_cursor)


class CaseDeadlinesOut(Out):
    items: list[DeadlineOut]
    findings: list[str] = Field(
        description="What the firm's rules say where no rule applies (e.g. 'No rule for TX / "
        "negligence: enter the deadline by hand.')."
    )


@router.get("/cases/{int:case_id}/deadlines", response={200: CaseDeadlinesOut, **ERRORS})
def case_deadline_list(request: HttpRequest, case_id: Id) -> CaseDeadlinesOut:
    """A case's deadlines (open by due date, then satisfied) and any rule it lacks."""
    firm = context(request).firm
    case = get_or_404(
        Case.objects.filter(firm=firm).select_related("responsible_attorney"), case_id
    )
    today = services.firm_today(firm)
    rows = selectors.case_deadlines(case)
    for row in rows:
        row.case = case
    return CaseDeadlinesOut(
        items=[DeadlineOut.of(d, today) for d in rows],
        findings=[f.message for f in selectors.case_rule_findings(case) if f.rule is None],
    )


class DeadlineIn(In):
    title: str = Field(min_length=1, max_length=200)
    due_date: dt.date
    note: str = Field(default="", max_length=500)


@router.post("/cases/{int:case_id}/deadlines", response={201: DeadlineOut, **ERRORS})
@idempotent
def deadline_create(request: HttpRequest, case_id: Id, payload: DeadlineIn) -> Status[DeadlineOut]:
    """A critical deadline entered by hand."""
    ctx = context(request)
    case = get_or_404(Case.objects.filter(firm=ctx.firm), case_id)
    deadline = services.deadline_create(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        title=payload.title,
        due_date=payload.due_date,
        note=payload.note,
    )
    return Status(
        201, DeadlineOut.of(_deadline(ctx.firm, deadline.pk), services.firm_today(ctx.firm))
    )


class SatisfyIn(In):
    satisfied_on: dt.date | None = Field(default=None, description="Default: today.")
    note: str = Field(default="", max_length=500)


@router.post("/deadlines/{int:deadline_id}/satisfy", response={200: DeadlineOut, **ERRORS})
@idempotent
def deadline_satisfy(request: HttpRequest, deadline_id: Id, payload: SatisfyIn) -> DeadlineOut:
    """Mark a deadline met. A deadline is never deleted; one satisfied already is 409."""
    ctx = context(request)
    deadline = _deadline(ctx.firm, deadline_id)
    services.deadline_satisfy(
        firm=ctx.firm,
        actor=ctx.user,
        deadline_id=deadline.pk,
        satisfied_on=payload.satisfied_on,
        note=payload.note,
    )
    return DeadlineOut.of(_deadline(ctx.firm, deadline.pk), services.firm_today(ctx.firm))


class ChangeIn(In):
    due_date: dt.date
    reason: str = Field(
        default="", max_length=500, description="Required: why the date changes (audited)."
    )


@router.post("/deadlines/{int:deadline_id}/change", response={200: DeadlineOut, **ERRORS})
@idempotent
def deadline_change(request: HttpRequest, deadline_id: Id, payload: ChangeIn) -> DeadlineOut:
    """Move an open deadline's due date with a reason; without one, 422 naming ``reason``
    and nothing written."""
    ctx = context(request)
    deadline = _deadline(ctx.firm, deadline_id)
    services.deadline_change(
        firm=ctx.firm,
        actor=ctx.user,
        deadline_id=deadline.pk,
        due_date=payload.due_date,
        reason=payload.reason,
    )
    return DeadlineOut.of(_deadline(ctx.firm, deadline.pk), services.firm_today(ctx.firm))
