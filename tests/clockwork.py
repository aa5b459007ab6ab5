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

#: Seconds a test waits for another thread's condition (an event, a barrier, a thread's end)
#: before it calls the run hung. Every such wait ends as soon as its condition holds, so this
#: only bounds a broken run; it is far above anything a loaded machine needs.
PATIENCE = 120


@contextmanager
def time_stands_still() -> Iterator[dt.datetime]:
    instant = clock.now()
    original = clock.now
    clock.now = lambda: instant  # type: ignore[assignment]
    try:
        yield instant
    finally:
        clock.now = original  # type: ignore[assignment]
