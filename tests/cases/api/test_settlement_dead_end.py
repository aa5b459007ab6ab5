"""Issue 10, items 11 and 12 over the API: the excess deposit a lien paid direct leaves is
reported with its fix, the deposit is voided and recorded again, an administrator reopens
an accepted lien (4xx JSON for everyone else and after disbursement), and staging or
pushing trust money needs the deposit permission."""

from __future__ import annotations

import pytest

from casebridge.cases.models import Contact, Lien, TrustItem
from tests.cases.api.conftest import contact, db_state, refused
from tests.cases.api.test_settlement import deposit, offer, stage

WARNING = (
    "$100,000.00 is deposited but trust should hold only $88,000.00: $12,000.00 of liens "
    "is paid direct (CMS Medicare $12,000.00), so $12,000.00 too much is in trust. Void the "
    "deposit and record it again for the right amount (the deposits should come to "
    "$88,000.00), or, if a lien is not in fact paid direct, correct the lien (an "
    "administrator can reopen an accepted lien). Push to Client Trust is refused until then."
)


@pytest.fixture
def medicare(cfirm, cadmin) -> Contact:
    return contact(cfirm, cadmin, "CMS Medicare")


def full_deposit_then_paid_direct(api, case, insurer, medicare) -> dict:
    accepted = offer(api, case, insurer, "100000.00")
    made = deposit(api, case, accepted["id"], "100000.00")
    assert made.status == 201, made.body
    claim = api.post(
        f"/cases/{case.pk}/liens",
        {"kind": "medicare", "holder_id": medicare.pk, "claimed": "12000.00"},
    )
    assert claim.status == 201, claim.body
    assert claim.body["warnings"] == []
    marked = api.put(
        f"/liens/{claim.body['id']}",
        {"claimed": "12000.00", "final": "12000.00", "paid_direct": True},
    )
    assert marked.status == 200, marked.body
    assert marked.body["warnings"] == [WARNING]  # warned as the lien is marked paid direct
    accepted_lien = api.post(f"/liens/{claim.body['id']}/accept", {"accepted_on": "2026-03-02"})
    assert accepted_lien.status == 200, accepted_lien.body
    assert accepted_lien.body["warnings"] == [WARNING]  # and as it is accepted
    return {"offer": accepted, "deposit": made.body, "lien": accepted_lien.body}


def test_the_excess_deposit_is_reported_and_fixed_by_voiding_it(api, case, insurer, medicare):
    made = full_deposit_then_paid_direct(api, case, insurer, medicare)
    shown = api.get(f"/cases/{case.pk}/settlement").body
    assert shown["warnings"] == [WARNING]
    assert (shown["figures"]["excess_deposited"], shown["figures"]["expected_in_trust"]) == (
        "12000.00",
        "88000.00",
    )
    assert stage(api, case, "lien", lien_id=made["lien"]["id"]).status == 201
    before = db_state()
    refused(
        api.post(f"/cases/{case.pk}/push-to-client-trust"),
        422,
        "validation_error",
        "$100,000.00 was deposited but only $88,000.00 is expected in trust",
    )
    assert db_state() == before

    voided = api.post(
        f"/deposits/{made['deposit']['id']}/void", {"reason": "Medicare was paid direct"}
    )
    assert voided.status == 200, voided.body
    assert (voided.body["voided_on"] is not None, voided.body["void_reason"]) == (
        True,
        "Medicare was paid direct",
    )
    assert deposit(api, case, made["offer"]["id"], "88000.00", check="88124").status == 201
    assert stage(api, case, "fee").status == 201
    pushed = api.post(f"/cases/{case.pk}/push-to-client-trust")
    assert pushed.status == 200, pushed.body
    assert pushed.body["client_item"]["amount"] == "54670.00"  # 88,000 - 33,330 fee
    assert pushed.body["settlement"]["warnings"] == []
    assert pushed.body["settlement"]["figures"]["trust_remaining"] == "0.00"


def test_an_administrator_reopens_an_accepted_lien(api, case, insurer, medicare):
    made = full_deposit_then_paid_direct(api, case, insurer, medicare)
    lien_id = made["lien"]["id"]
    assert stage(api, case, "lien", lien_id=lien_id).status == 201
    reply = api.post(f"/liens/{lien_id}/reopen", {"reason": "not paid direct after all"})
    assert reply.status == 200, reply.body
    assert (reply.body["accepted"], reply.body["final"], reply.body["staged"]) == (
        False,
        "12000.00",
        "0.00",
    )
    assert not TrustItem.objects.filter(lien_id=lien_id).exists()
    corrected = api.put(
        f"/liens/{lien_id}", {"claimed": "12000.00", "final": "12000.00", "paid_direct": False}
    )
    assert corrected.status == 200, corrected.body
    assert corrected.body["warnings"] == []
    assert api.get(f"/cases/{case.pk}/settlement").body["warnings"] == []


def test_reopening_is_refused_with_4xx_json_and_writes_nothing(
    api, attorney_api, case, insurer, medicare
):
    made = full_deposit_then_paid_direct(api, case, insurer, medicare)
    lien_id = made["lien"]["id"]
    before = db_state()
    refused(
        attorney_api.post(f"/liens/{lien_id}/reopen", {"reason": "mine"}),
        403,
        "permission_denied",
        "only a firm administrator can reopen an accepted lien",
        permission="firm_admin",
    )
    refused(
        api.post(f"/liens/{lien_id}/reopen", {"reason": "  "}),
        422,
        "validation_error",
        "",
        field="reason",
    )
    refused(api.post(f"/liens/{lien_id}/reopen", {}), 422, "validation_error", "", field="reason")
    refused(api.post("/liens/999999/reopen", {"reason": "x"}), 404, "not_found", "lien")
    assert db_state() == before
    assert Lien.objects.get(pk=lien_id).accepted_on is not None


def test_reopening_after_push_to_disbursement_is_409(api, case, insurer, medicare):
    made = full_deposit_then_paid_direct(api, case, insurer, medicare)
    lien_id = made["lien"]["id"]
    api.post(f"/deposits/{made['deposit']['id']}/void", {"reason": "wrong amount"})
    deposit(api, case, made["offer"]["id"], "88000.00", check="88124")
    stage(api, case, "lien", lien_id=lien_id)
    stage(api, case, "fee")
    assert api.post(f"/cases/{case.pk}/push-to-client-trust").status == 200
    # Medicare's final demand, paid direct at that amount: the hold releases (ADR 0039)
    step = {
        "kind": "final_demand",
        "on": made["lien"]["accepted_on"],
        "amount": made["lien"]["final"],
    }
    assert api.post(f"/cases/{case.pk}/medicare/steps", step).status == 201
    assert api.post(f"/cases/{case.pk}/push-to-disbursement").status == 200
    before = db_state()
    refused(
        api.post(f"/liens/{lien_id}/reopen", {"reason": "too late"}),
        409,
        "locked",
        "case PI-000001 has been pushed to disbursement; its settlement is locked",
    )
    assert db_state() == before


def test_staging_and_pushing_trust_money_need_the_deposit_permission(
    api, attorney_api, case, insurer
):
    """Item 12: anyone signed in could push a case's payments to the books."""
    accepted = offer(api, case, insurer, "1000.00")
    assert deposit(api, case, accepted["id"], "1000.00").status == 201
    before = db_state()
    for reply in (
        stage(attorney_api, case, "fee"),
        attorney_api.post(f"/cases/{case.pk}/push-to-client-trust"),
        attorney_api.post(f"/cases/{case.pk}/push-to-disbursement"),
    ):
        refused(
            reply,
            403,
            "permission_denied",
            "this needs the 'Deposit settlement checks' permission",
            permission="deposit_settlement",
        )
    assert db_state() == before
    fee = stage(api, case, "fee").body
    assert api.post(f"/cases/{case.pk}/push-to-client-trust").status == 200
    before = db_state()
    refused(
        attorney_api.delete(f"/trust-items/{fee['id']}"),
        403,
        "permission_denied",
        "this needs the 'Deposit settlement checks' permission",
        permission="deposit_settlement",
    )
    refused(
        attorney_api.post(f"/cases/{case.pk}/push-to-disbursement"),
        403,
        "permission_denied",
        "this needs the 'Deposit settlement checks' permission",
        permission="deposit_settlement",
    )
    assert db_state() == before
    assert api.post(f"/cases/{case.pk}/push-to-disbursement").status == 200
