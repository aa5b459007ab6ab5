"""Costs Management sorted by case or by payee walks the other table (cases by number,
payees by name and id) and reads each one's costs from its index. Every page of a walk,
forwards from the first page and backwards from the last, is exactly the page a plain
``ORDER BY`` of the whole tab gives after the same cursor, on a messy book: equal payee
names, ties on the date, cases and payees with no cost in the tab, a case with more costs
than a page, and costs moving between tabs (the cursor's own among them) mid-walk."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db.models import Q

from casebridge.cases.models import Cost, CostCode, CostStatus, Firm
from casebridge.cases.selectors import costs as costs_selectors
from casebridge.cases.selectors.costs import (
    LAST,
    ORDER,
    CostFilters,
    costs_management_page,
    decode_cursor,
)
from casebridge.cases.services import cases as case_services
from casebridge.core import clock

START = dt.date(2025, 3, 1)
FIELDS = {
    "case": (("case__number", False), ("cost_date", True), ("pk", True)),
    "payee": (("payee__name", False), ("payee_id", False), ("cost_date", True), ("pk", True)),
}


@pytest.fixture
def messy(cfirm, cadmin, cattorney, client_contact):
    cases = [
        case_services.case_create(
            firm=cfirm,
            actor=cadmin,
            name=f"Case {n}",
            client_id=client_contact.pk,
            responsible_attorney_id=cattorney.pk if n % 3 else None,
            status="open",
        )
        for n in range(7)
    ]
    payees = [
        case_services.contact_create(firm=cfirm, actor=cadmin, name=name)
        for name in ["Acme", "Mid", "Acme", "Zed", "Acme", "Beta", "Mid", "Nobody Paid"]
    ]
    for n in range(5):  # contacts that are no one's payee, between the payees by name
        case_services.contact_create(firm=cfirm, actor=cadmin, name=f"Client {n}")
    codes = list(CostCode.objects.filter(firm=cfirm)[:3])
    rnd = random.Random(12)
    rows = []
    for _ in range(150):
        status = rnd.choice([CostStatus.OPEN, CostStatus.OPEN, CostStatus.PENDING])
        rows.append(
            Cost(
                firm=cfirm,
                # case 2 has most costs (more than a page), case 5 none
                case=rnd.choice(
                    [cases[2]] * 6 + [cases[0], cases[1], cases[3], cases[4], cases[6]]
                ),
                payee=rnd.choice(payees[:7]),
                amount_cents=rnd.choice([500, 1_000, 2_500]),
                cost_code=rnd.choice(codes),
                cost_date=START + dt.timedelta(days=rnd.randrange(4)),
                status=status,
                created_at=clock.now(),
            )
        )
    Cost.objects.bulk_create(rows)
    return {"cases": cases, "payees": payees, "attorney": cattorney}


def plain_page(firm: Firm, sort: str, after, *, backwards: bool, size: int, filters=None):
    """The page by a plain ORDER BY of the whole tab (joined), past the cursor's row."""
    qs = Cost.objects.filter(firm=firm, status=CostStatus.OPEN)
    f = filters or CostFilters()
    if f.attorney_id is not None:
        qs = qs.filter(case__responsible_attorney_id=f.attorney_id)
    if f.date_from is not None:
        qs = qs.filter(cost_date__gte=f.date_from)
    if after is not None:
        key, pk = after
        values = (*key, pk)
        past = Q(pk__in=[])
        for n, (field, descending) in enumerate(FIELDS[sort]):
            down = descending != backwards
            step = Q(**{f"{field}__{'lt' if down else 'gt'}": values[n]})
            for earlier, (field0, _) in enumerate(FIELDS[sort][:n]):
                step &= Q(**{field0: values[earlier]})
            past |= step
        qs = qs.filter(past)
    qs = qs.order_by(*ORDER[sort])
    if backwards:
        qs = qs.reverse()
    return list(qs.values_list("pk", flat=True)[:size])


def move_some(firm: Firm, rnd: random.Random, also: list[int]) -> None:
    """A few costs leave the Open tab and a few come back, the page's edge rows among them."""
    open_ids = list(
        Cost.objects.filter(firm=firm, status=CostStatus.OPEN).values_list("pk", flat=True)
    )
    pending = list(
        Cost.objects.filter(firm=firm, status=CostStatus.PENDING).values_list("pk", flat=True)
    )
    leaving = rnd.sample(open_ids, min(2, len(open_ids))) + [
        pk for pk in also if rnd.random() < 0.5
    ]
    coming = rnd.sample(pending, min(2, len(pending)))
    Cost.objects.filter(pk__in=leaving).update(status=CostStatus.PENDING)
    Cost.objects.filter(pk__in=coming).update(status=CostStatus.OPEN)


@pytest.mark.parametrize("chunks", [None, (1, 2)])
@pytest.mark.parametrize("size", [1, 9])
@pytest.mark.parametrize("sort", ["case", "payee"])
@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("moving", [False, True])
@pytest.mark.parametrize("filtered", [False, True])
def test_every_page_of_a_walk_is_the_plain_order_by_page(
    cfirm, messy, sort, backwards, size, moving, filtered, chunks, monkeypatch
):
    if chunks:  # each case's or payee's costs in a statement of its own, then two
        monkeypatch.setattr(costs_selectors, "WALK_TERMS", chunks)
    rnd = random.Random(f"{sort}{backwards}{size}")
    filters = (
        CostFilters(attorney_id=messy["attorney"].pk, date_from=START + dt.timedelta(days=1))
        if filtered
        else CostFilters()
    )
    seen: list[int] = []
    page = costs_management_page(
        firm=cfirm, sort=sort, filters=filters, page_size=size, cursor=LAST if backwards else None
    )
    after = None
    for _ in range(200):
        want = plain_page(cfirm, sort, after, backwards=backwards, size=size + 1, filters=filters)
        if not want:
            break  # everything past the cursor has left the tab: the page is the other end
        got = [c.pk for c in page.items]
        assert (list(reversed(got)) if backwards else got) == want[:size]
        more = page.prev_cursor if backwards else page.next_cursor
        assert (more is not None) == (len(want) > size)
        seen += got
        if more is None:
            break
        key, pk, before = decode_cursor(more, sort)
        assert before == backwards
        after = (key, pk)
        if moving:
            move_some(cfirm, rnd, also=got)
        page = costs_management_page(
            firm=cfirm, sort=sort, filters=filters, page_size=size, cursor=more
        )
    else:
        pytest.fail("the walk never ended")
    if not moving:  # the whole tab, each cost once
        everything = plain_page(
            cfirm, sort, None, backwards=backwards, size=10_000, filters=filters
        )
        assert len(everything) > 3 * size
        assert sorted(seen) == sorted(everything)
        assert len(seen) == len(everything)


def test_a_walked_page_costs_four_queries(cfirm, messy, django_assert_num_queries):
    for sort in ("case", "payee"):
        cursor = None
        for _ in range(3):
            with django_assert_num_queries(4):
                page = costs_management_page(firm=cfirm, sort=sort, cursor=cursor, page_size=5)
            cursor = page.next_cursor


def _hand_made(data) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "data",
    [
        ["case", ["\ud800", "2025-03-01"], 1, "a"],
        ["case", ["PI\x00", "2025-03-01"], 1, "a"],
        ["payee", ["A\x00", 1, "2025-03-01"], 1, "a"],
        ["payee", ["x" * 301, 1, "2025-03-01"], 1, "a"],
    ],
    ids=["a lone surrogate", "a NUL in a number", "a NUL in a name", "a name too long"],
)
def test_a_hand_made_cursor_no_column_could_hold_is_refused(cfirm, messy, data):
    """It reached the query: a UnicodeEncodeError, or PostgreSQL's DataError, was a 500."""
    with pytest.raises(costs_selectors.InvalidCursor):
        costs_management_page(firm=cfirm, sort=data[0], cursor=_hand_made(data), page_size=3)


def test_another_firms_costs_on_a_payee_neither_show_nor_cut_the_walk_short(
    cfirm, cadmin, client_contact, other_firm_costs
):
    """A load that went round the services gave firm B's costs firm A's payee: dropped
    from the page, they made the payee's read look finished, and its own costs after them
    were never reached."""
    _payee, mine = other_firm_costs
    shown: list[int] = []
    cursor = None
    for _ in range(5):
        page = costs_management_page(firm=cfirm, sort="payee", cursor=cursor, page_size=3)
        shown += [c.pk for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert shown == [c.pk for c in sorted(mine, key=lambda c: (c.cost_date, c.pk), reverse=True)]


@pytest.fixture
def other_firm_costs(cfirm, cadmin, client_contact):
    from casebridge.cases.services import firms

    case = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Case A", client_id=client_contact.pk, status="open"
    )
    payee = case_services.contact_create(firm=cfirm, actor=cadmin, name="Shared Payee")
    code = CostCode.objects.filter(firm=cfirm).first()
    other = firms.firm_create(code="other-pi", name="Other PI")
    other_code = CostCode.objects.filter(firm=other).first()

    def cost(firm, day: int, cost_code) -> Cost:
        return Cost(
            firm=firm,
            case=case,
            payee=payee,
            amount_cents=1_000,
            cost_code=cost_code,
            cost_date=START + dt.timedelta(days=day),
            status=CostStatus.OPEN,
            created_at=clock.now(),
        )

    mine = Cost.objects.bulk_create([cost(cfirm, day, code) for day in range(5)])
    # firm B's, newer than all of firm A's, pointing at firm A's case and payee
    Cost.objects.bulk_create([cost(other, 10 + day, other_code) for day in range(3)])
    return payee, mine
