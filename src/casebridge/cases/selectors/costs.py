"""Costs: a case's Costs tab and the firm-wide Costs Management screen.

:func:`costs_management_page` serves the Open / Pending / Paid tabs with filters, sorting
and page-number pagination. Every tab is read through an index that starts with
(firm, status) and ends with the sort key and id, so the first page, a filtered page and a
deep page stay fast at 100,000 costs (bench/costs_management.py measures them). A page
costs three queries whatever its depth:

- one aggregate gives the row count and the total together (one pass over the tab);
- the page's ids come from the index alone (a "deferred join": the OFFSET skips index
  entries, not joined rows), then the page's rows are fetched by id with their case,
  attorney, payee and cost code. Without it a deep page joined every skipped row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet, Sum

from casebridge.cases.models import Case, Cost, CostStatus, Firm

SORTS = {
    "date": ("-cost_date", "-id"),
    "-date": ("cost_date", "id"),
    "amount": ("-amount_cents", "-id"),
    "-amount": ("amount_cents", "id"),
    "case": ("case__number", "-id"),
    "payee": ("payee__name", "-id"),
}
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class CostFilters:
    case_id: int | None = None
    attorney_id: int | None = None
    payee_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min_cents: int | None = None
    amount_max_cents: int | None = None


@dataclass(frozen=True)
class CostPage:
    items: list[Cost]
    count: int
    page: int
    pages: int
    page_size: int
    total_cents: int
    sort: str
    status: str
    filters: CostFilters = field(default_factory=CostFilters)


def _filtered(firm: Firm, status: str, f: CostFilters) -> QuerySet[Cost]:
    qs = Cost.objects.filter(firm=firm, status=status)
    if f.case_id is not None:
        qs = qs.filter(case_id=f.case_id)
    if f.attorney_id is not None:
        qs = qs.filter(case__responsible_attorney_id=f.attorney_id)
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


def costs_management_page(
    *,
    firm: Firm,
    status: str = CostStatus.OPEN,
    filters: CostFilters | None = None,
    sort: str = "date",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> CostPage:
    """One page of a Costs Management tab. Unknown sorts fall back to newest first; a page
    past the end gives the last page."""
    filters = filters or CostFilters()
    if status not in (CostStatus.OPEN, CostStatus.PENDING, CostStatus.PAID):
        status = CostStatus.OPEN
    sort = sort if sort in SORTS else "date"
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    qs = _filtered(firm, status, filters)
    agg = qs.aggregate(count=Count("*"), total=Sum("amount_cents"))
    count = int(agg["count"] or 0)
    pages = max(1, -(-count // page_size))
    page = max(1, min(page, pages))
    start = (page - 1) * page_size
    items: list[Cost] = []
    if count:
        ids = list(
            qs.order_by(*SORTS[sort]).values_list("pk", flat=True)[start : start + page_size]
        )
        # By primary key alone: the ids come from the firm's tab already, and a filter on
        # (firm, status) here lets SQLite scan the whole tab instead of 50 rowid lookups.
        rows = Cost.objects.select_related(
            "case", "case__responsible_attorney", "payee", "cost_code"
        ).in_bulk(ids)
        items = [rows[pk] for pk in ids if pk in rows]
    return CostPage(
        items=items,
        count=count,
        page=page,
        pages=pages,
        page_size=page_size,
        total_cents=int(agg["total"] or 0),
        sort=sort,
        status=status,
        filters=filters,
    )


def case_costs(*, case: Case) -> list[Cost]:
    """A case's Costs tab: every cost, void ones included (shown as $0.00 void)."""
    return list(
        Cost.objects.filter(case=case)
        .select_related("payee", "cost_code")
        .order_by("-cost_date", "-id")
    )
