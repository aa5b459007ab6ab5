"""Sign in to the cases side (firm ID, email, password) and sign out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casebridge.cases.auth import SESSION_KEY
from casebridge.cases.services import firms
from casebridge.core import clock
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


@pytest.mark.parametrize(
    ("firm", "email", "password"),
    [
        ("lopez-pi", "admin@lopez.test", "wrong password!"),
        ("lopez-pi", "ghost@lopez.test", PASSWORD),
        ("rival-law", "admin@lopez.test", PASSWORD),
        ("lopez-pi", "leaving@lopez.test", PASSWORD),
    ],
    ids=["wrong password", "unknown email", "unknown firm", "deactivated user"],
)
def test_a_refused_sign_in_never_says_which_part(client, cfirm, cadmin, firm, email, password):
    leaving = firms.user_create(
        firm=cfirm, actor=None, email="leaving@lopez.test", password=PASSWORD
    )
    firms.user_update(user=leaving, actor=cadmin, is_active=False)
    response = client.post(
        reverse("cases:login"), {"firm": firm, "email": email, "password": password}
    )
    assert response.status_code == 422
    assert "Retry-After" not in response.headers
    page = text(response)
    assert "Firm ID, email or password is not right" in page
    assert page.count("is not right") == 1
    assert SESSION_KEY not in client.session


def test_repeated_failures_are_throttled_saying_when_to_try_again(client, cadmin, monkeypatch):
    moment = timezone.now()
    monkeypatch.setattr(clock, "now", lambda: moment)
    owner = Client(REMOTE_ADDR="192.0.2.10")
    form = {"firm": "lopez-pi", "email": "admin@lopez.test", "password": PASSWORD}
    assert owner.post(reverse("cases:login"), form).status_code == 302
    for _ in range(5):
        wrong = {**form, "password": "wrong password!"}
        assert client.post(reverse("cases:login"), wrong).status_code == 422
    response = client.post(reverse("cases:login"), form)  # even the right password waits
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert "Too many failed sign-ins; try again in 30 seconds" in text(response)
    assert SESSION_KEY not in client.session
    # the owner, from the address it signed in from before, is not held back
    assert Client(REMOTE_ADDR="192.0.2.10").post(reverse("cases:login"), form).status_code == 302


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
