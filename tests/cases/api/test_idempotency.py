"""``Idempotency-Key`` on the cases API: replays write nothing, a reused key with another
body is refused, refusals are not stored, and racing twins create one cost."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from casebridge.cases.models import Cost, Deposit, IdempotencyRecord
from tests.cases.api.conftest import BASE, db_state, issue, refused
from tests.cases.conftest import cost_code


@pytest.fixture
def cost_body(cfirm, case, payee) -> dict:
    return {
        "case_id": case.pk,
        "payee_id": payee.pk,
        "amount": "125.50",
        "cost_code_id": cost_code(cfirm, "MEDREC").pk,
        "cost_date": "2026-03-02",
    }


def test_a_cost_create_replays_with_the_same_key_and_writes_nothing(api, cost_body):
    first = api.post("/costs", cost_body, key="cost-17")
    assert first.status == 201
    assert "Idempotent-Replayed" not in first.headers
    before = db_state()

    second = api.post("/costs", cost_body, key="cost-17")
    assert (second.status, second.body) == (201, first.body)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert db_state() == before
    assert Cost.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.scope, record.key, record.status_code) == ("POST /costs", "cost-17", 201)
    assert record.response_body == first.body


def test_a_cost_key_reused_with_another_body_is_refused_and_writes_nothing(api, cost_body):
    assert api.post("/costs", cost_body, key="cost-18").status == 201
    before = db_state()
    other = api.post("/costs", {**cost_body, "amount": "125.51"}, key="cost-18")
    refused(
        other,
        409,
        "idempotency_key_reused",
        "Idempotency-Key 'cost-18' was already used for a different request to this endpoint",
        field="Idempotency-Key",
    )
    assert db_state() == before
    assert Cost.objects.count() == 1


def test_a_refused_cost_is_not_stored_so_the_key_can_be_reused(api, cost_body):
    bad = api.post("/costs", {**cost_body, "amount": "0"}, key="cost-19")
    assert bad.status == 422
    assert IdempotencyRecord.objects.count() == 0
    good = api.post("/costs", cost_body, key="cost-19")
    assert good.status == 201
    assert Cost.objects.count() == 1


def test_a_deposit_replays_and_a_reused_key_is_refused(api, case, accepted_offer):
    body = {
        "offer_id": accepted_offer.pk,
        "amount": "100000.00",
        "check_number": "88123",
        "deposited_on": "2026-03-02",
    }
    url = f"/cases/{case.pk}/deposits"
    first = api.post(url, body, key="deposit-1")
    assert first.status == 201
    before = db_state()

    replay = api.post(url, body, key="deposit-1")
    assert (replay.status, replay.body) == (201, first.body)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert db_state() == before

    reused = api.post(url, {**body, "check_number": "88124"}, key="deposit-1")
    refused(reused, 409, "idempotency_key_reused", "Idempotency-Key 'deposit-1'")
    assert db_state() == before
    assert Deposit.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.scope == "POST /cases/{int:case_id}/deposits"

    second = api.post(url, {**body, "check_number": "88124"}, key="deposit-2")
    assert (second.status, second.body["check_number"]) == (201, "88124")
    assert Deposit.objects.count() == 2


def test_a_key_is_bound_to_the_record_in_the_path(api, cfirm, cadmin, case, payee, cost_body):
    one = api.post("/costs", cost_body).body["id"]
    two = api.post("/costs", cost_body).body["id"]
    assert api.post(f"/costs/{one}/void", {"reason": "dup"}, key="void-1").status == 200
    reused = api.post(f"/costs/{two}/void", {"reason": "dup"}, key="void-1")
    refused(reused, 409, "idempotency_key_reused", "Idempotency-Key 'void-1'")
    assert Cost.objects.get(pk=two).status == "open"


@pytest.mark.parametrize("key", ["", " ", "x" * 201, "tab\there"])
def test_a_bad_key_is_refused(api, cost_body, key):
    reply = api.post("/costs", cost_body, key=key)
    refused(reply, 422, "validation_error", "Idempotency-Key must be", field="Idempotency-Key")
    assert Cost.objects.count() == 0


def test_identical_cost_creates_racing_make_one_cost(live_server, cfirm, cadmin, cost_body):
    """Over real HTTP: the loser waits on the key's unique index, then replays."""
    token = issue(cfirm, cadmin)
    replies: list[tuple[int, dict, str | None]] = []
    start = threading.Barrier(4)

    def send() -> None:
        request = urllib.request.Request(  # noqa: S310 - the loopback live server
            live_server.url + BASE + "/costs",
            data=json.dumps(cost_body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": "racing",
            },
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
                replies.append(
                    (resp.status, json.loads(resp.read()), resp.headers.get("Idempotent-Replayed"))
                )
        except urllib.error.HTTPError as err:
            replies.append((err.code, json.loads(err.read()), None))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [r[0] for r in replies] == [201] * 4, replies
    assert all(r[1] == replies[0][1] for r in replies)
    assert sum(1 for r in replies if r[2] == "true") == 3
    assert Cost.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
