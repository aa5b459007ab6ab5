"""The Medicare section of the Settlement tab and its API twin (issue 16): the hold shown
beside the disabled Push to Disbursement, steps recorded in a pop-up, the override only
for a firm administrator with a reason, shown while in effect; the API refuses the push
with 409 ``medicare_hold`` and writes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from casebridge.cases.models import ClientMedicareStatus, MedicareHoldOverride, TrustItemStatus
from tests.cases.api.conftest import ApiClient, issue
from tests.cases.medicare_world import medicare_state, worked_settlement
from tests.cases.web.conftest import HX, sign_in, text


@pytest.fixture
def settled(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case)
    return case


def test_the_tab_shows_the_hold_beside_the_disabled_push_and_the_override_to_an_admin(
    cadmin, settled
):
    page = text(sign_in(Client(), cadmin).get(f"/cases/{settled.pk}/settlement/"))
    assert (
        '<button type="button" class="btn btn-sm" disabled aria-describedby="push-client-reason">'
        "Push to Disbursement</button>" in page
    )
    assert "Medicare hold: the case has a Medicare lien and no final demand is recorded" in page
    assert f'href="/cases/{settled.pk}/medicare/override/"' in page


def test_a_step_recorded_in_the_pop_up_shows_the_deadline_and_enables_the_push(cadmin, settled):
    client = sign_in(Client(), cadmin)
    url = f"/cases/{settled.pk}/medicare/steps/new/"
    refused = client.post(url, {"kind": "final_demand", "on": "2026-03-10", "amount": ""}, **HX)
    assert refused.status_code == 422
    assert "The final demand received needs its amount" in text(refused)
    done = client.post(
        url, {"kind": "final_demand", "on": "2026-03-10", "amount": "15,000.00"}, **HX
    )
    assert done.status_code < 300, text(done)
    page = text(client.get(f"/cases/{settled.pk}/settlement/"))
    assert "$15,000.00 of 2026-03-10" in page
    assert "Pay by 2026-05-09" in page
    assert f'href="/cases/{settled.pk}/settlement/push-disbursement/"' in page


def test_the_override_pop_up_is_for_administrators_and_needs_a_reason(cadmin, cattorney, settled):
    url = f"/cases/{settled.pk}/medicare/override/"
    before = medicare_state()
    assert sign_in(Client(), cattorney).post(url, {"reason": "please"}, **HX).status_code == 403
    admin = sign_in(Client(), cadmin)
    refused = admin.post(url, {"reason": ""}, **HX)
    assert refused.status_code == 422
    assert medicare_state() == before
    admin.post(url, {"reason": "No Medicare claim: CMS letter of 2026-03-01"}, **HX)
    page = text(admin.get(f"/cases/{settled.pk}/settlement/"))
    assert "Medicare hold overridden by Ana Admin on " in page
    assert ": No Medicare claim: CMS letter of 2026-03-01" in page
    assert f'href="/cases/{settled.pk}/medicare/override/revoke/"' in page
    admin.post(f"/cases/{settled.pk}/medicare/override/revoke/", {"reason": ""}, **HX)
    assert MedicareHoldOverride.objects.get().revoked_at is not None


def test_the_beneficiary_flag_is_set_in_a_pop_up(cadmin, case):
    client = sign_in(Client(), cadmin)
    client.post(f"/cases/{case.pk}/medicare/beneficiary/", {"is_beneficiary": "on"}, **HX)
    assert ClientMedicareStatus.objects.get(contact=case.client).is_beneficiary is True
    page = text(client.get(f"/cases/{case.pk}/settlement/"))
    assert "Medicare beneficiary · " in page


def test_the_api_refuses_the_push_with_medicare_hold_and_releases_after_the_demand(
    cfirm, cadmin, cattorney, settled
):
    api = ApiClient(Client(), issue(cfirm, cadmin))
    attorney = ApiClient(Client(), issue(cfirm, cattorney))
    before = medicare_state()
    refused = api.post(f"/cases/{settled.pk}/push-to-disbursement")
    assert refused.status == 409
    assert refused.error["code"] == "medicare_hold"
    assert medicare_state() == before
    shown = api.get(f"/cases/{settled.pk}/medicare")
    assert shown.body["hold"].startswith("Medicare hold: the case has a Medicare lien")
    assert shown.body["medicare_liens"] == ["Medicare (CMS Medicare Recovery) $15,000.00"]

    denied = attorney.post(f"/cases/{settled.pk}/medicare/hold-override", {"reason": "x"})
    assert (denied.status, denied.error["code"]) == (403, "permission_denied")
    no_reason = api.post(f"/cases/{settled.pk}/medicare/hold-override", {"reason": ""})
    assert (no_reason.status, no_reason.error["field"]) == (422, "reason")
    assert medicare_state() == before

    bad = api.post(
        f"/cases/{settled.pk}/medicare/steps", {"kind": "final_demand", "on": "2026-03-10"}
    )
    assert (bad.status, bad.error["field"]) == (422, "amount")
    recorded = api.post(
        f"/cases/{settled.pk}/medicare/steps",
        {"kind": "final_demand", "on": "2026-03-10", "amount": "15000.00"},
    )
    assert recorded.status == 201
    assert recorded.body["final_demand"] == "15000.00"
    assert recorded.body["payment_deadline"] == "2026-05-09"
    assert recorded.body["hold"] == ""
    pushed = api.post(f"/cases/{settled.pk}/push-to-disbursement")
    assert (pushed.status, pushed.body["moved"]) == (200, 5)
    assert settled.trust_items.filter(status=TrustItemStatus.TO_BE_DISBURSED).count() == 5


def test_the_api_sets_the_beneficiary_flag(cfirm, cadmin, case):
    api = ApiClient(Client(), issue(cfirm, cadmin))
    reply = api.put(f"/cases/{case.pk}/medicare/beneficiary", {"is_beneficiary": True})
    assert (reply.status, reply.body["client_is_beneficiary"]) == (200, True)
