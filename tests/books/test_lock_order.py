"""Numbering a document never holds up another posting (ADR 0012), on PostgreSQL.

Every row a posting writes names its firm (and a trust ledger, check or invoice its bank
account) by a foreign key, and PostgreSQL checks those keys at commit by taking a KEY
SHARE lock on the firm or bank account row. A request that numbers an invoice, a file or
a check holds that row's counter until it commits; held FOR UPDATE, the counter refused
every other posting's commit meanwhile, and an invoice released automatically, waiting in
turn for a trust ledger such a posting held, deadlocked with it. Held FOR NO KEY UPDATE,
the other postings' key checks pass while the number is taken.

Each test leaves a request open (its own thread and connection) just after it numbered its
document, and takes, without waiting, the lock a posting's foreign-key check needs."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction

from casebridge.books.models import BankAccount, Firm
from casebridge.books.services import checks, files, invoices, setup
from tests.books.ledger_helpers import D, deposit, trust_check
from tests.clockwork import PATIENCE

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has no row locks",
    ),
    pytest.mark.django_db(transaction=True),
]


@contextmanager
def left_open(action: Callable[[], Any]) -> Iterator[None]:
    """Run ``action`` in its own thread and transaction, and keep that transaction open
    for the block; it commits when the block ends."""
    done, finish = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                action()
                done.set()
                assert finish.wait(PATIENCE), "the test never let the request commit"
        except BaseException as exc:  # reported to the test
            failed.append(exc)
            done.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert done.wait(PATIENCE), "the request never got its number"
        assert not failed, failed
        yield
    finally:
        finish.set()
        thread.join(PATIENCE)
    assert not thread.is_alive()
    assert not failed, failed


def a_posting_can_name(model: type[Firm] | type[BankAccount], pk: int) -> bool:
    """A posting committing now passes its foreign-key check on this row: the KEY SHARE
    lock PostgreSQL's check takes, asked for without waiting (refused, "could not obtain
    lock on row", while another request holds the row FOR UPDATE)."""
    table = connection.ops.quote_name(model._meta.db_table)
    key = connection.ops.quote_name(model._meta.pk.column)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE {key} = %s FOR KEY SHARE NOWAIT", [pk])  # noqa: S608
        return cursor.fetchone() == (1,)


def test_numbering_an_invoice_leaves_the_firm_to_the_other_postings(
    firm, admin, attorney, client_file
):
    with left_open(
        lambda: invoices.invoice_create(
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
    ):
        assert a_posting_can_name(Firm, firm.pk)
    assert Firm.objects.get(pk=firm.pk).next_invoice_number == 1002


def test_numbering_a_file_leaves_the_firm_to_the_other_postings(firm, admin):
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Ana Ruiz")
    with left_open(
        lambda: files.file_find_or_create(
            firm=firm, actor=admin, name="Ruiz v. Carrier", client=client
        )
    ):
        assert a_posting_can_name(Firm, firm.pk)
    assert Firm.objects.get(pk=firm.pk).next_file_number == 2


def test_numbering_a_check_leaves_its_bank_account_to_the_other_postings(
    firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000)
    queued = trust_check(firm, admin, trust, client_file, 2_500)
    with left_open(lambda: checks.check_print(firm=firm, actor=admin, check_id=queued.pk)):
        assert a_posting_can_name(BankAccount, trust.pk)
    assert BankAccount.objects.get(pk=trust.pk).next_check_number == 1002


def test_changing_the_firms_features_leaves_the_firm_to_the_postings(firm, admin):
    with left_open(
        lambda: setup.firm_features_update(
            firm=firm, actor=admin, release_invoice_stage_enabled=True
        )
    ):
        assert a_posting_can_name(Firm, firm.pk)
    assert Firm.objects.get(pk=firm.pk).release_invoice_stage_enabled


def test_setting_the_opening_date_leaves_the_firm_to_the_postings(firm, admin):
    with left_open(
        lambda: setup.firm_opening_date_set(
            firm=firm, actor=admin, opening_date=dt.date(2026, 1, 1)
        )
    ):
        assert a_posting_can_name(Firm, firm.pk)
    assert Firm.objects.get(pk=firm.pk).opening_date == dt.date(2026, 1, 1)
