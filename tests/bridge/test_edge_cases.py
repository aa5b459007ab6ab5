"""Edge cases a review found: each one a way a cost could reach the books twice, a check
survive its cost's void, or the queue stall without a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.models import Check, CheckStatus, JournalEntry
from casebridge.books.services import checks as books_checks
from casebridge.bridge.errors import ValidationFailed
from casebridge.bridge.models import (
    Connection,
    CostLink,
    OutboxItem,
    OutboxKind,
    OutboxState,
    RunState,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.bridge.services.status_sync import check_status_sync
from casebridge.cases.models import CostStatus
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock

from .conftest import add_cost, reauthenticate
from .web.conftest import sign_in


def _send(cases, costs, **kw):
    return outbox.costs_send(
        firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs], **kw
    )


def _as_if_the_answer_was_lost() -> None:
    """The books committed the check, the bridge never heard: the item failed for good."""
    OutboxItem.objects.filter(kind=OutboxKind.COST_SEND).update(
        state=OutboxState.FAILED, attempts=8, result=None, error_message="Gave up"
    )
    CostLink.objects.update(books_check_id=None, check_state="")


def test_a_void_after_retry_still_voids_a_check_that_landed_unseen(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    _as_if_the_answer_was_lost()
    assert outbox.items_retry(firm=cases.firm, actor=cases.admin) == 1  # attempts back to 0
    cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk)
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get()
    assert check.status == CheckStatus.VOIDED
    assert list(OutboxItem.objects.order_by("pk").values_list("kind", "state")) == [
        ("cost_send", "cancelled"),
        ("cost_void", "sent"),
    ]


def test_voiding_a_check_the_accountant_already_voided_is_done_not_stuck(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    books_checks.check_void(firm=books.firm, actor=books.admin, check_id=Check.objects.get().pk)
    cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk)
    report = outbox_deliver(firm_id=cases.firm.pk)
    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    assert JournalEntry.objects.filter(firm=books.firm).count() == 2  # one check, one reversal


def test_a_check_found_again_already_voided_voids_the_cost(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get()
    books_checks.check_void(firm=books.firm, actor=books.admin, check_id=check.pk, reason="Lost")
    _as_if_the_answer_was_lost()
    outbox.items_retry(firm=cases.firm, actor=cases.admin)
    outbox_deliver(firm_id=cases.firm.pk)  # the same request again: the books replay its answer
    assert CostLink.objects.get().books_check_id == check.pk
    check_status_sync(firm=cases.firm)  # the sync looks at every link whose cost is not void
    cost.refresh_from_db()
    assert (cost.status, cost.void_reason) == (CostStatus.VOID, "Check voided in the books: Lost")
    assert CostLink.objects.get().books_check_id == check.pk


def test_a_dead_runs_lease_is_taken_over_a_live_one_is_respected(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    Connection.objects.update(
        delivery_owner="live", delivery_lease_until=clock.now() + dt.timedelta(minutes=4)
    )
    assert outbox_deliver(firm_id=cases.firm.pk).passes == 0
    assert not Check.objects.exists()
    Connection.objects.update(
        delivery_owner="dead", delivery_lease_until=clock.now() - dt.timedelta(seconds=1)
    )
    assert outbox_deliver(firm_id=cases.firm.pk).sent == 1
    assert Connection.objects.values_list("delivery_owner", flat=True).get() == ""


def test_items_a_worker_died_on_every_time_fail_with_a_reason(books, cases, connected, settings):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    OutboxItem.objects.update(
        state=OutboxState.SENDING,
        claim="gone",
        attempts=settings.BRIDGE_MAX_ATTEMPTS,
        lease_until=clock.now() - dt.timedelta(seconds=1),
    )
    report = outbox_deliver(firm_id=cases.firm.pk)
    item = OutboxItem.objects.get()
    assert (report.failed, item.state, item.error_code) == (1, "failed", "delivery_interrupted")
    assert not Check.objects.exists()


def test_an_unreadable_stored_token_is_treated_as_lapsed(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    Connection.objects.update(token_ciphertext="not-a-fernet-token")
    report = outbox_deliver(firm_id=cases.firm.pk)
    assert report.waiting == 1
    conn = Connection.objects.get()
    assert conn_services.connection_view(conn).label == "Re-authentication required"


def test_costs_are_never_paid_from_the_client_trust_account(books, cases, connected):
    cost = add_cost(cases, 10_000)
    with pytest.raises(ValidationFailed) as refused:
        _send(cases, [cost], bank_account_id=books.trust.pk)
    assert refused.value.field == "bank_account_id"
    cost.refresh_from_db()
    assert cost.status == CostStatus.OPEN
    assert not OutboxItem.objects.exists()


def test_switching_to_another_books_is_refused_while_cases_are_linked(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    with pytest.raises(ValidationFailed) as refused:
        conn_services.connection_activate(
            firm=cases.firm,
            actor=cases.admin,
            books_url=books.url,
            books_firm_code="other-firm",
            username="integration@lopez.test",
            password="x",
        )
    assert "linked to 1 file in the books" in refused.value.message
    assert Connection.objects.get().books_firm_code == "lopez-pi"


def test_bulk_sync_when_not_connected_is_a_message_not_a_server_error(cases):
    cost = add_cost(cases, 10_000)
    cost_services.cost_update(firm=cases.firm, actor=cases.admin, cost_id=cost.pk, memo="x")
    client = sign_in(Client(), cases.admin)
    response = client.post(
        reverse("cases:costs_bulk"), {"action": "sync_status", "cost": [cost.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "The books integration is not connected" in response.content.decode()


def test_a_check_found_again_already_printed_pays_the_cost_at_once(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get()
    books_checks.check_print(
        firm=books.firm, actor=books.admin, check_id=check.pk, check_number=777
    )
    _as_if_the_answer_was_lost()
    outbox.items_retry(firm=cases.firm, actor=cases.admin)
    OutboxItem.objects.update(key="another-batch-another-key")  # resent in another batch
    outbox_deliver(firm_id=cases.firm.pk)
    cost.refresh_from_db()
    assert (cost.status, cost.payment_reference) == (CostStatus.PAID, "777")
    assert Check.objects.count() == 1


def test_a_run_that_lost_its_items_to_another_run_does_not_send_them(books, cases, connected):
    from casebridge.bridge.services import delivery

    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    stale = delivery.claim(cases.firm.pk, 10)  # run 1 claims, then stalls past its lease
    OutboxItem.objects.update(lease_until=clock.now() - dt.timedelta(seconds=1))
    cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk)
    outbox_deliver(firm_id=cases.firm.pk)  # run 2 takes over: cancels the send, voids nothing
    assert list(OutboxItem.objects.order_by("pk").values_list("kind", "state")) == [
        ("cost_send", "cancelled"),
        ("cost_void", "sent"),
    ]
    conn = Connection.objects.get()
    client = conn_services.client_for(conn)
    ctx = delivery._Context(
        conn=conn, client=client, report=delivery.DeliveryReport(), owner="run-1"
    )
    try:
        delivery._send_costs(ctx, stale)  # run 1 wakes up
    finally:
        client.close()
    assert not Check.objects.exists()
    assert ctx.report.sent == 0


def test_a_refusal_of_the_old_token_after_reauthentication_does_not_park_the_queue(
    books, cases, connected
):
    from casebridge.books.models import IntegrationToken
    from casebridge.bridge.services import delivery

    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    old = Connection.objects.get()
    items = delivery.claim(cases.firm.pk, 10)
    client = conn_services.client_for(old)  # the run signed in with the old token
    assert reauthenticate(cases).state == RunState.DONE
    IntegrationToken.objects.exclude(pk=IntegrationToken.objects.latest("pk").pk).update(
        revoked_at=clock.now()
    )
    ctx = delivery._Context(conn=old, client=client, report=delivery.DeliveryReport())
    Connection.objects.update(delivery_owner="", delivery_lease_until=None)
    try:
        delivery._process(ctx, items)
    except delivery._Stop:
        pass
    finally:
        client.close()
    assert OutboxItem.objects.get().state == OutboxState.QUEUED
    assert not conn_services.connection_view(Connection.objects.get()).needs_reauth
    outbox_deliver(firm_id=cases.firm.pk)
    assert Check.objects.count() == 1
