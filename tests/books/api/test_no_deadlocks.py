"""Postings released together over real HTTP on PostgreSQL, as a firm meets them: the
bridge's fee invoices released automatically while the accountants post checks, print the
morning's checks and open files. Every request within the file's funds goes through; none
is lost to a deadlock (ADR 0012: documents are numbered under a FOR NO KEY UPDATE lock,
and every posting path takes its locks in one order)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    Check,
    File,
    Firm,
    Invoice,
    InvoiceStage,
    JournalEntry,
)
from casebridge.books.services import files
from casebridge.core import clock
from tests.books.api.conftest import LiveClient, Reply
from tests.books.ledger_helpers import (
    D,
    assert_books_consistent,
    deposit,
    gl,
    trust_balance,
    trust_check,
)
from tests.books.test_concurrency import at_the_same_moment

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 3  # each round sends every request together again


def all_go_through(*requests: tuple[Callable[[], Reply], int]) -> None:
    """Send the requests together: each is answered with its success status (201 created,
    200 printed). A deadlock shows here as a 503 ``database_unavailable``."""
    outcomes = at_the_same_moment(*(send for send, _ in requests))
    answers = [
        value.status if kind == "ok" else str(value).splitlines()[0] for kind, value in outcomes
    ]
    expected = [status for _, status in requests]
    failed = Counter(str(a) for a, e in zip(answers, expected, strict=True) if a != e)
    assert answers == expected, f"{failed.total()} of {len(requests)} failed: {dict(failed)}"


def trust_check_request(trust: BankAccount, file: File, amount: str) -> dict[str, object]:
    return {
        "bank_account_id": trust.pk,
        "payee": "Valley Medical",
        "amount": amount,
        "file_id": file.pk,
        "request_date": D.isoformat(),
    }


def fee_invoice(file: File, attorney: Any, amount: str, *, from_trust: bool) -> dict[str, object]:
    return {
        "file_id": file.pk,
        "invoice_date": D.isoformat(),
        "pay_from_trust": from_trust,
        "release": "auto",
        "lines": [
            {
                "kind": "fee",
                "description": "Contingency fee",
                "amount": amount,
                "timekeeper_id": attorney.pk,
            }
        ],
    }


def created(
    live: LiveClient, path: str, body: dict[str, object]
) -> tuple[Callable[[], Reply], int]:
    return (lambda: live.post(path, body)), 201


def printed(live: LiveClient, check: Check) -> tuple[Callable[[], Reply], int]:
    return (lambda: live.post(f"/checks/{check.pk}/print", {})), 200


def test_trust_checks_and_fee_invoices_paid_from_trust_released_together_all_go_through(
    live, token, firm, admin, attorney, trust, client_file
):
    """The issue's race: 10 trust checks of 30.00 and 10 fee invoices of 40.00 paid from
    trust and released automatically, within the file's funds, sent together."""
    live.token = token
    deposit(firm, admin, trust, client_file, 250_000)
    check = trust_check_request(trust, client_file, "30.00")
    invoice = fee_invoice(client_file, attorney, "40.00", from_trust=True)

    for _ in range(ROUNDS):
        all_go_through(
            *[created(live, "/checks", check)] * 10, *[created(live, "/invoices", invoice)] * 10
        )

    n = ROUNDS * 10
    assert trust_balance(client_file, trust) == 250_000 - n * (3_000 + 4_000) == 40_000
    assert gl(firm, "1010") == 40_000  # the trust bank
    assert gl(firm, "1000") == n * 4_000  # the fees, paid into Operating
    assert Check.objects.filter(firm=firm, status="queued").count() == n
    numbers = sorted(Invoice.objects.filter(firm=firm).values_list("number", flat=True))
    assert numbers == list(range(1001, 1001 + n))
    assert set(Invoice.objects.values_list("stage", flat=True)) == {InvoiceStage.FINAL}
    assert Firm.objects.get(pk=firm.pk).next_invoice_number == 1001 + n
    assert JournalEntry.objects.filter(firm=firm).count() == 1 + 2 * n
    assert_books_consistent(firm)


def test_operating_checks_and_invoices_billed_to_the_client_released_together_all_go_through(
    live, token, firm, attorney, operating, client_file
):
    """Operating checks for copies (Dr Advanced Client Costs, Cr Operating) beside invoices
    billing the client for copies (Dr Accounts Receivable, Cr Advanced Client Costs): the
    same GL account, from both sides."""
    live.token = token
    copying = ActivityCode.objects.get(firm=firm, code="E101")
    copies = {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "12.50",
        "activity_code_id": copying.pk,
        "file_id": client_file.pk,
        "request_date": D.isoformat(),
    }
    bill = fee_invoice(client_file, attorney, "100.00", from_trust=False)
    bill["lines"] = [
        *bill["lines"],  # type: ignore[misc]
        {
            "kind": "cost",
            "description": "Copies",
            "amount": "12.50",
            "activity_code_id": copying.pk,
        },
    ]

    for _ in range(ROUNDS):
        all_go_through(
            *[created(live, "/checks", copies)] * 10, *[created(live, "/invoices", bill)] * 10
        )

    n = ROUNDS * 10
    assert gl(firm, "1000") == -n * 1_250  # Operating: the checks
    assert gl(firm, "1300") == 0  # Advanced Client Costs: advanced, then billed
    assert gl(firm, "1200") == n * 11_250  # Accounts Receivable
    numbers = sorted(Invoice.objects.filter(firm=firm).values_list("number", flat=True))
    assert numbers == list(range(1001, 1001 + n))
    assert_books_consistent(firm)


def test_files_opened_and_checks_printed_beside_postings_all_go_through(
    live, token, firm, admin, attorney, trust, client_file
):
    """The morning's checks printed and new files opened (both numbered) while trust
    checks and fee invoices paid from trust post: every number given once, none skipped."""
    live.token = token
    deposit(firm, admin, trust, client_file, 1_000_000)
    queued = [trust_check(firm, admin, trust, client_file, 1_000) for _ in range(ROUNDS * 5)]
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Ana Ruiz")
    check = trust_check_request(trust, client_file, "30.00")
    invoice = fee_invoice(client_file, attorney, "40.00", from_trust=True)

    for r in range(ROUNDS):
        all_go_through(
            *[
                created(
                    live, "/files", {"name": f"Ruiz v. Carrier {r}-{i}", "client_id": client.pk}
                )
                for i in range(5)
            ],
            *[printed(live, c) for c in queued[r * 5 : r * 5 + 5]],
            *[created(live, "/checks", check)] * 5,
            *[created(live, "/invoices", invoice)] * 5,
        )

    n = ROUNDS * 5
    opened = sorted(File.objects.filter(firm=firm, client=client).values_list("number", flat=True))
    assert opened == [f"{clock.today():%Y}-{seq:05d}" for seq in range(2, 2 + n)]
    assert Firm.objects.get(pk=firm.pk).next_file_number == 2 + n
    numbers = Check.objects.filter(firm=firm, status="printed").values_list(
        "check_number", flat=True
    )
    assert sorted(numbers) == list(range(1001, 1001 + n))
    assert BankAccount.objects.get(pk=trust.pk).next_check_number == 1001 + n
    invoices = sorted(Invoice.objects.filter(firm=firm).values_list("number", flat=True))
    assert invoices == list(range(1001, 1001 + n))
    assert trust_balance(client_file, trust) == 1_000_000 - n * (1_000 + 3_000 + 4_000) == 880_000
    assert_books_consistent(firm)
