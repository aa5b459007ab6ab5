"""Two-factor sign-in on the books' screens (issue 13): the pending sign-in, the code,
enrolment before anything else, recovery codes, the throttle, and My account."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.auth import PENDING_KEY, SESSION_KEY
from casebridge.books.models import RecoveryCode, User
from casebridge.books.services import auth, two_factor
from casebridge.core import clock, twofactor
from casebridge.core.models import AuditEvent
from tests.conftest import PASSWORD
from tests.twofactor import KEY, code_at, fresh_code

from .conftest import sign_in, text

LOGIN = "/books/login/"
CODE = "/books/login/code/"
SETUP = "/books/two-factor/setup/"
T = dt.datetime(2026, 3, 2, 17, 0, 10, tzinfo=dt.UTC)


@pytest.fixture
def at(monkeypatch):
    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_now(T)
    return set_now


def password_step(client, email="admin@smith.test", **extra):
    return client.post(LOGIN, {"firm": "smith-pi", "email": email, "password": PASSWORD, **extra})


def field_error(html: str, field: str) -> str:
    marker = f'id="id_{field}_error"'
    if marker not in html:
        return ""
    start = html.index(">", html.index(marker)) + 1
    return re.sub(r"<[^>]+>", "", unescape(html[start : html.index("</div>", start)])).strip()


def audits(action: str, user: User) -> int:
    return AuditEvent.objects.filter(action=action, entity_id=str(user.pk)).count()


def test_every_books_person_must_have_a_second_factor_but_never_the_integration_user(
    firm, admin, attorney
):
    integration = auth.user_create(
        firm=firm, email="int@smith.test", password=PASSWORD, is_integration_user=True
    )
    assert two_factor.totp_required(admin) is True
    assert two_factor.totp_required(attorney) is True  # can post checks and record receipts
    assert two_factor.totp_required(integration) is False
    assert two_factor.totp_applies(integration) is False


def test_the_password_alone_does_not_sign_in_the_code_does(client, admin, at):
    response = password_step(client, next="/books/checks/")
    assert (response.status_code, response["Location"]) == (302, reverse("books:login_code"))
    assert SESSION_KEY not in client.session
    assert client.session[PENDING_KEY]["user_id"] == admin.pk
    # nothing is reachable between the password and the code
    assert client.get("/books/checks/")["Location"].startswith(LOGIN)

    response = client.post(CODE, {"code": code_at(T)})
    assert (response.status_code, response["Location"]) == (302, "/books/checks/")
    assert client.session[SESSION_KEY] == admin.pk
    assert PENDING_KEY not in client.session
    assert User.objects.get(pk=admin.pk).totp_last_counter == int(T.timestamp()) // 30


def test_a_wrong_code_is_refused_and_counted(client, admin, at):
    password_step(client)
    before = audits("totp_failed", admin)
    response = client.post(CODE, {"code": "000000" if code_at(T) != "000000" else "111111"})
    assert response.status_code == 422
    assert field_error(text(response), "code") == (
        "That code is not right; type the 6-digit code your authenticator app shows now"
    )
    assert SESSION_KEY not in client.session
    assert audits("totp_failed", admin) == before + 1
    assert twofactor.failure_count("books", admin.pk) == 1


def test_a_code_is_good_once_within_its_step(client, admin, at):
    code = code_at(T)
    password_step(client)
    assert client.post(CODE, {"code": code}).status_code == 302

    other = Client()
    password_step(other)
    response = other.post(CODE, {"code": code})
    assert response.status_code == 422
    assert field_error(text(response), "code") == (
        "That code was already used; wait for the next code in your authenticator app"
    )
    assert SESSION_KEY not in other.session
    # the next step's code works
    at(T + dt.timedelta(seconds=30))
    assert other.post(CODE, {"code": code_at(T + dt.timedelta(seconds=30))}).status_code == 302


def test_a_recovery_code_works_once(client, admin, at):
    codes = two_factor.recovery_codes_regenerate(user=admin)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert RecoveryCode.objects.filter(user=admin).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__in=codes).exists()  # only hashes kept

    password_step(client)
    response = client.post(CODE, {"code": codes[3].upper()}, follow=True)
    assert client.session[SESSION_KEY] == admin.pk
    assert "You signed in with a recovery code; 9 left." in text(response)
    assert audits("recovery_code_use", admin) == 1

    other = Client()
    password_step(other)
    response = other.post(CODE, {"code": codes[3]})
    assert response.status_code == 422
    assert field_error(text(response), "code") == (
        "That recovery code was already used; each one works once"
    )
    assert SESSION_KEY not in other.session


def test_five_wrong_codes_lock_the_second_step_for_fifteen_minutes(client, admin, at):
    wrong = "000000" if code_at(T) != "000000" else "111111"
    password_step(client)
    for _ in range(5):
        assert client.post(CODE, {"code": wrong}).status_code == 422
    response = client.post(CODE, {"code": code_at(T)})  # even the right code waits
    assert response.status_code == 429
    assert "Too many wrong codes; sign in again in 15 minutes" in text(response)
    assert SESSION_KEY not in client.session
    assert PENDING_KEY not in client.session  # the pending sign-in is over

    password_step(client)
    assert client.post(CODE, {"code": code_at(T)}).status_code == 429
    twofactor.failures_clear("books", admin.pk)  # the window passed
    assert client.post(CODE, {"code": code_at(T)}).status_code == 302


def test_a_pending_sign_in_lapses_after_five_minutes(client, admin, at):
    password_step(client)
    later = T + dt.timedelta(seconds=twofactor.PENDING_SECONDS + 1)
    at(later)
    response = client.post(CODE, {"code": code_at(later)}, follow=True)
    assert response.redirect_chain[0] == (LOGIN, 302)
    assert "Your sign-in timed out or was not started; sign in again." in text(response)
    assert SESSION_KEY not in client.session


def test_an_administrator_without_a_second_factor_enrols_before_reaching_any_page(client, firm, at):
    boss = auth.security_question_enroll(
        user=auth.user_create(firm=firm, email="boss@smith.test", password=PASSWORD, is_admin=True),
        question="First pet?",
        answer="Rex",
    )
    response = password_step(client, email="boss@smith.test", next="/books/files/")
    assert response["Location"] == SETUP
    for page in ("/books/", "/books/files/", "/books/settings/users/", "/books/account/"):
        assert client.get(page)["Location"].startswith(LOGIN), page

    page = text(client.get(SETUP))
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    secret = secret.replace(" ", "")
    assert len(secret) == 32
    assert "<svg" in page  # the QR code, inline

    response = client.post(SETUP, {"code": code_at(T, KEY)})  # not its secret
    assert response.status_code == 422
    assert field_error(text(response), "code") == (
        "That code does not match the new secret; check your authenticator app's clock and "
        "type the code it shows now"
    )
    assert SESSION_KEY not in client.session

    response = client.post(SETUP, {"code": code_at(T, secret)})
    assert response.status_code == 200
    shown = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", text(response))
    assert len(shown) == 10
    assert 'href="/books/files/"' in text(response)  # continue where they were going
    assert client.session[SESSION_KEY] == boss.pk
    boss.refresh_from_db()
    assert boss.has_totp
    assert twofactor.decrypt_secret(boss.totp_secret) == secret
    assert secret not in boss.totp_secret  # encrypted at rest
    assert audits("totp_enrol", boss) == 1
    assert client.get("/books/files/").status_code == 200


def test_a_signed_in_user_whose_second_factor_was_reset_sets_it_up_first(admin, attorney):
    client = sign_in(Client(), attorney)
    two_factor.totp_reset(user=attorney, actor=admin)
    assert client.get("/books/files/")["Location"] == SETUP
    assert audits("totp_reset", attorney) == 1
    event = AuditEvent.objects.get(action="totp_reset")
    assert (event.actor_id, event.before, event.after) == (
        admin.pk,
        {"totp": True},
        {"totp": False},
    )


def test_only_an_administrator_resets_a_second_factor(admin, attorney, clerk_client, clerk):
    response = clerk_client.post(f"/books/settings/users/{attorney.pk}/two-factor-reset/")
    assert response.status_code == 403
    assert User.objects.get(pk=attorney.pk).has_totp


def test_an_administrator_resets_a_second_factor_on_the_users_screen(admin_client, attorney):
    response = admin_client.post(f"/books/settings/users/{attorney.pk}/two-factor-reset/")
    assert response.status_code == 302
    assert not User.objects.get(pk=attorney.pk).has_totp
    assert not RecoveryCode.objects.filter(user=attorney).exists()


def test_the_required_second_factor_cannot_be_turned_off(admin_client, admin, at):
    response = admin_client.post("/books/account/two-factor/off/", {"code": fresh_code(admin)})
    assert response.status_code == 422
    assert (
        "Two-factor sign-in is required for you; you can set it up again, not turn it off"
        in unescape(text(response))
    )
    assert User.objects.get(pk=admin.pk).has_totp


def test_new_recovery_codes_replace_the_old_ones(admin_client, admin):
    old = two_factor.recovery_codes_regenerate(user=admin)
    response = admin_client.post("/books/account/recovery-codes/")
    new = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", text(response))
    assert len(new) == 10
    assert not set(new) & set(old)
    assert RecoveryCode.objects.filter(user=admin).count() == 10
    assert audits("recovery_codes_regenerate", admin) == 2


def test_a_pending_sign_in_cannot_set_up_a_new_secret_instead_of_the_code(client, admin, at):
    before = User.objects.get(pk=admin.pk).totp_secret
    password_step(client)
    assert client.get(SETUP)["Location"] == reverse("books:login_code")
    response = client.post(SETUP, {"code": "123456"})
    assert response["Location"] == reverse("books:login_code")
    assert SESSION_KEY not in client.session
    assert User.objects.get(pk=admin.pk).totp_secret == before


def test_the_integration_user_has_no_screens_beyond_its_question(client, firm, trust):
    """It signs in with a password and its security question, never a second factor: on the
    screens it enrols its question and sees its home page, and nothing else (a role like an
    accountant's would otherwise let it void checks with the password alone)."""
    integration = auth.user_create(
        firm=firm, email="int@smith.test", password=PASSWORD, is_integration_user=True
    )
    auth.security_question_enroll(user=integration, question="First car?", answer="Volvo")
    sign_in(client, integration)
    home = client.get(reverse("books:dashboard"))
    assert home.status_code == 200
    assert "int@smith.test is the user case management signs in as." in text(home)
    assert "Client trust" not in text(home)  # no figures
    for name, args in [
        ("books:checks", []),
        ("books:users", []),
        ("books:trial_balance", []),
        ("books:settings_time_zone", []),
    ]:
        refused = client.get(reverse(name, args=args))
        assert refused.status_code == 403, name
        assert (
            "The integration user signs case management into the books; it has no screens of "
            "its own beyond its security question." in text(refused)
        )
