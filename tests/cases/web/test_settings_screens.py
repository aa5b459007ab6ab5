"""Account Settings: firm defaults, users and permissions, cost codes, Integrations."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.cases.models import CostCode, Firm, User

from .conftest import HX, nothing_written, sign_in, text


def defaults(**overrides):
    data = {
        "default_fee_rate": "33.33",
        "default_copp": "150.00",
        "default_property_damage_fee": "-50.00",
        "fee_changes_need_approval": "on",
    }
    data.update(overrides)
    return data


def test_the_firm_defaults_are_saved_exactly(admin_client, cfirm):
    page = text(admin_client.get(reverse("cases:settings")))
    assert 'value="33.33"' in page  # the firm's default, in percent
    response = admin_client.post(
        reverse("cases:settings"),
        defaults(default_fee_rate="40.5", fee_changes_need_approval=""),
    )
    assert response.status_code == 302
    firm = Firm.objects.get(pk=cfirm.pk)
    assert (
        firm.default_fee_rate_bp,
        firm.default_copp_cents,
        firm.default_property_damage_fee_cents,
        firm.fee_changes_need_approval,
    ) == (4050, 15_000, -5_000, False)
    assert "Firm defaults saved." in text(admin_client.get(reverse("cases:settings")))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("default_fee_rate", "33.333", "Enter a percentage with up to two decimal places"),
        ("default_fee_rate", "100.01", "The fee percentage must be between 0 and 100"),
        ("default_fee_rate", "", "This field is required."),
        ("default_copp", "-1.00", "Enter a positive amount."),
        ("default_property_damage_fee", "1e5", "Enter an amount such as 1,234.56."),
    ],
)
def test_bad_firm_defaults_are_refused(admin_client, cfirm, field, value, message):
    with nothing_written():
        response = admin_client.post(reverse("cases:settings"), defaults(**{field: value}))
    assert response.status_code == 422
    assert message in text(response)
    assert f'id="id_{field}_error"' in text(response)


def test_adding_a_user_with_permissions(admin_client, cfirm):
    form = text(admin_client.get(reverse("cases:user_new"), **HX))
    for label in (
        "Administration settings page access",
        "Costs management",
        "Deposit settlement checks",
        "Attorney",
        "Firm administrator",
    ):
        assert f'<span class="switch-label">{label}</span>' in form
    response = admin_client.post(
        reverse("cases:user_new"),
        {
            "email": "new.attorney@lopez.test",
            "first_name": "Nia",
            "last_name": "New",
            "password": "a long enough password",
            "perm_costs_management": "on",
            "perm_deposit_settlement": "on",
            "is_attorney": "on",
        },
        **HX,
    )
    assert response.status_code == 200
    user = User.objects.get(email="new.attorney@lopez.test")
    assert (
        user.firm_id,
        user.first_name,
        user.is_attorney,
        user.perm_costs_management,
        user.perm_deposit_settlement,
        user.perm_admin_settings,
        user.is_firm_admin,
    ) == (cfirm.pk, "Nia", True, True, True, False, False)
    # the password the administrator typed is a temporary one: the user replaces it first
    assert user.must_change_password


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"email": "admin@lopez.test", "password": "a long enough password"},
            "email",
            "already exists",
        ),
        (
            {"email": "not-an-email", "password": "a long enough password"},
            "email",
            "is not a valid email address",
        ),
        ({"email": "x@lopez.test", "password": "short"}, "password", "at least 10 characters"),
    ],
)
def test_a_refused_user_is_not_added(admin_client, data, field, message):
    with nothing_written():
        response = admin_client.post(reverse("cases:user_new"), data, **HX)
    assert response.status_code == 422
    assert message in text(response)
    assert f'id="id_{field}_error"' in text(response)


def test_editing_a_users_permissions(admin_client, paralegal):
    form = text(admin_client.get(reverse("cases:user_edit", args=[paralegal.pk]), **HX))
    assert 'value="pat@lopez.test"' in form
    response = admin_client.post(
        reverse("cases:user_edit", args=[paralegal.pk]),
        {
            "first_name": "Pat",
            "last_name": "Paralegal",
            "email": "pat@lopez.test",
            "is_active": "on",
            "perm_admin_settings": "on",
            "perm_costs_management": "on",
        },
        **HX,
    )
    assert response.status_code == 200
    paralegal.refresh_from_db()
    assert (
        paralegal.perm_admin_settings,
        paralegal.perm_costs_management,
        paralegal.perm_deposit_settlement,
    ) == (
        True,
        True,
        False,
    )
    page = text(admin_client.get(reverse("cases:settings_users")))
    assert "Administration settings page access" in page


def test_a_settings_holder_cannot_make_an_administrator(settings_holder, paralegal):
    client = sign_in(Client(), settings_holder)
    form = text(client.get(reverse("cases:user_edit", args=[paralegal.pk]), **HX))
    assert "Only a firm administrator can change this." in form
    response = client.post(
        reverse("cases:user_edit", args=[paralegal.pk]),
        {"email": "pat@lopez.test", "is_active": "on", "is_firm_admin": "on"},
        **HX,
    )
    assert response.status_code == 200  # the switch is disabled: the posted value is ignored
    paralegal.refresh_from_db()
    assert not paralegal.is_firm_admin


def test_an_administrator_cannot_deactivate_themselves(admin_client, cadmin):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:user_edit", args=[cadmin.pk]),
            {"email": cadmin.email, "is_firm_admin": "on"},
            **HX,
        )
    assert response.status_code == 422
    assert "You cannot deactivate yourself" in text(response)


def test_adding_a_firm_cost_code(admin_client, cfirm):
    page = text(admin_client.get(reverse("cases:settings_cost_codes")))
    assert "E124" in page
    assert "MEDREC" in page
    response = admin_client.post(
        reverse("cases:cost_code_new"), {"code": "xray", "name": "X-ray films"}, **HX
    )
    assert response.status_code == 200
    code = CostCode.objects.get(firm=cfirm, code="XRAY")
    assert (code.name, code.is_utbms, code.is_active) == ("X-ray films", False, True)
    assert "XRAY X-ray films" in text(
        admin_client.get(reverse("cases:cost_new", args=[_any_case(cfirm)]), **HX)
    )


def _any_case(firm) -> int:
    from casebridge.cases.services import cases as case_services

    client = case_services.contact_create(firm=firm, actor=None, name="C")
    return case_services.case_create(firm=firm, actor=None, name="C", client_id=client.pk).pk


def test_a_duplicate_cost_code_is_refused(admin_client):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_code_new"), {"code": "medrec", "name": "Again"}, **HX
        )
    assert response.status_code == 422
    assert "Cost code MEDREC already exists" in text(response)


def test_the_integrations_section_says_books_is_not_connected(admin_client):
    page = text(admin_client.get(reverse("cases:settings_integrations")))
    assert "Books (legal accounting)" in page
    assert "Not connected" in page
    main = page[page.index('<main id="main"') :]
    assert "<form" not in main  # no activation yet, and no button that does nothing
    assert "<button" not in main
