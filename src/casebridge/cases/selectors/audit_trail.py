"""The cases side's audit trail as people read it: a case's events (its Activity tab) and
the firm's (``/cases/audit/``), newest first, filtered, walked by keyset, exported as CSV.

Where a case's events are. An :class:`~casebridge.core.models.AuditEvent` names its entity
(``entity_type``, ``entity_id``), not its case, so a case's events are found three ways
(ADR 0039): the case itself (``case``, its id), its costs (``cost``, their ids, read with
the ``audit_entity`` index), and every event whose summary starts "Case <number>: " (the
settlement's and Medicare's services write them so, including for rows since deleted, such
as a withdrawn offer or an unstaged payment; the ``audit_summary_prefix`` index). On
PostgreSQL the three combine in one BitmapOr: a case's first page reads in under a
millisecond among a million events.

Reading the rows. Who is the user's name (their email if they are gone); before and after
are shown field by field, amounts as money, references by what they are called (a contact's
name, a case's number, a cost code, a treatment's provider and first visit), and no
database id is ever shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from casebridge.cases.models import (
    Case,
    Contact,
    Cost,
    CostCode,
    Firm,
    Lien,
    Negotiation,
    Treatment,
    User,
)
from casebridge.core import clock, timezones, words
from casebridge.core.dates import max_days_ahead
from casebridge.core.models import AuditEvent
from casebridge.core.money import format_cents

SYSTEM = "cases"

#: What an entity is called on the screen, by ``entity_type``.
ENTITY_LABELS = {
    "case": "Case",
    "contact": "Contact",
    "cost": "Cost",
    "cost_code": "Cost code",
    "deposit": "Deposit",
    "fee_change": "Fee change",
    "firm": "Firm",
    "firm_defaults": "Firm defaults",
    "lien": "Lien",
    "negotiation": "Negotiation",
    "settlement": "Settlement",
    "trust_item": "Trust payment",
    "user": "User",
    "client_medicare": "Medicare beneficiary",
    "medicare_step": "Medicare step",
    "medicare_hold": "Medicare hold",
    "treatment": "Treatment",
    "medical_bill": "Medical bill",
    "medical_request": "Records and bills request",
    "lien_reduction": "Lien reduction",
    "deadline": "Deadline",
    "limitation_rule": "Limitation rule",
}

#: Keys of before/after that refer to another row, and what kind of row.
_CONTACT_KEYS = ("payee", "holder", "party", "client")
_USER_KEYS = ("responsible_attorney", "user", "requested_by", "decided_by")
#: Keys that are no one's business on a screen (ids, system columns).
_HIDDEN = {"id", "firm", "firm_id", "actor_id", "entity_id"}


def entity_label(entity_type: str) -> str:
    return ENTITY_LABELS.get(entity_type, entity_type.replace("_", " ").capitalize())


def action_label(action: str) -> str:
    return action.replace("_", " ").capitalize()


@dataclass(frozen=True)
class AuditFilters:
    """What a list is narrowed to; every field optional."""

    user_id: int | None = None
    entity: str = ""
    action: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    case_number: str = ""
    text: str = ""


def case_events_q(case: Case) -> Q:
    """The events of one case (see the module docstring)."""
    # the ids as a list, not a subquery: an OR with a subquery cannot combine the indexes
    # (PostgreSQL read 1M events newest first, 0.7 s; with the list, a BitmapOr, 0.5 ms)
    cost_ids = [str(pk) for pk in Cost.objects.filter(case_id=case.pk).values_list("pk", flat=True)]
    return (
        Q(entity_type="case", entity_id=str(case.pk))
        | Q(entity_type="cost", entity_id__in=cost_ids)
        | Q(summary__startswith=f"Case {case.number}: ")
    )


def _start_of(day: dt.date, zone_name: str | None) -> dt.datetime:
    """Midnight at the start of ``day`` on the firm's clock, as an aware moment."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezones.zone(zone_name))


#: No event is older: a "from" day before it does not narrow the list (and a day near the
#: first representable one would overflow on the way to UTC).
EARLIEST_DAY = dt.date(1900, 1, 1)


def _day_bounds(filters: AuditFilters) -> tuple[dt.date | None, dt.date | None]:
    """``since`` and ``until`` as they narrow the list: a "to" day past the last day a
    record may carry (today plus the days ahead the firm's window allows) and a "from" day
    before :data:`EARLIEST_DAY` do not narrow it, so any valid date (9999-12-31) is read
    rather than overflowing."""
    latest = clock.today() + dt.timedelta(days=max_days_ahead())
    since = filters.since if filters.since is not None and filters.since > EARLIEST_DAY else None
    until = filters.until if filters.until is not None and filters.until < latest else None
    return since, until


def audit_events(
    *, firm: Firm, filters: AuditFilters, case: Case | None = None
) -> QuerySet[AuditEvent]:
    """The firm's (or ``case``'s) events matching ``filters``, newest first (the
    ``audit_firm_at`` index: system, firm, at descending)."""
    qs = AuditEvent.objects.filter(system=SYSTEM, firm_id=firm.pk)
    if case is None and filters.case_number:
        case = Case.objects.filter(firm=firm, number=filters.case_number).first()
        if case is None:
            return qs.none().order_by("-at", "-pk")
    if case is not None:
        qs = qs.filter(case_events_q(case))
    if filters.user_id is not None:
        qs = qs.filter(actor_id=filters.user_id)
    if filters.entity:
        qs = qs.filter(entity_type=filters.entity)
    if filters.action:
        qs = qs.filter(action=filters.action)
    since, until = _day_bounds(filters)
    if since is not None:
        qs = qs.filter(at__gte=_start_of(since, firm.time_zone))
    if until is not None:
        qs = qs.filter(at__lt=_start_of(until + dt.timedelta(days=1), firm.time_zone))
    if filters.text:
        qs = qs.filter(summary__icontains=filters.text)
    return qs.order_by("-at", "-pk")


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditRow:
    """One event as the screen, the CSV and the API show it."""

    event_id: int
    at: dt.datetime
    who: str
    action: str
    action_label: str
    entity: str
    entity_label: str
    summary: str
    changes: list[Change]

    @property
    def when(self) -> str:
        """On the firm's clock (the zone active for the request or the export)."""
        return words.format_moment(self.at)

    @property
    def changes_text(self) -> str:
        """ "Amount: $100.00 → $120.00; Status: open" for a CSV cell."""
        parts = []
        for c in self.changes:
            if c.before and c.after:
                parts.append(f"{c.label}: {c.before} {words.ARROW} {c.after}")
            else:
                parts.append(f"{c.label}: {c.before or c.after}")
        return "; ".join(parts)


@dataclass
class _Names:
    """Names of the rows the events refer to, read in one query per kind for a page."""

    users: dict[int, str]
    contacts: dict[int, str]
    cases: dict[int, str]
    cost_codes: dict[int, str]
    costs: dict[int, str]
    offers: dict[int, str]
    liens: dict[int, str]
    treatments: dict[int, str]


def _ids(events: Iterable[AuditEvent], keys: Iterable[str]) -> set[int]:
    """The ids under ``keys`` (or ``<key>_id``) in the events' before and after, also in
    lists of records (a split's parts)."""
    wanted = set(keys) | {f"{k}_id" for k in keys}
    found: set[int] = set()

    def walk(data: object) -> None:
        if isinstance(data, dict):
            for key, value in data.items():
                if key in wanted and type(value) is int:
                    found.add(value)
                elif isinstance(value, list | dict):
                    walk(value)
        elif isinstance(data, list):
            for item in data:
                walk(item)

    for event in events:
        walk(event.before)
        walk(event.after)
    return found


def _names(firm: Firm, events: list[AuditEvent]) -> _Names:
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    user_ids = actor_ids | _ids(events, _USER_KEYS)
    users = {u.pk: u.display_name for u in User.objects.filter(firm=firm, pk__in=user_ids)}
    contacts = dict(
        Contact.objects.filter(firm=firm, pk__in=_ids(events, _CONTACT_KEYS)).values_list(
            "pk", "name"
        )
    )
    cases = {
        pk: f"case {number}"
        for pk, number in Case.objects.filter(firm=firm, pk__in=_ids(events, ["case"])).values_list(
            "pk", "number"
        )
    }
    codes = {
        c.pk: f"{c.code} {c.name}"
        for c in CostCode.objects.filter(firm=firm, pk__in=_ids(events, ["cost_code"]))
    }
    costs = {
        c.pk: c.described
        for c in Cost.objects.filter(firm=firm, pk__in=_ids(events, ["cost"])).select_related(
            "payee"
        )
    }
    offers = {
        n.pk: f"{n.get_kind_display().lower()} of {format_cents(n.amount_cents)} "
        f"from {n.party.name}"
        for n in Negotiation.objects.filter(
            firm=firm, pk__in=_ids(events, ["offer"])
        ).select_related("party")
    }
    liens = {
        ln.pk: f"{ln.get_kind_display()} ({ln.holder.name})"
        for ln in Lien.objects.filter(firm=firm, pk__in=_ids(events, ["lien"])).select_related(
            "holder"
        )
    }
    treatments = {
        t.pk: f"{t.provider.name}, "
        + (f"first visit {words.format_day(t.first_visit)}" if t.first_visit else "no visit yet")
        for t in Treatment.objects.filter(
            firm=firm, pk__in=_ids(events, ["treatment"])
        ).select_related("provider")
    }
    return _Names(users, contacts, cases, codes, costs, offers, liens, treatments)


def _reference(key: str, value: object, names: _Names) -> str | None:
    """The name of the row ``key`` refers to; None if ``key`` is not a reference."""
    base = key.removesuffix("_id")
    table: dict[int, str] | None = None
    if base in _CONTACT_KEYS:
        table = names.contacts
    elif base in _USER_KEYS:
        table = names.users
    elif base == "case":
        table = names.cases
    elif base == "cost_code":
        table = names.cost_codes
    elif base == "cost":
        table = names.costs
    elif base == "offer":
        table = names.offers
    elif base == "lien":
        table = names.liens
    elif base == "treatment":
        table = names.treatments
    if table is None:
        return None
    if value is None:
        return "—"
    return table.get(value, "(removed)") if type(value) is int else str(value)


def _label(key: str) -> str:
    base = key.removesuffix("_id").removesuffix("_cents").removesuffix("_bp")
    return base.replace("_", " ").capitalize()


def _fee_words(value: list[Any]) -> str:
    """A settlement's fee as recorded (mode, rate in basis points, fixed cents, on net)."""
    mode, rate_bp, fixed_cents, on_net = value
    if mode == "fixed":
        return f"fixed {format_cents(int(fixed_cents))}"
    base = "gross less costs" if on_net else "gross"
    return f"{int(rate_bp) / 100:.2f}% of the {base}"


def _value(key: str, value: object, names: _Names) -> str:
    ref = _reference(key, value, names)
    if ref is not None:
        return ref
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key.endswith("_cents") and type(value) is int:
        return format_cents(value)
    if key.endswith("_bp") and type(value) is int:
        return f"{value / 100:.2f}%"
    if key == "fee" and isinstance(value, list) and len(value) == 4:
        return _fee_words(value)
    if key == "charges" and isinstance(value, list) and len(value) == 2:
        copp, pd_fee = value
        return f"COPP {format_cents(int(copp))}, Property Damage Fee {format_cents(int(pd_fee))}"
    if isinstance(value, list):
        return "; ".join(_value(key, v, names) for v in value)
    if isinstance(value, dict):
        return ", ".join(
            f"{_label(k)} {_value(k, v, names)}"
            for k, v in sorted(value.items())
            if k not in _HIDDEN and not (k.endswith("_id") and _reference(k, 0, names) is None)
        )
    return str(value)


def _changes(event: AuditEvent, names: _Names) -> list[Change]:
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    # by name: PostgreSQL's jsonb keeps its own key order, so both databases read alike
    keys = sorted({*before, *after})
    out = []
    for key in keys:
        if key in _HIDDEN or (key.endswith("_id") and _reference(key, 0, names) is None):
            continue
        out.append(
            Change(
                _label(key),
                _value(key, before[key], names) if key in before else "",
                _value(key, after[key], names) if key in after else "",
            )
        )
    return out


def audit_rows(*, firm: Firm, events: list[AuditEvent]) -> list[AuditRow]:
    """The events as people read them (names looked up once for all of them)."""
    names = _names(firm, events)
    return [
        AuditRow(
            event_id=e.pk,
            at=e.at,
            who=names.users.get(e.actor_id, e.actor_label)
            if e.actor_id
            else (e.actor_label or "system"),
            action=e.action,
            action_label=action_label(e.action),
            entity=e.entity_type,
            entity_label=entity_label(e.entity_type),
            summary=e.summary,
            changes=_changes(e, names),
        )
        for e in events
    ]


def iter_audit_rows(
    *, firm: Firm, queryset: QuerySet[AuditEvent], chunk: int = 500
) -> Iterator[AuditRow]:
    """Every row of ``queryset``, read ``chunk`` at a time (memory stays flat however many
    there are): the CSV export's source."""
    batch: list[AuditEvent] = []
    for event in queryset.iterator(chunk_size=chunk):
        batch.append(event)
        if len(batch) >= chunk:
            yield from audit_rows(firm=firm, events=batch)
            batch = []
    if batch:
        yield from audit_rows(firm=firm, events=batch)


def entity_choices() -> list[tuple[str, str]]:
    return sorted(ENTITY_LABELS.items(), key=lambda kv: kv[1])


def firm_users(firm: Firm) -> list[tuple[int, str]]:
    return [(u.pk, u.display_name) for u in User.objects.filter(firm=firm)]
