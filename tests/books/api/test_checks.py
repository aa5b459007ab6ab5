"""Checks and trust receipts through the API: exact amounts, the trust safeguard, and
refusals that name the field and write nothing."""

from __future__ import annotations

import pytest

from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    Check,
    JournalEntry,
    Posting,
    TrustLedger,
)
from tests.books.api.conftest import row_counts
from tests.conftest import account


@pytest.fixture
def e101(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E101")


@pytest.fixture
def cost(operating, client_file, e101) -> dict[str, object]:
    return {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "1,250.50",
        "file_id": client_file.pk,
        "activity_code_id": e101.pk,
        "memo": "Medical records",
        "posting_reference": "COST",
        "request_date": "2026-03-02",
        "external_ref": "cost-17",
    }


def trust_balance(file) -> int:
    return TrustLedger.objects.get(file=file).balance_cents


def test_an_operating_check_posts_the_cost_advance(api, firm, operating, client_file, e101, cost):
    reply = api.post("/checks", cost)
    assert reply.status == 201
    check = Check.objects.get()
    assert reply.body == {
        "id": check.pk,
        "bank_account_id": operating.pk,
        "file_id": client_file.pk,
        "payee": "Records Inc",
        "amount": "1250.50",
        "activity_code_id": e101.pk,
        "memo": "Medical records",
        "posting_reference": "COST",
        "external_ref": "cost-17",
        "status": "queued",
        "check_number": None,
        "request_date": "2026-03-02",
        "printed_on": None,
        "voided_on": None,
        "void_reason": "",
        "entry_id": check.entry_id,
        "void_entry_id": None,
        "cleared_on": None,
        "method": "check",
        "ach": None,
    }
    assert account(firm, AccountRole.ADVANCED_COSTS).balance_cents == 125_050
    assert account(firm, AccountRole.OPERATING_BANK).balance_cents == -125_050
    assert api.get(f"/checks/{check.pk}").body == reply.body
    assert check.created_by.email == "admin@smith.test"


def test_a_trust_check_beyond_the_clients_balance_is_refused_and_writes_nothing(
    api, trust, funded_file
):
    before = row_counts()
    reply = api.post(
        "/checks",
        {
            "bank_account_id": trust.pk,
            "payee": "Maria Lopez",
            "amount": "1000.01",
            "file_id": funded_file.pk,
        },
    )
    assert reply.status == 409
    assert reply.error["code"] == "insufficient_trust_funds"
    assert reply.error["details"] == {
        "available": "1000.00",
        "requested": "1000.01",
        "file_id": funded_file.pk,
    }
    assert "has $1,000.00 available in trust" in reply.error["message"]
    assert row_counts() == before
    assert trust_balance(funded_file) == 100_000


def test_a_trust_check_within_the_balance_holds_the_money_at_once(api, trust, funded_file):
    reply = api.post(
        "/checks",
        {
            "bank_account_id": trust.pk,
            "payee": "Maria Lopez",
            "amount": "400.00",
            "file_id": funded_file.pk,
        },
    )
    assert (reply.status, reply.body["status"]) == (201, "queued")
    assert trust_balance(funded_file) == 60_000
    file = api.get(f"/files/{funded_file.pk}").body
    assert file["trust_balances"] == [
        {
            "bank_account_id": trust.pk,
            "bank_account_name": "Client Trust (IOLTA)",
            "balance": "600.00",
        }
    ]


BAD_CHECKS = [
    # (change to the good body, status, code, field, message fragment)
    ({"amount": 12.5}, 422, "validation_error", "amount", "must be a decimal string"),
    ({"amount": 12}, 201, None, None, None),  # a JSON integer is exact: 12.00
    ({"amount": "12.345"}, 422, "validation_error", "amount", "more than two decimal places"),
    ({"amount": "-5.00"}, 422, "validation_error", "amount", "must be greater than zero"),
    ({"amount": "0.00"}, 422, "validation_error", "amount", "must be greater than zero"),
    ({"amount": "abc"}, 422, "validation_error", "amount", "is not a number"),
    ({"amount": "100000000000000.00"}, 422, "validation_error", "amount", "is too large"),
    ({"amount": "1e5"}, 422, "validation_error", "amount", "is not a number"),
    ({"amount": True}, 422, "validation_error", "amount", "must be a decimal string"),
    ({"amount": None}, 422, "validation_error", "amount", "must be a decimal amount"),
    ({"payee": "   "}, 422, "validation_error", "payee", "at least 1 character"),
    ({"payee": "x" * 201}, 422, "validation_error", "payee", "at most 200 characters"),
    ({"payee": "Rec\x00ords"}, 422, "validation_error", "payee", "NUL"),
    ({"external_ref": "r" * 121}, 422, "validation_error", "external_ref", "at most 120"),
    ({"request_date": "2026-02-30"}, 422, "validation_error", "request_date", "valid date"),
    ({"file_id": "x"}, 422, "validation_error", "file_id", "valid integer"),
    ({"file_id": 2**64}, 422, "validation_error", "file_id", "less than or equal"),
    ({"bank_account_id": 999_999}, 404, "not_found", "bank_account_id", "bank account 999999"),
    ({"file_id": 999_999}, 404, "not_found", "file_id", "file 999999 not found"),
    ({"activity_code_id": 999_999}, 404, "not_found", "activity_code_id", "activity code"),
    ({"activity_code_id": None}, 422, "validation_error", "activity_code", "activity code is"),
    ({"ammount": "1.00"}, 422, "validation_error", "ammount", "Extra inputs"),
]


@pytest.mark.parametrize(("change", "status", "code", "field", "fragment"), BAD_CHECKS)
def test_bad_check_inputs_are_refused_naming_the_field(
    api, cost, change, status, code, field, fragment
):
    before = row_counts()
    reply = api.post("/checks", {**cost, **change})
    assert reply.status == status, reply.body
    if status == 201:
        assert reply.body["amount"] == "12.00"
        return
    assert reply.error["code"] == code
    assert reply.error["field"] == field
    assert fragment in reply.error["message"]
    assert row_counts() == before


@pytest.mark.parametrize(
    ("missing", "fields"),
    [("payee", ["payee"]), ("amount", ["amount"]), ("bank_account_id", ["bank_account_id"])],
)
def test_missing_fields_are_named(api, cost, missing, fields):
    body = {k: v for k, v in cost.items() if k != missing}
    reply = api.post("/checks", body)
    assert reply.status == 422
    assert [e["field"] for e in reply.error["details"]["errors"]] == fields
    assert reply.error["message"] == f"{missing}: Field required"


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        ('{"payee": "Records Inc", ', 400, "malformed_json", "body"),
        ("\xff\xfe not json", 400, "malformed_json", "body"),
        ("", 422, "validation_error", "body"),
        ("[]", 422, "validation_error", "body"),
        ('"a string"', 422, "validation_error", "body"),
        ("null", 422, "validation_error", "body"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(api, raw, status, code, field):
    before = row_counts()
    reply = api.post("/checks", raw=raw)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (status, code, field)
    assert row_counts() == before


def test_a_trust_check_needs_a_file(api, trust):
    reply = api.post(
        "/checks", {"bank_account_id": trust.pk, "payee": "Somebody", "amount": "1.00"}
    )
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        422,
        "validation_error",
        "file",
    )


def test_a_batch_of_checks_is_all_or_nothing(api, operating, trust, funded_file, e101):
    costs = [
        {
            "bank_account_id": operating.pk,
            "payee": "Court Clerk",
            "amount": "435.00",
            "file_id": funded_file.pk,
            "activity_code_id": e101.pk,
        },
        {
            "bank_account_id": trust.pk,
            "payee": "Medicare",
            "amount": "700.00",
            "file_id": funded_file.pk,
        },
    ]
    overdrawn = {**costs[1], "payee": "Lien holder", "amount": "300.01"}
    before = row_counts()
    refused = api.post("/checks/batch", {"items": [*costs, overdrawn]})
    assert refused.status == 409
    assert refused.error["code"] == "insufficient_trust_funds"
    assert refused.error["field"] == "items[2]"
    assert refused.error["details"] == {
        "available": "300.00",
        "requested": "300.01",
        "file_id": funded_file.pk,
        "index": 2,
    }
    assert refused.error["message"].startswith("items[2]: file ")
    assert row_counts() == before

    bad_ref = api.post("/checks/batch", {"items": [costs[0], {**costs[0], "file_id": 424242}]})
    assert (bad_ref.status, bad_ref.error["field"]) == (404, "items[1].file_id")
    bad_amount = api.post("/checks/batch", {"items": [costs[0], {**costs[0], "amount": "1.001"}]})
    assert (bad_amount.status, bad_amount.error["field"]) == (422, "items[1].amount")
    assert row_counts() == before

    ok = api.post("/checks/batch", {"items": costs})
    assert ok.status == 201
    assert ok.body["count"] == 2
    assert [(c["payee"], c["amount"], c["status"]) for c in ok.body["items"]] == [
        ("Court Clerk", "435.00", "queued"),
        ("Medicare", "700.00", "queued"),
    ]
    assert trust_balance(funded_file) == 30_000


def test_print_and_void_a_check(api, firm, trust, funded_file):
    check = api.post(
        "/checks",
        {
            "bank_account_id": trust.pk,
            "payee": "Maria Lopez",
            "amount": "250.00",
            "file_id": funded_file.pk,
            "request_date": "2026-03-04",
        },
    ).body

    printed = api.post(f"/checks/{check['id']}/print", {"printed_on": "2026-03-05"})
    assert printed.status == 200
    assert (printed.body["status"], printed.body["check_number"], printed.body["printed_on"]) == (
        "printed",
        1001,
        "2026-03-05",
    )
    assert api.get("/bank-accounts/" + str(trust.pk)).body["next_check_number"] == 1002
    again = api.post(f"/checks/{check['id']}/print", {})
    assert (again.status, again.error["code"]) == (409, "conflict")

    early = api.post(f"/checks/{check['id']}/void", {"void_date": "2026-03-01"})
    assert (early.status, early.error["field"]) == (422, "void_date")
    voided = api.post(
        f"/checks/{check['id']}/void", {"void_date": "2026-03-06", "reason": "lost in the mail"}
    )
    assert voided.status == 200
    body = voided.body
    assert (body["status"], body["voided_on"], body["void_reason"]) == (
        "voided",
        "2026-03-06",
        "lost in the mail",
    )
    reversal = JournalEntry.objects.get(pk=body["void_entry_id"])
    assert (reversal.date.isoformat(), reversal.reverses_id) == ("2026-03-06", check["entry_id"])
    assert trust_balance(funded_file) == 100_000
    twice = api.post(f"/checks/{check['id']}/void")  # no body: every option defaults
    assert (twice.status, twice.error["code"]) == (409, "conflict")


def test_print_with_a_chosen_number_refuses_a_used_one(api, cost):
    one = api.post("/checks", cost).body["id"]
    two = api.post("/checks", {**cost, "external_ref": "cost-18"}).body["id"]
    assert api.post(f"/checks/{one}/print", {"check_number": 5000}).body["check_number"] == 5000
    taken = api.post(f"/checks/{two}/print", {"check_number": 5000})
    assert (taken.status, taken.error["field"]) == (422, "check_number")
    assert "already used" in taken.error["message"]


def test_list_checks_with_filters(api, cost):
    ids = [api.post("/checks", {**cost, "external_ref": f"cost-{n}"}).body["id"] for n in range(3)]
    assert api.post(f"/checks/{ids[1]}/void").body["status"] == "voided"

    everything = api.get("/checks")
    assert ([c["id"] for c in everything.body["items"]], everything.body["next"]) == (ids, None)
    assert [c["id"] for c in api.get("/checks", {"status": "voided"}).body["items"]] == [ids[1]]
    assert [c["id"] for c in api.get("/checks", {"external_ref": "cost-2"}).body["items"]] == [
        ids[2]
    ]
    by_ids = api.get("/checks", {"ids": f"{ids[0]},{ids[2]},999"})
    assert [c["id"] for c in by_ids.body["items"]] == [ids[0], ids[2]]
    first = api.get("/checks", {"limit": 1})
    page = api.get("/checks", {"limit": 1, "cursor": first.body["next"]})
    assert [c["id"] for c in first.body["items"] + page.body["items"]] == ids[:2]
    last = api.get("/checks", {"limit": 1, "cursor": page.body["next"]})
    assert ([c["id"] for c in last.body["items"]], last.body["next"]) == ([ids[2]], None)
    bad_cursor = api.get("/checks", {"cursor": "not-a-cursor"})
    assert (bad_cursor.status, bad_cursor.error["field"]) == (422, "cursor")
    assert bad_cursor.error["message"].startswith("cursor: not a cursor of this list")
    bad = api.get("/checks", {"ids": "1,two"})
    assert (bad.status, bad.error["field"]) == (422, "ids")
    bad_status = api.get("/checks", {"status": "lost"})
    assert (bad_status.status, bad_status.error["field"]) == (422, "status")


def test_trust_receipts_record_list_and_void(api, trust, client_file):
    receipt = api.post(
        "/trust-receipts",
        {
            "bank_account_id": trust.pk,
            "file_id": client_file.pk,
            "payer": "Acme Insurance",
            "amount": "250000.00",
            "received_on": "2026-03-02",
            "reference": "88123",
            "external_ref": "settlement-1",
        },
    )
    assert receipt.status == 201
    body = receipt.body
    assert {k: body[k] for k in ("amount", "status", "received_on", "reference", "file_id")} == {
        "amount": "250000.00",
        "status": "posted",
        "received_on": "2026-03-02",
        "reference": "88123",
        "file_id": client_file.pk,
    }
    assert trust_balance(client_file) == 25_000_000
    listed = api.get("/trust-receipts", {"file_id": client_file.pk})
    assert [r["id"] for r in listed.body["items"]] == [body["id"]]

    voided = api.post(f"/trust-receipts/{body['id']}/void", {"void_date": "2026-03-09"})
    assert (voided.status, voided.body["status"], voided.body["voided_on"]) == (
        200,
        "voided",
        "2026-03-09",
    )
    assert trust_balance(client_file) == 0
    assert Posting.objects.filter(file=client_file).count() == 4


def test_a_receipt_into_the_operating_account_is_refused(api, operating, client_file):
    reply = api.post(
        "/trust-receipts",
        {
            "bank_account_id": operating.pk,
            "file_id": client_file.pk,
            "payer": "Acme",
            "amount": "5.00",
        },
    )
    assert (reply.status, reply.error["field"]) == (422, "bank_account")
    assert "is not a client trust account" in reply.error["message"]
