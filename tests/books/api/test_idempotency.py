"""``Idempotency-Key``: replays, mismatches, refusals, and racing twins, over real HTTP."""

from __future__ import annotations

import threading

import pytest

from casebridge.books.models import (
    ActivityCode,
    Check,
    GLAccount,
    IdempotencyRecord,
    JournalEntry,
    Posting,
)
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import issue_token, row_counts


@pytest.fixture
def authed(live, admin):
    live.token = issue_token("smith-pi", admin.email)
    return live


@pytest.fixture
def cost(firm, operating, client_file):
    code = ActivityCode.objects.get(firm=firm, code="E101")
    return {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "125.50",
        "file_id": client_file.pk,
        "activity_code_id": code.pk,
        "memo": "Medical records",
        "request_date": "2026-03-02",
        "external_ref": "cost-17",
    }


def test_a_repeat_with_the_same_key_and_body_replays_and_writes_nothing(authed, cost):
    first = authed.post("/checks", cost, key="cost-17-send-1")
    assert first.status == 201
    assert "Idempotent-Replayed" not in first.headers
    before = row_counts()

    second = authed.post("/checks", cost, key="cost-17-send-1")
    assert second.status == 201
    assert second.body == first.body
    assert second.headers["Idempotent-Replayed"] == "true"
    assert row_counts() == before
    assert Check.objects.count() == 1
    assert Posting.objects.filter(entry__source="check").count() == 2

    record = IdempotencyRecord.objects.get()
    assert (record.scope, record.key, record.status_code) == (
        "POST /checks",
        "cost-17-send-1",
        201,
    )
    assert record.response_body == first.body
    assert len(record.request_hash) == 64


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(authed, cost):
    assert authed.post("/checks", cost, key="k-1").status == 201
    before = row_counts()

    other = authed.post("/checks", {**cost, "amount": "125.51"}, key="k-1")
    assert other.status == 409
    assert other.error["code"] == "idempotency_key_reused"
    assert other.error["field"] == "Idempotency-Key"
    assert row_counts() == before
    assert Check.objects.count() == 1


def test_a_key_is_bound_to_the_record_in_the_path(authed, firm, admin, cost):
    one = authed.post("/checks", cost).body["id"]
    two = authed.post("/checks", {**cost, "external_ref": "cost-18"}).body["id"]
    assert authed.post(f"/checks/{one}/void", {"reason": "dup"}, key="void-1").status == 200
    reused = authed.post(f"/checks/{two}/void", {"reason": "dup"}, key="void-1")
    assert (reused.status, reused.error["code"]) == (409, "idempotency_key_reused")
    assert Check.objects.get(pk=two).status == "queued"


def test_without_a_key_each_request_creates(authed, cost):
    """Without an Idempotency-Key (and without an external_ref to be found by), a repeat
    is a new check."""
    no_ref = {**cost, "external_ref": None}
    assert authed.post("/checks", no_ref).status == 201
    assert authed.post("/checks", no_ref).status == 201
    assert Check.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


def test_without_a_key_the_external_ref_finds_the_check(authed, cost):
    first = authed.post("/checks", cost)
    again = authed.post("/checks", cost)
    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    assert "Idempotent-Replayed" not in again.headers
    assert Check.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 0


def test_a_refusal_is_not_stored_so_the_corrected_request_can_reuse_the_key(
    authed, cost, trust, funded_file
):
    overdraw = {
        "bank_account_id": trust.pk,
        "payee": "Maria Lopez",
        "amount": "1000.01",
        "file_id": funded_file.pk,
        "request_date": "2026-03-03",
    }
    refused = authed.post("/checks", overdraw, key="client-check")
    assert (refused.status, refused.error["code"]) == (409, "insufficient_trust_funds")
    assert IdempotencyRecord.objects.count() == 0

    fixed = authed.post("/checks", {**overdraw, "amount": "1000.00"}, key="client-check")
    assert fixed.status == 201
    assert fixed.body["amount"] == "1000.00"
    replay = authed.post("/checks", {**overdraw, "amount": "1000.00"}, key="client-check")
    assert (replay.status, replay.body) == (201, fixed.body)
    assert Check.objects.count() == 1


def test_a_bad_key_is_refused(authed, cost):
    reply = authed.post("/checks", cost, key="x" * 201)
    assert (reply.status, reply.error["field"]) == (422, "Idempotency-Key")
    assert Check.objects.count() == 0


def test_find_or_create_and_batches_replay_their_first_status(authed, firm, operating):
    contact = {"name": "Maria Lopez", "external_ref": "client-9"}
    created = authed.post("/contacts", contact, key="c-9")
    assert created.status == 201
    found = authed.post("/contacts", contact)  # no key: found by external_ref
    assert (found.status, found.body) == (200, created.body)
    replay = authed.post("/contacts", contact, key="c-9")
    assert (replay.status, replay.body) == (201, created.body)

    cash = operating.gl_account_id
    income = GLAccount.objects.get(firm=firm, number="4000").pk
    batch = {
        "entries": [
            {
                "date": "2026-03-05",
                "memo": f"fee {n}",
                "source": "bridge",
                "idempotency_key": f"fee-{n}",
                "lines": [
                    {"account_id": cash, "debit": "10.00"},
                    {"account_id": income, "credit": "10.00"},
                ],
            }
            for n in range(3)
        ]
    }
    posted = authed.post("/journal-entries/batch", batch, key="batch-1")
    assert posted.status == 201
    assert posted.body["created"] == 3
    audit_rows = AuditEvent.objects.count()
    again = authed.post("/journal-entries/batch", batch, key="batch-1")
    assert (again.status, again.body) == (201, posted.body)
    assert JournalEntry.objects.filter(source="bridge").count() == 3
    assert AuditEvent.objects.count() == audit_rows


def test_identical_requests_racing_create_one_check(authed, cost):
    """Both arrive at once: the loser waits on the key's unique index, then replays."""
    replies = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait()
        replies.append(authed.post("/checks", cost, key="racing-key"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [r.status for r in replies] == [201, 201, 201, 201]
    assert all(r.body == replies[0].body for r in replies)
    assert sum(1 for r in replies if r.headers.get("Idempotent-Replayed") == "true") == 3
    assert Check.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
