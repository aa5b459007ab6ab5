"""Trust receipts and invoices many to a request (``POST /trust-receipts/batch``,
``POST /invoices/batch``), like ``POST /checks/batch``: per-item results, each found again
by its external_ref (``created: false``), all or nothing (one refusal names ``items[i]``
and nothing is written), and the single endpoints are batches of one."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import (
    File,
    Invoice,
    InvoiceLine,
    JournalEntry,
    Posting,
    TrustLedger,
    TrustReceipt,
)
from casebridge.books.services import files
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import row_counts


@pytest.fixture
def second_file(firm, admin) -> File:
    client, _ = files.contact_find_or_create(
        firm=firm, actor=admin, name="Ann Park", external_ref="case-client-2"
    )
    file, _ = files.file_find_or_create(
        firm=firm,
        actor=admin,
        name="Park v. Bus Co",
        client=client,
        external_ref="case-2",
        opened_on=dt.date(2026, 1, 2),
    )
    return file


def _deposit(trust, file, n: int, amount: str = "1000.00") -> dict[str, object]:
    return {
        "bank_account_id": trust.pk,
        "file_id": file.pk,
        "payer": f"Insurer {n}",
        "amount": amount,
        "received_on": "2026-03-02",
        "reference": f"chk-{n}",
        "external_ref": f"deposit-{n}",
    }


def _balance(file: File) -> int:
    ledger = TrustLedger.objects.filter(file=file).first()
    return ledger.balance_cents if ledger else 0


# --- trust receipts ------------------------------------------------------------------------


def test_a_receipt_batch_records_each_with_its_own_result(api, trust, client_file, second_file):
    reply = api.post(
        "/trust-receipts/batch",
        {
            "items": [
                _deposit(trust, client_file, 1, "1000.00"),
                _deposit(trust, second_file, 2, "250.50"),
                _deposit(trust, client_file, 3, "0.01"),
            ]
        },
    )
    assert reply.status == 201
    assert (reply.body["count"], reply.body["created"]) == (3, 3)
    items = reply.body["items"]
    assert [(i["external_ref"], i["amount"], i["file_id"], i["created"]) for i in items] == [
        ("deposit-1", "1000.00", client_file.pk, True),
        ("deposit-2", "250.50", second_file.pk, True),
        ("deposit-3", "0.01", client_file.pk, True),
    ]
    receipts = {r.external_ref: r for r in TrustReceipt.objects.all()}
    assert [i["id"] for i in items] == [receipts[f"deposit-{n}"].pk for n in (1, 2, 3)]
    assert (_balance(client_file), _balance(second_file)) == (100_001, 25_050)
    assert JournalEntry.objects.filter(source="trust_receipt").count() == 3
    assert Posting.objects.filter(entry__source="trust_receipt").count() == 6
    assert AuditEvent.objects.filter(entity_type="trust_receipt", action="create").count() == 3
    assert [r.entry.memo for r in TrustReceipt.objects.order_by("pk")] == [
        "Trust deposit from Insurer 1 (check chk-1)",
        "Trust deposit from Insurer 2 (check chk-2)",
        "Trust deposit from Insurer 3 (check chk-3)",
    ]


def test_a_receipt_batch_sent_again_finds_every_one_and_a_mixed_one_records_the_new(
    api, trust, client_file
):
    first = api.post("/trust-receipts/batch", {"items": [_deposit(trust, client_file, 1)]})
    before = row_counts()
    again = api.post("/trust-receipts/batch", {"items": [_deposit(trust, client_file, 1)]})
    assert again.status == 200
    assert (again.body["count"], again.body["created"]) == (1, 0)
    assert again.body["items"][0] == {**first.body["items"][0], "created": False}
    assert {k: v for k, v in row_counts().items() if k != "IdempotencyRecord"} == {
        k: v for k, v in before.items() if k != "IdempotencyRecord"
    }
    mixed = api.post(
        "/trust-receipts/batch",
        {"items": [_deposit(trust, client_file, 1), _deposit(trust, client_file, 2, "5.00")]},
    )
    assert mixed.status == 201
    assert [(i["external_ref"], i["created"]) for i in mixed.body["items"]] == [
        ("deposit-1", False),
        ("deposit-2", True),
    ]
    assert TrustReceipt.objects.count() == 2
    assert _balance(client_file) == 100_500


def test_a_single_receipt_is_found_by_a_batch_and_the_other_way_round(api, trust, client_file):
    single = api.post("/trust-receipts", _deposit(trust, client_file, 1))
    assert single.status == 201
    batch = api.post("/trust-receipts/batch", {"items": [_deposit(trust, client_file, 1)]})
    assert batch.body["items"][0] == {**single.body, "created": False}
    batch = api.post("/trust-receipts/batch", {"items": [_deposit(trust, client_file, 2)]})
    single = api.post("/trust-receipts", _deposit(trust, client_file, 2))
    assert single.status == 200
    assert {**single.body, "created": True} == batch.body["items"][0]
    assert TrustReceipt.objects.count() == 2


def test_a_conflicting_receipt_refuses_the_batch_naming_it_and_nothing_is_written(
    api, trust, client_file
):
    known = api.post("/trust-receipts", _deposit(trust, client_file, 1)).body["id"]
    before = row_counts()
    reply = api.post(
        "/trust-receipts/batch",
        {
            "items": [
                _deposit(trust, client_file, 2),
                {**_deposit(trust, client_file, 1), "amount": "999.99"},
            ]
        },
    )
    assert reply.status == 409
    assert reply.error == {
        "code": "external_ref_conflict",
        "message": f"items[1]: external_ref 'deposit-1' is already trust receipt {known} "
        "(from Insurer 1 for $1,000.00), which differs in amount; a new deposit needs a new "
        "external_ref",
        "field": "items[1].external_ref",
        "details": {"receipt_id": known, "differing": ["amount"], "index": 1},
    }
    assert row_counts() == before
    assert _balance(client_file) == 100_000


def test_one_bad_receipt_among_good_ones_is_named_and_none_is_written(
    api, trust, operating, client_file
):
    before = row_counts()
    reply = api.post(
        "/trust-receipts/batch",
        {
            "items": [
                _deposit(trust, client_file, 1),
                _deposit(trust, client_file, 2),
                {**_deposit(trust, client_file, 3), "bank_account_id": operating.pk},
                _deposit(trust, client_file, 4),
            ]
        },
    )
    assert reply.status == 422
    assert reply.error["field"] == "items[2].bank_account"
    assert reply.error["message"].startswith("items[2]: ")
    assert reply.error["message"].endswith("is not a client trust account")
    assert reply.error["details"] == {"index": 2}
    assert row_counts() == before
    assert _balance(client_file) == 0


def test_a_repeated_ref_in_a_receipt_batch_is_refused(api, trust, client_file):
    before = row_counts()
    reply = api.post(
        "/trust-receipts/batch",
        {"items": [_deposit(trust, client_file, 1), _deposit(trust, client_file, 1)]},
    )
    assert reply.status == 422
    assert reply.error["field"] == "items[1].external_ref"
    assert row_counts() == before


def test_a_receipt_batch_is_scoped_to_the_firm_and_needs_a_token(
    api, anonymous, trust, client_file, other_file
):
    before = row_counts()
    reply = api.post(
        "/trust-receipts/batch",
        {"items": [_deposit(trust, client_file, 1), _deposit(trust, other_file, 2)]},
    )
    assert reply.status == 404
    assert reply.error["field"] == "items[1].file_id"
    assert anonymous.post("/trust-receipts/batch", {"items": []}).status == 401
    assert row_counts() == before


def test_a_receipt_in_a_closed_period_is_named(api, firm, trust, client_file):
    firm.closed_through = dt.date(2026, 2, 28)
    firm.save(update_fields=["closed_through"])
    before = row_counts()
    reply = api.post(
        "/trust-receipts/batch",
        {
            "items": [
                {**_deposit(trust, client_file, 1), "received_on": "2026-03-01"},
                {**_deposit(trust, client_file, 2), "received_on": "2026-02-27"},
            ]
        },
    )
    assert reply.status == 409
    assert (reply.error["code"], reply.error["field"]) == ("period_closed", "items[1].date")
    assert reply.error["details"]["index"] == 1
    assert row_counts() == before


# --- invoices --------------------------------------------------------------------------------


def _invoice(file: File, attorney, n: int, amount: str = "300.00", **kw) -> dict[str, object]:
    return {
        "file_id": file.pk,
        "invoice_date": "2026-03-10",
        "external_ref": f"fee-{n}",
        "pay_from_trust": True,
        "release": "auto",
        "lines": [
            {
                "kind": "fee",
                "description": "Contingency fee",
                "amount": amount,
                "timekeeper_id": attorney.pk,
                "external_ref": f"fee-line-{n}",
            }
        ],
        **kw,
    }


def test_an_invoice_batch_finalises_each_paid_from_trust(api, attorney, funded_file, second_file):
    api.post("/trust-receipts", _deposit_for(second_file, "50.00"))
    reply = api.post(
        "/invoices/batch",
        {
            "items": [
                _invoice(funded_file, attorney, 1, "300.00"),
                _invoice(second_file, attorney, 2, "50.00"),
                _invoice(funded_file, attorney, 3, "100.00", release="review"),
            ]
        },
    )
    assert reply.status == 201
    assert (reply.body["count"], reply.body["created"]) == (3, 3)
    assert [
        (i["number"], i["stage"], i["total"], i["finalised_on"], i["created"])
        for i in reply.body["items"]
    ] == [
        (1001, "final", "300.00", "2026-03-10", True),
        (1002, "final", "50.00", "2026-03-10", True),
        (1003, "review", "100.00", None, True),
    ]
    assert (_balance(funded_file), _balance(second_file)) == (70_000, 0)
    assert InvoiceLine.objects.count() == 3
    first = Invoice.objects.get(number=1001)
    assert first.entry is not None
    assert first.entry.memo == f"Invoice 1001 for file {funded_file.number} paid from trust"
    assert sorted(
        (p.account.name, p.debit_cents, p.credit_cents) for p in first.entry.postings.all()
    ) == sorted(
        [
            (first.trust_bank_account.trust_liability_account.name, 30_000, 0),
            (first.trust_bank_account.gl_account.name, 0, 30_000),
            (first.operating_bank_account.gl_account.name, 30_000, 0),
            ("Attorney Fee Income", 0, 30_000),
        ]
    )
    assert list(
        AuditEvent.objects.filter(entity_type="invoice", entity_id=first.pk)
        .order_by("pk")
        .values_list("action", "summary")
    ) == [
        ("create", f"Invoice 1001 for file {funded_file.number}, $300.00"),
        ("change", "Invoice 1001 moved from draft to review"),
        ("change", "Invoice 1001 moved from review to final"),
    ]
    assert Invoice.objects.get(number=1003).entry is None


def _deposit_for(file: File, amount: str) -> dict[str, object]:
    trust = file.firm.bank_accounts.get(kind="trust")
    return {
        "bank_account_id": trust.pk,
        "file_id": file.pk,
        "payer": "Insurer",
        "amount": amount,
        "received_on": "2026-03-02",
    }


def test_an_invoice_batch_sent_again_finds_each_and_writes_nothing(api, attorney, funded_file):
    items = [_invoice(funded_file, attorney, 1), _invoice(funded_file, attorney, 2, "200.00")]
    first = api.post("/invoices/batch", {"items": items})
    assert first.status == 201
    before = row_counts()
    again = api.post("/invoices/batch", {"items": items})
    assert again.status == 200
    assert again.body["created"] == 0
    assert again.body["items"] == [{**i, "created": False} for i in first.body["items"]]
    assert {k: v for k, v in row_counts().items() if k != "IdempotencyRecord"} == {
        k: v for k, v in before.items() if k != "IdempotencyRecord"
    }
    assert _balance(funded_file) == 50_000


def test_trust_overdraw_counts_the_invoices_before_it_and_nothing_is_written(
    api, attorney, funded_file
):
    before = row_counts()
    reply = api.post(
        "/invoices/batch",
        {
            "items": [
                _invoice(funded_file, attorney, 1, "600.00"),
                _invoice(funded_file, attorney, 2, "400.00"),
                _invoice(funded_file, attorney, 3, "0.01"),
            ]
        },
    )
    assert reply.status == 409
    assert reply.error["code"] == "insufficient_trust_funds"
    assert reply.error["field"] == "items[2]"
    assert reply.error["details"] == {
        "available": "0.00",
        "requested": "0.01",
        "file_id": funded_file.pk,
        "index": 2,
    }
    assert reply.error["message"].startswith("items[2]: file ")
    assert row_counts() == before
    assert _balance(funded_file) == 100_000
    assert Invoice.objects.count() == 0


def test_one_bad_invoice_among_good_ones_is_named_and_none_is_written(
    api, attorney, funded_file, firm
):
    before = row_counts()
    reply = api.post(
        "/invoices/batch",
        {
            "items": [
                _invoice(funded_file, attorney, 1, "10.00"),
                _invoice(funded_file, attorney, 2, "10.00", invoice_date="2019-01-01"),
                _invoice(funded_file, attorney, 3, "10.00"),
            ]
        },
    )
    assert reply.status == 422
    assert reply.error["field"] == "items[1].invoice_date"
    assert reply.error["details"]["index"] == 1
    assert row_counts() == before
    firm.refresh_from_db()
    assert firm.next_invoice_number == 1001


def test_a_conflicting_invoice_refuses_the_batch_naming_it(api, attorney, funded_file):
    known = api.post("/invoices", _invoice(funded_file, attorney, 1)).body
    before = row_counts()
    reply = api.post(
        "/invoices/batch",
        {
            "items": [
                _invoice(funded_file, attorney, 2, "1.00"),
                _invoice(funded_file, attorney, 1, "301.00"),
            ]
        },
    )
    assert reply.status == 409
    assert reply.error == {
        "code": "external_ref_conflict",
        "message": "items[1]: external_ref 'fee-1' is already invoice 1001 "
        f"(id {known['id']}) in this firm, which differs in lines; a new invoice needs a new "
        "external_ref",
        "field": "items[1].external_ref",
        "details": {"invoice_id": known["id"], "differing": ["lines"], "index": 1},
    }
    assert row_counts() == before


def test_an_invoice_batch_is_scoped_to_the_firm_and_needs_a_token(
    api, anonymous, attorney, funded_file, other_file
):
    before = row_counts()
    reply = api.post(
        "/invoices/batch",
        {"items": [_invoice(funded_file, attorney, 1), _invoice(other_file, attorney, 2)]},
    )
    assert reply.status == 404
    assert reply.error["field"] == "items[1].file_id"
    assert anonymous.post("/invoices/batch", {"items": []}).status == 401
    assert row_counts() == before
