"""No screen and no API endpoint of the bridge calls the books inside the request (issue 10,
item 6; ADR 0008).

The connection is activated and a settlement delivered against the real books (the worker
read what the screens show), then its books address is pointed at a server that accepts
and never answers, recording every request. Every screen and endpoint that used to ask the
books (readiness, the check-status sync, the reconciliation, activation and pop-up 2,
re-authentication, the cost code mapping, the Send pop-ups, the fee invoice, the trust
balances, the withdrawal, the three-way reconciliation) answers, and the books get no call:
what needs them is queued for the worker. The cheap twin of
``tests/bridge/test_web_never_waits_on_the_books.py`` (gunicorn, one sync worker).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.bridge.client import BooksCallInWebRequest, web_request
from casebridge.bridge.models import (
    BooksJob,
    Connection,
    InvoiceRelease,
    OutboxItem,
    OutboxState,
    ReconciliationRun,
    RunState,
    SyncRun,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import jobs, outbox
from casebridge.cases.api.security import token_issue
from casebridge.cases.models import Case, CostCode
from casebridge.cases.services import cases as case_services
from tests.twofactor import cases_code

from ..conftest import INTEGRATION_EMAIL, PASSWORD, activate, add_cost
from ..hangingbooks import HangingBooks
from ..test_settlement_to_books import _settle_to_disbursement
from .conftest import HX, sign_in

API = "/cases/api/v1/integrations/books"


@pytest.fixture
def hanging(books, cases, settings) -> Iterator[HangingBooks]:
    """A connection the worker activated and read, a settlement delivered, a cost sent and
    one Open; then the books stop answering (and record what they get)."""
    activate(books, cases, release=InvoiceRelease.REVIEW)
    _settle_to_disbursement(books, cases)
    settings.BRIDGE_HTTP_TIMEOUT = 1.0  # a call that slipped through fails fast, not in 30 s
    with HangingBooks() as stub:
        Connection.objects.update(books_url=stub.books_url)
        yield stub


def _other_case(cases) -> Case:
    client = case_services.contact_create(firm=cases.firm, actor=cases.admin, name="Tom Reyes")
    return case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Reyes v. City Bus",
        client_id=client.pk,
        responsible_attorney_id=cases.attorney.pk,
        status="open",
    )


def _screens(cases) -> list[tuple[str, Callable[[Client], int]]]:
    case, other = cases.case, _other_case(cases)
    open_cost = add_cost(cases, 2_500, payee="Court Clerk", case=other)
    refused = add_cost(cases, 3_000, payee="Process Server", case=other)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[refused.pk])
    failed = OutboxItem.objects.get(cost=refused)
    OutboxItem.objects.filter(pk=failed.pk).update(state=OutboxState.FAILED)
    code = CostCode.objects.get(firm=cases.firm, code="E112")
    get = lambda url, **kw: lambda c: c.get(url, **kw).status_code  # noqa: E731
    post = lambda url, data=None, **kw: lambda c: c.post(url, data or {}, **kw).status_code  # noqa: E731
    return [
        ("the Integrations card", get(reverse("cases:settings_integrations"))),
        ("readiness", get(reverse("bridge:readiness"))),
        ("readiness: Run checks now", post(reverse("bridge:readiness"))),
        ("check-status sync (card)", post(reverse("bridge:sync"))),
        ("check-status sync (a cost)", post(reverse("bridge:cost_sync", args=[open_cost.pk]))),
        ("check-status sync (Client Trust)", post(reverse("bridge:settlement_sync"), **HX)),
        (
            "check-status sync (bulk)",
            post(reverse("cases:costs_bulk"), {"action": "sync_status", "cost": [open_cost.pk]}),
        ),
        ("reconciliation: run", post(reverse("bridge:reconciliation_run"))),
        ("reconciliation", get(reverse("bridge:reconciliation"))),
        (
            "pop-up 1: activate",
            post(
                reverse("bridge:activate"),
                {
                    "books_url": Connection.objects.get().books_url,
                    "books_firm_code": "lopez-pi",
                    "username": INTEGRATION_EMAIL,
                    "password": PASSWORD,
                },
                **HX,
            ),
        ),
        ("pop-up 2: defaults", get(reverse("bridge:defaults"), **HX)),
        (
            "pop-up 2: save",
            post(
                reverse("bridge:defaults"),
                {
                    "cost_posting_code": str(Connection.objects.get().cost_posting_code_id),
                    "operating_account": str(Connection.objects.get().operating_account_id),
                    "trust_account": str(Connection.objects.get().trust_account_id),
                    "invoice_release": InvoiceRelease.REVIEW,
                    "check_sync_hour": "2",
                },
                **HX,
            ),
        ),
        (
            "re-authenticate",
            post(reverse("bridge:reauthenticate"), {"password": PASSWORD}, **HX),
        ),
        ("cost code mapping", get(reverse("bridge:mapping_edit", args=[code.pk]), **HX)),
        ("Send pop-up", get(reverse("bridge:cost_send", args=[open_cost.pk]), **HX)),
        (
            "Send",
            post(
                reverse("bridge:cost_send", args=[open_cost.pk]),
                {"bank_account": str(Connection.objects.get().operating_account_id)},
                **HX,
            ),
        ),
        ("settlement tab (trust balance)", get(reverse("cases:case_settlement", args=[case.pk]))),
        (
            "Client Trust Management (trust balances)",
            get(reverse("cases:client_trust") + "?tab=to_be_disbursed"),
        ),
        ("fee invoice: plan", get(reverse("bridge:fee_invoice_create", args=[case.pk]), **HX)),
        ("fee invoice: create", post(reverse("bridge:fee_invoice_create", args=[case.pk]), **HX)),
        ("withdraw", post(reverse("bridge:item_withdraw", args=[failed.pk]), **HX)),
        (
            "three-way reconciliation",
            post(reverse("bridge:three_way"), {"statement_balance": "1,000.00"}),
        ),
    ]


def test_no_screen_calls_the_books_inside_its_request(books, cases, hanging):
    client = sign_in(Client(), cases.admin)
    answered = {label: ask(client) for label, ask in _screens(cases)}
    assert hanging.calls == []
    assert {label: status for label, status in answered.items() if status >= 500} == {}
    assert answered == {
        "the Integrations card": 200,
        "readiness": 200,
        "readiness: Run checks now": 302,
        "check-status sync (card)": 302,
        "check-status sync (a cost)": 302,
        "check-status sync (Client Trust)": 200,
        "check-status sync (bulk)": 302,
        "reconciliation: run": 302,
        "reconciliation": 200,
        "pop-up 1: activate": 200,
        "pop-up 2: defaults": 200,
        "pop-up 2: save": 200,
        "re-authenticate": 200,
        "cost code mapping": 200,
        "Send pop-up": 200,
        "Send": 200,
        "settlement tab (trust balance)": 200,
        "Client Trust Management (trust balances)": 200,
        "fee invoice: plan": 200,
        "fee invoice: create": 200,
        "withdraw": 200,
        "three-way reconciliation": 302,
    }
    # what needs the books waits for the worker
    assert SyncRun.objects.filter(state=RunState.QUEUED).count() == 4
    assert ReconciliationRun.objects.filter(state=RunState.QUEUED).count() == 1
    queued = BooksJob.objects.filter(state=RunState.QUEUED).values_list("kind", flat=True)
    assert sorted(queued) == [
        "sign_in",  # the re-authentication (it replaced the activation, still queued)
        "three_way",
        "withdraw",
    ]
    # ...and the stub does record a call when one is made: the worker's
    jobs.refresh(firm_id=cases.firm.pk)
    assert hanging.calls == ["GET /books/api/v1/auth/session HTTP/1.1"]


def _api(cases) -> tuple[Client, dict[str, str]]:
    token = token_issue(
        firm_code="lopez-pi",
        email=cases.admin.email,
        password=PASSWORD,
        totp=cases_code(cases.admin.email),
    ).token
    return Client(), {"Authorization": f"Bearer {token}"}


def test_no_api_endpoint_calls_the_books_inside_its_request(books, cases, hanging):
    client, headers = _api(cases)
    case = cases.case
    cost = add_cost(cases, 2_500, payee="Court Clerk", case=_other_case(cases))
    conn = Connection.objects.get()

    def post(path: str, body: dict[str, object] | None = None) -> tuple[int, object]:
        r = client.post(
            API + path, json.dumps(body or {}), content_type="application/json", headers=headers
        )
        return r.status_code, r.json()

    def get(path: str) -> tuple[int, object]:
        r = client.get(API + path, headers=headers)
        return r.status_code, r.json()

    answered = {
        "costs/send": post("/costs/send", {"cost_ids": [cost.pk]})[0],
        "readiness": get("/readiness")[0],
        "readiness/refresh": post("/readiness/refresh")[0],
        "check-status/sync": post("/check-status/sync")[0],
        "defaults": post(
            "/defaults",
            {
                "operating_account_id": conn.operating_account_id,
                "trust_account_id": conn.trust_account_id,
                "invoice_release": "review",
            },
        )[0],
        "fee-invoice/plan": get(f"/cases/{case.pk}/fee-invoice/plan")[0],
        "fee-invoice": post(f"/cases/{case.pk}/fee-invoice")[0],
        "activate": post(
            "/activate",
            {
                "books_url": conn.books_url,
                "books_firm_code": "lopez-pi",
                "username": INTEGRATION_EMAIL,
                "password": PASSWORD,
            },
        )[0],
        "reauthenticate": post("/reauthenticate", {"password": PASSWORD})[0],
        "connection": get("/connection")[0],
    }
    assert hanging.calls == []
    assert answered == {
        "costs/send": 200,
        "readiness": 200,
        "readiness/refresh": 202,
        "check-status/sync": 202,
        "defaults": 200,
        "fee-invoice/plan": 200,
        "fee-invoice": 201,
        "activate": 202,
        "reauthenticate": 202,
        "connection": 200,
    }


def test_a_books_call_from_inside_a_web_request_is_refused(books, cases, connected):
    """The guard behind it all: opening a client to the books while serving a request is a
    bug, refused before any byte leaves (the worker's tasks run outside it)."""
    with web_request(), pytest.raises(BooksCallInWebRequest):
        conn_services.client_for(connected)
    with web_request(), pytest.raises(BooksCallInWebRequest):
        conn_services.anonymous_client(connected.books_url)
    conn_services.client_for(connected).close()  # the worker may
