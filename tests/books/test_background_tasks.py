"""The worker's tasks: the nightly ledger integrity check and the retention purge."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from huey.contrib.djhuey import HUEY

from casebridge.books import tasks
from casebridge.books.models import GLAccount, IdempotencyRecord, LoginAttempt
from casebridge.books.services import checks
from casebridge.books.services.maintenance import retention_purge
from casebridge.core.models import AuditEvent


def test_the_integrity_check_passes_on_a_consistent_ledger_and_records_it(
    firm, admin, trust, client_file
):
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Insurer",
        amount_cents=10_000,
    )
    HUEY.immediate = True
    try:
        assert tasks.ledger_integrity_check_firm(firm.pk) is None  # no result is kept
    finally:
        HUEY.immediate = False
    event = AuditEvent.objects.filter(firm_id=firm.pk, action="integrity_check").get()
    assert event.after == {"ok": True, "problems": []}


def test_the_integrity_check_reports_a_drifted_balance(firm, admin, trust, client_file):
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Insurer",
        amount_cents=10_000,
    )
    bank_gl = trust.gl_account
    # Simulate corruption outside the services (e.g. a manual SQL edit).
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE books_glaccount SET balance_cents = balance_cents + 1 WHERE id = %s",
            [bank_gl.pk],
        )
    assert tasks.ledger_integrity_check_firm.call_local(firm.pk) is False
    event = AuditEvent.objects.filter(firm_id=firm.pk, action="integrity_check").get()
    assert event.after == {
        "ok": False,
        "problems": ["GL 1010 maintained balance $100.01 != postings $100.00"],
    }
    assert GLAccount.objects.get(pk=bank_gl.pk).balance_cents == 10_001


def test_retention_purge_removes_only_old_rows(firm):
    now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    LoginAttempt.objects.create(
        firm_code="x", username="a", succeeded=False, at=now - dt.timedelta(days=91)
    )
    LoginAttempt.objects.create(
        firm_code="x", username="a", succeeded=False, at=now - dt.timedelta(days=89)
    )
    IdempotencyRecord.objects.create(
        firm=firm,
        key="k1",
        scope="POST /x",
        request_hash="h",
        status_code=201,
        response_body={},
        created_at=now - dt.timedelta(days=181),
    )
    IdempotencyRecord.objects.create(
        firm=firm,
        key="k2",
        scope="POST /x",
        request_hash="h",
        status_code=201,
        response_body={},
        created_at=now - dt.timedelta(days=179),
    )
    assert retention_purge(now=now) == (1, 1)
    assert LoginAttempt.objects.count() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k2"]
