"""Lien reductions over the API: a lien's steps (paged), a step recorded or refused with the
field named, the calculator's scenarios for the worked settlement, and a scenario applied
as requests (all or none)."""

from __future__ import annotations

import pytest

from casebridge.cases.models import Lien, LienReduction
from tests.cases.api.conftest import db_state, refused
from tests.cases.helpers import add_cost, lien, new_case, offer


@pytest.fixture
def worked(cfirm, cadmin, case):
    """gross 250,000.00, fee 33.33%, costs 8,500.00, liens 20,000 + 15,000 + 10,000."""
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    offer(cfirm, cadmin, case, 25_000_000)
    return [
        lien(cfirm, cadmin, case, cents, holder=holder)
        for holder, cents in [
            ("Valley Medical", 2_000_000),
            ("Ortho Partners", 1_500_000),
            ("City Imaging", 1_000_000),
        ]
    ]


def test_steps_are_recorded_and_listed_oldest_first_in_pages(api, worked):
    valley = worked[0]
    path = f"/liens/{valley.pk}/reductions"
    made = api.post(path, {"step": "requested", "amount": "12000.00", "made_on": "2026-03-02"})
    assert made.status == 201, made.body
    assert {k: made.body[k] for k in ("step", "step_label", "amount", "made_on", "note")} == {
        "step": "requested",
        "step_label": "Reduction requested",
        "amount": "12000.00",
        "made_on": "2026-03-02",
        "note": "",
    }
    assert made.body["recorded_by"]["email"] == "admin@lopez.test"
    api.post(path, {"step": "countered", "amount": "16000.00"})
    accepted = api.post(path, {"step": "accepted", "amount": "14500.00"})
    assert accepted.status == 201
    first = api.get(path, {"limit": 2})
    assert [(s["step"], s["amount"]) for s in first.body["items"]] == [
        ("requested", "12000.00"),
        ("countered", "16000.00"),
    ]
    rest = api.get(path, {"limit": 2, "cursor": first.body["next"]})
    assert [(s["step"], s["amount"]) for s in rest.body["items"]] == [("accepted", "14500.00")]
    assert rest.body["next"] is None
    fresh = Lien.objects.get(pk=valley.pk)
    assert fresh.final_cents == 1_450_000
    assert fresh.accepted_on is not None


@pytest.mark.parametrize(
    ("body", "status", "code", "problem", "field"),
    [
        (
            {"step": "requested", "amount": "20000.01"},
            422,
            "validation_error",
            "the amount $20,000.01 is more than the claim $20,000.00",
            "amount",
        ),
        ({"step": "countered"}, 422, "validation_error", "enter the amount", "amount"),
        ({"step": "requested", "amount": 12.5}, 422, "validation_error", "amount", "amount"),
        ({"step": "refused"}, 422, "validation_error", "the lien of Valley Medical has no", "step"),
    ],
)
def test_bad_steps_are_4xx_json_naming_the_field(api, worked, body, status, code, problem, field):
    before, steps = db_state(), LienReduction.objects.count()
    reply = api.post(f"/liens/{worked[0].pk}/reductions", body)
    refused(reply, status, code, problem, field=field)
    assert db_state() == before
    assert LienReduction.objects.count() == steps


def test_a_step_on_an_accepted_lien_is_409_locked(api, cfirm, cadmin, worked):
    path = f"/liens/{worked[0].pk}/reductions"
    assert api.post(path, {"step": "accepted", "amount": "15000.00"}).status == 201
    before = LienReduction.objects.count()
    refused(api.post(path, {"step": "requested", "amount": "1.00"}), 409, "locked", "the lien of")
    assert LienReduction.objects.count() == before


def test_another_firms_lien_is_404(api, other_world):
    reply = api.post(
        f"/liens/{other_world['lien_id']}/reductions", {"step": "requested", "amount": "1.00"}
    )
    refused(reply, 404, "not_found", "lien ")
    assert LienReduction.objects.count() == 0


def test_the_calculator_answers_the_scenarios_side_by_side(api, case, worked):
    reply = api.get(
        f"/cases/{case.pk}/lien-calculator", {"target_net": "120000.00", "cap_fraction": "0.15"}
    )
    assert reply.status == 200, reply.body
    figures = {
        s["key"]: (s["gross"], s["fee"], s["costs"], s["liens"], s["net_to_client"])
        for s in reply.body["scenarios"]
    }
    # as worked by hand in tests/cases/test_lien_calculator.py
    assert figures == {
        "current": ("250000.00", "83325.00", "8500.00", "45000.00", "113175.00"),
        "target_net": ("250000.00", "83325.00", "8500.00", "38175.00", "120000.00"),
        "cap": ("250000.00", "83325.00", "8500.00", "37500.00", "120675.00"),
        "procurement": ("250000.00", "83325.00", "8500.00", "28471.50", "129703.50"),
    }
    target = reply.body["scenarios"][1]
    assert [(ln["holder"], ln["proposed"], ln["reduction"]) for ln in target["lien_lines"]] == [
        ("Valley Medical", "16966.67", "3033.33"),
        ("Ortho Partners", "12725.00", "2275.00"),
        ("City Imaging", "8483.33", "1516.67"),
    ]
    assert reply.body["selected_lien_ids"] == [ln.pk for ln in worked]
    assert LienReduction.objects.count() == 0


@pytest.mark.parametrize(
    ("params", "field", "problem"),
    [
        ({"target_net": "158175.01"}, "target_net", "the client cannot net $158,175.01"),
        ({"cap_fraction": "1.5"}, "cap_fraction", "the cap fraction must be from 0 to 1"),
    ],
)
def test_impossible_calculator_inputs_are_422(api, case, worked, params, field, problem):
    reply = api.get(f"/cases/{case.pk}/lien-calculator", params)
    refused(reply, 422, "validation_error", problem, field=field)


def test_only_selected_liens_by_repeated_ids(api, case, worked):
    valley, ortho, _ = worked
    reply = api.get(f"/cases/{case.pk}/lien-calculator?lien_ids={valley.pk}&lien_ids={ortho.pk}")
    assert reply.status == 200, reply.body
    assert reply.body["selected_lien_ids"] == [valley.pk, ortho.pk]


def test_a_scenario_is_applied_as_requests(api, case, worked):
    reply = api.post(
        f"/cases/{case.pk}/lien-reductions/apply",
        {"scenario": "target_net", "target_net": "120000.00", "made_on": "2026-03-02"},
    )
    assert reply.status == 201, reply.body
    assert [(s["lien_id"], s["step"], s["amount"]) for s in reply.body["items"]] == [
        (worked[0].pk, "requested", "16966.67"),
        (worked[1].pk, "requested", "12725.00"),
        (worked[2].pk, "requested", "8483.33"),
    ]
    assert not Lien.objects.filter(accepted_on__isnull=False).exists()


def test_a_scenario_refused_writes_nothing(api, case, worked):
    before = db_state()
    reply = api.post(f"/cases/{case.pk}/lien-reductions/apply", {"scenario": "target_net"})
    refused(
        reply,
        422,
        "validation_error",
        "give the target net to the client for the target net to client scenario",
        field="target_net",
    )
    assert db_state() == before
    assert LienReduction.objects.count() == 0


def test_apply_a_cap_without_a_fraction_names_cap_fraction(api, case, worked):
    before = db_state()
    reply = api.post(f"/cases/{case.pk}/lien-reductions/apply", {"scenario": "cap"})
    refused(
        reply,
        422,
        "validation_error",
        "give the cap fraction for the liens capped scenario",
        field="cap_fraction",
    )
    assert db_state() == before


def test_a_foreign_or_accepted_lien_is_refused_naming_lien_ids(api, cfirm, cadmin, case, worked):
    other = lien(cfirm, cadmin, new_case(cfirm, cadmin), 100_000, holder="Elsewhere Clinic")
    reply = api.get(f"/cases/{case.pk}/lien-calculator?lien_ids={other.pk}")
    refused(reply, 422, "validation_error", "a selected lien is not one of", field="lien_ids")
    before = db_state()
    reply = api.post(
        f"/cases/{case.pk}/lien-reductions/apply",
        {"scenario": "procurement", "lien_ids": [other.pk]},
    )
    refused(reply, 422, "validation_error", "a selected lien is not one of", field="lien_ids")
    assert db_state() == before
    api.post(f"/liens/{worked[2].pk}/reductions", {"step": "accepted", "amount": "8000.00"})
    before = db_state()
    reply = api.post(
        f"/cases/{case.pk}/lien-reductions/apply",
        {"scenario": "procurement", "lien_ids": [worked[2].pk]},
    )
    refused(
        reply, 422, "validation_error", "the lien of City Imaging is accepted", field="lien_ids"
    )
    assert db_state() == before
    reply = api.get(f"/cases/{case.pk}/lien-calculator?lien_ids={worked[2].pk}")
    refused(
        reply, 422, "validation_error", "the lien of City Imaging is accepted", field="lien_ids"
    )


@pytest.mark.parametrize("bad", ["\u00b2", "9" * 5000, "1e3", "NaN", "0.5.0"])
@pytest.mark.parametrize("field", ["target_net", "cap_fraction"])
def test_malformed_calculator_inputs_are_422_naming_the_field(api, case, worked, bad, field):
    reply = api.get(f"/cases/{case.pk}/lien-calculator", {field: bad})
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        422,
        "validation_error",
        field,
    )
    before = db_state()
    reply = api.post(
        f"/cases/{case.pk}/lien-reductions/apply",
        {"scenario": field.replace("_fraction", ""), field: bad},
    )
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        422,
        "validation_error",
        field,
    )
    assert db_state() == before
