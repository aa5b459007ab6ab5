"""Logging in to the cases API, the 30-day lapse, logging out, and who may not log in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password as django_check_password

from casebridge.cases.models import ApiToken, User
from casebridge.cases.services import firms
from casebridge.core import clock, signin
from casebridge.core.models import AuditEvent
from tests.cases.api.conftest import ApiClient, db_state
from tests.cases.conftest import PASSWORD
from tests.twofactor import login_body

T = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def at(monkeypatch):
    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_now


def login(anonymous: ApiClient, username: str, password: str = PASSWORD, firm: str = "lopez-pi"):
    body = {"firm": firm, "username": username, "password": password}
    return anonymous.post("/auth/session", login_body(User, firm, username, body))


def test_login_issues_a_30_day_token_that_opens_the_api(anonymous, client, cadmin, at):
    at(T)
    reply = login(anonymous, " ADMIN@lopez.test ")
    assert reply.status == 201
    body = reply.body
    token = body.pop("token")
    assert token.startswith("cbc_")
    assert len(token) == 47
    assert body == {
        "token_type": "Bearer",
        "expires_at": "2026-03-31T17:00:00Z",
        "user": {
            "id": cadmin.pk,
            "email": "admin@lopez.test",
            "first_name": "Ana",
            "last_name": "Admin",
            "name": "Ana Admin",
            "is_firm_admin": True,
            "is_attorney": False,
            "permissions": ["admin_settings", "costs_management", "deposit_settlement"],
            "is_active": True,
        },
        "firm": {"id": cadmin.firm_id, "code": "lopez-pi", "name": "Lopez Injury Attorneys"},
    }
    stored = ApiToken.objects.get()
    assert stored.prefix == token[:10]
    assert len(stored.token_hash) == 64
    assert token not in stored.token_hash
    assert stored.expires_at == T + dt.timedelta(days=30)
    assert list(
        AuditEvent.objects.filter(system="cases", action__in=["login", "token_issue"])
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["login", "token_issue"]

    authed = ApiClient(client, token)
    session = authed.get("/auth/session")
    assert session.status == 200
    assert session.body["days_left"] == 30
    assert session.body["token_prefix"] == token[:10]
    assert session.body["user"]["id"] == cadmin.pk


@pytest.mark.parametrize(
    ("firm", "username", "password", "audited"),
    [
        ("lopez-pi", "admin@lopez.test", "not the password", "Wrong password"),
        ("lopez-pi", "nobody@lopez.test", PASSWORD, "Unknown user nobody@lopez.test"),
        ("no-such-firm", "admin@lopez.test", PASSWORD, None),  # no firm to audit under
        ("lopez-pi", "leaving@lopez.test", PASSWORD, "Deactivated user"),
    ],
)
def test_wrong_credentials_are_401_without_saying_which_part(
    anonymous, cadmin, cfirm, firm, username, password, audited
):
    leaving = firms.user_create(
        firm=cfirm, actor=None, email="leaving@lopez.test", password=PASSWORD
    )
    firms.user_update(user=leaving, actor=cadmin, is_active=False)
    before = db_state()
    reply = login(anonymous, username, password, firm)
    assert reply.status == 401
    assert reply.error == {
        "code": "invalid_credentials",
        "message": "firm ID, email or password is not right",
        "field": "password",
    }
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_credentials"'
    assert "Retry-After" not in reply.headers
    after = db_state()
    failed = [e for e in after["AuditEvent"] if e not in before["AuditEvent"]]
    assert [(e["action"], e["summary"], e["ip_address"]) for e in failed] == (
        [("login_failed", audited, "127.0.0.1")] if audited else []
    )
    after["AuditEvent"] = before["AuditEvent"]
    assert after == before  # nothing else written
    assert ApiToken.objects.count() == 0


def test_an_unknown_user_costs_the_same_hash_as_a_known_one(anonymous, cadmin, monkeypatch):
    checked: list[str] = []

    def counting(password: str, encoded: str, *args: object, **kw: object) -> bool:
        checked.append(encoded)
        return django_check_password(password, encoded)

    monkeypatch.setattr(signin, "check_password", counting)
    assert login(anonymous, "nobody@lopez.test").status == 401
    assert login(anonymous, "admin@lopez.test", firm="no-such-firm").status == 401
    assert login(anonymous, "admin@lopez.test", "not the password").status == 401
    assert checked == [signin.dummy_password_hash()] * 2 + [cadmin.password]


def post_from(client, address: str, username: str, password: str = PASSWORD):
    response = client.post(
        "/cases/api/v1/auth/session",
        login_body(
            User,
            "lopez-pi",
            username,
            {"firm": "lopez-pi", "username": username, "password": password},
        ),
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    return response.status_code, response.headers.get("Retry-After"), response.json()


def test_the_sixth_failure_for_an_account_waits_30_seconds_then_60(client, cadmin, at):
    at(T)
    for _ in range(5):
        assert post_from(client, "203.0.113.66", cadmin.email, "guess")[0] == 401
    status, retry_after, body = post_from(client, "203.0.113.66", cadmin.email)
    assert (status, retry_after) == (429, "30")
    assert body["error"] == {
        "code": "too_many_attempts",
        "message": "too many failed sign-ins; try again in 30 seconds",
        "details": {"retry_after": 30},
    }
    assert post_from(client, "198.51.100.1", cadmin.email)[:2] == (429, "30")  # any stranger
    at(T + dt.timedelta(seconds=30))
    assert post_from(client, "203.0.113.66", cadmin.email, "guess")[0] == 401
    assert post_from(client, "203.0.113.66", cadmin.email)[:2] == (429, "60")
    at(T + dt.timedelta(seconds=90))
    assert post_from(client, "203.0.113.66", cadmin.email)[0] == 201
    assert ApiToken.objects.count() == 1


def test_one_password_across_many_usernames_from_one_address_gets_429(client, cadmin, at):
    at(T)
    for n in range(20):
        assert post_from(client, "203.0.113.66", f"user{n}@lopez.test", "Summer2026!")[0] == 401
    assert post_from(client, "203.0.113.66", cadmin.email)[:2] == (429, "30")
    assert post_from(client, "198.51.100.1", cadmin.email)[0] == 201


def test_the_owner_signs_in_from_its_address_while_a_stranger_hammers(client, cadmin, at):
    at(T)
    assert post_from(client, "192.0.2.10", cadmin.email)[0] == 201
    at(T + dt.timedelta(days=29))
    for _ in range(5):
        assert post_from(client, "203.0.113.66", cadmin.email, "guess")[0] == 401
    assert post_from(client, "203.0.113.66", cadmin.email)[:2] == (429, "30")
    assert post_from(client, "192.0.2.10", cadmin.email)[0] == 201


def test_a_success_clears_the_failures_of_its_address(client, cadmin, at):
    at(T)
    for _ in range(4):
        assert post_from(client, "192.0.2.10", cadmin.email, "typo")[0] == 401
    assert post_from(client, "192.0.2.10", cadmin.email)[0] == 201
    for _ in range(4):
        assert post_from(client, "192.0.2.10", cadmin.email, "typo")[0] == 401
    assert post_from(client, "192.0.2.10", cadmin.email)[0] == 201


def test_a_deactivated_user_cannot_log_in_and_their_tokens_stop(anonymous, client, cadmin, cfirm):
    paralegal = firms.user_create(
        firm=cfirm, actor=None, email="leaving@lopez.test", password=PASSWORD
    )
    token = login(anonymous, "leaving@lopez.test").body["token"]
    firms.user_update(user=paralegal, actor=cadmin, is_active=False)

    assert login(anonymous, "leaving@lopez.test").status == 401
    reply = ApiClient(client, token).get("/cases")
    assert (reply.status, reply.error["code"]) == (401, "invalid_token")


def test_the_token_lapses_after_30_days(anonymous, client, cadmin, at):
    at(T)
    token = login(anonymous, "admin@lopez.test").body["token"]
    authed = ApiClient(client, token)

    at(T + dt.timedelta(days=29, hours=23))
    last_day = authed.get("/auth/session")
    assert (last_day.status, last_day.body["days_left"]) == (200, 0)

    at(T + dt.timedelta(days=30))
    lapsed = authed.get("/cases")
    assert lapsed.status == 401
    assert lapsed.error["code"] == "reauthentication_required"
    assert lapsed.error["message"] == (
        "the API session lapsed on 2026-03-31; log in again with POST /auth/session"
    )
    assert lapsed.headers["WWW-Authenticate"] == 'Bearer error="reauthentication_required"'

    fresh = ApiClient(client, login(anonymous, "admin@lopez.test").body["token"])
    assert fresh.get("/cases").status == 200


def test_logging_out_revokes_the_token(anonymous, client, cadmin):
    token = login(anonymous, "admin@lopez.test").body["token"]
    authed = ApiClient(client, token)
    assert authed.delete("/auth/session").status == 204
    assert ApiToken.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(system="cases", action="token_revoke").count() == 1

    revoked = authed.get("/auth/session")
    assert revoked.status == 401
    assert revoked.error == {
        "code": "invalid_token",
        "message": "the token is not valid or has been revoked; log in again",
    }
    assert authed.delete("/auth/session").status == 401


@pytest.mark.parametrize(
    "header", [None, "Basic abc", "Bearer", "Bearer  ", "Bearer cbc_not-a-token", "x" * 5000]
)
def test_missing_or_bad_authorization_is_401(client, cadmin, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/cases/api/v1/cases", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"not_authenticated", "invalid_token"}


def test_login_body_is_validated(anonymous, cadmin):
    reply = anonymous.post("/auth/session", {"firm": "lopez-pi", "username": "a@b.c"})
    assert reply.status == 422
    assert reply.error["field"] == "password"
    assert ApiToken.objects.count() == 0
