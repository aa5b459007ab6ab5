"""Time under the test's control.

``casebridge.core.clock`` is the one place that reads the time, so a test can stop it: inside
:func:`time_stands_still` every ``clock.now()`` (the bridge's backoff, leases and claims, the
books' token checks, in the test's thread and the live server's alike) answers the same
instant. What backs off, or holds a lease, keeps doing so however slow the machine is; time
passes only when the test says so (a database update of the due time, as the fault tests'
``_time_passes`` do)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from casebridge.core import clock


@contextmanager
def time_stands_still() -> Iterator[dt.datetime]:
    instant = clock.now()
    original = clock.now
    clock.now = lambda: instant  # type: ignore[assignment]
    try:
        yield instant
    finally:
        clock.now = original  # type: ignore[assignment]
