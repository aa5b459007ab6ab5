"""Typed decorators over Huey's Django integration (huey ships no type hints).

``background_task`` enqueues on call and runs on the worker; ``call_local`` runs inline.
``periodic_task`` runs on the worker's schedule, once per scheduled period however many
workers run (every worker's scheduler enqueues it; a lease in the database lets the first
run it and the others skip it: casebridge.core.periodic); its ``call_local`` runs it at once,
without the lease. Both close the worker's database connection after each run (Huey's
``db_`` decorators)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from casebridge.core.periodic import once_per_period
from casebridge.core.startup import start_up_objects_frozen
from casebridge.core.statistics import statistics_refresh

P = ParamSpec("P")
R = TypeVar("R", covariant=True)


class Task(Protocol, Generic[P, R]):
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any: ...  # a huey Result

    def call_local(self, *args: P.args, **kwargs: P.kwargs) -> R: ...


def background_task(**options: Any) -> Callable[[Callable[P, R]], Task[P, R]]:
    return cast(Callable[[Callable[P, R]], Task[P, R]], db_task(**options))


def periodic_task(
    schedule: Callable[..., bool], **options: Any
) -> Callable[[Callable[P, R]], Task[P, R]]:
    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        name = f"{fn.__module__}.{fn.__qualname__}"  # two sides have a retention_purge_nightly

        @functools.wraps(fn)
        def once(*args: P.args, **kwargs: P.kwargs) -> R | None:
            return once_per_period(name, schedule, lambda: fn(*args, **kwargs), utc=HUEY.utc)

        task = db_periodic_task(schedule, **options)(once)
        task.call_local = fn  # run at once, outside the schedule: no lease
        return cast(Task[P, R], task)

    return decorate


# Each worker sets its start-up objects aside from the garbage collector once started
# (casebridge.core.startup): a delivery pass of hundreds of items no longer walks them.
HUEY.on_startup("start_up_objects_frozen")(start_up_objects_frozen)


@periodic_task(crontab(hour="3", minute="50"))
def statistics_refresh_nightly() -> None:
    statistics_refresh()
