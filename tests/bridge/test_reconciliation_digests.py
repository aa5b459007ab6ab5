"""Issue 12: the firm's reconciliation compares per-file digests (count, cents, hash of
the references with their amounts, states and numbers) and reads documents only for the
files whose digests differ. A digest must never hide a difference: each test below changes
the books so that the count and the sum stay what this side expects (or puts documents
where no case's digest covers them) and asserts the very differences the comparison of
every document found before (these assertions pass on the code before the digests too)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import Check, TrustReceipt
from casebridge.books.services import checks as books_checks
from casebridge.bridge import client as client_module
from casebridge.bridge.models import (
    CaseLink,
    Connection,
    InvoiceRelease,
    OutboxItem,
    ReconciliationRun,
)
from casebridge.bridge.services import balances, outbox, reconciliation
from casebridge.bridge.services import settlement as bridge_settlement
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.models import Cost
from casebridge.core.digest import SQLITE_HASH

from .conftest import activate, add_cost
from .test_settlement_to_books import Settled, _print_and_sync, _settle_to_disbursement


def _run(cases) -> ReconciliationRun:
    return reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin)


def _found(run: ReconciliationRun) -> list[tuple[str, int | None, int | None, str]]:
    return sorted((d.kind, d.cases_cents, d.books_cents, d.cause) for d in run.found.order_by("pk"))


def _settled_and_final(books, cases) -> Settled:
    """The worked settlement carried through: every document in the books, clean."""
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    outbox_deliver(firm_id=cases.firm.pk)
    _print_and_sync(books, cases, settled)
    run = _run(cases)
    assert (run.error, run.differences, run.in_flight, run.documents_compared) == ("", 0, 0, 7)
    return settled


@pytest.fixture
def document_reads(monkeypatch) -> list[str]:
    """The kinds of every read of the books' documents (not of their digests)."""
    reads: list[str] = []
    for name in ("external_documents", "external_documents_of_files"):
        if not hasattr(client_module.HttpBooksClient, name):
            continue
        real = getattr(client_module.HttpBooksClient, name)

        def spy(self, kind, *args, _real=real, **kwargs):
            reads.append(kind)
            return _real(self, kind, *args, **kwargs)

        monkeypatch.setattr(client_module.HttpBooksClient, name, spy)
    return reads


def test_a_clean_firm_is_compared_by_digests_alone(books, cases, document_reads):
    _settled_and_final(books, cases)
    document_reads.clear()
    run = _run(cases)
    assert (run.error, run.differences, run.in_flight, run.documents_compared) == ("", 0, 0, 7)
    assert run.cases_compared == 1
    assert document_reads == []  # every digest agreed: no document was read


def test_amounts_swapped_between_two_checks_keep_count_and_sum_but_differ(
    books, cases, document_reads
):
    settled = _settled_and_final(books, cases)
    first, second = Cost.objects.filter(case=settled.case).order_by("pk")
    Check.objects.filter(external_ref=f"cases-cost-{first.pk}").update(amount_cents=350_000)
    Check.objects.filter(external_ref=f"cases-cost-{second.pk}").update(amount_cents=500_000)
    run = _run(cases)
    assert run.documents_compared == 7
    assert _found(run) == [
        (
            "cost",
            350_000,
            500_000,
            f"The books hold $5,000.00 under cases-cost-{second.pk}; this side $3,500.00.",
        ),
        (
            "cost",
            500_000,
            350_000,
            f"The books hold $3,500.00 under cases-cost-{first.pk}; this side $5,000.00.",
        ),
    ]
    assert sorted(set(document_reads)) == ["check", "invoice", "receipt"]


def test_check_numbers_swapped_between_two_payments_differ(books, cases):
    settled = _settled_and_final(books, cases)
    valley, blue, _ = settled.trust_checks
    Check.objects.filter(pk=valley.pk).update(check_number=9999)
    Check.objects.filter(pk=blue.pk).update(check_number=5001)
    Check.objects.filter(pk=valley.pk).update(check_number=5002)
    run = _run(cases)
    assert _found(run) == [
        ("payment", None, None, "Disbursed here by check 5001; the books printed check 5002."),
        ("payment", None, None, "Disbursed here by check 5002; the books printed check 5001."),
    ]


def test_a_reference_renamed_in_the_books_is_missing_here_and_unknown_there(books, cases):
    settled = _settled_and_final(books, cases)
    cost = Cost.objects.filter(case=settled.case).order_by("pk").first()
    assert cost is not None
    check = Check.objects.get(external_ref=f"cases-cost-{cost.pk}")
    Check.objects.filter(pk=check.pk).update(external_ref="cases-cost-999999")
    run = _run(cases)
    assert _found(run) == [
        (
            "cost",
            500_000,
            None,
            f"Sent, but the books have no check cases-cost-{cost.pk}; ask the accountant "
            "what became of it.",
        ),
        (
            "unknown",
            None,
            500_000,
            "The books hold a check of $5,000.00 (queued) under a reference this side does "
            "not know.",
        ),
    ]
    assert run.found.get(kind="unknown").case_id == settled.case.pk
    assert run.documents_compared == 6


def test_a_receipt_voided_in_the_books_alone_is_a_difference(books, cases):
    _settled_and_final(books, cases)
    TrustReceipt.objects.filter(firm=books.firm).update(status="voided")
    run = _run(cases)
    assert _found(run) == [
        (
            "deposit",
            25_000_000,
            0,
            "The books voided its trust receipt (the money left trust there); it stands "
            "here. Void the deposit on the Settlement tab, or ask the accountant.",
        )
    ]


def test_unknown_documents_outside_every_linked_file_are_differences(books, cases):
    settled = _settled_and_final(books, cases)
    cost_check = Check.objects.get(
        external_ref=f"cases-cost-{Cost.objects.filter(case=settled.case).first().pk}"
    )
    for ref, file_id in [("cases-cost-888888", None), ("cases-cost-777777", cost_check.file_id)]:
        books_checks.check_request_create(
            firm=books.firm,
            actor=books.admin,
            bank_account_id=books.operating.pk,
            payee="Stranger",
            amount_cents=999,
            file_id=file_id,
            activity_code_id=cost_check.activity_code_id,
            external_ref=ref,
        )
    run = _run(cases)
    unknown = "The books hold a check of $9.99 (queued) under a reference this side does not know."
    assert _found(run) == [("unknown", None, 999, unknown), ("unknown", None, 999, unknown)]
    assert sorted(run.found.values_list("case_id", flat=True), key=str) == [
        settled.case.pk,
        None,
    ]
    assert run.documents_compared == 7


def test_in_flight_and_failed_items_count_as_before(books, cases):
    settled = _settled_and_final(books, cases)
    queued, failed = add_cost(cases, 1_000), add_cost(cases, 2_000, payee="Dr. Wu")
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[queued.pk, failed.pk])
    OutboxItem.objects.filter(cost=failed).update(state="failed", error_message="no")
    run = _run(cases)
    assert (run.differences, run.in_flight, run.documents_compared) == (1, 1, 7)
    diff = run.found.get()
    assert (diff.kind, diff.case_id, diff.fix, diff.fix_target_id) == (
        "cost",
        settled.case.pk,
        "retry",
        OutboxItem.objects.get(cost=failed).pk,
    )


def test_a_clean_firm_run_stamps_the_read_once_not_on_every_case_link(books, cases):
    """The whole-firm run reads every file's trust balance; it keeps the time of that read
    once, on the connection, and writes a case link only when its balance changed (at
    100,000 cases, stamping every link was a 100,000-row UPDATE a run)."""
    settled = _settled_and_final(books, cases)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    CaseLink.objects.update(books_trust_read_at=long_ago)
    with CaptureQueriesContext(connection) as queries:
        _run(cases)
    assert [q["sql"] for q in queries if 'UPDATE "bridge_caselink"' in q["sql"]] == []
    link = CaseLink.objects.get(case=settled.case)
    conn = Connection.objects.get(firm=cases.firm)
    assert link.books_trust_read_at == long_ago
    assert conn.trust_balances_read_at is not None
    assert conn.trust_balances_read_at > long_ago
    assert balances.balance_read_at(link, conn) == conn.trust_balances_read_at


def test_a_link_made_after_the_firm_read_is_not_read_by_it(books, cases):
    settled = _settled_and_final(books, cases)
    conn = Connection.objects.get(firm=cases.firm)
    link = CaseLink.objects.get(case=settled.case)
    read = conn.trust_balances_read_at
    assert read is not None
    link.books_trust_read_at = None
    link.linked_at = read + dt.timedelta(seconds=1)
    assert balances.balance_read_at(link, conn) is None
    link.books_trust_read_at = read + dt.timedelta(seconds=5)  # its own read, later
    assert balances.balance_read_at(link, conn) == read + dt.timedelta(seconds=5)
    link.linked_at = read - dt.timedelta(seconds=1)
    link.books_trust_read_at = read - dt.timedelta(seconds=9)  # its own read, earlier
    assert balances.balance_read_at(link, conn) == read
    # made just before the read, committed after the firm's links were written: no balance
    link.books_trust_read_at, link.books_trust_cents = None, None
    assert balances.balance_read_at(link, conn) is None


def test_a_firm_run_keeps_a_newer_read_of_one_file(books, cases):
    """A balance read alone after the firm run asked the books is newer than the run's
    answer: the run leaves it."""
    settled = _settled_and_final(books, cases)
    link = CaseLink.objects.get(case=settled.case)
    later = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    CaseLink.objects.filter(pk=link.pk).update(books_trust_cents=123, books_trust_read_at=later)
    _run(cases)
    link.refresh_from_db()
    assert (link.books_trust_cents, link.books_trust_read_at) == (123, later)


def test_the_firm_run_reads_this_sides_maintained_digests_once(books, cases):
    _settled_and_final(books, cases)
    with CaptureQueriesContext(connection) as queries:
        _run(cases)
    reads = [q["sql"] for q in queries if "bridge_casedigest" in q["sql"]]
    assert len(reads) == 1
    # nothing hashes the documents on a run: the triggers did as they changed (the one
    # read sums each case's kept digest and its deltas, ADR 0035)
    hashing = [q["sql"] for q in queries if re.search(f"md5|{SQLITE_HASH}", q["sql"], re.I)]
    assert hashing == []


def test_more_cases_to_compare_in_detail_than_a_statement_takes_parameters(books, cases):
    """When the books lost (or changed) every document, every case is compared in detail:
    70,000 case ids are more than a stock SQLite (32,766; Debian builds it with 250,000)
    or PostgreSQL's server-side binding (65,535) take in one statement, so the ids go to
    the database as one parameter, not one each."""
    settled = _settled_and_final(books, cases)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
    waiting = reconciliation._unfinished(cases.firm, None)
    detail = set(range(10_000_000, 10_070_000)) | {settled.case.pk}
    found, known = reconciliation._compare_costs(cases.firm, detail, {}, waiting)
    costs = Cost.objects.filter(case=settled.case)
    assert known == {f"cases-cost-{c.pk}" for c in costs}
    assert len(found.rows) == costs.count()  # each sent cost: the books have no check
    assert reconciliation._unfinished(cases.firm, detail).cases == set()
