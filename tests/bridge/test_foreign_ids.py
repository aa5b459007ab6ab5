"""Ids of another firm are 404, exactly like ids that do not exist, in the bridge's API and
screens; they never widen the scope to the whole firm (issue 10, item 9)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.bridge.models import OutboxItem, ReconciliationRun, SyncRun
from casebridge.cases.models import Case, Cost, CostStatus
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import firms

from .conftest import add_cost
from .test_api import Api
from .web.conftest import sign_in


@pytest.fixture
def foreign(cases):
    """Another firm with a case and a cost of its own (a different cases firm)."""
    other = firms.firm_create(code="jones-law", name="Jones Law")
    boss = firms.user_create(
        firm=other,
        actor=None,
        email="boss@jones.test",
        password="correct horse battery",
        first_name="Jo",
        last_name="Jones",
        is_firm_admin=True,
    )
    client = case_services.contact_create(firm=other, actor=boss, name="Pat Client")
    case = case_services.case_create(
        firm=other, actor=boss, name="Client v. Other", client_id=client.pk, status="open"
    )
    payee = case_services.contact_create(firm=other, actor=boss, name="Other Records")
    cost = cost_services.cost_create(
        firm=other,
        actor=boss,
        case_id=case.pk,
        payee_id=payee.pk,
        amount_cents=1_000,
        cost_code_id=other.cost_codes.get(code="E112").pk,
        cost_date=cases.case.opened_on,
    )
    return case, cost


def test_check_status_sync_of_another_firms_cost_is_404_and_records_no_run(
    books, cases, connected, foreign
):
    _case, cost = foreign
    mine = add_cost(cases, 2_000)
    status, body = Api(cases.admin.email).post(
        "/check-status/sync", {"cost_ids": [mine.pk, cost.pk]}
    )
    assert status == 404
    assert body["error"] == {
        "code": "not_found",
        "message": f"cost_ids[1]: cost {cost.pk} not found",
        "field": "cost_ids[1]",
        "details": {"id": cost.pk},
    }
    assert not SyncRun.objects.exists()
    missing = Cost.objects.order_by("-pk").first().pk + 1
    status, body = Api(cases.admin.email).post("/check-status/sync", {"cost_ids": [missing]})
    assert (status, body["error"]["message"]) == (404, f"cost_ids[0]: cost {missing} not found")
    assert not SyncRun.objects.exists()


def test_sending_or_retrying_another_firms_ids_is_404(books, cases, connected, foreign):
    _case, cost = foreign
    api = Api(cases.admin.email)
    status, body = api.post("/costs/send", {"cost_ids": [cost.pk]})
    assert (status, body["error"]["field"]) == (404, "cost_ids[0]")
    cost.refresh_from_db()
    assert cost.status == CostStatus.OPEN
    other_item = OutboxItem.objects.create(
        firm=cost.firm,
        case=cost.case,
        cost=cost,
        kind="cost_send",
        key="k-foreign",
        payload={},
        state="failed",
        next_attempt_at=cost.created_at,
        created_at=cost.created_at,
    )
    status, body = api.post("/queue/retry", {"item_ids": [other_item.pk]})
    assert (status, body["error"]["message"]) == (
        404,
        f"item_ids[0]: outbox item {other_item.pk} not found",
    )
    other_item.refresh_from_db()
    assert other_item.state == "failed"


def test_the_reconciliation_of_another_firms_case_is_404_not_the_whole_firm(
    books, cases, connected, foreign
):
    other_case, _cost = foreign
    client = sign_in(Client(), cases.admin)
    missing = Case.objects.order_by("-pk").first().pk + 1
    for raw in (str(other_case.pk), str(missing), "abc", "²", "9" * 30, "-1"):
        assert client.get(reverse("bridge:reconciliation"), {"case": raw}).status_code == 404
        response = client.post(reverse("bridge:reconciliation_run"), {"case": raw})
        assert response.status_code == 404
    assert not ReconciliationRun.objects.exists()
    # no case at all: the whole firm, as before
    assert client.get(reverse("bridge:reconciliation")).status_code == 200
