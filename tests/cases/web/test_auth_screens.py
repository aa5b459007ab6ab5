"""Sign in to the cases side (firm ID, email, password) and sign out."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from casebridge.cases.auth import SESSION_KEY
from tests.cases.conftest import PASSWORD
from tests.twofactor import fresh_code

from .conftest import text


def test_the_sign_in_page_asks_for_firm_email_and_password(client, db):
    page = text(client.get(reverse("cases:login")))
    for label in ("Firm ID", "Email", "Password"):
        assert f">{label}</label>" in page


def second_step(client, response, user):
    """The code step a user with two-factor sign-in is sent to after the password."""
    assert response["Location"] == reverse("cases:login_code")
    return client.post(reverse("cases:login_code"), {"code": fresh_code(user)})


def test_signing_in_goes_to_the_page_asked_for(client, cadmin, case):
    target = reverse("cases:case_costs", args=[case.pk])
    response = client.post(
        reverse("cases:login"),
        {"firm": "LOPEZ-PI", "email": "Admin@Lopez.test", "password": PASSWORD, "next": target},
    )
    assert SESSION_KEY not in client.session
    response = second_step(client, response, cadmin)
    assert response.status_code == 302
    assert response["Location"] == target
    assert client.session[SESSION_KEY] == cadmin.pk
    cadmin.refresh_from_db()
    assert cadmin.last_login_at is not None
    assert client.get(target).status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part(client, cadmin):
    response = client.post(
        reverse("cases:login"),
        {"firm": "lopez-pi", "email": "admin@lopez.test", "password": "wrong password!"},
    )
    assert response.status_code == 422
    assert "Firm ID, email or password is not right" in text(response)
    assert SESSION_KEY not in client.session


def test_an_outside_next_address_is_ignored(client, cadmin):
    response = client.post(
        reverse("cases:login"),
        {
            "firm": "lopez-pi",
            "email": "admin@lopez.test",
            "password": PASSWORD,
            "next": "https://evil.test/",
        },
    )
    response = second_step(client, response, cadmin)
    assert response["Location"] == reverse("cases:case_list")


def test_a_signed_in_user_skips_the_sign_in_page(admin_client):
    response = admin_client.get(reverse("cases:login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:case_list")


def test_signing_out_ends_only_the_cases_session(admin_client):
    session = admin_client.session
    session["books_user_id"] = 12345  # a books session in the same browser
    session.save()
    response = admin_client.post(reverse("cases:logout"))
    assert response["Location"] == reverse("cases:login")
    assert SESSION_KEY not in admin_client.session
    assert admin_client.session["books_user_id"] == 12345
    assert admin_client.get(reverse("cases:case_list")).status_code == 302


def test_signing_out_needs_a_post(admin_client):
    assert admin_client.get(reverse("cases:logout")).status_code == 405


def test_posts_need_the_csrf_token(cadmin, client_contact):
    from .conftest import sign_in

    strict = sign_in(Client(enforce_csrf_checks=True), cadmin)
    response = strict.post(reverse("cases:cost_code_new"), {"code": "XRAY", "name": "X-rays"})
    assert response.status_code == 403
    page = strict.get(reverse("cases:case_list"))
    assert 'hx-headers=\'{"X-CSRFToken": "' in text(page)
    token = page.cookies["csrftoken"].value
    response = strict.post(
        reverse("cases:cost_code_new"),
        {"code": "XRAY", "name": "X-rays"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 302
