"""Another firm's ids are 404 ``not_found`` everywhere, exactly like ids that do not exist,
and nothing is written; lists never show another firm's rows."""

from __future__ import annotations

import re

import pytest

from casebridge.cases.models import Case, FeeChangeRequest, TrustItem
from tests.cases.api.conftest import BASE, db_state, refused
from tests.cases.conftest import cost_code
from tests.cases.medical_helpers import medical_bodies

TERMS = {
    "fee_mode": "percent",
    "fee_rate": "30",
    "fee_fixed": "0",
    "fee_on_net_of_costs": False,
    "copp": "0",
    "property_damage_fee": "0",
}


@pytest.fixture
def mine(cfirm, case, client_contact, insurer, open_cost, cattorney) -> dict[str, int]:
    return {
        "case_id": case.pk,
        "contact_id": client_contact.pk,
        "insurer_id": insurer.pk,
        "cost_id": open_cost.pk,
        "attorney_id": cattorney.pk,
        "cost_code_id": cost_code(cfirm, "E101").pk,
    }


def bodies(mine: dict[str, int]) -> dict[tuple[str, str], object]:
    """A body for each endpoint with an id in its path, valid but for that id."""
    return {
        ("patch", "/cases/{case_id}"): {"status": "open"},
        ("post", "/cases/{case_id}/links"): {"case_id": mine["case_id"]},
        ("patch", "/costs/{cost_id}"): {"memo": "x"},
        ("post", "/costs/{cost_id}/void"): {},
        ("post", "/costs/{cost_id}/pay"): {"method": "check", "reference": "1"},
        ("post", "/costs/{cost_id}/split"): {},
        ("put", "/cases/{case_id}/settlement/terms"): TERMS,
        ("post", "/cases/{case_id}/negotiations"): {
            "kind": "offer",
            "party_id": mine["insurer_id"],
            "amount": "1.00",
        },
        ("post", "/negotiations/{negotiation_id}/accept"): {},
        ("post", "/cases/{case_id}/deposits"): {
            "offer_id": 1,
            "amount": "1.00",
            "check_number": "1",
        },
        ("post", "/deposits/{deposit_id}/void"): {},
        ("post", "/cases/{case_id}/liens"): {
            "kind": "medical",
            "holder_id": mine["contact_id"],
            "claimed": "1.00",
        },
        ("put", "/liens/{lien_id}"): {"claimed": "1.00", "final": None, "paid_direct": False},
        ("post", "/liens/{lien_id}/accept"): {"final": "1.00"},
        ("post", "/liens/{lien_id}/reopen"): {"reason": "R"},
        ("post", "/liens/{lien_id}/reductions"): {"step": "requested", "amount": "1.00"},
        ("post", "/cases/{case_id}/lien-reductions/apply"): {"scenario": "procurement"},
        ("put", "/cases/{case_id}/medicare/beneficiary"): {"is_beneficiary": True},
        ("post", "/cases/{case_id}/medicare/steps"): {
            "kind": "final_demand",
            "on": "2026-01-01",
            "amount": "1.00",
            "note": "N",
        },
        ("post", "/cases/{case_id}/medicare/steps/{step_id}/void"): {"reason": "R"},
        ("post", "/cases/{case_id}/medicare/hold-override"): {"reason": "R"},
        ("post", "/cases/{case_id}/medicare/hold-override/revoke"): {"reason": "R"},
        ("post", "/cases/{case_id}/trust-items"): {"kind": "fee"},
        ("post", "/cases/{case_id}/push-to-client-trust"): {},
        ("post", "/users/{user_id}/password-reset"): {"temporary_password": "temporary-123"},
        **medical_bodies(mine),
        ("patch", "/limitation-rules/{rule_id}"): {"is_active": False},
        ("post", "/cases/{case_id}/deadlines"): {"title": "T", "due_date": "2027-01-01"},
        ("post", "/deadlines/{deadline_id}/satisfy"): {},
        ("post", "/deadlines/{deadline_id}/change"): {"due_date": "2027-02-01", "reason": "R"},
    }


def _operations(api) -> list[tuple[str, str]]:
    schema = api.get("/openapi.json").body
    return [
        (method, path.removeprefix(BASE))
        for path, ops in schema["paths"].items()
        for method in ops
        if "{" in path
    ]


def _send(api, method: str, path: str, body: object):
    if method == "get":
        return api.get(path)
    if method == "delete":
        return api.delete(path)
    if method == "post":
        return api.post(path, body, key=f"scoping-{path}")
    return getattr(api, method)(path, body)


def test_every_endpoint_answers_404_for_another_firms_ids_and_writes_nothing(
    api, mine, other_world
):
    table = bodies(mine)
    operations = _operations(api)
    assert len(operations) > 20
    for method, template in operations:
        names = re.findall(r"{(\w+)}", template)
        # each id in turn is the other firm's, the rest are ours (where we have one)
        for foreign in names:
            ids = {n: mine.get(n, other_world[n]) for n in names} | {foreign: other_world[foreign]}
            path = template.format(**ids)
            before = db_state()
            reply = _send(api, method, path, table.get((method, template)))
            assert reply.status == 404, (method, path, reply.body)
            assert reply.error["code"] == "not_found", (method, path)
            assert "not found" in reply.error["message"] or "not linked" in reply.error["message"]
            assert db_state() == before, (method, path)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/costs", {"case_id": "X", "payee_id": "C", "cost_code_id": "K"}, "case_id"),
        ("post", "/costs", {"case_id": "c", "payee_id": "X", "cost_code_id": "k"}, "payee_id"),
        ("post", "/costs", {"case_id": "c", "payee_id": "C", "cost_code_id": "X"}, "cost_code_id"),
        ("post", "/cases", {"client_id": "X"}, "client_id"),
        (
            "post",
            "/cases",
            {"client_id": "C", "responsible_attorney_id": "X"},
            "responsible_attorney_id",
        ),
        ("post", "/cases", {"client_id": "C", "case_type_id": "X"}, "case_type_id"),
        ("patch", "/cases/{case}", {"responsible_attorney_id": "X"}, "responsible_attorney_id"),
        ("post", "/cases/{case}/links", {"case_id": "X"}, "case_id"),
        ("patch", "/costs/{cost}", {"payee_id": "X"}, "payee_id"),
        ("patch", "/costs/{cost}", {"cost_code_id": "X"}, "cost_code_id"),
        ("post", "/cases/{case}/negotiations", {"party_id": "X"}, "party_id"),
        ("post", "/cases/{case}/deposits", {"offer_id": "X"}, "offer_id"),
        ("post", "/cases/{case}/liens", {"holder_id": "X"}, "holder_id"),
        ("post", "/cases/{case}/trust-items", {"kind": "lien", "lien_id": "X"}, "lien_id"),
        (
            "post",
            "/costs/{cost}/split",
            {"parts": [{"case_id": "X", "amount": "1"}]},
            "parts[0].case_id",
        ),
    ],
)
def test_another_firms_ids_in_a_body_are_404_naming_the_field(
    api, mine, other_world, method, path, body, field
):
    foreign = {
        "case_id": other_world["case_id"],
        "payee_id": other_world["contact_id"],
        "client_id": other_world["contact_id"],
        "party_id": other_world["contact_id"],
        "holder_id": other_world["contact_id"],
        "cost_code_id": other_world["cost_code_id"],
        "responsible_attorney_id": other_world["user_id"],
        "case_type_id": other_world["case_type_id"],
        "offer_id": other_world["offer_id"],
        "lien_id": other_world["lien_id"],
    }
    ours = {"c": mine["case_id"], "C": mine["contact_id"], "k": mine["cost_code_id"]}
    ours["K"] = ours["k"]
    defaults = {
        "/costs": {"amount": "1.00"},
        "/cases": {"name": "X"},
        "/cases/{case}/negotiations": {"kind": "offer", "amount": "1.00"},
        "/cases/{case}/deposits": {"amount": "1.00", "check_number": "1"},
        "/cases/{case}/liens": {"kind": "medical", "claimed": "1.00"},
    }

    def resolve(key: str, value: object) -> object:
        if value == "X":
            return foreign[key.split(".")[-1]]
        if isinstance(value, str) and value in ours and key.endswith("_id"):
            return ours[value]
        if isinstance(value, list):
            return [{k: resolve(k, v) for k, v in part.items()} for part in value]
        return value

    payload = {**defaults.get(path, {}), **{k: resolve(k, v) for k, v in body.items()}}
    url = path.format(case=mine["case_id"], cost=mine["cost_id"])
    before = db_state()
    reply = _send(api, method, url, payload)
    refused(reply, 404, "not_found", f"{field}: ", field=field)
    assert db_state() == before


def test_lists_and_filters_show_only_the_firms_own_rows(api, mine, other_world):
    assert {c["id"] for c in api.get("/cases").body["items"]} == {mine["case_id"]}
    assert api.get("/deadlines").body["items"] == []  # the other firm's is not listed
    assert api.get("/limitation-rules").body["count"] == 3  # its own seeded rules only
    empty = {"items": [], "next": None}
    assert api.get("/cases", {"client_id": other_world["contact_id"]}).body == empty
    assert api.get("/cases", {"attorney_id": other_world["user_id"]}).body == empty
    contacts = {c["id"] for c in api.get("/contacts", {"limit": 1000}).body["items"]}
    assert other_world["contact_id"] not in contacts
    users = {u["id"] for u in api.get("/users").body["items"]}
    assert other_world["user_id"] not in users
    codes = {c["id"] for c in api.get("/cost-codes", {"limit": 1000}).body["items"]}
    assert other_world["cost_code_id"] not in codes
    assert {c["id"] for c in api.get("/costs").body["items"]} == {mine["cost_id"]}
    assert api.get("/costs", {"case_id": other_world["case_id"]}).body["count"] == 0
    assert FeeChangeRequest.objects.count() == 1
    assert api.get("/fee-change-requests").body == empty
    TrustItem.objects.update(status="to_be_disbursed")
    assert api.get("/trust/to-be-disbursed").body == empty
    assert Case.objects.count() == 4


def test_an_id_that_does_not_exist_reads_the_same_as_another_firms(api, other_world):
    missing = api.get("/cases/999999")
    foreign = api.get(f"/cases/{other_world['case_id']}")
    assert missing.status == foreign.status == 404
    assert missing.error == {"code": "not_found", "message": "case 999999 not found"}
    assert foreign.error["message"] == f"case {other_world['case_id']} not found"
