"""The bridge's API (/cases/api/v1/integrations/books/), with a cases bearer token; the books
answer on a real port."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from huey.contrib.djhuey import HUEY

from casebridge.books.models import Check
from casebridge.bridge.models import Connection, OutboxItem
from casebridge.cases.api.security import token_issue
from casebridge.cases.models import CostStatus

from .conftest import INTEGRATION_EMAIL, PASSWORD, add_cost

BASE = "/cases/api/v1/integrations/books"


class Api:
    def __init__(self, email: str) -> None:
        self.client = Client()
        self.headers = {
            "Authorization": "Bearer "
            + token_issue(firm_code="lopez-pi", email=email, password=PASSWORD).token
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


def _activate(api: Api, books) -> None:
    status, body = api.post(
        "/activate",
        {
            "books_url": books.url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
    )
    assert (status, body["status"]) == (200, "Needs defaults")
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


def test_an_administrator_activates_checks_readiness_and_sends_through_the_api(books, cases):
    api = Api(cases.admin.email)
    _activate(api, books)
    status, body = api.get("/readiness")
    assert status == 200
    assert body["ok"] is True
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
    assert (status, body) == (200, {"count": 2, "total": "35.50"})
    assert sorted(Check.objects.values_list("amount_cents", flat=True)) == [1_000, 2_550]
    status, body = api.get("/queue?state=sent")
    assert (status, body["count"], body["counts"]["sent"]) == (200, 2, 2)
    for cost in costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PENDING


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
    assert status == 422
    assert (body["error"]["code"], body["error"]["field"]) == ("invalid_credentials", "password")
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
