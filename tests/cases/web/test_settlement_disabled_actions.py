"""Issue 14: the Settlement tab disables what the services would refuse, with the reason on
the page (the services still refuse a post, writing nothing), warns on a negative net to
the client, and stages every payment due in one click (all of them or none)."""

from __future__ import annotations

from django.urls import reverse

from casebridge.cases.models import Negotiation, TrustItem, TrustItemKind
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import settlement
from casebridge.core.models import AuditEvent

from .conftest import HX, D, nothing_written, text


def tab(client, case) -> str:
    return text(client.get(reverse("cases:case_settlement", args=[case.pk])))


def test_deposit_is_disabled_with_its_reason_until_an_offer_is_accepted(
    attorney_client, case, offer
):
    page = tab(attorney_client, case)
    assert (
        '<button type="button" class="btn btn-sm" disabled aria-describedby="deposit-reason">'
        "Deposit settlement check</button>" in page
    )
    assert (
        '<p class="card-intro muted" id="deposit-reason" data-disabled-reason>A settlement check '
        "can be deposited once an offer is accepted.</p>" in page
    )
    assert reverse("cases:deposit_new", args=[case.pk]) not in page
    with nothing_written():  # posted anyway: refused
        response = attorney_client.post(
            reverse("cases:deposit_new", args=[case.pk]),
            {"offer": offer.pk, "amount": "100.00", "check_number": "1", "deposited_on": D},
            **HX,
        )
    assert response.status_code == 422


def test_deposit_is_offered_once_an_offer_is_accepted(attorney_client, cfirm, cadmin, case, offer):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    page = tab(attorney_client, case)
    assert 'hx-get="{}"'.format(reverse("cases:deposit_new", args=[case.pk])) in page
    assert 'id="deposit-reason"' not in page


def test_an_accepted_offer_disables_accept_on_the_other_offers_of_its_party(
    admin_client, cfirm, cadmin, case, insurer, offer
):
    second = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=12_000_000,
        made_on=D,
    )
    page = tab(admin_client, case)
    assert "Accept the offer of $120,000.00 from Acme Insurance" in page  # none accepted yet
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    page = tab(admin_client, case)
    assert "Accept the offer of $120,000.00 from Acme Insurance" not in page
    assert (
        f'<button type="button" class="btn btn-sm" disabled aria-describedby="accept-reason-'
        f'{second.pk}">Accept</button> <span class="small muted" id="accept-reason-{second.pk}" '
        "data-disabled-reason>An offer from Acme Insurance of $100,000.00 is already accepted"
        "</span>" in page
    )
    with nothing_written():  # posted anyway: refused
        response = admin_client.post(
            reverse("cases:offer_accept", args=[second.pk]), {"accepted_on": "2026-03-02"}, **HX
        )
    assert response.status_code == 422
    assert "An offer from Acme Insurance is already accepted on this case" in text(response)
    assert Negotiation.objects.get(pk=second.pk).accepted_on is None


def test_stage_payment_and_push_are_disabled_with_nothing_in_trust(
    attorney_client, cfirm, cadmin, case, offer, cost
):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    page = tab(attorney_client, case)
    # the cost reimbursement is due, but trust holds $0.00
    assert "Stage payment: Cost reimbursement" not in page
    assert (
        '<button type="button" class="btn btn-sm" disabled aria-describedby="stage-reason-2">'
        'Stage Payment</button><br><span class="small muted" id="stage-reason-2" '
        "data-disabled-reason>$0.00 in trust: deposit a settlement check first</span>" in page
    )
    assert (
        '<button type="button" class="btn btn-sm" disabled aria-describedby="push-client-reason">'
        "Push to Client Trust</button>" in page
    )
    assert (
        '<p class="small muted" id="push-client-reason" data-disabled-reason>$100,000.00 of the '
        "accepted settlement has not been deposited yet; deposit every settlement check first."
        "</p>" in page
    )
    with nothing_written():  # posted anyway: both refused
        staged = attorney_client.post(
            reverse("cases:stage", args=[case.pk, "cost_reimbursement"]), {"amount": "300.01"}, **HX
        )
        pushed = attorney_client.post(reverse("cases:push_client_trust", args=[case.pk]), {}, **HX)
    assert staged.status_code == 422
    assert "Only $0.00 of deposited money is not yet staged; $300.01 cannot be staged" in text(
        staged
    )
    assert pushed.status_code == 422
    assert "$100,000.00 of the accepted settlement has not been deposited yet" in text(pushed)


def test_push_is_offered_once_everything_due_is_staged(
    attorney_client, cfirm, cadmin, case, deposited
):
    page = tab(attorney_client, case)
    assert (
        "Nothing is staged for the attorney fee ($33,330.00); stage it, or set it to $0.00 if "
        "the firm waives it." in page
    )
    settlement.trust_items_stage_due(firm=cfirm, actor=cadmin, case_id=case.pk)
    page = tab(attorney_client, case)
    assert 'id="push-client-reason"' not in page
    assert 'hx-get="{}"'.format(reverse("cases:push_client_trust", args=[case.pk])) in page


def test_a_negative_net_to_the_client_is_warned(admin_client, cfirm, cadmin, case, deposited):
    page = tab(admin_client, case)
    assert 'id="negative-net"' not in page
    holder = case_services.contact_create(firm=cfirm, actor=cadmin, name="Valley Medical")
    settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medical",
        holder_id=holder.pk,
        claimed_cents=7_000_000,
    )
    page = tab(admin_client, case)
    # $100,000.00 - fee $33,330.00 - costs $300.01 - lien $70,000.00 = -$3,630.01
    assert (
        '<div class="alert alert-warn" role="alert" id="negative-net"><p><strong>Negative net '
        "to client:</strong> The net to the client is negative (-$3,630.01): the fee, costs, "
        "liens and charges come to $3,630.01 more than the gross recovery of $100,000.00. "
        "Reduce the fee, a lien or the charges before staging, or the payments cannot all be "
        "made from trust.</p></div>" in page
    )


# --- Stage all due ----------------------------------------------------------------------------


def test_stage_all_due_stages_every_payment_due_in_one_step(
    attorney_client, attorney, cfirm, cadmin, case, deposited, lien
):
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=1_500_000)
    page = tab(attorney_client, case)
    url = reverse("cases:stage_all_due", args=[case.pk])
    assert f'hx-get="{url}" hx-target="#modal-root">Stage all due (3)</a>' in page
    form = text(attorney_client.get(url, **HX))
    assert "Stage 3 payments, each at what is due: <strong>$48,630.01</strong> from trust" in form
    assert "<li>Medical bill: Valley Medical · <strong>$15,000.00</strong></li>" in form
    audits = AuditEvent.objects.count()
    response = attorney_client.post(url, {}, **HX)
    assert response.status_code == 200
    rows = sorted(
        TrustItem.objects.filter(case=case).values_list("kind", "amount_cents", "staged_by_id")
    )
    assert rows == [
        (TrustItemKind.COST_REIMBURSEMENT, 30_001, attorney.pk),
        (TrustItemKind.FEE, 3_333_000, attorney.pk),
        (TrustItemKind.LIEN, 1_500_000, attorney.pk),
    ]
    stage_events = AuditEvent.objects.filter(action="stage").order_by("pk")
    assert AuditEvent.objects.count() == audits + 3
    assert [e.summary for e in stage_events] == [
        f"Case {case.number}: Attorney fee of $33,330.00 staged",
        f"Case {case.number}: Cost reimbursement of $300.01 staged",
        f"Case {case.number}: Lien / third-party payment of $15,000.00 staged",
    ]
    page = tab(attorney_client, case)
    assert "3 payments ($48,630.01) staged." in page
    assert (
        '<p class="card-intro small muted" id="stage-all-reason" data-disabled-reason>Nothing is '
        "due to stage.</p>" in page
    )


def test_stage_all_due_refuses_all_of_it_when_trust_is_short(
    attorney_client, cfirm, cadmin, case, offer, cost
):
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=3_000_000,  # $30,000.00 of the $100,000.00
        check_number="1",
        deposited_on=D,
    )
    page = tab(attorney_client, case)
    assert (
        '<button type="button" class="btn btn-sm" disabled aria-describedby="stage-all-reason">'
        "Stage all due</button>" in page
    )
    assert "The payments due take $33,630.01 from trust; only $30,000.00 is not yet staged." in page
    with nothing_written():  # posted anyway: refused, and not one payment staged
        response = attorney_client.post(reverse("cases:stage_all_due", args=[case.pk]), {}, **HX)
    assert response.status_code == 422
    assert (
        "The 2 payments due take $33,630.01 from trust but only $30,000.00 of deposited money is "
        "not yet staged; nothing was staged (deposit the rest of the settlement, or stage "
        "payments one by one)" in text(response)
    )


def test_stage_all_due_with_nothing_due_is_refused(attorney_client, case, offer):
    with nothing_written():
        response = attorney_client.post(reverse("cases:stage_all_due", args=[case.pk]), {}, **HX)
    assert response.status_code == 422
    assert "Nothing is due to stage on this case" in text(response)


def test_stage_all_due_needs_the_deposit_permission(paralegal_client, case, deposited):
    with nothing_written():
        response = paralegal_client.post(reverse("cases:stage_all_due", args=[case.pk]), {})
    assert response.status_code == 403
    assert "Stage all due" not in tab(paralegal_client, case)
