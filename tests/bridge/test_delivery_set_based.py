"""Issue 12: a delivery pass costs the worker the same queries for 3 items as for 30
(claimed, renewed, sent in one request, settled set-based), and a pass that asked the books
for nothing but the batch renews its items once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import TrustReceipt
from casebridge.bridge.models import DepositLink, OutboxItem, OutboxKind, OutboxState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import delivery
from casebridge.cases.models import Case, Negotiation
from casebridge.cases.services import cases as case_services
from tests.cases.helpers import deposit, offer

pytestmark = pytest.mark.django_db(transaction=True)


def _deposits(cases, n: int, *, offered: int = 0) -> list[tuple[Case, Negotiation]]:
    """``n`` new cases, each with an offer accepted and deposited (of ``offered`` more than
    the deposit, to deposit again)."""
    made = []
    for k in range(n):
        case = case_services.case_create(
            firm=cases.firm,
            actor=cases.admin,
            name=f"Case {k}",
            client_id=cases.case.client_id,
            responsible_attorney_id=cases.attorney.pk,
            status="open",
        )
        accepted = offer(cases.firm, cases.admin, case, 1_000_000 + k + offered)
        deposit(cases.firm, cases.admin, case, accepted, 1_000_000 + k, check=f"9{k:04d}")
        made.append((case, accepted))
    return made


def _pass(cases, conn, limit: int) -> tuple[int, list[str], int]:
    """One pass of ``limit`` items in this thread: its queries, the SELECTs among them
    that read which claimed items are still held, and how many items went."""
    lease = delivery._RunLease(cases.firm.pk, "run-a")
    assert lease.take()
    items = delivery.claim(cases.firm.pk, limit)
    assert len(items) == limit
    ctx = delivery._Context(
        conn=conn,
        client=conn_services.client_for(conn),
        report=delivery.DeliveryReport(),
        owner="run-a",
        run_lease=lease,
    )
    try:
        with CaptureQueriesContext(connection) as queries:
            delivery._process(ctx, items)
    finally:
        ctx.client.close()
    held = [
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "bridge_outboxitem"."id"') and "claim" in q["sql"]
    ]
    return len(queries.captured_queries), held, ctx.report.sent


def test_a_pass_of_receipts_costs_the_same_queries_for_3_as_for_30(
    books, cases, connected, stopped_clock
):
    stopped_clock()  # every item's latency in one bucket
    made = _deposits(cases, 34)
    assert OutboxItem.objects.filter(kind=OutboxKind.DEPOSIT_RECEIPT).count() == 34

    _pass(cases, connected, 1)  # the buckets and the books' users, read once per run
    few, few_held, few_sent = _pass(cases, connected, 3)
    many, many_held, many_sent = _pass(cases, connected, 30)

    assert (few_sent, many_sent) == (3, 30)
    assert many == few, f"{few} queries for 3 receipts, {many} for 30"
    # each new case's file was asked for: renewed before and after that request
    assert len(few_held) == len(many_held) == 3  # two renewals, then the settle's lock
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxState.SENT}
    assert TrustReceipt.objects.count() == 34
    assert sorted(DepositLink.objects.values_list("books_receipt_id", flat=True)) == sorted(
        TrustReceipt.objects.values_list("pk", flat=True)
    )
    assert {r.file.external_ref for r in TrustReceipt.objects.select_related("file")} == {
        f"cases-case-{c.pk}" for c, _ in made
    }


def test_a_pass_whose_files_are_known_renews_its_items_once(books, cases, connected, stopped_clock):
    stopped_clock()
    made = _deposits(cases, 4, offered=5_000)
    _pass(cases, connected, 4)  # the cases' files opened in the books
    for case, accepted in made:  # a second deposit each: their files are known now
        deposit(cases.firm, cases.admin, case, accepted, 5_000, check="77001")

    _, held, sent = _pass(cases, connected, 4)

    assert sent == 4
    assert len(held) == 2  # one renewal, then the settle's lock
    assert TrustReceipt.objects.count() == 8
