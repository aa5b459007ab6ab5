"""Two people (or an API client and a person) acting at the same moment, on PostgreSQL where
the row locks are real. Each thread has its own connection and commits for real."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from casebridge.books.errors import Conflict, TrustOverdraw, ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    Check,
    Contact,
    File,
    Firm,
    GLAccount,
    Invoice,
    JournalEntry,
    TrustLedger,
)
from casebridge.books.services import checks, files, invoices
from casebridge.books.services.journal import (
    EntrySpec,
    Line,
    journal_entries_post_batch,
    journal_entry_post,
)
from tests.books.ledger_helpers import D, assert_books_consistent, deposit, operating_check
from tests.clockwork import PATIENCE

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


def at_the_same_moment(*actions: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run each action in its own thread (and connection), released together by a barrier.
    Returns ("ok", result) or ("error", exception) per action, in order."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[tuple[str, Any]] = [("not run", None)] * len(actions)

    def run(i: int, action: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect first, so the race is in the work
            barrier.wait()  # however long the others take to connect
            outcomes[i] = ("ok", action())
        except Exception as exc:  # reported to the test
            barrier.abort()  # a thread that could not start releases the others
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=PATIENCE)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return outcomes


def test_two_disbursements_of_70_from_100_one_wins(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 10_000)

    def pay_70():
        return checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee="Valley Medical",
            amount_cents=7_000,
            file_id=client_file.pk,
            request_date=D,
        )

    outcomes = at_the_same_moment(pay_70, pay_70)

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    [error] = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, TrustOverdraw)
    assert error.details["available_cents"] == 3_000  # it saw the winner's disbursement
    assert TrustLedger.objects.get(file=client_file).balance_cents == 3_000
    assert Check.objects.count() == 1
    assert GLAccount.objects.get(firm=firm, number="1010").balance_cents == 3_000
    assert_books_consistent(firm)


def test_two_people_printing_the_same_check_number_one_wins(firm, admin, operating, client_file):
    court = ActivityCode.objects.get(firm=firm, code="E112")
    a, b = (operating_check(firm, admin, operating, client_file, 500, court) for _ in "ab")

    def print_as_2001(check):
        return lambda: checks.check_print(
            firm=firm, actor=admin, check_id=check.pk, check_number=2001, printed_on=D
        )

    outcomes = at_the_same_moment(print_as_2001(a), print_as_2001(b))

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    [error] = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, ValidationFailed)
    assert error.message == "check number 2001 is already used on Operating"
    statuses = sorted(Check.objects.values_list("status", "check_number"))
    assert statuses == [("printed", 2001), ("queued", None)]
    assert BankAccount.objects.get(pk=operating.pk).next_check_number == 2002


def test_two_people_printing_the_next_check_get_different_numbers(
    firm, admin, operating, client_file
):
    court = ActivityCode.objects.get(firm=firm, code="E112")
    queued = [operating_check(firm, admin, operating, client_file, 500, court) for _ in "ab"]

    outcomes = at_the_same_moment(
        *((lambda c=c: checks.check_print(firm=firm, actor=admin, check_id=c.pk)) for c in queued)
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sorted(Check.objects.values_list("check_number", flat=True)) == [1001, 1002]


def test_two_invoices_created_together_get_different_numbers(firm, admin, attorney, client_file):
    def bill():
        return invoices.invoice_create(
            firm=firm,
            actor=admin,
            file_id=client_file.pk,
            invoice_date=D,
            lines=[
                invoices.LineSpec(
                    kind="fee", description="Call", amount_cents=100, timekeeper_id=attorney.pk
                )
            ],
        )

    outcomes = at_the_same_moment(bill, bill, bill)

    assert [kind for kind, _ in outcomes] == ["ok", "ok", "ok"], outcomes
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [1001, 1002, 1003]


def test_a_retry_racing_the_original_request_gets_the_same_entry(firm):
    office = GLAccount.objects.get(firm=firm, number="5200")
    bank = GLAccount.objects.get(firm=firm, number="1000")

    def post():
        return journal_entry_post(
            firm=firm,
            date=D,
            lines=[Line(account=office, debit_cents=900), Line(account=bank, credit_cents=900)],
            source="api",
            idempotency_key="rent-2026-03",
        )

    outcomes = at_the_same_moment(post, post)

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert outcomes[0][1].pk == outcomes[1][1].pk
    assert JournalEntry.objects.filter(firm=firm).count() == 1
    assert GLAccount.objects.get(pk=office.pk).balance_cents == 900


def test_two_batches_racing_with_overlapping_keys_post_each_entry_once(firm):
    office = GLAccount.objects.get(firm=firm, number="5200")
    bank = GLAccount.objects.get(firm=firm, number="1000")

    def spec(key: str) -> EntrySpec:
        return EntrySpec(
            date=D,
            lines=[Line(account=office, debit_cents=100), Line(account=bank, credit_cents=100)],
            source="api",
            idempotency_key=key,
        )

    first = [spec("a"), spec("b"), spec("c")]
    second = [spec("b"), spec("c"), spec("d")]
    outcomes = at_the_same_moment(
        lambda: journal_entries_post_batch(firm=firm, entries=first),
        lambda: journal_entries_post_batch(firm=firm, entries=second),
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    keys = sorted(JournalEntry.objects.filter(firm=firm).values_list("idempotency_key", flat=True))
    assert keys == ["a", "b", "c", "d"]
    by_key = {e.idempotency_key: e.pk for e in JournalEntry.objects.filter(firm=firm)}
    assert [e.pk for e, _ in outcomes[0][1]] == [by_key["a"], by_key["b"], by_key["c"]]
    assert [e.pk for e, _ in outcomes[1][1]] == [by_key["b"], by_key["c"], by_key["d"]]
    assert GLAccount.objects.get(pk=office.pk).balance_cents == 400


def test_two_requests_with_the_same_new_external_ref_create_one_check(
    firm, admin, operating, client_file
):
    """The bridge resends a cost whose first request is still running: one check is
    created; the other request finds it or, if it looked before the first committed, is
    refused as a retryable conflict. Never two checks, never a 500."""
    court = ActivityCode.objects.get(firm=firm, code="E112")

    def send():
        return checks.check_request_find_or_create(
            firm=firm,
            actor=admin,
            bank_account_id=operating.pk,
            payee="Superior Court",
            amount_cents=43_500,
            file_id=client_file.pk,
            activity_code_id=court.pk,
            request_date=D,
            external_ref="cost-17",
        )

    for _ in range(3):
        outcomes = at_the_same_moment(send, send)
        results = [value for kind, value in outcomes if kind == "ok"]
        errors = [value for kind, value in outcomes if kind == "error"]
        assert len(results) + len(errors) == 2
        for error in errors:
            assert isinstance(error, Conflict), error
            assert (error.code, error.details) == ("conflict", {"retryable": True})
        [check] = Check.objects.filter(firm=firm, external_ref="cost-17")
        assert all(found.pk == check.pk for found, _ in results)
        assert sum(1 for _, created in results if created) <= 1
    assert Check.objects.filter(firm=firm).count() == 1
    assert JournalEntry.objects.filter(firm=firm, source="check").count() == 1
    assert GLAccount.objects.get(firm=firm, number="1000").balance_cents == -43_500
    assert_books_consistent(firm)


def test_two_file_batches_naming_the_same_clients_both_go_through(firm, admin):
    """Each batch opens its own files, with the firm's next numbers, for clients the other
    may be creating at the same moment: the numbers never collide (the firm row is the
    numbering lock) and each client is created once (the loser of that race goes again
    and finds it)."""

    def batch(side: str):
        return lambda: files.files_find_or_create(
            firm=firm,
            actor=admin,
            requests=[
                files.FileRequest(
                    name=f"Case {side}{n}",
                    external_ref=f"case-{side}{n}",
                    client=files.ClientRequest(name=f"Client {n}", external_ref=f"client-{n}"),
                )
                for n in range(100)
            ],
        )

    for _ in range(2):
        outcomes = at_the_same_moment(batch("a"), batch("b"))
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    numbers = list(File.objects.filter(firm=firm).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 200
    assert Contact.objects.filter(firm=firm).count() == 100
    assert Firm.objects.get(pk=firm.pk).next_file_number == 201
