"""Medicare's conditional payments handled safely (issue 16): the client's final check of
the worked settlement ($113,175.00) is held from disbursement while the case has a Medicare
lien (or the client is a Medicare beneficiary) and no final demand, portal final amount or
fixed-percentage election is recorded; a firm administrator may override with a reason."""

from __future__ import annotations

import pytest

from casebridge.cases.errors import Conflict, MedicareHold, PermissionDenied, ValidationFailed
from casebridge.cases.models import (
    MedicareClaim,
    MedicareHoldOverride,
    MedicareStep,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.selectors.medicare import medicare_picture, payment_deadline
from casebridge.cases.selectors.settlement import push_refusal, settlement_figures
from casebridge.cases.services import medicare, settlement
from casebridge.core.models import AuditEvent
from tests.cases.medicare_world import (
    DEADLINE,
    DEMAND_ON,
    medicare_state,
    worked_settlement,
)

HOLD = (
    "Medicare hold: the case has a Medicare lien and no final demand is recorded, so the "
    "client's check waits; record Medicare's final demand (or the recovery portal's final "
    "conditional payment amount, or a fixed-percentage election), or a firm administrator "
    "can override the hold with a reason"
)


@pytest.fixture
def settled(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case)
    return case


def push(firm, actor, case):
    return settlement.push_to_disbursement(firm=firm, actor=actor, case_id=case.pk)


def final_demand(firm, actor, case, cents=1_500_000, on=DEMAND_ON):
    return medicare.medicare_step_record(
        firm=firm, actor=actor, case_id=case.pk, kind="final_demand", on=on, amount_cents=cents
    )


def test_the_worked_settlement_with_a_medicare_lien_nets_113_175(cfirm, settled):
    figures = settlement_figures(case=settled)
    assert figures.gross_cents == 25_000_000
    assert figures.fee_cents == 8_332_500
    assert figures.costs_cents == 850_000
    assert figures.liens_cents == 4_500_000
    assert figures.net_to_client_cents == 11_317_500
    client = TrustItem.objects.get(case=settled, kind=TrustItemKind.CLIENT)
    assert client.amount_cents == 11_317_500


def test_push_is_refused_while_medicare_has_no_final_demand_and_nothing_moves(
    cfirm, cadmin, settled
):
    before = medicare_state()
    with pytest.raises(MedicareHold) as info:
        push(cfirm, cadmin, settled)
    assert info.value.code == "medicare_hold"
    assert info.value.http_status == 409
    assert info.value.message == HOLD
    assert medicare_state() == before
    assert set(TrustItem.objects.filter(case=settled).values_list("status", flat=True)) == {
        TrustItemStatus.STAGED
    }
    # the same sentence is the disabled button's, and Push to Client Trust is not held
    figures = settlement_figures(case=settled)
    assert push_refusal(figures, settled, to_disbursement=True) == HOLD
    assert push_refusal(figures, settled) == ""


def test_a_conditional_payment_letter_alone_does_not_release_the_hold(cfirm, cadmin, settled):
    for kind, cents in [("notice_sent", None), ("conditional_payment_letter", 1_650_000)]:
        medicare.medicare_step_record(
            firm=cfirm,
            actor=cadmin,
            case_id=settled.pk,
            kind=kind,
            on=DEMAND_ON,
            amount_cents=cents,
        )
    with pytest.raises(MedicareHold):
        push(cfirm, cadmin, settled)


def test_the_final_demand_releases_the_check_and_sets_the_60_day_deadline(cfirm, cadmin, settled):
    step = final_demand(cfirm, cadmin, settled)
    claim = MedicareClaim.objects.get(case=settled)
    assert claim.lien is not None
    assert claim.lien.kind == "medicare"
    assert step.amount_cents == 1_500_000
    picture = medicare_picture(case=settled)
    assert picture.final_demand_on == DEMAND_ON
    assert picture.final_demand_cents == 1_500_000
    assert picture.payment_deadline == DEADLINE
    assert payment_deadline(DEMAND_ON).isoformat() == "2026-05-09"
    assert picture.hold_reason == ""

    assert push(cfirm, cadmin, settled) == 5
    client = TrustItem.objects.get(case=settled, kind=TrustItemKind.CLIENT)
    assert client.status == TrustItemStatus.TO_BE_DISBURSED
    assert client.amount_cents == 11_317_500
    event = AuditEvent.objects.filter(entity_type="medicare_step").get()
    assert event.summary == (
        f"Case {settled.number}: Medicare: final demand received $15,000.00 on 2026-03-10"
    )


@pytest.mark.parametrize(
    ("kind", "cents"), [("portal_final", 1_500_000), ("fixed_percentage", 1_500_000)]
)
def test_a_portal_final_amount_or_a_fixed_percentage_election_releases_it_too(
    cfirm, cadmin, settled, kind, cents
):
    medicare.medicare_step_record(
        firm=cfirm, actor=cadmin, case_id=settled.pk, kind=kind, on=DEMAND_ON, amount_cents=cents
    )
    assert push(cfirm, cadmin, settled) == 5


def test_a_beneficiary_client_holds_the_check_without_a_medicare_lien(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case, medicare_lien=False)
    assert medicare_picture(case=case).hold_reason == ""
    medicare.client_medicare_set(firm=cfirm, actor=cadmin, case_id=case.pk, is_beneficiary=True)
    with pytest.raises(MedicareHold, match="Maria Lopez is a Medicare beneficiary"):
        push(cfirm, cadmin, case)
    event = AuditEvent.objects.filter(entity_type="client_medicare").get()
    assert event.before == {"medicare_beneficiary": False}
    assert event.after == {"medicare_beneficiary": True}
    final_demand(cfirm, cadmin, case, cents=0)
    assert MedicareClaim.objects.get(case=case).lien is None
    assert push(cfirm, cadmin, case) == 5


def test_an_amount_step_without_its_amount_is_refused_and_writes_nothing(cfirm, cadmin, settled):
    before = medicare_state()
    with pytest.raises(ValidationFailed) as info:
        medicare.medicare_step_record(
            firm=cfirm, actor=cadmin, case_id=settled.pk, kind="final_demand", on=DEMAND_ON
        )
    assert info.value.field == "amount"
    assert info.value.message == "the final demand received needs its amount"
    with pytest.raises(ValidationFailed) as info:
        medicare.medicare_step_record(
            firm=cfirm, actor=cadmin, case_id=settled.pk, kind="paid", on=DEMAND_ON
        )
    assert info.value.field == "kind"
    assert medicare_state() == before


def test_an_override_by_someone_not_an_administrator_is_refused(cfirm, cadmin, settled, cattorney):
    before = medicare_state()
    with pytest.raises(PermissionDenied) as info:
        medicare.medicare_hold_override(
            firm=cfirm, actor=cattorney, case_id=settled.pk, reason="client needs the money"
        )
    assert info.value.code == "permission_denied"
    assert info.value.message == "only a firm administrator can override the Medicare hold"
    assert medicare_state() == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_override_without_a_reason_is_refused(cfirm, cadmin, settled, reason):
    before = medicare_state()
    with pytest.raises(ValidationFailed) as info:
        medicare.medicare_hold_override(firm=cfirm, actor=cadmin, case_id=settled.pk, reason=reason)
    assert (info.value.field, info.value.message) == ("reason", "give a reason")
    assert medicare_state() == before


def test_an_override_with_a_reason_releases_the_check_is_audited_and_revoking_holds_again(
    cfirm, cadmin, settled
):
    reason = "CMS confirmed by phone that no conditional payments were made"
    override = medicare.medicare_hold_override(
        firm=cfirm, actor=cadmin, case_id=settled.pk, reason=reason
    )
    assert override.granted_by == cadmin
    event = AuditEvent.objects.filter(entity_type="medicare_hold", action="override").get()
    assert event.actor_id == cadmin.pk
    assert event.summary == f"Case {settled.number}: Medicare hold overridden: {reason}"
    assert event.after == {"override": True, "reason": reason}
    picture = medicare_picture(case=settled)
    assert picture.override is not None
    assert (picture.override.reason, picture.override.granted_by) == (reason, "Ana Admin")
    assert picture.hold_reason == ""
    # a second override while one is in effect is refused
    with pytest.raises(Conflict):
        medicare.medicare_hold_override(firm=cfirm, actor=cadmin, case_id=settled.pk, reason="x")

    medicare.medicare_hold_override_revoke(
        firm=cfirm, actor=cadmin, case_id=settled.pk, reason="the letter says otherwise"
    )
    row = MedicareHoldOverride.objects.get()
    assert row.revoked_by == cadmin
    assert row.revoke_reason == "the letter says otherwise"
    assert AuditEvent.objects.filter(entity_type="medicare_hold", action="revoke").count() == 1
    before = medicare_state()
    with pytest.raises(MedicareHold):
        push(cfirm, cadmin, settled)
    assert medicare_state() == before

    # overridden again, the push goes through
    medicare.medicare_hold_override(firm=cfirm, actor=cadmin, case_id=settled.pk, reason=reason)
    assert push(cfirm, cadmin, settled) == 5
    assert MedicareHoldOverride.objects.count() == 2
    assert MedicareStep.objects.count() == 0


def test_revoking_when_no_override_is_in_effect_is_refused(cfirm, cadmin, settled):
    before = medicare_state()
    with pytest.raises(ValidationFailed):
        medicare.medicare_hold_override_revoke(firm=cfirm, actor=cadmin, case_id=settled.pk)
    assert medicare_state() == before


def test_a_case_without_medicare_pushes_as_before(cfirm, cadmin, case):
    worked_settlement(cfirm, cadmin, case, medicare_lien=False)
    assert push(cfirm, cadmin, case) == 5
