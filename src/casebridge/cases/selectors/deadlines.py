"""Reads for statutes of limitations and deadlines (issue 16): the firm-wide deadlines list
(open deadlines by due date, walked by keyset on the ``cases_deadline_due`` index), a case's
deadlines and what its rules say, the rules table, and the Home page's figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from casebridge.cases.models import (
    Case,
    ClaimType,
    Deadline,
    DeadlineReminder,
    DeadlineStatus,
    Firm,
    LimitationRule,
    RuleType,
    User,
)
from casebridge.core.api.schemas import PageIn, keyset_page

#: Rows on a page of the deadlines screen.
PAGE_SIZE = 50
#: The Home page's card: deadlines due within this many days.
HORIZON_DAYS = 90


def rule_in_effect(
    *, firm_id: int, state: str, claim_type: str, rule_type: str, on: dt.date
) -> LimitationRule | None:
    """The active rule covering an incident on ``on`` (the latest starting, should two)."""
    if not state or not claim_type:
        return None
    return (
        LimitationRule.objects.filter(
            firm_id=firm_id, state=state, claim_type=claim_type, rule_type=rule_type, is_active=True
        )
        .filter(Q(effective_from__isnull=True) | Q(effective_from__lte=on))
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=on))
        .order_by("-effective_from", "-pk")
        .first()
    )


@dataclass(frozen=True)
class DeadlineFilters:
    attorney_id: int | None = None
    kind: str | None = None
    #: Due on or before today plus this many days (overdue ones included).
    within_days: int | None = None
    #: Only those past their due date.
    overdue: bool = False


def open_deadlines(firm: Firm, filters: DeadlineFilters, today: dt.date) -> QuerySet[Deadline]:
    """The firm's open deadlines matching ``filters``, soonest first (then by id)."""
    qs = Deadline.objects.filter(firm=firm, status=DeadlineStatus.OPEN)
    if filters.attorney_id is not None:
        qs = qs.filter(case__responsible_attorney_id=filters.attorney_id)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.overdue:
        qs = qs.filter(due_date__lt=today)
    if filters.within_days is not None:
        qs = qs.filter(due_date__lte=today + dt.timedelta(days=filters.within_days))
    return qs.select_related("case", "case__responsible_attorney", "rule").order_by(
        "due_date", "pk"
    )


def deadlines_page(
    firm: Firm,
    filters: DeadlineFilters,
    today: dt.date,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Deadline], str | None]:
    """One page of :func:`open_deadlines` from ``cursor`` and the next page's cursor. A
    cursor of another list or tampered with is refused (ValidationFailed on ``cursor``)."""
    return keyset_page(open_deadlines(firm, filters, today), PageIn(limit=limit, cursor=cursor))


def case_deadlines(case: Case) -> list[Deadline]:
    """A case's deadlines: open ones by due date, then satisfied ones."""
    return list(
        Deadline.objects.filter(case=case)
        .select_related("rule", "satisfied_by")
        .order_by("-status", "due_date", "pk")
    )


@dataclass(frozen=True)
class RuleFinding:
    """What the firm's rules say about one of a case's computed deadlines."""

    rule_type: str
    label: str
    rule: LimitationRule | None
    message: str


def case_rule_findings(case: Case) -> list[RuleFinding]:
    """For the case's statute of limitations (and any notice or minor-tolling rule that
    applies): the rule in effect on its incident date, or why there is none."""
    claim = ClaimType(case.claim_type).label.lower() if case.claim_type in ClaimType.values else ""
    if case.incident_date is None or not case.jurisdiction_state or not claim:
        missing = [
            what
            for what, value in (
                ("incident date", case.incident_date),
                ("state", case.jurisdiction_state),
                ("claim type", claim),
            )
            if not value
        ]
        return [
            RuleFinding(
                RuleType.STATUTE,
                RuleType.STATUTE.label,
                None,
                f"Enter the case's {' and '.join(missing)} to compute the statute of "
                "limitations, or enter the deadline by hand.",
            )
        ]
    findings = []
    for rule_type in RuleType:
        rule = rule_in_effect(
            firm_id=case.firm_id,
            state=case.jurisdiction_state,
            claim_type=case.claim_type,
            rule_type=rule_type,
            on=case.incident_date,
        )
        if rule is not None:
            findings.append(RuleFinding(rule_type, rule_type.label, rule, ""))
        elif rule_type == RuleType.STATUTE:
            findings.append(
                RuleFinding(
                    rule_type,
                    rule_type.label,
                    None,
                    f"No rule for {case.jurisdiction_state} / {claim}: enter the deadline by hand.",
                )
            )
    return findings


def limitation_rules_queryset(firm: Firm) -> QuerySet[LimitationRule]:
    """The firm's rules as Account Settings lists them (and exports them): active first."""
    return LimitationRule.objects.filter(firm=firm).order_by(
        "-is_active", "state", "claim_type", "rule_type", "effective_from", "pk"
    )


def limitation_rules(firm: Firm) -> list[LimitationRule]:
    return list(limitation_rules_queryset(firm))


# --- Home ----------------------------------------------------------------------------------


def due_within(firm: Firm, today: dt.date, days: int = HORIZON_DAYS) -> tuple[int, int]:
    """Open deadlines due in the next ``days`` days (today included), and those overdue."""
    qs = Deadline.objects.filter(firm=firm, status=DeadlineStatus.OPEN)
    upcoming = qs.filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=days))
    return upcoming.count(), qs.filter(due_date__lt=today).count()


def reminders_of(user: User) -> Q:
    """The reminders a user sees: their own, and for a firm administrator also the firm's
    reminders that are nobody's (a case without a responsible attorney)."""
    mine = Q(user=user)
    if user.is_firm_admin:
        mine |= Q(user__isnull=True, firm_id=user.firm_id)
    return mine


def unread_reminders(user: User, limit: int = 10) -> tuple[int, list[DeadlineReminder]]:
    """The user's unread deadline reminders (:func:`reminders_of`): how many, and the
    newest ``limit``."""
    qs = DeadlineReminder.objects.filter(reminders_of(user), read_at__isnull=True)
    rows = list(
        qs.select_related("deadline", "deadline__case").order_by("-created_at", "-pk")[:limit]
    )
    return (qs.count() if len(rows) == limit else len(rows)), rows


# --- Reminder emails that did not go (review of issue 16) --------------------------------

#: A reminder "sending" longer than this was cut off mid-send: it may or may not have gone,
#: so it is never sent again by itself; the administrators see it.
SENDING_STUCK_AFTER = dt.timedelta(hours=1)


def reminder_email_problems(
    firm: Firm, now: dt.datetime, limit: int = 50
) -> tuple[int, list[DeadlineReminder]]:
    """The firm's reminder emails that did not go, for deadlines still open: failed (tried
    again later), given up, or cut off mid-send; how many, and the newest ``limit``."""
    qs = DeadlineReminder.objects.filter(
        Q(email_status__in=["failed", "gave_up"])
        | Q(email_status="sending", email_next_attempt_at__lt=now - SENDING_STUCK_AFTER)
        | Q(
            email_status="sending",
            email_next_attempt_at__isnull=True,
            created_at__lt=now - SENDING_STUCK_AFTER,
        ),
        firm=firm,
        deadline__status=DeadlineStatus.OPEN,
    )
    rows = list(
        qs.select_related("deadline", "deadline__case", "user").order_by("-created_at", "-pk")[
            :limit
        ]
    )
    return (qs.count() if len(rows) == limit else len(rows)), rows
