"""Pipelined delivery (issue 12): a run keeps two batches in flight, claims each in one
statement, and renews its leases once per pass, not before every request.

The books are behind a :class:`~tests.bridge.faultproxy.FaultProxy`. A rule holds a
request until a second one of the same kind reaches the books: with two batches in flight
the second comes while the first is held; a run that sent one batch after the other never
sends it (the hold then gives up and says so). Nothing sleeps to make a point.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import ActivityCode, Check
from casebridge.bridge.models import Connection, CostLink, OutboxItem, OutboxState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import delivery, outbox
from casebridge.bridge.services.outbox import cost_external_ref
from casebridge.core import clock

from .conftest import activate, add_cost
from .faultproxy import Fault, FaultProxy
from .test_faults import (
    CHECKS,
    FILES,
    _other_case,
    _refused_by_the_books,
    _states,
    _time_passes,
    assert_in_books_exactly_once,
)


class Together:
    """A proxy callback: each request waits (at most ``limit`` seconds) until ``n`` have
    arrived; ``met`` says whether they did, ``most`` the most that waited at once."""

    def __init__(self, n: int = 2, limit: float = 20.0) -> None:
        self.n, self.limit = n, limit
        self.arrived = 0
        self.waiting = 0
        self.most = 0
        self.met = False
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.arrived += 1
            self.waiting += 1
            self.most = max(self.most, self.waiting)
            self._cond.notify_all()
            self.met = self._cond.wait_for(lambda: self.arrived >= self.n, self.limit) or self.met
            self.waiting -= 1


@pytest.fixture
def proxy(live_server) -> Iterator[FaultProxy]:
    with FaultProxy(live_server.url) as p:
        yield p


@pytest.fixture
def conn(books, cases, proxy, settings) -> Connection:
    """Batches of two, through the proxy; the client's timeout at 30 s (still half the
    lease): a fresh live server's first answers may be slow on a busy machine."""
    settings.BRIDGE_BATCH_SIZE = 2
    settings.BRIDGE_HTTP_TIMEOUT = 30.0
    return activate(dataclasses.replace(books, url=proxy.books_url), cases)


def _send(cases, costs) -> None:
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])


def _deliver(cases, proxy: FaultProxy) -> delivery.DeliveryReport:
    report = delivery.outbox_deliver(firm_id=cases.firm.pk)
    proxy.settle()
    return report


def test_the_books_are_posting_two_batches_at_once(books, cases, conn, proxy):
    case_b = _other_case(cases)
    costs = [add_cost(cases, 1_100), add_cost(cases, 1_200)]
    costs += [add_cost(cases, 2_100, case=case_b), add_cost(cases, 2_200, case=case_b)]
    _send(cases, costs)
    together = Together()
    proxy.add(*CHECKS, Fault.CALL_BEFORE, callback=together)

    report = _deliver(cases, proxy)

    # the second batch's checks reached the books while the first's were being posted
    assert (together.met, together.most) == (True, 2)
    assert (report.sent, report.failed, report.passes, report.drained) == (4, 0, 2, True)
    assert proxy.count(*CHECKS) == 2
    assert_in_books_exactly_once(books, costs)


def test_a_case_is_never_in_two_batches_in_flight(books, cases, conn, proxy):
    """Four costs of one case, batches of two: the second batch waits for the first (its
    items are held back while the first case's are in flight), and the checks go in order."""
    costs = [add_cost(cases, 1_000 + n) for n in range(4)]
    _send(cases, costs)
    together = Together(limit=2.0)  # the first waits in vain for a second
    proxy.add(*CHECKS, Fault.CALL_BEFORE, callback=together)

    report = _deliver(cases, proxy)

    assert (together.arrived, together.most) == (2, 1)  # never two at once
    assert (report.sent, report.passes) == (4, 2)
    assert_in_books_exactly_once(books, costs)
    ids = [CostLink.objects.get(cost=c).books_check_id for c in costs]
    assert ids == sorted(ids)


def test_a_claim_skips_the_cases_of_a_batch_in_flight(books, cases, conn):
    case_b = _other_case(cases)
    a = [add_cost(cases, 1_000 + n) for n in range(3)]
    b = add_cost(cases, 2_000, case=case_b)
    _send(cases, [*a, b])

    first = delivery.claim(cases.firm.pk, 2)
    second = delivery.claim(cases.firm.pk, 2)

    assert [i.cost_id for i in first] == [a[0].pk, a[1].pk]
    assert [i.cost_id for i in second] == [b.pk]  # a[2] waits for its case's batch
    assert delivery.claim(cases.firm.pk, 2) == []
    assert {i.claim for i in first} != {i.claim for i in second}
    assert all(i.state == OutboxState.SENDING and i.attempts == 1 for i in first + second)


def test_an_item_handed_back_mid_batch_waits_while_a_later_item_of_its_case_is_in_flight(
    books, cases, conn
):
    """A lane handed the case's first item back to the queue (a refusal naming another item
    of its batch) while it still holds the second: a claim from the other lane must not
    take the first, or the two would be sent out of order from two lanes."""
    first, second = add_cost(cases, 1_000), add_cost(cases, 2_000)
    _send(cases, [first, second])
    batch = delivery.claim(cases.firm.pk, 10)
    delivery._release(batch[:1])  # the first back in the queue, due now; the second in flight

    assert delivery.claim(cases.firm.pk, 10) == []
    assert OutboxItem.objects.get(cost=first).state == OutboxState.QUEUED

    delivery._release(batch[1:])  # the lane gives the second back too
    assert [i.cost_id for i in delivery.claim(cases.firm.pk, 10)] == [first.pk, second.pk]


def test_a_claim_is_one_update_returning_the_items(books, cases, conn):
    costs = [add_cost(cases, 1_000 + n) for n in range(3)]
    _send(cases, costs)
    with CaptureQueriesContext(connection) as queries:
        items = delivery.claim(cases.firm.pk, 10)
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert "RETURNING" in updates[0]
    if connection.vendor == "postgresql":
        assert "FOR UPDATE SKIP LOCKED" in updates[0]
    assert [i.cost_id for i in items] == [c.pk for c in costs]
    assert [i.case.pk for i in items] == [cases.case.pk] * 3  # read with their case


def test_leases_are_renewed_only_when_less_than_the_margin_is_left_and_then_for_the_whole_batch(
    books, cases, conn, monkeypatch, settings
):
    settings.BRIDGE_HTTP_TIMEOUT = 10
    settings.BRIDGE_CONNECT_TIMEOUT = 2  # three requests of 12 s: a margin of 36 s
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_000)]
    _send(cases, costs)
    t0 = clock.now()
    monkeypatch.setattr(clock, "now", lambda: t0)
    owner = "run-a"
    lease = delivery._RunLease(cases.firm.pk, owner)
    assert lease.take()
    items = delivery.claim(cases.firm.pk, 10)
    ctx = delivery._Context(
        conn=conn,
        client=conn_services.client_for(conn),
        report=delivery.DeliveryReport(),
        owner=owner,
        run_lease=lease,
    )
    try:
        # right after the claim (the start of a pass): nothing written, the items still ours
        with CaptureQueriesContext(connection) as queries:
            assert ctx.renew(items) == items
        assert not [q for q in queries if q["sql"].startswith("UPDATE")]

        # 36 s left: still enough for the longest run of requests one renewal covers
        monkeypatch.setattr(clock, "now", lambda: t0 + dt.timedelta(seconds=24))
        with CaptureQueriesContext(connection) as queries:
            assert ctx.renew(items) == items
        assert not [q for q in queries if q["sql"].startswith("UPDATE")]

        # less than that left: the run's lease and the whole batch's are renewed, the
        # items of its later runs too (not only those about to be posted)
        later = t0 + dt.timedelta(seconds=25)
        monkeypatch.setattr(clock, "now", lambda: later)
        with CaptureQueriesContext(connection) as queries:
            assert ctx.renew(items[:1]) == items[:1]
        assert len([q for q in queries if q["sql"].startswith("UPDATE")]) == 2
        until = later + dt.timedelta(seconds=60)
        assert set(OutboxItem.objects.values_list("lease_until", flat=True)) == {until}
        assert Connection.objects.get().delivery_lease_until == until
    finally:
        ctx.client.close()


def test_a_refusal_in_one_batch_leaves_the_other_in_flight_sent_once(books, cases, conn, proxy):
    pd = _refused_by_the_books(books, cases, conn)
    case_b = _other_case(cases)
    a1 = add_cost(cases, 1_100, code="E101")
    a2 = add_cost(cases, 1_200)
    b1 = add_cost(cases, 2_100, case=case_b)
    b2 = add_cost(cases, 2_200, case=case_b)
    costs = [a1, a2, b1, b2]
    _send(cases, costs)
    ActivityCode.objects.filter(pk=pd.pk).update(is_active=False)
    together = Together()
    proxy.add(*CHECKS, Fault.CALL_BEFORE, callback=together)

    report = _deliver(cases, proxy)

    assert (together.met, together.most) == (True, 2)
    assert (report.sent, report.failed) == (2, 1)
    # a1 refused (items[0]); a2 given back and held behind it; case B's batch sent once
    assert _states(costs) == [("failed", 1), ("queued", 0), ("sent", 1), ("sent", 1)]
    assert set(Check.objects.values_list("external_ref", flat=True)) == {
        cost_external_ref(b1.pk),
        cost_external_ref(b2.pk),
    }

    ActivityCode.objects.filter(pk=pd.pk).update(is_active=True)
    assert outbox.items_retry(firm=cases.firm, actor=cases.admin) == 1
    assert _deliver(cases, proxy).sent == 2
    assert_in_books_exactly_once(books, costs)


def test_an_answer_lost_in_one_batch_leaves_the_other_sent_once(books, cases, conn, proxy):
    case_b = _other_case(cases)
    costs = [add_cost(cases, 1_100), add_cost(cases, 1_200)]
    costs += [add_cost(cases, 2_100, case=case_b), add_cost(cases, 2_200, case=case_b)]
    _send(cases, costs)
    together = Together()
    proxy.add(*FILES, Fault.CALL_BEFORE, callback=together)  # both batches in flight
    proxy.add(*CHECKS, Fault.LOSE_RESPONSE, nth=1)  # the books commit one, the answer is lost

    report = _deliver(cases, proxy)

    assert (together.met, together.most) == (True, 2)
    assert (report.sent, report.retrying) == (2, 2)
    states = _states(costs)
    assert sorted(states) == [("queued", 1), ("queued", 1), ("sent", 1), ("sent", 1)]
    assert states[0] == states[1]  # each batch as one
    assert states[2] == states[3]
    assert Check.objects.count() == 4  # the lost batch's checks are in the books already

    _time_passes()
    assert _deliver(cases, proxy).sent == 2  # found again by external_ref: nothing twice
    assert_in_books_exactly_once(books, costs)
