"""The set-up the bridge reads (users, features, areas, codes, accounts, banks) and the
reports."""

from __future__ import annotations

import datetime as dt

from casebridge.books.models import ActivityCode, GLAccount
from casebridge.books.services import checks, setup


def test_users_are_listed_and_found_by_email_ignoring_case(api, admin, attorney):
    listed = api.get("/users")
    assert listed.body["count"] == 2
    sam = api.get("/users", {"email": "sam.smith@SMITH.test"})
    assert sam.body == {
        "items": [
            {
                "id": attorney.pk,
                "email": "Sam.Smith@smith.test",
                "initials": "SS",
                "first_name": "Sam",
                "last_name": "Smith",
                "is_admin": False,
                "role": "accountant",
                "records_time": True,
                "is_active": True,
                "is_integration_user": False,
            }
        ],
        "next": None,
        "count": 1,
    }
    assert api.get(f"/users/{attorney.pk}").body == sam.body["items"][0]


def test_areas_of_practice_and_activity_codes(api, firm, admin):
    setup.area_of_practice_create(firm=firm, actor=admin, name="PI", description="Personal Injury")
    advanced = GLAccount.objects.get(firm=firm, number="1300")
    copp_income = GLAccount.objects.get(firm=firm, number="4100")
    copp = setup.activity_code_create(
        firm=firm,
        actor=admin,
        code="COPP",
        name="COPP charges",
        description="Cost of preparing the case",
        gl_account_id=copp_income.pk,
    )
    areas = api.get("/areas-of-practice").body
    assert [(a["name"], a["description"]) for a in areas["items"]] == [("PI", "Personal Injury")]

    codes = api.get("/activity-codes")
    assert codes.body["count"] == 25
    assert codes.body["items"][0] == {
        "id": copp.pk,
        "code": "COPP",
        "name": "COPP charges",
        "description": "Cost of preparing the case",
        "gl_account": {
            "id": copp_income.pk,
            "number": "4100",
            "name": "COPP Charges Income",
            "type": "income",
            "role": "",
        },
        "utbms_code": "",
        "is_active": True,
    }
    e101 = api.get("/activity-codes", {"code": "e101"}).body["items"]
    assert e101 == [
        {
            "id": ActivityCode.objects.get(firm=firm, code="E101").pk,
            "code": "E101",
            "name": "Copying",
            "description": "UTBMS E101 Copying",
            "gl_account": {
                "id": advanced.pk,
                "number": "1300",
                "name": "Advanced Client Costs",
                "type": "asset",
                "role": "advanced_costs",
            },
            "utbms_code": "E101",
            "is_active": True,
        }
    ]


def test_gl_accounts_show_balances_in_normal_sign(api, trust, funded_file, today):
    page = api.get("/gl-accounts", {"limit": 1000})
    by_number = {a["number"]: a for a in page.body["items"]}
    assert page.body["count"] == 13
    assert by_number["1010"]["balance"] == "1000.00"
    assert by_number["2100"] == {
        "id": by_number["2100"]["id"],
        "number": "2100",
        "name": "Client Trust Liability",
        "type": "liability",
        "role": "client_trust_liability",
        "is_client_trust": True,
        "is_active": True,
        "balance": "1000.00",
    }
    assert by_number["3000"]["role"] is None
    liabilities = api.get("/gl-accounts", {"type": "liability"}).body["items"]
    assert [a["number"] for a in liabilities] == ["2000", "2100"]
    balance = api.get(f"/gl-accounts/{by_number['2100']['id']}/balance").body
    assert balance == {
        "account_id": by_number["2100"]["id"],
        "number": "2100",
        "name": "Client Trust Liability",
        "type": "liability",
        "as_of": today.isoformat(),
        "balance": "1000.00",
    }
    banks = api.get("/bank-accounts", {"kind": "trust"}).body
    assert banks["count"] == 1
    assert banks["items"][0]["balance"] == "1000.00"
    assert banks["items"][0]["trust_liability_account"]["number"] == "2100"
    assert (
        api.get("/bank-accounts", {"kind": "operating"}).body["items"][0]["trust_liability_account"]
        is None
    )


def test_trial_balance(api, funded_file, today):
    tb = api.get("/reports/trial-balance").body
    assert tb == {
        "as_of": today.isoformat(),
        "rows": [
            {
                "account_id": tb["rows"][0]["account_id"],
                "number": "1010",
                "name": "Client Trust Bank (IOLTA)",
                "type": "asset",
                "debit": "1000.00",
                "credit": "0.00",
            },
            {
                "account_id": tb["rows"][1]["account_id"],
                "number": "2100",
                "name": "Client Trust Liability",
                "type": "liability",
                "debit": "0.00",
                "credit": "1000.00",
            },
        ],
        "total_debit": "1000.00",
        "total_credit": "1000.00",
        "is_balanced": True,
    }
    before = api.get("/reports/trial-balance", {"as_of": "2026-03-01"}).body
    assert (before["as_of"], before["rows"], before["total_debit"]) == ("2026-03-01", [], "0.00")
    bad = api.get("/reports/trial-balance", {"as_of": "March"})
    assert (bad.status, bad.error["field"]) == (422, "as_of")


def test_three_way_reconciliation(api, firm, admin, trust, operating, funded_file):
    check = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payee="Medicare",
        amount_cents=25_000,
        file_id=funded_file.pk,
        request_date=dt.date(2026, 3, 4),
    )
    params = {"bank_account_id": trust.pk, "statement_balance": "1000.00", "as_of": "2026-03-31"}
    rec = api.get("/reports/three-way-reconciliation", params).body
    assert rec == {
        "bank_account_id": trust.pk,
        "bank_account_name": "Client Trust (IOLTA)",
        "as_of": "2026-03-31",
        "statement_balance": "1000.00",
        "deposits_in_transit": "0.00",
        "outstanding_checks": "250.00",
        "outstanding_check_list": [
            {"check_id": check.pk, "check_number": None, "payee": "Medicare", "amount": "250.00"}
        ],
        "adjusted_bank_balance": "750.00",
        "trust_journal_balance": "750.00",
        "client_ledgers_total": "750.00",
        "client_ledgers_recomputed": "750.00",
        "trust_liability_balance": "750.00",
        "differences": [],
        "is_reconciled": True,
    }
    off = api.get(
        "/reports/three-way-reconciliation",
        {**params, "statement_balance": "990.00", "outstanding_checks": "250.00"},
    ).body
    assert off["is_reconciled"] is False
    assert off["differences"] == [
        "adjusted bank balance $740.00 differs from the trust journal $750.00 by -$10.00"
    ]
    bad = api.get("/reports/three-way-reconciliation", {**params, "deposits_in_transit": "-1"})
    assert (bad.status, bad.error["field"]) == (422, "deposits_in_transit")
    not_trust = api.get(
        "/reports/three-way-reconciliation", {**params, "bank_account_id": operating.pk}
    )
    assert (not_trust.status, not_trust.error["field"]) == (422, "bank_account")
    missing = api.get("/reports/three-way-reconciliation", {"bank_account_id": trust.pk})
    assert (missing.status, missing.error["field"]) == (422, "statement_balance")
