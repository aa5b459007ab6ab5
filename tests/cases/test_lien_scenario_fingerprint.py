"""Review of issue 16: a scenario confirmed after the figures it was computed from changed
(a lien's amount, a new lien, the fee) is refused, "the figures changed since this
scenario was computed; review it again", and nothing is written. The calculator hands out
a fingerprint of the figures; the confirm form and the API carry it back."""

from __future__ import annotations

import pytest
from django.test import Client

from casebridge.cases.errors import Conflict
from casebridge.cases.models import Lien, LienReduction
from casebridge.cases.selectors.lien_calculator import lien_scenarios
from casebridge.cases.services import settlement
from casebridge.cases.services.lien_reductions import lien_reductions_request
from tests.cases.api.conftest import ApiClient, db_state, issue
from tests.cases.helpers import D, add_cost, lien, offer

CHANGED = "the figures changed since this scenario was computed; review it again"


@pytest.fixture
def worked(cfirm, cadmin, case):
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    offer(cfirm, cadmin, case, 25_000_000)
    return [
        lien(cfirm, cadmin, case, cents, holder=holder)
        for holder, cents in [("Valley Medical", 2_000_000), ("Ortho Partners", 1_500_000)]
    ]


def test_the_fingerprint_follows_the_figures(cfirm, cadmin, case, worked):
    first = lien_scenarios(case=case).fingerprint
    assert len(first) == 32
    assert lien_scenarios(case=case).fingerprint == first
    # the inputs are sent again with the confirmation: they are not part of it
    assert lien_scenarios(case=case, target_net_cents=12_000_000).fingerprint == first
    lien(cfirm, cadmin, case, 300_000, holder="City Imaging")
    assert lien_scenarios(case=case).fingerprint != first


def test_a_scenario_confirmed_after_a_lien_changed_is_refused_and_writes_nothing(
    cfirm, cadmin, case, worked
):
    seen = lien_scenarios(case=case).fingerprint
    Lien.objects.filter(pk=worked[0].pk).update(final_cents=1_800_000)  # saved in Edit lien
    with pytest.raises(Conflict) as refused:
        lien_reductions_request(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            scenario="procurement",
            made_on=D,
            fingerprint=seen,
        )
    assert (str(refused.value), refused.value.code, refused.value.field) == (
        CHANGED,
        "figures_changed",
        "fingerprint",
    )
    assert LienReduction.objects.count() == 0
    made = lien_reductions_request(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        scenario="procurement",
        made_on=D,
        fingerprint=lien_scenarios(case=case).fingerprint,
    )
    assert [r.amount_cents for r in made] == [1_138_860, 949_050]


def test_the_api_answers_409_when_the_figures_changed(cfirm, cadmin, case, worked):
    api = ApiClient(Client(), issue(cfirm, cadmin))
    calculated = api.get(f"/cases/{case.pk}/lien-calculator")
    assert calculated.status == 200
    fingerprint = calculated.body["fingerprint"]
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=worked[1].pk,
        claimed_cents=1_600_000,
        final_cents=None,
        paid_direct=False,
    )
    before = db_state()
    reply = api.post(
        f"/cases/{case.pk}/lien-reductions/apply",
        {"scenario": "procurement", "made_on": "2026-03-02", "fingerprint": fingerprint},
    )
    assert reply.status == 409
    assert (reply.error["code"], reply.error["message"], reply.error["field"]) == (
        "figures_changed",
        CHANGED,
        "fingerprint",
    )
    assert db_state() == before
    fresh = api.get(f"/cases/{case.pk}/lien-calculator").body["fingerprint"]
    applied = api.post(
        f"/cases/{case.pk}/lien-reductions/apply",
        {"scenario": "procurement", "made_on": "2026-03-02", "fingerprint": fresh},
    )
    assert applied.status == 201, applied.body
