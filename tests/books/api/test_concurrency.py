"""Two check batches racing over real HTTP on PostgreSQL, where the row locks are real."""

from __future__ import annotations

import pytest
from django.db import connection

from casebridge.books.models import ActivityCode, Check
from tests.books.ledger_helpers import deposit
from tests.books.test_concurrency import at_the_same_moment

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_check_batches_in_opposite_orders_both_go_through(
    live, token, firm, admin, operating, trust, client_file
):
    """Posting item by item took each batch's locks in its own order, and the two
    deadlocked; the batch now locks every row it will touch up front, in one order."""
    live.token = token
    deposit(firm, admin, trust, client_file, 10_000_000)
    code = ActivityCode.objects.get(firm=firm, code="E101")
    op = {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "1.00",
        "activity_code_id": code.pk,
        "file_id": client_file.pk,
    }
    tr = {
        "bank_account_id": trust.pk,
        "payee": "Valley Medical",
        "amount": "1.00",
        "file_id": client_file.pk,
    }
    statuses = []
    for _ in range(5):
        outcomes = at_the_same_moment(
            lambda: live.post("/checks/batch", {"items": [op] * 10 + [tr] * 10}),
            lambda: live.post("/checks/batch", {"items": [tr] * 10 + [op] * 10}),
        )
        statuses += [result.status for kind, result in outcomes if kind == "ok"]
    assert statuses == [201] * 10
    assert Check.objects.filter(firm=firm).count() == 200
