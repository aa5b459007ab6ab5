"""Issue 10, items 11 and 12 on the screens: the whole settlement deposited, then a Medicare
lien marked paid direct. The excess is named (as the lien is saved, and on the Settlement
tab) with the fix; the deposit is voided from the tab with a reason (deposit permission);
an administrator reopens an accepted lien. Staging and pushing trust money, and paying or
voiding a cost, are for holders of their permissions: the buttons are hidden from others
and the addresses answer 403."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.cases.models import Cost, CostStatus, Deposit, Lien, TrustItem
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import settlement

from .conftest import HX, D, nothing_written, sign_in, text

WARNING = (
    "$100,000.00 is deposited but trust should hold only $88,000.00: $12,000.00 of liens "
    "is paid direct (CMS Medicare $12,000.00), so $12,000.00 too much is in trust. Void the "
    "deposit and record it again for the right amount (the deposits should come to "
    "$88,000.00), or, if a lien is not in fact paid direct, correct the lien (an "
    "administrator can reopen an accepted lien). Push to Client Trust is refused until then."
)


def tab(client, case) -> str:
    return html.unescape(text(client.get(reverse("cases:case_settlement", args=[case.pk]))))


@pytest.fixture
def medicare(cfirm, cadmin, case, deposited) -> Lien:
    """Medicare's lien of $12,000.00 on a case whose $100,000.00 is all deposited."""
    holder = case_services.contact_create(firm=cfirm, actor=cadmin, name="CMS Medicare")
    return settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medicare",
        holder_id=holder.pk,
        claimed_cents=1_200_000,
    )


@pytest.fixture
def paid_direct(cfirm, cadmin, medicare) -> Lien:
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=medicare.pk,
        claimed_cents=1_200_000,
        final_cents=1_200_000,
        paid_direct=True,
    )
    return settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=medicare.pk, on=D)


def test_marking_the_lien_paid_direct_warns_at_once(admin_client, case, medicare):
    response = admin_client.post(
        reverse("cases:lien_edit", args=[medicare.pk]),
        {"claimed": "12,000.00", "final": "12,000.00", "paid_direct": "on", "note": ""},
        **HX,
    )
    assert response.status_code == 200
    page = tab(admin_client, case)  # the toasts after the save, and the tab's own warning
    assert "Lien of CMS Medicare saved." in page
    assert page.count(WARNING) == 2
    assert '<div class="toast toast-warning">' in page


def test_accepting_a_lien_paid_direct_warns_too(admin_client, case, medicare):
    Lien.objects.filter(pk=medicare.pk).update(paid_direct=True)
    response = admin_client.post(
        reverse("cases:lien_accept", args=[medicare.pk]),
        {"final": "12,000.00", "accepted_on": "2026-03-04"},
        **HX,
    )
    assert response.status_code == 200
    page = tab(admin_client, case)
    assert "Lien of CMS Medicare accepted at $12,000.00 and locked." in page
    assert page.count(WARNING) == 2


def test_no_warning_while_the_deposits_fit(admin_client, case, medicare):
    response = admin_client.post(
        reverse("cases:lien_edit", args=[medicare.pk]),
        {"claimed": "12,000.00", "final": "12,000.00", "note": ""},  # not paid direct
        **HX,
    )
    assert response.status_code == 200
    page = tab(admin_client, case)
    assert "too much is in trust" not in page
    assert 'id="excess-deposit"' not in page


def test_the_tab_warns_and_the_deposit_is_voided_with_a_reason(attorney_client, case, paid_direct):
    page = tab(attorney_client, case)
    assert '<div class="alert alert-warn" role="status" id="excess-deposit">' in page
    assert WARNING in page
    check = Deposit.objects.get(case=case)
    void_url = reverse("cases:deposit_void", args=[check.pk])
    assert f'href="{void_url}"' in page
    assert 'aria-label="Void the deposit of check 5501"' in page

    form = html.unescape(text(attorney_client.get(void_url, **HX)))
    assert '<dialog class="modal"' in form
    assert "Void the deposit of check <strong>5501</strong> from Acme Insurance" in form
    assert WARNING in form
    with nothing_written():
        response = attorney_client.post(void_url, {"reason": "  "}, **HX)
    assert response.status_code == 422
    assert "This field is required." in text(response)

    response = attorney_client.post(void_url, {"reason": "Medicare was paid direct"}, **HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("cases:case_settlement", args=[case.pk])
    check.refresh_from_db()
    assert (check.voided_on is not None, check.void_reason) == (True, "Medicare was paid direct")
    page = tab(attorney_client, case)
    assert "Deposit of check 5501 ($100,000.00) voided." in page
    assert "Medicare was paid direct" in page
    assert "too much is in trust" not in page
    assert 'aria-label="Void the deposit of check 5501"' not in page  # void already


def test_voiding_a_deposit_the_staged_payments_need_is_refused(
    admin_client, cfirm, cadmin, case, paid_direct
):
    settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind="fee")
    check = Deposit.objects.get(case=case)
    with nothing_written():
        response = admin_client.post(
            reverse("cases:deposit_void", args=[check.pk]), {"reason": "wrong amount"}, **HX
        )
    assert response.status_code == 422
    assert "Payments of $33,330.00 are staged against this money; unstage $33,330.00 first" in text(
        response
    )


def test_voiding_a_deposit_needs_the_deposit_permission(paralegal_client, case, paid_direct):
    check = Deposit.objects.get(case=case)
    page = tab(paralegal_client, case)
    assert WARNING in page  # everyone is told
    assert 'aria-label="Void the deposit' not in page  # offered to holders of the permission
    with nothing_written():
        response = paralegal_client.post(
            reverse("cases:deposit_void", args=[check.pk]), {"reason": "x"}, **HX
        )
    assert response.status_code == 403
    assert "Deposit settlement checks" in text(response)


def test_an_administrator_reopens_an_accepted_lien(
    admin_client, attorney_client, cfirm, cadmin, case, paid_direct
):
    reopen_url = reverse("cases:lien_reopen", args=[paid_direct.pk])
    assert f'href="{reopen_url}"' in tab(admin_client, case)
    assert f'href="{reopen_url}"' not in tab(attorney_client, case)
    item = settlement.trust_item_stage(
        firm=cfirm, actor=cadmin, case_id=case.pk, kind="lien", lien_id=paid_direct.pk
    )
    form = html.unescape(text(admin_client.get(reopen_url, **HX)))
    assert "accepted at <strong>$12,000.00</strong> and paid direct?" in form
    assert "Its staged payment of $12,000.00 is unstaged." in form
    with nothing_written():
        response = admin_client.post(reopen_url, {"reason": ""}, **HX)
    assert response.status_code == 422
    response = admin_client.post(reopen_url, {"reason": "Paid from trust after all"}, **HX)
    assert response.status_code == 200
    paid_direct.refresh_from_db()
    assert paid_direct.accepted_on is None
    assert not TrustItem.objects.filter(pk=item.pk).exists()
    page = tab(admin_client, case)
    assert (
        "Lien of CMS Medicare reopened: it can be edited and accepted again; its payment "
        "of $12,000.00 was unstaged."
    ) in page
    assert f'href="{reverse("cases:lien_edit", args=[paid_direct.pk])}"' in page


def test_reopening_is_refused_after_push_to_disbursement(
    admin_client, cfirm, cadmin, case, deposited, lien
):
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=0)
    for kind in ("fee", "cost_reimbursement"):
        settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind=kind)
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk)
    reopen_url = reverse("cases:lien_reopen", args=[lien.pk])
    assert f'href="{reopen_url}"' not in tab(admin_client, case)
    with nothing_written():
        response = admin_client.post(reopen_url, {"reason": "too late"}, **HX)
    assert response.status_code == 422
    assert "has been pushed to disbursement; its settlement is locked" in text(response)


# --- item 12: staging and pushing trust money, paying and voiding costs -------------------


def test_a_user_without_the_deposit_permission_cannot_stage_or_push(
    paralegal, case, deposited, lien
):
    client = sign_in(Client(), paralegal)
    page = tab(client, case)
    assert "Stage Payment</a>" not in page
    assert "Push to Client Trust</a>" not in page
    assert "Push to Disbursement</a>" not in page
    for url in (
        reverse("cases:stage", args=[case.pk, "fee"]),
        reverse("cases:push_client_trust", args=[case.pk]),
        reverse("cases:push_disbursement", args=[case.pk]),
    ):
        with nothing_written():
            response = client.post(url, {"amount": "33,330.00"}, **HX)
        assert response.status_code == 403
        assert "Deposit settlement checks" in text(response)
    assert not TrustItem.objects.exists()


def test_the_holder_of_the_deposit_permission_stages_and_unstages(
    attorney_client, attorney, case, deposited
):
    page = tab(attorney_client, case)
    assert "Stage Payment</a>" in page
    response = attorney_client.post(
        reverse("cases:stage", args=[case.pk, "fee"]), {"amount": "33,330.00"}, **HX
    )
    assert response.status_code == 200
    item = TrustItem.objects.get()
    assert item.staged_by_id == attorney.pk
    assert "Unstage</a>" in tab(attorney_client, case)
    assert attorney_client.post(reverse("cases:unstage", args=[item.pk]), **HX).status_code == 200
    assert not TrustItem.objects.exists()


def test_paying_or_voiding_a_cost_needs_the_costs_management_permission(
    paralegal_client, attorney_client, case, cost
):
    costs_tab = reverse("cases:case_costs", args=[case.pk])
    page = text(paralegal_client.get(costs_tab))
    what = "cost of 2026-03-02 to Records Inc for $300.01"
    assert f'aria-label="Pay {what}"' not in page
    assert f'aria-label="Void {what}"' not in page
    for name, body in (
        ("cases:cost_pay", {"method": "check", "reference": "1", "paid_date": "2026-03-02"}),
        ("cases:cost_void", {"reason": "x"}),
    ):
        with nothing_written():
            response = paralegal_client.post(reverse(name, args=[cost.pk]), body, **HX)
        assert response.status_code == 403
        assert "Costs management" in text(response)
    page = text(attorney_client.get(costs_tab))
    assert f'aria-label="Pay {what}"' in page
    response = attorney_client.post(
        reverse("cases:cost_void", args=[cost.pk]), {"reason": "entered twice"}, **HX
    )
    assert response.status_code == 200
    assert Cost.objects.get(pk=cost.pk).status == CostStatus.VOID
