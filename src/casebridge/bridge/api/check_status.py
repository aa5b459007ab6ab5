"""The check-status sync: queue one for the worker (202) and poll its run."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from casebridge.bridge.api.idempotency import idempotent
from casebridge.bridge.models import RunState, SyncRun
from casebridge.bridge.services import status_sync
from casebridge.cases.api.security import context
from casebridge.cases.models import Permission
from casebridge.cases.permissions import require
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import ERRORS, Id, In, Out

router = Router(tags=["books integration"])


class SyncIn(In):
    cost_ids: list[Id] | None = Field(
        None, max_length=20_000, description="Default: every sent cost."
    )


class SyncRunOut(Out):
    id: int
    state: RunState = Field(
        description="queued or running: the worker is on it (poll GET "
        "/check-status/sync/{id}); done; failed (error says why)."
    )
    checked: int
    paid: int
    voided: int
    problems: int
    error: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


def _sync_run_out(run: SyncRun) -> SyncRunOut:
    return SyncRunOut(
        id=run.pk,
        state=RunState(run.state),
        checked=run.checked,
        paid=run.paid,
        voided=run.voided,
        problems=run.problems,
        error=run.error,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


@router.post(
    "/check-status/sync", response={202: SyncRunOut, **ERRORS}, summary="Sync check status"
)
@idempotent
def check_status(request: HttpRequest, payload: SyncIn) -> Status[SyncRunOut]:
    """Queues a check-status sync (of ``cost_ids``, else of every sent cost and the
    settlement money) for the worker; 202 with the run, queued: poll
    ``GET /check-status/sync/{id}``."""
    ctx = context(request)
    require(ctx.user, Permission.COSTS_MANAGEMENT)
    run = status_sync.sync_request(firm=ctx.firm, actor=ctx.user, cost_ids=payload.cost_ids)
    run.refresh_from_db()
    return Status(202, _sync_run_out(run))


@router.get(
    "/check-status/sync/{int:run_id}",
    response={200: SyncRunOut, **ERRORS},
    summary="A check-status sync",
)
def check_status_run(request: HttpRequest, run_id: Id) -> SyncRunOut:
    """A sync run of this firm, how it stands and what it changed; 404 for any other id."""
    ctx = context(request)
    require(ctx.user, Permission.COSTS_MANAGEMENT)
    return _sync_run_out(get_or_404(SyncRun.objects.filter(firm=ctx.firm), run_id, field="run_id"))
