"""The financial statements over the API (issue 15, ADR 0042), on the hand-checked workload
of tests/books/financial_workload.py: the same figures as the selectors, decimal strings,
and a clear 422 naming the field for a bad date or period."""

from __future__ import annotations

import pytest

from casebridge.books.models import GLAccount
from tests.books.financial_workload import Workload, build


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build(firm, admin, attorney, operating, trust, client_file)


def test_the_balance_sheet_on_march_31(api, books):
    reply = api.get("/reports/balance-sheet", {"as_of": "2026-03-31"})
    assert reply.status == 200
    body = reply.body
    assert (body["as_of"], body["fiscal_year_start"]) == ("2026-03-31", "2026-01-01")
    assert [(r["number"], r["balance"]) for r in body["assets"]["rows"]] == [
        ("1000", "78475.00"),
        ("1010", "8800.00"),
        ("1300", "1100.00"),
    ]
    no_comparison = {"comparison": None, "difference": None}
    assert body["equity"]["rows"][-2:] == [
        {"account_id": None, "number": "", "name": "Retained earnings", "balance": "-25.00"}
        | no_comparison,
        {"account_id": None, "number": "", "name": "Current-year earnings", "balance": "29600.00"}
        | no_comparison,
    ]
    assert (body["comparison"], body["comparison_as_of"]) == ("none", None)
    assert body["assets"]["total"] == body["total_liabilities_and_equity"] == "88375.00"
    assert body["is_balanced"] is True


def test_the_profit_and_loss_by_month_compared_with_a_year_earlier(api, books):
    reply = api.get(
        "/reports/profit-and-loss",
        {
            "from": "2026-01-01",
            "to": "2026-03-31",
            "by_month": "true",
            "comparison": "previous_year",
        },
    )
    assert reply.status == 200
    body = reply.body
    assert (body["from"], body["to"], body["months"]) == (
        "2026-01-01",
        "2026-03-31",
        ["2026-01", "2026-02", "2026-03"],
    )
    assert (body["comparison_from"], body["comparison_to"]) == ("2025-01-01", "2025-03-31")
    assert body["income"]["rows"] == [
        {
            "account_id": GLAccount.objects.get(number="4000").pk,
            "number": "4000",
            "name": "Attorney Fee Income",
            "months": ["0.00", "0.00", "30000.00"],
            "total": "30000.00",
            "comparison": "0.00",
            "difference": "30000.00",
        }
    ]
    assert (body["net_months"], body["net_income"], body["net_difference"]) == (
        ["0.00", "0.00", "29600.00"],
        "29600.00",
        "29600.00",
    )


def test_the_general_ledger_pages_with_its_cursor(api, books):
    operating = GLAccount.objects.get(number="1000")
    query = {"from": "2026-01-01", "to": "2026-03-31", "account_id": operating.pk, "limit": 4}
    first = api.get("/reports/general-ledger", query)
    assert first.status == 200
    assert first.body["accounts"][0] | {"account_id": 0} == {
        "account_id": 0,
        "number": "1000",
        "name": "Operating Bank",
        "type": "asset",
        "opening": "48775.00",
        "debits": "31350.00",
        "credits": "1650.00",
        "closing": "78475.00",
    }
    assert [p["balance"] for p in first.body["items"]] == [
        "47975.00",
        "47675.00",
        "47525.00",
        "47675.00",
    ]
    second = api.get("/reports/general-ledger", {**query, "cursor": first.body["next"]})
    assert [p["balance"] for p in second.body["items"]] == ["78875.00", "78475.00"]
    assert second.body["next"] is None
    bad = api.get("/reports/general-ledger", {**query, "cursor": first.body["next"] + "x"})
    assert (bad.status, bad.error["field"]) == (422, "cursor")


def test_cost_advances_by_file_on_march_31(api, books):
    reply = api.get("/reports/cost-advances", {"as_of": "2026-03-31"})
    assert reply.status == 200
    body = reply.body
    assert [
        (r["file_number"], r["unrecovered"], r["oldest_unrecovered"], r["age_days"], r["aging"])
        for r in body["rows"]
    ] == [
        (
            books.file_a.number,
            "300.00",
            "2026-02-05",
            54,
            {"0-30": "0.00", "31-60": "300.00", "61-90": "0.00", "90+": "0.00"},
        ),
        (
            "2026-B",
            "800.00",
            "2026-01-10",
            80,
            {"0-30": "0.00", "31-60": "0.00", "61-90": "800.00", "90+": "0.00"},
        ),
    ]
    assert body["unrecovered"] == "1100.00"


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/reports/profit-and-loss", {"from": "2026-03-31", "to": "2026-03-01"}, "to"),
        ("/reports/profit-and-loss", {"from": "2000-01-01", "to": "2026-03-01"}, "from"),
        ("/reports/profit-and-loss", {"from": "2026-02-30"}, "from"),
        ("/reports/profit-and-loss", {"comparison": "last_decade"}, "comparison"),
        (
            "/reports/profit-and-loss",
            {"from": "2020-01-01", "to": "2023-12-31", "by_month": "true"},
            "by_month",
        ),
        ("/reports/balance-sheet", {"as_of": "31/03/2026"}, "as_of"),
        ("/reports/cost-advances", {"as_of": "yesterday"}, "as_of"),
        ("/reports/general-ledger", {"to": "2026-13-01"}, "to"),
        ("/reports/general-ledger", {"limit": "0"}, "limit"),
        ("/reports/general-ledger", {"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_dates_and_ranges_are_422_naming_the_field(api, firm, path, query, field):
    reply = api.get(path, query)
    assert reply.status == 422, reply.body
    assert reply.error["field"] == field


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/reports/profit-and-loss", {"from": "9999-06-01", "to": "9999-12-31", "by_month": "true"},
         200),
        ("/reports/cost-advances", {"as_of": "0001-01-01"}, 200),
        ("/reports/cost-advances", {"as_of": "9999-12-31"}, 200),
        ("/reports/general-ledger", {"from": "9999-01-01", "to": "9999-12-31"}, 200),
        ("/reports/profit-and-loss",
         {"from": "0001-01-01", "to": "0001-12-31", "comparison": "previous_year"}, 422),
        ("/reports/profit-and-loss",
         {"from": "0001-01-01", "to": "0001-12-31", "comparison": "previous_period"}, 422),
    ],
)  # fmt: skip
def test_the_calendars_first_and_last_days_are_answered_never_a_500(
    api, books, path, query, status
):
    """The month after December 9999 and the aging buckets before year 1 were 500s."""
    reply = api.get(path, query)
    assert reply.status == status, reply.body
    if status == 422:
        assert reply.error["field"] == "comparison"
