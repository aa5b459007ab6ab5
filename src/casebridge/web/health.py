"""Probes for a load balancer or an orchestrator; no sign-in, nothing sensitive in them.

- ``GET /healthz``: the process answers (no database, nothing else): 200 ``{"status": "ok"}``.
  A liveness probe: restart the process when it fails.
- ``GET /readyz``: it can serve: the database answers ``SELECT 1`` and the task queue's
  storage (Huey: the SQLite file or Redis) answers. 200 when every check is ok, else 503;
  ``{"status": "ok"|"fail", "checks": {name: {"status": ..., ...}}}``. A readiness
  probe: take the process out of rotation while it fails.
- ``GET /readyz?books=1`` adds ``books``: never a call to the books (a web request never
  calls them, ADR 0008) but the worker's last read of them for every connection: failing
  when a connection's last read failed or is older than three refresh periods
  (``CASEBRIDGE_BRIDGE_REFRESH``, 10 minutes: so 30 minutes). For monitoring, not for a
  load balancer (the books being away is no reason to stop serving the cases side).

A failure names the exception's class only (``OperationalError``), never its message,
which may carry a host name or a path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from huey.contrib.djhuey import HUEY

from casebridge.bridge import operations
from casebridge.core import clock

Check = dict[str, Any]

#: A connection whose last read of the books is older than this many refresh periods is
#: stale (the worker is down or cannot reach them).
STALE_PERIODS = 3


def _failed(exc: Exception) -> Check:
    return {"status": "fail", "error": type(exc).__name__}


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure is "not ready"; the class name says which
        return _failed(exc)
    return {"status": "ok"}


def check_queue() -> Check:
    """Huey's storage answers (the length of the queue: one cheap read)."""
    try:
        pending = HUEY.storage.queue_size()
    except Exception as exc:  # any failure is "not ready"
        return _failed(exc)
    return {"status": "ok", "pending": int(pending)}


def check_books(now: dt.datetime | None = None) -> Check:
    """The worker's last read of the books, for every connection (ADR 0008: no call)."""
    now = now or clock.now()
    stale_after = dt.timedelta(seconds=STALE_PERIODS * settings.BRIDGE_REFRESH_SECONDS)
    try:
        states = operations.connections()
    except Exception as exc:  # the database: reported by its own check too
        return _failed(exc)
    failing = sum(1 for c in states if c.books_read_error)
    stale = sum(
        1
        for c in states
        if not c.books_read_error
        and (c.books_read_at is None or now - c.books_read_at > stale_after)
    )
    reads = [c.books_read_at for c in states if c.books_read_at is not None]
    return {
        "status": "fail" if failing or stale else "ok",
        "connections": len(states),
        "failing": failing,
        "stale": stale,
        "oldest_read_seconds": int((now - min(reads)).total_seconds()) if reads else None,
    }


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "queue": check_queue()}
    if request.GET.get("books") == "1":
        checks["books"] = check_books()
    ok = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503
    )
