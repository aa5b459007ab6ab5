"""Sessions that end: after ``SESSION_IDLE_SECONDS`` without a request, and
``SESSION_COOKIE_AGE`` after they began however busy.

The books and the cases side share one Django session (signing out of either flushes it),
so the timeouts are the session's: a request to either side keeps both signed in, and a
session that has timed out is flushed, signing both out. Django's own settings give only
one of the two: ``SESSION_COOKIE_AGE`` alone is absolute but has no idle limit, and with
``SESSION_SAVE_EVERY_REQUEST`` it slides with every request and so becomes the idle limit
with no absolute end (and writes the session on every request). Here the session carries
when it began and when it was last used; the last-use stamp is written at most once a
minute, so a busy page does not write its session on every request.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from casebridge.core import clock

STARTED = "_casebridge_session_started"
LAST_SEEN = "_casebridge_session_seen"
#: The last-use stamp is rewritten at most this often (the idle limit is that much coarse).
STAMP_EVERY_SECONDS = 60


class SessionTimeouts:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        now = int(clock.now().timestamp())
        started, seen = session.get(STARTED), session.get(LAST_SEEN)
        if (
            isinstance(started, int)
            and isinstance(seen, int)
            and (
                now - seen > settings.SESSION_IDLE_SECONDS
                or now - started > settings.SESSION_COOKIE_AGE
            )
        ):
            session.flush()  # signed out of both sides; the view sees a new, empty session
        response = self.get_response(request)
        if set(session.keys()) - {STARTED, LAST_SEEN}:  # something is kept: someone signed in
            if not isinstance(session.get(STARTED), int):
                session[STARTED] = now
            last = session.get(LAST_SEEN)
            if not isinstance(last, int) or now - last >= STAMP_EVERY_SECONDS:
                session[LAST_SEEN] = now
        return response
