"""The worker's side of what web requests ask of the books (ADR 0008).

A web request records what it needs (a queued run or job, a refresh asked for) and asks
the worker (:func:`casebridge.bridge.services.worker.ask`); the task engine calls
:func:`run` with it. :func:`pending` lists what is still to do, for the minute sweep
(:func:`sweep`: a lost enqueue, the periodic refresh, an interrupted run, a sign-in never
taken) and for tests, which play the worker with :func:`run_pending`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet

from casebridge.bridge.models import (
    BooksJob,
    Connection,
    ConnectionStatus,
    JobKind,
    ReconciliationRun,
    RunState,
    SyncRun,
)
from casebridge.bridge.services import balances, reconciliation, status_sync
from casebridge.bridge.services.connection import sign_in_job_run
from casebridge.bridge.services.outbox import withdraw_job_run
from casebridge.bridge.services.readiness import readiness_run
from casebridge.bridge.services.snapshot import refresh_request
from casebridge.bridge.services.worker import Work, ask
from casebridge.core import clock

log = logging.getLogger(__name__)
M = TypeVar("M", bound=models.Model)

#: Asked for this long ago and not yet taken: the enqueue was lost; the sweep asks again.
LOST_AFTER = dt.timedelta(seconds=30)
#: Taken this long ago and not finished: the worker died on it; the sweep says so.
INTERRUPTED_AFTER = dt.timedelta(minutes=15)


def refresh(*, firm_id: int) -> None:
    """Read the books again for the firm's connection: the readiness report and what the
    screens show from the books (:mod:`.snapshot`)."""
    conn = Connection.objects.filter(firm_id=firm_id).first()
    if conn is None:
        return
    if not conn.token_ciphertext or conn.status == ConnectionStatus.DEACTIVATED:
        Connection.objects.filter(pk=conn.pk).update(refresh_requested_at=None)
        return
    readiness_run(conn=conn)


def job_run(*, job_id: int) -> None:
    job = BooksJob.objects.select_related("firm", "requested_by").filter(pk=job_id).first()
    if job is None or job.state != RunState.QUEUED:
        return
    if job.kind == JobKind.SIGN_IN:
        conn = sign_in_job_run(job=job)
        if conn is not None:  # pop-up 2 offers the accounts this reads
            readiness_run(conn=conn)
    elif job.kind == JobKind.WITHDRAW:
        withdraw_job_run(job=job)
    elif job.kind == JobKind.THREE_WAY:
        reconciliation.three_way_job_run(job=job)


def firm_of(work: Work, ident: int) -> int | None:
    """The firm a piece of work is for (its time zone is the worker's while it runs)."""
    if work in ("refresh", "trust"):
        return ident
    model: type[SyncRun | ReconciliationRun | BooksJob] = (
        SyncRun if work == "sync" else ReconciliationRun if work == "reconciliation" else BooksJob
    )
    firm_id: int | None = model.objects.filter(pk=ident).values_list("firm_id", flat=True).first()
    return firm_id


def run(work: Work, ident: int) -> None:
    """Do what was asked (on the worker)."""
    if work == "refresh":
        refresh(firm_id=ident)
    elif work == "trust":
        balances.balances_refresh(firm_id=ident)
    elif work == "sync":
        status_sync.sync_run_execute(run_id=ident)
    elif work == "reconciliation":
        reconciliation.reconciliation_run_execute(run_id=ident)
    elif work == "job":
        job_run(job_id=ident)


def pending(
    *, firm_id: int | None = None, asked_before: dt.datetime | None = None
) -> list[tuple[Work, int]]:
    """What was asked of the worker and not taken yet (asked before ``asked_before``, if
    given), oldest kind first: jobs (sign-ins first), refreshes, syncs, reconciliations,
    trust reads."""

    def scoped(qs: QuerySet[M]) -> QuerySet[M]:
        return qs.filter(firm_id=firm_id) if firm_id is not None else qs

    before = asked_before or clock.now() + dt.timedelta(days=1)
    out: list[tuple[Work, int]] = []
    out += [
        ("job", pk)
        for pk in scoped(BooksJob.objects.filter(state=RunState.QUEUED, requested_at__lte=before))
        .order_by("requested_at", "pk")
        .values_list("pk", flat=True)
    ]
    conns = scoped(Connection.objects.all())
    out += [
        ("refresh", f)
        for f in conns.filter(refresh_requested_at__lte=before).values_list("firm_id", flat=True)
    ]
    out += [
        ("sync", pk)
        for pk in scoped(SyncRun.objects.filter(state=RunState.QUEUED, started_at__lte=before))
        .order_by("pk")
        .values_list("pk", flat=True)
    ]
    out += [
        ("reconciliation", pk)
        for pk in scoped(
            ReconciliationRun.objects.filter(state=RunState.QUEUED, started_at__lte=before)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    ]
    out += [
        ("trust", f)
        for f in conns.filter(trust_refresh_requested_at__lte=before).values_list(
            "firm_id", flat=True
        )
    ]
    return out


def run_pending(*, firm_id: int | None = None, rounds: int = 5) -> int:
    """Do everything asked of the worker, as it would (what one thing asks, such as the
    refresh after new defaults, is done in the next round). Returns how many were done."""
    done = 0
    for _ in range(rounds):
        todo = pending(firm_id=firm_id)
        if not todo:
            break
        for work, ident in todo:
            run(work, ident)
            done += 1
    return done


def sweep() -> None:
    """Every minute, on the worker: ask again for what a lost enqueue left waiting; fail
    runs and jobs a dead worker left running, and sign-ins never taken (erasing the
    password they carry); ask for the periodic refresh of every active connection."""
    now = clock.now()
    interrupted = now - INTERRUPTED_AFTER
    message = "Interrupted: the worker stopped while it ran this. Ask again."
    for model in (SyncRun, ReconciliationRun):
        model._default_manager.filter(state=RunState.RUNNING, started_at__lt=interrupted).update(
            state=RunState.FAILED, error=message, finished_at=now
        )
    BooksJob.objects.filter(state=RunState.RUNNING, started_at__lt=interrupted).update(
        state=RunState.FAILED,
        error_code="interrupted",
        error_message=message,
        finished_at=now,
    )
    BooksJob.objects.filter(
        kind=JobKind.SIGN_IN,
        state=RunState.QUEUED,
        requested_at__lt=now - dt.timedelta(seconds=settings.BRIDGE_SIGN_IN_EXPIRY_SECONDS),
    ).update(
        state=RunState.FAILED,
        secret_ciphertext="",
        error_code="expired",
        error_message="The worker did not get to this sign-in in time (is it running?); the "
        "password was erased. Type it again.",
        error_field="password",
        finished_at=now,
    )
    period = dt.timedelta(seconds=settings.BRIDGE_REFRESH_SECONDS)
    due = (
        Connection.objects.exclude(status=ConnectionStatus.DEACTIVATED)
        .exclude(token_ciphertext="")
        .filter(refresh_requested_at__isnull=True)
        .filter(Q(refresh_attempted_at__isnull=True) | Q(refresh_attempted_at__lt=now - period))
    )
    for conn in due:
        refresh_request(conn)
    for work, ident in pending(asked_before=now - LOST_AFTER):
        ask(work, ident)
