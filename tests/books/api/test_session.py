"""Logging in, the monthly lapse, throttling and logging out, over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import IntegrationToken, LoginAttempt, User
from casebridge.books.services import auth
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import issue_token
from tests.conftest import PASSWORD
from tests.twofactor import login_body

T = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def at(monkeypatch):
    """Set the books' clock (the live server thread shares this process)."""

    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_now


def login(live, username: str, password: str = PASSWORD, firm: str = "smith-pi"):
    body = {"firm": firm, "username": username, "password": password}
    return live.post("/auth/session", login_body(User, firm, username, body))


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


GENERIC_401 = {
    "code": "invalid_credentials",
    "message": "firm ID, email or password is not right",
    "field": "password",
}


def test_wrong_password_unknown_user_unknown_firm_and_deactivated_read_the_same(
    live, firm, admin, attorney
):
    auth.user_update(user=attorney, actor=admin, is_active=False)
    refused = [
        login(live, "admin@smith.test", "not the password"),
        login(live, "nobody@smith.test"),
        login(live, "admin@smith.test", firm="no-such-firm"),
        login(live, attorney.email),  # deactivated, right password
    ]
    for reply in refused:
        assert (reply.status, reply.body) == (401, {"error": GENERIC_401})
        assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_credentials"'
        assert "Retry-After" not in reply.headers
    assert IntegrationToken.objects.count() == 0
    # every attempt stays recorded (the login is not rolled back with the refusal)
    assert list(LoginAttempt.objects.order_by("pk").values_list("username", "succeeded")) == [
        ("admin@smith.test", False),
        ("nobody@smith.test", False),
        ("admin@smith.test", False),
        ("sam.smith@smith.test", False),
    ]


def test_a_user_without_a_security_question_is_told_so_once_the_password_is_right(
    live, firm, admin
):
    auth.user_create(firm=firm, email="new@smith.test", password=PASSWORD)  # not enrolled
    not_enrolled = login(live, "new@smith.test")
    assert not_enrolled.status == 403
    assert not_enrolled.error["code"] == "security_question_not_enrolled"
    assert "has not enrolled a security question" in not_enrolled.error["message"]
    assert IntegrationToken.objects.count() == 0


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


def test_the_sixth_failed_login_waits_30_seconds_then_the_wait_doubles(live, admin, at):
    at(T)
    for _ in range(5):
        assert login(live, admin.email, "wrong password!").error["code"] == "invalid_credentials"

    sixth = login(live, admin.email)  # even the right password waits
    assert sixth.status == 429
    assert sixth.error == {
        "code": "too_many_attempts",
        "message": "too many failed sign-ins; try again in 30 seconds",
        "details": {"retry_after": 30},
    }
    assert sixth.headers["Retry-After"] == "30"
    assert LoginAttempt.objects.count() == 5  # the refused attempt was not even checked

    at(T + dt.timedelta(seconds=28))
    later = login(live, admin.email)
    assert (later.status, later.headers["Retry-After"]) == (429, "2")

    at(T + dt.timedelta(seconds=30))
    assert login(live, admin.email, "wrong password!").status == 401
    doubled = login(live, admin.email)
    assert (doubled.status, doubled.headers["Retry-After"]) == (429, "60")

    at(T + dt.timedelta(seconds=90))
    after_wait = login(live, admin.email)
    assert after_wait.status == 201
    assert after_wait.body["user"]["id"] == admin.pk


def post_from(client, address: str, username: str, password: str = PASSWORD):
    """POST /auth/session from ``address`` (Django's test client sets REMOTE_ADDR)."""
    response = client.post(
        "/books/api/v1/auth/session",
        login_body(
            User,
            "smith-pi",
            username,
            {"firm": "smith-pi", "username": username, "password": password},
        ),
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    return response.status_code, response.headers.get("Retry-After"), response.json()


def test_one_password_across_many_usernames_from_one_address_gets_429(client, admin, at):
    at(T)
    for n in range(20):
        status, _, _ = post_from(client, "203.0.113.66", f"user{n}@smith.test", "Summer2026!")
        assert status == 401
    status, retry_after, body = post_from(client, "203.0.113.66", admin.email)
    assert (status, retry_after, body["error"]["code"]) == (429, "30", "too_many_attempts")
    assert post_from(client, "198.51.100.1", admin.email)[0] == 201  # elsewhere: no wait


def test_the_owner_signs_in_from_its_address_while_a_stranger_hammers(client, admin, at):
    at(T)
    assert post_from(client, "192.0.2.10", admin.email)[0] == 201  # the owner's address
    at(T + dt.timedelta(days=29))
    for _ in range(5):
        assert post_from(client, "203.0.113.66", admin.email, "guess")[0] == 401
    assert post_from(client, "203.0.113.66", admin.email)[:2] == (429, "30")
    assert post_from(client, "198.51.100.1", admin.email)[:2] == (429, "30")  # any stranger
    assert post_from(client, "192.0.2.10", admin.email)[0] == 201


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
