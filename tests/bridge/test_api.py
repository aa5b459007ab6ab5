"""The bridge's API (/cases/api/v1/integrations/books/), with a cases bearer token; the books
answer on a real port."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.test import Client
from huey.contrib.djhuey import HUEY

from casebridge.books.models import Check
from casebridge.books.services import checks as books_checks
from casebridge.bridge.models import Connection, OutboxItem
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.api.security import token_issue
from casebridge.cases.models import CostStatus
from tests.twofactor import cases_code

from .conftest import INTEGRATION_EMAIL, PASSWORD, add_cost, work

BASE = "/cases/api/v1/integrations/books"


class Api:
    def __init__(self, email: str) -> None:
        self.client = Client()
        self.headers = {
            "Authorization": "Bearer "
            + token_issue(
                firm_code="lopez-pi", email=email, password=PASSWORD, totp=cases_code(email)
            ).token
        }

    def get(self, path: str) -> tuple[int, Any]:
        response = self.client.get(BASE + path, headers=self.headers)
        return response.status_code, response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = self.client.post(
            BASE + path,
            json.dumps(body or {}),
            content_type="application/json",
            headers=self.headers,
        )
        return response.status_code, response.json()


def _activate(api: Api, books, cases) -> None:
    status, body = api.post(
        "/activate",
        {
            "books_url": books.url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
    )
    # queued for the worker: answered at once, the sign-in pending
    assert (status, body["status"], body["sign_in"]["state"]) == (202, "Not connected", "queued")
    assert (body["sign_in"]["purpose"], body["sign_in"]["username"]) == (
        "activate",
        INTEGRATION_EMAIL,
    )
    work(cases.firm.pk)
    status, body = api.get("/connection")
    assert (status, body["status"], body["sign_in"]["state"]) == (200, "Needs defaults", "done")
    assert body["books_read_at"] is not None  # pop-up 2's accounts, read by the worker
    status, body = api.post(
        "/defaults",
        {
            "operating_account_id": books.operating.pk,
            "trust_account_id": books.trust.pk,
            "invoice_release": "automatic",
        },
    )
    assert (status, body["status"], body["invoice_release"]) == (200, "Connected", "automatic")
    # no cost posting reference given: the suggested one (UTBMS E124 Other, an advance code)
    assert body["cost_posting_code_label"] == "E124 Other -> GL 1300 Advanced Client Costs"
    work(cases.firm.pk)  # the readiness of the accounts chosen


def test_an_administrator_activates_checks_readiness_and_sends_through_the_api(books, cases):
    api = Api(cases.admin.email)
    _activate(api, books, cases)
    status, body = api.get("/readiness")
    assert status == 200
    assert (body["ok"], body["live"], body["refreshing"]) == (True, True, False)
    conn = Connection.objects.get(firm=cases.firm)
    read = conn.readiness_checked_at
    assert read is not None
    assert dt.datetime.fromisoformat(body["checked_at"]) == read.replace(
        microsecond=read.microsecond // 1000 * 1000  # the API gives milliseconds
    )
    assert isinstance(body["age_seconds"], int)
    assert body["age_seconds"] >= 0
    assert [c["key"] for c in body["checks"]] == [
        "integration_user",
        "token",
        "attorney_emails",
        "records_time",
        "release_stage",
        "personal_injury",
        "copp_code",
        "property_damage_code",
        "cost_posting",
        "cost_mappings",
        "operating_account",
        "trust_account",
    ]
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_550)]
    HUEY.immediate = True  # the real task engine, run in-process: delivery when the send commits
    try:
        status, body = api.post("/costs/send", {"cost_ids": [c.pk for c in costs]})
    finally:
        HUEY.immediate = False
    assert (status, body) == (200, {"count": 2, "total": "35.50", "not_sent": 0, "problem": ""})
    assert sorted(Check.objects.values_list("amount_cents", flat=True)) == [1_000, 2_550]
    status, body = api.get("/queue?state=sent")
    assert (status, len(body["items"]), body["next"], body["counts"]["sent"]) == (200, 2, None, 2)
    for cost in costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PENDING


def test_readiness_is_run_again_by_the_worker_when_asked(books, cases, connected):
    from casebridge.books.models import AreaOfPractice

    api = Api(cases.admin.email)
    status, before = api.get("/readiness")
    assert (status, before["ok"], before["refreshing"]) == (200, True, False)
    AreaOfPractice.objects.filter(firm=books.firm).update(name="WC", description="Workers comp")
    status, body = api.post("/readiness/refresh")
    # at once, the last report, and the worker asked to check again
    assert (status, body["ok"], body["refreshing"]) == (202, True, True)
    assert body["checked_at"] == before["checked_at"]
    work(cases.firm.pk)
    status, body = api.get("/readiness")
    assert (status, body["ok"], body["refreshing"]) == (200, False, False)
    [failing] = [c for c in body["checks"] if not c["ok"]]
    assert (failing["key"], failing["detail"]) == ("personal_injury", "Not found.")


def test_a_check_status_sync_is_a_run_to_poll(books, cases, connected):
    api = Api(cases.admin.email)
    cost = add_cost(cases, 1_000)
    api.post("/costs/send", {"cost_ids": [cost.pk]})
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get()
    books_checks.check_print(
        firm=books.firm, actor=books.admin, check_id=check.pk, check_number=4101
    )
    status, body = api.post("/check-status/sync", {"cost_ids": [cost.pk]})
    assert (status, body["state"], body["checked"], body["finished_at"]) == (
        202,
        "queued",
        0,
        None,
    )
    run_id = body["id"]
    status, body = api.get(f"/check-status/sync/{run_id}")
    assert (status, body["state"]) == (200, "queued")
    work(cases.firm.pk)
    status, body = api.get(f"/check-status/sync/{run_id}")
    assert (status, body["state"], body["checked"], body["paid"], body["error"]) == (
        200,
        "done",
        1,
        1,
        "",
    )
    cost.refresh_from_db()
    assert (cost.status, cost.payment_reference) == (CostStatus.PAID, "4101")
    status, body = api.get("/check-status/sync/999999")
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_someone_without_settings_access_is_refused_with_the_reason(books, cases):
    api = Api(cases.paralegal.email)
    status, body = api.post(
        "/activate",
        {
            "books_url": books.url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
    )
    assert status == 403
    assert body["error"]["code"] == "permission_denied"
    assert (
        "Administration settings" in body["error"]["message"]
        or "administration settings" in body["error"]["message"]
    )
    assert not Connection.objects.exists()


def test_a_wrong_password_is_a_422_naming_the_field(books, cases):
    api = Api(cases.admin.email)
    status, body = api.post(
        "/activate",
        {
            "books_url": books.url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": "nope",
        },
    )
    assert (status, body["sign_in"]["state"]) == (202, "queued")
    work(cases.firm.pk)
    status, body = api.get("/connection")
    assert (status, body["status"]) == (200, "Not connected")
    sign_in = body["sign_in"]
    assert (sign_in["state"], sign_in["error_code"], sign_in["error_field"]) == (
        "failed",
        "invalid_credentials",
        "password",
    )
    assert "or the password is not right" in sign_in["error_message"]
    assert not Connection.objects.exists()


def test_sending_before_activation_is_a_409(books, cases):
    api = Api(cases.admin.email)
    cost = add_cost(cases, 1_000)
    status, body = api.post("/costs/send", {"cost_ids": [cost.pk]})
    assert (status, body["error"]["code"]) == (409, "integration_not_connected")
    assert not OutboxItem.objects.exists()


def test_junk_is_a_422_not_a_500(books, cases):
    api = Api(cases.admin.email)
    for path, body in [
        ("/costs/send", {"cost_ids": []}),
        ("/costs/send", {"cost_ids": ["x"]}),
        ("/activate", {"books_url": "", "books_firm_code": "x", "username": "u", "password": "p"}),
        (
            "/defaults",
            {"operating_account_id": -1, "trust_account_id": 1, "invoice_release": "maybe"},
        ),
        ("/queue/retry", {"item_ids": [0]}),
    ]:
        status, answer = api.post(path, body)
        assert status == 422, (path, answer)
        assert "error" in answer
