"""``Idempotency-Key`` on the bridge's API, exactly as on the books' and the cases side's
(ADR 0004; issue 10, item 10): a repeat replays the stored answer and writes nothing, the
same key with another body is refused, and the header is in the OpenAPI schema."""

from __future__ import annotations

import json

from django.test import Client

from casebridge.bridge.models import BooksJob, OutboxItem, SyncRun
from casebridge.cases.api.security import token_issue
from casebridge.cases.models import CostStatus, IdempotencyRecord
from tests.twofactor import cases_code

from .conftest import INTEGRATION_EMAIL, PASSWORD, add_cost, work
from .test_api import BASE


class KeyedApi:
    def __init__(self, email: str) -> None:
        self.client = Client()
        self.auth = (
            "Bearer "
            + token_issue(
                firm_code="lopez-pi", email=email, password=PASSWORD, totp=cases_code(email)
            ).token
        )

    def post(self, path, body, key):
        return self.client.post(
            BASE + path,
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": self.auth, "Idempotency-Key": key},
        )


def test_every_bridge_post_lists_the_idempotency_key_in_openapi(cases):
    api = KeyedApi(cases.admin.email)
    schema = api.client.get(f"{BASE}/openapi.json", headers={"Authorization": api.auth}).json()
    posts = {
        path: [p["name"] for p in ops["post"].get("parameters", []) if p["in"] == "header"]
        for path, ops in schema["paths"].items()
        if "post" in ops
    }
    assert len(posts) == 12  # with the reconciliation run and its fix (issue 14)
    assert {
        path: headers for path, headers in posts.items() if headers != ["Idempotency-Key"]
    } == {}


def test_a_send_replayed_with_its_key_answers_as_the_first_and_writes_nothing(
    books, cases, connected
):
    api = KeyedApi(cases.admin.email)
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_550)]
    body = {"cost_ids": [c.pk for c in costs]}
    first = api.post("/costs/send", body, "send-1")
    assert (first.status_code, first.json()) == (
        200,
        {"count": 2, "total": "35.50", "not_sent": 0, "problem": ""},
    )
    again = api.post("/costs/send", body, "send-1")
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (
        200,
        {"count": 2, "total": "35.50", "not_sent": 0, "problem": ""},
        "true",
    )
    assert OutboxItem.objects.count() == 2
    assert IdempotencyRecord.objects.get().scope == "bridge POST /costs/send"
    # the same key for another send is refused, nothing sent
    third = add_cost(cases, 700)
    reused = api.post("/costs/send", {"cost_ids": [third.pk]}, "send-1")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    third.refresh_from_db()
    assert third.status == CostStatus.OPEN
    assert OutboxItem.objects.count() == 2


def test_a_sync_replayed_with_its_key_queues_one_run(books, cases, connected):
    api = KeyedApi(cases.admin.email)
    first = api.post("/check-status/sync", {}, "sync-1")
    again = api.post("/check-status/sync", {}, "sync-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert SyncRun.objects.count() == 1


def test_a_sign_in_replayed_with_its_key_queues_one_and_keeps_no_trace_of_the_password(
    books, cases
):
    api = KeyedApi(cases.admin.email)
    body = {
        "books_url": books.url,
        "books_firm_code": "lopez-pi",
        "username": INTEGRATION_EMAIL,
        "password": PASSWORD,
    }
    first = api.post("/activate", body, "sign-in-1")
    again = api.post("/activate", body, "sign-in-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (
        202,
        202,
        "true",
    )
    assert BooksJob.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert PASSWORD not in json.dumps(record.response_body)
    # the hash leaves the password out: the same key with only another password replays
    other = api.post("/activate", {**body, "password": "another one"}, "sign-in-1")
    assert (other.status_code, other["Idempotent-Replayed"]) == (202, "true")
    assert BooksJob.objects.count() == 1
    work(cases.firm.pk)
    assert api.client.get(f"{BASE}/connection", headers={"Authorization": api.auth}).json()[
        "status"
    ] == ("Needs defaults")
