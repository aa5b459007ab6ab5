"""The screens' twins on the bridge's API (issue 14): run the reconciliation (202, the worker
runs it), read it and its differences, fix one; read the cost code mapping and map a cost
code, with the screens' refusals and permission."""

from __future__ import annotations

import json
from typing import Any

from casebridge.books.models import ActivityCode, Check
from casebridge.bridge.models import CostCodeMapping, ReconciliationRun
from casebridge.bridge.services import outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.models import CostCode
from tests.cases.helpers import deposit, offer

from .conftest import add_cost, work
from .test_api import BASE, Api


def _put(api: Api, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = api.client.put(
        BASE + path, json.dumps(body), content_type="application/json", headers=api.headers
    )
    return response.status_code, response.json()


def test_a_reconciliation_is_queued_then_read_with_its_differences(books, cases, connected):
    cost = add_cost(cases, 12_500)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    Check.objects.filter(firm=books.firm).update(amount_cents=12_000)
    api = Api(cases.admin.email)

    status, before = api.get("/reconciliation")
    assert (status, before["run"], before["pending"]) == (200, None, None)
    assert before["differences"] == {"items": [], "next": None}

    status, queued = api.post("/reconciliation/runs", {})
    assert status == 202, queued
    assert (queued["state"], queued["case_id"], queued["finished_at"]) == ("queued", None, None)
    assert api.get("/reconciliation")[1]["pending"]["id"] == queued["id"]

    work(cases.firm.pk)
    status, run = api.get(f"/reconciliation/runs/{queued['id']}")
    assert (status, run["state"], run["clean"], run["differences"]) == (200, "done", False, 1)

    status, last = api.get("/reconciliation")
    assert (last["run"]["id"], last["pending"]) == (queued["id"], None)
    [diff] = last["differences"]["items"]
    assert last["differences"]["next"] is None
    assert (diff["kind"], diff["cases_amount"], diff["books_amount"], diff["fix"]) == (
        "cost",
        "125.00",
        "120.00",
        None,
    )
    assert api.get("/reconciliation?kind=deposit")[1]["differences"] == {"items": [], "next": None}


def test_a_difference_is_fixed_through_the_api(books, cases, connected):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    from casebridge.bridge.models import OutboxItem

    OutboxItem.objects.update(state="failed", error_message="The books said no")
    api = Api(cases.admin.email)
    api.post("/reconciliation/runs", {})
    work(cases.firm.pk)
    [diff] = api.get("/reconciliation")[1]["differences"]["items"]
    assert (diff["kind"], diff["fix"], diff["fixed_at"]) == ("deposit", "retry", None)

    status, fixed = api.post(f"/reconciliation/differences/{diff['id']}/fix")
    assert status == 200, fixed
    assert fixed["fixed_at"] is not None
    assert OutboxItem.objects.get().state == "queued"
    status, again = api.post(f"/reconciliation/differences/{diff['id']}/fix")
    assert (status, again["error"]["message"]) == (
        409,
        "this difference was already put right; run the reconciliation again",
    )


def test_one_case_is_reconciled_and_another_firms_case_is_not_found(books, cases, connected):
    api = Api(cases.admin.email)
    status, queued = api.post("/reconciliation/runs", {"case_id": cases.case.pk})
    assert (status, queued["case_id"]) == (202, cases.case.pk)
    status, missing = api.post("/reconciliation/runs", {"case_id": 999_999})
    assert (status, missing["error"]["code"], missing["error"]["field"]) == (
        404,
        "not_found",
        "case_id",
    )
    assert ReconciliationRun.objects.count() == 1


def test_a_paralegal_may_not_reconcile_or_map(books, cases, connected):
    api = Api(cases.paralegal.email)
    code = CostCode.objects.get(firm=cases.firm, code="MEDREC")
    replies = [
        api.post("/reconciliation/runs", {}),
        api.get("/reconciliation"),
        api.get("/cost-code-mapping"),
        _put(api, f"/cost-code-mapping/{code.pk}", {"activity_code_id": None}),
    ]
    assert [(s, body["error"]["code"]) for s, body in replies] == [(403, "permission_denied")] * 4
    assert ReconciliationRun.objects.count() == 0
    assert CostCodeMapping.objects.count() == 0


def test_the_cost_code_mapping_is_read_and_changed(books, cases, connected):
    api = Api(cases.admin.email)
    expert = ActivityCode.objects.get(firm=books.firm, code="E119")
    copp = ActivityCode.objects.get(firm=books.firm, code="COPP")
    code = CostCode.objects.get(firm=cases.firm, code="MEDREC")

    status, mapping = api.get("/cost-code-mapping")
    assert status == 200
    [row] = [r for r in mapping["items"] if r["cost_code"] == "MEDREC"]
    assert (row["cost_code_id"], row["mapped_to"]) == (code.pk, None)
    assert {"id": expert.pk, "label": "E119 Experts"} in mapping["choices"]
    assert copp.pk not in [c["id"] for c in mapping["choices"]]

    status, refused = _put(api, f"/cost-code-mapping/{code.pk}", {"activity_code_id": copp.pk})
    assert (status, refused["error"]["field"]) == (422, "activity_code")
    assert refused["error"]["message"].startswith(
        "COPP posts to GL 4100 COPP Charges Income, not to Advanced client costs"
    )
    assert CostCodeMapping.objects.count() == 0

    status, mapped = _put(api, f"/cost-code-mapping/{code.pk}", {"activity_code_id": expert.pk})
    assert status == 200, mapped
    assert mapped["mapped_to"] == {"id": expert.pk, "label": "E119 Experts"}
    assert CostCodeMapping.objects.get().activity_code_id == expert.pk

    status, back = _put(api, f"/cost-code-mapping/{code.pk}", {"activity_code_id": None})
    assert (status, back["mapped_to"]) == (200, None)
    assert CostCodeMapping.objects.count() == 0


def test_an_inactive_cost_code_is_not_found_and_nothing_is_written(books, cases, connected):
    api = Api(cases.admin.email)
    expert = ActivityCode.objects.get(firm=books.firm, code="E119")
    code = CostCode.objects.get(firm=cases.firm, code="MEDREC")
    CostCode.objects.filter(pk=code.pk).update(is_active=False)
    status, body = _put(api, f"/cost-code-mapping/{code.pk}", {"activity_code_id": expert.pk})
    assert (status, body["error"]["field"]) == (404, "cost_code_id")
    assert CostCodeMapping.objects.count() == 0
