"""Who may open which screen: anonymous -> sign in; a missing permission -> 403 naming it;
every object only within the user's own firm (another firm's id is a 404)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.cases.models import Deposit, TrustItem

from .conftest import HX, sign_in, text


@pytest.fixture
def objects(cfirm, cadmin, case, linked_case, cost, deposited, lien) -> dict[str, list[object]]:
    """The arguments of every screen's URL, keyed by URL name."""
    from casebridge.cases.services import settlement

    item = settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind="fee")
    return {
        "cases:case_detail": [case.pk],
        "cases:case_edit": [case.pk],
        "cases:case_link": [case.pk],
        "cases:case_unlink": [case.pk, linked_case.pk],
        "cases:case_costs": [case.pk],
        "cases:cost_new": [case.pk],
        "cases:case_settlement": [case.pk],
        "cases:negotiation_new": [case.pk],
        "cases:deposit_new": [case.pk],
        "cases:settlement_terms": [case.pk],
        "cases:lien_new": [case.pk],
        "cases:stage": [case.pk, "copp"],
        "cases:stage_lien": [case.pk, lien.pk],
        "cases:push_client_trust": [case.pk],
        "cases:push_disbursement": [case.pk],
        "cases:cost_edit": [cost.pk],
        "cases:cost_void": [cost.pk],
        "cases:cost_pay": [cost.pk],
        "cases:cost_split": [cost.pk],
        "cases:cost_split_sum": [cost.pk],
        "cases:offer_accept": [deposited.pk],
        "cases:lien_edit": [lien.pk],
        "cases:lien_accept": [lien.pk],
        "cases:lien_reopen": [lien.pk],
        "cases:deposit_void": [Deposit.objects.get(case=case).pk],
        "cases:unstage": [item.pk],
        "cases:user_edit": [cadmin.pk],
    }


EVERYONE = [
    "cases:case_list",
    "cases:case_new",
    "cases:client_trust",
    "cases:case_detail",
    "cases:case_edit",
    "cases:case_link",
    "cases:case_unlink",
    "cases:case_costs",
    "cases:cost_new",
    "cases:case_settlement",
    "cases:negotiation_new",
    "cases:settlement_terms",
    "cases:lien_new",
    "cases:cost_edit",
    "cases:cost_split",
    "cases:cost_split_sum",
    "cases:offer_accept",
    "cases:lien_edit",
    "cases:lien_accept",
]
#: Screens that need a permission, and the name the 403 page must give it.
GATED = {
    "cases:costs_management": "Costs management",
    "cases:cost_void": "Costs management",
    "cases:cost_pay": "Costs management",
    "cases:deposit_new": "Deposit settlement checks",
    "cases:deposit_void": "Deposit settlement checks",
    "cases:stage": "Deposit settlement checks",
    "cases:stage_lien": "Deposit settlement checks",
    "cases:unstage": "Deposit settlement checks",
    "cases:push_client_trust": "Deposit settlement checks",
    "cases:push_disbursement": "Deposit settlement checks",
    "cases:settings": "Administration settings page access",
    "cases:settings_opening_date": "Administration settings page access",
    "cases:settings_time_zone": "Administration settings page access",
    "cases:settings_users": "Administration settings page access",
    "cases:user_new": "Administration settings page access",
    "cases:user_edit": "Administration settings page access",
    "cases:settings_cost_codes": "Administration settings page access",
    "cases:cost_code_new": "Administration settings page access",
    "cases:settings_integrations": "Administration settings page access",
}


def url(name: str, objects: dict[str, list[object]]) -> str:
    return reverse(name, args=objects.get(name, []))


#: Screens for firm administrators only, and what the 403 says.
ADMIN_ONLY = {"cases:lien_reopen": "only a firm administrator can reopen an accepted lien"}


@pytest.mark.parametrize("name", EVERYONE + list(GATED) + list(ADMIN_ONLY))
def test_anonymous_visitors_are_sent_to_sign_in(client, objects, name):
    target = url(name, objects)
    response = client.get(target)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('cases:login')}?{urlencode({'next': target})}"


@pytest.mark.parametrize("name", EVERYONE + list(GATED) + list(ADMIN_ONLY))
def test_a_firm_administrator_opens_every_screen(admin_client, objects, name):
    response = admin_client.get(url(name, objects))
    assert response.status_code == 200, text(response)[:2000]
    body = text(response)
    if name != "cases:cost_split_sum":
        assert "Lopez Injury Attorneys" in body  # the top bar's firm name
    ours = body[body.find('<div class="cases-shell"') :] if "cases-shell" in body else body
    assert "{#" not in ours
    assert "{%" not in ours


@pytest.mark.parametrize("name", EVERYONE)
def test_a_user_without_permissions_opens_the_everyday_screens(paralegal_client, objects, name):
    assert paralegal_client.get(url(name, objects)).status_code == 200


@pytest.mark.parametrize(("name", "permission"), GATED.items())
def test_a_missing_permission_is_a_403_that_names_it(paralegal_client, objects, name, permission):
    response = paralegal_client.get(url(name, objects))
    assert response.status_code == 403
    body = text(response)
    assert f"this needs the &#x27;{permission}&#x27; permission" in body.replace("This", "this")
    assert "Missing permission: <strong" in body
    assert permission in body


@pytest.mark.parametrize(("name", "permission"), GATED.items())
def test_a_refused_post_writes_nothing_and_is_a_403(paralegal_client, objects, name, permission):
    from .conftest import nothing_written

    with nothing_written():
        response = paralegal_client.post(url(name, objects), {"amount": "1.00"}, **HX)
    assert response.status_code == 403


@pytest.mark.parametrize(("name", "reason"), ADMIN_ONLY.items())
def test_an_administrators_screen_is_a_403_for_everyone_else(
    attorney_client, objects, name, reason
):
    """Even a holder of every permission (the attorney holds two of three)."""
    from .conftest import nothing_written

    assert reason in text(attorney_client.get(url(name, objects))).lower()
    with nothing_written():
        response = attorney_client.post(url(name, objects), {"reason": "x"}, **HX)
    assert response.status_code == 403


def test_the_holder_of_the_settings_permission_opens_account_settings(settings_holder):
    client = sign_in(Client(), settings_holder)
    for name in ("cases:settings", "cases:settings_users", "cases:settings_integrations"):
        assert client.get(reverse(name)).status_code == 200


def test_the_attorney_with_permissions_sees_costs_management_but_not_settings(attorney_client):
    assert attorney_client.get(reverse("cases:costs_management")).status_code == 200
    page = text(attorney_client.get(reverse("cases:case_list")))
    assert "Costs Management" in page
    assert "Account Settings" not in page
    assert attorney_client.get(reverse("cases:settings")).status_code == 403


def test_the_nav_hides_costs_management_and_settings_without_the_permissions(paralegal_client):
    page = text(paralegal_client.get(reverse("cases:case_list")))
    assert "Client Trust Management" in page
    assert "Costs Management" not in page
    assert "Account Settings" not in page


def test_an_administrator_sees_every_menu_entry(admin_client):
    page = text(admin_client.get(reverse("cases:case_list")))
    assert "Costs Management" in page
    assert "Account Settings" in page


def test_the_fee_change_decision_is_for_firm_administrators(
    cfirm, cattorney, case, settings_holder
):
    from casebridge.cases.services import settlement

    cfirm.fee_changes_need_approval = True
    _, req = settlement.settlement_terms_update(
        firm=cfirm,
        actor=cattorney,
        case_id=case.pk,
        fee_mode="percent",
        fee_rate_bp=4000,
        fee_fixed_cents=0,
        fee_on_net_of_costs=False,
        copp_cents=0,
        property_damage_fee_cents=0,
        reason="Trial",
    )
    assert req is not None
    client = sign_in(Client(), settings_holder)
    response = client.get(reverse("cases:fee_change_decide", args=[req.pk]))
    assert response.status_code == 403
    assert "only a firm administrator can approve fee changes" in text(response).lower()


OTHER_FIRM_URLS = [
    ("cases:case_detail", "case"),
    ("cases:case_edit", "case"),
    ("cases:case_link", "case"),
    ("cases:case_costs", "case"),
    ("cases:cost_new", "case"),
    ("cases:case_settlement", "case"),
    ("cases:negotiation_new", "case"),
    ("cases:deposit_new", "case"),
    ("cases:settlement_terms", "case"),
    ("cases:lien_new", "case"),
    ("cases:push_client_trust", "case"),
    ("cases:push_disbursement", "case"),
    ("cases:cost_edit", "cost"),
    ("cases:cost_void", "cost"),
    ("cases:cost_pay", "cost"),
    ("cases:cost_split", "cost"),
    ("cases:cost_split_sum", "cost"),
    ("cases:offer_accept", "negotiation"),
    ("cases:lien_edit", "lien"),
    ("cases:lien_accept", "lien"),
    ("cases:lien_reopen", "lien"),
    ("cases:deposit_void", "deposit"),
    ("cases:unstage", "item"),
    ("cases:user_edit", "user"),
]


@pytest.mark.parametrize(("name", "kind"), OTHER_FIRM_URLS)
def test_another_firms_ids_are_not_found(admin_client, other_firm_objects, name, kind):
    target = reverse(name, args=[other_firm_objects[kind]])
    assert admin_client.get(target).status_code == 404
    from .conftest import nothing_written

    with nothing_written():
        response = admin_client.post(target, {"amount": "1.00", "reason": "x"}, **HX)
    assert response.status_code in (404, 405)


def test_another_firms_lien_cannot_be_staged_on_a_case(admin_client, case, other_firm_objects):
    target = reverse("cases:stage_lien", args=[case.pk, other_firm_objects["lien"]])
    assert admin_client.get(target).status_code == 404


def test_another_firms_case_cannot_be_linked(admin_client, case, other_firm_objects):
    from casebridge.cases.models import Case

    number = Case.objects.get(pk=other_firm_objects["case"]).number  # PI-000001 in both firms
    other_number_only_there = "PI-000099"
    Case.objects.filter(pk=other_firm_objects["case"]).update(number=other_number_only_there)
    from .conftest import nothing_written

    with nothing_written():
        response = admin_client.post(
            reverse("cases:case_link", args=[case.pk]), {"number": other_number_only_there}, **HX
        )
    assert response.status_code == 422
    assert "No case numbered PI-000099 in this firm." in text(response)
    assert number


def test_another_firms_costs_cannot_be_bulk_voided(admin_client, cost, other_firm_objects):
    from .conftest import nothing_written

    with nothing_written():
        response = admin_client.post(
            reverse("cases:costs_bulk"),
            {"action": "void", "confirmed": "1", "cost": [cost.pk, other_firm_objects["cost"]]},
            **HX,
        )
    assert response.status_code == 404
    assert TrustItem.objects.filter(pk=other_firm_objects["item"]).exists()


def test_a_deactivated_user_is_signed_out(cfirm, cadmin, paralegal, paralegal_client):
    paralegal.is_active = False
    paralegal.save()
    response = paralegal_client.get(reverse("cases:case_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("cases:login"))
