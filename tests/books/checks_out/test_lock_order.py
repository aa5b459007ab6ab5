"""Printing a batch and reprinting a spoiled check number under the bank account's counter
FOR NO KEY UPDATE (ADR 0012): the other postings naming the bank account still commit."""

from __future__ import annotations

import pytest
from django.db import connection

from casebridge.books.models import BankAccount
from casebridge.books.services import checks
from tests.books.ledger_helpers import deposit, trust_check
from tests.books.test_lock_order import a_posting_can_name, left_open

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has no row locks",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_numbering_a_batch_leaves_its_bank_account_to_the_other_postings(
    firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000)
    queued = [trust_check(firm, admin, trust, client_file, 2_500) for _ in range(3)]
    with left_open(
        lambda: checks.checks_print_batch(
            firm=firm, actor=admin, check_ids=[c.pk for c in queued], bank_account_id=trust.pk
        )
    ):
        assert a_posting_can_name(BankAccount, trust.pk)
    assert BankAccount.objects.get(pk=trust.pk).next_check_number == 1004


def test_reprinting_leaves_its_bank_account_to_the_other_postings(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 10_000)
    check = checks.check_print(
        firm=firm, actor=admin, check_id=trust_check(firm, admin, trust, client_file, 2_500).pk
    )
    with left_open(
        lambda: checks.check_reprint(firm=firm, actor=admin, check_id=check.pk, reason="Jammed")
    ):
        assert a_posting_can_name(BankAccount, trust.pk)
    assert BankAccount.objects.get(pk=trust.pk).next_check_number == 1003
