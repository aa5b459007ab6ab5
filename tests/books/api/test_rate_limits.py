"""Per-client rate limits on the books API (issue 13): ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` on every counted response; 429
``rate_limited`` with ``Retry-After`` past the limit, the endpoint not run; per token (its
own limit over the default; the integration user's token with its higher ceiling), per
client address when anonymous. The clock is stopped inside a minute, so Reset is exact."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from casebridge.books.models import Check, IntegrationToken
from casebridge.books.services import auth
from casebridge.core import clock
from tests.books.api.conftest import ApiClient, issue_token, row_counts
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def minute(monkeypatch):
    """Stop the clock 15 seconds into a minute (so 45 seconds are left in the window);
    ``minute.next()`` moves it to the next minute's 15th second."""

    class Minute:
        at = clock.now().replace(second=15, microsecond=0)

        def next(self) -> None:
            self.at += dt.timedelta(minutes=1)

    m = Minute()
    monkeypatch.setattr(clock, "now", lambda: m.at)
    return m


def limits(reply) -> tuple[str | None, str | None, str | None]:
    h = reply.headers
    return (h.get("RateLimit-Limit"), h.get("RateLimit-Remaining"), h.get("RateLimit-Reset"))


def test_every_response_carries_the_headers(api, minute):
    assert limits(api.get("/users")) == ("600", "599", "45")
    assert limits(api.get("/users")) == ("600", "598", "45")
    missing = api.get("/checks/999999")  # a refusal is counted and carries them too
    assert missing.status == 404
    assert limits(missing) == ("600", "597", "45")


def test_past_the_limit_429_with_retry_after_and_nothing_runs(
    api, minute, settings, operating, client_file, firm
):
    settings.API_RATE_LIMIT = 3
    assert [limits(api.get("/users"))[1] for _ in range(3)] == ["2", "1", "0"]
    before = row_counts()
    code = firm.activity_codes.get(code="E101")
    refused = api.post(
        "/checks",
        {
            "bank_account_id": operating.pk,
            "payee": "Records Inc",
            "amount": "10.00",
            "file_id": client_file.pk,
            "activity_code_id": code.pk,
        },
        key="over-1",
    )
    assert refused.status == 429
    assert refused.body == {
        "error": {
            "code": "rate_limited",
            "message": "too many requests: this token may make 3 a minute; retry in 45 seconds",
            "details": {"limit": 3, "retry_after": 45},
        }
    }
    assert refused.headers["Retry-After"] == "45"
    assert limits(refused) == ("3", "0", "45")
    assert row_counts() == before
    assert not Check.objects.exists()

    minute.next()
    assert limits(api.get("/users")) == ("3", "2", "45")


def test_a_tokens_own_limit_overrides_the_default(client, admin, attorney, minute):
    mine = issue_token("smith-pi", admin.email)
    IntegrationToken.objects.filter(user=admin).update(rate_limit_per_minute=2)
    theirs = issue_token("smith-pi", attorney.email)
    a, b = ApiClient(client, mine), ApiClient(Client(), theirs)
    assert [limits(a.get("/users")) for _ in range(2)] == [("2", "1", "45"), ("2", "0", "45")]
    assert a.get("/users").status == 429
    # another token counts apart, with the default
    assert limits(b.get("/users")) == ("600", "599", "45")


def test_the_integration_users_token_has_the_higher_ceiling(client, firm, minute, settings):
    user = auth.user_create(
        firm=firm, email="bridge@smith.test", password=PASSWORD, is_integration_user=True
    )
    auth.security_question_enroll(user=user, question="First car?", answer="Civic")
    bridge = ApiClient(client, issue_token("smith-pi", user.email))
    assert limits(bridge.get("/users")) == ("12000", "11999", "45")
    settings.API_RATE_LIMIT_INTEGRATION = 50_000
    assert limits(bridge.get("/users")) == ("50000", "49998", "45")
    IntegrationToken.objects.filter(user=user).update(rate_limit_per_minute=7)
    assert limits(bridge.get("/users")) == ("7", "4", "45")


def test_anonymous_requests_count_per_client_address(minute, settings, admin):
    settings.API_RATE_LIMIT_ANONYMOUS = 2
    here, there = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    wrong = {"firm": "smith-pi", "username": admin.email, "password": "not the password"}

    def log_in(c: Client, **headers: str):
        return c.post(
            "/books/api/v1/auth/session", wrong, content_type="application/json", headers=headers
        )

    first = log_in(here)
    assert first.status_code == 401
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("2", "1")
    # X-Forwarded-For is not trusted: the same peer is the same client
    assert log_in(here, **{"X-Forwarded-For": "203.0.113.9"})["RateLimit-Remaining"] == "0"
    third = log_in(here)
    assert third.status_code == 429
    assert third.json()["error"]["message"] == (
        "too many requests: this address may make 2 a minute; retry in 45 seconds"
    )
    assert third["Retry-After"] == "45"
    assert log_in(there)["RateLimit-Remaining"] == "1"


def test_an_ipv6_client_is_counted_by_its_network_not_each_address(minute, settings, admin):
    """A client with a /64 cannot step past the limit by changing its last 64 bits."""
    settings.API_RATE_LIMIT_ANONYMOUS = 2
    wrong = {"firm": "smith-pi", "username": admin.email, "password": "not the password"}

    def log_in(address: str):
        return Client(REMOTE_ADDR=address).post(
            "/books/api/v1/auth/session", wrong, content_type="application/json"
        )

    assert log_in("2001:db8:1:2::10")["RateLimit-Remaining"] == "1"
    assert log_in("2001:db8:1:2::11")["RateLimit-Remaining"] == "0"
    assert log_in("2001:db8:1:2:ffff::1").status_code == 429
    assert log_in("2001:db8:1:3::10")["RateLimit-Remaining"] == "1"  # another network


def test_a_request_that_fails_authentication_is_not_counted(client, api, minute):
    bad = ApiClient(client, "cbb_not-a-token")
    reply = bad.get("/users")
    assert reply.status == 401
    assert limits(reply) == (None, None, None)
    assert limits(api.get("/users")) == ("600", "599", "45")
