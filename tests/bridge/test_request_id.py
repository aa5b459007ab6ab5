"""The request id follows a send from the web request to the books: kept on the outbox
items the request queued, logged by the worker when it delivers them, and sent to the
books as X-Request-ID (their own log lines carry it)."""

from __future__ import annotations

import json
import logging
import re

from django.test import Client

from casebridge.bridge.models import DeliveryLatency, OutboxItem, OutboxKind, OutboxState
from casebridge.bridge.services import outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.api.security import token_issue
from casebridge.cases.services import costs as cost_services
from casebridge.core.logs import request_id_bound
from tests.twofactor import cases_code

from .conftest import PASSWORD, add_cost

HEX32 = re.compile(r"[0-9a-f]{32}")


def _books_lines(caplog, path_end: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "casebridge.request" and getattr(r, "path", "").endswith(path_end)
    ]


def _delivery_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "casebridge.bridge.services.delivery"]


def test_the_send_request_id_reaches_the_item_the_worker_log_and_the_books(
    books, cases, connected, caplog
):
    costs = [add_cost(cases, 12_500), add_cost(cases, 4_000)]
    client = Client()
    token = token_issue(
        firm_code="lopez-pi",
        email="admin@lopez.test",
        password=PASSWORD,
        totp=cases_code("admin@lopez.test"),  # an administrator signs in with a code
    ).token
    response = client.post(
        "/cases/api/v1/integrations/books/costs/send",
        json.dumps({"cost_ids": [c.pk for c in costs]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "send-req-42"},
    )
    assert (response.status_code, response["X-Request-ID"]) == (200, "send-req-42")
    items = list(OutboxItem.objects.order_by("pk"))
    assert [(i.kind, i.request_id) for i in items] == [(OutboxKind.COST_SEND, "send-req-42")] * 2

    caplog.set_level(logging.INFO)
    report = outbox_deliver(firm_id=cases.firm.pk)
    assert report.sent == 2
    [line] = _delivery_lines(caplog)
    assert line.request_id == "send-req-42"
    assert line.getMessage() == f"outbox cost_send sent: #{items[0].pk}, #{items[1].pk}"
    assert (line.outbox_items, line.books_request_id) == ([items[0].pk, items[1].pk], "send-req-42")
    # the books served the batch under the same id
    [books_line] = _books_lines(caplog, "/checks/batch")
    assert (books_line.request_id, books_line.status) == ("send-req-42", 201)


def test_items_of_several_requests_in_one_batch_name_the_books_request_id(
    books, cases, connected, caplog
):
    first, second = add_cost(cases, 1_000), add_cost(cases, 2_000)
    with request_id_bound("req-one"):
        outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[first.pk])
    with request_id_bound("req-two"):
        outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[second.pk])
    one, two = OutboxItem.objects.order_by("pk")
    assert (one.request_id, two.request_id) == ("req-one", "req-two")

    caplog.set_level(logging.INFO)
    assert outbox_deliver(firm_id=cases.firm.pk).sent == 2
    lines = _delivery_lines(caplog)
    assert [(r.request_id, r.outbox_items) for r in lines] == [
        ("req-one", [one.pk]),
        ("req-two", [two.pk]),
    ]
    batch_id = lines[0].books_request_id
    assert HEX32.fullmatch(batch_id)
    assert lines[1].books_request_id == batch_id
    [books_line] = _books_lines(caplog, "/checks/batch")
    assert books_line.request_id == batch_id


def test_an_item_queued_outside_a_request_has_no_id_and_is_delivered_under_a_new_one(
    books, cases, connected, caplog
):
    cost = add_cost(cases, 3_000)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    item = OutboxItem.objects.get()
    assert item.request_id == ""
    caplog.set_level(logging.INFO)
    outbox_deliver(firm_id=cases.firm.pk)
    [line] = _delivery_lines(caplog)
    assert HEX32.fullmatch(line.request_id)
    assert line.books_request_id == line.request_id


def test_a_void_is_delivered_and_logged_under_the_request_that_voided_the_cost(
    books, cases, connected, caplog
):
    cost = add_cost(cases, 3_000)
    with request_id_bound("req-void"):
        outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    with request_id_bound("req-void-2"):
        cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk)
    void = OutboxItem.objects.get(kind=OutboxKind.COST_VOID)
    assert void.request_id == "req-void-2"
    caplog.set_level(logging.INFO)
    caplog.clear()
    outbox_deliver(firm_id=cases.firm.pk)
    void.refresh_from_db()
    assert void.state == OutboxState.SENT
    [line] = _delivery_lines(caplog)
    assert (line.request_id, line.getMessage()) == (
        "req-void-2",
        f"outbox cost_void sent: #{void.pk}",
    )
    [books_line] = _books_lines(caplog, "/void")
    assert books_line.request_id == "req-void-2"


def test_delivered_items_are_counted_in_the_latency_histogram(
    books, cases, connected, stopped_clock
):
    stopped_clock()  # queued and sent at the same instant: 0 s, the first bucket
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_000)]
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])
    assert DeliveryLatency.objects.count() == 0
    assert outbox_deliver(firm_id=cases.firm.pk).sent == 2
    assert list(DeliveryLatency.objects.values_list("kind", "bucket", "items", "total_ms")) == [
        (OutboxKind.COST_SEND, 0, 2, 0)
    ]
