"""What a web request asks of the worker, and how the worker takes it (ADR 0008).

A web request never calls the books. What needs them is recorded (a queued
:class:`~casebridge.bridge.models.SyncRun`, :class:`~casebridge.bridge.models.ReconciliationRun`
or :class:`~casebridge.bridge.models.BooksJob`, or a refresh asked for on the
:class:`~casebridge.bridge.models.Connection`) and the worker is asked, once the
transaction commits, to do it. :mod:`casebridge.bridge.tasks` plugs the task engine in
(:func:`set_enqueuer`); the minute sweep takes up whatever a lost enqueue left behind.

The worker takes a queued run or job with a guarded UPDATE (:func:`take`), so that a
second worker (the sweep's, a retried task's) never runs it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from django.db import models, transaction

from casebridge.bridge.models import RunState

#: What the worker can be asked to do, each with the id it works on.
Work = Literal["refresh", "trust", "sync", "reconciliation", "job"]

_enqueue: Callable[[Work, int], None] | None = None


def set_enqueuer(enqueue: Callable[[Work, int], None] | None) -> Callable[[Work, int], None] | None:
    """Plug in the task engine; returns the previous enqueuer (to put it back)."""
    global _enqueue
    previous, _enqueue = _enqueue, enqueue
    return previous


def ask(work: Work, ident: int) -> None:
    """Ask the worker for ``work`` on ``ident`` (a firm id for refreshes, else the run's
    or job's id) once the current transaction commits."""
    enqueue = _enqueue
    if enqueue is not None:
        transaction.on_commit(lambda: enqueue(work, ident))


def take(model: type[models.Model], pk: int, **also: object) -> bool:
    """Take a queued run or job for this worker: True for exactly one caller."""
    return (
        model._default_manager.filter(pk=pk, state=RunState.QUEUED).update(
            state=RunState.RUNNING, **also
        )
        == 1
    )
