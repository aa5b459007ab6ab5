"""Logging in to the cases API, the 30-day lapse, logging out, and who may not log in."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.cases.models import ApiToken, User
from casebridge.cases.services import firms
from casebridge.core import clock
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
    ("firm", "username", "password"),
    [
        ("lopez-pi", "admin@lopez.test", "not the password"),
        ("lopez-pi", "nobody@lopez.test", PASSWORD),
        ("no-such-firm", "admin@lopez.test", PASSWORD),
    ],
)
def test_wrong_credentials_are_401_without_saying_which_part(
    anonymous, cadmin, firm, username, password
):
    before = db_state()
    reply = login(anonymous, username, password, firm)
    assert reply.status == 401
    assert reply.error == {
        "code": "invalid_credentials",
        "message": "firm ID, email or password is not right",
        "field": "password",
    }
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_credentials"'
    assert db_state() == before
    assert ApiToken.objects.count() == 0


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
