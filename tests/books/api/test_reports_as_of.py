"""The reports over the API, as of a date: an outside client asking for March's three-way
reconciliation gets March's figures, and a report without a date is as of today, with
nothing dated later in it. Every answer says the date it was computed for."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import AccountRole, File
from casebridge.books.services import checks, files
from casebridge.books.services.journal import Line, journal_entry_post
from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.conftest import account

MAR2, MAR10, MAR31 = dt.date(2026, 3, 2), dt.date(2026, 3, 10), dt.date(2026, 3, 31)
APR3, APR6 = dt.date(2026, 4, 3), dt.date(2026, 4, 6)
REC = "/reports/three-way-reconciliation"


@pytest.fixture
def second_file(firm, admin) -> File:
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Tom Baker")
    file, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Baker v. City Bus", client=client, number="2026-B"
    )
    return file


@pytest.fixture
def march_then_april(firm, admin, trust, client_file, second_file):
    """1,000.00 in on March 2 and a 300.00 check on March 10; after the March statement,
    500.00 in for another client and a 200.00 check."""
    deposit(firm, admin, trust, client_file, 100_000, on=MAR2)
    march_check = trust_check(firm, admin, trust, client_file, 30_000, on=MAR10, payee="Valley")
    checks.check_print(firm=firm, actor=admin, check_id=march_check.pk, printed_on=MAR10)
    deposit(firm, admin, trust, second_file, 50_000, on=APR3)
    april_check = trust_check(firm, admin, trust, client_file, 20_000, on=APR6, payee="Records")
    return march_check, april_check


def test_marchs_reconciliation_has_marchs_figures(api, trust, march_then_april):
    march_check, _ = march_then_april
    reply = api.get(
        REC, {"bank_account_id": trust.pk, "statement_balance": "1000.00", "as_of": "2026-03-31"}
    )
    assert reply.status == 200
    assert reply.body == {
        "bank_account_id": trust.pk,
        "bank_account_name": "Client Trust (IOLTA)",
        "as_of": "2026-03-31",
        "statement_balance": "1000.00",
        "deposits_in_transit": "0.00",
        "outstanding_checks": "300.00",
        "outstanding_check_list": [
            {
                "check_id": march_check.pk,
                "check_number": 1001,
                "payee": "Valley",
                "amount": "300.00",
            }
        ],
        "adjusted_bank_balance": "700.00",
        "trust_journal_balance": "700.00",
        "client_ledgers_total": "700.00",
        "client_ledgers_recomputed": "700.00",
        "trust_liability_balance": "700.00",
        "differences": [],
        "is_reconciled": True,
    }


def test_marchs_reconciliation_against_todays_statement_is_not_reconciled(
    api, trust, march_then_april
):
    """Today's bank figures (1,300.00, the April check out) do not reconcile March."""
    reply = api.get(
        REC,
        {
            "bank_account_id": trust.pk,
            "statement_balance": "1300.00",
            "outstanding_checks": "0.00",
            "as_of": "2026-03-31",
        },
    )
    body = reply.body
    assert (body["client_ledgers_total"], body["trust_liability_balance"]) == ("700.00", "700.00")
    assert body["is_reconciled"] is False
    assert body["differences"] == [
        "adjusted bank balance $1,300.00 differs from the trust journal $700.00 by $600.00"
    ]


@pytest.fixture
def in_a_month(today) -> dt.date:
    return today + dt.timedelta(days=30)


@pytest.fixture
def booked_ahead(firm, admin, client_file, in_a_month):
    """Manual entries dated a month ahead: 250.00 into the client's trust and 50.00 fee
    income into operating."""
    books_open(firm, admin)  # opened on Jan 1: an entry ahead is not the first record
    journal_entry_post(
        firm=firm,
        date=in_a_month,
        memo="Settlement expected next month",
        actor=admin,
        lines=[
            Line(account=account(firm, AccountRole.TRUST_BANK), debit_cents=25_000),
            Line(
                account=account(firm, AccountRole.CLIENT_TRUST_LIABILITY),
                credit_cents=25_000,
                file=client_file,
            ),
        ],
    )
    journal_entry_post(
        firm=firm,
        date=in_a_month,
        memo="Fee expected next month",
        actor=admin,
        lines=[
            Line(account=account(firm, AccountRole.OPERATING_BANK), debit_cents=5_000),
            Line(account=account(firm, AccountRole.FEE_INCOME), credit_cents=5_000),
        ],
    )


def test_todays_trial_balance_leaves_out_entries_dated_next_month(
    api, firm, admin, trust, client_file, booked_ahead, today, in_a_month
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR2)
    tb = api.get("/reports/trial-balance").body
    assert tb["as_of"] == today.isoformat()
    assert [(r["number"], r["debit"], r["credit"]) for r in tb["rows"]] == [
        ("1010", "1000.00", "0.00"),
        ("2100", "0.00", "1000.00"),
    ]
    assert (tb["total_debit"], tb["total_credit"], tb["is_balanced"]) == (
        "1000.00",
        "1000.00",
        True,
    )
    ahead = api.get("/reports/trial-balance", {"as_of": in_a_month.isoformat()}).body
    assert [(r["number"], r["debit"], r["credit"]) for r in ahead["rows"]] == [
        ("1000", "50.00", "0.00"),
        ("1010", "1250.00", "0.00"),
        ("2100", "0.00", "1250.00"),
        ("4000", "0.00", "50.00"),
    ]


def test_todays_reconciliation_leaves_out_a_trust_entry_dated_next_month(
    api, firm, admin, trust, client_file, booked_ahead, today
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR2)
    body = api.get(REC, {"bank_account_id": trust.pk, "statement_balance": "1000.00"}).body
    assert body["as_of"] == today.isoformat()
    assert [
        body[k]
        for k in (
            "adjusted_bank_balance",
            "trust_journal_balance",
            "client_ledgers_total",
            "client_ledgers_recomputed",
            "trust_liability_balance",
        )
    ] == ["1000.00"] * 5
    assert (body["differences"], body["is_reconciled"]) == ([], True)


def test_the_client_trust_ledger_as_of_a_date_and_today(
    api, firm, admin, trust, client_file, booked_ahead, today, in_a_month
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR2)
    trust_check(firm, admin, trust, client_file, 30_000, on=MAR10)

    def ledger(params):
        body = api.get(f"/files/{client_file.pk}/trust-ledger", params).body
        [one] = body["ledgers"]
        return body["as_of"], one["balance"], [(ln["date"], ln["balance"]) for ln in one["lines"]]

    assert ledger({"as_of": "2026-03-05"}) == ("2026-03-05", "1000.00", [("2026-03-02", "1000.00")])
    assert ledger({}) == (
        today.isoformat(),
        "700.00",
        [("2026-03-02", "1000.00"), ("2026-03-10", "700.00")],
    )
    assert ledger({"as_of": in_a_month.isoformat()}) == (
        in_a_month.isoformat(),
        "950.00",
        [("2026-03-02", "1000.00"), ("2026-03-10", "700.00"), (in_a_month.isoformat(), "950.00")],
    )
    before = api.get(f"/files/{client_file.pk}/trust-ledger", {"as_of": "2026-03-01"}).body
    assert before["ledgers"] == []
    bad = api.get(f"/files/{client_file.pk}/trust-ledger", {"as_of": "March"})
    assert (bad.status, bad.error["field"]) == (422, "as_of")


def test_balances_read_now_leave_out_entries_dated_next_month(
    api, firm, admin, trust, client_file, booked_ahead, today
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR2)
    operating_gl = account(firm, AccountRole.OPERATING_BANK)

    balance = api.get(f"/gl-accounts/{operating_gl.pk}/balance").body
    assert (balance["balance"], balance["as_of"]) == ("0.00", today.isoformat())
    accounts = {a["number"]: a["balance"] for a in api.get("/gl-accounts").body["items"]}
    assert (accounts["1000"], accounts["1010"], accounts["2100"], accounts["4000"]) == (
        "0.00",
        "1000.00",
        "1000.00",
        "0.00",
    )
    assert api.get(f"/gl-accounts/{operating_gl.pk}").body["balance"] == "0.00"
    banks = {b["name"]: b["balance"] for b in api.get("/bank-accounts").body["items"]}
    assert banks == {"Client Trust (IOLTA)": "1000.00", "Operating": "0.00"}
    assert api.get(f"/bank-accounts/{trust.pk}").body["balance"] == "1000.00"

    file = api.get(f"/files/{client_file.pk}").body
    assert [b["balance"] for b in file["trust_balances"]] == ["1000.00"]
    assert [f["trust_balances"][0]["balance"] for f in api.get("/files").body["items"]] == [
        "1000.00"
    ]

    balances = api.get("/reports/trust-balances", {"bank_account_id": trust.pk}).body
    assert balances["as_of"] == today.isoformat()
    assert [i["balance"] for i in balances["items"]] == ["1000.00"]
    by_id = api.get(
        "/reports/trust-balances", {"bank_account_id": trust.pk, "file_ids": str(client_file.pk)}
    ).body
    assert [i["balance"] for i in by_id["items"]] == ["1000.00"]


def test_trust_balances_as_of_a_past_date(api, trust, client_file, second_file, march_then_april):
    body = api.get(
        "/reports/trust-balances", {"bank_account_id": trust.pk, "as_of": "2026-03-31"}
    ).body
    assert body["as_of"] == "2026-03-31"
    assert [(i["file_number"], i["balance"]) for i in body["items"]] == [
        (client_file.number, "700.00"),
        ("2026-B", "0.00"),
    ]
