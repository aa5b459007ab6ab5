"""Two-factor sign-in and passwords on the cases side (issue 13): who must have a second
factor, the pending sign-in, enrolment before any page, an optional second factor turned
on and off, the API login, password change, an administrator's resets and reset links."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from casebridge.cases.auth import PENDING_KEY, SESSION_KEY, SETUP_KEY
from casebridge.cases.models import ApiToken, RecoveryCode, User
from casebridge.cases.services import firms, two_factor
from casebridge.core import clock, passwords, twofactor
from casebridge.core.models import AuditEvent
from tests.cases.conftest import PASSWORD
from tests.twofactor import code_at, enrol

from .conftest import sign_in, text

LOGIN = "/cases/login/"
CODE = "/cases/login/code/"
SETUP = "/cases/two-factor/setup/"
SESSION = "/cases/api/v1/auth/session"
T = dt.datetime(2026, 3, 2, 17, 0, 10, tzinfo=dt.UTC)
NEW = "a brand new password"


@pytest.fixture
def at(monkeypatch):
    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_now(T)
    return set_now


def password_step(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"firm": "lopez-pi", "email": email, "password": password, **extra})


def audits(action: str, user: User) -> int:
    return AuditEvent.objects.filter(system="cases", action=action, entity_id=str(user.pk)).count()


def api_login(client: Client, email: str, **extra):
    body = {"firm": "lopez-pi", "username": email, "password": PASSWORD, **extra}
    response = client.post(SESSION, body, content_type="application/json")
    return response.status_code, response.json()


def test_administrators_and_whoever_moves_trust_money_must_have_a_second_factor(
    cadmin, attorney, paralegal, settings_holder, cfirm
):
    costs_only = firms.user_create(
        firm=cfirm,
        actor=None,
        email="cole@lopez.test",
        password=PASSWORD,
        perm_costs_management=True,
    )
    assert two_factor.totp_required(cadmin) is True
    assert two_factor.totp_required(attorney) is True  # Deposit settlement checks
    assert two_factor.totp_required(paralegal) is False
    assert two_factor.totp_required(settings_holder) is False
    assert two_factor.totp_required(costs_only) is False


def test_the_password_then_the_code_signs_in(client, cadmin, at):
    response = password_step(client, cadmin.email)
    assert response["Location"] == reverse("cases:login_code")
    assert SESSION_KEY not in client.session
    assert client.get("/cases/")["Location"].startswith(LOGIN)
    wrong = "000000" if code_at(T) != "000000" else "111111"
    response = client.post(CODE, {"code": wrong})
    assert response.status_code == 422
    assert (
        "That code is not right; type the 6-digit code your authenticator app shows now"
        in unescape(text(response))
    )
    assert audits("totp_failed", cadmin) == 1
    response = client.post(CODE, {"code": code_at(T)})
    assert (response.status_code, response["Location"]) == (302, reverse("cases:case_list"))
    assert client.session[SESSION_KEY] == cadmin.pk

    other = Client()
    password_step(other, cadmin.email)
    response = other.post(CODE, {"code": code_at(T)})
    assert (
        "That code was already used; wait for the next code in your authenticator app"
        in unescape(text(response))
    )
    assert SESSION_KEY not in other.session


def test_a_deposit_holder_without_a_second_factor_enrols_before_any_page(
    client, attorney, case, at
):
    response = password_step(client, attorney.email)
    assert response["Location"] == SETUP
    for page in ("/cases/", f"/cases/{case.pk}/settlement/", "/cases/account/"):
        assert client.get(page)["Location"].startswith(LOGIN), page
    assert "<svg" in text(client.get(SETUP))
    secret = twofactor.decrypt_secret(client.session[SETUP_KEY])
    response = client.post(SETUP, {"code": code_at(T, secret)})
    assert len(re.findall(r"<li><code>[a-z0-9]{5}-[a-z0-9]{5}</code></li>", text(response))) == 10
    assert client.session[SESSION_KEY] == attorney.pk
    assert RecoveryCode.objects.filter(user=attorney).count() == 10
    assert audits("totp_enrol", attorney) == 1
    assert client.get(f"/cases/{case.pk}/settlement/").status_code == 200


def test_a_permission_granted_later_sends_the_signed_in_user_to_set_up(cadmin, paralegal):
    client = sign_in(Client(), paralegal)
    assert client.get("/cases/").status_code == 200
    firms.user_update(user=paralegal, actor=cadmin, perm_deposit_settlement=True)
    assert client.get("/cases/")["Location"] == SETUP


def test_an_optional_second_factor_is_turned_on_used_and_turned_off(paralegal, at):
    client = sign_in(Client(), paralegal)
    assert client.get(SETUP).status_code == 200
    secret = twofactor.decrypt_secret(client.session[SETUP_KEY])
    client.post(SETUP, {"code": code_at(T, secret)})
    paralegal.refresh_from_db()
    assert paralegal.has_totp

    fresh = Client()
    assert password_step(fresh, paralegal.email)["Location"] == reverse("cases:login_code")

    at(T + dt.timedelta(seconds=30))
    response = client.post(
        "/cases/account/two-factor/off/", {"code": code_at(T + dt.timedelta(seconds=30), secret)}
    )
    assert response.status_code == 302
    assert not User.objects.get(pk=paralegal.pk).has_totp
    assert audits("totp_disable", paralegal) == 1
    assert password_step(Client(), paralegal.email)["Location"] == reverse("cases:case_list")


def test_the_api_login_needs_the_code_for_a_user_with_a_second_factor(
    client, cadmin, paralegal, at
):
    status, body = api_login(client, cadmin.email)
    assert (status, body["error"]["code"], body["error"]["field"]) == (401, "totp_required", "totp")
    assert not ApiToken.objects.exists()
    status, body = api_login(client, cadmin.email, totp=code_at(T))
    assert status == 201
    status, body = api_login(client, cadmin.email, totp=code_at(T))
    assert (status, body["error"]["code"]) == (401, "totp_reused")
    assert api_login(client, paralegal.email)[0] == 201  # optional, not set up: password only
    assert ApiToken.objects.count() == 2


def test_a_recovery_code_signs_in_once(client, cadmin, at):
    codes = two_factor.recovery_codes_regenerate(user=cadmin)
    assert api_login(client, cadmin.email, totp=codes[9])[0] == 201
    _, body = api_login(client, cadmin.email, totp=codes[9])
    assert body["error"]["message"] == "that recovery code was already used; each one works once"
    assert audits("recovery_code_use", cadmin) == 1


def test_an_administrator_resets_a_second_factor_and_a_password(admin_client, cadmin, attorney):
    enrol(attorney)
    response = admin_client.post(f"/cases/settings/users/{attorney.pk}/two-factor-reset/")
    assert response.status_code == 302
    assert not User.objects.get(pk=attorney.pk).has_totp
    event = AuditEvent.objects.get(system="cases", action="totp_reset")
    assert (event.actor_id, event.entity_id, event.after) == (
        cadmin.pk,
        str(attorney.pk),
        {"totp": False},
    )

    response = admin_client.post(
        f"/cases/settings/users/{attorney.pk}/password-reset/",
        {"temporary_password": "temporary-123"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=attorney.pk).must_change_password
    assert audits("password_reset", attorney) == 1


def test_only_a_firm_administrator_resets(settings_holder, attorney):
    client = sign_in(Client(), settings_holder)
    response = client.post(
        f"/cases/settings/users/{attorney.pk}/password-reset/",
        {"temporary_password": "temporary-123"},
    )
    assert response.status_code == 403
    assert not User.objects.get(pk=attorney.pk).must_change_password


def test_after_a_reset_the_user_chooses_a_new_password_before_anything_else(
    cadmin, paralegal, case
):
    firms.password_reset_by_admin(user=paralegal, actor=cadmin, temporary_password="temporary-123")
    client = Client()
    response = password_step(client, paralegal.email, password="temporary-123")
    client.get(response["Location"])
    assert client.get(f"/cases/{case.pk}/")["Location"] == "/cases/account/password/"
    response = client.post(
        "/cases/account/password/",
        {"current_password": "temporary-123", "new_password": NEW, "new_password_confirm": NEW},
    )
    assert response.status_code == 302
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    assert audits("password_change", paralegal) == 1


def test_after_a_reset_the_api_login_takes_the_new_password(client, cadmin, paralegal):
    firms.password_reset_by_admin(user=paralegal, actor=cadmin, temporary_password="temporary-123")
    body = {"firm": "lopez-pi", "username": paralegal.email, "password": "temporary-123"}
    response = client.post(SESSION, body, content_type="application/json")
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (
        403,
        "password_change_required",
        "new_password",
    )
    response = client.post(SESSION, {**body, "new_password": NEW}, content_type="application/json")
    assert response.status_code == 201
    assert not User.objects.get(pk=paralegal.pk).must_change_password


def test_a_user_changes_the_password_on_the_screen_and_by_api(paralegal):
    client = sign_in(Client(), paralegal)
    response = client.post(
        "/cases/account/password/",
        {"current_password": "nope nope nope", "new_password": NEW, "new_password_confirm": NEW},
    )
    assert response.status_code == 422
    assert "The current password is not right" in text(response)
    response = client.post(
        "/cases/account/password/",
        {"current_password": PASSWORD, "new_password": "short", "new_password_confirm": "short"},
    )
    assert "Password must be at least 10 characters" in text(response)
    assert firms.user_authenticate(firm_code="lopez-pi", email=paralegal.email, password=PASSWORD)

    api = Client()
    _, body = api_login(api, paralegal.email)
    headers = {"Authorization": f"Bearer {body['token']}"}
    response = api.post(
        "/cases/api/v1/auth/password",
        {"current_password": PASSWORD, "new_password": NEW},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    assert response.json()["must_change_password"] is False
    assert firms.user_authenticate(firm_code="lopez-pi", email=paralegal.email, password=NEW)


def test_a_reset_link_works_once_and_expires(client, paralegal, at):
    now = clock.now()
    stolen = ApiToken.objects.create(
        firm=paralegal.firm,
        user=paralegal,
        token_hash="f" * 64,
        prefix="cbc_stolen",
        issued_at=now,
        expires_at=now + dt.timedelta(days=30),
    )
    client.post("/cases/password/forgot/", {"firm": "lopez-pi", "email": paralegal.email})
    assert len(mail.outbox) == 1
    path = re.search(r"(/cases/password/reset/[^/\s]+/)", mail.outbox[0].body).group(1)
    response = client.post(path, {"new_password": NEW, "new_password_confirm": NEW})
    assert response["Location"] == LOGIN
    assert firms.user_authenticate(firm_code="lopez-pi", email=paralegal.email, password=NEW)
    stolen.refresh_from_db()
    assert stolen.revoked_at is not None  # the tokens the old password got go with it
    again = client.post(
        path, {"new_password": NEW + "!", "new_password_confirm": NEW + "!"}, follow=True
    )
    assert "This reset link has expired or was already used; ask for a new one" in text(again)

    client.post("/cases/password/forgot/", {"firm": "lopez-pi", "email": paralegal.email})
    path = re.search(r"(/cases/password/reset/[^/\s]+/)", mail.outbox[1].body).group(1)
    at(T + dt.timedelta(seconds=passwords.RESET_LINK_SECONDS + 1))
    late = client.post(
        path,
        {"new_password": "third password", "new_password_confirm": "third password"},
        follow=True,
    )
    assert "This reset link has expired or was already used; ask for a new one" in text(late)
    assert firms.user_authenticate(firm_code="lopez-pi", email=paralegal.email, password=NEW)
    assert audits("password_reset_by_link", paralegal) == 1


def test_the_pending_sign_in_is_not_a_session(client, cadmin):
    password_step(client, cadmin.email)
    assert client.session[PENDING_KEY]["user_id"] == cadmin.pk
    assert client.get("/cases/account/")["Location"].startswith(LOGIN)


def test_a_pending_sign_in_cannot_set_up_a_new_secret_instead_of_the_code(client, cadmin):
    before = User.objects.get(pk=cadmin.pk).totp_secret
    password_step(client, cadmin.email)
    assert client.get(SETUP)["Location"] == reverse("cases:login_code")
    assert client.post(SETUP, {"code": "123456"})["Location"] == reverse("cases:login_code")
    assert SESSION_KEY not in client.session
    assert User.objects.get(pk=cadmin.pk).totp_secret == before
