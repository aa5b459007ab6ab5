"""What the worker last read from the books, for the screens (ADR 0008).

A web request never calls the books. The worker's readiness refresh
(:func:`casebridge.bridge.services.readiness.readiness_run`) reads their bank accounts and
users along with the readiness checks and keeps them on the connection as plain data, with
the time of the read (``readiness_checked_at``); the activity codes it reads are kept
beside them (``Connection.activity_codes``, :func:`mappings.known_activity_codes`). Pop-up
2 and the Send pop-ups offer the bank accounts from it, a fee invoice asks it whether the
attorney records time.

The worker refreshes every connection every ``BRIDGE_REFRESH_SECONDS``; a user, a
change of the defaults or a read found missing or stale asks for a refresh sooner
(:func:`refresh_request`). ``None`` from a reader means "never read yet".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from casebridge.bridge.client import BooksBankAccount, BooksClient, BooksUser
from casebridge.bridge.models import Connection
from casebridge.bridge.services.worker import ask
from casebridge.core import clock

T = TypeVar("T")


def snapshot_take(client: BooksClient) -> dict[str, Any]:
    """On the worker: what the screens need from the books, as plain data."""
    return {
        "bank_accounts": [dataclasses.asdict(b) for b in client.bank_accounts()],
        "users": [dataclasses.asdict(u) for u in client.users()],
    }


def _rows(conn: Connection, key: str, cls: type[T]) -> list[T] | None:
    rows = (conn.books_snapshot or {}).get(key)
    if rows is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    out = []
    for row in rows:
        try:
            out.append(cls(**{k: v for k, v in row.items() if k in names}))
        except TypeError:  # read by an older version without a field: read again
            return None
    return out


def bank_accounts(conn: Connection) -> list[BooksBankAccount] | None:
    return _rows(conn, "bank_accounts", BooksBankAccount)


def users(conn: Connection) -> list[BooksUser] | None:
    return _rows(conn, "users", BooksUser)


def stale(conn: Connection) -> bool:
    """Never read, or read longer ago than the worker's refresh period."""
    read = conn.readiness_checked_at
    return read is None or clock.now() - read > dt.timedelta(
        seconds=settings.BRIDGE_REFRESH_SECONDS
    )


def refresh_request(conn: Connection, *, force: bool = False) -> None:
    """Ask the worker to read the books again. A refresh already asked for stands (the
    minute sweep takes it up should its task be lost); ``force`` (a user's "Run checks
    now") asks the worker again all the same."""
    now = clock.now()
    asked = Connection.objects.filter(pk=conn.pk, refresh_requested_at__isnull=True).update(
        refresh_requested_at=now
    )
    conn.refresh_requested_at = conn.refresh_requested_at or now
    if asked or force:
        ask("refresh", conn.firm_id)


def age_label(moment: dt.datetime | None) -> str:
    """How long ago, in words a person reads at a glance."""
    if moment is None:
        return "never"
    seconds = max(0, int((clock.now() - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    if seconds < 86400:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    return f"on {timezone.localtime(moment):%Y-%m-%d %H:%M}"
