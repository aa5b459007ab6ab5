"""The Costs Management selector: tabs, filters, sorts and pages agree with a plain reading
of the rows, at any page depth, in three queries."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from casebridge.cases.models import Case, Contact, Cost, CostCode, CostStatus, Firm, User
from casebridge.cases.selectors.costs import CostFilters, costs_management_page
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
    first = costs_management_page(firm=firm, page_size=7, **kwargs)
    ids = [c.pk for c in first.items]
    for n in range(2, first.pages + 1):
        ids += [c.pk for c in costs_management_page(firm=firm, page=n, page_size=7, **kwargs).items]
    return ids


@pytest.mark.parametrize("status", [CostStatus.OPEN, CostStatus.PENDING, CostStatus.PAID])
def test_each_tab_lists_its_costs_newest_first_with_count_and_total(cfirm, book, status):
    page = costs_management_page(firm=cfirm, status=status, page_size=10)
    rows = Cost.objects.filter(firm=cfirm, status=status)
    assert page.count == rows.count() > 10
    assert page.total_cents == sum(c.amount_cents for c in rows)
    assert page.pages == -(-page.count // 10)
    assert [c.pk for c in page.items] == expected(cfirm, status)[:10]
    assert all_pages(cfirm, status=status) == expected(cfirm, status)


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("date", lambda c: (c.cost_date, c.pk), True),
        ("-date", lambda c: (c.cost_date, c.pk), False),
        ("amount", lambda c: (c.amount_cents, c.pk), True),
        ("-amount", lambda c: (c.amount_cents, c.pk), False),
        ("case", lambda c: (c.case.number, -c.pk), False),
        ("payee", lambda c: (c.payee.name, -c.pk), False),
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


def test_a_page_past_the_end_gives_the_last_page_and_bad_input_falls_back(cfirm, book):
    last = costs_management_page(firm=cfirm, page=10_000, page_size=7)
    assert last.page == last.pages
    assert [c.pk for c in last.items] == expected(cfirm, CostStatus.OPEN)[(last.pages - 1) * 7 :]
    odd = costs_management_page(firm=cfirm, status="void", sort="nonsense", page=-3, page_size=0)
    assert (odd.status, odd.sort, odd.page, odd.page_size) == ("open", "date", 1, 1)
    assert costs_management_page(firm=cfirm, page_size=10_000).page_size == 500


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
    assert (page.items, page.count, page.page, page.pages, page.total_cents) == ([], 0, 1, 1, 0)


def test_any_page_costs_three_queries_and_needs_none_to_show_its_rows(
    cfirm, book, django_assert_num_queries
):
    for page_no in (1, 5, 10_000):
        with django_assert_num_queries(3):
            page = costs_management_page(
                firm=cfirm,
                status=CostStatus.OPEN,
                filters=CostFilters(attorney_id=book["attorneys"][1].pk),
                page=page_no,
                page_size=5,
            )
        with django_assert_num_queries(0):
            shown = [
                (c.case.number, c.case.responsible_attorney, c.payee.name, c.cost_code.code)
                for c in page.items
            ]
        assert 1 <= len(shown) <= 5
        assert all(isinstance(a, User) for _, a, _, _ in shown)
