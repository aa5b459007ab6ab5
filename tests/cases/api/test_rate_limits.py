"""Per-client rate limits on the cases API and the bridge's (issue 13): the same headers
and 429 as the books'; a cases token counts on each of the two APIs apart, with its own
limit when it has one."""

from __future__ import annotations

import pytest

from casebridge.cases.models import ApiToken, Case
from casebridge.core import clock
from tests.cases.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

BRIDGE = "/cases/api/v1/integrations/books"


@pytest.fixture
def stopped(monkeypatch):
    at = clock.now().replace(second=15, microsecond=0)
    monkeypatch.setattr(clock, "now", lambda: at)
    return at


def limits(headers) -> tuple[str | None, str | None, str | None]:
    return (
        headers.get("RateLimit-Limit"),
        headers.get("RateLimit-Remaining"),
        headers.get("RateLimit-Reset"),
    )


def bridge_get(api: ApiClient, path: str):
    return api.client.get(BRIDGE + path, headers={"Authorization": f"Bearer {api.token}"})


def test_the_cases_api_counts_per_token(api, stopped, settings, cfirm, cadmin):
    assert limits(api.get("/cases").headers) == ("600", "599", "45")
    settings.API_RATE_LIMIT = 2
    assert limits(api.get("/cases").headers) == ("2", "0", "45")
    before = Case.objects.count()
    refused = api.post("/cases", {"name": "Too many"})
    assert refused.status == 429
    assert refused.body == {
        "error": {
            "code": "rate_limited",
            "message": "too many requests: this token may make 2 a minute; retry in 45 seconds",
            "details": {"limit": 2, "retry_after": 45},
        }
    }
    assert refused.headers["Retry-After"] == "45"
    assert Case.objects.count() == before
    # the bridge's API counts the same token apart
    response = bridge_get(api, "/connection")
    assert response.status_code == 200
    assert limits(response.headers) == ("2", "1", "45")


def test_a_cases_tokens_own_limit(api, stopped):
    ApiToken.objects.update(rate_limit_per_minute=1)
    assert limits(api.get("/cases").headers) == ("1", "0", "45")
    assert api.get("/cases").status == 429
    first = bridge_get(api, "/connection")
    assert limits(first.headers) == ("1", "0", "45")
    second = bridge_get(api, "/connection")
    assert second.status_code == 429
    assert second["Retry-After"] == "45"
    assert second.json()["error"]["code"] == "rate_limited"


def test_anonymous_cases_requests_count_per_address(client, stopped, settings):
    settings.API_RATE_LIMIT_ANONYMOUS = 1
    body = {"firm": "nope", "username": "x@y.test", "password": "wrong password"}
    first = client.post("/cases/api/v1/auth/session", body, content_type="application/json")
    assert first.status_code == 401
    assert limits(first.headers) == ("1", "0", "45")
    second = client.post("/cases/api/v1/auth/session", body, content_type="application/json")
    assert second.status_code == 429
    assert second.json()["error"]["message"] == (
        "too many requests: this address may make 1 a minute; retry in 45 seconds"
    )
