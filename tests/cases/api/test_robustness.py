"""No input reaches the 500 handler: hostile bodies, queries and paths against every
endpoint the schema lists, and every field of a valid body replaced by hostile values, are
refused with a JSON error (or accepted), never a crash."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest

from casebridge.cases.models import LimitationRule
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines, medicare, settlement
from casebridge.core import clock
from tests.cases.api.conftest import BASE, contact
from tests.cases.conftest import cost_code
from tests.cases.medical_helpers import MEDICAL_ID_NAMES, medical_bodies, medical_ids

HOSTILE_BODIES: list[str] = [
    "",
    "{",
    "[]",
    "null",
    "0",
    '"text"',
    "{}",
    '{"unknown": 1}',
    "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser recurses
    '{"amount": 1e400, "made_on": "2026-13-01"}',
    '{"amount": ' + "9" * 5000 + "}",  # longer than Python parses an int
    '{"name": "\\ud800", "memo": "\\udfff", "note": "\\u0000", "payee_name": "\\u0000"}',
    '{"case_id": -1, "payee_id": 0, "client_id": 99999999999999999999999}',
    '{"parts": [null], "kind": {}, "fee_rate": [], "status": 5}',
    json.dumps({"parts": [{}] * 3, "amount": "1", "claimed": "-1", "final": "x"}),
]

#: Values every field of a valid body is replaced with, one at a time.
HOSTILE_VALUES: list[object] = [
    None,
    "",
    " ",
    "\x00",
    "\ud800",
    "x" * 10_000,
    -1,
    0,
    2**63,
    10**30,
    1.5,
    True,
    [],
    {},
    "9" * 40,
    "-99999999999.99",
    "99999999999.99",
    "1e5",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
]

HOSTILE_QUERIES: list[dict[str, str]] = [
    {"limit": "0"},
    {"limit": "abc", "offset": "-1"},
    {"offset": "99999999999999999999"},
    {"q": "\x00", "status": "\x00", "sort": "\x00"},
    {"q": "x" * 5000},
    {"status": "nope", "sort": "nope", "is_attorney": "maybe"},
    {"case_id": "9" * 30, "attorney_id": "-1", "payee_id": "x", "client_id": "0"},
    {"date_from": "2026-02-30", "date_to": "yesterday"},
    {"amount_min": "1.001", "amount_max": "1e9", "page": "0", "limit": "100000"},
    {"page": "99999999999", "limit": "500", "amount_min": "-99999999999.99"},
    {"cursor": "\x00"},
    {"cursor": "eyJhIjoxfQ", "limit": "1"},
    {"cursor": "WyJ4IiwgIlx1ZDgwMCIsIDFd", "sort": "amount"},
    {"cursor": "x" * 5000},
]


ID_NAMES = (
    "case_id",
    "other_case_id",
    "contact_id",
    "insurer_id",
    "cost_id",
    "negotiation_id",
    "offer_id",
    "deposit_id",
    "lien_id",
    "item_id",
    "request_id",
    "user_id",
    "cost_code_id",
    *MEDICAL_ID_NAMES,
    "rule_id",
    "deadline_id",
    "step_id",
)


@pytest.fixture
def ids(cfirm, cadmin, cattorney, case, client_contact, open_cost, insurer) -> dict[str, int]:
    linked = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Passenger", client_id=client_contact.pk
    )
    case_services.cases_link(case=case, other_case_id=linked.pk, actor=cadmin)
    offer = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=1_000_000,
    )
    accepted = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=linked.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=1_000_000,
    )
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=accepted.pk)
    deposit = settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=linked.pk,
        offer_id=accepted.pk,
        amount_cents=500_000,
        check_number="1",
    )
    lien = settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medical",
        holder_id=contact(cfirm, cadmin, "Valley Medical").pk,
        claimed_cents=100_000,
    )
    item = settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=linked.pk, kind="fee")
    _, request = settlement.settlement_terms_update(
        firm=cfirm,
        actor=cattorney,
        case_id=case.pk,
        fee_mode="fixed",
        fee_rate_bp=0,
        fee_fixed_cents=100,
        fee_on_net_of_costs=False,
        copp_cents=0,
        property_damage_fee_cents=0,
        reason="x",
    )
    assert request is not None
    return {
        "case_id": case.pk,
        "other_case_id": linked.pk,
        "contact_id": client_contact.pk,
        "insurer_id": insurer.pk,
        "cost_id": open_cost.pk,
        "negotiation_id": offer.pk,
        "offer_id": accepted.pk,
        "deposit_id": deposit.pk,
        "lien_id": lien.pk,
        "item_id": item.pk,
        "request_id": request.pk,
        "user_id": cattorney.pk,
        "cost_code_id": cost_code(cfirm, "E101").pk,
        **medical_ids(cfirm, cadmin, case),
        "rule_id": LimitationRule.objects.filter(firm=cfirm).order_by("pk").first().pk,
        "deadline_id": deadlines.deadline_create(
            firm=cfirm, actor=cadmin, case_id=case.pk, title="T", due_date=dt.date(2027, 1, 1)
        ).pk,
        "step_id": medicare.medicare_step_record(
            firm=cfirm, actor=cadmin, case_id=case.pk, kind="notice_sent", on=clock.today()
        ).pk,
    }


def valid_bodies(ids: dict[str, int]) -> dict[tuple[str, str], dict[str, object]]:
    """A valid body for every endpoint that takes one."""
    return {
        ("post", "/contacts"): {
            "name": "N",
            "address": "A",
            "date_of_birth": "1990-01-01",
            "phone": "1",
            "email": "a@b.co",
        },
        ("post", "/cases"): {
            "name": "N",
            "client_id": ids["contact_id"],
            "responsible_attorney_id": ids["user_id"],
            "incident_date": "2025-01-01",
            "status": "open",
            "opened_on": "2026-01-01",
        },
        ("patch", "/cases/{case_id}"): {
            "name": "N",
            "status": "open",
            "responsible_attorney_id": ids["user_id"],
            "incident_date": "2025-01-01",
        },
        ("post", "/cases/{case_id}/links"): {"case_id": ids["other_case_id"]},
        ("post", "/auth/password"): {
            "current_password": "not the password",
            "new_password": "another password",
        },
        ("post", "/users/{user_id}/password-reset"): {"temporary_password": "temporary-123"},
        ("post", "/costs"): {
            "case_id": ids["case_id"],
            "payee_id": ids["contact_id"],
            "amount": "1.00",
            "cost_code_id": ids["cost_code_id"],
            "cost_date": "2026-01-01",
            "invoice_reference": "I",
            "priority": "high",
            "memo": "M",
        },
        ("patch", "/costs/{cost_id}"): {
            "payee_id": ids["contact_id"],
            "amount": "2.00",
            "invoice_reference": "I",
            "priority": "low",
            "cost_code_id": ids["cost_code_id"],
            "memo": "M",
            "cost_date": "2026-01-01",
        },
        ("post", "/costs/{cost_id}/void"): {"reason": "R"},
        ("post", "/costs/{cost_id}/pay"): {"method": "check", "reference": "1", "paid_date": None},
        ("post", "/costs/{cost_id}/split"): {
            "parts": [
                {"case_id": ids["case_id"], "amount": "50.00"},
                {"case_id": ids["other_case_id"], "amount": "50.00"},
            ]
        },
        ("put", "/cases/{case_id}/settlement/terms"): {
            "fee_mode": "percent",
            "fee_rate": "33.33",
            "fee_fixed": "0",
            "fee_on_net_of_costs": False,
            "copp": "0",
            "property_damage_fee": "-10",
            "reason": "R",
        },
        ("post", "/cases/{case_id}/negotiations"): {
            "kind": "offer",
            "party_id": ids["insurer_id"],
            "amount": "1.00",
            "made_on": "2026-01-01",
            "note": "N",
        },
        ("post", "/negotiations/{negotiation_id}/accept"): {"accepted_on": "2026-01-01"},
        ("post", "/cases/{case_id}/deposits"): {
            "offer_id": ids["offer_id"],
            "amount": "1.00",
            "check_number": "1",
            "deposited_on": "2026-01-01",
        },
        ("post", "/deposits/{deposit_id}/void"): {"reason": "R"},
        ("post", "/cases/{case_id}/liens"): {
            "kind": "medicare",
            "holder_id": ids["contact_id"],
            "claimed": "1.00",
            "paid_direct": True,
            "note": "N",
        },
        ("put", "/liens/{lien_id}"): {
            "claimed": "1.00",
            "final": "1.00",
            "paid_direct": False,
            "note": "N",
        },
        ("post", "/liens/{lien_id}/accept"): {"final": "1.00", "accepted_on": "2026-01-01"},
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
        ("post", "/cases/{case_id}/trust-items"): {
            "kind": "lien",
            "amount": "1.00",
            "lien_id": ids["lien_id"],
            "note": "N",
        },
        ("post", "/cases/{case_id}/push-to-client-trust"): {"payee_name": "P", "note": "N"},
        ("post", "/auth/session"): {"firm": "lopez-pi", "username": "a@b.co", "password": "p"},
        **medical_bodies(ids),
        ("post", "/limitation-rules"): {
            "state": "NY",
            "claim_type": "negligence",
            "rule_type": "statute",
            "period_count": 3,
            "period_unit": "years",
            "effective_from": "2020-01-01",
            "effective_until": None,
            "citation": "C",
            "verify_with_counsel": True,
            "note": "N",
        },
        ("patch", "/limitation-rules/{rule_id}"): {
            "period_count": 5,
            "effective_until": "2030-01-01",
            "note": "N",
            "is_active": True,
        },
        ("post", "/cases/{case_id}/deadlines"): {
            "title": "T",
            "due_date": "2027-01-01",
            "note": "N",
        },
        ("post", "/deadlines/{deadline_id}/change"): {"due_date": "2027-02-01", "reason": "R"},
        ("post", "/deadlines/{deadline_id}/satisfy"): {"satisfied_on": None, "note": "N"},
    }


@pytest.fixture
def no_internal_errors(caplog):
    yield
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert crashes == [], [r.getMessage() for r in crashes]


def _operations(client) -> list[tuple[str, str]]:
    paths = json.loads(client.get(BASE + "/openapi.json").content)["paths"]
    return [(m, p.removeprefix(BASE)) for p, ops in paths.items() for m in ops]


def _concrete(template: str, ids: dict[str, int]) -> str:
    path = re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), template)
    return BASE + path


def _assert_refusal_or_success(response, where: object) -> None:
    assert response.status_code < 500, (where, response.content[:500])
    if response.status_code >= 400:
        error = json.loads(response.content)["error"]
        assert set(error) <= {"code", "message", "field", "details"}, where
        assert error["code"], where
        assert error["message"], where


def _send(client, method: str, url: str, data: str, headers: dict[str, str]):
    return getattr(client, method)(url, data=data, content_type="application/json", headers=headers)


@pytest.fixture
def auth(api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


def test_hostile_bodies_on_every_write(client, auth, ids, no_internal_errors):
    writes = [(m, p) for m, p in _operations(client) if m in ("post", "put", "patch")]
    assert len(writes) >= 20
    for method, template in writes:
        url = _concrete(template, ids)
        for n, body in enumerate(HOSTILE_BODIES):
            headers = {**auth, "Idempotency-Key": f"hostile-{n}"}
            _assert_refusal_or_success(
                _send(client, method, url, body, headers), (method, template, n)
            )


#: Every endpoint taking a body (``test_every_endpoint_with_a_body_is_covered`` keeps it so).
WRITES_WITH_BODIES = list(valid_bodies(dict.fromkeys(ID_NAMES, 1)))


@pytest.mark.parametrize(("method", "template"), WRITES_WITH_BODIES)
def test_every_field_of_every_body_replaced_by_hostile_values(
    client, auth, ids, no_internal_errors, method, template
):
    url = _concrete(template, ids)
    body = valid_bodies(ids)[(method, template)]
    for name in body:
        for n, value in enumerate(HOSTILE_VALUES):
            data = json.dumps({**body, name: value})
            headers = {**auth, "Idempotency-Key": f"field-{name}-{n}"}
            response = _send(client, method, url, data, headers)
            _assert_refusal_or_success(response, (method, template, name, value))
    if template == "/costs/{cost_id}/split":
        for value in HOSTILE_VALUES:
            for field in ("case_id", "amount"):
                parts = [{"case_id": ids["case_id"], "amount": "1"}] * 2
                parts = [{**parts[0], field: value}, parts[1]]
                response = _send(client, method, url, json.dumps({"parts": parts}), auth)
                _assert_refusal_or_success(response, (template, field, value))


def test_every_endpoint_with_a_body_is_covered(client, ids):
    assert set(ids) == set(ID_NAMES)
    bodies = valid_bodies(ids)
    schema = json.loads(client.get(BASE + "/openapi.json").content)["paths"]
    for path, ops in schema.items():
        for method, op in ops.items():
            if "requestBody" in op:
                assert (method, path.removeprefix(BASE)) in bodies, (method, path)


def test_hostile_queries_on_every_read(client, auth, ids, no_internal_errors):
    for method, template in _operations(client):
        if method != "get":
            continue
        url = _concrete(template, ids)
        for query in HOSTILE_QUERIES:
            _assert_refusal_or_success(client.get(url, query, headers=auth), (template, query))


def test_deletes_with_hostile_and_real_ids(client, auth, ids, no_internal_errors):
    deletes = [p for m, p in _operations(client) if m == "delete"]
    assert len(deletes) >= 4
    for template in deletes:
        for value in ("0", "99999999999999999999999", "-1", "abc"):
            url = BASE + re.sub(r"{(\w+)}", value, template)
            _assert_refusal_or_success(client.delete(url, headers=auth), (template, value))
        _assert_refusal_or_success(client.delete(_concrete(template, ids), headers=auth), template)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/nothing-here", 404),
        ("post", "/costs/not-a-number/void", 404),
        ("get", "/cases/99999999999999999999999", 422),
        ("get", "/cases/0", 422),
        ("get", "/cases/", 404),
        ("put", "/costs", 405),
    ],
)
def test_unknown_paths_and_methods(client, auth, method, path, status):
    response = getattr(client, method)(BASE + path, headers=auth)
    assert response.status_code == status
    if status != 405:  # ninja answers a wrong method on a known path in plain text
        assert json.loads(response.content)["error"]["code"] in {"not_found", "validation_error"}
