"""Logging in, the monthly lapse, throttling and logging out, over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import IntegrationToken, LoginAttempt
from casebridge.books.services import auth
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import issue_token
from tests.conftest import PASSWORD

T = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def at(monkeypatch):
    """Set the books' clock (the live server thread shares this process)."""

    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_now


def login(live, username: str, password: str = PASSWORD, firm: str = "smith-pi"):
    return live.post("/auth/session", {"firm": firm, "username": username, "password": password})


def test_login_issues_a_30_day_token_and_the_token_opens_the_api(live, admin, at):
    at(T)
    reply = login(live, "ADMIN@smith.test")
    assert reply.status == 201
    body = reply.body
    token = body.pop("token")
    assert token.startswith("cbb_")
    assert len(token) == 47
    assert body == {
        "token_type": "Bearer",
        "expires_at": "2026-03-31T17:00:00Z",
        "user": {
            "id": admin.pk,
            "email": "admin@smith.test",
            "initials": "AA",
            "first_name": "Ada",
            "last_name": "Admin",
            "is_admin": True,
            "role": "administrator",
            "records_time": False,
            "is_active": True,
            "is_integration_user": False,
        },
        "firm": {"id": admin.firm_id, "code": "smith-pi", "name": "Smith Personal Injury LLP"},
    }
    stored = IntegrationToken.objects.get()
    assert stored.prefix == token[:10]
    assert token not in stored.token_hash  # only the hash is kept
    attempt = LoginAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.succeeded) == (
        "admin@smith.test",
        "127.0.0.1",
        True,
    )
    assert list(
        AuditEvent.objects.filter(action__in=["login", "token_issue"])
        .order_by("pk")
        .values_list("action", "ip_address")
    ) == [("login", "127.0.0.1"), ("token_issue", "127.0.0.1")]

    features = live.get("/features", token=token)
    assert (features.status, features.body) == (200, {"release_invoice_stage_enabled": False})


def test_wrong_password_unknown_user_unknown_firm_and_not_enrolled_are_told_apart(
    live, firm, admin
):
    auth.user_create(firm=firm, email="new@smith.test", password=PASSWORD)  # not enrolled

    wrong = login(live, "admin@smith.test", "not the password")
    unknown = login(live, "nobody@smith.test")
    no_firm = login(live, "admin@smith.test", firm="no-such-firm")
    not_enrolled = login(live, "new@smith.test")

    assert (wrong.status, wrong.error["code"], wrong.error["field"]) == (
        401,
        "invalid_credentials",
        "password",
    )
    assert (unknown.status, unknown.error["code"], unknown.error["field"]) == (
        401,
        "user_not_found",
        "username",
    )
    assert (no_firm.status, no_firm.error["code"], no_firm.error["field"]) == (
        401,
        "user_not_found",
        "firm",
    )
    assert not_enrolled.status == 403
    assert not_enrolled.error["code"] == "security_question_not_enrolled"
    assert "has not enrolled a security question" in not_enrolled.error["message"]
    assert IntegrationToken.objects.count() == 0
    # every attempt stays recorded (the login is not rolled back with the refusal)
    assert list(LoginAttempt.objects.order_by("pk").values_list("username", "succeeded")) == [
        ("admin@smith.test", False),
        ("nobody@smith.test", False),
        ("admin@smith.test", False),
        ("new@smith.test", True),
    ]


def test_missing_login_fields_are_a_validation_error_naming_them(live, admin):
    reply = live.post("/auth/session", {"firm": "smith-pi", "username": ""})
    assert reply.status == 422
    assert reply.error["code"] == "validation_error"
    assert [e["field"] for e in reply.error["details"]["errors"]] == ["username", "password"]
    assert LoginAttempt.objects.count() == 0


def test_the_token_lapses_exactly_30_days_after_issue(live, admin, at):
    token = issue_token("smith-pi", admin.email, now=T)

    at(T + dt.timedelta(days=1))
    day_one = live.get("/auth/session", token=token)
    assert day_one.status == 200
    assert day_one.body["days_left"] == 29
    assert day_one.body["expires_at"] == "2026-03-31T17:00:00Z"
    assert day_one.body["user"]["email"] == "admin@smith.test"
    assert day_one.body["firm"]["code"] == "smith-pi"
    assert day_one.body["token"]["issued_at"] == "2026-03-01T17:00:00Z"

    at(T + dt.timedelta(days=30) - dt.timedelta(seconds=1))
    last_second = live.get("/auth/session", token=token)
    assert (last_second.status, last_second.body["days_left"]) == (200, 0)

    at(T + dt.timedelta(days=30))
    lapsed = live.get("/auth/session", token=token)
    assert lapsed.status == 401
    assert lapsed.error["code"] == "reauthentication_required"
    assert "lapsed on 2026-03-31" in lapsed.error["message"]
    assert lapsed.headers["WWW-Authenticate"] == 'Bearer error="reauthentication_required"'
    assert live.get("/users", token=token).error["code"] == "reauthentication_required"

    # logging in again issues a fresh token
    fresh = login(live, admin.email)
    assert fresh.status == 201
    assert fresh.body["expires_at"] == "2026-04-30T17:00:00Z"
    assert live.get("/auth/session", token=fresh.body["token"]).status == 200


def test_the_service_boundary_is_exact(admin):
    token = issue_token("smith-pi", admin.email, now=T)
    ok = auth.integration_token_resolve(token=token, now=T + dt.timedelta(days=30, seconds=-1))
    assert ok.user_id == admin.pk
    with pytest.raises(auth.ReauthenticationRequired):
        auth.integration_token_resolve(token=token, now=T + dt.timedelta(days=30))


def test_the_sixth_failed_login_in_the_window_is_throttled_until_the_window_passes(live, admin, at):
    at(T)
    for _ in range(5):
        assert login(live, admin.email, "wrong password!").error["code"] == "invalid_credentials"

    sixth = login(live, admin.email)  # even the right password waits
    assert sixth.status == 429
    assert sixth.error["code"] == "too_many_attempts"
    assert sixth.error["details"] == {"retry_after": 901}
    assert sixth.headers["Retry-After"] == "901"
    assert LoginAttempt.objects.count() == 5  # the refused attempt was not even checked

    at(T + dt.timedelta(seconds=899))
    later = login(live, admin.email)
    assert (later.status, later.headers["Retry-After"]) == (429, "2")

    at(T + dt.timedelta(seconds=901))
    after_window = login(live, admin.email)
    assert after_window.status == 201
    assert after_window.body["user"]["id"] == admin.pk


def test_logout_revokes_the_token(live, admin):
    token = issue_token("smith-pi", admin.email)
    assert live.get("/users", token=token).status == 200

    out = live.delete("/auth/session", token=token)
    assert (out.status, out.body) == (204, None)

    again = live.get("/users", token=token)
    assert again.status == 401
    assert again.error["code"] == "invalid_token"
    assert IntegrationToken.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(action="token_revoke", actor_id=admin.pk).count() == 1


def test_a_request_without_a_bearer_token_is_refused(live, admin):
    missing = live.get("/users")
    assert missing.status == 401
    assert missing.error["code"] == "not_authenticated"
    assert missing.headers["WWW-Authenticate"] == "Bearer"

    garbage = live.get("/users", token="cbb_not-a-real-token")
    assert (garbage.status, garbage.error["code"]) == (401, "invalid_token")


def test_a_deactivated_users_token_stops_working(live, admin, attorney):
    token = issue_token("smith-pi", attorney.email)
    auth.user_update(user=attorney, actor=admin, is_active=False)
    reply = live.get("/users", token=token)
    assert (reply.status, reply.error["code"]) == (401, "invalid_token")
