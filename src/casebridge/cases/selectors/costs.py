"""Costs: a case's Costs tab and the firm-wide Costs Management screen.

:func:`costs_management_page` serves the Open / Pending / Paid tabs with filters, sorting
and keyset ("cursor") pagination, and stays O(page) at 1,000,000 costs
(bench/costs_management.py measures it; bench/README.md shows each query's plan). A page
costs three queries whatever its depth:

- the tabs' counts and totals: without filters one row per tab from ``CostTabTotal``,
  which triggers on the costs table keep exact (migration 0008); with filters one grouped
  aggregate over the three tabs, read from the filter's index (each ends with the amount);
- the page's ids, read by keyset from the tab's index: the rows after (or before) the
  cursor's sort key and id, never an OFFSET over the rows skipped;
- the page's rows by id with their case, attorney, payee and cost code.

A cursor is an opaque token naming its sort, the sort key and id of the row it follows
(or precedes), and the direction; :data:`LAST` asks for the last page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from casebridge.cases.models import Case, Cost, CostStatus, CostTabTotal, Firm


@dataclass(frozen=True)
class Sort:
    """Rows in order of ``key`` (descending or not), ties broken by id (likewise)."""

    key: str
    key_descending: bool
    id_descending: bool


SORTS = {
    "date": Sort("cost_date", True, True),
    "-date": Sort("cost_date", False, False),
    "amount": Sort("amount_cents", True, True),
    "-amount": Sort("amount_cents", False, False),
    "case": Sort("case__number", False, True),
    "payee": Sort("payee__name", False, True),
}
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


def _filtered(firm: Firm, f: CostFilters) -> QuerySet[Cost]:
    qs = Cost.objects.filter(firm=firm)
    if f.case_id is not None:
        qs = qs.filter(case_id=f.case_id)
    if f.attorney_id is not None:
        # Through the attorney's cases (a subquery): each probes (case, status, date, amount).
        qs = qs.filter(
            case_id__in=Case.objects.filter(
                firm=firm, responsible_attorney_id=f.attorney_id
            ).values("pk")
        )
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
    raw = json.dumps([sort, _key_text(key), pk, "b" if before else "a"], separators=(",", ":"))
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
    sort = sort if sort in SORTS else "date"
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
    s = SORTS[sort]
    backwards = cursor == LAST or (anchor is not None and anchor[2])
    qs = _filtered(firm, filters).filter(status=status)
    if anchor is not None:
        qs = qs.filter(_after(s, anchor[0], anchor[1], backwards=backwards))
    keys = list(
        qs.order_by(*_ordering(s, backwards=backwards)).values_list("pk", s.key)[: page_size + 1]
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
