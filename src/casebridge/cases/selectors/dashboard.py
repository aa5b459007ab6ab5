"""The cases side's home page: what needs someone today, counted exactly, and two charts
(costs outstanding by age; money held in trust at each month's end)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Aggregate, Count, Exists, OuterRef, Q, Sum

from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    CostTabTotal,
    Deposit,
    Firm,
    TrustItem,
    TrustItemStatus,
)
from casebridge.core import dates


@dataclass(frozen=True)
class Tally:
    count: int
    cents: int


#: The age buckets of outstanding costs: (label, first day, last day) of age in days.
AGES = (
    ("0-30 days", 0, 30),
    ("31-60 days", 31, 60),
    ("61-90 days", 61, 90),
    ("90+ days", 91, None),
)


def cost_tabs(firm: Firm) -> dict[str, Tally]:
    """Open (to send) and Pending (sent; the check not printed yet) costs, from the tab
    totals the triggers keep (one row each)."""
    rows = {
        t.status: Tally(t.count, t.total_cents)
        for t in CostTabTotal.objects.filter(
            firm=firm, status__in=[CostStatus.OPEN, CostStatus.PENDING]
        )
    }
    return {s: rows.get(s, Tally(0, 0)) for s in (CostStatus.OPEN, CostStatus.PENDING)}


def trust_items(firm: Firm) -> dict[str, Tally]:
    """Staged payments (to push on) and those To Be Disbursed (waiting for their check in
    the books), counted per payment."""
    row = TrustItem.objects.filter(firm=firm).aggregate(
        **{
            f"{status}_{what}": agg(field, filter=Q(status=status))
            for status in (TrustItemStatus.STAGED, TrustItemStatus.TO_BE_DISBURSED)
            for what, agg, field in (("n", Count, "pk"), ("s", Sum, "amount_cents"))
        }
    )
    return {
        status: Tally(row[f"{status}_n"] or 0, int(row[f"{status}_s"] or 0))
        for status in (TrustItemStatus.STAGED, TrustItemStatus.TO_BE_DISBURSED)
    }


def settlements_to_stage(firm: Firm, limit: int = 5) -> tuple[int, list[Case]]:
    """Cases with money deposited (a live deposit) not yet pushed to client trust: how
    many, and the oldest ``limit`` of them."""
    waiting = Case.objects.filter(
        firm=firm, settlement__pushed_to_client_trust_at__isnull=True
    ).filter(Exists(Deposit.objects.filter(case_id=OuterRef("pk"), voided_on__isnull=True)))
    return waiting.count(), list(waiting.order_by("pk")[:limit])


def costs_by_age(firm: Firm, today: dt.date) -> list[tuple[str, Tally]]:
    """Open and Pending costs by the age of their date, in one grouped read."""
    aggregates: dict[str, Aggregate] = {}
    for n, (_, first, last) in enumerate(AGES):
        window = Q(cost_date__lte=today - dt.timedelta(days=first))
        if last is not None:
            window &= Q(cost_date__gte=today - dt.timedelta(days=last))
        aggregates[f"n{n}"] = Count("pk", filter=window)
        aggregates[f"s{n}"] = Sum("amount_cents", filter=window)
    row = Cost.objects.filter(
        firm=firm, status__in=[CostStatus.OPEN, CostStatus.PENDING]
    ).aggregate(**aggregates)
    return [
        (label, Tally(row[f"n{n}"] or 0, int(row[f"s{n}"] or 0)))
        for n, (label, _, _) in enumerate(AGES)
    ]


def trust_held_by_month(firm: Firm, today: dt.date) -> list[tuple[dt.date, int]]:
    """What the cases side counts in trust (live deposits less payments made from trust,
    as Client Trust Management does) at each of the last twelve month ends."""
    ends = dates.month_ends(today)
    deposits = Deposit.objects.filter(firm=firm, deposited_on__lte=ends[-1]).aggregate(
        **{
            f"d{n}": Sum(
                "amount_cents",
                filter=Q(deposited_on__lte=end)
                & (Q(voided_on__isnull=True) | Q(voided_on__gt=end)),
            )
            for n, end in enumerate(ends)
        }
    )
    paid = TrustItem.objects.filter(
        firm=firm, status=TrustItemStatus.DISBURSED, paid_direct=False
    ).aggregate(
        **{
            f"p{n}": Sum("amount_cents", filter=Q(disbursed_on__lte=end))
            for n, end in enumerate(ends)
        }
    )
    return [
        (end, int(deposits[f"d{n}"] or 0) - int(paid[f"p{n}"] or 0)) for n, end in enumerate(ends)
    ]
