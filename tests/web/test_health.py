"""/healthz and /readyz: JSON, no sign-in, 200 or 503, nothing sensitive; the books are
never called (ADR 0008): ?books=1 reads the worker's last read of them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError
from huey.contrib.djhuey import HUEY

from casebridge.core import clock
from casebridge.web import health

from .conftest import T0, connection


@pytest.fixture
def at_t0(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: T0)


def test_healthz_answers_without_the_database(client):
    # no db fixture: a query would raise "Database access not allowed"
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_checks_the_database_and_the_queue(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "queue": {"status": "ok", "pending": 0}},
    }


def test_readyz_is_503_when_the_database_is_unreachable_and_says_no_more_than_its_class(
    client, db, monkeypatch
):
    class Down:
        def cursor(self):
            raise OperationalError('could not connect to server at "db.secret.internal"')

    monkeypatch.setattr(health, "connection", Down())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "fail",
        "checks": {
            "database": {"status": "fail", "error": "OperationalError"},
            "queue": {"status": "ok", "pending": 0},
        },
    }
    assert b"secret" not in response.content


def test_readyz_is_503_when_the_queue_storage_is_unreachable(client, db, monkeypatch):
    def refused():
        raise ConnectionError("Error 111 connecting to redis.secret.internal:6379")

    monkeypatch.setattr(HUEY.storage, "queue_size", refused)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["queue"] == {"status": "fail", "error": "ConnectionError"}
    assert b"secret" not in response.content


def test_readyz_counts_what_is_queued(client, db):
    HUEY.storage.enqueue(b"a task")
    try:
        assert client.get("/readyz").json()["checks"]["queue"] == {"status": "ok", "pending": 1}
    finally:
        HUEY.storage.flush_queue()


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_probes_only_answer_get(client, db, method):
    assert getattr(client, method)("/readyz").status_code == 405
    assert getattr(client, method)("/healthz").status_code == 405


def test_readyz_books_with_no_connection_is_ok(client, db, at_t0):
    response = client.get("/readyz?books=1")
    assert response.status_code == 200
    assert response.json()["checks"]["books"] == {
        "status": "ok",
        "connections": 0,
        "failing": 0,
        "stale": 0,
        "oldest_read_seconds": None,
    }


def test_readyz_books_reads_the_workers_last_read_and_calls_nobody(
    client, cases_firm, at_t0, monkeypatch
):
    connection(cases_firm, readiness_checked_at=T0 - dt.timedelta(minutes=12))

    def no_call(*args, **kwargs):
        raise AssertionError("readyz called the books")

    monkeypatch.setattr("casebridge.bridge.client.HttpBooksClient.__init__", no_call)
    response = client.get("/readyz?books=1")
    assert response.status_code == 200
    assert response.json()["checks"]["books"] == {
        "status": "ok",
        "connections": 1,
        "failing": 0,
        "stale": 0,
        "oldest_read_seconds": 720,
    }
    # without ?books=1 the books are not looked at
    assert "books" not in client.get("/readyz").json()["checks"]


def test_readyz_books_fails_on_a_stale_read(client, cases_firm, at_t0):
    # three refresh periods (3 x 600 s) and a second
    connection(cases_firm, readiness_checked_at=T0 - dt.timedelta(seconds=1801))
    response = client.get("/readyz?books=1")
    assert response.status_code == 503
    assert response.json()["checks"]["books"] == {
        "status": "fail",
        "connections": 1,
        "failing": 0,
        "stale": 1,
        "oldest_read_seconds": 1801,
    }


def test_readyz_books_fails_on_a_failed_read_without_saying_why(client, cases_firm, at_t0):
    connection(
        cases_firm,
        readiness_checked_at=T0 - dt.timedelta(minutes=1),
        refresh_error="the books could not be reached (books.secret.internal)",
    )
    response = client.get("/readyz?books=1")
    assert response.status_code == 503
    assert response.json()["checks"]["books"]["failing"] == 1
    assert b"secret" not in response.content


def test_a_never_read_connection_is_stale_and_a_deactivated_one_is_left_out(
    client, cases_firm, at_t0
):
    from casebridge.cases.services import firms

    connection(cases_firm)
    other = firms.firm_create(code="jones", name="Jones")
    connection(other, status="deactivated")
    books = client.get("/readyz?books=1").json()["checks"]["books"]
    assert (books["connections"], books["stale"], books["oldest_read_seconds"]) == (1, 1, None)


def test_probes_are_answered_over_plain_http_where_pages_are_redirected(client, settings):
    """In production every page redirects to HTTPS; a load balancer's probe from inside the
    network calls over plain HTTP and gets its answer, not a 301."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    page = client.get("/cases/")
    assert (page.status_code, page["Location"]) == (301, "https://testserver/cases/")
