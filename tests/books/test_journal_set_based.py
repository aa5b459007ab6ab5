"""A journal batch moves its trust ledgers set-based: a batch of receipts into many new
files costs the same number of statements as a batch into a few (each new ledger created
and each balance moved in one statement for all), and every balance is still exact."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import TrustLedger
from casebridge.books.services import files
from casebridge.books.services.checks import ReceiptRequest, trust_receipts_find_or_record
from tests.books.ledger_helpers import D, assert_books_consistent, deposit, gl, trust_balance


def _files(firm, admin, prefix: str, n: int):
    made = []
    for i in range(n):
        client, _ = files.contact_find_or_create(firm=firm, actor=admin, name=f"Client {prefix}{i}")
        file, _ = files.file_find_or_create(
            firm=firm,
            actor=admin,
            name=f"Matter {prefix}{i}",
            client=client,
            number=f"{prefix}-{i:03d}",
        )
        made.append(file)
    return made


def _receipts(firm, admin, trust, batch, prefix: str) -> int:
    requests = [
        ReceiptRequest(
            bank_account_id=trust.pk,
            file_id=f.pk,
            payer="Acme Insurance",
            amount_cents=10_000 + i,
            received_on=D,
            external_ref=f"{prefix}-{i}",
        )
        for i, f in enumerate(batch)
    ]
    with CaptureQueriesContext(connection) as queries:
        trust_receipts_find_or_record(firm=firm, actor=admin, requests=requests)
    return len(queries.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_a_receipt_batch_into_many_new_files_costs_no_more_statements_than_into_few(
    firm, admin, trust
):
    few = _files(firm, admin, "A", 3)
    many = _files(firm, admin, "B", 40)
    deposit(firm, admin, trust, _files(firm, admin, "W", 1)[0], 500)  # warm the firm's caches

    statements_few = _receipts(firm, admin, trust, few, "few")
    statements_many = _receipts(firm, admin, trust, many, "many")

    assert statements_many == statements_few
    assert TrustLedger.objects.filter(firm=firm).count() == 44
    assert [trust_balance(f, trust) for f in few] == [10_000, 10_001, 10_002]
    assert [trust_balance(f, trust) for f in many] == [10_000 + i for i in range(40)]
    total = 500 + 30_003 + sum(10_000 + i for i in range(40))
    assert gl(firm, "1010") == total
    assert gl(firm, "2100") == -total
    assert_books_consistent(firm)


def test_a_second_batch_into_the_same_files_adds_to_their_balances(firm, admin, trust):
    batch = _files(firm, admin, "C", 5)
    _receipts(firm, admin, trust, batch, "first")
    _receipts(firm, admin, trust, batch, "second")

    assert [trust_balance(f, trust) for f in batch] == [20_000 + 2 * i for i in range(5)]
    assert (
        list(
            TrustLedger.objects.filter(file__in=batch)
            .order_by("file__number")
            .values_list("latest_posting_date", flat=True)
        )
        == [D] * 5
    )
    assert_books_consistent(firm)
