"""Client Trust Management: the Staged and To Be Disbursed tabs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casebridge.cases.models import Deposit, TrustItem
from casebridge.cases.services import settlement

from .conftest import text


@pytest.fixture
def staged(cfirm, cadmin, case, deposited, lien):
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=lien.pk,
        claimed_cents=2_000_000,
        final_cents=None,
        paid_direct=True,
    )
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=1_000_000)
    settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(
        firm=cfirm, actor=cadmin, case_id=case.pk, kind="lien", lien_id=lien.pk
    )
    return case


def test_the_staged_tab_lists_each_case_with_its_items(admin_client, staged):
    page = text(admin_client.get(reverse("cases:client_trust")))
    assert f"{staged.number} Lopez v. Acme Trucking" in page
    assert "Attorney fee" in page
    assert "$33,330.00" in page
    assert "Valley Medical" in page
    assert "DO NOT DISTRIBUTE - PAID DIRECT" in page
    assert "(plus $10,000.00 paid direct)" in page
    assert "Not pushed to client trust yet" in page
    assert "No case has payments to disburse." in text(
        admin_client.get(reverse("cases:client_trust"), {"tab": "to_be_disbursed"})
    )


def test_pushed_cases_move_to_the_to_be_disbursed_tab(admin_client, cfirm, cadmin, staged):
    # Valley Medical was paid directly from the settlement, so only $90,000.00 belongs in
    # trust: the $100,000.00 deposit is replaced by the $90,000.00 check really received.
    fee = TrustItem.objects.get(case=staged, kind="fee")
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=fee.pk)
    first = Deposit.objects.get(case=staged)
    settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=first.pk, reason="wrong amount")
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=staged.pk,
        offer_id=first.offer_id,
        amount_cents=9_000_000,
        check_number="5502",
    )
    settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=staged.pk, kind="fee")
    settlement.trust_item_stage(
        firm=cfirm, actor=cadmin, case_id=staged.pk, kind="cost_reimbursement"
    )
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=staged.pk)
    staged_page = text(admin_client.get(reverse("cases:client_trust")))
    assert "Pushed to client trust · $0.00 remaining" in staged_page
    settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=staged.pk)
    page = text(admin_client.get(reverse("cases:client_trust"), {"tab": "to_be_disbursed"}))
    assert f"{staged.number} Lopez v. Acme Trucking" in page
    assert "Client&#x27;s final check" in page
    assert "Maria Lopez" in page
    # the rest of the money deposited: 90,000.00 - 33,330.00 fee - 300.01 costs (the
    # paid-direct lien is recorded, not paid from trust)
    assert "$56,369.99" in page
    assert "No case has payments staged." in text(
        admin_client.get(reverse("cases:client_trust"), {"tab": "staged"})
    )


def test_another_firms_staged_money_is_not_listed(admin_client, other_firm_objects):
    page = text(admin_client.get(reverse("cases:client_trust")))
    assert "Other Client" not in page
    assert "No case has payments staged." in page


def test_junk_tab_falls_back_to_staged(admin_client, staged):
    assert "Attorney fee" in text(admin_client.get(reverse("cases:client_trust"), {"tab": "x"}))


def test_it_opens_on_the_first_tab_with_work(admin_client, cfirm, cadmin, staged):
    """Issue 14: nothing staged but a case to disburse: it opens on To Be Disbursed."""
    page = text(admin_client.get(reverse("cases:client_trust")))
    assert '<a href="?tab=staged" aria-current="page">Staged <span class="count">1</span>' in page
    TrustItem.objects.filter(case=staged).update(status="to_be_disbursed")
    page = text(admin_client.get(reverse("cases:client_trust")))
    assert (
        '<a href="?tab=to_be_disbursed" aria-current="page">To Be Disbursed '
        '<span class="count">1</span>' in page
    )
    assert "Attorney fee" in page
    # asked for, the empty tab still opens
    asked = text(admin_client.get(reverse("cases:client_trust"), {"tab": "staged"}))
    assert "No case has payments staged." in asked
    # nothing to do anywhere (all disbursed): Staged, not Disbursed
    TrustItem.objects.filter(case=staged).update(status="disbursed")
    page = text(admin_client.get(reverse("cases:client_trust")))
    assert '<a href="?tab=staged" aria-current="page">' in page
