"""A time zone per firm: what "today" is and when the nightly jobs run, firm by firm.

A firm's ``time_zone`` (an IANA name such as ``America/New_York``) is activated for each
request its user makes, on the screens (the side's session) and in the APIs (the token's
firm), and by the worker around each firm's work; :func:`casebridge.core.clock.today`
then answers in that zone. Unset, the server's ``CASEBRIDGE_TIME_ZONE`` stands for it.
:class:`TimeZoneReset` (first in the middleware) puts the server's zone back after every
request so one firm's zone never leaks into the next request a thread serves.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from casebridge.core.errors import ValidationFailed


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (for the settings screens)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def clean_zone(name: str, *, field: str = "time_zone") -> str:
    """An IANA zone name as stored, or a refusal naming the field and an example."""
    name = (name or "").strip()
    if name not in zone_names():
        raise ValidationFailed(
            f"{name!r} is not a time zone name; use an IANA name such as America/New_York "
            "or America/Los_Angeles",
            field=field,
        )
    return name


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """A firm's zone; the server's when the firm has none (or an unknown one)."""
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def activate(name: str | None) -> None:
    timezone.activate(zone(name))


@contextmanager
def firm_zone(name: str | None) -> Iterator[None]:
    """Run a firm's work (the worker's) in its zone, putting back the zone that was."""
    previous = timezone.get_current_timezone()
    timezone.activate(zone(name))
    try:
        yield
    finally:
        timezone.activate(previous)


def local_now(name: str | None, now: dt.datetime) -> dt.datetime:
    """``now`` on the firm's wall clock."""
    return now.astimezone(zone(name))


class TimeZoneReset:
    """Puts the server's zone back after each request (first in MIDDLEWARE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
