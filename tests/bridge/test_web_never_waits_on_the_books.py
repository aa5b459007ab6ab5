"""A web request of the cases side never waits on the books (issue 10, item 6; ADR 0008).

The README's one-machine production set-up serves the cases side and the books from the
same ``gunicorn config.wsgi`` sync workers. A request that called the books from inside it
would wait on a worker that is busy with that very request (or with another one waiting the
same way): the server locks itself up. Here gunicorn runs with ONE sync worker, the
connection's books address answers nothing (it accepts and hangs, recording what it gets),
and two sends arrive together: both get their JSON answer and the books are never called.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection as db_connection

from casebridge.bridge.models import Connection, OutboxItem, OutboxState
from casebridge.bridge.services.readiness import readiness_run
from casebridge.cases.api.security import token_issue
from casebridge.cases.models import CostStatus
from tests.twofactor import cases_code

from .conftest import PASSWORD, add_cost
from .hangingbooks import HangingBooks

ROOT = Path(__file__).resolve().parents[2]
#: Only so that a broken server cannot hang the test run; nothing here measures time.
SAFETY_NET_SECONDS = 240.0


def _database_url() -> str:
    """The test database, as the gunicorn process must reach it."""
    s = db_connection.settings_dict
    if db_connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def one_sync_worker(transactional_db) -> Iterator[str]:
    """``gunicorn config.wsgi -w 1 -k sync`` on a free port, on the test database."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CASEBRIDGE_HUEY_IMMEDIATE": "0",  # the worker is another process (none runs here)
    }
    server = subprocess.Popen(  # noqa: S603 - a fixed command: this interpreter's gunicorn
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "-k",
            "sync",
            "--timeout",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SAFETY_NET_SECONDS
        while True:  # wait until it answers (a condition, not a fixed sleep)
            assert server.poll() is None, "gunicorn exited at start"
            try:
                if httpx.get(f"{base}/cases/login/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _post_together(
    base: str, token: str, bodies: list[dict[str, Any]]
) -> list[tuple[int, str, Any]]:
    """POST every body to costs/send at the same moment; each answer's status,
    content type and JSON (or the failure, as text)."""
    results: list[tuple[int, str, Any]] = [(0, "", None)] * len(bodies)
    start = threading.Barrier(len(bodies))

    def one(i: int) -> None:
        start.wait()
        try:
            r = httpx.post(
                f"{base}/cases/api/v1/integrations/books/costs/send",
                json=bodies[i],
                headers={"Authorization": f"Bearer {token}"},
                timeout=SAFETY_NET_SECONDS,
            )
        except httpx.HTTPError as exc:
            results[i] = (0, "", f"no answer: {exc!r}")
            return
        kind = r.headers.get("content-type", "")
        results[i] = (r.status_code, kind, r.json() if "json" in kind else r.text[:300])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_sends_at_once_on_one_sync_worker_answer_json_without_calling_the_books(
    books, cases, connected, one_sync_worker
):
    readiness_run(conn=connected)  # the last report: every check passes
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_550)]
    token = token_issue(
        firm_code="lopez-pi",
        email=cases.admin.email,
        password=PASSWORD,
        totp=cases_code(cases.admin.email),
    ).token
    with HangingBooks() as hanging:
        Connection.objects.filter(pk=connected.pk).update(books_url=hanging.books_url)
        results = _post_together(
            one_sync_worker, token, [{"cost_ids": [costs[0].pk]}, {"cost_ids": [costs[1].pk]}]
        )
        calls = hanging.calls
    assert results == [
        (
            200,
            "application/json; charset=utf-8",
            {"count": 1, "total": "10.00", "not_sent": 0, "problem": ""},
        ),
        (
            200,
            "application/json; charset=utf-8",
            {"count": 1, "total": "25.50", "not_sent": 0, "problem": ""},
        ),
    ]
    assert calls == []
    for cost in costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PENDING
    assert sorted(
        OutboxItem.objects.filter(firm=cases.firm).values_list("cost_id", "state")
    ) == sorted((c.pk, OutboxState.QUEUED) for c in costs)
