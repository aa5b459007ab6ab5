"""The bridge's management commands: reconcile, outbox, rotate_keys."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from casebridge.books.models import Check
from casebridge.books.services import checks as books_checks
from casebridge.bridge.crypto import decrypt_token, encrypt_token
from casebridge.bridge.models import (
    BooksJob,
    Connection,
    OutboxItem,
    OutboxState,
    ReconciliationRun,
    RunState,
)
from casebridge.bridge.services import outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.services import firms
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.web.conftest import connection, outbox_item

from .conftest import add_cost


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _refused(*args: str) -> tuple[CommandError, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(*args, stdout=out)
    return raised.value, out.getvalue()


# --- reconcile ---------------------------------------------------------------------------


def test_reconcile_prints_a_clean_run_and_exits_0(books, cases, connected):
    costs = [add_cost(cases, 12_500), add_cost(cases, 4_000)]
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])
    outbox_deliver(firm_id=cases.firm.pk)
    assert _call("reconcile", "--firm", "lopez-pi") == (
        "lopez-pi: Reconciliation clean: 1 case, 2 documents compared, no difference.\n"
    )


def test_reconcile_prints_each_difference_and_exits_1(books, cases, connected):
    cost = add_cost(cases, 12_500)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get(firm=books.firm)
    books_checks.check_void(
        firm=books.firm, actor=books.admin, check_id=check.pk, void_date=clock.today()
    )
    error, out = _refused("reconcile", "--firm", "lopez-pi")
    assert error.returncode == 1
    run = ReconciliationRun.objects.latest("pk")
    assert str(error) == f"reconciliation {run.pk} is not clean"
    lines = out.splitlines()
    assert lines[0] == (
        "lopez-pi: Reconciliation found 1 difference (1 case, 1 document compared)."
    )
    assert lines[1:] == [
        f"  cost: case {cases.case.number}: Cost of 2026-11-02 to Records Inc for $125.00: "
        f"The books voided check {check.check_number or check.pk}; this side has not synced "
        "yet. [fix: sync]"
    ]


def test_reconcile_refuses_an_unknown_firm_and_one_not_connected(db):
    error, _ = _refused("reconcile", "--firm", "nope")
    assert str(error) == "no firm 'nope' on the cases side"
    firms.firm_create(code="lopez-pi", name="Lopez")
    error, _ = _refused("reconcile", "--firm", "lopez-pi")
    assert error.returncode == 1


# --- outbox ------------------------------------------------------------------------------


@pytest.fixture
def items(cases):
    queued = outbox_item(cases.case)
    failed = outbox_item(cases.case, state=OutboxState.FAILED)
    OutboxItem.objects.filter(pk=failed.pk).update(
        error_code="insufficient_trust_funds", error_message="not enough in trust", attempts=3
    )
    sent = outbox_item(cases.case, kind="cost_void", state=OutboxState.SENT)
    return queued, failed, sent


def test_outbox_list_counts_and_lists_newest_first(cases, items):
    queued, failed, sent = items
    number = cases.case.number
    assert _call("outbox", "list", "--firm", "lopez-pi") == (
        "queued: 1, sending: 0, sent: 1, failed: 1, waiting: 0, cancelled: 0\n"
        f"#{sent.pk} cost_void sent case {number} attempts 0\n"
        f"#{failed.pk} cost_send failed case {number} attempts 3 insufficient_trust_funds: "
        "not enough in trust\n"
        f"#{queued.pk} cost_send queued case {number} attempts 0\n"
    )
    assert _call("outbox", "list", "--firm", "lopez-pi", "--state", "failed").splitlines()[1:] == [
        f"#{failed.pk} cost_send failed case {number} attempts 3 insufficient_trust_funds: "
        "not enough in trust"
    ]
    assert _call("outbox", "list", "--firm", "lopez-pi", "--kind", "cost_void", "--limit", "5")
    assert len(_call("outbox", "list", "--firm", "lopez-pi", "--limit", "1").splitlines()) == 2


def test_outbox_show_prints_one_item_as_json(cases, items):
    _, failed, _ = items
    OutboxItem.objects.filter(pk=failed.pk).update(request_id="req-77")
    shown = json.loads(_call("outbox", "show", "--firm", "lopez-pi", str(failed.pk)))
    assert (shown["id"], shown["state"], shown["request_id"], shown["error_code"]) == (
        failed.pk,
        "failed",
        "req-77",
        "insufficient_trust_funds",
    )
    error, _ = _refused("outbox", "show", "--firm", "lopez-pi", "999999")
    assert str(error) == "no outbox item 999999 in firm lopez-pi"


def test_outbox_retry_queues_failed_items_again_as_the_user_named(cases, items):
    _, failed, _ = items
    audits = AuditEvent.objects.count()
    assert _call("outbox", "retry", "--firm", "lopez-pi", "--as", "PAT@lopez.test") == (
        "1 failed item queued again.\n"
    )
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.error_code) == (OutboxState.QUEUED, 0, "")
    assert AuditEvent.objects.count() == audits + 1
    assert AuditEvent.objects.latest("pk").actor_label == "pat@lopez.test"


def test_outbox_retry_refusals_write_nothing(cases, items):
    queued, failed, _ = items
    error, _ = _refused("outbox", "retry", "--firm", "lopez-pi", "--as", "sam.smith@lopez.test")
    assert "Costs management" in str(error)
    error, _ = _refused("outbox", "retry", "--firm", "lopez-pi", "--as", "nobody@lopez.test")
    assert str(error) == "no active user 'nobody@lopez.test' in firm lopez-pi"
    error, _ = _refused(
        "outbox", "retry", "--firm", "lopez-pi", "--as", "admin@lopez.test", str(queued.pk)
    )
    assert str(error) == "only failed items can be retried; reload the queue"
    failed.refresh_from_db()
    assert failed.state == OutboxState.FAILED


# --- rotate_keys -------------------------------------------------------------------------


OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))
NO_DATA = "Re-encrypted 0 encrypted books value(s) with the first data key; 0 already used it.\n"


@pytest.fixture
def secrets(cases, settings):
    settings.BRIDGE_TOKEN_KEYS = [OLD]
    conn = connection(cases.firm, token_ciphertext=encrypt_token("books-token-1"))
    job = BooksJob.objects.create(
        firm=cases.firm,
        kind="sign_in",
        state=RunState.QUEUED,
        secret_ciphertext=encrypt_token("typed password"),
        requested_at=clock.now(),
    )
    return conn, job


def test_rotate_keys_reencrypts_tokens_and_queued_passwords_with_the_first_key(secrets, settings):
    conn, job = secrets
    settings.BRIDGE_TOKEN_KEYS = [NEW, OLD]
    assert _call("rotate_keys") == (
        "Re-encrypted 1 books token(s) and 1 queued sign-in password(s) with the first key; "
        "0 already used it.\n" + NO_DATA
    )
    settings.BRIDGE_TOKEN_KEYS = [NEW]  # the old key dropped
    conn.refresh_from_db()
    job.refresh_from_db()
    assert decrypt_token(conn.token_ciphertext) == "books-token-1"
    assert decrypt_token(job.secret_ciphertext) == "typed password"
    settings.BRIDGE_TOKEN_KEYS = [NEW, OLD]
    assert _call("rotate_keys") == (
        "Re-encrypted 0 books token(s) and 0 queued sign-in password(s) with the first key; "
        "2 already used it.\n" + NO_DATA
    )


def test_rotate_keys_dry_run_writes_nothing(secrets, settings):
    conn, job = secrets
    settings.BRIDGE_TOKEN_KEYS = [NEW, OLD]
    assert _call("rotate_keys", "--dry-run") == (
        "Would re-encrypt 1 books token(s) and 1 queued sign-in password(s) with the first "
        "key; 0 already used it.\n"
        "Would re-encrypt 0 encrypted books value(s) with the first data key; 0 already used it.\n"
    )
    assert Connection.objects.get(pk=conn.pk).token_ciphertext == conn.token_ciphertext
    assert BooksJob.objects.get(pk=job.pk).secret_ciphertext == job.secret_ciphertext


def test_rotate_keys_names_a_firm_whose_token_no_key_reads_and_exits_1(secrets, settings):
    conn, _ = secrets
    settings.BRIDGE_TOKEN_KEYS = [NEW]  # the old key lost before rotating
    error, out = _refused("rotate_keys")
    assert error.returncode == 1
    assert str(error) == (
        "no key reads the books token of lopez-pi: re-authenticate the integration there"
    )
    assert out == (
        "Re-encrypted 0 books token(s) and 0 queued sign-in password(s) with the first key; "
        "0 already used it.\n" + NO_DATA
    )
    assert Connection.objects.get(pk=conn.pk).token_ciphertext == conn.token_ciphertext
