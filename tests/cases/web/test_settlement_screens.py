"""The Settlement tab: negotiations, deposits, the fee and charges (with fee change
requests), liens, the figures, and staging the client's trust money to $0.00."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.cases.models import (
    Deposit,
    FeeChangeRequest,
    FeeChangeStatus,
    Lien,
    Negotiation,
    Settlement,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.selectors.settlement import settlement_figures
from casebridge.cases.services import settlement

from .conftest import HX, D, nothing_written, text


def tab(client, case) -> str:
    return text(client.get(reverse("cases:case_settlement", args=[case.pk])))


# --- Negotiations --------------------------------------------------------------------------


def test_recording_a_demand_and_an_offer(admin_client, case, insurer):
    url = reverse("cases:negotiation_new", args=[case.pk])
    response = admin_client.post(
        url,
        {
            "kind": "demand",
            "party": "acme insurance",
            "amount": "500,000.00",
            "made_on": "2026-02-01",
        },
        **HX,
    )
    assert response.status_code == 200
    response = admin_client.post(
        url,
        {
            "kind": "offer",
            "party": "Beta Mutual",
            "amount": "120000",
            "made_on": "2026-02-15",
            "note": "First offer",
        },
        **HX,
    )
    assert response.status_code == 200
    rows = list(
        Negotiation.objects.filter(case=case)
        .order_by("made_on")
        .values_list("kind", "party__name", "amount_cents", "made_on", "note", "accepted_on")
    )
    assert rows == [
        ("demand", "Acme Insurance", 50_000_000, dt.date(2026, 2, 1), "", None),
        ("offer", "Beta Mutual", 12_000_000, dt.date(2026, 2, 15), "First offer", None),
    ]
    page = tab(admin_client, case)
    assert "Accept the offer of $120,000.00 from Beta Mutual" in page


def test_a_zero_offer_is_refused(admin_client, case, insurer):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:negotiation_new", args=[case.pk]),
            {"kind": "offer", "party": "Acme Insurance", "amount": "0.00", "made_on": "2026-02-01"},
            **HX,
        )
    assert response.status_code == 422
    assert "Amount must be greater than $0.00" in text(response)


def test_accepting_an_offer_asks_first_and_locks_it(admin_client, cadmin, case, offer):
    form = text(admin_client.get(reverse("cases:offer_accept", args=[offer.pk]), **HX))
    assert "Once accepted the offer is locked" in form
    response = admin_client.post(
        reverse("cases:offer_accept", args=[offer.pk]), {"accepted_on": "2026-03-02"}, **HX
    )
    assert response.status_code == 200
    offer.refresh_from_db()
    assert (offer.accepted_on, offer.accepted_by_id) == (dt.date(2026, 3, 2), cadmin.pk)
    page = tab(admin_client, case)
    assert "Accepted 2026-03-02 · locked" in page
    assert "Accept the offer of" not in page


def test_accepting_twice_or_a_demand_is_refused(admin_client, cfirm, cadmin, case, insurer, offer):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk)
    with nothing_written():
        response = admin_client.post(
            reverse("cases:offer_accept", args=[offer.pk]), {"accepted_on": "2026-03-02"}, **HX
        )
    assert response.status_code == 422
    assert "This offer is already accepted" in text(response)
    demand = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="demand",
        party_id=insurer.pk,
        amount_cents=1_000,
    )
    with nothing_written():
        response = admin_client.post(
            reverse("cases:offer_accept", args=[demand.pk]), {"accepted_on": "2026-03-02"}, **HX
        )
    assert response.status_code == 422
    assert "A demand cannot be accepted" in text(response)


# --- Deposits --------------------------------------------------------------------------------


def test_depositing_a_settlement_check(attorney_client, attorney, cfirm, cadmin, case, offer):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk)
    form = text(attorney_client.get(reverse("cases:deposit_new", args=[case.pk]), **HX))
    assert f'<option value="{offer.pk}" selected>' in form
    response = attorney_client.post(
        reverse("cases:deposit_new", args=[case.pk]),
        {
            "offer": offer.pk,
            "amount": "60,000.00",
            "check_number": "88123",
            "deposited_on": "2026-03-03",
        },
        **HX,
    )
    assert response.status_code == 200
    dep = Deposit.objects.get()
    assert (
        dep.offer_id,
        dep.amount_cents,
        dep.check_number,
        dep.deposited_on,
        dep.created_by_id,
    ) == (
        offer.pk,
        6_000_000,
        "88123",
        dt.date(2026, 3, 3),
        attorney.pk,
    )
    page = tab(attorney_client, case)
    assert "$40,000.00 still to come" in page  # a partial payment


def test_a_deposit_without_an_accepted_offer_is_refused(attorney_client, case, offer):
    with nothing_written():
        response = attorney_client.post(
            reverse("cases:deposit_new", args=[case.pk]),
            {
                "offer": offer.pk,
                "amount": "100.00",
                "check_number": "1",
                "deposited_on": "2026-03-03",
            },
            **HX,
        )
    assert response.status_code == 422
    body = text(response)
    assert (
        "A settlement check can be deposited only against an accepted offer; accept the offer first"
        in body
    )
    assert 'id="id_offer_error"' in body


def test_a_deposit_beyond_the_offer_is_refused(attorney_client, cfirm, cadmin, case, offer):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk)
    with nothing_written():
        response = attorney_client.post(
            reverse("cases:deposit_new", args=[case.pk]),
            {
                "offer": offer.pk,
                "amount": "100,000.01",
                "check_number": "1",
                "deposited_on": "2026-03-03",
            },
            **HX,
        )
    assert response.status_code == 422
    assert "at most $100,000.00 remains to be deposited" in text(response)


def test_the_deposit_action_is_hidden_without_the_permission(
    paralegal_client, attorney_client, case, offer
):
    assert "Deposit settlement check" not in tab(paralegal_client, case)
    assert "Deposit settlement check" in tab(attorney_client, case)
    with nothing_written():
        response = paralegal_client.post(
            reverse("cases:deposit_new", args=[case.pk]),
            {
                "offer": offer.pk,
                "amount": "1.00",
                "check_number": "1",
                "deposited_on": "2026-03-03",
            },
            **HX,
        )
    assert response.status_code == 403
    assert "Deposit settlement checks" in text(response)


# --- Fee and charges ---------------------------------------------------------------------


def terms(**overrides):
    data = {
        "fee_mode": "percent",
        "fee_rate": "33.33",
        "fee_fixed": "",
        "fee_base": "gross",
        "copp": "0.00",
        "property_damage_fee": "0.00",
        "reason": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("typed", "bp"),
    [("33.33", 3333), ("40", 4000), ("12.5", 1250), ("0.01", 1), ("100", 10000), ("25%", 2500)],
)
def test_an_administrator_sets_the_fee_percentage_exactly(admin_client, case, typed, bp):
    response = admin_client.post(
        reverse("cases:settlement_terms", args=[case.pk]), terms(fee_rate=typed), **HX
    )
    assert response.status_code == 200
    assert Settlement.objects.get(case=case).fee_rate_bp == bp
    assert not FeeChangeRequest.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("33.333", "Enter a percentage with up to two decimal places"),
        ("abc", "Enter a percentage with up to two decimal places"),
        ("-5", "Enter a percentage with up to two decimal places"),
        ("100.01", "The fee percentage must be between 0 and 100"),
        ("", "Enter the fee percentage."),
    ],
)
def test_a_bad_fee_percentage_is_refused(admin_client, case, typed, message):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:settlement_terms", args=[case.pk]), terms(fee_rate=typed), **HX
        )
    assert response.status_code == 422
    assert message in text(response)
    assert 'id="id_fee_rate_error"' in text(response)


def test_a_fixed_fee_on_the_net_and_charges(admin_client, case):
    response = admin_client.post(
        reverse("cases:settlement_terms", args=[case.pk]),
        terms(fee_mode="fixed", fee_fixed="5,000.00", copp="150.00", property_damage_fee="-200.00"),
        **HX,
    )
    assert response.status_code == 200
    s = Settlement.objects.get(case=case)
    assert (
        s.fee_mode,
        s.fee_fixed_cents,
        s.fee_rate_bp,
        s.copp_cents,
        s.property_damage_fee_cents,
    ) == (
        "fixed",
        500_000,
        3333,  # kept for a switch back to a percentage
        15_000,
        -20_000,
    )
    page = tab(admin_client, case)
    assert "A fixed $5,000.00" in page
    assert "A negative Property Damage Fee is a waiver" in page
    assert "Waiver" in page


def test_negative_copp_is_refused(admin_client, case):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:settlement_terms", args=[case.pk]), terms(copp="-1.00"), **HX
        )
    assert response.status_code == 422
    assert 'id="id_copp_error"' in text(response)


def test_a_fee_change_by_a_non_administrator_waits_for_approval(
    attorney_client, admin_client, attorney, case
):
    form = text(attorney_client.get(reverse("cases:settlement_terms", args=[case.pk]), **HX))
    assert "needs an administrator's approval" in form
    with nothing_written():
        response = attorney_client.post(
            reverse("cases:settlement_terms", args=[case.pk]), terms(fee_rate="40"), **HX
        )
    assert response.status_code == 422
    assert "Say why the fee should change" in text(response)
    response = attorney_client.post(
        reverse("cases:settlement_terms", args=[case.pk]),
        terms(fee_rate="40", reason="Went to trial"),
        **HX,
    )
    assert response.status_code == 200
    req = FeeChangeRequest.objects.get()
    assert (req.fee_mode, req.fee_rate_bp, req.reason, req.requested_by_id, req.status) == (
        "percent",
        4000,
        "Went to trial",
        attorney.pk,
        FeeChangeStatus.PENDING,
    )
    assert Settlement.objects.get(case=case).fee_rate_bp == 3333
    page = tab(attorney_client, case)
    assert "Waiting for administrator approval" in page
    assert ">Approve</button>" not in page
    admin_page = tab(admin_client, case)
    assert ">Approve</button>" in admin_page
    assert ">Reject</button>" in admin_page
    response = admin_client.post(
        reverse("cases:fee_change_decide", args=[req.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    assert Settlement.objects.get(case=case).fee_rate_bp == 4000
    req.refresh_from_db()
    assert req.status == FeeChangeStatus.APPROVED
    assert "Waiting for administrator approval" not in tab(admin_client, case)


def test_a_non_administrator_cannot_move_the_fee_to_the_net(attorney_client, case):
    with nothing_written():
        response = attorney_client.post(
            reverse("cases:settlement_terms", args=[case.pk]),
            terms(fee_base="net", reason="costs first"),
            **HX,
        )
    assert response.status_code == 422
    assert 'id="id_fee_base_error"' in text(response)


def test_an_administrator_rejects_a_fee_change(admin_client, cfirm, attorney, case):
    _, req = settlement.settlement_terms_update(
        firm=cfirm,
        actor=attorney,
        case_id=case.pk,
        fee_mode="fixed",
        fee_rate_bp=3333,
        fee_fixed_cents=100,
        fee_on_net_of_costs=False,
        copp_cents=0,
        property_damage_fee_cents=0,
        reason="x",
    )
    assert req is not None
    page = text(admin_client.get(reverse("cases:fee_change_decide", args=[req.pk]), **HX))
    assert "A fixed $1.00" in page
    response = admin_client.post(
        reverse("cases:fee_change_decide", args=[req.pk]), {"decision": "reject"}, **HX
    )
    assert response.status_code == 200
    req.refresh_from_db()
    assert req.status == FeeChangeStatus.REJECTED
    assert Settlement.objects.get(case=case).fee_mode == "percent"
    with nothing_written():
        response = admin_client.post(
            reverse("cases:fee_change_decide", args=[req.pk]), {"decision": "approve"}, **HX
        )
    assert response.status_code == 422
    assert "This request was already rejected" in text(response)


# --- Liens ----------------------------------------------------------------------------------


def test_adding_editing_and_accepting_a_lien(admin_client, case):
    response = admin_client.post(
        reverse("cases:lien_new", args=[case.pk]),
        {
            "kind": "medicare",
            "holder": "Medicare",
            "claimed": "5,000.00",
            "paid_direct": "on",
            "note": "CMS ref 1",
        },
        **HX,
    )
    assert response.status_code == 200
    lien = Lien.objects.get()
    assert (lien.kind, lien.holder.name, lien.claimed_cents, lien.paid_direct, lien.note) == (
        "medicare",
        "Medicare",
        500_000,
        True,
        "CMS ref 1",
    )
    response = admin_client.post(
        reverse("cases:lien_edit", args=[lien.pk]),
        {"claimed": "4,800.00", "final": "4,000.00", "paid_direct": "on", "note": "Reduced"},
        **HX,
    )
    assert response.status_code == 200
    lien.refresh_from_db()
    assert (lien.claimed_cents, lien.final_cents, lien.note) == (480_000, 400_000, "Reduced")
    assert "DO NOT DISTRIBUTE - PAID DIRECT" in tab(admin_client, case)
    form = text(admin_client.get(reverse("cases:lien_accept", args=[lien.pk]), **HX))
    assert 'value="4000.00"' in form
    response = admin_client.post(
        reverse("cases:lien_accept", args=[lien.pk]),
        {"final": "4,000.00", "accepted_on": "2026-03-04"},
        **HX,
    )
    assert response.status_code == 200
    lien.refresh_from_db()
    assert (lien.final_cents, lien.accepted_on) == (400_000, dt.date(2026, 3, 4))
    assert "Accepted · locked" in tab(admin_client, case)


def test_editing_an_accepted_lien_is_refused(admin_client, cfirm, cadmin, lien):
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=1_500_000)
    form = text(admin_client.get(reverse("cases:lien_edit", args=[lien.pk]), **HX))
    assert "This lien's final amount is accepted and locked." in form
    assert ">Save</button>" not in form
    with nothing_written():
        response = admin_client.post(
            reverse("cases:lien_edit", args=[lien.pk]),
            {"claimed": "1.00", "final": "1.00", "note": ""},
            **HX,
        )
    assert response.status_code == 422
    assert "This lien&#x27;s final amount is accepted and locked" in text(response)


def test_a_final_amount_above_the_claim_is_refused(admin_client, lien):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:lien_accept", args=[lien.pk]),
            {"final": "20,000.01", "accepted_on": "2026-03-04"},
            **HX,
        )
    assert response.status_code == 422
    assert "is more than the claim $20,000.00; correct the claim first" in text(response)


# --- Staging -------------------------------------------------------------------------------


def test_stage_payment_defaults_to_what_is_due(admin_client, cadmin, case, deposited):
    form = text(admin_client.get(reverse("cases:stage", args=[case.pk, "fee"]), **HX))
    assert 'value="33330.00"' in form  # 33.33% of $100,000.00
    response = admin_client.post(
        reverse("cases:stage", args=[case.pk, "fee"]), {"amount": "33,330.00", "note": ""}, **HX
    )
    assert response.status_code == 200
    item = TrustItem.objects.get()
    assert (item.kind, item.amount_cents, item.payee_name, item.status, item.staged_by_id) == (
        TrustItemKind.FEE,
        3_333_000,
        "Lopez Injury Attorneys",
        TrustItemStatus.STAGED,
        cadmin.pk,
    )


def test_staging_less_than_due_and_never_more(admin_client, case, deposited):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:stage", args=[case.pk, "cost_reimbursement"]), {"amount": "300.02"}, **HX
        )
    assert response.status_code == 422
    assert "$300.02 is more than the $300.01 due" in text(response)
    response = admin_client.post(
        reverse("cases:stage", args=[case.pk, "cost_reimbursement"]), {"amount": "300.00"}, **HX
    )
    assert response.status_code == 200
    assert TrustItem.objects.get().amount_cents == 30_000


def test_staging_beyond_the_trust_money_is_refused(admin_client, cfirm, cadmin, case, offer, lien):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk)
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=1_000_000,
        check_number="1",
    )
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=1_500_000)
    with nothing_written():
        response = admin_client.post(
            reverse("cases:stage_lien", args=[case.pk, lien.pk]), {"amount": "15,000.00"}, **HX
        )
    assert response.status_code == 422
    body = text(response)
    assert (
        "Only $10,000.00 of deposited money is not yet staged; $15,000.00 cannot be staged" in body
    )
    assert 'id="id_amount_error"' in body


def test_staging_an_unaccepted_lien_is_refused(admin_client, case, deposited, lien):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:stage_lien", args=[case.pk, lien.pk]), {"amount": "1.00"}, **HX
        )
    assert response.status_code == 422
    assert (
        "A payment can be staged only for an accepted final amount; accept the lien first"
        in text(response)
    )


def test_the_fee_cannot_be_staged_before_a_deposit(admin_client, case, offer):
    page = tab(admin_client, case)
    assert "After a settlement check is deposited" in page
    with nothing_written():
        response = admin_client.post(
            reverse("cases:stage", args=[case.pk, "fee"]), {"amount": "1.00"}, **HX
        )
    assert response.status_code == 422
    assert "Fees can be taken only after a settlement check is deposited" in text(response)


def test_an_unknown_payment_kind_is_not_found(admin_client, case):
    assert admin_client.get(reverse("cases:stage", args=[case.pk, "client"])).status_code == 404
    assert admin_client.get(reverse("cases:stage", args=[case.pk, "junk"])).status_code == 404


def test_unstaging(admin_client, cfirm, cadmin, case, deposited):
    item = settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind="fee")
    response = admin_client.post(reverse("cases:unstage", args=[item.pk]), **HX)
    assert response.status_code == 200
    assert not TrustItem.objects.exists()


def test_push_to_client_trust_leaves_zero_and_names_another_payee(
    admin_client, cfirm, cadmin, case, deposited
):
    settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(
        firm=cfirm, actor=cadmin, case_id=case.pk, kind="cost_reimbursement"
    )
    form = text(admin_client.get(reverse("cases:push_client_trust", args=[case.pk]), **HX))
    assert '<strong data-figure="client-check">$66,369.99</strong>' in form
    response = admin_client.post(
        reverse("cases:push_client_trust", args=[case.pk]),
        {"payee_name": "Rosa Diaz, guardian of Maria Lopez", "note": "Minor client"},
        **HX,
    )
    assert response.status_code == 200
    client_item = TrustItem.objects.get(kind=TrustItemKind.CLIENT)
    assert (client_item.amount_cents, client_item.payee_name, client_item.note) == (
        6_636_999,
        "Rosa Diaz, guardian of Maria Lopez",
        "Minor client",
    )
    assert settlement_figures(case=case).trust_remaining_cents == 0
    page = tab(admin_client, case)
    assert '<td class="num" data-figure="remaining">$0.00</td>' in page
    assert '<strong data-figure="remaining-footer">$0.00</strong>' in page
    assert "Rosa Diaz, guardian of Maria Lopez" in page
    assert "$0.00 remaining in trust" in page  # the message after the push


def test_push_to_client_trust_waits_for_every_deposit(admin_client, cfirm, cadmin, case, offer):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk)
    with nothing_written():
        response = admin_client.post(reverse("cases:push_client_trust", args=[case.pk]), {}, **HX)
    assert response.status_code == 422
    assert "$100,000.00 of the accepted settlement has not been deposited yet" in text(response)


def test_push_to_disbursement_locks_the_settlement(admin_client, cfirm, cadmin, case, deposited):
    settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(
        firm=cfirm, actor=cadmin, case_id=case.pk, kind="cost_reimbursement"
    )
    with nothing_written():
        response = admin_client.post(reverse("cases:push_disbursement", args=[case.pk]), **HX)
    assert response.status_code == 422
    assert "Push to client trust first" in text(response)
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    response = admin_client.post(reverse("cases:push_disbursement", args=[case.pk]), **HX)
    assert response.status_code == 200
    assert set(TrustItem.objects.values_list("status", flat=True)) == {
        TrustItemStatus.TO_BE_DISBURSED
    }
    page = tab(admin_client, case)
    assert "this settlement is locked" in page
    assert "Stage Payment</a>" not in page
    assert "Push to Client Trust</a>" not in page
    with nothing_written():
        response = admin_client.post(
            reverse("cases:stage", args=[case.pk, "copp"]), {"amount": "1.00"}, **HX
        )
    assert response.status_code == 422
    assert "has been pushed to disbursement; its settlement is locked" in text(response)


def test_the_figures(admin_client, cfirm, cadmin, case, deposited, lien):
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=1_500_000)
    page = tab(admin_client, case)
    assert '<td class="num" data-figure="gross">$100,000.00</td>' in page
    assert '<dd class="amount" data-figure="fee">$33,330.00</dd>' in page
    # 100,000.00 - 33,330.00 - 300.01 - 15,000.00
    assert '<td class="num" data-figure="net">$51,369.99</td>' in page
    assert '<td class="num" data-figure="deposited">$100,000.00</td>' in page
    assert '<td class="num" data-figure="remaining">$100,000.00</td>' in page
    statement = reverse("cases:statement", args=[case.pk])
    assert f'href="{statement}">Settlement statement</a>' in page
    assert admin_client.get(statement).status_code == 200
    pdf = admin_client.get(reverse("cases:statement_pdf", args=[case.pk]))
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")


def test_the_tab_is_dated(admin_client, case, offer):
    assert D.isoformat() in tab(admin_client, case)
