"""Issue 14: "Select all N matching" on Costs Management acts on every cost the tab's
filters match, on every page: the filters are sent (not a list of ids), the server finds
the costs again from them, and the pop-up's count and total must still hold on confirm."""

from __future__ import annotations

import csv
import datetime as dt
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
    assert '<input type="hidden" name="expected" value="60:7770">' in body
    assert 'name="cost"' not in body  # the filters travel, not the ids
    assert "Void selected · 60 costs" in body
    response = admin_client.post(
        reverse(BULK),
        {
            "action": "void",
            "scope": "matching",
            "query": QUERY,
            "expected": "60:7770",
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
                "expected": "60:7770",
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
    assert '<input type="hidden" name="expected" value="59:7670">' in body


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
        "status=open&amount_min=abc",  # an invalid filter is not "everything"
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
