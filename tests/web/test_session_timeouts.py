"""Sessions end (issue 13): after CASEBRIDGE_SESSION_IDLE_MINUTES without a request, and
CASEBRIDGE_SESSION_MAX_HOURS after they began however busy. The books and the cases side
share the session, so a timed-out session signs out of both."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.auth import SESSION_KEY as BOOKS_KEY
from casebridge.core import clock
from casebridge.web.middleware import LAST_SEEN, STARTED
from tests.books.web.conftest import sign_in


@pytest.fixture
def moments(monkeypatch):
    """``moments(minutes)`` sets ``clock.now`` that many minutes after the start."""
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    def at(minutes: float) -> None:
        monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(minutes=minutes))

    at(0)
    return at


@pytest.fixture
def short_sessions(settings):
    settings.SESSION_IDLE_SECONDS = 30 * 60
    settings.SESSION_COOKIE_AGE = 2 * 3600


def dashboard(client: Client) -> int:
    return client.get(reverse("books:dashboard")).status_code


def test_the_default_timeouts_are_thirty_minutes_idle_and_twelve_hours_in_all(settings):
    assert (settings.SESSION_IDLE_SECONDS, settings.SESSION_COOKIE_AGE) == (1800, 43200)


def test_a_session_unused_past_the_idle_limit_is_signed_out(admin, moments, short_sessions):
    client = sign_in(Client(), admin)
    assert dashboard(client) == 200
    moments(30)  # exactly the limit: still signed in
    assert dashboard(client) == 200
    moments(60 + 1)  # 31 minutes after the last request
    response = client.get(reverse("books:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("books:login"))
    assert BOOKS_KEY not in client.session


def test_a_busy_session_ends_at_its_absolute_lifetime(admin, moments, short_sessions):
    client = sign_in(Client(), admin)
    for minutes in (0, 25, 50, 75, 100, 120):
        moments(minutes)
        assert dashboard(client) == 200, minutes
    assert client.session[STARTED] == int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp())
    moments(121)  # one minute of idleness, but two hours and a minute since it began
    assert dashboard(client) == 302
    assert BOOKS_KEY not in client.session


def test_the_last_use_is_written_at_most_once_a_minute(admin, moments, short_sessions):
    client = sign_in(Client(), admin)
    dashboard(client)
    first = client.session[LAST_SEEN]
    moments(0.5)
    dashboard(client)
    assert client.session[LAST_SEEN] == first
    moments(1)
    dashboard(client)
    assert client.session[LAST_SEEN] == first + 60


def test_an_anonymous_visit_stores_no_session(db, moments):
    client = Client()
    assert client.get(reverse("books:login")).status_code == 200
    assert client.cookies.get("sessionid") is None
