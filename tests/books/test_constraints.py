"""The ledger's invariants held by the database itself, tested by going around the services
(as a bug or a shell session would)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from casebridge.books.models import (
    ActivityCode,
    Check,
    Firm,
    GLAccount,
    Invoice,
    JournalEntry,
    Posting,
    TrustLedger,
)
from casebridge.books.services import setup
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import D, deposit, operating_check

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL-only safeguard: SQLite has no DELETE trigger (the test flush deletes "
    "rows) and no deferred constraint triggers",
)


def refused_by_the_database(match: str | None = None):
    """The statement fails inside its own savepoint, so the test can carry on."""
    return pytest.raises((IntegrityError, DatabaseError), match=match)


@pytest.fixture
def entry(firm, admin, trust, client_file) -> JournalEntry:
    return deposit(firm, admin, trust, client_file, 10_000).entry


# --- CHECK and UNIQUE constraints ------------------------------------------------------------


@pytest.mark.parametrize(("debit", "credit"), [(100, 100), (0, 0), (-100, 0), (0, -5), (-100, 100)])
def test_a_posting_has_exactly_one_positive_side(firm, entry, debit, credit):
    office = GLAccount.objects.get(firm=firm, number="5200")
    with refused_by_the_database(), transaction.atomic():
        Posting.objects.create(entry=entry, account=office, debit_cents=debit, credit_cents=credit)
    assert entry.postings.count() == 2


def test_a_trust_ledger_never_goes_below_zero(firm, client_file, entry):
    ledger = TrustLedger.objects.get(file=client_file)
    with refused_by_the_database(), transaction.atomic():
        TrustLedger.objects.filter(pk=ledger.pk).update(balance_cents=-1)
    assert TrustLedger.objects.get(pk=ledger.pk).balance_cents == 10_000
    TrustLedger.objects.filter(pk=ledger.pk).update(balance_cents=0)  # zero is allowed


def test_one_trust_ledger_per_file_and_bank(firm, client_file, trust, entry):
    with refused_by_the_database(), transaction.atomic():
        TrustLedger.objects.create(firm=firm, file=client_file, bank_account=trust)


def test_a_check_number_is_used_once_per_bank_account(firm, admin, operating, client_file):
    court = ActivityCode.objects.get(firm=firm, code="E112")
    a, b = (operating_check(firm, admin, operating, client_file, 100, court) for _ in "ab")
    Check.objects.filter(pk=a.pk).update(status="printed", check_number=1001)
    with refused_by_the_database(), transaction.atomic():
        Check.objects.filter(pk=b.pk).update(status="printed", check_number=1001)
    assert Check.objects.get(pk=b.pk).check_number is None


def test_a_printed_check_has_a_number(firm, admin, operating, client_file):
    court = ActivityCode.objects.get(firm=firm, code="E112")
    check = operating_check(firm, admin, operating, client_file, 100, court)
    with refused_by_the_database(), transaction.atomic():
        Check.objects.filter(pk=check.pk).update(status="printed")


def test_a_final_invoice_is_posted(firm, client_file):
    with refused_by_the_database(), transaction.atomic():
        Invoice.objects.create(
            firm=firm,
            number=1001,
            file=client_file,
            stage="final",
            invoice_date=D,
            created_at=clock.now(),
        )


def test_invoice_numbers_are_unique_per_firm(firm, client_file):
    def invoice(number):
        return Invoice.objects.create(
            firm=firm, number=number, file=client_file, invoice_date=D, created_at=clock.now()
        )

    invoice(1001)
    with refused_by_the_database(), transaction.atomic():
        invoice(1001)
    assert Invoice.objects.filter(firm=firm).count() == 1


def test_an_idempotency_key_is_used_once_per_firm_and_source(firm):
    def entry(source):
        return JournalEntry.objects.create(
            firm=firm, date=D, source=source, idempotency_key="k-1", created_at=clock.now()
        )

    entry("api")
    entry("import")
    with refused_by_the_database(), transaction.atomic():
        entry("api")


def test_a_client_trust_account_is_a_liability(firm):
    with refused_by_the_database(), transaction.atomic():
        GLAccount.objects.create(
            firm=firm, number="1999", name="Odd", type="asset", is_client_trust=True
        )


# --- append-only rows (both databases refuse UPDATE) ----------------------------------------


def test_a_journal_entry_cannot_be_edited(entry):
    with refused_by_the_database("append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(memo="nothing to see")
    entry.date = D.replace(year=2020)
    with refused_by_the_database("append-only"), transaction.atomic():
        entry.save()
    assert JournalEntry.objects.get(pk=entry.pk).date == D


def test_a_posting_cannot_be_edited(entry):
    posting = entry.postings.first()
    with refused_by_the_database("append-only"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(debit_cents=1, credit_cents=0)
    assert Posting.objects.get(pk=posting.pk).debit_cents == posting.debit_cents


def test_an_audit_event_cannot_be_edited(entry):
    event = AuditEvent.objects.filter(entity_type="journal_entry").first()
    with refused_by_the_database("append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else")
    assert AuditEvent.objects.get(pk=event.pk).actor_label == event.actor_label


# --- PostgreSQL only -----------------------------------------------------------------------


def raw_delete(model, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608


@pytest.mark.postgres_only
@on_postgres
def test_journal_rows_and_audit_events_cannot_be_deleted(entry):
    posting = entry.postings.first()
    event = AuditEvent.objects.first()
    for model, pk in ((Posting, posting.pk), (JournalEntry, entry.pk), (AuditEvent, event.pk)):
        with refused_by_the_database("append-only: DELETE refused"), transaction.atomic():
            raw_delete(model, pk)
    assert Posting.objects.filter(pk=posting.pk).exists()
    assert JournalEntry.objects.filter(pk=entry.pk).exists()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def _direct_entry(firm: Firm, amounts: list[tuple[int, int]]) -> None:
    """An entry and its postings inserted straight into the tables, bypassing the services."""
    office = GLAccount.objects.get(firm=firm, number="5200")
    bank = GLAccount.objects.get(firm=firm, number="1000")
    entry = JournalEntry.objects.create(firm=firm, date=D, created_at=clock.now())
    Posting.objects.bulk_create(
        [
            Posting(entry=entry, account=acct, debit_cents=d, credit_cents=c)
            for (d, c), acct in zip(amounts, [office, bank, office], strict=False)
        ]
    )


@pytest.mark.postgres_only
@on_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        ([(10_000, 0), (0, 9_999)], "debits 10000, credits 9999, 2 postings"),
        ([(10_000, 0)], "debits 10000, credits 0, 1 postings"),
        ([(5_000, 0), (0, 10_000), (5_001, 0)], "debits 10001, credits 10000, 3 postings"),
    ],
)
def test_an_unbalanced_entry_is_refused_at_commit(amounts, message):
    firm = setup.firm_create(code="direct", name="Direct", with_utbms_codes=False)
    # the error comes on leaving the block, when the transaction commits
    with pytest.raises(IntegrityError, match=message), transaction.atomic():  # noqa: PT012
        _direct_entry(firm, amounts)
        # inside the transaction the rows are there: the check waits for the commit
        assert Posting.objects.filter(entry__firm=firm).count() == len(amounts)
    assert not JournalEntry.objects.filter(firm=firm).exists()
    assert not Posting.objects.filter(entry__firm=firm).exists()


@pytest.mark.postgres_only
@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_balanced_entry_inserted_directly_commits():
    firm = setup.firm_create(code="direct", name="Direct", with_utbms_codes=False)
    with transaction.atomic():
        _direct_entry(firm, [(2_500, 0), (0, 2_500)])
    assert list(
        Posting.objects.filter(entry__firm=firm).values_list("debit_cents", "credit_cents")
    ) == [
        (2_500, 0),
        (0, 2_500),
    ]
