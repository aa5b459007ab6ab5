"""Typed decorators over Huey's Django integration (huey ships no type hints).

``background_task`` enqueues on call and runs on the worker; ``call_local`` runs inline.
``periodic_task`` runs on the worker's schedule. Both close the worker's database
connection after each run (Huey's ``db_`` decorators)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast

from huey.contrib.djhuey import db_periodic_task, db_task

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
    return cast(Callable[[Callable[P, R]], Task[P, R]], db_periodic_task(schedule, **options))
