"""The financial statements' screens under Reports (issue 15, ADR 0042), on the
hand-checked workload of tests/books/financial_workload.py."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from casebridge.books.models import GLAccount
from tests.books.financial_workload import Workload, build

from .conftest import text

SCREENS = ["books:profit_and_loss", "books:balance_sheet", "books:general_ledger",
           "books:cost_advances"]  # fmt: skip


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build(firm, admin, attorney, operating, trust, client_file)


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_the_reports_index_links_every_statement_and_the_ledgers(admin_client):
    html = text(admin_client.get(reverse("books:reports")))
    for name in [*SCREENS, "books:client_ledger", "books:trust_journal"]:
        assert f'href="{reverse(name)}"' in html, name


@pytest.mark.parametrize("name", SCREENS)
def test_each_statement_needs_a_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "/books/login/" in response["Location"]


@pytest.mark.parametrize("name", SCREENS)
def test_each_statement_opens_for_a_clerk_on_an_empty_book(clerk_client, name):
    assert clerk_client.get(reverse(name)).status_code == 200


def test_the_balance_sheet_on_march_31(admin_client, books):
    html = squeeze(text(admin_client.get(reverse("books:balance_sheet"), {"as_of": "2026-03-31"})))
    assert 'data-status="balanced"' in html
    assert '1000 Operating Bank</td><td class="num">$78,475.00' in html
    assert 'Retained earnings</td><td class="num">-$25.00' in html
    assert 'Current-year earnings</td><td class="num">$29,600.00' in html
    assert html.count("<strong>$88,375.00</strong>") == 2  # assets = liabilities + equity


def test_the_profit_and_loss_by_month_with_a_comparison(admin_client, books):
    html = squeeze(
        text(
            admin_client.get(
                reverse("books:profit_and_loss"),
                {
                    "start": "2026-01-01",
                    "end": "2026-03-31",
                    "by_month": "on",
                    "comparison": "previous_period",
                },
            )
        )
    )
    assert 'data-net="2960000"' in html
    assert "Mar 2026" in html
    assert "2025-10-03 to 2025-12-31" in html
    assert "5000 Bank Charges" in html  # only in the period compared with


def test_a_backwards_period_is_refused_on_the_end_field(admin_client):
    response = admin_client.get(
        reverse("books:profit_and_loss"), {"start": "2026-03-31", "end": "2026-03-01"}
    )
    assert response.status_code == 422
    assert "The end date is before the start date." in text(response)


def test_the_general_ledger_pages_with_next(admin_client, firm, books):
    operating = GLAccount.objects.get(firm=firm, number="1000")
    query = {"account": operating.pk, "start": "2026-01-01", "end": "2026-03-31"}
    html = squeeze(text(admin_client.get(reverse("books:general_ledger"), query)))
    assert "Opening balance" in html
    assert "Closing balance" in html
    assert "<strong>$78,475.00</strong>" in html
    assert 'rel="next"' not in html  # six postings: one page
    bad = admin_client.get(reverse("books:general_ledger"), {**query, "cursor": "forged"})
    assert bad.status_code == 422
    assert "not a cursor of this ledger" in text(bad)


def test_cost_advances_on_march_31(admin_client, books):
    html = squeeze(text(admin_client.get(reverse("books:cost_advances"), {"as_of": "2026-03-31"})))
    assert 'data-total="unrecovered">$1,100.00<' in html
    assert "2026-01-10 (80 days)" in html
    assert "2026-02-05 (54 days)" in html


@pytest.mark.parametrize(
    ("name", "query", "status"),
    [
        ("books:profit_and_loss", {"start": "9999-06-01", "end": "9999-12-31", "by_month": "on"},
         200),
        ("books:cost_advances", {"as_of": "0001-01-01"}, 200),
        ("books:profit_and_loss",
         {"start": "0001-01-01", "end": "0001-12-31", "comparison": "previous_year"}, 422),
        ("books:profit_and_loss",
         {"start": "0001-01-01", "end": "0001-12-31", "comparison": "previous_period"}, 422),
    ],
)  # fmt: skip
def test_the_calendars_first_and_last_days_are_answered_never_a_500(
    admin_client, books, name, query, status
):
    response = admin_client.get(reverse(name), query)
    assert response.status_code == status
    if status == 422:
        assert "the period compared with would begin before year 1" in text(response)
    elif "by_month" in query:
        assert "Dec 9999" in squeeze(text(response))
