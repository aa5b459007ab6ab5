"""The sync queue, and a cost row's Send / Split and send / Sync check status."""

from __future__ import annotations

import re
import uuid

from django.urls import reverse

from casebridge.books.models import AreaOfPractice
from casebridge.bridge.models import OutboxItem, OutboxKind, OutboxState, SyncRun
from casebridge.cases.models import Cost, CostStatus
from casebridge.cases.services import cases as case_services
from casebridge.core import clock
from tests.bridge.conftest import add_cost, books_read_again, work

from .conftest import HX, text


def _item(cases, cost, state, *, kind=OutboxKind.COST_SEND, error="", attempts=0):
    now = clock.now()
    return OutboxItem.objects.create(
        firm=cases.firm,
        case=cost.case,
        cost=cost,
        kind=kind,
        state=state,
        key=uuid.uuid4().hex,
        payload={"external_ref": f"cases-cost-{cost.pk}", "amount_cents": cost.amount_cents},
        attempts=attempts,
        error_code="rejected" if error else "",
        error_message=error,
        next_attempt_at=now,
        created_at=now,
    )


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="item-(\d+)"', page)


def _other_case(cases):
    client = case_services.contact_create(firm=cases.firm, actor=cases.admin, name="Bo Diaz")
    return case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Diaz v. Bolt",
        client_id=client.pk,
        responsible_attorney_id=cases.attorney.pk,
        status="open",
    )


def test_the_queue_counts_each_state_and_filters(cases, paralegal_client):
    other = _other_case(cases)
    a = add_cost(cases, 12_345, payee="Records Inc")
    b = add_cost(cases, 500, payee="Court Clerk")
    c = add_cost(cases, 7_000, payee="Expert LLC", case=other)
    failed = _item(cases, a, OutboxState.FAILED, error="file_id: no such file", attempts=8)
    queued = _item(cases, b, OutboxState.QUEUED)
    sent = _item(cases, c, OutboxState.SENT, attempts=1)
    voiding = _item(cases, c, OutboxState.QUEUED, kind=OutboxKind.COST_VOID)

    page = text(paralegal_client.get(reverse("bridge:queue")))
    counts = dict(re.findall(r'data-state-count="([a-z]+)">[^:]+: (\d+)<', page))
    assert counts == {
        "queued": "2",
        "sending": "0",
        "sent": "1",
        "failed": "1",
        "waiting": "0",
        "cancelled": "0",
    }
    assert _rows(page) == [str(voiding.pk), str(sent.pk), str(queued.pk), str(failed.pk)]
    row = re.search(rf'<tr id="item-{failed.pk}".*?</tr>', page, re.S)
    assert row
    row_html = row.group(0)
    assert f'href="{reverse("cases:case_costs", args=[cases.case.pk])}"' in row_html
    assert 'Records Inc <span class="nowrap">$123.45</span>' in row_html
    assert "file_id: no such file" in row_html
    assert '<td class="num">8</td>' in row_html
    assert ">Retry</button>" in row_html
    assert ">Withdraw</a>" not in row_html  # withdrawing needs Account Settings access
    assert ">Retry all failed</button>" in page

    url = reverse("bridge:queue")
    assert _rows(text(paralegal_client.get(url, {"state": "failed"}))) == [str(failed.pk)]
    assert _rows(text(paralegal_client.get(url, {"kind": "cost_void"}))) == [str(voiding.pk)]
    assert _rows(text(paralegal_client.get(url, {"case": other.number.lower()}))) == [
        str(voiding.pk),
        str(sent.pk),
    ]
    assert _rows(text(paralegal_client.get(url, {"state": "queued", "case": other.number}))) == [
        str(voiding.pk)
    ]
    page = text(paralegal_client.get(url, {"state": "bogus"}))  # junk filter: no 500
    assert "Select a valid choice." in page


def test_an_administrator_may_withdraw_a_failed_send(cases, admin_client):
    cost = add_cost(cases, 12_345)
    failed = _item(cases, cost, OutboxState.FAILED, error="Payee is required", attempts=1)
    page = text(admin_client.get(reverse("bridge:queue")))
    row = re.search(rf'<tr id="item-{failed.pk}".*?</tr>', page, re.S)
    assert row
    assert ">Withdraw</a>" in row.group(0)


def test_retry_one_failed_item_then_all(cases, paralegal_client):
    a = add_cost(cases, 100)
    b = add_cost(cases, 200)
    one = _item(cases, a, OutboxState.FAILED, error="books said no", attempts=8)
    two = _item(cases, b, OutboxState.FAILED, error="books said no", attempts=3)
    here = reverse("bridge:queue") + "?state=failed"
    response = paralegal_client.post(
        reverse("bridge:queue_retry"), {"item": str(one.pk), "next": here}
    )
    assert response.status_code == 302
    assert response["Location"] == here
    one.refresh_from_db()
    assert (one.state, one.attempts, one.error_message) == (OutboxState.QUEUED, 0, "")
    assert OutboxItem.objects.get(pk=two.pk).state == OutboxState.FAILED
    page = text(paralegal_client.get(here))
    assert "1 failed item queued again." in page
    assert _rows(page) == [str(two.pk)]

    # retrying an item that is no longer failed is refused on the page, with 422
    response = paralegal_client.post(reverse("bridge:queue_retry"), {"item": str(one.pk)})
    assert response.status_code == 422
    assert "Only failed items can be retried; reload the queue" in text(response)

    response = paralegal_client.post(reverse("bridge:queue_retry"), {})
    assert response["Location"] == reverse("bridge:queue")
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxState.QUEUED}
    assert "1 failed item queued again." in text(paralegal_client.get(reverse("bridge:queue")))
    assert paralegal_client.post(reverse("bridge:queue_retry"), {"item": "x"}).status_code == 404


def test_the_queue_needs_costs_management(cases):
    from django.test import Client

    from .conftest import sign_in

    client = sign_in(Client(), cases.attorney)
    response = client.get(reverse("bridge:queue"))
    assert response.status_code == 403
    assert 'data-permission="costs_management"' in text(response)


def test_withdraw_needs_settings_access_and_says_so(cases, connected, paralegal_client):
    cost = add_cost(cases, 100)
    item = _item(cases, cost, OutboxState.FAILED, error="books said no")
    response = paralegal_client.post(reverse("bridge:item_withdraw", args=[item.pk]), {}, **HX)
    assert response.status_code == 422
    assert "This needs the &#x27;Administration settings page access&#x27; permission" in text(
        response
    )
    assert OutboxItem.objects.get(pk=item.pk).state == OutboxState.FAILED


def test_send_one_cost_from_its_row_makes_it_pending(books, cases, connected, paralegal_client):
    cost = add_cost(cases, 12_345, payee="Records Inc")
    form = text(paralegal_client.get(reverse("bridge:cost_send", args=[cost.pk]), **HX))
    assert form.startswith("<dialog")
    assert "Records Inc" in form
    assert "$123.45" in form
    assert f'<option value="{books.operating.pk}" selected>{books.operating.name}</option>' in form
    assert f'value="{books.trust.pk}"' not in form
    response = paralegal_client.post(
        reverse("bridge:cost_send", args=[cost.pk]),
        {"bank_account": str(books.operating.pk)},
        **HX,
    )
    assert response.status_code == 200, text(response)
    assert response["HX-Redirect"] == reverse("cases:case_costs", args=[cases.case.pk])
    cost.refresh_from_db()
    assert cost.status == CostStatus.PENDING
    item = OutboxItem.objects.get(cost=cost)
    payload = item.payload
    assert (item.kind, item.state, payload["bank_account_id"], payload["amount_cents"]) == (
        OutboxKind.COST_SEND,
        OutboxState.QUEUED,
        books.operating.pk,
        12_345,
    )
    page = text(paralegal_client.get(reverse("cases:case_costs", args=[cases.case.pk])))
    assert (
        "Cost of $123.45 to Records Inc queued for the books; it is Pending until its check is "
        "printed." in page
    )
    # sending it again is refused in the pop-up
    response = paralegal_client.post(
        reverse("bridge:cost_send", args=[cost.pk]),
        {"bank_account": str(books.operating.pk)},
        **HX,
    )
    assert response.status_code == 422
    assert "only Open costs can be sent" in text(response)
    assert OutboxItem.objects.count() == 1


def test_send_is_refused_naming_the_failing_check(books, cases, connected, paralegal_client):
    cost = add_cost(cases, 100)
    AreaOfPractice.objects.filter(firm=books.firm).update(name="WC", description="Workers comp")
    books_read_again(cases)  # the worker's next refresh (a send never asks the books)
    response = paralegal_client.post(
        reverse("bridge:cost_send", args=[cost.pk]),
        {"bank_account": str(books.operating.pk)},
        **HX,
    )
    assert response.status_code == 422
    assert "Not ready to send: Personal Injury is an area of practice: Not found." in text(response)
    assert Cost.objects.get(pk=cost.pk).status == CostStatus.OPEN
    assert not OutboxItem.objects.exists()


def test_send_when_not_connected_says_so(cases, paralegal_client):
    cost = add_cost(cases, 100)
    response = paralegal_client.get(reverse("bridge:cost_send", args=[cost.pk]), **HX)
    assert response.status_code == 200
    page = text(response)
    assert "The books integration is not connected" in page
    assert ">Send</button>" not in page
    response = paralegal_client.post(reverse("bridge:cost_send", args=[cost.pk]), {}, **HX)
    assert response.status_code == 422


def _linked(cases):
    other = _other_case(cases)
    case_services.cases_link(case=cases.case, other_case_id=other.pk, actor=cases.admin)
    return other


def test_split_and_send_splits_and_sends_every_part(books, cases, connected, paralegal_client):
    other = _linked(cases)
    cost = add_cost(cases, 10_001, payee="Records Inc")
    url = reverse("bridge:cost_split_send", args=[cost.pk])
    form = text(paralegal_client.get(url, **HX))
    assert f'name="part_{cases.case.pk}" id="id_part_{cases.case.pk}" value="50.01"' in form
    assert f'name="part_{other.pk}" id="id_part_{other.pk}" value="50.00"' in form
    assert f'<option value="{books.operating.pk}" selected>' in form
    assert ">Split and send</button>" in form
    response = paralegal_client.post(
        url,
        {
            f"part_{cases.case.pk}": "60.01",
            f"part_{other.pk}": "40.00",
            "bank_account": str(books.operating.pk),
        },
        **HX,
    )
    assert response.status_code == 200, text(response)
    assert response["HX-Redirect"] == reverse("cases:case_costs", args=[cases.case.pk])
    parts = list(Cost.objects.filter(firm=cases.firm).order_by("pk"))
    assert [(c.case_id, c.amount_cents, c.status) for c in parts] == [
        (cases.case.pk, 6_001, CostStatus.PENDING),
        (other.pk, 4_000, CostStatus.PENDING),
    ]
    assert sorted(OutboxItem.objects.values_list("cost_id", "state")) == [
        (parts[0].pk, OutboxState.QUEUED),
        (parts[1].pk, OutboxState.QUEUED),
    ]


def test_split_and_send_refused_by_the_send_writes_nothing(
    books, cases, connected, paralegal_client
):
    other = _linked(cases)
    cost = add_cost(cases, 10_000)
    AreaOfPractice.objects.filter(firm=books.firm).update(name="WC", description="Workers comp")
    books_read_again(cases)
    before = list(Cost.objects.order_by("pk").values_list())
    response = paralegal_client.post(
        reverse("bridge:cost_split_send", args=[cost.pk]),
        {
            f"part_{cases.case.pk}": "50.00",
            f"part_{other.pk}": "50.00",
            "bank_account": str(books.operating.pk),
        },
        **HX,
    )
    assert response.status_code == 422
    assert "Not ready to send: Personal Injury is an area of practice" in text(response)
    assert list(Cost.objects.order_by("pk").values_list()) == before
    assert not OutboxItem.objects.exists()

    # parts that do not add up are refused by the split, also writing nothing
    AreaOfPractice.objects.filter(firm=books.firm).update(name="PI", description="Personal Injury")
    books_read_again(cases)
    response = paralegal_client.post(
        reverse("bridge:cost_split_send", args=[cost.pk]),
        {
            f"part_{cases.case.pk}": "50.00",
            f"part_{other.pk}": "49.99",
            "bank_account": str(books.operating.pk),
        },
        **HX,
    )
    assert response.status_code == 422
    assert "The parts add up to $99.99, not the cost&#x27;s $100.00" in text(response)
    assert list(Cost.objects.order_by("pk").values_list()) == before


def test_sync_check_status_with_nothing_sent(cases, connected, admin_client):
    integrations = reverse("cases:settings_integrations")
    response = admin_client.post(reverse("bridge:sync"), {"next": integrations})
    assert response.status_code == 302
    assert response["Location"] == integrations
    cost = add_cost(cases, 100)
    response = admin_client.post(reverse("bridge:cost_sync", args=[cost.pk]), {}, **HX)
    assert response["HX-Redirect"] == reverse("cases:case_costs", args=[cases.case.pk])
    page = text(admin_client.get(reverse("cases:case_costs", args=[cases.case.pk])))
    # both queued for the worker: the page says they started
    assert page.count("Check status sync started: the worker is asking the books") == 2
    card = text(admin_client.get(integrations))
    run = SyncRun.objects.latest("pk")
    poll = reverse("bridge:sync_run", args=[run.pk])
    assert f'hx-get="{poll}" hx-trigger="every 2s"' in card
    assert "running: the worker is asking the books…" in text(admin_client.get(poll, **HX))
    work(cases.firm.pk)
    assert list(SyncRun.objects.values_list("state", "checked", "error")) == [("done", 0, "")] * 2
    line = text(admin_client.get(poll, **HX))
    assert ": 0 paid, 0 voided, 0 problems</dd>" in line
    assert "hx-trigger" not in line  # done: it stops polling


def test_sync_check_status_when_not_connected_is_a_message_not_an_error(cases, admin_client):
    response = admin_client.post(reverse("bridge:sync"), {"next": "https://evil.test/"})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:settings_integrations")


def test_every_pop_up_opens_as_a_page_without_htmx(cases, connected, admin_client):
    cost = add_cost(cases, 100)
    code = cost.cost_code
    for url in (
        reverse("bridge:activate"),
        reverse("bridge:defaults"),
        reverse("bridge:deactivate"),
        reverse("bridge:reauthenticate"),
        reverse("bridge:mapping_edit", args=[code.pk]),
        reverse("bridge:cost_send", args=[cost.pk]),
        reverse("bridge:cost_split_send", args=[cost.pk]),
        reverse("bridge:cost_sync", args=[cost.pk]),
        reverse("bridge:readiness"),
        reverse("bridge:mappings"),
        reverse("bridge:queue"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert text(response).lstrip().lower().startswith("<!doctype html"), url
    for name in ("cost_send", "cost_split_send", "cost_sync", "mapping_edit", "item_withdraw"):
        assert admin_client.get(reverse(f"bridge:{name}", args=[987654])).status_code == 404
    assert admin_client.get(reverse("bridge:sync")).status_code == 405


def test_split_and_send_without_linked_cases_says_so(cases, connected, paralegal_client):
    cost = add_cost(cases, 100)
    response = paralegal_client.get(reverse("bridge:cost_split_send", args=[cost.pk]), **HX)
    assert response.status_code == 200
    page = text(response)
    assert '<div class="alert alert-error" role="alert">' in page
    assert ">Split and send</button>" not in page
    response = paralegal_client.post(reverse("bridge:cost_split_send", args=[cost.pk]), {}, **HX)
    assert response.status_code == 422
    assert Cost.objects.get(pk=cost.pk).status == CostStatus.OPEN
