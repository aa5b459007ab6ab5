"""The bridge in Costs Management: the bulk Send on the Open tab, the bulk "Sync check
status" on the Pending tab, and each row's sync state."""

from __future__ import annotations

from django.urls import reverse

from casebridge.books.models import Check
from casebridge.books.services import checks as books_checks
from casebridge.bridge.models import OutboxItem, OutboxState
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.models import CostStatus

from ..conftest import add_cost, work
from .conftest import text

BULK = "cases:costs_bulk"


def test_bulk_send_then_rows_say_sending_then_sync_makes_them_paid(
    books, cases, connected, paralegal_client
):
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_000)]
    page = text(paralegal_client.get(reverse("cases:costs_management") + "?status=open"))
    assert ">Send to the books</button>" in page

    response = paralegal_client.post(
        reverse(BULK), {"action": "send", "cost": [c.pk for c in costs], "confirmed": "1"}
    )
    assert response.status_code == 302
    assert list(OutboxItem.objects.values_list("state", flat=True)) == [OutboxState.QUEUED] * 2
    pending = text(paralegal_client.get(reverse("cases:costs_management") + "?status=pending"))
    assert pending.count("Queued for the books") == 2
    assert ">Sync check status</button>" in pending

    outbox_deliver(firm_id=cases.firm.pk)
    checks = list(Check.objects.order_by("pk"))
    pending = text(paralegal_client.get(reverse("cases:costs_management") + "?status=pending"))
    assert pending.count("Check requested in the books, not printed yet") == 2
    assert f"Books check request {checks[0].pk}" not in pending

    books_checks.check_print(
        firm=books.firm, actor=books.admin, check_id=checks[0].pk, check_number=501
    )
    response = paralegal_client.post(
        reverse(BULK), {"action": "sync_status", "cost": [c.pk for c in costs]}, follow=True
    )
    assert "Check status sync started: the worker is asking the books" in text(response)
    costs[0].refresh_from_db()
    assert costs[0].status == CostStatus.PENDING  # the worker syncs
    work(cases.firm.pk)
    costs[0].refresh_from_db()
    costs[1].refresh_from_db()
    assert (costs[0].status, costs[0].payment_reference) == (CostStatus.PAID, "501")
    assert costs[1].status == CostStatus.PENDING


def test_a_failed_send_shows_its_reason_on_the_row(books, cases, connected, paralegal_client):
    cost = add_cost(cases, 1_000)
    paralegal_client.post(reverse(BULK), {"action": "send", "cost": [cost.pk], "confirmed": "1"})
    OutboxItem.objects.update(
        state=OutboxState.FAILED, error_message="Gave up after 8 attempts: the books answered 503"
    )
    page = text(paralegal_client.get(reverse("cases:case_costs", args=[cases.case.pk])))
    assert "Send failed: Gave up after 8 attempts: the books answered 503" in page


def test_a_cost_held_back_behind_a_failed_one_says_so(books, cases, connected, paralegal_client):
    first, second = add_cost(cases, 1_000), add_cost(cases, 2_000)
    paralegal_client.post(reverse(BULK), {"action": "send", "cost": [first.pk], "confirmed": "1"})
    paralegal_client.post(reverse(BULK), {"action": "send", "cost": [second.pk], "confirmed": "1"})
    blocker = OutboxItem.objects.get(cost=first)
    OutboxItem.objects.filter(pk=blocker.pk).update(
        state=OutboxState.FAILED, error_message="Payee is required"
    )
    page = text(paralegal_client.get(reverse("cases:case_costs", args=[cases.case.pk])))
    assert f"Held back behind an earlier item #{blocker.pk} (Failed: Payee is required)" in page
