"""The integration user's token may make exactly the bridge's requests (issue 13).

The allow-list is derived from the bridge's own client here: every method of the
``BooksClient`` protocol is called through ``HttpBooksClient`` against these books (in
process), and each request it makes is recorded. The test fails if the client gains a
method this table does not call, if a call the bridge makes is refused
``integration_not_allowed``, or if the allow-list names a route the bridge never uses.
Every other operation of the books API is 403 for the integration token, and fine for an
administrator's."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from django.urls import resolve

from casebridge.books.api.integration import INTEGRATION_ROUTES
from casebridge.books.api.router import api as books_api
from casebridge.books.models import Check, IdempotencyRecord, TrustReceipt
from casebridge.bridge.client import (
    BooksClient,
    BooksRejected,
    CheckRequest,
    FileRequest,
    HttpBooksClient,
    InvoiceLineRequest,
    InvoiceRequest,
    ReceiptRequest,
)
from casebridge.core import clock
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.ledger_helpers import snapshot
from tests.bridge.conftest import INTEGRATION_EMAIL, PASSWORD, books_firm_seeded

pytestmark = pytest.mark.django_db

BASE = "/books/api/v1"
URL = "http://127.0.0.1" + BASE  # loopback: the allow-list lets the tests reach it


class DjangoTransport(httpx.BaseTransport):
    """httpx requests answered by Django's test client (same process and transaction);
    records ``METHOD /route/template`` and the answer of each."""

    def __init__(self) -> None:
        self.client = Client()
        self.seen: list[tuple[str, int, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # the bridge's pinned transport hands the body on as a stream
        target = request.url.raw_path.decode()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"host", "content-length", "content-type"}
        }
        response = self.client.generic(
            request.method,
            target,
            data=request.content,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            headers=headers,
        )
        route = resolve(urlsplit(target).path).route
        template = "/" + re.sub(r"<([^>]+)>", r"{\1}", route.split("api/v1/", 1)[1])
        body = json.loads(response.content) if response.content else None
        self.seen.append((f"{request.method} {template}", response.status_code, body))
        return httpx.Response(
            response.status_code, headers=dict(response.headers), content=response.content
        )


def protocol_methods() -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(BooksClient, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.fixture
def books() -> dict[str, Any]:
    return books_firm_seeded()


def bridge_calls(books: dict[str, Any]) -> dict[str, Callable[[HttpBooksClient], Any]]:
    """One call of every client method, with arguments the seeded books accept."""
    trust, operating = books["trust"], books["operating"]
    today = clock.today()
    made: dict[str, Any] = {}

    def files(c: HttpBooksClient) -> Any:
        made["file"] = c.files_find_or_create(
            [FileRequest("cases-case-1", "Lopez v. Acme", "cases-client-1", "Maria Lopez")],
            idempotency_key="f-1",
        )[0]
        return made["file"]

    def receipt(c: HttpBooksClient) -> Any:
        """Two deposits: the first funds the checks and the invoice, the second is voided."""
        made["receipts"] = [
            c.trust_receipt_record(
                ReceiptRequest(f"cases-deposit-{k}", trust.pk, made["file"].id, "Acme", 100_000),
                idempotency_key=f"r-{k}",
            )
            for k in (1, 2)
        ]
        return made["receipts"]

    def check_request(c: HttpBooksClient) -> Any:
        made["checks"] = c.checks_request(
            [
                CheckRequest(
                    f"cases-trust-item-{k}", trust.pk, "Maria Lopez", 1_000, made["file"].id, None
                )
                for k in (1, 2)
            ],
            idempotency_key="c-1",
        )
        return made["checks"]

    def invoice(c: HttpBooksClient) -> Any:
        made["invoice"] = c.invoice_create(
            InvoiceRequest(
                external_ref="cases-fee-1",
                file_id=made["file"].id,
                lines=(
                    InvoiceLineRequest(
                        "fee", "Contingency fee", 5_000, timekeeper_id=books["attorney"].pk
                    ),
                ),
                trust_bank_account_id=trust.pk,
                operating_bank_account_id=operating.pk,
                release="auto",
            ),
            idempotency_key="i-1",
        )
        return made["invoice"]

    return {
        "session_get": lambda c: c.session_get(),
        "users": lambda c: c.users(),
        "features": lambda c: c.features(),
        "areas_of_practice": lambda c: c.areas_of_practice(),
        "activity_codes": lambda c: c.activity_codes(),
        "bank_accounts": lambda c: c.bank_accounts(),
        "files_find_or_create": files,
        "trust_receipt_record": receipt,
        "trust_receipts_record": lambda c: c.trust_receipts_record(
            [
                ReceiptRequest(f"cases-deposit-{k}", trust.pk, made["file"].id, "Acme", 50_000)
                for k in (3, 4)
            ],
            idempotency_key="rb-1",
        ),
        "checks_request": check_request,
        "checks_get": lambda c: c.checks_get([ch.id for ch in made["checks"]]),
        "checks_by_external_ref": lambda c: c.checks_by_external_ref("cases-trust-item-1"),
        "check_print": lambda c: c.check_print(made["checks"][0].id, idempotency_key="p-1"),
        "check_void": lambda c: c.check_void(
            made["checks"][1].id, reason="cost voided", idempotency_key="v-1"
        ),
        "invoice_create": invoice,
        "invoices_create": lambda c: c.invoices_create(
            [
                InvoiceRequest(
                    external_ref="cases-fee-2",
                    file_id=made["file"].id,
                    lines=(
                        InvoiceLineRequest(
                            "fee", "Contingency fee", 5_000, timekeeper_id=books["attorney"].pk
                        ),
                    ),
                    trust_bank_account_id=trust.pk,
                    operating_bank_account_id=operating.pk,
                    release="auto",
                )
            ],
            idempotency_key="ib-1",
        ),
        "invoices_by_external_ref": lambda c: c.invoices_by_external_ref("cases-fee-1"),
        "invoice_get": lambda c: c.invoice_get(made["invoice"].id),
        "trust_receipts_by_external_ref": lambda c: c.trust_receipts_by_external_ref(
            "cases-deposit-1"
        ),
        "trust_balances": lambda c: c.trust_balances(trust.pk, [made["file"].id]),
        "all_trust_balances": lambda c: c.all_trust_balances(trust.pk),
        "external_documents": lambda c: c.external_documents("check", "cases-"),
        "external_digests": lambda c: c.external_digests(trust.pk, "cases-"),
        "external_documents_of_files": lambda c: c.external_documents_of_files(
            "check", "cases-", [made["file"].id], no_file=True
        ),
        "three_way": lambda c: c.three_way(trust.pk, statement_cents=0, as_of=today),
        "trust_receipt_void": lambda c: c.trust_receipt_void(
            made["receipts"][1].id, reason="bounced", idempotency_key="rv-1"
        ),
        "close": lambda c: c.close(),
    }


def test_every_request_the_bridge_makes_is_allowed_and_nothing_else_is_listed(books):
    transport = DjangoTransport()
    signed_in = HttpBooksClient(URL, transport=transport).session_create(
        firm_code="lopez-pi", username=INTEGRATION_EMAIL, password=PASSWORD
    )
    client = HttpBooksClient(URL, token=signed_in.token, transport=transport)
    calls = bridge_calls(books)
    # "session_create" was the sign-in above
    assert set(calls) | {"session_create"} == protocol_methods(), (
        "the bridge's client has a method this test does not call: add it to bridge_calls "
        "and, if it requests a new route, to INTEGRATION_ROUTES"
    )
    rejected = []
    for name, call in calls.items():
        try:
            call(client)
        except BooksRejected as exc:
            rejected.append((name, exc.code, str(exc)))
    assert rejected == []
    refused = [(route, body) for route, status, body in transport.seen if status == 403]
    assert refused == []
    used = {route for route, _status, _body in transport.seen}
    assert used == INTEGRATION_ROUTES
    assert Check.objects.get(external_ref="cases-trust-item-2").status == "voided"
    assert TrustReceipt.objects.get(external_ref="cases-deposit-2").status == "voided"


def _operations() -> list[tuple[str, str, bool]]:
    """(method, route template with converters, needs a token) of every operation of the
    books API, from its own routers (what the code declares)."""
    schema = books_api.get_openapi_schema()
    out = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            out.append((method.upper(), path.removeprefix(BASE), bool(operation.get("security"))))
    return out


def _template(route: str) -> str:
    """``/checks/{int:check_id}/void`` -> ``/checks/{check_id}/void`` (OpenAPI's form)."""
    return re.sub(r"\{\w+:(\w+)\}", r"{\1}", route.split(" ", 1)[1])


def test_the_allow_list_names_only_real_operations():
    operations = {f"{m} {p}" for m, p, _auth in _operations()}
    for route in INTEGRATION_ROUTES:
        method = route.split(" ", 1)[0]
        assert f"{method} {_template(route)}" in operations, route


def test_the_integration_token_is_refused_everything_else(client, books):
    integration = ApiClient(client, issue_token("lopez-pi", INTEGRATION_EMAIL))
    admin = ApiClient(client, issue_token("lopez-pi", books["admin"].email))
    allowed = {f"{r.split(' ', 1)[0]} {_template(r)}" for r in INTEGRATION_ROUTES}
    others = [
        (m, p) for m, p, needs_token in _operations() if needs_token and f"{m} {p}" not in allowed
    ]
    assert len(others) >= 40  # the books API's other operations (journal, banking, ...)
    before = snapshot()
    records = IdempotencyRecord.objects.count()
    for method, path in others:
        concrete = re.sub(r"\{\w+\}", "1", path)
        response = integration.client.generic(
            method,
            BASE + concrete,
            data="{}",
            content_type="application/json",
            headers={"Authorization": f"Bearer {integration.token}"},
        )
        assert response.status_code == 403, (method, path, response.content)
        assert json.loads(response.content) == {
            "error": {
                "code": "integration_not_allowed",
                "message": "the integration user's token may make only the requests the "
                f"bridge makes; {method} {_route_of(method, path)} is not one of them",
            }
        }
    assert snapshot() == before
    assert IdempotencyRecord.objects.count() == records
    # the same operations are open to an administrator's token (here: one read)
    assert admin.get("/journal-entries").status == 200
    assert integration.get("/journal-entries").status == 403


def _route_of(method: str, openapi_path: str) -> str:
    """The route template (with converters) the refusal names, from the URLconf."""
    concrete = re.sub(r"\{\w+\}", "1", openapi_path)
    route = resolve(BASE + concrete).route
    return "/" + re.sub(r"<([^>]+)>", r"{\1}", route.split("api/v1/", 1)[1])
