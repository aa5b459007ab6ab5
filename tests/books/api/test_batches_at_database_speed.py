"""Issue 12, "at the speed of the database": a batch of the books costs the same number of
queries whatever its size (journal entries, checks, trust receipts, invoices, each through
its batch endpoint with an Idempotency-Key, as the bridge sends them), and what the
batches write per item stays what it was: the journal batch's one audit event lists
every entry and line as rows of values, and an entry's content hash is the same bytes."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import AccountRole, ActivityCode, File, GLAccount
from casebridge.books.services import files
from casebridge.books.services.journal import EntrySpec, Line, content_hash
from casebridge.core.models import AuditEvent

DAY = "2026-03-02"


@pytest.fixture
def many_files(firm, admin) -> list[File]:
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Batch Client")
    return [
        files.file_find_or_create(
            firm=firm, actor=admin, name=f"Matter {n}", client=client, number=f"B-{n:03d}"
        )[0]
        for n in range(34)
    ]


def _queries(api, path: str, body: dict[str, object], key: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        reply = api.post(path, body, key=key)
    assert reply.status == 201, reply.body
    return len(ctx.captured_queries)


def _sizes(api, path: str, body_of) -> tuple[int, int]:
    """The queries of a batch of 3 and of a batch of 30 (after a batch of 1, so that
    whatever is read once per process or firm is read before either)."""
    _queries(api, path, body_of(0, 1), "warm-up")
    return _queries(api, path, body_of(1, 4), "three"), _queries(
        api, path, body_of(4, 34), "thirty"
    )


def _receipts(trust, fs: list[File], first: int, stop: int, amount: str = "100.00"):
    return {
        "items": [
            {
                "bank_account_id": trust.pk,
                "file_id": fs[n].pk,
                "payer": f"Insurer {n}",
                "amount": amount,
                "received_on": DAY,
                "external_ref": f"deposit-{n}",
            }
            for n in range(first, stop)
        ]
    }


def test_a_journal_batch_costs_the_same_queries_for_3_entries_as_for_30(api, firm, many_files):
    accounts = {a.role: a for a in GLAccount.objects.filter(firm=firm).exclude(role="")}
    bank, clients = (
        accounts[AccountRole.TRUST_BANK],
        accounts[AccountRole.CLIENT_TRUST_LIABILITY],
    )

    def body(first: int, stop: int) -> dict[str, object]:
        return {
            "entries": [
                {
                    "date": DAY,
                    "memo": f"deposit {n}",
                    "source": "bridge",
                    "idempotency_key": f"je-{n}",
                    "lines": [
                        {"account_id": bank.pk, "debit": "10.00", "file_id": many_files[n].pk},
                        {"account_id": clients.pk, "credit": "10.00", "file_id": many_files[n].pk},
                    ],
                }
                for n in range(first, stop)
            ]
        }

    three, thirty = _sizes(api, "/journal-entries/batch", body)

    assert thirty == three


def test_a_receipt_batch_costs_the_same_queries_for_3_receipts_as_for_30(api, trust, many_files):
    three, thirty = _sizes(
        api, "/trust-receipts/batch", lambda a, b: _receipts(trust, many_files, a, b)
    )

    assert thirty == three


def test_a_check_batch_costs_the_same_queries_for_3_checks_as_for_30(api, trust, many_files):
    assert api.post("/trust-receipts/batch", _receipts(trust, many_files, 0, 34)).status == 201

    def body(first: int, stop: int) -> dict[str, object]:
        return {
            "items": [
                {
                    "bank_account_id": trust.pk,
                    "file_id": many_files[n].pk,
                    "payee": f"Provider {n}",
                    "amount": "25.00",
                    "request_date": DAY,
                    "external_ref": f"check-{n}",
                }
                for n in range(first, stop)
            ]
        }

    three, thirty = _sizes(api, "/checks/batch", body)

    assert thirty == three


def test_an_invoice_batch_costs_the_same_queries_for_3_invoices_as_for_30(
    api, firm, attorney, trust, operating, many_files
):
    assert api.post("/trust-receipts/batch", _receipts(trust, many_files, 0, 34)).status == 201
    code = ActivityCode.objects.filter(firm=firm, is_active=True).order_by("pk").first()
    assert code is not None

    def body(first: int, stop: int) -> dict[str, object]:
        return {
            "items": [
                {
                    "file_id": many_files[n].pk,
                    "invoice_date": DAY,
                    "pay_from_trust": True,
                    "trust_bank_account_id": trust.pk,
                    "operating_bank_account_id": operating.pk,
                    "external_ref": f"fee-invoice-{n}",
                    "release": "auto",
                    "lines": [
                        {
                            "kind": "fee",
                            "description": "Contingency fee",
                            "amount": "30.00",
                            "timekeeper_id": attorney.pk,
                            "hours": "1.5",
                            "external_ref": f"fee-{n}",
                        },
                        {
                            "kind": "cost",
                            "description": "Filing fee",
                            "amount": "12.50",
                            "activity_code_id": code.pk,
                            "external_ref": f"cost-{n}",
                        },
                    ],
                }
                for n in range(first, stop)
            ]
        }

    three, thirty = _sizes(api, "/invoices/batch", body)

    assert thirty == three
    # what the batch answered is what the books hold
    again = api.post("/invoices/batch", body(1, 4), key="three")
    shown = api.get("/invoices", {"external_ref": "fee-invoice-2"}).body["items"]
    assert [{**item, "created": True} for item in shown] == [again.body["items"][1]]
    assert shown[0]["lines"][0]["hours"] == "1.50"


def _ledger_reads(api, path: str, body: dict[str, object]) -> int:
    """The statements of a batch that read the trust ledgers (the lock among them)."""
    with CaptureQueriesContext(connection) as ctx:
        reply = api.post(path, body)
    assert reply.status == 201, reply.body
    return sum(
        1
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "books_trustledger"' in q["sql"]
    )


def test_a_batch_that_locks_its_ledgers_up_front_reads_them_once(
    api, firm, attorney, trust, operating, many_files
):
    """Trust checks and invoices paid from trust lock their ledgers before they validate
    (ledger_rows_lock); the journal posts them under that lock without reading and
    locking them a second time: one read of which ledgers exist, one lock."""
    assert api.post("/trust-receipts/batch", _receipts(trust, many_files, 0, 34)).status == 201
    checks = {
        "items": [
            {
                "bank_account_id": trust.pk,
                "file_id": many_files[n].pk,
                "payee": f"Provider {n}",
                "amount": "25.00",
                "request_date": DAY,
                "external_ref": f"check-{n}",
            }
            for n in range(30)
        ]
    }
    invoices = {
        "items": [
            {
                "file_id": many_files[n].pk,
                "invoice_date": DAY,
                "pay_from_trust": True,
                "trust_bank_account_id": trust.pk,
                "operating_bank_account_id": operating.pk,
                "external_ref": f"fee-invoice-{n}",
                "release": "auto",
                "lines": [
                    {
                        "kind": "fee",
                        "description": "Contingency fee",
                        "amount": "30.00",
                        "timekeeper_id": attorney.pk,
                        "external_ref": f"fee-{n}",
                    }
                ],
            }
            for n in range(30)
        ]
    }

    assert _ledger_reads(api, "/checks/batch", checks) == 2
    assert _ledger_reads(api, "/invoices/batch", invoices) == 2
    # and the money moved as posted: 100.00 in, 25.00 and 30.00 out
    balances = {
        row["file_id"]: row["balance"]
        for row in api.get(
            "/reports/trust-balances",
            {"bank_account_id": trust.pk, "file_ids": ",".join(str(f.pk) for f in many_files)},
        ).body["items"]
    }
    assert [balances[f.pk] for f in many_files[:31]] == ["45.00"] * 30 + ["100.00"]


def test_a_journal_batch_lists_every_entry_and_line_in_its_one_audit_event(
    api, firm, admin, many_files
):
    accounts = {a.role: a for a in GLAccount.objects.filter(firm=firm).exclude(role="")}
    costs, cash = accounts[AccountRole.ADVANCED_COSTS], accounts[AccountRole.OPERATING_BANK]
    reply = api.post(
        "/journal-entries/batch",
        {
            "entries": [
                {
                    "date": DAY,
                    "memo": f"advance {n}",
                    "source": "bridge",
                    "idempotency_key": None if n else "advance-0",
                    "lines": [
                        {"account_id": costs.pk, "debit": "12.34", "file_id": many_files[n].pk},
                        {"account_id": cash.pk, "credit": "12.34"},
                    ],
                }
                for n in range(2)
            ]
        },
    )
    assert reply.status == 201
    first, second = (item["id"] for item in reply.body["items"])

    event = AuditEvent.objects.get(action="post_batch")

    assert (event.entity_id, event.actor_id) == (f"{first}-{second}", admin.pk)
    assert event.after == {
        "entry_columns": ["id", "date", "memo", "source", "idempotency_key", "lines"],
        "line_columns": ["account", "file", "debit_cents", "credit_cents"],
        "entries": [
            [
                first,
                DAY,
                "advance 0",
                "bridge",
                "advance-0",
                [[costs.number, "B-000", 1234, 0], [cash.number, None, 0, 1234]],
            ],
            [
                second,
                DAY,
                "advance 1",
                "bridge",
                None,
                [[costs.number, "B-001", 1234, 0], [cash.number, None, 0, 1234]],
            ],
        ],
    }


def test_the_content_hash_of_an_entry_is_the_same_bytes_as_ever():
    """Entries posted before hold their hashes: a repeat of one is told from other content
    by comparing with them, so the canonical form can never change (this value was
    computed by the code before issue 12's last changes)."""
    account, other, file = (SimpleNamespace(pk=pk) for pk in (7, 9, 3))
    spec = EntrySpec(
        date=dt.date(2026, 3, 2),
        lines=[
            Line(account=account, debit_cents=1234, file=file),  # type: ignore[arg-type]
            Line(account=other, credit_cents=1234),  # type: ignore[arg-type]
        ],
        memo='Café "x"',
        posting_reference="R-1",
    )

    assert content_hash(spec) == "13d81d3ec6045ebe22e3615ff3ce3a45e804c527b66a3aae3e09e113d94a03db"
