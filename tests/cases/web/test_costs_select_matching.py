"""Issue 14: "Select all N matching" on Costs Management acts on every cost the tab's
filters match, on every page: the filters are sent (not a list of ids), the server finds
the costs again from them, and the pop-up's count and total must still hold on confirm."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from django.urls import reverse

from casebridge.cases.models import Cost, CostStatus
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs
from tests.cases.conftest import cost_code

from .conftest import HX, nothing_written, text

URL = "cases:costs_management"
BULK = "cases:costs_bulk"
QUERY = "payee=Records+Inc&status=open"


def expected_of(cost_ids, total_cents: int) -> str:
    """The pop-up's check of what it counted: count, total and a digest of the ids."""
    ids = ",".join(str(pk) for pk in sorted(cost_ids))
    return f"{len(cost_ids)}:{total_cents}:{hashlib.sha256(ids.encode()).hexdigest()[:16]}"


def records_inc(many, *, but=()):
    return [c.pk for c in many[:60] if c.pk not in but]


@pytest.fixture
def many(cfirm, cadmin, case, payee):
    """60 open costs to Records Inc ($1.00 .. $1.59, $77.70 in all) and 5 to Court Clerk."""
    clerk = case_services.contact_create(firm=cfirm, actor=cadmin, name="Court Clerk")
    code = cost_code(cfirm, "E101").pk
    made = []
    for i, who in [(i, payee) for i in range(60)] + [(i, clerk) for i in range(5)]:
        made.append(
            costs.cost_create(
                firm=cfirm,
                actor=cadmin,
                case_id=case.pk,
                payee_id=who.pk,
                amount_cents=100 + i,
                cost_code_id=code,
                cost_date=dt.date(2026, 1, 1),
            )
        )
    return made


def test_the_list_offers_all_matching_beyond_the_page(admin_client, many):
    page = text(admin_client.get(reverse(URL), {"payee": "Records Inc", "sort": "amount"}))
    assert (
        '<input type="checkbox" name="scope" value="matching" data-select-matching="costs" '
        'data-matching-count="60"> Select all 60 matching</label>' in page
    )
    # the filters and the tab, without the sort or a cursor
    assert f'<input type="hidden" name="query" value="{QUERY.replace("&", "&amp;")}">' in page
    everything = text(admin_client.get(reverse(URL)))
    assert "Select all 65 matching" in everything
    few = text(admin_client.get(reverse(URL), {"payee": "Court Clerk"}))
    assert "Select all" not in few.replace("Select all costs on this page", "")


def test_void_all_matching_asks_with_the_count_then_voids_exactly_them(admin_client, many):
    form = admin_client.post(
        reverse(BULK), {"action": "void", "scope": "matching", "query": QUERY}, **HX
    )
    assert form.status_code == 200
    body = text(form)
    assert (
        "Void selected: all <strong data-matching-count>60</strong> costs matching the filters, "
        "on every page, totalling <strong>$77.70</strong>." in body
    )
    expected = expected_of(records_inc(many), 7770)
    assert f'<input type="hidden" name="expected" value="{expected}">' in body
    assert 'name="cost"' not in body  # the filters travel, not the ids
    assert "Void selected · 60 costs" in body
    response = admin_client.post(
        reverse(BULK),
        {
            "action": "void",
            "scope": "matching",
            "query": QUERY,
            "expected": expected,
            "confirmed": "1",
            "reason": "Billed twice",
        },
        **HX,
    )
    assert response.status_code == 200
    voided = Cost.objects.filter(status=CostStatus.VOID)
    assert voided.count() == 60
    assert set(voided.values_list("payee__name", flat=True)) == {"Records Inc"}
    assert Cost.objects.filter(status=CostStatus.OPEN, payee__name="Court Clerk").count() == 5


def test_a_changed_match_is_refused_and_counted_again(admin_client, cfirm, cadmin, many):
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=many[0].pk)  # one fewer now matches
    with nothing_written():
        response = admin_client.post(
            reverse(BULK),
            {
                "action": "void",
                "scope": "matching",
                "query": QUERY,
                "expected": expected_of(records_inc(many), 7770),
                "confirmed": "1",
            },
            **HX,
        )
    assert response.status_code == 422
    body = text(response)
    assert (
        "The matching costs changed since this was opened: 59 costs totalling $76.70 match "
        "now. Check and confirm again." in body
    )
    now = expected_of(records_inc(many, but=[many[0].pk]), 7670)
    assert f'<input type="hidden" name="expected" value="{now}">' in body


def test_export_all_matching(admin_client, many):
    response = admin_client.post(
        reverse(BULK), {"action": "export", "scope": "matching", "query": QUERY}
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    assert len(rows) == 60
    assert {r[5] for r in rows} == {"Records Inc"}


@pytest.mark.parametrize(
    "query",
    [
        "payee=Records+Inc",  # no tab
        "status=junk",
        "status=paid",  # Void is not offered on Paid
    ],
)
def test_a_bad_matching_request_is_not_found(admin_client, many, query):
    with nothing_written():
        response = admin_client.post(
            reverse(BULK),
            {"action": "void", "scope": "matching", "query": query, "confirmed": "1"},
            **HX,
        )
    assert response.status_code == 404


def test_a_swapped_cost_of_the_same_amount_is_refused(admin_client, cfirm, cadmin, case, many):
    """One matching cost goes and another of the same amount comes: the count and total are
    as the pop-up showed, but not the costs."""
    shown = expected_of(records_inc(many), 7770)
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=many[5].pk)  # $1.05 goes
    costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=many[0].payee_id,
        amount_cents=105,  # and $1.05 comes
        cost_code_id=many[0].cost_code_id,
        cost_date=dt.date(2026, 1, 1),
    )
    with nothing_written():
        response = admin_client.post(
            reverse(BULK),
            {
                "action": "void",
                "scope": "matching",
                "query": QUERY,
                "expected": shown,
                "confirmed": "1",
                "reason": "Billed twice",
            },
            **HX,
        )
    assert response.status_code == 422
    assert "The matching costs changed since this was opened: 60 costs totalling $77.70" in text(
        response
    )


def test_invalid_filters_offer_nothing_and_are_refused_with_a_reason(admin_client, many):
    page = text(admin_client.get(reverse(URL), {"amount_min": "abc"}))
    assert "data-select-matching" not in page
    with nothing_written():
        response = admin_client.post(
            reverse(BULK),
            {
                "action": "void",
                "scope": "matching",
                "query": "status=open&amount_min=abc",
                "confirmed": "1",
            },
            **HX,
        )
    assert response["HX-Redirect"] == reverse(URL)
    page = text(admin_client.get(reverse(URL)))
    assert "The filters are not valid, so there is nothing to act on: correct them first" in page


def test_too_many_matching_or_an_over_long_query_is_refused(admin_client, many, monkeypatch):
    from casebridge.cases.views import costs_management

    monkeypatch.setattr(costs_management, "MATCHING_MAX", 50)
    with nothing_written():
        response = admin_client.post(
            reverse(BULK), {"action": "void", "scope": "matching", "query": QUERY}, **HX
        )
    assert response["HX-Redirect"] == reverse(URL)
    assert "60 costs match; act on at most 50 at a time: narrow the filters" in text(
        admin_client.get(reverse(URL))
    )
    long_query = QUERY + "&q=" + "x" * 2_000
    with nothing_written():
        admin_client.post(
            reverse(BULK), {"action": "void", "scope": "matching", "query": long_query}, **HX
        )
    assert "The filters are too long to act on; narrow them and try again" in text(
        admin_client.get(reverse(URL))
    )
