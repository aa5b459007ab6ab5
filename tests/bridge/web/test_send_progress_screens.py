"""Issue 14: the truth about costs on their way to the books. Send says "queued", a live
count (polled every 3 s, stopping once nothing is queued or sending) shows them until they
are delivered, the cost rows say Queued / Sending, and the sync queue is in the main
navigation of everyone with Costs management, who can open it."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.test import Client
from django.urls import reverse

from casebridge.bridge.models import OutboxItem, OutboxState
from casebridge.bridge.services.delivery import outbox_deliver
from tests.bridge.conftest import add_cost
from tests.clockwork import time_stands_still

from .conftest import HX, sign_in, text
from .test_queue_and_cost_screens import _item

BULK = "cases:costs_bulk"
NAV_LINK = '<a href="/cases/integrations/books/queue/">Sync queue</a>'


def test_the_queue_is_in_the_navigation_of_everyone_with_costs_management(
    cases, connected, paralegal_client, admin_client
):
    _item(cases, add_cost(cases, 100), OutboxState.FAILED, error="books said no")
    home = text(paralegal_client.get(reverse("cases:case_list")))
    assert NAV_LINK in home
    page = paralegal_client.get(reverse("bridge:queue"))
    assert page.status_code == 200
    body = text(page)
    assert '<a href="/cases/integrations/books/queue/" aria-current="page">Sync queue</a>' in body
    # its way back is Costs Management, not Account Settings (which would answer 403)
    costs_management = reverse("cases:costs_management")
    assert f'<a href="{costs_management}">&larr; Costs Management</a>' in body
    assert reverse("cases:settings_integrations") not in body
    assert paralegal_client.get(reverse("cases:settings_integrations")).status_code == 403
    # Retry is theirs; Withdraw stays with Account Settings (the service refuses it too)
    what = f"Send cost: Records Inc $1.00, case {cases.case.number}"
    assert f'aria-label="Retry {what}">Retry</button>' in body
    assert f'aria-label="Withdraw {what}"' not in body

    assert NAV_LINK in text(admin_client.get(reverse("cases:case_list")))
    admin_queue = text(admin_client.get(reverse("bridge:queue")))
    integrations = reverse("cases:settings_integrations")
    assert f'<a href="{integrations}">&larr; Integrations</a>' in admin_queue
    assert f'aria-label="Withdraw {what}">Withdraw</a>' in admin_queue
    assert not re.search(r"(item|cost) \d", admin_queue)  # no internal id in any label

    attorney = sign_in(Client(), cases.attorney)  # no Costs management
    assert NAV_LINK not in text(attorney.get(reverse("cases:case_list")))
    assert attorney.get(reverse("bridge:queue")).status_code == 403
    assert attorney.get(reverse("bridge:send_progress")).status_code == 403


def test_no_queue_link_without_a_books_connection(cases, paralegal_client):
    assert NAV_LINK not in text(paralegal_client.get(reverse("cases:case_list")))


def test_the_live_count_polls_until_nothing_is_queued_or_sending(
    cases, connected, paralegal_client
):
    a, b, c, d = (add_cost(cases, n) for n in (1_000, 2_000, 3_000, 4_000))
    queued = [_item(cases, a, OutboxState.QUEUED), _item(cases, b, OutboxState.QUEUED)]
    sending = _item(cases, c, OutboxState.SENDING)
    _item(cases, d, OutboxState.FAILED, error="payee: unknown")
    poll = (
        '<div id="send-progress" class="alert alert-info" role="status" aria-live="polite" '
        'data-send-progress="3" hx-get="/cases/integrations/books/queue/progress/" '
        'hx-trigger="every 3s" hx-swap="outerHTML">'
    )
    words = (
        "<p><strong data-queued-count>3 costs queued</strong> for the books, 1 being sent now. "
        'They are Pending until their checks are printed. <span class="text-danger">1 failed.'
        "</span>"
    )
    for url in (
        reverse("cases:costs_management"),
        reverse("cases:case_costs", args=[cases.case.pk]),
        reverse("bridge:send_progress"),
    ):
        page = text(paralegal_client.get(url, **HX))
        assert poll in page, url
        assert words in page, url

    OutboxItem.objects.filter(pk__in=[i.pk for i in queued]).update(state=OutboxState.SENT)
    page = text(paralegal_client.get(reverse("bridge:send_progress"), **HX))
    assert 'data-send-progress="1"' in page
    assert "1 cost queued</strong> for the books, 1 being sent now." in page
    assert 'hx-trigger="every 3s"' in page

    OutboxItem.objects.filter(pk=sending.pk).update(state=OutboxState.SENT)
    page = text(paralegal_client.get(reverse("bridge:send_progress"), **HX))
    assert "hx-trigger" not in page  # the polling stops
    assert (
        '<div id="send-progress" class="alert alert-ok" role="status" aria-live="polite" '
        'data-send-progress="0">\n  <p>Nothing more is being sent now. '
        '<span class="text-danger">1 failed.</span>' in page
    )
    # with nothing on its way the lists show no count at all
    assert 'id="send-progress"' not in text(paralegal_client.get(reverse("cases:costs_management")))


def test_every_cost_delivered_says_so(cases, connected, paralegal_client):
    item = _item(cases, add_cost(cases, 1_000), OutboxState.QUEUED)
    assert 'hx-trigger="every 3s"' in text(paralegal_client.get(reverse("bridge:send_progress")))
    OutboxItem.objects.filter(pk=item.pk).update(state=OutboxState.SENT)
    page = text(paralegal_client.get(reverse("bridge:send_progress")))
    assert "<p>Every queued cost is delivered to the books. <a" in page
    assert "hx-trigger" not in page


def test_send_says_queued_and_the_rows_say_queued_then_delivered(
    books, cases, connected, paralegal_client
):
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_000)]
    response = paralegal_client.post(
        reverse(BULK),
        {"action": "send", "cost": [c.pk for c in costs], "confirmed": "1"},
        follow=True,
    )
    page = text(response)
    assert "2 costs ($30.00) queued for the books; they are Pending until their checks are " in page
    assert "sent to the books;" not in page
    pending = text(paralegal_client.get(reverse("cases:costs_management") + "?status=pending"))
    assert pending.count("Queued for the books") == 2
    assert "2 costs queued</strong> for the books." in pending
    tab = text(paralegal_client.get(reverse("cases:case_costs", args=[cases.case.pk])))
    assert tab.count("Queued for the books") == 2

    OutboxItem.objects.filter(cost=costs[0]).update(state=OutboxState.SENDING)
    pending = text(paralegal_client.get(reverse("cases:costs_management") + "?status=pending"))
    assert pending.count("Queued for the books") == 1
    assert pending.count("Sending to the books") == 1
    OutboxItem.objects.filter(cost=costs[0]).update(state=OutboxState.QUEUED)

    outbox_deliver(firm_id=cases.firm.pk)
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxState.SENT}
    page = text(paralegal_client.get(reverse("bridge:send_progress")))
    assert "Every queued cost is delivered to the books." in page
    pending = text(paralegal_client.get(reverse("cases:costs_management") + "?status=pending"))
    assert "Queued for the books" not in pending
    assert 'id="send-progress"' not in pending


def test_the_bulk_menu_puts_send_first_and_void_last_below_a_line(
    cases, connected, paralegal_client
):
    add_cost(cases, 1_000)
    page = text(paralegal_client.get(reverse("cases:costs_management")))
    menu = page[page.index('id="bulk-menu"') : page.index("</ul>", page.index('id="bulk-menu"'))]
    labels = re.findall(r'role="(?:menuitem|separator)"[^>]*>([^<]*)<', menu)
    assert labels == ["Send to the books", "Export CSV", "Export Excel (XLSX)", "", "Void selected"]
    assert '<li role="separator" class="menu-separator"></li>' in menu


def test_while_every_queued_cost_waits_for_a_retry_the_count_says_when_and_polls_then(
    cases, connected, paralegal_client
):
    """Delivery backing off (the books unreachable): the count says when it retries, on the
    firm's clock, and asks again only then (a little after), not every 3 s; never sooner
    than every 3 s nor later than every 5 minutes."""
    cases.firm.time_zone = "America/Chicago"
    cases.firm.save(update_fields=["time_zone"])
    a, b = add_cost(cases, 1_000), add_cost(cases, 2_000)
    items = [_item(cases, a, OutboxState.QUEUED), _item(cases, b, OutboxState.QUEUED)]
    with time_stands_still() as now:
        first = now + dt.timedelta(seconds=95)
        OutboxItem.objects.filter(pk=items[0].pk).update(next_attempt_at=first, attempts=2)
        OutboxItem.objects.filter(pk=items[1].pk).update(
            next_attempt_at=now + dt.timedelta(seconds=400), attempts=1
        )
        at = first.astimezone(ZoneInfo("America/Chicago")).strftime("%H:%M")
        for url in (reverse("bridge:send_progress"), reverse("cases:costs_management")):
            page = text(paralegal_client.get(url, **HX))
            assert (
                '<div id="send-progress" class="alert alert-info" role="status" '
                'aria-live="polite" data-send-progress="2" '
                'hx-get="/cases/integrations/books/queue/progress/" hx-trigger="every 97s" '
                'hx-swap="outerHTML">' in page
            ), url
            assert (
                "<p><strong data-queued-count>2 costs queued</strong> for the books. "
                f"<span data-retry-at>Waiting to retry at {at}.</span> They are Pending" in page
            ), url

        # one of them due again: the count polls every 3 s and names no retry time
        OutboxItem.objects.filter(pk=items[1].pk).update(next_attempt_at=now)
        page = text(paralegal_client.get(reverse("bridge:send_progress"), **HX))
        assert 'hx-trigger="every 3s"' in page
        assert "Waiting to retry" not in page

        # a retry far off: polled every 5 minutes at the most
        OutboxItem.objects.filter(pk=items[1].pk).update(
            next_attempt_at=now + dt.timedelta(hours=1)
        )
        OutboxItem.objects.filter(pk=items[0].pk).update(
            next_attempt_at=now + dt.timedelta(minutes=30)
        )
        page = text(paralegal_client.get(reverse("bridge:send_progress"), **HX))
        assert 'hx-trigger="every 300s"' in page
        # a retry a second away: never sooner than the usual 3 s
        OutboxItem.objects.filter(pk=items[0].pk).update(
            next_attempt_at=now + dt.timedelta(seconds=0.5)
        )
        page = text(paralegal_client.get(reverse("bridge:send_progress"), **HX))
        assert 'hx-trigger="every 3s"' in page
        assert "Waiting to retry at" in page

        # one being sent now: not waiting
        OutboxItem.objects.filter(pk=items[1].pk).update(state=OutboxState.SENDING)
        page = text(paralegal_client.get(reverse("bridge:send_progress"), **HX))
        assert 'hx-trigger="every 3s"' in page
        assert "Waiting to retry" not in page
