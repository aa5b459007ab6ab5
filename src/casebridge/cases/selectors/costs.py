"""Costs: a case's Costs tab and the firm-wide Costs Management screen.

:func:`costs_management_page` serves the Open / Pending / Paid tabs with filters, sorting
and keyset ("cursor") pagination, and stays O(page) at 1,000,000 costs
(bench/costs_management.py measures it; bench/README.md shows each query's plan). A page
costs three queries whatever its depth:

- the tabs' counts and totals: without filters one row per tab from ``CostTabTotal``,
  which triggers on the costs table keep exact (migration 0008); with filters one grouped
  aggregate over the three tabs, read from the filter's index (each ends with the amount);
- the page's ids, read by keyset from the tab's index: the rows after (or before) the
  cursor's sort key and id, never an OFFSET over the rows skipped; sorted by case or by
  payee (a joined column no costs index is in order of), two queries that walk the other
  table instead (:func:`_walk`), each about a page's work;
- the page's rows by id with their case, attorney, payee and cost code.

A cursor is an opaque token naming its sort, the sort key and id of the row it follows
(or precedes), and the direction; :data:`LAST` asks for the last page. A walked sort's
key is its case number or payee name and id, and the cost's date.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum

from casebridge.cases.models import Case, Contact, Cost, CostStatus, CostTabTotal, Firm


@dataclass(frozen=True)
class Sort:
    """Rows in order of ``key`` (descending or not), ties broken by id (likewise)."""

    key: str
    key_descending: bool
    id_descending: bool


@dataclass(frozen=True)
class Through:
    """A sort on another table's column: the costs of each row of ``model`` in the order of
    ``keys`` (ascending; unique together within a firm), and each row's costs newest first
    (``-cost_date``, ``-id``). Walked from that table (see :func:`_walk`): its rows in
    order through its (firm, key) index, each probing the costs' (``link``, status,
    -cost_date, -id) index, so a page reads about a page of each, never the whole tab."""

    model: type[Case] | type[Contact]
    link: str
    keys: tuple[str, ...]
    #: Which of the firm's rows can have costs at all (the walk reads no others).
    only: dict[str, Any] = field(default_factory=dict)


SORTS = {
    "date": Sort("cost_date", True, True),
    "-date": Sort("cost_date", False, False),
    "amount": Sort("amount_cents", True, True),
    "-amount": Sort("amount_cents", False, False),
}
#: Case number, then newest first; payee name, then the payee (names repeat), then newest
#: first. The whole order is what ``order_by(*ORDER[sort])`` gives on the tab.
THROUGH = {
    "case": Through(Case, "case_id", ("number",)),
    # Only contacts a cost has named as its payee (``Contact.is_payee``, kept by a trigger:
    # migration 0016), through (firm, is_payee, name, id): not every client.
    "payee": Through(Contact, "payee_id", ("name", "pk"), {"is_payee": True}),
}
ORDER = {
    **{
        name: (s.key if not s.key_descending else f"-{s.key}", "-pk" if s.id_descending else "pk")
        for name, s in SORTS.items()
    },
    "case": ("case__number", "-cost_date", "-pk"),
    "payee": ("payee__name", "payee_id", "-cost_date", "-pk"),
}
SORT_NAMES = (*SORTS, *THROUGH)
#: Newest first (a walk's order within one case or payee).
NEWEST = Sort("cost_date", True, True)
TABS = (CostStatus.OPEN, CostStatus.PENDING, CostStatus.PAID)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: The cursor of the last page (read backwards from the end).
LAST = "last"


class InvalidCursor(ValueError):
    """A cursor that is not one this selector gave for this sort."""


@dataclass(frozen=True)
class CostFilters:
    case_id: int | None = None
    attorney_id: int | None = None
    payee_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min_cents: int | None = None
    amount_max_cents: int | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in vars(self).values())


@dataclass(frozen=True)
class CostPage:
    items: list[Cost]
    #: The tab's costs (those the filters match) and their sum.
    count: int
    total_cents: int
    #: Each tab's count under the same filters (Open, Pending, Paid).
    tab_counts: dict[str, int]
    page_size: int
    sort: str
    status: str
    #: Cursors of the next and the previous page; None at either end.
    next_cursor: str | None = None
    prev_cursor: str | None = None
    filters: CostFilters = field(default_factory=CostFilters)

    @property
    def is_first(self) -> bool:
        return self.prev_cursor is None

    @property
    def is_last(self) -> bool:
        return self.next_cursor is None


def _filtered(firm: Firm, f: CostFilters, *, by_firm: bool = True) -> QuerySet[Cost]:
    """The firm's costs that ``f`` matches; with ``by_firm=False`` any firm's (for a walk
    that reads the costs of one of the firm's cases or payees at a time and checks each
    row's firm itself: a ``firm_id = ?`` there would let a planner, SQLite's without
    statistics, take the tab's (firm, status, ...) index instead of the case's or the
    payee's).

    An attorney's costs are an index range: each cost carries its case's responsible
    attorney (``Cost.attorney``, kept by triggers: migration 0016), and
    ``cases_cost_attorney_date`` (firm, attorney, status, -cost_date, -id, amount_cents)
    serves the page by date and the count and total over any date range."""
    qs = Cost.objects.filter(firm=firm) if by_firm else Cost.objects.all()
    if f.case_id is not None:
        qs = qs.filter(case_id=f.case_id)
    if f.attorney_id is not None:
        qs = qs.filter(attorney_id=f.attorney_id)
    if f.payee_id is not None:
        qs = qs.filter(payee_id=f.payee_id)
    if f.date_from is not None:
        qs = qs.filter(cost_date__gte=f.date_from)
    if f.date_to is not None:
        qs = qs.filter(cost_date__lte=f.date_to)
    if f.amount_min_cents is not None:
        qs = qs.filter(amount_cents__gte=f.amount_min_cents)
    if f.amount_max_cents is not None:
        qs = qs.filter(amount_cents__lte=f.amount_max_cents)
    return qs


def _tab_figures(firm: Firm, f: CostFilters) -> dict[str, tuple[int, int]]:
    """(count, total in cents) of each tab: the maintained totals, or the filtered rows'."""
    rows: list[tuple[str, int, int]]
    if not f.any:
        rows = list(
            CostTabTotal.objects.filter(firm=firm, status__in=TABS).values_list(
                "status", "count", "total_cents"
            )
        )
    else:
        rows = list(
            _filtered(firm, f)
            .filter(status__in=TABS)
            .values("status")
            .annotate(n=Count("*"), cents=Sum("amount_cents"))
            .order_by()
            .values_list("status", "n", "cents")
        )
    figures: dict[str, tuple[int, int]] = {str(tab): (0, 0) for tab in TABS}
    for status, n, cents in rows:
        figures[status] = (int(n or 0), int(cents or 0))
    return figures


def _key_text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def encode_cursor(sort: str, key: Any, pk: int, *, before: bool) -> str:
    """The token of the row (``key``, ``pk``) of ``sort``; a walked sort's key is the
    tuple of its other table's keys and the cost's date."""
    key = [_key_text(v) for v in key] if isinstance(key, tuple | list) else _key_text(key)
    raw = json.dumps([sort, key, pk, "b" if before else "a"], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple[Any, int, bool] | None:
    """(sort key, id, before?) of a cursor; None for :data:`LAST` (the end, read backwards).
    Raises :class:`InvalidCursor` for anything else, or a cursor of another sort."""
    if token == LAST:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        name, key, pk, way = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidCursor("not a cursor of this list") from None
    if name != sort or way not in ("a", "b") or type(pk) is not int or not 0 < pk < 2**63:
        raise InvalidCursor("not a cursor of this list (or of another sort)")
    if sort in THROUGH:
        return _through_key(THROUGH[sort], key), pk, way == "b"
    expected: type = str
    if SORTS[sort].key == "cost_date":
        try:
            key = dt.date.fromisoformat(key) if isinstance(key, str) else None
        except ValueError:
            key = None
        expected = dt.date
    elif SORTS[sort].key == "amount_cents":
        expected = int
    if type(key) is not expected or (isinstance(key, int) and not -(2**63) < key < 2**63):
        raise InvalidCursor("not a cursor of this list")
    return key, pk, way == "b"


def _through_key(through: Through, key: Any) -> tuple[Any, ...]:
    """A walk's cursor key: the other table's keys, then the cost's date."""
    shape = [str if k != "pk" else int for k in through.keys]
    if not isinstance(key, list) or len(key) != len(shape) + 1:
        raise InvalidCursor("not a cursor of this list")
    *outer, day = key
    if any(type(v) is not t for v, t in zip(outer, shape, strict=True)) or any(
        type(v) is int and not 0 < v < 2**63 for v in outer
    ):
        raise InvalidCursor("not a cursor of this list")
    for value in outer:  # a case number or a payee's name no database column stores
        if isinstance(value, str) and (len(value) > 300 or "\x00" in value):
            raise InvalidCursor("not a cursor of this list")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidCursor("not a cursor of this list") from None
    try:
        date = dt.date.fromisoformat(day) if isinstance(day, str) else None
    except ValueError:
        date = None
    if date is None:
        raise InvalidCursor("not a cursor of this list")
    return (*outer, date)


def _after(sort: Sort, key: Any, pk: int, *, backwards: bool) -> Q:
    """The rows past (key, pk) in the sort's order, or before it when ``backwards``. Written
    as ``key >= v AND (key > v OR id > pk)`` (directions per the sort) so that the index
    range starts at the cursor."""
    key_down = sort.key_descending != backwards
    id_down = sort.id_descending != backwards
    k = sort.key
    return Q(**{f"{k}__{'lte' if key_down else 'gte'}": key}) & (
        Q(**{f"{k}__{'lt' if key_down else 'gt'}": key})
        | Q(**{f"pk__{'lt' if id_down else 'gt'}": pk})
    )


def _ordering(sort: Sort, *, backwards: bool) -> tuple[str, str]:
    key_down = sort.key_descending != backwards
    id_down = sort.id_descending != backwards
    return (f"{'-' if key_down else ''}{sort.key}", f"{'-' if id_down else ''}pk")


def costs_matching(*, firm: Firm, status: str, filters: CostFilters) -> list[int]:
    """The ids of every cost of a Costs Management tab that ``filters`` match (what "select
    all N matching" acts on), newest first."""
    return list(
        _filtered(firm, filters)
        .filter(status=status)
        .order_by("-cost_date", "-pk")
        .values_list("pk", flat=True)
    )


def costs_management_page(
    *,
    firm: Firm,
    status: str = CostStatus.OPEN,
    filters: CostFilters | None = None,
    sort: str = "date",
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
) -> CostPage:
    """One page of a Costs Management tab: the first page, or the one after / before
    ``cursor`` (a token from an earlier page's ``next_cursor`` / ``prev_cursor``, or
    :data:`LAST`). Unknown sorts fall back to newest first. Raises :class:`InvalidCursor`
    for a cursor this list did not give. A cursor whose rows have all gone since gives
    the first (or the last) page."""
    filters = filters or CostFilters()
    if status not in TABS:
        status = CostStatus.OPEN
    sort = sort if sort in SORT_NAMES else "date"
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    anchor = decode_cursor(cursor, sort) if cursor else None
    figures = _tab_figures(firm, filters)
    count, total = figures[status]
    page = CostPage(
        items=[],
        count=count,
        total_cents=total,
        tab_counts={tab: n for tab, (n, _) in figures.items()},
        page_size=page_size,
        sort=sort,
        status=status,
        filters=filters,
    )
    if not count:
        return page
    backwards = cursor == LAST or (anchor is not None and anchor[2])
    keys: list[tuple[int, Any]]
    if sort in THROUGH:
        keys = _walk(
            firm,
            filters,
            status,
            THROUGH[sort],
            None if anchor is None else (anchor[0], anchor[1]),
            backwards=backwards,
            need=page_size + 1,
        )
    else:
        s = SORTS[sort]
        qs = _filtered(firm, filters).filter(status=status)
        if anchor is not None:
            qs = qs.filter(_after(s, anchor[0], anchor[1], backwards=backwards))
        keys = list(
            qs.order_by(*_ordering(s, backwards=backwards)).values_list("pk", s.key)[
                : page_size + 1
            ]
        )
    more = len(keys) > page_size
    keys = keys[:page_size]
    if backwards:
        keys.reverse()
    if not keys and anchor is not None:  # the rows past the cursor have gone: an end
        return costs_management_page(
            firm=firm,
            status=status,
            filters=filters,
            sort=sort,
            cursor=None if backwards else LAST,
            page_size=page_size,
        )
    if not keys:  # deleted since the count was read
        return page
    # By primary key alone: the ids come from the firm's tab already, and a filter on
    # (firm, status) here lets SQLite scan the whole tab instead of 50 rowid lookups.
    rows = Cost.objects.select_related(
        "case", "case__responsible_attorney", "payee", "cost_code"
    ).in_bulk([pk for pk, _ in keys])
    has_next = more if not backwards else cursor != LAST
    has_prev = more if backwards else anchor is not None
    first, last = keys[0], keys[-1]
    return CostPage(
        items=[rows[pk] for pk, _ in keys if pk in rows],
        count=count,
        total_cents=total,
        tab_counts=page.tab_counts,
        page_size=page_size,
        sort=sort,
        status=status,
        next_cursor=encode_cursor(sort, last[1], last[0], before=False) if has_next else None,
        prev_cursor=encode_cursor(sort, first[1], first[0], before=True) if has_prev else None,
        filters=filters,
    )


#: How many cases or payees a walk reads the costs of in its first statement, and the most
#: in one (SQLite allows 500 terms in a compound SELECT, and before 3.32 999 parameters: a
#: term with every filter has 8): the first few usually fill a page (PostgreSQL plans every
#: term, so 50 at once cost several times 16).
WALK_TERMS = (16, 120)


def _walk(
    firm: Firm,
    f: CostFilters,
    status: str,
    through: Through,
    anchor: tuple[tuple[Any, ...], int] | None,
    *,
    backwards: bool,
    need: int,
) -> list[tuple[int, tuple[Any, ...]]]:
    """The first ``need`` costs (id, cursor key) of the tab in ``through``'s order after
    ``anchor`` (its key and id), or before it when ``backwards`` (then in reverse order):
    exactly the rows, in the order, that ``order_by(*ORDER[sort])`` with the same keyset
    condition gives, read in two statements of about a page each:

    1. the other table's next rows (cases by number, payees by name and id) from the
       anchor's on, that have a cost the filters match in the tab (one probe of the costs'
       (case or payee, status, ...) index each), at most ``need + 1`` of them: each gives
       at least one cost, the anchor's own row perhaps none;
    2. each such row's costs, newest first (after the anchor on its own row), at most the
       ``need`` still wanted each, one ``UNION ALL`` of an indexed ``LIMIT`` per row.

    A cost moved to another tab between the two reads leaves a shorter step: the walk goes
    on from the last row read until it has ``need`` costs or the other table ends."""
    outer: QuerySet[Case] | QuerySet[Contact] = through.model.objects.filter(
        firm=firm, **through.only
    )
    if through.link == "case_id":
        if f.case_id is not None:
            outer = outer.filter(pk=f.case_id)
        if f.attorney_id is not None:
            outer = outer.filter(**{"responsible_attorney_id": f.attorney_id})
        f = replace(f, case_id=None, attorney_id=None)
    elif f.payee_id is not None:
        outer = outer.filter(pk=f.payee_id)
        f = replace(f, payee_id=None)
    costs = _filtered(firm, f, by_firm=False).filter(status=status)
    probe = costs.filter(**{through.link: OuterRef("pk")}).order_by().values("pk")[:1]
    outer = outer.alias(has_cost=Subquery(probe)).filter(has_cost__isnull=False)
    up = not backwards
    outer_order = [k if up else f"-{k}" for k in through.keys]
    inner_order = ("-cost_date", "-pk") if up else ("cost_date", "pk")
    start: tuple[Any, ...] | None = None
    inclusive = False
    if anchor is not None:
        start, inclusive = anchor[0][:-1], True
    found: list[tuple[int, tuple[Any, ...]]] = []
    while len(found) < need:
        rows = outer
        if start is not None:
            rows = rows.filter(_outer_after(through.keys, start, up=up, inclusive=inclusive))
        asked = need - len(found) + 1
        candidates = list(rows.order_by(*outer_order).values_list("pk", *through.keys)[:asked])
        resume: tuple[tuple[Any, ...], int] | None = None
        at, size = 0, WALK_TERMS[0]
        while at < len(candidates):
            chunk = candidates[at : at + size]
            wanted = need - len(found)
            terms, limits = [], []
            for n, (pk, *okey) in enumerate(chunk):
                term = costs.filter(**{through.link: pk})
                if anchor is not None and tuple(okey) == anchor[0][:-1]:
                    # the anchor's own case or payee: its costs past the anchor
                    term = term.filter(
                        _after(NEWEST, anchor[0][-1], anchor[1], backwards=backwards)
                    )
                # each row before this one gives a cost (but the anchor's own perhaps none)
                limits.append(max(1, wanted - n + 1))
                terms.append(
                    term.order_by(*inner_order).values_list(
                        "pk", "cost_date", through.link, "firm_id"
                    )[: limits[-1]]
                )
            by_link: dict[int, list[tuple[int, dt.date, bool]]] = {}
            for pk, day, link, firm_id in _union_all(terms):
                # another firm's cost is never shown (a case's or payee's costs are its
                # firm's unless a load went round the services), but it counts as read
                by_link.setdefault(link, []).append((pk, _day(day), firm_id == firm.pk))
            for (pk, *okey), limit in zip(chunk, limits, strict=True):
                # in the walk's order; each one's costs newest first (oldest, backwards)
                read = sorted(by_link.get(pk, []), key=lambda r: (r[1], r[0]), reverse=up)
                found += [(cost_pk, (*okey, day)) for cost_pk, day, ours in read if ours]
                if len(found) >= need:
                    break
                if len(read) == limit:  # cut short: on from the last cost read
                    resume = ((*okey, read[-1][1]), read[-1][0])
                    break
            if resume is not None or len(found) >= need:
                break
            at, size = at + len(chunk), min(size * 4, WALK_TERMS[1])
        if len(found) >= need:
            break
        if resume is not None:  # on from that cost, in its case or payee
            anchor, start, inclusive = resume, resume[0][:-1], True
        elif len(candidates) < asked:
            break  # the other table's rows are all read
        else:  # on from the last row read (rows left the tab meanwhile)
            start, inclusive, anchor = tuple(candidates[-1][1:]), False, None
    return found[:need]


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _outer_after(keys: tuple[str, ...], start: tuple[Any, ...], *, up: bool, inclusive: bool) -> Q:
    """The other table's rows at or past ``start`` (its keys) in the walk's direction."""
    op, strict = ("gte", "gt") if up else ("lte", "lt")
    if len(keys) == 1:
        return Q(**{f"{keys[0]}__{op if inclusive else strict}": start[0]})
    (k1, k2), (v1, v2) = keys, start
    return Q(**{f"{k1}__{op}": v1}) & (
        Q(**{f"{k1}__{strict}": v1}) | Q(**{f"{k2}__{op if inclusive else strict}": v2})
    )


def _union_all(terms: list[QuerySet[Cost]]) -> list[tuple[Any, ...]]:
    """Every term's rows in one statement: ``SELECT * FROM (term) UNION ALL ...`` (the ORM
    composes no sliced terms on SQLite)."""
    sql, params = [], []
    for n, term in enumerate(terms):
        term_sql, term_params = term.query.sql_with_params()
        sql.append(f"SELECT * FROM ({term_sql}) AS walk{n}")  # noqa: S608
        params += list(term_params)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(sql), params)
        return list(cursor.fetchall())


def case_costs(*, case: Case) -> list[Cost]:
    """A case's Costs tab: every cost, void ones included (shown as $0.00 void)."""
    return list(case_costs_queryset(case=case))


def case_costs_queryset(*, case: Case) -> QuerySet[Cost]:
    """:func:`case_costs` unread, newest first, for the API to page by keyset."""
    return (
        Cost.objects.filter(case=case)
        .select_related("payee", "cost_code")
        .order_by("-cost_date", "-id")
    )
