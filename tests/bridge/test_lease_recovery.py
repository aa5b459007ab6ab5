"""A killed worker's items are taken over soon after its lease runs out, and sent once
(issue 10, item 8).

Worker A is played step by step with the delivery's own functions: it takes the firm's
run, claims the items, renews its lease once per pass, sends the checks (the books commit)
and dies before recording the answer. The clock is injected (``clock.now``); nothing
sleeps. The books are on a real port behind a proxy that counts every request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from huey.contrib.djhuey import HUEY

from casebridge.bridge import tasks
from casebridge.bridge.models import Connection, OutboxItem, OutboxState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import delivery, outbox
from casebridge.core import clock

from .conftest import activate, add_cost
from .faultproxy import FaultProxy
from .test_faults import CHECKS, assert_in_books_exactly_once

ROOT = Path(__file__).resolve().parents[2]
A = "worker-a"
#: The default lease: a dead worker's items are taken over a minute after its last renewal.
LEASE = 60


@pytest.fixture
def proxy(live_server) -> Iterator[FaultProxy]:
    with FaultProxy(live_server.url) as p:
        yield p


@pytest.fixture
def conn(books, cases, proxy) -> Connection:
    return activate(dataclasses.replace(books, url=proxy.books_url), cases)


@pytest.fixture
def at(monkeypatch):
    def move(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return move


def _sweep() -> None:
    """The minute sweep, with what it enqueues run at once, in the test."""
    HUEY.immediate = True
    try:
        tasks.outbox_sweep.call_local()
    finally:
        HUEY.immediate = False


def _held(claim: str) -> int:
    """How many items are still being sent under ``claim``."""
    return OutboxItem.objects.filter(claim=claim, state=OutboxState.SENDING).count()


def _worker_a_sends_and_dies(conn: Connection, at, t0: dt.datetime) -> str:
    """A takes the run and claims at t0, renews at t0+50 s (its next pass) as it sends;
    the books commit; A dies before it records the answer."""
    at(t0)
    assert delivery._take_run(conn.firm_id, A)
    items = delivery.claim(conn.firm_id, 10)
    assert len(items) == 2
    ctx = delivery._Context(
        conn=conn,
        client=conn_services.client_for(conn),
        report=delivery.DeliveryReport(),
        owner=A,
    )
    at(t0 + dt.timedelta(seconds=50))
    assert delivery._request_checks(ctx, items, "checks-") is not None
    ctx.client.close()
    return items[0].claim


def test_the_lease_is_a_minute_by_default(conn):
    assert settings.BRIDGE_LEASE_SECONDS == LEASE
    assert settings.BRIDGE_LEASE_SECONDS >= 2 * settings.BRIDGE_HTTP_TIMEOUT


def test_a_dead_workers_items_are_taken_over_once_its_lease_runs_out_and_sent_once(
    books, cases, conn, proxy, at
):
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_550)]
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])
    t0 = clock.now()
    claim = _worker_a_sends_and_dies(conn, at, t0)
    proxy.settle()
    assert proxy.count(*CHECKS) == 1
    lease = dt.timedelta(seconds=LEASE)
    renewed = t0 + dt.timedelta(seconds=50)

    # a second before A's renewed lease runs out: the sweep takes nothing over
    at(renewed + lease - dt.timedelta(seconds=1))
    _sweep()
    assert _held(claim) == 2
    assert proxy.count(*CHECKS) == 1

    # a second after: the next sweep takes A's items over; the books find the checks A
    # sent by their external_ref, so each cost is in the books once
    at(renewed + lease + dt.timedelta(seconds=1))
    _sweep()
    proxy.settle()
    assert _held(claim) == 0
    assert proxy.count(*CHECKS) == 2
    assert_in_books_exactly_once(books, costs)


def test_a_live_lease_renewed_once_per_pass_is_never_taken_over(books, cases, conn, proxy, at):
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_550)]
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])
    lease = settings.BRIDGE_LEASE_SECONDS
    t0 = clock.now()
    at(t0)
    assert delivery._take_run(cases.firm.pk, A)
    items = delivery.claim(cases.firm.pk, 10)
    claim = items[0].claim
    ctx = delivery._Context(
        conn=conn, client=conn_services.client_for(conn), report=delivery.DeliveryReport(), owner=A
    )
    try:
        for n in range(1, 4):  # A's passes, each a little less than a lease after the last
            renewal = t0 + dt.timedelta(seconds=n * (lease - 10))
            at(renewal)
            assert ctx.renew(items) == items
            # past the lease A held before this renewal, within the renewed one
            at(renewal + dt.timedelta(seconds=lease - 1))
            _sweep()
            assert delivery.outbox_watch(firm_id=cases.firm.pk) == 2.0
            assert _held(claim) == 2
    finally:
        ctx.client.close()
    assert proxy.count(*CHECKS) == 0


def test_the_watchdog_follows_a_live_lease_and_takes_over_when_it_runs_out(
    books, cases, conn, proxy, at
):
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_550)]
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])
    watches: list[tuple[int, float]] = []
    previous = delivery.set_watcher(lambda firm_id, delay: watches.append((firm_id, delay)))
    try:
        t0 = clock.now()
        claim = _worker_a_sends_and_dies(conn, at, t0)
        lease = LEASE
        # while A's lease lives, the watchdog comes back a second after it ends
        at(t0 + dt.timedelta(seconds=60))
        assert delivery.outbox_watch(firm_id=cases.firm.pk) == float(50 + lease - 60 + 1)
        assert _held(claim) == 2
        # once it has run out, the watchdog's run takes A's items over and delivers them
        at(t0 + dt.timedelta(seconds=50 + lease + 1))
        assert delivery.outbox_watch(firm_id=cases.firm.pk) is None
        proxy.settle()
        assert_in_books_exactly_once(books, costs)
        # that run set its own watchdog, a second after its lease would run out
        assert watches == [(cases.firm.pk, float(lease + 1))]
    finally:
        delivery.set_watcher(previous)


@pytest.mark.parametrize(
    ("lease", "timeout", "refused"), [("50", "30", True), ("60", "30", False), ("20", "5", False)]
)
def test_settings_refuse_a_lease_shorter_than_two_books_timeouts(lease, timeout, refused):
    env = {
        **os.environ,
        "CASEBRIDGE_BRIDGE_LEASE": lease,
        "CASEBRIDGE_BRIDGE_TIMEOUT": timeout,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.BRIDGE_LEASE_SECONDS)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if refused:
        assert done.returncode != 0
        assert (
            "ImproperlyConfigured: CASEBRIDGE_BRIDGE_LEASE (50 s) must be at least twice "
            "CASEBRIDGE_BRIDGE_TIMEOUT (30 s)"
        ) in done.stderr
    else:
        assert (done.returncode, done.stdout.strip()) == (0, lease)
