"""The Settlement tab over the API: the worked settlement of domain.md to the cent, the
refusals of the issue's "Bad input" list, permissions, fee change approval, liens and the
To Be Disbursed list."""

from __future__ import annotations

import pytest

from casebridge.cases.models import (
    Deposit,
    FeeChangeRequest,
    Lien,
    Negotiation,
    Settlement,
    TrustItem,
    TrustItemStatus,
)
from casebridge.cases.services import settlement
from tests.cases.api.conftest import D, contact, db_state, refused
from tests.cases.conftest import cost_code


def add_cost(api, case, payee, amount: str, code: str) -> dict:
    reply = api.post(
        "/costs",
        {
            "case_id": case.pk,
            "payee_id": payee.pk,
            "amount": amount,
            "cost_code_id": cost_code(case.firm, code).pk,
            "cost_date": "2026-02-01",
        },
    )
    assert reply.status == 201, reply.body
    return reply.body


def offer(api, case, party, amount: str, *, accept: bool = True) -> dict:
    made = api.post(
        f"/cases/{case.pk}/negotiations",
        {"kind": "offer", "party_id": party.pk, "amount": amount, "made_on": "2026-03-01"},
    )
    assert made.status == 201, made.body
    if not accept:
        return made.body
    accepted = api.post(f"/negotiations/{made.body['id']}/accept", {"accepted_on": "2026-03-02"})
    assert accepted.status == 200, accepted.body
    return accepted.body


def deposit(api, case, offer_id: int, amount: str, check: str = "88123"):
    return api.post(
        f"/cases/{case.pk}/deposits",
        {
            "offer_id": offer_id,
            "amount": amount,
            "check_number": check,
            "deposited_on": "2026-03-02",
        },
    )


def lien(api, case, holder, claimed: str, final: str | None = None) -> dict:
    made = api.post(
        f"/cases/{case.pk}/liens", {"kind": "medical", "holder_id": holder.pk, "claimed": claimed}
    )
    assert made.status == 201, made.body
    if final is None:
        return made.body
    accepted = api.post(f"/liens/{made.body['id']}/accept", {"final": final})
    assert accepted.status == 200, accepted.body
    return accepted.body


def stage(api, case, kind: str, **extra):
    return api.post(f"/cases/{case.pk}/trust-items", {"kind": kind, **extra})


def test_the_worked_settlement_through_the_api(api, cfirm, cadmin, case, insurer, payee):
    add_cost(api, case, payee, "5000.00", "E119")
    add_cost(api, case, payee, "3500.00", "MEDREC")
    terms = api.put(
        f"/cases/{case.pk}/settlement/terms",
        {
            "fee_mode": "percent",
            "fee_rate": "33.33",
            "fee_fixed": "0",
            "fee_on_net_of_costs": False,
            "copp": "0.00",
            "property_damage_fee": "0.00",
        },
    )
    assert terms.status == 200
    assert terms.body["fee_change_request"] is None
    accepted = offer(api, case, insurer, "250000.00")
    assert (accepted["accepted"], accepted["accepted_on"]) == (True, "2026-03-02")
    made = deposit(api, case, accepted["id"], "250000.00")
    assert made.status == 201
    assert (made.body["amount"], made.body["check_number"]) == ("250000.00", "88123")
    valley = lien(api, case, contact(cfirm, cadmin, "Valley Medical"), "31000.00", "30000.00")
    shield = lien(api, case, contact(cfirm, cadmin, "Blue Shield"), "16000.00", "15000.00")
    assert (valley["claimed"], valley["final"], valley["accepted"]) == (
        "31000.00",
        "30000.00",
        True,
    )
    for lien_id in (valley["id"], shield["id"]):
        assert stage(api, case, "lien", lien_id=lien_id).status == 201
    fee = stage(api, case, "fee")
    assert (fee.status, fee.body["amount"], fee.body["payee_name"]) == (
        201,
        "83325.00",
        "Lopez Injury Attorneys",
    )
    assert stage(api, case, "cost_reimbursement").body["amount"] == "8500.00"

    tab = api.get(f"/cases/{case.pk}/settlement")
    assert tab.status == 200
    assert tab.body["terms"]["fee_rate"] == "33.33"
    assert tab.body["figures"] == {
        "gross": "250000.00",
        "deposited": "250000.00",
        "not_yet_deposited": "0.00",
        "expected_in_trust": "250000.00",
        "fee_base": "250000.00",
        "fee_rate": "33.33",
        "fee": "83325.00",
        "costs": "8500.00",
        "cost_reimbursement_due": "8500.00",
        "copp": "0.00",
        "property_damage_fee": "0.00",
        "liens": "45000.00",
        "liens_paid_direct": "0.00",
        "net_to_client": "113175.00",
        "staged_from_trust": "136825.00",
        "client_check": "0.00",
        "trust_remaining": "113175.00",
        "excess_deposited": "0.00",
    }
    assert tab.body["warnings"] == []
    assert tab.body["recovery_by_source"] == [
        {
            "offer_id": accepted["id"],
            "payer": "Acme Insurance",
            "accepted": "250000.00",
            "deposited": "250000.00",
            "accepted_on": "2026-03-02",
        }
    ]
    assert [(ln["holder"]["name"], ln["final"], ln["staged"]) for ln in tab.body["liens"]] == [
        ("Valley Medical", "30000.00", "30000.00"),
        ("Blue Shield", "15000.00", "15000.00"),
    ]

    pushed = api.post(f"/cases/{case.pk}/push-to-client-trust", {})
    assert pushed.status == 200
    client_item = pushed.body["client_item"]
    assert (client_item["kind"], client_item["amount"], client_item["payee_name"]) == (
        "client",
        "113175.00",
        "Maria Lopez",
    )
    assert pushed.body["settlement"]["figures"]["trust_remaining"] == "0.00"
    assert pushed.body["settlement"]["figures"]["client_check"] == "113175.00"

    summary = api.get(f"/cases/{case.pk}").body["settlement"]
    assert summary == {
        "gross": "250000.00",
        "fee": "83325.00",
        "costs": "8500.00",
        "liens": "45000.00",
        "net_to_client": "113175.00",
        "deposited": "250000.00",
        "trust_remaining": "0.00",
    }

    moved = api.post(f"/cases/{case.pk}/push-to-disbursement")
    assert (moved.status, moved.body["moved"]) == (200, 5)
    listing = api.get("/trust/to-be-disbursed")
    assert listing.status == 200
    assert (len(listing.body["items"]), listing.body["next"]) == (1, None)
    row = listing.body["items"][0]
    assert (row["case"]["id"], row["client"]["name"], row["total"]) == (
        case.pk,
        "Maria Lopez",
        "250000.00",
    )
    assert sorted(i["amount"] for i in row["items"]) == [
        "113175.00",
        "15000.00",
        "30000.00",
        "83325.00",
        "8500.00",
    ]
    assert {i["status"] for i in row["items"]} == {"to_be_disbursed"}

    refused(
        stage(api, case, "copp"),
        409,
        "locked",
        f"case {case.number} has been pushed to disbursement; its settlement is locked",
    )


def test_staging_more_than_the_trust_holds_is_refused_and_writes_nothing(api, case, insurer):
    accepted = offer(api, case, insurer, "250000.00")
    assert deposit(api, case, accepted["id"], "1000.00").status == 201
    before = db_state()

    too_much = stage(api, case, "fee")
    refused(
        too_much,
        409,
        "staging_exceeds_trust",
        "only $1,000.00 of deposited money is not yet staged; $83,325.00 cannot be staged",
        available="1000.00",
    )
    assert db_state() == before

    part = stage(api, case, "fee", amount="1000.00")
    assert (part.status, part.body["amount"]) == (201, "1000.00")
    nothing_left = stage(api, case, "cost_reimbursement")
    # no costs on the case: nothing is due
    refused(nothing_left, 422, "validation_error", "nothing is due for the Cost reimbursement")


def test_staging_more_than_is_due_is_refused(api, case, insurer):
    accepted = offer(api, case, insurer, "250000.00")
    deposit(api, case, accepted["id"], "250000.00")
    before = db_state()
    reply = stage(api, case, "fee", amount="83325.01")
    refused(
        reply,
        422,
        "validation_error",
        "$83,325.01 is more than the $83,325.00 due",
        field="amount",
    )
    assert db_state() == before


def test_depositing_without_an_accepted_offer_is_refused_and_writes_nothing(api, case, insurer):
    pending = offer(api, case, insurer, "250000.00", accept=False)
    before = db_state()
    reply = deposit(api, case, pending["id"], "250000.00")
    refused(
        reply,
        422,
        "validation_error",
        "a settlement check can be deposited only against an accepted offer; "
        "accept the offer first",
        field="offer",
    )
    assert db_state() == before
    assert Deposit.objects.count() == 0


def test_depositing_more_than_the_offer_is_refused(api, case, insurer):
    accepted = offer(api, case, insurer, "1000.00")
    assert deposit(api, case, accepted["id"], "600.00", "1").status == 201
    before = db_state()
    reply = deposit(api, case, accepted["id"], "400.01", "2")
    refused(
        reply,
        422,
        "validation_error",
        "this would deposit $1,000.01 against an offer of $1,000.00; "
        "at most $400.00 remains to be deposited",
        field="amount",
    )
    assert db_state() == before


def test_a_user_without_the_deposit_permission_gets_403_naming_it(
    api, paralegal_api, cadmin, paralegal, case, insurer
):
    accepted = offer(api, case, insurer, "250000.00")
    before = db_state()
    reply = deposit(paralegal_api, case, accepted["id"], "250000.00")
    refused(
        reply,
        403,
        "permission_denied",
        "this needs the 'Deposit settlement checks' permission",
        permission="deposit_settlement",
    )
    assert db_state() == before

    made = deposit(api, case, accepted["id"], "250000.00")
    voided = paralegal_api.post(f"/deposits/{made.body['id']}/void", {"reason": "bounced"})
    refused(
        voided,
        403,
        "permission_denied",
        "this needs the 'Deposit settlement checks' permission",
        permission="deposit_settlement",
    )


def test_voiding_a_deposit_and_its_refusals(api, case, insurer):
    accepted = offer(api, case, insurer, "1000.00")
    made = deposit(api, case, accepted["id"], "1000.00").body
    assert stage(api, case, "fee", amount="100.00").status == 201
    before = db_state()
    needed = api.post(f"/deposits/{made['id']}/void", {"reason": "bounced"})
    refused(
        needed,
        409,
        "staging_exceeds_trust",
        "payments of $100.00 are staged against this money; unstage $100.00 first",
        staged="100.00",
    )
    assert db_state() == before

    item = TrustItem.objects.get()
    assert api.delete(f"/trust-items/{item.pk}").status == 204
    voided = api.post(f"/deposits/{made['id']}/void", {"reason": "bounced"})
    assert voided.status == 200
    assert (voided.body["void_reason"], voided.body["voided_on"] is not None) == ("bounced", True)
    refused(api.post(f"/deposits/{made['id']}/void"), 409, "locked", "this deposit is already void")


def test_an_accepted_offer_is_locked(api, case, insurer):
    accepted = offer(api, case, insurer, "5000.00")
    before = db_state()
    deleted = api.delete(f"/negotiations/{accepted['id']}")
    refused(deleted, 409, "locked", "an accepted offer is locked and cannot be deleted")
    twice = api.post(f"/negotiations/{accepted['id']}/accept")
    refused(twice, 409, "locked", "this offer is already accepted")
    assert db_state() == before

    demand = api.post(
        f"/cases/{case.pk}/negotiations",
        {"kind": "demand", "party_id": insurer.pk, "amount": "9000.00"},
    ).body
    refused(
        api.post(f"/negotiations/{demand['id']}/accept"),
        422,
        "validation_error",
        "a demand cannot be accepted",
    )
    assert api.delete(f"/negotiations/{demand['id']}").status == 204
    assert list(Negotiation.objects.values_list("pk", flat=True)) == [accepted["id"]]


def test_a_negotiation_of_zero_is_refused(api, case, insurer):
    before = db_state()
    reply = api.post(
        f"/cases/{case.pk}/negotiations",
        {"kind": "offer", "party_id": insurer.pk, "amount": "0.00"},
    )
    refused(reply, 422, "validation_error", "amount must be greater than $0.00", field="amount")
    assert db_state() == before


def test_liens_accepting_without_saving_and_editing_an_accepted_lien(api, cfirm, cadmin, case):
    holder = contact(cfirm, cadmin, "Medicare")
    made = lien(api, case, holder, "12000.00")
    assert (made["final"], made["accepted"], made["kind_label"]) == (None, False, "Medical bill")
    before = db_state()

    unsaved = api.post(f"/liens/{made['id']}/accept")
    refused(
        unsaved,
        422,
        "validation_error",
        "enter and save the final amount before accepting it",
        field="final",
    )
    assert db_state() == before

    saved = api.put(
        f"/liens/{made['id']}",
        {"claimed": "12000.00", "final": "9000.00", "paid_direct": True, "note": "Medicare"},
    )
    assert (saved.status, saved.body["final"], saved.body["paid_direct"]) == (200, "9000.00", True)
    accepted = api.post(f"/liens/{made['id']}/accept", {"accepted_on": "2026-03-05"})
    assert (accepted.status, accepted.body["accepted_on"]) == (200, "2026-03-05")

    before = db_state()
    edit = api.put(
        f"/liens/{made['id']}", {"claimed": "1.00", "final": "1.00", "paid_direct": False}
    )
    refused(edit, 409, "locked", "this lien's final amount is accepted and locked")
    assert db_state() == before

    paid_direct = stage(api, case, "lien", lien_id=made["id"])
    assert paid_direct.status == 201  # recorded, never paid from trust (nothing deposited)
    assert (paid_direct.body["paid_direct"], paid_direct.body["note"]) == (
        True,
        "DO NOT DISTRIBUTE - PAID DIRECT",
    )


def test_a_final_amount_above_the_claim_is_refused(api, cfirm, cadmin, case):
    made = lien(api, case, contact(cfirm, cadmin, "Valley Medical"), "100.00")
    reply = api.post(f"/liens/{made['id']}/accept", {"final": "100.01"})
    refused(
        reply,
        422,
        "validation_error",
        "the final amount $100.01 is more than the claim $100.00",
        field="final",
    )
    assert Lien.objects.get().accepted_on is None


def test_a_fee_change_needs_an_administrators_approval(api, attorney_api, cfirm, case, insurer):
    body = {
        "fee_mode": "percent",
        "fee_rate": "40",
        "fee_fixed": "0.00",
        "fee_on_net_of_costs": False,
        "copp": "25.00",
        "property_damage_fee": "-50.00",
        "reason": "went to trial",
    }
    asked = attorney_api.put(f"/cases/{case.pk}/settlement/terms", body)
    assert asked.status == 200
    request = asked.body["fee_change_request"]
    assert (request["fee_rate"], request["status"], request["reason"]) == (
        "40.00",
        "pending",
        "went to trial",
    )
    terms = asked.body["settlement"]["terms"]
    assert (terms["fee_rate"], terms["copp"], terms["property_damage_fee"]) == (
        "33.33",
        "25.00",
        "-50.00",
    )
    assert asked.body["settlement"]["pending_fee_change"]["id"] == request["id"]

    listed = api.get("/fee-change-requests", {"status": "pending"})
    assert [r["id"] for r in listed.body["items"]] == [request["id"]]

    before = db_state()
    refused(
        attorney_api.post(f"/fee-change-requests/{request['id']}/approve"),
        403,
        "permission_denied",
        "only a firm administrator can approve fee changes",
        permission="firm_admin",
    )
    assert db_state() == before

    approved = api.post(f"/fee-change-requests/{request['id']}/approve")
    assert (approved.status, approved.body["status"]) == (200, "approved")
    assert approved.body["decided_by"]["email"] == "admin@lopez.test"
    assert Settlement.objects.get(case=case).fee_rate_bp == 4000
    again = api.post(f"/fee-change-requests/{request['id']}/reject")
    refused(again, 409, "locked", "this request was already approved")


def test_terms_refusals_name_the_field(api, case):
    good = {
        "fee_mode": "percent",
        "fee_rate": "33.33",
        "fee_fixed": "0",
        "fee_on_net_of_costs": False,
        "copp": "0",
        "property_damage_fee": "0",
    }
    before = db_state()
    for change, field, message in [
        ({"fee_rate": "100.01"}, "fee_rate", "the fee percentage must be between 0 and 100"),
        ({"fee_rate": "33.333"}, "fee_rate", "fee_rate: has more than two decimal places: 33.333"),
        ({"copp": "-1"}, "copp", "COPP charges cannot be negative"),
        ({"fee_mode": "fixed", "fee_fixed": "-5"}, "fee_fixed", "a fixed fee cannot be negative"),
        ({"fee_mode": "contingent"}, "fee_mode", None),
    ]:
        reply = api.put(f"/cases/{case.pk}/settlement/terms", {**good, **change})
        refused(reply, 422, "validation_error", message or "", field=field)
    assert db_state() == before


def test_push_to_client_trust_says_what_is_missing(api, cfirm, cadmin, case, insurer):
    before = db_state()
    nothing = api.post(f"/cases/{case.pk}/push-to-client-trust")
    refused(nothing, 422, "validation_error", "no offer is accepted on this case yet")
    assert db_state() == before
    accepted = offer(api, case, insurer, "10000.00")
    deposit(api, case, accepted["id"], "10000.00")
    lien(api, case, contact(cfirm, cadmin, "Valley Medical"), "1000.00", "800.00")
    before = db_state()
    unstaged = api.post(
        f"/cases/{case.pk}/push-to-client-trust", {"payee_name": "Rosa Lopez, guardian"}
    )
    refused(
        unstaged,
        422,
        "validation_error",
        "the medical bill of Valley Medical ($800.00) is not staged yet",
    )
    assert db_state() == before
    early = api.post(f"/cases/{case.pk}/push-to-disbursement")
    refused(early, 422, "validation_error", "push to client trust first")
    assert db_state() == before


def test_a_client_advance_may_name_another_payee(api, case, insurer):
    accepted = offer(api, case, insurer, "1000.00")
    deposit(api, case, accepted["id"], "1000.00")
    assert stage(api, case, "fee").status == 201
    pushed = api.post(
        f"/cases/{case.pk}/push-to-client-trust", {"payee_name": "Rosa Lopez, guardian"}
    )
    assert pushed.status == 200
    item = pushed.body["client_item"]
    # the remainder of the trust money after the 33.33% fee
    assert (item["payee_name"], item["amount"]) == ("Rosa Lopez, guardian", "666.70")
    assert pushed.body["settlement"]["figures"]["trust_remaining"] == "0.00"


@pytest.mark.parametrize("kind", ["client", "fee"])
def test_staging_refusals_say_what_to_do(api, case, kind):
    before = db_state()
    problem = {
        "client": "the client's check is made by Push to Client Trust",
        "fee": "fees can be taken only after a settlement check is deposited",
    }[kind]
    refused(stage(api, case, kind), 422, "validation_error", problem, field="kind")
    assert db_state() == before


def test_unstaging_withdraws_the_clients_check(api, cfirm, cadmin, case, insurer):
    accepted = offer(api, case, insurer, "3000.00")
    deposit(api, case, accepted["id"], "3000.00")
    fee = stage(api, case, "fee").body
    assert api.post(f"/cases/{case.pk}/push-to-client-trust").status == 200
    assert api.delete(f"/trust-items/{fee['id']}").status == 204
    figures = api.get(f"/cases/{case.pk}/settlement").body["figures"]
    assert (figures["client_check"], figures["trust_remaining"]) == ("0.00", "3000.00")
    assert TrustItem.objects.filter(status=TrustItemStatus.STAGED).count() == 0
    assert FeeChangeRequest.objects.count() == 0


def test_settlement_service_figures_match_the_api(api, cfirm, cadmin, case, insurer):
    settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=12_345,
        made_on=D,
    )
    tab = api.get(f"/cases/{case.pk}/settlement").body
    assert tab["negotiations"][0]["amount"] == "123.45"
    assert tab["figures"]["gross"] == "0.00"  # not accepted yet


def test_stage_all_due_through_the_api_stages_every_payment_or_none(
    api, cfirm, cadmin, case, insurer
):
    accepted = offer(api, case, insurer, "250000.00")
    assert deposit(api, case, accepted["id"], "1000.00").status == 201
    before = db_state()
    short = api.post(f"/cases/{case.pk}/trust-items/stage-due")
    assert (short.status, short.error["code"]) == (409, "staging_exceeds_trust")
    assert short.error["details"]["available"] == "1000.00"
    assert db_state() == before

    assert deposit(api, case, accepted["id"], "249000.00", check="88124").status == 201
    staged = api.post(f"/cases/{case.pk}/trust-items/stage-due")
    assert staged.status == 201, staged.body
    assert [(i["kind"], i["amount"]) for i in staged.body["items"]] == [("fee", "83325.00")]
    again = api.post(f"/cases/{case.pk}/trust-items/stage-due")
    assert (again.status, again.error["message"]) == (422, "nothing is due to stage on this case")
