"""Costs Management: Open / Pending / Paid tabs with counts, filters, sorting, page
numbers, and the bulk actions (Void selected, Export CSV) on ticked costs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from casebridge.cases.models import Cost, CostStatus
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs
from casebridge.cases.views import costs_management
from casebridge.core import clock
from tests.cases.conftest import cost_code

from .conftest import HX, nothing_written, text

URL = "cases:costs_management"


@pytest.fixture
def book(cfirm, cadmin, case, linked_case, payee):
    """Five costs: three open (two on the case, one on the linked case), one pending, one
    paid; and one void, which no tab shows."""
    other_payee = case_services.contact_create(firm=cfirm, actor=cadmin, name="Court Clerk")

    def add(case_id, payee_id, cents, day, code="E101", memo=""):
        return costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case_id,
            payee_id=payee_id,
            amount_cents=cents,
            cost_code_id=cost_code(cfirm, code).pk,
            cost_date=dt.date(2026, 1, day),
            memo=memo,
        )

    made = {
        "a": add(case.pk, payee.pk, 10_000, 5, memo="=cmd()"),
        "b": add(case.pk, other_payee.pk, 45_000, 10, code="E112"),
        "c": add(linked_case.pk, payee.pk, 2_500, 20),
        "pending": add(case.pk, payee.pk, 7_000, 7),
        "paid": add(case.pk, payee.pk, 9_900, 8),
        "void": add(case.pk, payee.pk, 1_000, 9),
    }
    Cost.objects.filter(pk=made["pending"].pk).update(
        status=CostStatus.PENDING, sent_at=clock.now()
    )
    costs.cost_pay(
        firm=cfirm, actor=cadmin, cost_id=made["paid"].pk, method="check", reference="77"
    )
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=made["void"].pk)
    made["other_payee"] = other_payee
    return made


def rows(page: str, book) -> list[str]:
    """The keys of the costs listed, in order."""
    found = []
    for key, cost in book.items():
        if key == "other_payee":
            continue
        at = page.find(f'id="cm-cost-{cost.pk}"')
        if at >= 0:
            found.append((at, key))
    return [key for _, key in sorted(found)]


def test_the_tabs_count_the_costs(admin_client, book):
    page = text(admin_client.get(reverse(URL)))
    assert '<span class="count" data-count="open">3</span>' in page
    assert '<span class="count" data-count="pending">1</span>' in page
    assert '<span class="count" data-count="paid">1</span>' in page
    assert rows(page, book) == ["c", "b", "a"]  # newest first
    assert '<strong data-figure="tab-total">$575.00</strong>' in page
    assert rows(text(admin_client.get(reverse(URL), {"status": "pending"})), book) == ["pending"]
    paid = text(admin_client.get(reverse(URL), {"status": "paid"}))
    assert rows(paid, book) == ["paid"]
    assert "Check 77" in paid


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"case": "PI-000001"}, ["b", "a"]),
        ({"case": "pi-000002"}, ["c"]),
        ({"amount_min": "50", "amount_max": "450.00"}, ["b", "a"]),
        ({"date_from": "2026-01-06", "date_to": "2026-01-15"}, ["b"]),
    ],
)
def test_the_filters(admin_client, book, params, expected):
    assert rows(text(admin_client.get(reverse(URL), params)), book) == expected


def test_the_attorney_and_payee_filters(admin_client, book, cattorney, attorney, case):
    by_payee = text(admin_client.get(reverse(URL), {"payee": "court clerk"}))
    assert rows(by_payee, book) == ["b"]
    unknown = text(admin_client.get(reverse(URL), {"payee": "Nobody"}))
    assert rows(unknown, book) == []
    assert "No contact named Nobody in this firm." in unknown
    assert rows(text(admin_client.get(reverse(URL), {"attorney": cattorney.pk})), book) == [
        "c",
        "b",
        "a",
    ]
    none = text(admin_client.get(reverse(URL), {"attorney": attorney.pk}))
    assert rows(none, book) == []
    assert "No open cost matches these filters." in none


def test_filters_apply_to_the_tab_counts(admin_client, book):
    page = text(admin_client.get(reverse(URL), {"case": "PI-000002"}))
    assert '<span class="count" data-count="open">1</span>' in page
    assert '<span class="count" data-count="pending">0</span>' in page


def test_an_unknown_case_number_shows_nothing_and_says_so(admin_client, book):
    page = text(admin_client.get(reverse(URL), {"case": "PI-424242"}))
    assert rows(page, book) == []
    assert "No case numbered PI-424242 in this firm." in page


def test_a_bad_filter_is_shown_and_left_out(admin_client, book):
    response = admin_client.get(reverse(URL), {"amount_min": "abc", "date_to": "junk"})
    assert response.status_code == 200
    assert "Enter an amount such as 1,234.56." in text(response)
    assert rows(text(response), book) == ["c", "b", "a"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("date", ["c", "b", "a"]),
        ("-date", ["a", "b", "c"]),
        ("amount", ["b", "a", "c"]),
        ("-amount", ["c", "a", "b"]),
        ("payee", ["b", "c", "a"]),  # Court Clerk, then Records Inc (newest first)
        ("junk", ["c", "b", "a"]),
    ],
)
def test_sorting(admin_client, book, sort, expected):
    assert rows(text(admin_client.get(reverse(URL), {"sort": sort})), book) == expected


def test_the_column_headers_sort_and_flip(admin_client, book):
    page = text(admin_client.get(reverse(URL), {"sort": "amount", "case": "PI-000001"}))
    header = '<th scope="col" class="num" aria-sort="descending"><a class="sort" '
    assert header + 'href="?sort=-amount&amp;case=PI-000001' in page
    assert 'aria-sort="none"><a class="sort" href="?sort=date&amp;case=PI-000001' in page


def test_first_previous_next_and_last_pages(admin_client, cfirm, cadmin, case, payee):
    code = cost_code(cfirm, "E101").pk
    for i in range(120):
        costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_id=payee.pk,
            amount_cents=100 + i,
            cost_code_id=code,
            cost_date=dt.date(2026, 1, 1),
        )

    def link(page: str, which: str) -> dict[str, str]:
        found = re.search(f'href="([^"]*)"[^>]*data-page="{which}"', page)
        assert found is not None
        href = found.group(1).replace("&amp;", "&")
        return {k: v[0] for k, v in parse_qs(href.lstrip("?")).items()}

    def amounts(page: str) -> list[str]:
        return re.findall(r'<td class="num">\$(\d+\.\d\d)</td>', page)

    first = text(admin_client.get(reverse(URL), {"sort": "amount", "payee": payee.name}))
    assert amounts(first) == [f"{(219 - i) / 100:.2f}" for i in range(50)]
    assert 'data-page="first"' not in first
    assert 'data-page="prev"' not in first
    assert "120 in all" in first
    second = text(admin_client.get(reverse(URL), link(first, "next")))
    assert link(first, "next")["sort"] == "amount"  # the pager keeps the sort and filters
    assert link(first, "next")["payee"] == payee.name
    assert amounts(second) == [f"{(169 - i) / 100:.2f}" for i in range(50)]
    last = text(admin_client.get(reverse(URL), link(second, "last")))
    # the last page is the last 50 rows (a keyset page is counted from its end)
    assert amounts(last) == [f"{(149 - i) / 100:.2f}" for i in range(50)]
    assert 'data-page="next"' not in last
    assert 'data-page="last"' not in last
    back = text(admin_client.get(reverse(URL), link(last, "prev")))
    assert amounts(back) == [f"{(199 - i) / 100:.2f}" for i in range(50)]
    assert amounts(text(admin_client.get(reverse(URL), link(back, "first")))) == amounts(first)
    # a stale or edited cursor shows the first page
    stale = admin_client.get(reverse(URL), {"cursor": "junk", "sort": "amount"})
    assert stale.status_code == 200
    assert amounts(text(stale)) == amounts(first)
    # the sort links and the tabs start again at the first page
    assert "cursor=" not in second[second.index("<thead>") : second.index("</thead>")]
    tabs = second[second.index('<nav class="tabs"') : second.index("</nav>")]
    assert "cursor=" not in tabs


def test_the_bulk_menu_offers_the_tabs_actions(admin_client, book):
    page = text(admin_client.get(reverse(URL)))
    assert ">Void selected</button>" in page
    assert ">Export CSV</button>" in page
    paid = text(admin_client.get(reverse(URL), {"status": "paid"}))
    assert ">Void selected</button>" not in paid
    assert ">Export CSV</button>" in paid
    assert 'data-select-all="costs"' in page


def test_void_selected_asks_first_then_voids_them_all(admin_client, book):
    ids = [book["a"].pk, book["b"].pk]
    form = admin_client.post(reverse("cases:costs_bulk"), {"action": "void", "cost": ids}, **HX)
    assert form.status_code == 200
    assert "<dialog" in text(form)
    assert "2 costs totalling <strong>$550.00</strong>" in text(form)
    assert Cost.objects.filter(status=CostStatus.VOID).count() == 1
    response = admin_client.post(
        reverse("cases:costs_bulk"),
        {
            "action": "void",
            "confirmed": "1",
            "cost": ids,
            "reason": "Billed twice",
            "next": "/cases/costs-management/?status=open",
        },
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/cases/costs-management/?status=open"
    voided = Cost.objects.filter(pk__in=ids)
    assert {(c.status, c.void_reason) for c in voided} == {(CostStatus.VOID, "Billed twice")}


def test_void_selected_writes_nothing_when_one_cannot_be_voided(admin_client, book):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:costs_bulk"),
            {"action": "void", "confirmed": "1", "cost": [book["a"].pk, book["paid"].pk]},
            **HX,
        )
    assert response.status_code == 422
    assert "A paid cost is voided by voiding its check, not here" in text(response)


def test_void_selected_without_a_selection(admin_client, book):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:costs_bulk"), {"action": "void", "confirmed": "1"}, **HX
        )
    assert response.status_code == 422
    assert "Select at least one cost first." in text(response)


def test_export_csv(admin_client, book):
    response = admin_client.post(
        reverse("cases:costs_bulk"), {"action": "export", "cost": [book["a"].pk, book["paid"].pk]}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0][:3] == ["Cost ID", "Date", "Case"]
    by_id = {row[0]: row for row in lines[1:]}
    a = by_id[str(book["a"].pk)]
    assert (a[1], a[2], a[5], a[10], a[11]) == (
        "2026-01-05",
        "PI-000001",
        "Records Inc",
        "100.00",
        "Open",
    )
    assert a[9] == "'=cmd()"  # a formula is neutralised
    assert by_id[str(book["paid"].pk)][13] == "77"


def test_export_without_a_selection_goes_back_with_a_message(admin_client, book):
    response = admin_client.post(
        reverse("cases:costs_bulk"),
        {"action": "export", "next": "/cases/costs-management/?status=paid"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/cases/costs-management/?status=paid"


@pytest.mark.parametrize(
    "data",
    [
        {"action": "no-such-action", "cost": ["1"]},
        {"action": "void", "cost": ["abc"]},
        {"action": "void", "cost": ["99999999999999999999"]},
        {"action": "export", "cost": ["999999"]},
    ],
)
def test_junk_bulk_requests_are_not_found(admin_client, book, data):
    with nothing_written():
        assert admin_client.post(reverse("cases:costs_bulk"), data, **HX).status_code == 404


def test_an_action_is_added_in_one_place(admin_client, book, monkeypatch):
    from django.http import HttpResponse

    actions = dict(costs_management.BULK_ACTIONS)
    monkeypatch.setattr(costs_management, "BULK_ACTIONS", actions)
    costs_management.register_bulk_action(
        costs_management.BulkAction(
            key="stamp",
            label="Stamp",
            handler=lambda request, me, picked, form: HttpResponse(f"stamped {len(picked)}"),
            statuses=(CostStatus.OPEN,),
        )
    )
    assert ">Stamp</button>" in text(admin_client.get(reverse(URL)))
    response = admin_client.post(
        reverse("cases:costs_bulk"), {"action": "stamp", "cost": [book["a"].pk]}
    )
    assert text(response) == "stamped 1"
    with pytest.raises(ValueError, match="already registered"):
        costs_management.register_bulk_action(actions["stamp"])


def test_export_xlsx_of_the_ticked_costs(admin_client, book):
    """Issue 15: the same costs as a workbook; money a number in a currency format, a memo
    that looks like a formula a plain string."""
    import openpyxl

    assert ">Export Excel (XLSX)</button>" in text(admin_client.get(reverse(URL)))
    response = admin_client.post(
        reverse("cases:costs_bulk"),
        {"action": "export_xlsx", "cost": [book["a"].pk, book["paid"].pk]},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Cost ID", "Date", "Case")
    a = next(row for row in rows[1:] if row[0] == book["a"].pk)
    assert (a[1].date().isoformat(), a[2], a[5], a[9], a[10], a[11]) == (
        "2026-01-05",
        "PI-000001",
        "Records Inc",
        "=cmd()",
        100,
        "Open",
    )
    assert rows[-1][0] == "Total"
    assert rows[-1][10] == (book["a"].amount_cents + book["paid"].amount_cents) / 100
