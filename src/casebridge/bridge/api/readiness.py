"""The readiness check, as the worker last ran it against the books, and asking it to run
again (202: poll)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from casebridge.bridge.api.idempotency import idempotent
from casebridge.bridge.models import Connection
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import readiness, snapshot
from casebridge.cases.api.security import context
from casebridge.cases.permissions import require_settings_access
from casebridge.core import clock
from casebridge.core.api.schemas import ERRORS, Out

router = Router(tags=["books integration"])


class CheckOut(Out):
    key: str
    label: str
    ok: bool
    warning: bool
    detail: str
    fix: str
    needed_for: list[str]


class ReadinessOut(Out):
    ok: bool
    live: bool = Field(
        description="False: the worker's last attempt could not read the books (error says "
        "why); these are the results of the last read that could."
    )
    error: str
    checked_at: dt.datetime | None = Field(
        description="When the worker read the books for these results (null: never yet)."
    )
    age_seconds: int | None = Field(description="How long ago that was.")
    refreshing: bool = Field(
        description="The worker is asked to read the books again: poll GET /readiness."
    )
    checks: list[CheckOut]


def _readiness_out(report: readiness.Readiness) -> ReadinessOut:
    age = (
        max(0, int((clock.now() - report.checked_at).total_seconds()))
        if report.checked_at
        else None
    )
    return ReadinessOut(
        ok=report.ok,
        live=report.live,
        error=report.error,
        checked_at=report.checked_at,
        age_seconds=age,
        refreshing=report.refreshing,
        checks=[
            CheckOut(
                key=c.key,
                label=c.label,
                ok=c.ok,
                warning=c.warning,
                detail=c.detail,
                fix=c.fix,
                needed_for=list(c.needed_for),
            )
            for c in report.checks
        ],
    )


def _signed_in(request: HttpRequest) -> Connection:
    ctx = context(request)
    require_settings_access(ctx.user)
    conn = conn_services.connection_of(ctx.firm)
    if conn is None or not conn.token_ciphertext:
        conn_services.require_connection(ctx.firm)  # raises: not connected
    assert conn is not None
    return conn


@router.get(
    "/readiness", response={200: ReadinessOut, **ERRORS}, summary="The last readiness report"
)
def readiness_get(request: HttpRequest) -> ReadinessOut:
    """Every prerequisite of the seed, as the worker last checked it against the books
    (every few minutes, and when asked: ``POST /readiness/refresh``), with ``checked_at``
    and its age. A request never asks the books itself."""
    conn = _signed_in(request)
    if snapshot.stale(conn):
        snapshot.refresh_request(conn)
    return _readiness_out(readiness.readiness_last(conn))


@router.post(
    "/readiness/refresh",
    response={202: ReadinessOut, **ERRORS},
    summary="Run the readiness check again",
)
@idempotent
def readiness_refresh(request: HttpRequest) -> Status[ReadinessOut]:
    """Asks the worker to run every check against the books now; answers 202 at once with
    the last report (``refreshing`` true): poll ``GET /readiness`` until it is false."""
    conn = _signed_in(request)
    snapshot.refresh_request(conn, force=True)
    return Status(202, _readiness_out(readiness.readiness_last(conn)))
