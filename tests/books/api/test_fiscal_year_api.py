"""The fiscal year, the compared balance sheet and the keyset-paged trust journal over the
API (issue 15, ADR 0053), on the hand-checked workload of tests/books/financial_workload.py
with the entries around 1 July 2026: exact figures, and a 4xx naming the field with
nothing written on a bad request."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import BankAccount, BankAccountKind, Firm, Role, User
from casebridge.books.services import auth
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.financial_workload import Workload, build_across_july
from tests.conftest import PASSWORD


@pytest.fixture
def books(firm, admin, attorney, operating, trust, client_file, today) -> Workload:
    return build_across_july(firm, admin, attorney, operating, trust, client_file)


@pytest.fixture
def accountant(firm) -> User:
    user = auth.user_create(
        firm=firm, email="acc@smith.test", password=PASSWORD, role=Role.ACCOUNTANT
    )
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


def _fiscal_audits() -> int:
    return AuditEvent.objects.filter(
        system="books", entity_type="firm", summary__startswith="Fiscal year"
    ).count()


# --- GET | PUT /fiscal-year ----------------------------------------------------------------


def test_the_fiscal_year_is_read_and_set_by_an_administrator(api, firm, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 12, 7))
    assert api.get("/fiscal-year").body == {
        "first_month": 1,
        "first_month_name": "January",
        "current_start": "2026-01-01",
        "current_end": "2026-12-31",
    }
    reply = api.put("/fiscal-year", {"first_month": 7})
    assert reply.status == 200
    assert reply.body == {
        "first_month": 7,
        "first_month_name": "July",
        "current_start": "2026-07-01",
        "current_end": "2027-06-30",
    }
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 7
    assert api.get("/fiscal-year").body["first_month"] == 7
    assert _fiscal_audits() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_month": 0}, "first_month"),
        ({"first_month": 13}, "first_month"),
        ({"first_month": "7"}, "first_month"),
        ({"first_month": 7.5}, "first_month"),
        ({"first_month": True}, "first_month"),
        ({"first_month": None}, "first_month"),
        ({}, "first_month"),
        ({"first_month": 7, "fiscal_year_end": 6}, "fiscal_year_end"),
    ],
)
def test_a_bad_month_is_422_naming_the_field_and_nothing_is_written(api, firm, body, field):
    reply = api.put("/fiscal-year", body)
    assert (reply.status, reply.error["field"]) == (422, field), reply.body
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1
    assert _fiscal_audits() == 0


def test_an_accountant_may_read_the_fiscal_year_but_not_change_it(client, firm, accountant):
    accountant_api = ApiClient(client, issue_token("smith-pi", accountant.email))
    assert accountant_api.get("/fiscal-year").body["first_month"] == 1
    reply = accountant_api.put("/fiscal-year", {"first_month": 7})
    assert (reply.status, reply.error["code"]) == (403, "admin_required")
    assert reply.error["message"] == "only a books administrator can change the firm's fiscal year"
    assert Firm.objects.get(pk=firm.pk).fiscal_year_start_month == 1
    assert _fiscal_audits() == 0


def test_the_statements_follow_the_fiscal_year_set_over_the_api(api, books):
    api.put("/fiscal-year", {"first_month": 7})
    june = api.get("/reports/balance-sheet", {"as_of": "2026-06-30"}).body
    assert (june["fiscal_year_start"], june["retained_earnings"]) == ("2025-07-01", "0.00")
    assert june["current_year_earnings"] == "30075.00"
    july = api.get("/reports/balance-sheet", {"as_of": "2026-07-15"}).body
    assert (july["fiscal_year_start"], july["retained_earnings"]) == ("2026-07-01", "30075.00")
    assert (july["current_year_earnings"], july["is_balanced"]) == ("-540.00", True)
    pl = api.get("/reports/profit-and-loss", {"to": "2026-07-15"}).body
    assert (pl["from"], pl["to"], pl["net_income"]) == ("2026-07-01", "2026-07-15", "-540.00")


# --- the balance sheet compared with another day ---------------------------------------------


def test_the_balance_sheet_against_the_end_of_the_previous_fiscal_year(api, books):
    reply = api.get(
        "/reports/balance-sheet", {"as_of": "2026-03-31", "comparison": "fiscal_year_end"}
    )
    assert reply.status == 200
    body = reply.body
    assert (body["comparison"], body["comparison_as_of"], body["comparison_fiscal_year_start"]) == (
        "fiscal_year_end",
        "2025-12-31",
        "2025-01-01",
    )
    assert [
        (r["number"], r["balance"], r["comparison"], r["difference"])
        for r in body["assets"]["rows"]
    ] == [
        ("1000", "78475.00", "48775.00", "29700.00"),
        ("1010", "8800.00", "0.00", "8800.00"),
        ("1300", "1100.00", "1200.00", "-100.00"),
    ]
    assert [(r["name"], r["comparison"], r["difference"]) for r in body["equity"]["rows"]] == [
        ("Owner's Equity", "50000.00", "0.00"),
        ("Retained earnings", "0.00", "-25.00"),
        ("Current-year earnings", "-25.00", "29625.00"),
    ]
    assert (body["assets"]["comparison"], body["comparison_total_liabilities_and_equity"]) == (
        "49975.00",
        "49975.00",
    )
    assert body["total_liabilities_and_equity_difference"] == "38400.00"
    assert (body["comparison_retained_earnings"], body["comparison_current_year_earnings"]) == (
        "0.00",
        "-25.00",
    )
    assert body["is_balanced"] is True


def test_a_chosen_date_and_a_year_earlier(api, books):
    chosen = api.get(
        "/reports/balance-sheet",
        {"as_of": "2026-03-31", "comparison": "date", "compare_to": "2026-01-10"},
    ).body
    assert chosen["comparison_as_of"] == "2026-01-10"
    assert chosen["assets"]["rows"][0]["comparison"] == "47975.00"  # after B's first advance
    earlier = api.get(
        "/reports/balance-sheet", {"as_of": "2026-12-01", "comparison": "year_earlier"}
    ).body
    assert (earlier["comparison_as_of"], earlier["comparison_total_liabilities_and_equity"]) == (
        "2025-12-01",
        "50000.00",
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"comparison": "date"}, "compare_to"),
        ({"comparison": "year_earlier", "compare_to": "2025-01-01"}, "compare_to"),
        ({"compare_to": "2025-01-01"}, "compare_to"),
        ({"comparison": "date", "compare_to": "2025-02-30"}, "compare_to"),
        ({"comparison": "previous_period"}, "comparison"),
        ({"as_of": "0001-01-01", "comparison": "fiscal_year_end"}, "comparison"),
    ],
)
def test_a_comparison_that_cannot_be_made_is_422_naming_the_field(api, firm, query, field):
    reply = api.get("/reports/balance-sheet", query)
    assert (reply.status, reply.error["field"]) == (422, field), reply.body


# --- GET /reports/trust-journal ----------------------------------------------------------------


def test_the_trust_journal_pages_with_the_running_balance_in_its_cursor(api, books, trust):
    query = {"bank_account_id": trust.pk, "from": "2026-03-05", "to": "2026-04-30", "limit": 2}
    first = api.get("/reports/trust-journal", query)
    assert first.status == 200
    body = first.body
    assert {k: body[k] for k in ("from", "to", "opening", "deposits", "disbursements",
                                 "closing", "count")} == {
        "from": "2026-03-05",
        "to": "2026-04-30",
        "opening": "100000.00",  # the deposit of 2 March
        "deposits": "80000.00",  # the voided client check back, and file B's deposit
        "disbursements": "91200.00",
        "closing": "88800.00",
        "count": 4,
    }  # fmt: skip
    assert [(i["date"], i["deposit"], i["disbursement"], i["balance"]) for i in body["items"]] == [
        ("2026-03-10", "0.00", "31200.00", "68800.00"),
        ("2026-03-12", "0.00", "60000.00", "8800.00"),
    ]
    second = api.get("/reports/trust-journal", {**query, "cursor": body["next"]})
    assert second.status == 200
    assert [
        (i["date"], i["deposit"], i["balance"], i["file_number"]) for i in second.body["items"]
    ] == [
        ("2026-04-02", "60000.00", "68800.00", books.file_a.number),
        ("2026-04-15", "20000.00", "88800.00", "2026-B"),
    ]
    assert second.body["next"] is None
    assert second.body["count"] == 4


def test_a_bad_trust_journal_request_is_refused_naming_the_field(api, books, trust, operating):
    first = api.get("/reports/trust-journal", {"bank_account_id": trust.pk, "limit": 1}).body
    cases = [
        ({"bank_account_id": trust.pk, "cursor": first["next"] + "x"}, 422, "cursor"),
        # a cursor of another period
        ({"bank_account_id": trust.pk, "from": "2026-03-01", "cursor": first["next"]}, 422,
         "cursor"),
        ({"bank_account_id": trust.pk, "cursor": "not-a-cursor"}, 422, "cursor"),
        ({"bank_account_id": trust.pk, "from": "2026-04-01", "to": "2026-03-01"}, 422, "to"),
        ({"bank_account_id": trust.pk, "limit": "0"}, 422, "limit"),
        ({"bank_account_id": trust.pk, "limit": "1001"}, 422, "limit"),
        ({"bank_account_id": trust.pk, "from": "2026-02-30"}, 422, "from"),
        ({"bank_account_id": operating.pk}, 404, "bank_account_id"),
        ({}, 422, "bank_account_id"),
    ]  # fmt: skip
    for query, status, field in cases:
        reply = api.get("/reports/trust-journal", query)
        assert (reply.status, reply.error["field"]) == (status, field), (query, reply.body)


def test_another_firms_trust_account_is_not_found(api, other_firm):
    theirs = BankAccount.objects.get(firm=other_firm, kind=BankAccountKind.TRUST)
    reply = api.get("/reports/trust-journal", {"bank_account_id": theirs.pk})
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        404,
        "not_found",
        "bank_account_id",
    )
