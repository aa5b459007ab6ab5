"""Statutes of limitations and critical deadlines (issue 16).

- **Rules** (:class:`~casebridge.cases.models.LimitationRule`): a firm's table of limitation
  periods by state, claim type and rule type, each with the incident (accrual) dates it
  covers, its citation and a "verify with counsel" flag. Administrators (and holders of the
  settings permission) add and change them; a rule is never deleted, only deactivated.
- **Computed deadlines**: a case's incident date, state and claim type pick the rule in
  effect on the incident date; :func:`case_deadlines_recompute` (called by the case services
  whenever one of the three changes, and after a rule changes) creates or moves the case's
  statute of limitations and notice deadlines. A satisfied deadline is never rewritten; one
  changed by hand keeps its date (the computed date is still shown beside it).
- **Deadlines** are never deleted (a trigger refuses it, migration 0014): satisfied, or their
  due date changed with a reason, each audited with before and after.
- **Reminders** at 90, 60, 30 and 7 days (:func:`deadline_reminders_send`, run hourly by
  ``cases.tasks.deadline_reminders_hourly``).

Date arithmetic (:func:`add_period`): years and months keep the day of the month; a day the
target month lacks (29 February in a common year, 31 April) becomes the month's **last**
day (28 February), the earlier of the two candidates, so a computed deadline is never later
than the law's. Days are calendar days.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Case as DbCase
from django.db.models import (
    DateField,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import Conflict, NotFound, ValidationFailed
from casebridge.cases.models import (
    Case,
    ClaimType,
    Deadline,
    DeadlineKind,
    DeadlineReminder,
    DeadlineReminderRead,
    DeadlineStatus,
    Firm,
    LimitationRule,
    PeriodUnit,
    RuleType,
    User,
)
from casebridge.cases.permissions import require_settings_access
from casebridge.cases.selectors.deadlines import STILL_APPLIES, rule_in_effect, unread_of
from casebridge.core import clock, timezones
from casebridge.core.text import plain_line, plain_text
from casebridge.core.words import format_day

log = logging.getLogger(__name__)

#: Days before a due date at which a reminder is made, nearest last.
THRESHOLDS = (90, 60, 30, 7)
#: The computed deadlines: the deadline kind and the rule type it is computed from.
COMPUTED = (
    (DeadlineKind.STATUTE, RuleType.STATUTE),
    (DeadlineKind.NOTICE, RuleType.GOVERNMENT_NOTICE),
)
#: The mail backend that sends nothing: with it, reminders are in-app only.
NO_MAIL = "django.core.mail.backends.dummy.EmailBackend"
#: Dates a person may type: no deadline or rule date outside these.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2200, 12, 31)

#: The rules every firm starts with (firm creation; migration 0014 for existing firms).
#: Only rules whose period, citation and effective date can be stated exactly; each one is
#: marked "verify with counsel".
SEED_RULES: tuple[dict[str, Any], ...] = (
    {
        "state": "FL",
        "claim_type": ClaimType.NEGLIGENCE,
        "rule_type": RuleType.STATUTE,
        "period_count": 4,
        "period_unit": PeriodUnit.YEARS,
        "effective_from": None,
        "effective_until": dt.date(2023, 3, 24),
        "citation": "§ 95.11(3)(a), Fla. Stat. (before ch. 2023-15, Laws of Fla.)",
        "note": "Negligence causes of action accruing on or before 24 March 2023.",
    },
    {
        "state": "FL",
        "claim_type": ClaimType.NEGLIGENCE,
        "rule_type": RuleType.STATUTE,
        "period_count": 2,
        "period_unit": PeriodUnit.YEARS,
        "effective_from": dt.date(2023, 3, 25),
        "effective_until": None,
        "citation": "§ 95.11(4)(a), Fla. Stat., as amended by ch. 2023-15, Laws of Fla. (HB 837)",
        "note": "Negligence causes of action accruing after 24 March 2023, the act's "
        "effective date.",
    },
    {
        "state": "CA",
        "claim_type": ClaimType.NEGLIGENCE,
        "rule_type": RuleType.STATUTE,
        "period_count": 2,
        "period_unit": PeriodUnit.YEARS,
        "effective_from": dt.date(2003, 1, 1),
        "effective_until": None,
        "citation": "Cal. Civ. Proc. Code § 335.1",
        "note": "Injury to or death of an individual caused by wrongful act or neglect; "
        "section in force from 1 January 2003.",
    },
)


# --- Date arithmetic -----------------------------------------------------------------------


def add_period(start: dt.date, count: int, unit: str) -> dt.date:
    """``start`` plus ``count`` years, months or days; a day the target month lacks becomes
    its last day (2024-02-29 + 1 year = 2025-02-28)."""
    if unit == PeriodUnit.DAYS:
        return start + dt.timedelta(days=count)
    months = count * 12 if unit == PeriodUnit.YEARS else count
    if unit not in (PeriodUnit.YEARS, PeriodUnit.MONTHS):
        raise ValueError(f"unknown period unit {unit!r}")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def firm_today(firm: Firm) -> dt.date:
    with timezones.firm_zone(firm.time_zone):
        return clock.today()


# --- Rules ---------------------------------------------------------------------------------


def _clean_state(state: str, field: str = "state") -> str:
    state = (state or "").strip().upper()
    if len(state) != 2 or not state.isascii() or not state.isalpha():
        raise ValidationFailed("state must be a two-letter code such as FL", field=field)
    return state


def _clean_choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(
            f"{field.replace('_', ' ')} must be one of {', '.join(choices.values)}", field=field
        )
    return value


def _clean_date(value: dt.date | None, field: str) -> dt.date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValidationFailed(
            f"{field.replace('_', ' ')} must fall between {EARLIEST.year} and {LATEST.year}",
            field=field,
        )
    return value


RULE_FIELDS = (
    "state",
    "claim_type",
    "rule_type",
    "period_count",
    "period_unit",
    "effective_from",
    "effective_until",
    "citation",
    "verify_with_counsel",
    "note",
    "is_active",
)


def _rule_values(rule: LimitationRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def _check_rule(rule: LimitationRule) -> None:
    """Every field valid and no other active rule of the same state, claim type and rule
    type covering an incident date this one covers."""
    rule.state = _clean_state(rule.state)
    _clean_choice(rule.claim_type, ClaimType, "claim_type")
    _clean_choice(rule.rule_type, RuleType, "rule_type")
    _clean_choice(rule.period_unit, PeriodUnit, "period_unit")
    if not isinstance(rule.period_count, int) or not 1 <= rule.period_count <= 3650:
        raise ValidationFailed("period must be a whole number from 1 to 3650", field="period_count")
    _clean_date(rule.effective_from, "effective_from")
    _clean_date(rule.effective_until, "effective_until")
    if (
        rule.effective_from is not None
        and rule.effective_until is not None
        and rule.effective_until < rule.effective_from
    ):
        raise ValidationFailed(
            "the rule must end on or after the day it starts", field="effective_until"
        )
    rule.citation = plain_line((rule.citation or "").strip(), field="citation")[:200]
    if not rule.citation:
        raise ValidationFailed(
            "a statute citation is required (e.g. § 95.11(4)(a), Fla. Stat.)", field="citation"
        )
    rule.note = plain_line((rule.note or "").strip(), field="note")[:500]
    if not rule.is_active:
        return
    others = LimitationRule.objects.filter(
        firm_id=rule.firm_id,
        state=rule.state,
        claim_type=rule.claim_type,
        rule_type=rule.rule_type,
        is_active=True,
    ).exclude(pk=rule.pk)
    if rule.effective_until is not None:
        others = others.filter(
            Q(effective_from__isnull=True) | Q(effective_from__lte=rule.effective_until)
        )
    if rule.effective_from is not None:
        others = others.filter(
            Q(effective_until__isnull=True) | Q(effective_until__gte=rule.effective_from)
        )
    clash = others.first()
    if clash is not None:
        raise ValidationFailed(
            f"another active rule ({clash.citation}, {rule_span(clash)}) covers some of "
            "these incident dates; end or deactivate it first",
            field="effective_from",
        )


def rule_span(rule: LimitationRule) -> str:
    """The incident dates a rule covers, in words."""
    if rule.effective_from and rule.effective_until:
        start, end = format_day(rule.effective_from), format_day(rule.effective_until)
        return f"incidents from {start} to {end}"
    if rule.effective_from:
        return f"incidents from {format_day(rule.effective_from)}"
    if rule.effective_until:
        return f"incidents on or before {format_day(rule.effective_until)}"
    return "every incident date"


def limitation_rules_seed(*, firm: Firm) -> list[LimitationRule]:
    """The rules a firm starts with (:data:`SEED_RULES`); firm creation calls it."""
    now = clock.now()
    return LimitationRule.objects.bulk_create(
        [
            LimitationRule(
                firm=firm, verify_with_counsel=True, created_at=now, updated_at=now, **values
            )
            for values in SEED_RULES
        ]
    )


def _rule_save(rule: LimitationRule) -> None:
    """Save a checked rule; the database's overlap trigger refusing it (another person
    saved an overlapping rule meanwhile) is a 409 naming the rule, not a 500."""
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise Conflict(
            f"another active rule for {rule.state} {rule.get_claim_type_display().lower()} "
            "covers some of these incident dates (saved meanwhile): reload the rules",
            field="effective_from",
        ) from None


@transaction.atomic
def limitation_rule_create(
    *,
    firm: Firm,
    actor: User,
    state: str,
    claim_type: str,
    rule_type: str,
    period_count: int,
    period_unit: str,
    citation: str,
    effective_from: dt.date | None = None,
    effective_until: dt.date | None = None,
    verify_with_counsel: bool = True,
    note: str = "",
) -> LimitationRule:
    require_settings_access(actor)
    now = clock.now()
    rule = LimitationRule(
        firm=firm,
        state=state,
        claim_type=claim_type,
        rule_type=rule_type,
        period_count=period_count,
        period_unit=period_unit,
        effective_from=effective_from,
        effective_until=effective_until,
        citation=citation,
        verify_with_counsel=verify_with_counsel,
        note=note,
        created_at=now,
        updated_at=now,
    )
    _check_rule(rule)
    _rule_save(rule)
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create",
        entity_type="limitation_rule",
        entity_id=rule.pk,
        summary=f"Limitation rule {rule} ({rule.citation}) added",
        after=_rule_values(rule),
    )
    _recompute_cases_of(rule, actor)
    return rule


@transaction.atomic
def limitation_rule_update(
    *, firm: Firm, actor: User, rule_id: int, **changes: Any
) -> LimitationRule:
    """Change a rule's fields (deactivate it with ``is_active=False``); the open computed
    deadlines of the cases it may apply to are computed again."""
    require_settings_access(actor)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
        )
    rule = LimitationRule.objects.select_for_update().filter(firm=firm, pk=rule_id).first()
    if rule is None:
        raise NotFound("limitation rule not found in this firm", field="rule")
    before = _rule_values(rule)
    old_key = (rule.state, rule.claim_type)
    for name, value in changes.items():
        setattr(rule, name, value)
    _check_rule(rule)
    after = _rule_values(rule)
    if before == after:
        return rule
    rule.updated_at = clock.now()
    _rule_save(rule)
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="change" if rule.is_active or not before["is_active"] else "deactivate",
        entity_type="limitation_rule",
        entity_id=rule.pk,
        summary=f"Limitation rule {rule} ({rule.citation}) changed",
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    _recompute_cases_of(rule, actor, also=old_key)
    return rule


class AddPeriod(Func):
    """``date`` plus ``count`` years, months or days in SQL, as :func:`add_period` does in
    Python: a day the target month lacks becomes its last day (PostgreSQL's date +
    interval does so; SQLite's ``date()`` would run into the next month, so the day is
    capped at the month's last)."""

    output_field = DateField()

    def __init__(self, date: Any, count: int, unit: str) -> None:
        if unit not in PeriodUnit.values or not isinstance(count, int):
            raise ValueError(f"unknown period {count!r} {unit!r}")
        super().__init__(date)
        self.count, self.unit = count, unit

    # PostgreSQL and SQLite only, the two databases Casebridge runs on

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(({sql}) + make_interval({self.unit} => %s) AS date)", [*params, self.count]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        if self.unit == PeriodUnit.DAYS:
            return f"date(({sql}), %s)", [*params, f"+{self.count} days"]
        months = self.count * 12 if self.unit == PeriodUnit.YEARS else self.count
        first = f"date(({sql}), 'start of month', %s)"
        return (
            f"min(date({first}, '+' || (CAST(strftime('%%d', ({sql})) AS INTEGER) - 1) || "
            f"' days'), date({first}, '+1 month', '-1 day'))",
            [*params, f"+{months} months", *params, *params, f"+{months} months"],
        )


@dataclass(frozen=True)
class RecomputeCounts:
    """What a rule change did to the computed deadlines of the cases it concerns."""

    moved: int = 0
    kept_by_hand: int = 0
    created: int = 0
    without_rule: int = 0

    def __add__(self, other: RecomputeCounts) -> RecomputeCounts:
        return RecomputeCounts(
            self.moved + other.moved,
            self.kept_by_hand + other.kept_by_hand,
            self.created + other.created,
            self.without_rule + other.without_rule,
        )

    @property
    def touched(self) -> int:
        return self.moved + self.kept_by_hand + self.created + self.without_rule


def _covers(rule: LimitationRule) -> Q:
    """The cases (by incident date) a rule covers (never an empty Q: ``Q(x) | Q()`` is
    ``Q(x)``, which would drop a rule covering every date from what is covered)."""
    q = Q(incident_date__isnull=False)
    if rule.effective_from is not None:
        q &= Q(incident_date__gte=rule.effective_from)
    if rule.effective_until is not None:
        q &= Q(incident_date__lte=rule.effective_until)
    return q


def _recompute_cases_of(
    rule: LimitationRule, actor: User | None, also: tuple[str, str] | None = None
) -> RecomputeCounts:
    """After a rule changes, the computed deadlines of every case of its state and claim
    type (and of the ones it had before) follow the rules as :func:`case_deadlines_recompute`
    would make them one case at a time, in a few statements per rule whatever the number
    of cases (review of issue 16: a case at a time took minutes at 100,000 cases inside the
    request). Satisfied deadlines are left alone; a date set by hand keeps its date (its
    computed date moves). One audit event sums it up with counts."""
    keys = sorted({(rule.state, rule.claim_type), *([also] if also else [])})
    counts = RecomputeCounts()
    for state, claim_type in keys:
        cases = Case.objects.filter(
            firm_id=rule.firm_id,
            jurisdiction_state=state,
            claim_type=claim_type,
            incident_date__isnull=False,
        )
        for kind, rule_type in COMPUTED:
            counts += _recompute_kind(
                rule.firm_id, cases, kind, rule_type, state, claim_type, actor
            )
    if counts.touched:
        cases_audit(
            firm_id=rule.firm_id,
            actor=actor,
            action="recompute",
            entity_type="limitation_rule",
            entity_id=rule.pk,
            summary=f"Limitation rule {rule} ({rule.citation}) changed: "
            f"{counts.moved} deadlines moved, {counts.kept_by_hand} set by hand kept their "
            f"date, {counts.created} computed, {counts.without_rule} without a rule now",
            after={
                "moved": counts.moved,
                "kept_by_hand": counts.kept_by_hand,
                "created": counts.created,
                "without_rule": counts.without_rule,
            },
        )
    return counts


def _recompute_kind(
    firm_id: int,
    cases: Any,
    kind: str,
    rule_type: str,
    state: str,
    claim_type: str,
    actor: User | None,
) -> RecomputeCounts:
    rules = sorted(
        LimitationRule.objects.filter(
            firm_id=firm_id,
            state=state,
            claim_type=claim_type,
            rule_type=rule_type,
            is_active=True,
        ),
        # as rule_in_effect: the latest starting first, should two cover a date, one open to
        # any earlier date last (sorted here, so the same on both databases)
        key=lambda r: (r.effective_from or dt.date.min, r.pk),
        reverse=True,
    )
    open_of_kind = Deadline.objects.filter(firm_id=firm_id, kind=kind, status=DeadlineStatus.OPEN)
    incident = Subquery(Case.objects.filter(pk=OuterRef("case_id")).values("incident_date")[:1])
    counts = RecomputeCounts()
    covered = Q(pk__in=[])
    now = clock.now()
    for each in rules:
        targets = cases.filter(_covers(each)).exclude(covered)
        covered |= _covers(each)
        title = _computed_title(kind, each)
        computed = AddPeriod(incident, each.period_count, each.period_unit)
        changing = (
            open_of_kind.filter(case__in=targets)
            .annotate(new_computed=computed)
            .filter(
                ~Q(rule_id=each.pk)
                | Q(computed_due_date__isnull=True)
                | ~Q(computed_due_date=F("new_computed"))
                | ~Q(title=title)
                | ~Q(verify_with_counsel=each.verify_with_counsel)
                | Q(set_by_hand=False) & ~Q(due_date=F("new_computed"))
            )
        )
        by_hand = changing.filter(set_by_hand=True).count()
        changed = changing.update(
            rule_id=each.pk,
            title=title,
            computed_due_date=computed,
            verify_with_counsel=each.verify_with_counsel,
            due_date=DbCase(When(set_by_hand=True, then=F("due_date")), default=computed),
        )
        created = _deadlines_insert(
            targets.exclude(deadlines__kind=kind), kind, each, title, actor, now
        )
        counts += RecomputeCounts(changed - by_hand, by_hand, created, 0)
    # no rule covers them now: the deadline stays with the date it has, without a rule (a
    # rule that applies again moves a date no person changed)
    lost = open_of_kind.filter(rule__isnull=False, case__in=cases.exclude(covered)).update(
        rule=None, computed_due_date=None
    )
    return counts + RecomputeCounts(without_rule=lost)


def _deadlines_insert(
    cases: Any, kind: str, rule: LimitationRule, title: str, actor: User | None, now: Any
) -> int:
    """INSERT ... SELECT the computed deadline of each of ``cases`` (none has one yet)."""
    computed = AddPeriod(F("incident_date"), rule.period_count, rule.period_unit)
    select = cases.order_by().annotate(
        d_firm=F("firm_id"),
        d_case=F("pk"),
        d_kind=Value(kind),
        d_title=Value(title),
        d_due=computed,
        d_computed=computed,
        d_rule=Value(rule.pk),
        d_by_hand=Value(False),
        d_verify=Value(rule.verify_with_counsel),
        d_status=Value(DeadlineStatus.OPEN),
        d_note=Value(""),
        d_created_by=Cast(Value(actor.pk if actor else None), IntegerField()),
        d_created_at=Value(now, output_field=DateTimeField()),
    )
    columns = (
        "firm_id, case_id, kind, title, due_date, computed_due_date, rule_id, set_by_hand, "
        "verify_with_counsel, status, satisfied_note, created_by_id, created_at"
    )
    names = [
        "d_firm",
        "d_case",
        "d_kind",
        "d_title",
        "d_due",
        "d_computed",
        "d_rule",
        "d_by_hand",
        "d_verify",
        "d_status",
        "d_note",
        "d_created_by",
        "d_created_at",
    ]
    sql, params = select.values_list(*names).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Deadline._meta.db_table} ({columns}) {sql}", params)
        return max(int(cursor.rowcount), 0)


# --- Computed deadlines --------------------------------------------------------------------


def case_jurisdiction_clean(*, state: str, claim_type: str) -> tuple[str, str]:
    """A case's state and claim type as stored ('' for not known yet)."""
    state = _clean_state(state, "jurisdiction_state") if (state or "").strip() else ""
    claim_type = (claim_type or "").strip()
    if claim_type:
        _clean_choice(claim_type, ClaimType, "claim_type")
    return state, claim_type


def _computed_title(kind: str, rule: LimitationRule) -> str:
    what = "Statute of limitations" if kind == DeadlineKind.STATUTE else "Notice of claim"
    return f"{what}: {rule.state} {rule.get_claim_type_display().lower()}, {rule.period_words}"


def _deadline_values(deadline: Deadline) -> dict[str, Any]:
    return {
        "title": deadline.title,
        "due_date": deadline.due_date,
        "computed_due_date": deadline.computed_due_date,
        "rule": deadline.rule_id,
        "set_by_hand": deadline.set_by_hand,
    }


def case_deadlines_recompute(*, case: Case, actor: User | None, why: str) -> list[Deadline]:
    """Create or move the case's computed deadlines from its incident date, state and claim
    type. Call it inside the caller's transaction. Satisfied deadlines are left alone; a
    deadline whose date was set by hand keeps it (its computed date moves)."""
    touched = []
    for kind, rule_type in COMPUTED:
        rule = (
            rule_in_effect(
                firm_id=case.firm_id,
                state=case.jurisdiction_state,
                claim_type=case.claim_type,
                rule_type=rule_type,
                on=case.incident_date,
            )
            if case.incident_date is not None
            else None
        )
        existing = Deadline.objects.select_for_update().filter(case=case, kind=kind).first()
        if existing is not None and existing.status == DeadlineStatus.SATISFIED:
            continue
        if rule is None:
            if existing is None or existing.rule_id is None:
                continue
            # no rule now: the deadline stays (never deleted) with the date it has; it is not
            # a person's date for that (set_by_hand is deadline_change's alone), so a rule
            # that applies again moves it to the date the rule gives
            before = _deadline_values(existing)
            existing.rule = None
            existing.computed_due_date = None
            existing.save(update_fields=["rule", "computed_due_date"])
            _audit_change(existing, actor, before, reason=f"{why}: no rule applies any more")
            touched.append(existing)
            continue
        assert case.incident_date is not None
        computed = add_period(case.incident_date, rule.period_count, rule.period_unit)
        if existing is None:
            deadline = Deadline.objects.create(
                firm_id=case.firm_id,
                case=case,
                kind=kind,
                title=_computed_title(kind, rule),
                due_date=computed,
                computed_due_date=computed,
                rule=rule,
                verify_with_counsel=rule.verify_with_counsel,
                created_by=actor,
                created_at=clock.now(),
            )
            cases_audit(
                firm_id=case.firm_id,
                actor=actor,
                action="create",
                entity_type="deadline",
                entity_id=deadline.pk,
                summary=f"Case {case.number}: {deadline.title} computed: due "
                f"{format_day(computed)}",
                after={**_deadline_values(deadline), "case": case.number},
            )
            touched.append(deadline)
            continue
        before = _deadline_values(existing)
        existing.title = _computed_title(kind, rule)
        existing.rule = rule
        existing.computed_due_date = computed
        existing.verify_with_counsel = rule.verify_with_counsel
        if not existing.set_by_hand:
            existing.due_date = computed
        if _deadline_values(existing) != before:
            existing.save()
            _audit_change(existing, actor, before, reason=why)
            touched.append(existing)
    return touched


def _audit_change(
    deadline: Deadline, actor: User | None, before: dict[str, Any], *, reason: str
) -> None:
    after = _deadline_values(deadline)
    cases_audit(
        firm_id=deadline.firm_id,
        actor=actor,
        action="change",
        entity_type="deadline",
        entity_id=deadline.pk,
        summary=f"Case {deadline.case.number}: deadline {deadline.title} changed: {reason}",
        before={k: v for k, v in before.items() if after[k] != v},
        after={**{k: v for k, v in after.items() if before[k] != v}, "reason": reason},
    )


# --- Deadlines by hand ---------------------------------------------------------------------


def _deadline_of(firm: Firm, deadline_id: int) -> Deadline:
    deadline = (
        Deadline.objects.select_for_update()
        .select_related("case")
        .filter(firm=firm, pk=deadline_id)
        .first()
    )
    if deadline is None:
        raise NotFound("deadline not found in this firm", field="deadline")
    return deadline


def _actor_in(firm: Firm, actor: User) -> None:
    if actor.firm_id != firm.pk or not actor.is_active:
        raise NotFound("deadline not found in this firm", field="deadline")


@transaction.atomic
def deadline_create(
    *, firm: Firm, actor: User, case_id: int, title: str, due_date: dt.date, note: str = ""
) -> Deadline:
    """A critical deadline entered by hand (a court date, a deadline no rule computes)."""
    _actor_in(firm, actor)
    case = Case.objects.filter(firm=firm, pk=case_id).first()
    if case is None:
        raise ValidationFailed("case not found in this firm", field="case")
    title = plain_line((title or "").strip(), field="title")[:200]
    if not title:
        raise ValidationFailed("say what the deadline is for", field="title")
    if due_date is None:
        raise ValidationFailed("a due date is required", field="due_date")
    _clean_date(due_date, "due_date")
    plain_text(note, field="note")
    deadline = Deadline.objects.create(
        firm=firm,
        case=case,
        kind=DeadlineKind.MANUAL,
        title=title,
        due_date=due_date,
        set_by_hand=True,
        satisfied_note="",
        created_by=actor,
        created_at=clock.now(),
    )
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create",
        entity_type="deadline",
        entity_id=deadline.pk,
        summary=f"Case {case.number}: deadline {title}: due {format_day(due_date)}",
        after={**_deadline_values(deadline), "case": case.number, "note": note.strip()},
    )
    return deadline


@transaction.atomic
def deadline_change(
    *, firm: Firm, actor: User, deadline_id: int, due_date: dt.date, reason: str
) -> Deadline:
    """Move an open deadline's due date, saying why (audited with before and after). A
    computed deadline changed so keeps its date when the case's facts change later."""
    _actor_in(firm, actor)
    reason = plain_line((reason or "").strip(), field="reason")[:500]
    if not reason:
        raise ValidationFailed("say why the due date changes", field="reason")
    if due_date is None:
        raise ValidationFailed("a due date is required", field="due_date")
    _clean_date(due_date, "due_date")
    deadline = _deadline_of(firm, deadline_id)
    if deadline.status != DeadlineStatus.OPEN:
        raise Conflict("a satisfied deadline cannot change", field="due_date")
    if due_date == deadline.due_date:
        raise ValidationFailed("that is the due date already", field="due_date")
    before = _deadline_values(deadline)
    deadline.due_date = due_date
    deadline.set_by_hand = True
    deadline.save(update_fields=["due_date", "set_by_hand"])
    _audit_change(deadline, actor, before, reason=reason)
    return deadline


@transaction.atomic
def deadline_satisfy(
    *,
    firm: Firm,
    actor: User,
    deadline_id: int,
    satisfied_on: dt.date | None = None,
    note: str = "",
) -> Deadline:
    """Mark a deadline met (the complaint filed, the notice served), on a day not after
    today."""
    _actor_in(firm, actor)
    today = firm_today(firm)
    satisfied_on = satisfied_on or today
    if satisfied_on > today:
        raise ValidationFailed("the day it was satisfied is in the future", field="satisfied_on")
    _clean_date(satisfied_on, "satisfied_on")
    note = plain_line((note or "").strip(), field="note")[:500]
    deadline = _deadline_of(firm, deadline_id)
    if deadline.status != DeadlineStatus.OPEN:
        raise Conflict("the deadline is satisfied already", field="deadline")
    deadline.status = DeadlineStatus.SATISFIED
    deadline.satisfied_on = satisfied_on
    deadline.satisfied_by = actor
    deadline.satisfied_note = note
    deadline.save(update_fields=["status", "satisfied_on", "satisfied_by", "satisfied_note"])
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="satisfy",
        entity_type="deadline",
        entity_id=deadline.pk,
        summary=f"Case {deadline.case.number}: deadline {deadline.title} satisfied",
        before={"status": DeadlineStatus.OPEN},
        after={"status": DeadlineStatus.SATISFIED, "satisfied_on": satisfied_on, "note": note},
    )
    return deadline


# --- Reminders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderRun:
    made: int
    emailed: int
    #: failed emails tried again this run, and how many of them went
    retried: int = 0
    resent: int = 0


#: A failed email is tried again by the hourly task after 1, 2, 4, 8 and 16 hours, then
#: given up (shown to the firm's administrators on the deadlines screen all along).
MAX_EMAIL_ATTEMPTS = 6
RETRY_AFTER = dt.timedelta(hours=1)


def threshold_for(days_left: int) -> int | None:
    """The nearest threshold a deadline ``days_left`` away has reached (none past 90 days
    or once overdue)."""
    if days_left < 0:
        return None
    reached = [t for t in THRESHOLDS if days_left <= t]
    return min(reached) if reached else None


def mail_configured() -> bool:
    return bool(settings.EMAIL_BACKEND) and settings.EMAIL_BACKEND != NO_MAIL


def deadline_reminders_send(
    *, today: dt.date | None = None, now: dt.datetime | None = None
) -> ReminderRun:
    """Make the reminders that are due, each firm on its own calendar: one per open
    deadline, due date and threshold reached, for the case's responsible attorney (the
    unique constraint makes a second run, or a racing one, make none), emailed where mail
    is configured; then try again the emails that failed and are due another attempt
    (:func:`deadline_reminders_retry`). A deadline first seen inside 30 days gets its
    30-day reminder only. A case without an attorney has its reminders emailed to the
    firm's administrators (and shown to them in the app)."""
    made = emailed = 0
    for firm in Firm.objects.order_by("pk"):
        day = today or firm_today(firm)
        due = (
            Deadline.objects.filter(
                firm=firm,
                status=DeadlineStatus.OPEN,
                due_date__gte=day,
                due_date__lte=day + dt.timedelta(days=max(THRESHOLDS)),
            )
            .select_related("case", "case__responsible_attorney")
            .order_by("due_date", "pk")
        )
        for deadline in due.iterator(chunk_size=500):
            threshold = threshold_for((deadline.due_date - day).days)
            if threshold is None:
                continue
            reminder = _reminder_make(deadline, threshold)
            if reminder is None:
                continue
            made += 1
            emailed += _reminder_email(reminder, deadline, day, now)
    retried, resent = deadline_reminders_retry(today=today, now=now)
    return ReminderRun(made=made, emailed=emailed, retried=retried, resent=resent)


def deadline_reminders_retry(
    *, today: dt.date | None = None, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Try again the reminder emails that failed and whose next attempt is due at the
    run's start (``now``), for deadlines still open at the same due date (a reminder of a
    deadline satisfied or moved since is superseded: never tried again). Each is claimed by
    a conditional UPDATE (failed -> sending) before it is sent, so a racing run never sends
    it twice, and one that was sent is never sent again; the claim, and a failure's next
    attempt, are stamped with the clock as it reads at that moment (a run held up by a slow
    mail server claims its last reminders minutes after its start), or with ``now`` when
    it is given (the clock standing still for the run). Returns (tried, sent)."""
    run_at = now or clock.now()
    tried = sent = 0
    for firm in Firm.objects.order_by("pk"):
        day = today or firm_today(firm)
        due = (
            DeadlineReminder.objects.filter(
                STILL_APPLIES,
                firm=firm,
                email_status="failed",
                email_next_attempt_at__lte=run_at,
                due_date__gte=day,
            )
            .select_related("deadline", "deadline__case", "user")
            .order_by("email_next_attempt_at", "pk")
        )
        for reminder in due.iterator(chunk_size=200):
            tried += 1
            sent += _reminder_email(reminder, reminder.deadline, day, now, retry_due_by=run_at)
    return tried, sent


def _still_applies_here() -> Exists:
    """:data:`STILL_APPLIES` as a condition on the reminder's own row, for an UPDATE: a
    filter across the join makes Django write ``WHERE id IN (SELECT ... JOIN ...)``, and
    PostgreSQL re-checks only the outer ``WHERE`` on a row a racing claim changed meanwhile
    (so both claims would win); with ``EXISTS`` every condition is re-checked."""
    return Exists(
        Deadline.objects.filter(
            pk=OuterRef("deadline_id"), status=DeadlineStatus.OPEN, due_date=OuterRef("due_date")
        )
    )


def _reminder_make(deadline: Deadline, threshold: int) -> DeadlineReminder | None:
    attorney = deadline.case.responsible_attorney
    try:
        with transaction.atomic():
            return DeadlineReminder.objects.create(
                firm_id=deadline.firm_id,
                deadline=deadline,
                due_date=deadline.due_date,
                threshold_days=threshold,
                # no attorney (or one who left): nobody's, so the administrators see it
                user=attorney if attorney is not None and attorney.is_active else None,
                created_at=clock.now(),
            )
    except IntegrityError:
        return None  # made already (this run's twin, or an earlier run)


def reminder_recipients(deadline: Deadline) -> list[str]:
    """Whom a reminder is emailed to: the case's responsible attorney; when the case has
    none (or the attorney cannot receive it), the firm's active administrators."""
    attorney = deadline.case.responsible_attorney
    if attorney is not None and attorney.is_active and attorney.email:
        return [attorney.email]
    return list(
        User.objects.filter(firm_id=deadline.firm_id, is_firm_admin=True, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )


def _reminder_email(
    reminder: DeadlineReminder,
    deadline: Deadline,
    today: dt.date,
    now: dt.datetime | None,
    *,
    retry_due_by: dt.datetime | None = None,
) -> int:
    """Claim the reminder's email and send it; ``retry_due_by``: a failed one is tried
    again, if its next attempt is due by then. The claim and a failure's next attempt are
    stamped with ``now``, else the clock at that moment."""
    rows = DeadlineReminder.objects.filter(pk=reminder.pk)
    if not mail_configured():
        rows.update(email_status="no_mail_configured")
        return 0
    to = reminder_recipients(deadline)
    if not to:
        rows.update(email_status="no_recipient")
        return 0
    attempts = (reminder.email_attempts or 0) + 1
    # claim it: only the run that moves it to "sending" sends it (exactly once); a retry
    # only while it still applies (the deadline satisfied or moved meanwhile supersedes it),
    # every condition on the reminder's row (see _still_applies_here).
    # The moment of the claim tells a send going out now from one cut off (the screen).
    claimed = (
        rows.filter(
            _still_applies_here(), email_status="failed", email_next_attempt_at__lte=retry_due_by
        )
        if retry_due_by is not None
        else rows.filter(email_status="")
    ).update(
        email_status="sending",
        email_attempts=attempts,
        email_to=", ".join(to)[:1000],
        email_claimed_at=now or clock.now(),
    )
    if not claimed:
        return 0
    case = deadline.case
    days = (deadline.due_date - today).days
    body = (
        f"{deadline.title}\nCase {case.number} {case.name}\n"
        f"Due {format_day(deadline.due_date)} ({days} days from {format_day(today)}).\n"
    )
    if case.responsible_attorney_id is None:
        body += "The case has no responsible attorney: assign one.\n"
    if deadline.verify_with_counsel:
        body += "The date was computed from the firm's rules: verify it with counsel.\n"
    try:
        send_mail(f"Deadline in {days} days: case {case.number}", body, None, to)
    except Exception as exc:  # a mail server's refusal must not stop the run
        log.warning(
            "deadline reminder %s: mail failed (attempt %s): %s", reminder.pk, attempts, exc
        )
        gave_up = attempts >= MAX_EMAIL_ATTEMPTS
        failed_at = now or clock.now()
        rows.update(
            email_status="gave_up" if gave_up else "failed",
            email_last_error=str(exc)[:500] or type(exc).__name__,
            email_next_attempt_at=(
                None if gave_up else failed_at + RETRY_AFTER * 2 ** (attempts - 1)
            ),
        )
        return 0
    rows.update(email_status="sent", email_next_attempt_at=None)
    return 1


@transaction.atomic
def reminders_mark_read(*, user: User, reminder_ids: list[int] | None = None) -> int:
    """Mark the user's reminders read by this user (all unread ones when no ids are
    given): a reminder addressed to the administrators stays unread for the others.
    Returns how many were marked."""
    rows = unread_of(user)
    if reminder_ids is not None:
        rows = rows.filter(pk__in=reminder_ids)
    ids = list(rows.order_by("pk").values_list("pk", flat=True))
    now = clock.now()
    DeadlineReminderRead.objects.bulk_create(
        [DeadlineReminderRead(reminder_id=pk, user=user, read_at=now) for pk in ids],
        batch_size=1000,
        ignore_conflicts=True,  # a double click's twin marked it a moment ago
    )
    return len(ids)
