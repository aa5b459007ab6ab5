"""Review of the Medicare hold (issue 16): only Medicare's final amount, matched by an
accepted and staged Medicare lien, releases the client's $113,175.00 check; steps need the
Deposit Settlement permission (the fixed-percentage election and unticking the beneficiary
flag a firm administrator); a step recorded in error is voided with a reason; an override
is not revoked once the client's check has gone to disbursement."""

from __future__ import annotations

import pytest
from django.test import Client

from casebridge.cases.errors import Conflict, MedicareHold, PermissionDenied, ValidationFailed
from casebridge.cases.models import (
    ClientMedicareStatus,
    MedicareHoldOverride,
    MedicareStep,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.selectors.medicare import medicare_picture
from casebridge.cases.services import firms, medicare, settlement
from casebridge.core.models import AuditEvent
from tests.cases.api.conftest import ApiClient, issue
from tests.cases.conftest import PASSWORD
from tests.cases.medicare_world import DEMAND_ON, medicare_state, worked_settlement
from tests.cases.web.conftest import HX, sign_in, text

AFTER = (
    "so the client's check waits; accept the Medicare lien at that amount and stage its "
    "payment, or a firm administrator can override the hold with a reason"
)


@pytest.fixture
def settled(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case)
    return case


@pytest.fixture
def bookkeeper(cfirm):
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="dee@lopez.test",
        password=PASSWORD,
        first_name="Dee",
        last_name="Deposits",
        perm_deposit_settlement=True,
    )


def push(firm, actor, case):
    return settlement.push_to_disbursement(firm=firm, actor=actor, case_id=case.pk)


def step(firm, actor, case, kind="final_demand", cents=1_500_000):
    return medicare.medicare_step_record(
        firm=firm, actor=actor, case_id=case.pk, kind=kind, on=DEMAND_ON, amount_cents=cents
    )


def client_check(case):
    return TrustItem.objects.get(case=case, kind=TrustItemKind.CLIENT)


def test_a_final_demand_with_no_medicare_lien_does_not_release_the_check(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case, medicare_lien=False)
    medicare.client_medicare_set(firm=cfirm, actor=cadmin, case_id=case.pk, is_beneficiary=True)
    step(cfirm, cadmin, case, cents=2_000_000)
    before = medicare_state()
    with pytest.raises(MedicareHold) as info:
        push(cfirm, cadmin, case)
    assert info.value.message == (
        "Medicare hold: Maria Lopez is a Medicare beneficiary and Medicare's final demand is "
        f"$20,000.00; the case has no Medicare lien to pay it, {AFTER}"
    )
    assert medicare_state() == before
    assert client_check(case).status == TrustItemStatus.STAGED
    assert client_check(case).amount_cents == 11_317_500


def test_a_final_demand_above_the_staged_medicare_lien_names_both_amounts(cfirm, cadmin, settled):
    step(cfirm, cadmin, settled, cents=1_800_000)
    before = medicare_state()
    with pytest.raises(MedicareHold) as info:
        push(cfirm, cadmin, settled)
    assert info.value.message == (
        "Medicare hold: the case has a Medicare lien and Medicare's final demand is "
        f"$18,000.00; the Medicare lien is staged at $15,000.00, {AFTER}"
    )
    assert medicare_picture(case=settled).hold_reason == info.value.message
    assert medicare_state() == before
    assert client_check(settled).status == TrustItemStatus.STAGED


def test_the_newest_final_amount_counts_and_a_matching_one_releases(cfirm, cadmin, settled):
    step(cfirm, cadmin, settled, cents=1_800_000)
    step(cfirm, cadmin, settled, kind="portal_final", cents=1_500_000)
    assert push(cfirm, cadmin, settled) == 5
    assert client_check(settled).status == TrustItemStatus.TO_BE_DISBURSED


def test_a_fixed_percentage_election_carries_its_amount_and_is_matched(cfirm, cadmin, settled):
    before = medicare_state()
    with pytest.raises(ValidationFailed) as info:
        step(cfirm, cadmin, settled, kind="fixed_percentage", cents=None)
    assert (info.value.field, info.value.message) == (
        "amount",
        "the fixed-percentage option elected needs its amount",
    )
    assert medicare_state() == before
    step(cfirm, cadmin, settled, kind="fixed_percentage", cents=1_250_000)
    with pytest.raises(MedicareHold) as held:
        push(cfirm, cadmin, settled)
    assert held.value.message == (
        "Medicare hold: the case has a Medicare lien and the fixed-percentage amount is "
        f"$12,500.00; the Medicare lien is staged at $15,000.00, {AFTER}"
    )


def test_steps_need_the_deposit_settlement_permission(cfirm, paralegal, bookkeeper, settled):
    before = medicare_state()
    with pytest.raises(PermissionDenied) as info:
        step(cfirm, paralegal, settled)
    assert info.value.message == (
        "this needs the 'Deposit settlement checks' permission; ask a firm administrator"
    )
    with pytest.raises(PermissionDenied) as info:
        step(cfirm, bookkeeper, settled, kind="fixed_percentage", cents=1_500_000)
    assert info.value.message == (
        "only a firm administrator can elect Medicare's fixed-percentage option"
    )
    assert medicare_state() == before
    step(cfirm, bookkeeper, settled)
    assert MedicareStep.objects.get().recorded_by == bookkeeper


def test_only_an_administrator_unticks_the_beneficiary_flag(cfirm, cadmin, bookkeeper, case):
    medicare.client_medicare_set(firm=cfirm, actor=bookkeeper, case_id=case.pk, is_beneficiary=True)
    before = medicare_state()
    with pytest.raises(PermissionDenied) as info:
        medicare.client_medicare_set(
            firm=cfirm, actor=bookkeeper, case_id=case.pk, is_beneficiary=False
        )
    assert info.value.message == (
        "only a firm administrator can record that a client is no longer a Medicare beneficiary"
    )
    assert medicare_state() == before
    medicare.client_medicare_set(firm=cfirm, actor=cadmin, case_id=case.pk, is_beneficiary=False)
    status = ClientMedicareStatus.objects.get()
    assert (status.is_beneficiary, status.changed_by) == (False, cadmin)


def test_a_voided_final_demand_no_longer_counts_and_is_audited(
    cfirm, cadmin, bookkeeper, paralegal, settled
):
    demand = step(cfirm, bookkeeper, settled)
    before = medicare_state()
    with pytest.raises(PermissionDenied):
        medicare.medicare_step_void(
            firm=cfirm, actor=paralegal, case_id=settled.pk, step_id=demand.pk, reason="typo"
        )
    with pytest.raises(ValidationFailed) as info:
        medicare.medicare_step_void(
            firm=cfirm, actor=bookkeeper, case_id=settled.pk, step_id=demand.pk, reason=" "
        )
    assert (info.value.field, info.value.message) == ("reason", "give a reason")
    assert medicare_state() == before

    medicare.medicare_step_void(
        firm=cfirm,
        actor=bookkeeper,
        case_id=settled.pk,
        step_id=demand.pk,
        reason="the letter was for another claim",
    )
    demand.refresh_from_db()
    assert (demand.voided_by, demand.void_reason) == (
        bookkeeper,
        "the letter was for another claim",
    )
    event = AuditEvent.objects.get(entity_type="medicare_step", action="void")
    assert event.summary == (
        f"Case {settled.number}: Medicare: final demand received $15,000.00 on 2026-03-10 "
        "voided: the letter was for another claim"
    )
    picture = medicare_picture(case=settled)
    assert (picture.final_demand_cents, picture.payment_deadline) == (None, None)
    assert picture.steps[0].void_reason == "the letter was for another claim"
    with pytest.raises(MedicareHold):
        push(cfirm, cadmin, settled)
    with pytest.raises(Conflict):
        medicare.medicare_step_void(
            firm=cfirm, actor=bookkeeper, case_id=settled.pk, step_id=demand.pk, reason="again"
        )


def test_an_override_is_not_revoked_once_the_client_check_is_pushed(cfirm, cadmin, settled):
    medicare.medicare_hold_override(
        firm=cfirm, actor=cadmin, case_id=settled.pk, reason="CMS confirmed no claim"
    )
    assert push(cfirm, cadmin, settled) == 5
    before = medicare_state()
    with pytest.raises(Conflict) as info:
        medicare.medicare_hold_override_revoke(firm=cfirm, actor=cadmin, case_id=settled.pk)
    assert info.value.message == (
        "the client's check has already been pushed to disbursement under this override, "
        "so revoking it would not hold the check; the override stays on record"
    )
    assert medicare_state() == before
    assert MedicareHoldOverride.objects.get().revoked_at is None


def test_a_step_is_voided_in_a_pop_up_and_over_the_api(cfirm, cadmin, settled):
    client = sign_in(Client(), cadmin)
    demand = step(cfirm, cadmin, settled)
    page = text(client.get(f"/cases/{settled.pk}/settlement/"))
    url = f"/cases/{settled.pk}/medicare/steps/{demand.pk}/void/"
    assert f'href="{url}"' in page
    before = medicare_state()
    refused = client.post(url, {"reason": ""}, **HX)
    assert refused.status_code == 422
    assert medicare_state() == before
    assert client.post(url, {"reason": "wrong claim"}, **HX).status_code < 300
    page = text(client.get(f"/cases/{settled.pk}/settlement/"))
    assert "Voided: wrong claim" in page
    assert "Medicare hold: the case has a Medicare lien and no final demand is recorded" in page

    api = ApiClient(Client(), issue(cfirm, cadmin))
    portal = step(cfirm, cadmin, settled, kind="portal_final", cents=1_500_000)
    assert api.get(f"/cases/{settled.pk}/medicare").body["hold"] == ""
    before = medicare_state()
    bad = api.post(f"/cases/{settled.pk}/medicare/steps/{portal.pk}/void", {"reason": ""})
    assert (bad.status, bad.error["field"]) == (422, "reason")
    assert medicare_state() == before
    voided = api.post(
        f"/cases/{settled.pk}/medicare/steps/{portal.pk}/void", {"reason": "not final"}
    )
    assert voided.status == 200
    assert [(s["kind"], s["void_reason"]) for s in voided.body["steps"]] == [
        ("final_demand", "wrong claim"),
        ("portal_final", "not final"),
    ]
    assert voided.body["portal_final"] is None
    assert voided.body["hold"].startswith("Medicare hold: the case has a Medicare lien and no")
    again = api.post(f"/cases/{settled.pk}/medicare/steps/{portal.pk}/void", {"reason": "again"})
    assert again.status == 409
