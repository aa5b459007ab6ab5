"""Reads for statutes of limitations and deadlines (issue 16): the firm-wide deadlines list
(open deadlines by due date, walked by keyset on the ``cases_deadline_due`` index), a case's
deadlines and what its rules say, the rules table, and the Home page's figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from casebridge.cases.models import (
    Case,
    ClaimType,
    Deadline,
    DeadlineReminder,
    DeadlineReminderRead,
    DeadlineStatus,
    Firm,
    LimitationRule,
    RuleType,
    User,
    person_name,
)
from casebridge.core.api.schemas import PageIn, keyset_page
from casebridge.core.models import AuditEvent

#: Rows on a page of the deadlines screen.
PAGE_SIZE = 50
#: The Home page's card: deadlines due within this many days.
HORIZON_DAYS = 90


def rule_in_effect(
    *, firm_id: int, state: str, claim_type: str, rule_type: str, on: dt.date
) -> LimitationRule | None:
    """The active rule covering an incident on ``on`` (the latest starting, should two; a
    rule with a start date before one open to any earlier date, on both databases:
    PostgreSQL sorts NULL first in a descending order, SQLite last)."""
    if not state or not claim_type:
        return None
    return (
        LimitationRule.objects.filter(
            firm_id=firm_id, state=state, claim_type=claim_type, rule_type=rule_type, is_active=True
        )
        .filter(Q(effective_from__isnull=True) | Q(effective_from__lte=on))
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=on))
        .order_by(F("effective_from").desc(nulls_last=True), "-pk")
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
    return qs.select_related("case", "case__responsible_attorney").order_by("due_date", "pk")


@dataclass(frozen=True)
class DeadlineRow:
    """An open deadline as the deadlines screen shows it."""

    pk: int
    title: str
    due_date: dt.date
    computed_due_date: dt.date | None
    set_by_hand: bool
    verify_with_counsel: bool
    case_id: int
    case_number: str
    case_name: str
    #: the case's responsible attorney's name; "" when the case has none
    attorney: str


#: What a :class:`DeadlineRow` is read from (one query, no model built).
_ROW_COLUMNS = (
    "pk",
    "title",
    "due_date",
    "computed_due_date",
    "set_by_hand",
    "verify_with_counsel",
    "case_id",
    "case__number",
    "case__name",
    "case__responsible_attorney_id",
    "case__responsible_attorney__first_name",
    "case__responsible_attorney__last_name",
    "case__responsible_attorney__email",
)


def _deadline_row(row: Mapping[str, Any]) -> DeadlineRow:
    attorney = ""
    if row["case__responsible_attorney_id"] is not None:
        attorney = person_name(
            row["case__responsible_attorney__first_name"],
            row["case__responsible_attorney__last_name"],
            row["case__responsible_attorney__email"],
        )
    return DeadlineRow(
        pk=row["pk"],
        title=row["title"],
        due_date=row["due_date"],
        computed_due_date=row["computed_due_date"],
        set_by_hand=row["set_by_hand"],
        verify_with_counsel=row["verify_with_counsel"],
        case_id=row["case_id"],
        case_number=row["case__number"],
        case_name=row["case__name"],
        attorney=attorney,
    )


def deadlines_page(
    firm: Firm,
    filters: DeadlineFilters,
    today: dt.date,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[DeadlineRow], str | None]:
    """One page of :func:`open_deadlines` from ``cursor`` as plain rows, and the next
    page's cursor (the API's cursors: the same list and order). A cursor of another list or
    tampered with is refused (ValidationFailed on ``cursor``)."""
    rows, next_cursor = keyset_page(
        open_deadlines(firm, filters, today).values(*_ROW_COLUMNS),
        PageIn(limit=limit, cursor=cursor),
    )
    return [_deadline_row(row) for row in rows], next_cursor


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
        "-is_active",
        "state",
        "claim_type",
        "rule_type",
        # one open to any earlier incident date first, on both databases
        F("effective_from").asc(nulls_first=True),
        "pk",
    )


def limitation_rules(firm: Firm) -> list[LimitationRule]:
    return list(limitation_rules_queryset(firm))


# --- Home ----------------------------------------------------------------------------------


def due_within(firm: Firm, today: dt.date, days: int = HORIZON_DAYS) -> tuple[int, int]:
    """Open deadlines due in the next ``days`` days (today included), and those overdue."""
    qs = Deadline.objects.filter(firm=firm, status=DeadlineStatus.OPEN)
    upcoming = qs.filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=days))
    return upcoming.count(), qs.filter(due_date__lt=today).count()


#: A reminder still applies while its deadline is open at the due date it reminds of; one
#: of a deadline satisfied or moved since is superseded (a read across the join: an UPDATE
#: asks it of the reminder's own row, ``services.deadlines._still_applies_here``).
STILL_APPLIES = Q(deadline__status=DeadlineStatus.OPEN, deadline__due_date=F("due_date"))


def admin_since(user: User) -> dt.datetime | None:
    """When the user last became a firm administrator, as the audit trail says (the user
    added as one, or changed from not one to one); ``None`` when it does not say (an
    administrator made outside the services). One read of the user's own events (the
    ``audit_entity`` index)."""
    became = AuditEvent.objects.filter(
        Q(action="create", after__is_firm_admin=True)
        | Q(action="change", before__is_firm_admin=False, after__is_firm_admin=True),
        system="cases",
        firm_id=user.firm_id,
        entity_type="user",
        entity_id=str(user.pk),
    )
    return became.order_by("-at", "-pk").values_list("at", flat=True).first()


def reminders_of(user: User) -> Q:
    """The reminders a user sees: their own, and for a firm administrator also the firm's
    reminders that are nobody's (a case without a responsible attorney) made since the
    user became an administrator (:func:`admin_since`; all of them when it is not known):
    a newly promoted administrator is not handed the firm's past as unread."""
    mine = Q(user=user)
    if user.is_firm_admin:
        ours = Q(user__isnull=True, firm_id=user.firm_id)
        since = admin_since(user)
        if since is not None:
            ours &= Q(created_at__gte=since)
        mine |= ours
    return mine


def unread_of(user: User) -> QuerySet[DeadlineReminder]:
    """The reminders :func:`reminders_of` the user that still apply (:data:`STILL_APPLIES`:
    a reminder of a deadline satisfied or moved since has nothing left to say) and that the
    user has not read. Read marks are each person's own (:class:`DeadlineReminderRead`): an
    administrator reading a reminder addressed to the administrators leaves it unread for
    the others."""
    read = DeadlineReminderRead.objects.filter(reminder=OuterRef("pk"), user=user)
    return DeadlineReminder.objects.filter(reminders_of(user), STILL_APPLIES).filter(~Exists(read))


def unread_reminders(user: User, limit: int = 10) -> tuple[int, list[DeadlineReminder]]:
    """The user's unread deadline reminders (:func:`unread_of`): how many, and the newest
    ``limit``."""
    qs = unread_of(user)
    rows = list(
        qs.select_related("deadline", "deadline__case").order_by("-created_at", "-pk")[:limit]
    )
    return (qs.count() if len(rows) == limit else len(rows)), rows


# --- Reminder emails that did not go (review of issue 16) --------------------------------

#: A send is claimed (``email_status`` "sending", ``email_claimed_at``) just before it goes,
#: and a mail server answers within ``settings.EMAIL_TIMEOUT``: one claimed longer ago than
#: this was cut off mid-send (it may or may not have gone, so it is never sent again by
#: itself; the administrators see it); one claimed since is going out now.
SEND_TIMEOUT = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class UndeliveredReminder:
    """A reminder email that did not go, as the deadlines screen lists it."""

    pk: int
    #: "failed" (tried again at ``next_attempt_at``), "gave_up", "sending" (a retry going
    #: out now) or "cut_off" (claimed longer than :data:`SEND_TIMEOUT` ago, never finished)
    delivery: str
    deadline_title: str
    due_date: dt.date
    threshold_days: int
    case_id: int
    case_number: str
    email_to: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str


def reminder_email_problems(
    firm: Firm, now: dt.datetime, limit: int = 50
) -> tuple[int, list[UndeliveredReminder]]:
    """The firm's reminder emails that did not go and still apply (the deadline open at
    the due date the reminder is for: one satisfied or moved since supersedes it): failed
    (tried again later) or being tried again right now, given up, or cut off mid-send; how
    many, and the newest ``limit``. A first send going out now is not a problem yet."""
    claimed_before = now - SEND_TIMEOUT
    qs = DeadlineReminder.objects.filter(
        Q(email_status__in=["failed", "gave_up"])
        | Q(email_status="sending")
        & (
            Q(email_claimed_at__isnull=True)
            | Q(email_claimed_at__lt=claimed_before)
            | Q(email_attempts__gt=1)
        ),
        STILL_APPLIES,
        firm=firm,
    )
    rows = list(
        qs.order_by("-created_at", "-pk").values(
            "pk",
            "email_status",
            "email_claimed_at",
            "email_attempts",
            "email_next_attempt_at",
            "email_last_error",
            "email_to",
            "threshold_days",
            "due_date",
            "deadline__title",
            "deadline__case_id",
            "deadline__case__number",
        )[:limit]
    )
    count = qs.count() if len(rows) == limit else len(rows)
    return count, [_undelivered(row, claimed_before) for row in rows]


def _undelivered(row: Mapping[str, Any], claimed_before: dt.datetime) -> UndeliveredReminder:
    delivery = row["email_status"]
    if delivery == "sending":
        claimed = row["email_claimed_at"]
        delivery = "sending" if claimed is not None and claimed >= claimed_before else "cut_off"
    return UndeliveredReminder(
        pk=row["pk"],
        delivery=delivery,
        deadline_title=row["deadline__title"],
        due_date=row["due_date"],
        threshold_days=row["threshold_days"],
        case_id=row["deadline__case_id"],
        case_number=row["deadline__case__number"],
        email_to=row["email_to"] or "",
        attempts=row["email_attempts"] or 0,
        next_attempt_at=row["email_next_attempt_at"],
        last_error=row["email_last_error"] or "",
    )
