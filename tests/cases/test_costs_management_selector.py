"""The Costs Management selector: tabs, filters, sorts and keyset pages (forwards and
backwards, stable under ties, filters kept) agree with a plain reading of the rows, at any
page depth, in three queries (four for the sorts by case and by payee, which walk the
other table: tests/cases/test_costs_management_walk.py)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from casebridge.cases.models import Case, Contact, Cost, CostCode, CostStatus, Firm, User
from casebridge.cases.selectors.costs import (
    LAST,
    CostFilters,
    InvalidCursor,
    costs_management_page,
    encode_cursor,
)
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import firms
from casebridge.core import clock
from tests.cases.conftest import PASSWORD

START = dt.date(2025, 1, 1)


@pytest.fixture
def book(cfirm, cadmin, cattorney, client_contact):
    """Two attorneys, four cases, five payees and 240 costs over every status, with ties
    on date and amount so the id tie-break is exercised."""
    other_attorney = firms.user_create(
        firm=cfirm,
        actor=None,
        email="jo@lopez.test",
        password=PASSWORD,
        first_name="Jo",
        last_name="Other",
        is_attorney=True,
    )
    cases = [
        case_services.case_create(
            firm=cfirm,
            actor=cadmin,
            name=f"Case {n}",
            client_id=client_contact.pk,
            responsible_attorney_id=(cattorney if n % 2 else other_attorney).pk,
            status="open",
        )
        for n in range(4)
    ]
    payees = [
        case_services.contact_create(firm=cfirm, actor=cadmin, name=name)
        for name in ["Zeta Records", "Alpha Court", "Mid Experts", "Beta Copies", "Kappa Travel"]
    ]
    codes = list(CostCode.objects.filter(firm=cfirm)[:5])
    rnd = random.Random(7)
    weights = {CostStatus.OPEN: 5, CostStatus.PENDING: 2, CostStatus.PAID: 2, CostStatus.VOID: 1}
    rows = []
    for _ in range(240):
        status = rnd.choices(list(weights), weights=list(weights.values()))[0]
        day = START + dt.timedelta(days=rnd.randrange(60))
        rows.append(
            Cost(
                firm=cfirm,
                case=rnd.choice(cases),
                payee=rnd.choice(payees),
                amount_cents=rnd.choice([1_000, 2_500, 12_345, 99_999, 250_000]),
                cost_code=rnd.choice(codes),
                cost_date=day,
                status=status,
                paid_date=day if status == CostStatus.PAID else None,
                created_at=clock.now(),
            )
        )
    Cost.objects.bulk_create(rows)
    return {
        "attorneys": (cattorney, other_attorney),
        "cases": cases,
        "payees": payees,
    }


def expected(firm: Firm, status: str, keep=lambda c: True, key=None) -> list[int]:
    rows = [
        c for c in Cost.objects.filter(firm=firm, status=status).select_related("case", "payee")
    ]
    rows = [c for c in rows if keep(c)]
    key = key or (lambda c: (c.cost_date, c.pk))
    return [c.pk for c in sorted(rows, key=key, reverse=True)]


def all_pages(firm: Firm, **kwargs) -> list[int]:
    """Every page by following ``next_cursor`` from the first; then checks that following
    ``prev_cursor`` back from the last page gives the same pages."""
    pages = [costs_management_page(firm=firm, page_size=7, **kwargs)]
    while pages[-1].next_cursor:
        pages.append(
            costs_management_page(firm=firm, page_size=7, cursor=pages[-1].next_cursor, **kwargs)
        )
    assert pages[0].prev_cursor is None
    back = [costs_management_page(firm=firm, page_size=7, cursor=LAST, **kwargs)]
    while back[-1].prev_cursor:
        back.append(
            costs_management_page(firm=firm, page_size=7, cursor=back[-1].prev_cursor, **kwargs)
        )
    assert back[0].next_cursor is None
    ids = [c.pk for p in pages for c in p.items]
    backwards = [c.pk for p in reversed(back) for c in p.items]
    assert backwards == ids
    return ids


@pytest.mark.parametrize("status", [CostStatus.OPEN, CostStatus.PENDING, CostStatus.PAID])
def test_each_tab_lists_its_costs_newest_first_with_count_and_total(cfirm, book, status):
    page = costs_management_page(firm=cfirm, status=status, page_size=10)
    rows = Cost.objects.filter(firm=cfirm, status=status)
    assert page.count == rows.count() > 10
    assert page.total_cents == sum(c.amount_cents for c in rows)
    assert [c.pk for c in page.items] == expected(cfirm, status)[:10]
    assert all_pages(cfirm, status=status) == expected(cfirm, status)


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("date", lambda c: (c.cost_date, c.pk), True),
        ("-date", lambda c: (c.cost_date, c.pk), False),
        ("amount", lambda c: (c.amount_cents, c.pk), True),
        ("-amount", lambda c: (c.amount_cents, c.pk), False),
        ("case", lambda c: (c.case.number, -c.cost_date.toordinal(), -c.pk), False),
        ("payee", lambda c: (c.payee.name, c.payee_id, -c.cost_date.toordinal(), -c.pk), False),
    ],
)
def test_every_sort_pages_through_every_row_once_in_order(cfirm, book, sort, key, reverse):
    rows = Cost.objects.filter(firm=cfirm, status=CostStatus.OPEN).select_related("case", "payee")
    want = [c.pk for c in sorted(rows, key=key, reverse=reverse)]
    assert all_pages(cfirm, status=CostStatus.OPEN, sort=sort) == want


def test_filters_narrow_the_count_the_total_and_the_rows(cfirm, book):
    attorney = book["attorneys"][0]
    payee = book["payees"][1]
    date_from, date_to = START + dt.timedelta(days=10), START + dt.timedelta(days=40)
    filters = CostFilters(
        attorney_id=attorney.pk,
        payee_id=payee.pk,
        date_from=date_from,
        date_to=date_to,
        amount_min_cents=2_500,
        amount_max_cents=99_999,
    )

    def keep(c: Cost) -> bool:
        return (
            c.case.responsible_attorney_id == attorney.pk
            and c.payee_id == payee.pk
            and date_from <= c.cost_date <= date_to
            and 2_500 <= c.amount_cents <= 99_999
        )

    want = expected(cfirm, CostStatus.OPEN, keep)
    assert want
    page = costs_management_page(firm=cfirm, status=CostStatus.OPEN, filters=filters)
    assert [c.pk for c in page.items] == want
    assert page.count == len(want)
    assert page.total_cents == sum(Cost.objects.get(pk=pk).amount_cents for pk in want)
    assert page.filters == filters

    case = book["cases"][2]
    by_case = costs_management_page(
        firm=cfirm, status=CostStatus.OPEN, filters=CostFilters(case_id=case.pk), page_size=500
    )
    assert [c.pk for c in by_case.items] == expected(
        cfirm, CostStatus.OPEN, lambda c: c.case_id == case.pk
    )


def test_the_cursor_pages_forwards_and_backwards_from_any_page(cfirm, book):
    want = expected(cfirm, CostStatus.OPEN)
    first = costs_management_page(firm=cfirm, page_size=7)
    second = costs_management_page(firm=cfirm, page_size=7, cursor=first.next_cursor)
    assert [c.pk for c in second.items] == want[7:14]
    back = costs_management_page(firm=cfirm, page_size=7, cursor=second.prev_cursor)
    assert [c.pk for c in back.items] == want[:7]
    assert back.prev_cursor is None
    assert back.next_cursor is not None
    last = costs_management_page(firm=cfirm, page_size=7, cursor=LAST)
    assert [c.pk for c in last.items] == want[-7:]
    assert last.next_cursor is None
    assert last.prev_cursor is not None
    # every page keeps the tab's count and total
    assert {p.count for p in (first, second, back, last)} == {len(want)}


def test_a_page_stays_put_when_rows_arrive_before_it(cfirm, book, cadmin):
    """A cost added at the top while someone reads page 2 shifts nothing under them."""
    first = costs_management_page(firm=cfirm, page_size=7)
    newest = Cost.objects.filter(firm=cfirm, status=CostStatus.OPEN).order_by("-cost_date").first()
    assert newest is not None
    newest.pk = None
    newest.cost_date = START + dt.timedelta(days=365)
    newest.save()
    second = costs_management_page(firm=cfirm, page_size=7, cursor=first.next_cursor)
    assert [c.pk for c in second.items] == expected(cfirm, CostStatus.OPEN)[8:15]
    assert second.count == first.count + 1


def test_ties_on_the_sort_key_page_by_id_without_loss_or_repeat(cfirm, book):
    """Many costs share a date and an amount: the id breaks the tie on both sides."""
    for sort in ("date", "-amount"):
        ids = all_pages(cfirm, status=CostStatus.OPEN, sort=sort)
        assert sorted(ids) == sorted(expected(cfirm, CostStatus.OPEN))
        assert len(ids) == len(set(ids))


def test_filters_are_kept_across_pages(cfirm, book):
    attorney = book["attorneys"][1]
    filters = CostFilters(attorney_id=attorney.pk, amount_min_cents=2_500)
    ids = all_pages(cfirm, status=CostStatus.PENDING, sort="amount", filters=filters)
    want = expected(
        cfirm,
        CostStatus.PENDING,
        lambda c: c.case.responsible_attorney_id == attorney.pk and c.amount_cents >= 2_500,
        key=lambda c: (c.amount_cents, c.pk),
    )
    assert len(want) > 7
    assert ids == want


def test_bad_cursors_are_refused_and_bad_input_falls_back(cfirm, book):
    page = costs_management_page(firm=cfirm, page_size=7)
    assert page.next_cursor is not None
    for token in ("junk", "e30", page.next_cursor[:-2], encode_cursor("date", 5, 1, before=False)):
        with pytest.raises(InvalidCursor):
            costs_management_page(firm=cfirm, cursor=token)
    with pytest.raises(InvalidCursor):  # a cursor of another sort
        costs_management_page(firm=cfirm, sort="amount", cursor=page.next_cursor)
    odd = costs_management_page(firm=cfirm, status="void", sort="nonsense", page_size=0)
    assert (odd.status, odd.sort, odd.page_size) == ("open", "date", 1)
    assert costs_management_page(firm=cfirm, page_size=10_000).page_size == 500


def test_a_cursor_whose_rows_have_gone_gives_the_nearest_end(cfirm, book):
    want = expected(cfirm, CostStatus.OPEN)
    past_the_end = encode_cursor("date", START - dt.timedelta(days=1), 1, before=False)
    assert [c.pk for c in costs_management_page(firm=cfirm, cursor=past_the_end).items] == (
        want[-50:]
    )
    before_the_start = encode_cursor("date", START + dt.timedelta(days=999), 1, before=True)
    page = costs_management_page(firm=cfirm, cursor=before_the_start, page_size=7)
    assert [c.pk for c in page.items] == want[:7]


def test_void_costs_and_other_firms_costs_never_show(cfirm, book, db):
    other = firms.firm_create(code="other-pi", name="Other PI")
    client = Contact.objects.create(firm=other, name="Someone")
    case = Case.objects.create(
        firm=other,
        number="PI-000001",
        name="Other v. Firm",
        client=client,
        case_type=other.case_types.get(),
        opened_on=START,
    )
    Cost.objects.create(
        firm=other,
        case=case,
        payee=client,
        amount_cents=5_000,
        cost_code=other.cost_codes.get(code="E101"),
        cost_date=START,
        created_at=clock.now(),
    )
    seen = set(all_pages(cfirm, status=CostStatus.OPEN))
    assert seen == set(
        Cost.objects.filter(firm=cfirm, status=CostStatus.OPEN).values_list("pk", flat=True)
    )
    assert costs_management_page(firm=other).count == 1


def test_an_empty_tab_has_one_empty_page(cfirm, db):
    page = costs_management_page(firm=cfirm, status=CostStatus.PAID)
    assert (page.items, page.count, page.total_cents) == ([], 0, 0)
    assert (page.next_cursor, page.prev_cursor) == (None, None)
    assert page.tab_counts == {"open": 0, "pending": 0, "paid": 0}


def test_any_page_costs_three_queries_and_needs_none_to_show_its_rows(
    cfirm, book, django_assert_num_queries
):
    cursor = None
    for filters in (CostFilters(), CostFilters(attorney_id=book["attorneys"][1].pk)):
        for n in range(6):
            with django_assert_num_queries(3):
                page = costs_management_page(
                    firm=cfirm, status=CostStatus.OPEN, filters=filters, cursor=cursor, page_size=5
                )
            cursor = page.next_cursor if n < 4 else LAST
            with django_assert_num_queries(0):
                shown = [
                    (c.case.number, c.case.responsible_attorney, c.payee.name, c.cost_code.code)
                    for c in page.items
                ]
            assert 1 <= len(shown) <= 5
            assert all(isinstance(a, User) for _, a, _, _ in shown)
        cursor = None
