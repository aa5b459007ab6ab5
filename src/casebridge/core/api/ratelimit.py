"""Per-client rate limits on every API (issue 13): the books', the cases side's and the
bridge's, each counted apart.

:func:`install` gives a NinjaAPI a throttle and a view decorator:

- the throttle runs after authentication, before the endpoint: it counts the request
  against its client, a token (``client_of`` names it and its limit: the token's own
  ``rate_limit_per_minute`` or the API's default for its user) or, when the endpoint needs
  no token, the client address (``settings.API_RATE_LIMIT_ANONYMOUS``);
- over the limit the answer is 429 ``rate_limited`` (the error shape of
  :mod:`casebridge.core.api.errors`) with ``Retry-After``, and the endpoint does not run;
- every counted response carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
  ``RateLimit-Reset`` (draft-ietf-httpapi-ratelimit-headers up to -06: plain integers,
  ``Reset`` in seconds until the window ends). The newer drafts' structured
  ``RateLimit`` / ``RateLimit-Policy`` pair has changed syntax from draft to draft and few
  clients parse it yet; three integers are what clients and proxies read today.

The count is a fixed 60-second window (aligned to the clock) per client in Django's cache,
which every web process shares (the database by default, Redis when configured): one
cache entry per client and minute, ``incr`` on each request. On Redis the increment is
atomic; on the database cache two processes racing may count one request once, so the
limit is a ceiling give or take a request or two, never a request refused early. A request
whose authentication fails (401) never reaches the throttle and is not counted.

The decorator also remembers which operation a request is for (:func:`route_of`), which
an authentication callback may need (the books' integration allow-list).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import Throttled
from ninja.throttling import BaseThrottle

from casebridge.core import clock
from casebridge.core.api.errors import error_response
from casebridge.core.api.security import client_ip
from casebridge.core.throttle import address_key

#: Seconds in a window; the limits are per minute.
WINDOW = 60
LIMIT_HEADER = "RateLimit-Limit"
REMAINING_HEADER = "RateLimit-Remaining"
RESET_HEADER = "RateLimit-Reset"

_USAGE = "_casebridge_rate_usage"
_ROUTE = "_casebridge_route"


@dataclass(frozen=True)
class Client:
    """Who a request is counted against: ``key`` is unique within the API (``token-12``),
    ``limit`` its requests a minute, ``kind`` what the refusal calls it."""

    key: str
    limit: int
    kind: str = "token"


@dataclass(frozen=True)
class Usage:
    client: Client
    count: int
    reset: int  # whole seconds until the window ends, at least 1

    @property
    def allowed(self) -> bool:
        return self.count <= self.client.limit

    @property
    def remaining(self) -> int:
        return max(0, self.client.limit - self.count)

    def headers(self) -> dict[str, str]:
        return {
            LIMIT_HEADER: str(self.client.limit),
            REMAINING_HEADER: str(self.remaining),
            RESET_HEADER: str(self.reset),
        }


ClientOf = Callable[[HttpRequest], Client | None]


def anonymous_client(request: HttpRequest) -> Client:
    """The client address (the peer's, or as far as ``CASEBRIDGE_TRUSTED_PROXIES`` lets
    ``X-Forwarded-For`` be believed); an IPv6 address counted by its /64, as the sign-in
    throttle does, so a client cannot rotate addresses inside its network."""
    return Client(
        key=f"address-{address_key(client_ip(request)) or 'unknown'}",
        limit=settings.API_RATE_LIMIT_ANONYMOUS,
        kind="address",
    )


def hit(scope: str, client: Client) -> Usage:
    """Count one request of ``client`` on API ``scope`` in the current window."""
    now = clock.now().timestamp()
    start = int(now // WINDOW) * WINDOW
    key = f"ratelimit:{scope}:{client.key}:{start}"
    try:
        count = cache.incr(key)
    except ValueError:  # the client's first request of this window
        count = 1 if cache.add(key, 1, timeout=WINDOW + 5) else cache.incr(key)
    reset = max(1, math.ceil(start + WINDOW - now))
    return Usage(client=client, count=count, reset=reset)


def usage_of(request: HttpRequest) -> Usage | None:
    usage: Usage | None = getattr(request, _USAGE, None)
    return usage


def route_of(request: HttpRequest) -> str | None:
    """``POST /checks/{int:check_id}/void``: the method and the route template of the
    operation this request reached (as in the code and the OpenAPI schema)."""
    route: str | None = getattr(request, _ROUTE, None)
    return route


class _RateLimit(BaseThrottle):
    def __init__(self, scope: str, client_of: ClientOf) -> None:
        self.scope = scope
        self.client_of = client_of

    def allow_request(self, request: HttpRequest) -> bool:
        client = self.client_of(request) or anonymous_client(request)
        usage = hit(self.scope, client)
        setattr(request, _USAGE, usage)
        return usage.allowed

    def wait(self) -> float | None:
        return None  # Retry-After is set by the 429's handler, from the request's usage


def _on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    usage = usage_of(request)
    if usage is None:  # not ours: ninja's own throttles are not used
        return error_response(429, "rate_limited", "too many requests; retry shortly")
    who = "this token" if usage.client.kind == "token" else "this address"
    return error_response(
        429,
        "rate_limited",
        f"too many requests: {who} may make {usage.client.limit} a minute; retry in "
        f"{usage.reset} seconds",
        details={"limit": usage.client.limit, "retry_after": usage.reset},
        headers={"Retry-After": str(usage.reset), **usage.headers()},
    )


def _counted(run: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an operation's ``run`` (authentication, throttle, endpoint): remember the
    route for the authentication callbacks, and put the rate limit headers on whatever
    the operation answers once counted (a success, a refusal or the 429)."""
    operation = getattr(run, "__self__", None)
    path = getattr(operation, "path", None)

    @functools.wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if path is not None:
            setattr(request, _ROUTE, f"{request.method} {path}")
        response = run(request, *args, **kwargs)
        usage = usage_of(request)
        if usage is not None:
            for name, value in usage.headers().items():
                response[name] = value
        return response

    return wrapped


def install(api: NinjaAPI, *, scope: str, client_of: ClientOf) -> None:
    """Rate-limit every operation of ``api`` (call before its URLs are built). ``scope``
    keeps the API's counts apart from the others'; ``client_of`` names the token of an
    authenticated request and its limit, or None for the client address."""
    api.throttle = [_RateLimit(scope, client_of)]
    api.add_decorator(_counted, mode="view")
    api.exception_handler(Throttled)(_on_throttled)
