"""Passwords (change, an administrator's reset, a reset link by email) and the second
factor at the books' API login (issue 13)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from casebridge.books.auth import SESSION_KEY
from casebridge.books.models import IntegrationToken, User
from casebridge.books.services import auth, two_factor
from casebridge.core import clock, passwords, twofactor
from casebridge.core.models import AuditEvent
from tests.books.web.conftest import text
from tests.conftest import PASSWORD
from tests.twofactor import code_at, fresh_code

T = dt.datetime(2026, 3, 2, 17, 0, 10, tzinfo=dt.UTC)
NEW = "a brand new password"
SESSION = "/books/api/v1/auth/session"


@pytest.fixture
def at(monkeypatch):
    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_now(T)
    return set_now


@pytest.fixture
def integration(firm):
    user = auth.user_create(
        firm=firm, email="int@smith.test", password=PASSWORD, is_integration_user=True
    )
    return auth.security_question_enroll(user=user, question="First car?", answer="Civic")


def api_login(client: Client, email: str, **extra):
    body = {"firm": "smith-pi", "username": email, "password": PASSWORD, **extra}
    response = client.post(SESSION, body, content_type="application/json")
    return response.status_code, response.json()


def audits(action: str, user: User) -> int:
    return AuditEvent.objects.filter(action=action, entity_id=str(user.pk)).count()


# --- the API login ----------------------------------------------------------------------------


def test_an_api_login_with_a_second_factor_needs_the_code(client, admin, at):
    status, body = api_login(client, admin.email)
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        401,
        "totp_required",
        "totp",
    )
    assert body["error"]["message"] == (
        "type the 6-digit code your authenticator app shows (or one of your recovery codes)"
    )
    wrong = "000000" if code_at(T) != "000000" else "111111"
    status, body = api_login(client, admin.email, totp=wrong)
    assert (status, body["error"]["code"]) == (401, "totp_invalid")
    assert not IntegrationToken.objects.exists()

    status, body = api_login(client, admin.email, totp=code_at(T))
    assert status == 201
    assert body["token"].startswith("cbb_")
    status, body = api_login(client, admin.email, totp=code_at(T))
    assert (status, body["error"]["code"]) == (401, "totp_reused")
    assert IntegrationToken.objects.count() == 1


def test_an_api_login_takes_a_recovery_code_once(client, admin, at):
    codes = two_factor.recovery_codes_regenerate(user=admin)
    assert api_login(client, admin.email, totp=codes[0])[0] == 201
    status, body = api_login(client, admin.email, totp=codes[0])
    assert (status, body["error"]["code"], body["error"]["message"]) == (
        401,
        "totp_reused",
        "that recovery code was already used; each one works once",
    )


def test_a_person_who_must_have_a_second_factor_and_has_none_cannot_get_a_token(client, firm, at):
    user = auth.user_create(firm=firm, email="new@smith.test", password=PASSWORD)
    auth.security_question_enroll(user=user, question="First pet?", answer="Rex")
    status, body = api_login(client, "new@smith.test", totp="123456")
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        403,
        "totp_not_enrolled",
        "totp",
    )
    assert not IntegrationToken.objects.exists()


def test_the_integration_users_first_login_is_the_seeds_and_its_renewal_asks_the_question(
    client, integration, at
):
    assert api_login(client, integration.email)[0] == 201  # password only, no code

    status, body = api_login(client, integration.email)
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        401,
        "security_answer_required",
        "security_answer",
    )
    assert body["error"]["message"] == (
        "renewing the integration session needs the answer to int@smith.test's security "
        "question: First car?"
    )
    status, body = api_login(client, integration.email, security_answer="Corolla")
    assert (status, body["error"]["code"]) == (401, "security_answer_invalid")
    assert IntegrationToken.objects.count() == 1
    assert audits("security_answer_failed", integration) == 1

    assert api_login(client, integration.email, security_answer="  civic ")[0] == 201
    assert IntegrationToken.objects.count() == 2


def test_the_integration_user_never_sends_a_code(client, integration, at):
    status, _ = api_login(client, integration.email, totp="123456")
    assert status == 201  # the code is not asked, nor checked


# --- password change ----------------------------------------------------------------------------


def test_a_user_changes_their_password_with_the_current_one(admin_client, admin):
    page = "/books/account/password/"
    response = admin_client.post(
        page,
        {"current_password": "not it at all", "new_password": NEW, "new_password_confirm": NEW},
    )
    assert response.status_code == 422
    assert "The current password is not right" in text(response)
    response = admin_client.post(
        page,
        {"current_password": PASSWORD, "new_password": "short", "new_password_confirm": "short"},
    )
    assert "Password must be at least 10 characters" in text(response)
    assert User.objects.get(pk=admin.pk).password == admin.password

    response = admin_client.post(
        page, {"current_password": PASSWORD, "new_password": NEW, "new_password_confirm": NEW}
    )
    assert response.status_code == 302
    assert auth.user_authenticate(firm_code="smith-pi", email=admin.email, password=NEW)
    assert audits("password_change", admin) == 1


def test_the_api_changes_the_password(client, admin):
    from tests.books.api.conftest import issue_token

    token = issue_token("smith-pi", admin.email)
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(
        "/books/api/v1/auth/password",
        {"current_password": "wrong one here", "new_password": NEW},
        content_type="application/json",
        headers=headers,
    )
    assert (response.status_code, response.json()["error"]["field"]) == (401, "current_password")
    response = client.post(
        "/books/api/v1/auth/password",
        {"current_password": PASSWORD, "new_password": NEW},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": admin.pk,
        "email": admin.email,
        "totp_enabled": True,
        "must_change_password": False,
    }
    assert audits("password_change", admin) == 1


# --- an administrator's reset -----------------------------------------------------------------


def test_an_administrators_reset_makes_the_user_choose_a_new_password_first(
    admin_client, admin, attorney, at
):
    from tests.books.api.conftest import issue_token

    token = issue_token("smith-pi", attorney.email, now=T)
    response = admin_client.post(
        f"/books/settings/users/{attorney.pk}/password-reset/",
        {"temporary_password": "temporary-123"},
    )
    assert response.status_code == 302
    attorney.refresh_from_db()
    assert attorney.must_change_password
    assert IntegrationToken.objects.get(prefix=token[:10]).revoked_at is not None
    event = AuditEvent.objects.get(action="password_reset")
    assert (event.actor_id, event.entity_id) == (admin.pk, str(attorney.pk))

    client = Client()
    client.post(
        "/books/login/",
        {"firm": "smith-pi", "email": attorney.email, "password": "temporary-123"},
    )
    response = client.post("/books/login/code/", {"code": fresh_code(attorney)})
    assert response["Location"] == "/books/account/password/"
    assert client.get("/books/files/")["Location"] == "/books/account/password/"
    response = client.post(
        "/books/account/password/",
        {"current_password": "temporary-123", "new_password": NEW, "new_password_confirm": NEW},
    )
    assert response.status_code == 302
    assert not User.objects.get(pk=attorney.pk).must_change_password
    assert client.get("/books/files/").status_code == 200


def test_after_a_reset_the_api_login_needs_the_new_password(client, admin, attorney, at):
    auth.password_reset_by_admin(user=attorney, actor=admin, temporary_password="temporary-123")
    body = {"firm": "smith-pi", "username": attorney.email, "password": "temporary-123"}
    response = client.post(
        SESSION, {**body, "totp": fresh_code(attorney)}, content_type="application/json"
    )
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (
        403,
        "password_change_required",
        "new_password",
    )
    at(T + dt.timedelta(seconds=30))
    response = client.post(
        SESSION,
        {**body, "totp": fresh_code(attorney), "new_password": NEW},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert not User.objects.get(pk=attorney.pk).must_change_password


def test_only_an_administrator_resets_a_password(client, clerk, attorney):
    from casebridge.books.errors import AdminRequired

    with pytest.raises(AdminRequired):
        auth.password_reset_by_admin(user=attorney, actor=clerk, temporary_password="x" * 12)
    assert not User.objects.get(pk=attorney.pk).must_change_password
    assert not AuditEvent.objects.filter(action="password_reset").exists()


# --- a reset link by email --------------------------------------------------------------------


def forgot(client: Client, email: str):
    return client.post("/books/password/forgot/", {"firm": "smith-pi", "email": email})


def test_a_reset_link_is_mailed_works_once_and_expires(client, admin, at):
    now = clock.now()
    stolen = IntegrationToken.objects.create(
        firm=admin.firm,
        user=admin,
        token_hash="f" * 64,
        prefix="cbb_stolen",
        issued_at=now,
        expires_at=now + dt.timedelta(days=30),
    )
    response = forgot(client, admin.email)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [admin.email]
    link = re.search(r"http://testserver(/books/password/reset/[^/\s]+/)", mail.outbox[0].body)
    path = link.group(1)
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password": NEW, "new_password_confirm": NEW})
    assert response["Location"] == reverse("books:login")
    assert auth.user_authenticate(firm_code="smith-pi", email=admin.email, password=NEW)
    assert SESSION_KEY not in client.session  # the second factor still comes at sign-in
    assert audits("password_reset_by_link", admin) == 1
    # whoever knew the old password loses the tokens it got them
    stolen.refresh_from_db()
    assert stolen.revoked_at is not None

    again = client.post(
        path,
        {"new_password": "another new one", "new_password_confirm": "another new one"},
        follow=True,
    )
    assert "This reset link has expired or was already used; ask for a new one" in text(again)
    assert auth.user_authenticate(firm_code="smith-pi", email=admin.email, password=NEW)


def test_a_reset_link_expires_after_an_hour(client, admin, at):
    forgot(client, admin.email)
    path = re.search(r"(/books/password/reset/[^/\s]+/)", mail.outbox[0].body).group(1)
    at(T + dt.timedelta(seconds=passwords.RESET_LINK_SECONDS + 1))
    response = client.post(path, {"new_password": NEW, "new_password_confirm": NEW}, follow=True)
    assert "This reset link has expired or was already used; ask for a new one" in text(response)
    assert User.objects.get(pk=admin.pk).password == admin.password


def test_an_unknown_email_gets_the_same_answer_and_no_mail(client, admin):
    response = forgot(client, "nobody@smith.test")
    assert response.status_code == 302
    assert mail.outbox == []


def test_a_tampered_link_is_refused(client, admin):
    response = client.get("/books/password/reset/1.abc.123:forged/", follow=True)
    assert "This reset link has expired or was already used; ask for a new one" in text(response)


def test_demo_secret_codes_are_six_digits():
    assert re.fullmatch(r"\d{6}", code_at(T))
    assert twofactor.totp_match(twofactor.DEMO_TOTP_KEY, code_at(T), T) == int(T.timestamp()) // 30
