"""Positive pay and check printing details through the API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from casebridge.books.models import ActivityCode, BankAccount, PositivePayLayout
from casebridge.books.services import checks
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import BASE, ApiClient, Reply, issue_token
from tests.books.ledger_helpers import books_open, operating_check


@pytest.fixture
def bank(firm, operating) -> BankAccount:
    BankAccount.objects.filter(pk=operating.pk).update(
        routing_number="021000021", account_number="123456789"
    )
    return BankAccount.objects.get(pk=operating.pk)


@pytest.fixture
def issued(firm, admin, bank, client_file):
    """1001 to Maria Lopez printed on March 5th; 1002 printed then and voided the 10th."""
    books_open(firm, admin)
    court = ActivityCode.objects.get(firm=firm, code="E112")
    rows = [
        operating_check(firm, admin, bank, client_file, cents, court, payee=payee)
        for payee, cents in (("Maria Lopez", 123_456), ("@SUM(A1)", 5_000))
    ]
    checks.checks_print_batch(
        firm=firm,
        actor=admin,
        check_ids=[r.pk for r in rows],
        bank_account_id=bank.pk,
        printed_on=dt.date(2026, 3, 5),
    )
    checks.check_void(firm=firm, actor=admin, check_id=rows[1].pk, void_date=dt.date(2026, 3, 10))
    return rows


def put(api: ApiClient, path: str, body: Any) -> Reply:
    response = api.client.put(
        BASE + path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    return api._reply(response)


def csv_get(client, token, bank_id, **params):
    return client.get(
        f"{BASE}/bank-accounts/{bank_id}/positive-pay.csv",
        params,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_the_file_in_each_preset(client, token, bank, issued):
    response = csv_get(client, token, bank.pk, start="2026-03-01", end="2026-03-31")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="positive-pay-operating-20260301-20260331.csv"'
    )
    assert response.content.decode() == (
        "Account Number,Check Number,Amount,Issue Date,Payee,Issue/Void\r\n"
        "123456789,1001,1234.56,03/05/2026,Maria Lopez,I\r\n"
        "123456789,1002,50.00,03/05/2026,'@SUM(A1),I\r\n"
        "123456789,1002,50.00,03/05/2026,'@SUM(A1),V\r\n"
    )
    response = csv_get(
        client, token, bank.pk, start="2026-03-06", end="2026-03-31", layout="cents_ymd_noheader"
    )
    assert response.content.decode() == "123456789,1002,5000,20260305,V,'@SUM(A1)\r\n"


def test_the_saved_layout_is_used_by_default(api, client, token, bank, issued):
    reply = put(
        api,
        f"/bank-accounts/{bank.pk}/positive-pay-layout",
        {
            "layout": {
                "columns": ["check_number", "amount", "flag"],
                "date_format": "YYYY-MM-DD",
                "amount_format": "cents",
                "issue_flag": "ISS",
                "void_flag": "VD",
                "header": False,
            }
        },
    )
    assert reply.status == 200, reply.body
    assert reply.body == {
        "bank_account_id": bank.pk,
        "saved": True,
        "columns": ["check_number", "amount", "flag"],
        "date_format": "YYYY-MM-DD",
        "amount_format": "cents",
        "issue_flag": "ISS",
        "void_flag": "VD",
        "header": False,
    }
    response = csv_get(client, token, bank.pk, start="2026-03-01", end="2026-03-31")
    assert response.content.decode() == "1001,123456,ISS\r\n1002,5000,ISS\r\n1002,5000,VD\r\n"
    # a preset by name replaces it
    reply = put(
        api, f"/bank-accounts/{bank.pk}/positive-pay-layout", {"preset": "cents_ymd_noheader"}
    )
    assert reply.body["columns"] == [
        "account",
        "check_number",
        "amount",
        "issue_date",
        "flag",
        "payee",
    ]
    assert api.get(f"/bank-accounts/{bank.pk}/positive-pay-layout").body == reply.body
    assert AuditEvent.objects.filter(action="positive_pay_layout_saved").count() == 2


def test_without_a_saved_layout_the_first_preset_is_reported(api, bank):
    body = api.get(f"/bank-accounts/{bank.pk}/positive-pay-layout").body
    assert (body["saved"], body["columns"], body["date_format"], body["header"]) == (
        False,
        ["account", "check_number", "amount", "issue_date", "payee", "flag"],
        "MM/DD/YYYY",
        True,
    )


def test_refusals_name_the_problem(api, client, token, firm, bank, operating, other_firm):
    theirs = BankAccount.objects.get(firm=other_firm, kind="operating")
    cases = [
        (bank.pk, {"start": "2026-03-31", "end": "2026-03-01"}, 422, "start"),
        (bank.pk, {"end": "2026-03-01"}, 422, "start"),
        (bank.pk, {"start": "2026-03-01", "end": "2026-02-30"}, 422, "end"),
        (bank.pk, {"start": "2026-03-01", "end": "2026-03-31", "layout": "acme"}, 422, "layout"),
        (theirs.pk, {"start": "2026-03-01", "end": "2026-03-31"}, 404, None),
        (999_999, {"start": "2026-03-01", "end": "2026-03-31"}, 404, None),
    ]
    for bank_id, params, status, field in cases:
        response = csv_get(client, token, bank_id, **params)
        assert response.status_code == status, (params, response.content)
        assert response.json()["error"].get("field") == field, response.json()
    BankAccount.objects.filter(pk=bank.pk).update(account_number="")
    response = csv_get(client, token, bank.pk, start="2026-03-01", end="2026-03-31")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "account_number"
    # layouts: one of preset or layout, each field checked
    for body, field in [
        ({}, None),
        (
            {
                "preset": "csv_mdy_iv",
                "layout": {
                    "columns": ["amount"],
                    "date_format": "YYYYMMDD",
                    "amount_format": "cents",
                },
            },
            None,
        ),
        ({"preset": "acme"}, "preset"),
        (
            {
                "layout": {
                    "columns": ["amount", "amount"],
                    "date_format": "YYYYMMDD",
                    "amount_format": "cents",
                }
            },
            "columns",
        ),
        (
            {
                "layout": {
                    "columns": ["amount"],
                    "date_format": "DD.MM.YYYY",
                    "amount_format": "cents",
                }
            },
            "layout.date_format",
        ),
    ]:
        reply = put(api, f"/bank-accounts/{bank.pk}/positive-pay-layout", body)
        assert reply.status == 422, (body, reply.body)
        if field is not None:
            assert reply.error["field"] == field, reply.body
    assert (
        put(api, f"/bank-accounts/{theirs.pk}/positive-pay-layout", {"preset": "csv_mdy_iv"}).status
        == 404
    )
    assert not PositivePayLayout.objects.exists()


def test_check_printing_details(api, operating):
    reply = put(
        api,
        f"/bank-accounts/{operating.pk}/check-printing",
        {
            "bank_name": "First National Bank",
            "routing_number": "021000021",
            "account_number": "12-345 678",
        },
    )
    assert reply.status == 200, reply.body
    assert reply.body == {
        "bank_account_id": operating.pk,
        "bank_name": "First National Bank",
        "routing_number": "021000021",
        "account_number_last4": "5678",
        "micr_line": True,
    }
    assert api.get(f"/bank-accounts/{operating.pk}/check-printing").body == reply.body
    reply = put(
        api,
        f"/bank-accounts/{operating.pk}/check-printing",
        {"routing_number": "021000022", "account_number": "1"},
    )
    assert reply.status == 422
    assert reply.error["field"] == "routing_number"
    assert reply.error["message"].startswith("routing number 021000022 fails the ABA checksum")
    assert BankAccount.objects.get(pk=operating.pk).routing_number == "021000021"


def test_only_an_administrator_sets_bank_details(client, attorney, operating):
    clerk = ApiClient(client, issue_token("smith-pi", attorney.email))
    reply = put(
        clerk,
        f"/bank-accounts/{operating.pk}/check-printing",
        {"routing_number": "021000021", "account_number": "1"},
    )
    assert (reply.status, reply.error["code"]) == (403, "admin_required")
    reply = put(
        clerk, f"/bank-accounts/{operating.pk}/positive-pay-layout", {"preset": "csv_mdy_iv"}
    )
    assert (reply.status, reply.error["code"]) == (403, "admin_required")
    assert BankAccount.objects.get(pk=operating.pk).routing_number == ""
    # reading is for every user of the firm
    assert clerk.get(f"/bank-accounts/{operating.pk}/check-printing").status == 200
