"""Exactly once by ``external_ref``: a check, a trust receipt or an invoice sent again is
found (200, ``created: false``) and posts nothing; the same ref with other content is 409
``external_ref_conflict`` naming the record; a ref repeated inside a batch is 422."""

from __future__ import annotations

import pytest

from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    BankAccountKind,
    Check,
    Invoice,
    JournalEntry,
    Posting,
    TrustLedger,
    TrustReceipt,
)
from casebridge.books.services import checks as check_service
from tests.books.api.conftest import row_counts


@pytest.fixture
def e101(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E101")


@pytest.fixture
def cost(operating, client_file, e101) -> dict[str, object]:
    return {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "1250.50",
        "file_id": client_file.pk,
        "activity_code_id": e101.pk,
        "memo": "Medical records",
        "request_date": "2026-03-02",
        "external_ref": "cost-17",
    }


def test_the_same_check_sent_twice_is_found_the_second_time(api, cost):
    first = api.post("/checks", cost)
    assert first.status == 201
    check = Check.objects.get()
    assert (first.body["id"], first.body["external_ref"]) == (check.pk, "cost-17")
    assert JournalEntry.objects.filter(source="check").count() == 1
    before = row_counts()

    again = api.post("/checks", cost)
    assert again.status == 200
    assert again.body == first.body
    assert row_counts() == before  # no check, entry, posting or audit event
    assert Check.objects.get().pk == check.pk
    assert JournalEntry.objects.filter(source="check").count() == 1
    assert Posting.objects.filter(entry__source="check").count() == 2


def test_memo_and_date_are_not_compared_and_the_check_is_returned_as_it_is_now(api, cost):
    first = api.post("/checks", cost).body
    printed = api.post(f"/checks/{first['id']}/print", {"printed_on": "2026-03-03"}).body
    again = api.post("/checks", {**cost, "memo": "other memo", "request_date": "2026-03-09"})
    assert again.status == 200
    assert again.body == printed
    assert (again.body["status"], again.body["check_number"], again.body["memo"]) == (
        "printed",
        1001,
        "Medical records",
    )


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        ({"amount": "1250.51"}, ["amount"]),
        ({"payee": "Records Incorporated"}, ["payee"]),
        ({"file_id": None}, ["file_id"]),
        ({"activity_code_id": "E102"}, ["activity_code_id"]),
        ({"payee": "Other", "amount": "1.00"}, ["payee", "amount"]),
    ],
)
def test_another_check_under_a_known_external_ref_is_refused_naming_it(
    api, firm, cost, change, differing
):
    check_id = api.post("/checks", cost).body["id"]
    if change.get("activity_code_id") == "E102":
        change = {"activity_code_id": ActivityCode.objects.get(firm=firm, code="E102").pk}
    before = row_counts()

    reply = api.post("/checks", {**cost, **change})
    assert reply.status == 409
    assert reply.error == {
        "code": "external_ref_conflict",
        "message": (
            f"external_ref 'cost-17' is already check {check_id} (to Records Inc for "
            f"$1,250.50), which differs in {', '.join(differing)}; a new check needs a new "
            "external_ref"
        ),
        "field": "external_ref",
        "details": {"check_id": check_id, "differing": differing},
    }
    assert row_counts() == before
    assert Check.objects.count() == 1


def test_a_check_to_another_bank_account_under_a_known_ref_is_refused(
    api, cost, trust, funded_file
):
    check_id = api.post("/checks", cost).body["id"]
    before = row_counts()
    reply = api.post(
        "/checks",
        {
            "bank_account_id": trust.pk,
            "payee": "Records Inc",
            "amount": "1250.50",
            "file_id": funded_file.pk,
            "activity_code_id": cost["activity_code_id"],
            "external_ref": "cost-17",
        },
    )
    assert (reply.status, reply.error["code"]) == (409, "external_ref_conflict")
    assert reply.error["details"] == {"check_id": check_id, "differing": ["bank_account_id"]}
    assert row_counts() == before
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 100_000


def test_external_refs_are_per_firm(api, trust, client_file, other_firm, other_user, other_file):
    their_trust = BankAccount.objects.get(firm=other_firm, kind=BankAccountKind.TRUST)
    theirs = check_service.trust_receipt_record(
        firm=other_firm,
        actor=other_user,
        bank_account_id=their_trust.pk,
        file_id=other_file.pk,
        payer="Acme Insurance",
        amount_cents=500,
        external_ref="settlement-1",
    )
    mine = api.post(
        "/trust-receipts",
        {
            "bank_account_id": trust.pk,
            "file_id": client_file.pk,
            "payer": "Acme Insurance",
            "amount": "5.00",
            "external_ref": "settlement-1",
        },
    )
    assert mine.status == 201
    assert mine.body["id"] != theirs.pk
    assert TrustReceipt.objects.filter(external_ref="settlement-1").count() == 2


def test_a_check_racing_for_the_same_new_ref_is_a_retryable_conflict(api, cost, monkeypatch):
    """A twin committed between this request's look-up and its insert: the unique
    constraint refuses the insert, and the refusal is 409 ``conflict``, not a 500."""
    first = api.post("/checks", cost)
    monkeypatch.setattr(check_service, "_checks_by_ref", lambda firm, refs: {})  # look-up missed
    before = row_counts()

    reply = api.post("/checks", cost)
    assert reply.status == 409
    assert reply.error == {
        "code": "conflict",
        "message": "another request created the check with external_ref 'cost-17' at the "
        "same time; nothing was written: retry, and the one already created is returned",
        "field": "external_ref",
        "details": {"retryable": True},
    }
    assert row_counts() == before

    monkeypatch.undo()
    retry = api.post("/checks", cost)
    assert (retry.status, retry.body) == (200, first.body)


# --- the batch ---------------------------------------------------------------------------


def test_a_batch_returns_the_existing_check_and_creates_the_new_one(api, cost):
    existing = api.post("/checks", cost).body
    new = {**cost, "payee": "Court Clerk", "amount": "435.00", "external_ref": "cost-18"}
    before = row_counts()

    reply = api.post("/checks/batch", {"items": [cost, new]})
    assert reply.status == 201
    created = Check.objects.get(external_ref="cost-18")
    assert reply.body == {
        "items": [
            {**existing, "created": False},
            {
                **existing,
                "id": created.pk,
                "payee": "Court Clerk",
                "amount": "435.00",
                "external_ref": "cost-18",
                "entry_id": created.entry_id,
                "created": True,
            },
        ],
        "count": 2,
        "created": 1,
    }
    after = row_counts()
    assert after["Check"] == before["Check"] + 1
    assert after["JournalEntry"] == before["JournalEntry"] + 1
    assert after["Posting"] == before["Posting"] + 2

    again = api.post("/checks/batch", {"items": [cost, new]})
    assert again.status == 200
    assert again.body == {
        "items": [{**item, "created": False} for item in reply.body["items"]],
        "count": 2,
        "created": 0,
    }
    assert row_counts() == after


def test_a_batch_with_a_ref_used_twice_is_refused_and_writes_nothing(api, cost):
    before = row_counts()
    other = {**cost, "external_ref": "cost-18"}
    reply = api.post("/checks/batch", {"items": [cost, other, {**cost, "amount": "2.00"}]})
    assert reply.status == 422
    assert reply.error == {
        "code": "validation_error",
        "message": "items[2].external_ref: 'cost-17' repeats items[0].external_ref; each "
        "check in a batch needs its own",
        "field": "items[2].external_ref",
    }
    assert row_counts() == before


def test_checks_without_an_external_ref_may_repeat_in_a_batch(api, cost):
    no_ref = {**cost, "external_ref": None}
    reply = api.post("/checks/batch", {"items": [no_ref, no_ref]})
    assert (reply.status, reply.body["count"], reply.body["created"]) == (201, 2, 2)
    assert Check.objects.count() == 2


def test_a_batch_item_conflicting_with_a_known_ref_refuses_the_batch(api, cost):
    check_id = api.post("/checks", cost).body["id"]
    before = row_counts()
    new = {**cost, "external_ref": "cost-18"}
    reply = api.post("/checks/batch", {"items": [new, {**cost, "amount": "9.99"}]})
    assert reply.status == 409
    assert reply.error["code"] == "external_ref_conflict"
    assert reply.error["field"] == "items[1].external_ref"
    assert reply.error["details"] == {"check_id": check_id, "differing": ["amount"], "index": 1}
    assert reply.error["message"].startswith(
        f"items[1]: external_ref 'cost-17' is already check {check_id}"
    )
    assert row_counts() == before  # item 0 was not written either
    assert not Check.objects.filter(external_ref="cost-18").exists()


# --- trust receipts and invoices ---------------------------------------------------------


@pytest.fixture
def settlement(trust, client_file) -> dict[str, object]:
    return {
        "bank_account_id": trust.pk,
        "file_id": client_file.pk,
        "payer": "Acme Insurance",
        "amount": "250000.00",
        "received_on": "2026-03-02",
        "reference": "88123",
        "external_ref": "settlement-1",
    }


def test_the_same_trust_receipt_sent_twice_is_found(api, settlement, client_file):
    first = api.post("/trust-receipts", settlement)
    assert first.status == 201
    before = row_counts()
    again = api.post("/trust-receipts", {**settlement, "reference": "other", "memo": "again"})
    assert (again.status, again.body) == (200, first.body)
    assert row_counts() == before
    assert TrustReceipt.objects.get().pk == first.body["id"]
    assert TrustLedger.objects.get(file=client_file).balance_cents == 25_000_000


def test_another_trust_receipt_under_a_known_ref_is_refused(api, settlement, client_file):
    receipt_id = api.post("/trust-receipts", settlement).body["id"]
    before = row_counts()
    reply = api.post("/trust-receipts", {**settlement, "amount": "250000.01"})
    assert reply.status == 409
    assert reply.error == {
        "code": "external_ref_conflict",
        "message": f"external_ref 'settlement-1' is already trust receipt {receipt_id} (from "
        "Acme Insurance for $250,000.00), which differs in amount; a new deposit needs a "
        "new external_ref",
        "field": "external_ref",
        "details": {"receipt_id": receipt_id, "differing": ["amount"]},
    }
    assert row_counts() == before
    assert TrustLedger.objects.get(file=client_file).balance_cents == 25_000_000


def test_the_same_invoice_sent_twice_is_found_and_another_is_refused(api, attorney, funded_file):
    invoice = {
        "file_id": funded_file.pk,
        "invoice_date": "2026-03-10",
        "external_ref": "settlement-1-fee",
        "lines": [
            {
                "kind": "fee",
                "description": "Contingency fee",
                "amount": "300.00",
                "timekeeper_id": attorney.pk,
            }
        ],
    }
    first = api.post("/invoices", invoice)
    assert first.status == 201
    before = row_counts()
    again = api.post("/invoices", {**invoice, "description": "sent again"})
    assert (again.status, again.body) == (200, first.body)
    assert row_counts() == before
    other = {**invoice, "lines": [{**invoice["lines"][0], "amount": "301.00"}]}
    reply = api.post("/invoices", other)
    assert reply.status == 409
    assert reply.error == {
        "code": "external_ref_conflict",
        "message": "external_ref 'settlement-1-fee' is already invoice 1001 "
        f"(id {first.body['id']}) in this firm, which differs in lines; a new invoice needs "
        "a new external_ref",
        "field": "external_ref",
        "details": {"invoice_id": first.body["id"], "differing": ["lines"]},
    }
    assert row_counts() == before
    assert Invoice.objects.count() == 1
