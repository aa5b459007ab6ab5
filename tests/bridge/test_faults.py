"""Every cost ends in the books exactly once, and the ledger balances, under faults.

The bridge reaches the books (pytest-django's live server) over real HTTP through a
:class:`~tests.bridge.faultproxy.FaultProxy` that refuses, fails, loses answers after the
books committed, answers too late, and lapses the token mid-batch. Nothing in the client
is mocked. Time passing (the backoff, a lease running out) is a database update, never a
sleep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db.models import Count, Sum

from casebridge.books.models import (
    ActivityCode,
    Check,
    CheckStatus,
    File,
    IntegrationToken,
    JournalEntry,
    Posting,
)
from casebridge.bridge.client import CheckRequest, FileRequest
from casebridge.bridge.models import (
    CaseLink,
    Connection,
    CostLink,
    OutboxItem,
    OutboxKind,
    OutboxState,
    RunState,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import delivery, outbox
from casebridge.bridge.services.mappings import cost_code_mapping_save
from casebridge.bridge.services.outbox import cost_external_ref
from casebridge.cases.models import Cost, CostCode, CostStatus
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock
from tests.clockwork import time_stands_still

from .conftest import activate, add_cost, pop_up_1, reauthenticate
from .faultproxy import Fault, FaultProxy

CHECKS = ("POST", "/checks/batch")
FILES = ("POST", "/files/batch")


# --- Fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def proxy(live_server) -> Iterator[FaultProxy]:
    with FaultProxy(live_server.url) as p:
        yield p


@pytest.fixture
def small(settings):
    """Several requests per delivery, few attempts, a client that gives up quickly."""
    settings.BRIDGE_BATCH_SIZE = 2
    settings.BRIDGE_MAX_ATTEMPTS = 3
    settings.BRIDGE_HTTP_TIMEOUT = 5.0
    return settings


@pytest.fixture
def conn(books, cases, proxy, small) -> Connection:
    """Activated through the proxy: every request of the bridge passes through it. At the
    default timeout: a fresh live server's first answers may be slow on a busy machine."""
    timeout, small.BRIDGE_HTTP_TIMEOUT = small.BRIDGE_HTTP_TIMEOUT, 30.0
    try:
        return activate(dataclasses.replace(books, url=proxy.books_url), cases)
    finally:
        small.BRIDGE_HTTP_TIMEOUT = timeout


def _send(cases, costs) -> None:
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])


def _deliver(cases, proxy: FaultProxy) -> delivery.DeliveryReport:
    report = delivery.outbox_deliver(firm_id=cases.firm.pk)
    proxy.settle()  # whatever the books were given has committed
    return report


def _time_passes() -> None:
    """The backoff runs out (what waiting would do)."""
    OutboxItem.objects.filter(state=OutboxState.QUEUED).update(
        next_attempt_at=clock.now() - timedelta(seconds=1)
    )


def _states(costs) -> list[tuple[str, int]]:
    items = {i.cost_id: i for i in OutboxItem.objects.filter(kind=OutboxKind.COST_SEND)}
    return [(items[c.pk].state, items[c.pk].attempts) for c in costs]


def _other_case(cases):
    client = case_services.contact_create(firm=cases.firm, actor=cases.admin, name="Tom Reyes")
    return case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Reyes v. City Bus",
        client_id=client.pk,
        responsible_attorney_id=cases.attorney.pk,
        status="open",
    )


def assert_ledger_balances(books) -> None:
    rows = (
        Posting.objects.filter(entry__firm=books.firm)
        .values("entry_id")
        .annotate(debit=Sum("debit_cents"), credit=Sum("credit_cents"), n=Count("id"))
    )
    assert rows, "no postings at all"
    for row in rows:
        assert row["debit"] == row["credit"], row
        assert row["n"] >= 2, row


def assert_in_books_exactly_once(books, costs) -> None:
    """One check per cost, each external_ref once, each linked, each entry balanced, and
    the costs Pending on the cases side."""
    checks = list(Check.objects.filter(firm=books.firm))
    assert len(checks) == len(costs)
    refs = [c.external_ref for c in checks]
    assert sorted(refs) == sorted(cost_external_ref(c.pk) for c in costs)
    assert len(set(refs)) == len(refs)
    by_ref = {c.external_ref: c for c in checks}
    for cost in costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PENDING
        link = CostLink.objects.get(cost=cost)
        check = by_ref[link.external_ref]
        assert link.books_check_id == check.pk
        assert (check.amount_cents, check.status) == (cost.amount_cents, CheckStatus.QUEUED)
        item = OutboxItem.objects.get(cost=cost, kind=OutboxKind.COST_SEND)
        assert (item.state, item.result["check_id"]) == (OutboxState.SENT, check.pk)
    assert JournalEntry.objects.filter(firm=books.firm, source="check").count() == len(costs)
    assert len({c.entry_id for c in checks}) == len(costs)
    assert_ledger_balances(books)
    # one books file per case, however often its request went
    case_ids = {c.case_id for c in costs}
    assert File.objects.filter(firm=books.firm, external_ref__startswith="cases-case-").count() == (
        len(case_ids)
    )
    assert CaseLink.objects.filter(case_id__in=case_ids).count() == len(case_ids)


# --- Activation ----------------------------------------------------------------------------------


def test_a_wrong_password_at_activation_writes_no_connection(books, cases, proxy, small):
    job = pop_up_1(cases, books_url=proxy.books_url, password="not the password")
    assert (job.state, job.error_code, job.error_field) == (
        RunState.FAILED,
        "invalid_credentials",
        "password",
    )
    assert not Connection.objects.exists()
    assert not IntegrationToken.objects.filter(user=books.integration).exists()
    assert [(s.method, s.path, s.status) for s in proxy.seen] == [
        ("POST", "/books/api/v1/auth/session", 401)
    ]


def test_books_down_at_activation_writes_no_connection(books, cases, proxy, small):
    proxy.down()
    job = pop_up_1(cases, books_url=proxy.books_url)
    assert (job.state, job.error_code, job.error_field) == (
        RunState.FAILED,
        "books_unreachable",
        "books_url",
    )
    assert not Connection.objects.exists()


# --- Delivery under faults -----------------------------------------------------------------------


def test_books_down_during_delivery_then_back(books, cases, conn, proxy):
    first = add_cost(cases, 500)
    _send(cases, [first])
    assert _deliver(cases, proxy).sent == 1  # the case has its file in the books
    costs = [add_cost(cases, 1_000 * (n + 1)) for n in range(4)]
    _send(cases, costs)
    proxy.down()

    # the backoff may be as short as a second: time stands still until the test says
    with time_stands_still() as now:
        report = _deliver(cases, proxy)
        assert (report.sent, report.retrying, report.failed) == (0, 2, 0)
        assert _states(costs) == [("queued", 1), ("queued", 1), ("queued", 0), ("queued", 0)]
        item = OutboxItem.objects.get(cost=costs[0])
        assert item.error_code == "books_unreachable"
        assert item.error_message == (
            "Attempt 1 failed: the books did not answer as a Casebridge books API"
        )
        assert item.next_attempt_at >= now + timedelta(seconds=1)

        # still down, nothing due: the case's later items wait behind its first ones
        assert _deliver(cases, proxy).passes == 0
    # still down, backoff over: one more attempt each, counted
    _time_passes()
    assert _deliver(cases, proxy).retrying == 2
    assert _states(costs) == [("queued", 2), ("queued", 2), ("queued", 0), ("queued", 0)]
    assert Check.objects.count() == 1

    proxy.up()
    _time_passes()
    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying, report.failed) == (4, 0, 0)
    assert_in_books_exactly_once(books, [first, *costs])


def test_books_down_at_a_new_cases_first_delivery_requeues_with_the_reason(
    books, cases, conn, proxy
):
    """Regression: GET /users (the attorneys, asked before a new case's file is opened)
    failing used to escape outbox_deliver and leave the claimed items SENDING."""
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_000), add_cost(cases, 3_000)]
    _send(cases, costs)
    proxy.down()
    try:
        report = _deliver(cases, proxy)
    finally:
        proxy.up()
    assert report.retrying == 2
    assert _states(costs) == [("queued", 1), ("queued", 1), ("queued", 0)]
    assert OutboxItem.objects.get(cost=costs[0]).error_code == "books_unreachable"


def test_books_answering_500_then_ok(books, cases, conn, proxy):
    costs = [add_cost(cases, 2_500 + n) for n in range(3)]
    _send(cases, costs)
    proxy.add(*CHECKS, Fault.ERROR_500, nth=1)

    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying) == (0, 2)
    item = OutboxItem.objects.get(cost=costs[0])
    # a 5xx is never a refusal to act on: its text is not repeated (issue 13)
    assert item.error_code == "books_unreachable"
    assert "unexpected error" not in item.error_message
    assert not Check.objects.exists()

    _time_passes()
    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying, report.failed) == (3, 0, 0)
    assert proxy.count(*CHECKS) == 3
    assert_in_books_exactly_once(books, costs)


def test_500_on_every_attempt_fails_the_items_then_retry_delivers_once(books, cases, conn, proxy):
    costs = [add_cost(cases, 9_900 + n) for n in range(3)]
    _send(cases, costs)
    proxy.add(*CHECKS, Fault.ERROR_500, message="Ledger maintenance in progress.")

    for _ in range(3):  # BRIDGE_MAX_ATTEMPTS
        _deliver(cases, proxy)
        _time_passes()
    assert _states(costs) == [("failed", 3), ("failed", 3), ("queued", 0)]
    failed = OutboxItem.objects.get(cost=costs[0])
    assert failed.error_code == "books_unreachable"
    assert failed.error_message == (
        "Gave up after 3 attempts: the books did not answer as a Casebridge books API"
    )
    # the third cost of the case is held back behind the failed ones
    assert _deliver(cases, proxy).passes == 0
    assert proxy.count(*CHECKS) == 3
    for cost in costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PENDING

    proxy.clear()
    assert outbox.items_retry(firm=cases.firm, actor=cases.admin) == 2
    report = _deliver(cases, proxy)
    assert (report.sent, report.failed) == (3, 0)
    assert_in_books_exactly_once(books, costs)


@pytest.mark.parametrize("fault", [Fault.LOSE_RESPONSE, Fault.BAD_GATEWAY_AFTER])
@pytest.mark.parametrize("regrouped", [False, True], ids=["same-batch", "regrouped"])
def test_an_answer_lost_after_the_books_committed_links_the_same_checks(
    books, cases, conn, proxy, settings, fault, regrouped
):
    costs = [add_cost(cases, 5_000 + n) for n in range(4)]
    _send(cases, costs)
    proxy.add(*CHECKS, fault, nth=1)

    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying) == (0, 2)
    landed = list(Check.objects.order_by("pk").values_list("pk", "external_ref"))
    assert [ref for _, ref in landed] == [cost_external_ref(c.pk) for c in costs[:2]]
    assert not CostLink.objects.filter(books_check_id__isnull=False).exists()

    if regrouped:  # another batching: another idempotency key, found by external_ref
        settings.BRIDGE_BATCH_SIZE = 4
    _time_passes()
    report = _deliver(cases, proxy)
    assert (report.sent, report.retrying, report.failed) == (4, 0, 0)
    assert_in_books_exactly_once(books, costs)
    for pk, ref in landed:
        assert CostLink.objects.get(external_ref=ref).books_check_id == pk


def test_an_answer_lost_for_the_file_finds_the_same_file(books, cases, conn, proxy):
    costs = [add_cost(cases, 1_234), add_cost(cases, 4_321)]
    _send(cases, costs)
    proxy.add(*FILES, Fault.LOSE_RESPONSE, nth=1)
    assert _deliver(cases, proxy).retrying == 2
    assert File.objects.filter(external_ref=f"cases-case-{cases.case.pk}").count() == 1
    assert not CaseLink.objects.exists()
    _time_passes()
    assert _deliver(cases, proxy).sent == 2
    assert_in_books_exactly_once(books, costs)


def test_an_answer_slower_than_the_timeout_is_resent_and_linked(books, cases, conn, proxy):
    costs = [add_cost(cases, 7_000), add_cost(cases, 7_001), add_cost(cases, 7_002)]
    _send(cases, costs)
    # the answer is held until the proxy stops: beyond the client's timeout at any pace
    proxy.add(*CHECKS, Fault.SLOW_RESPONSE, nth=1, delay=600.0)

    report = _deliver(cases, proxy)  # the client gives up after its 5 s
    assert (report.sent, report.retrying) == (0, 2)
    # a silent books reads as a closed one (issue 13): one code, one message
    assert OutboxItem.objects.get(cost=costs[0]).error_code == "books_unreachable"
    assert Check.objects.count() == 2  # it landed; the answer came too late

    _time_passes()
    assert _deliver(cases, proxy).sent == 3
    assert_in_books_exactly_once(books, costs)


def test_a_worker_killed_between_send_and_acknowledgement(books, cases, conn, proxy, stopped_clock):
    costs = [add_cost(cases, 3_000), add_cost(cases, 3_100), add_cost(cases, 3_200)]
    _send(cases, costs)
    stopped_clock()  # the leases hold until the test lets them run out, at any pace

    # the worker claims two items, opens the file and sends the checks... and dies
    items = delivery.claim(cases.firm.pk, 2)
    assert [i.cost_id for i in items] == [costs[0].pk, costs[1].pk]
    client = conn_services.client_for(conn)
    try:
        case = cases.case
        (file,) = client.files_find_or_create(
            [
                FileRequest(
                    external_ref=f"cases-case-{case.pk}",
                    name=f"{case.number} {case.name}",
                    client_external_ref=f"cases-contact-{case.client_id}",
                    client_name=case.client.name,
                )
            ],
            idempotency_key="dead-worker-files",
        )
        sent = client.checks_request(
            [
                CheckRequest(
                    external_ref=i.payload["external_ref"],
                    bank_account_id=i.payload["bank_account_id"],
                    payee=i.payload["payee"],
                    amount_cents=i.payload["amount_cents"],
                    file_id=file.id,
                    activity_code_id=i.payload["activity_code_id"],
                    memo=i.payload["memo"],
                    posting_reference=i.payload["posting_reference"],
                )
                for i in items
            ],
            idempotency_key="dead-worker-checks",
        )
    finally:
        client.close()
    assert Check.objects.count() == 2

    # while the lease holds, nobody touches them, nor the case's later item
    assert _deliver(cases, proxy).passes == 0
    assert _states(costs) == [("sending", 1), ("sending", 1), ("queued", 0)]

    OutboxItem.objects.filter(state=OutboxState.SENDING).update(
        lease_until=clock.now() - timedelta(seconds=1)
    )
    report = _deliver(cases, proxy)
    assert (report.sent, report.failed) == (3, 0)
    assert _states(costs) == [("sent", 2), ("sent", 2), ("sent", 1)]
    assert_in_books_exactly_once(books, costs)
    assert [CostLink.objects.get(cost=c).books_check_id for c in costs[:2]] == [c.id for c in sent]


def test_the_token_lapsing_mid_batch_waits_for_reauthentication(books, cases, conn, proxy):
    costs = [add_cost(cases, 10_000 + n) for n in range(6)]
    _send(cases, costs)

    def day_30() -> None:
        IntegrationToken.objects.filter(user=books.integration).update(
            expires_at=clock.now() - timedelta(minutes=1)
        )

    proxy.add(*CHECKS, Fault.CALL_BEFORE, nth=2, callback=day_30)

    report = _deliver(cases, proxy)
    # the refused batch and everything still queued wait at once
    assert (report.sent, report.waiting, report.failed) == (2, 4, 0)
    assert [s.status for s in proxy.seen if s.path.endswith("/checks/batch")] == [201, 401]
    conn.refresh_from_db()
    view = conn_services.connection_view(conn)
    assert (view.needs_reauth, view.connected) == (True, False)
    assert _deliver(cases, proxy).waiting == 0  # nothing left to park
    assert _states(costs) == [("sent", 1)] * 2 + [("waiting", 0)] * 4
    waiting = OutboxItem.objects.filter(state=OutboxState.WAITING).first()
    assert waiting is not None
    assert waiting.error_code == "reauthentication_required"
    assert Check.objects.count() == 2

    assert reauthenticate(cases).state == RunState.DONE
    conn.refresh_from_db()
    assert not conn_services.connection_view(conn).needs_reauth
    report = _deliver(cases, proxy)
    assert (report.sent, report.waiting, report.failed) == (4, 0, 0)
    assert_in_books_exactly_once(books, costs)


def _refused_by_the_books(books, cases, conn):
    """A cost code mapped to the books' Experts code, which the accountant then
    deactivates: the books refuse that cost's check (items[i].activity_code)."""
    experts = ActivityCode.objects.get(firm=books.firm, code="E119")
    code = CostCode.objects.get(firm=cases.firm, code="E101")
    cost_code_mapping_save(
        firm=cases.firm, actor=cases.admin, cost_code_id=code.pk, activity_code_id=experts.pk
    )
    return experts


def test_a_failed_item_holds_back_its_case_but_not_another(books, cases, conn, proxy):
    pd = _refused_by_the_books(books, cases, conn)
    case_b = _other_case(cases)
    a1 = add_cost(cases, 1_100, code="E101")
    b1 = add_cost(cases, 2_100, case=case_b)
    a2 = add_cost(cases, 1_200)
    b2 = add_cost(cases, 2_200, case=case_b)
    a3 = add_cost(cases, 1_300)
    costs = [a1, b1, a2, b2, a3]
    _send(cases, costs)
    ActivityCode.objects.filter(pk=pd.pk).update(is_active=False)

    report = _deliver(cases, proxy)
    assert (report.sent, report.failed) == (2, 1)
    assert _states(costs) == [
        ("failed", 1),
        ("sent", 1),
        ("queued", 0),
        ("sent", 1),
        ("queued", 0),
    ]
    failed = OutboxItem.objects.get(cost=a1)
    assert failed.error_code == "validation_error"
    assert "activity code not found" in failed.error_message
    assert set(Check.objects.values_list("external_ref", flat=True)) == {
        cost_external_ref(b1.pk),
        cost_external_ref(b2.pk),
    }

    ActivityCode.objects.filter(pk=pd.pk).update(is_active=True)
    assert outbox.items_retry(firm=cases.firm, actor=cases.admin) == 1
    assert _deliver(cases, proxy).sent == 3
    assert_in_books_exactly_once(books, costs)
    # case A's checks went in the order of its costs
    ids = [CostLink.objects.get(cost=c).books_check_id for c in (a1, a2, a3)]
    assert ids == sorted(ids)


def test_a_long_held_back_case_does_not_starve_another(books, cases, conn, proxy):
    """Regression: claim() used to look at only limit*4 due items, so more than that many
    held-back items of one case crowded every other case out."""
    pd = _refused_by_the_books(books, cases, conn)
    case_b = _other_case(cases)
    held = [add_cost(cases, 1_000, code="E101")] + [add_cost(cases, 1_001 + n) for n in range(8)]
    other = add_cost(cases, 5_000, case=case_b)
    _send(cases, [*held, other])
    ActivityCode.objects.filter(pk=pd.pk).update(is_active=False)

    _deliver(cases, proxy)
    assert OutboxItem.objects.get(cost=held[0]).state == OutboxState.FAILED
    _deliver(cases, proxy)  # the next run (the minute sweep) does no better
    # case A is held back behind its failed first item; case B owes it nothing
    assert OutboxItem.objects.get(cost=other).state == OutboxState.SENT
    assert _states(held[1:]) == [("queued", 0)] * 8


def test_a_void_whose_answer_was_lost_voids_the_check_once(books, cases, conn, proxy):
    costs = [add_cost(cases, 8_800), add_cost(cases, 8_900)]
    _send(cases, costs)
    assert _deliver(cases, proxy).sent == 2
    cost_services.cost_void(
        firm=cases.firm, actor=cases.admin, cost_id=costs[0].pk, reason="Duplicate"
    )
    proxy.add("POST", "/void", Fault.LOSE_RESPONSE, nth=1)
    assert _deliver(cases, proxy).retrying == 1
    _time_passes()
    assert _deliver(cases, proxy).sent == 1

    check = Check.objects.get(external_ref=cost_external_ref(costs[0].pk))
    assert check.status == CheckStatus.VOIDED
    assert Check.objects.count() == 2
    # the check, its reversal, and the other check: nothing twice
    assert JournalEntry.objects.filter(firm=books.firm).count() == 3
    assert_ledger_balances(books)
    assert Cost.objects.get(pk=costs[0].pk).status == CostStatus.VOID
    assert Cost.objects.get(pk=costs[1].pk).status == CostStatus.PENDING
