"""A small real HTTP proxy in front of the books, with faults programmed per request.

The bridge talks to :class:`FaultProxy` over real HTTP exactly as it talks to the books;
the proxy forwards each request to the books' live server with ``httpx`` unless a rule
says otherwise. A rule matches a method and a path suffix (``"POST", "/checks/batch"``)
and fires on the ``nth`` matching request (or on every one), at most ``times`` times:

- :attr:`Fault.ERROR_500`: answer 500 in the books' error shape without forwarding
  (the books saw nothing);
- :attr:`Fault.LOSE_RESPONSE`: forward (the books commit), then close the socket without
  answering;
- :attr:`Fault.BAD_GATEWAY_AFTER`: forward (the books commit), then answer 502;
- :attr:`Fault.SLOW_RESPONSE`: forward (the books commit), then hold the answer for
  ``delay`` seconds (beyond the client's timeout);
- :attr:`Fault.CALL_BEFORE`: run ``callback()`` in the proxy's thread, then forward.

:meth:`FaultProxy.down` closes the listening socket (connections are refused: "the books
are down"); :meth:`FaultProxy.up` listens again on the same port. :meth:`settle` waits
until no request is being forwarded, so a test never races a commit it provoked.
"""

from __future__ import annotations

import contextlib
import enum
import http.server
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from django.db import connections

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "content-length",
        "content-encoding",
        "host",
        "accept-encoding",
        "date",
        "server",
    }
)


class Fault(enum.Enum):
    ERROR_500 = "error_500"
    LOSE_RESPONSE = "lose_response"
    BAD_GATEWAY_AFTER = "bad_gateway_after"
    SLOW_RESPONSE = "slow_response"
    CALL_BEFORE = "call_before"


@dataclass
class Rule:
    method: str
    path: str
    fault: Fault
    nth: int | None = None  # 1-based among matching requests; None: every matching request
    times: int | None = None  # how often it may fire; None: no limit
    delay: float = 0.0
    callback: Callable[[], None] | None = None
    message: str = "The books hit an unexpected error."
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and path.split("?", 1)[0].rstrip("/").endswith(self.path)

    def fires(self) -> bool:
        """Count one matching request; True when the rule applies to it."""
        self.seen += 1
        if self.nth is not None and self.seen != self.nth:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class Seen:
    """One request the proxy received, and what became of it."""

    method: str
    path: str
    fault: Fault | None
    forwarded: bool
    status: int | None  # what the books answered (None: not forwarded or failed)


@dataclass
class _State:
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet

    def _any(self) -> None:
        self.server.proxy._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any


class FaultProxy:
    """``url`` is the proxy's address (no path); the books are at ``url + /books/api/v1``."""

    def __init__(self, upstream: str, *, forward_timeout: float = 30.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.forward_timeout = forward_timeout
        self._lock = threading.Condition()
        self._state = _State()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def books_url(self) -> str:
        return f"{self.url}/books/api/v1"

    def start(self) -> FaultProxy:
        self._stopping.clear()
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.proxy = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed answers
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def down(self) -> None:
        """Stop listening: every connection is refused until :meth:`up`."""
        self.stop()

    def up(self) -> None:
        """Listen again, on the same port."""
        self.start()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- programming -------------------------------------------------------------------------

    def add(self, method: str, path: str, fault: Fault, **kwargs: object) -> Rule:
        rule = Rule(method, path, fault, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self._state.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._state.rules.clear()

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._state.seen)

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path.endswith(path))

    def settle(self) -> None:
        """Wait until no request is being forwarded to the books. A forward ends within
        ``forward_timeout`` whatever the machine's pace, so past that (and a margin) the
        proxy is stuck, and the test fails rather than hangs."""
        with self._lock:
            if not self._lock.wait_for(
                lambda: self._state.in_flight == 0, self.forward_timeout + 30
            ):
                raise TimeoutError("the proxy is still forwarding")

    # -- the work ----------------------------------------------------------------------------

    def _rule_for(self, method: str, path: str) -> Rule | None:
        with self._lock:
            chosen = None
            for rule in self._state.rules:
                if rule.matches(method, path) and rule.fires() and chosen is None:
                    chosen = rule
            return chosen

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._state.seen.append(seen)

    def _handle(self, h: _Handler) -> None:
        method, path = h.command, h.path
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        rule = self._rule_for(method, path)
        fault = rule.fault if rule else None
        if rule is not None and fault is Fault.ERROR_500:
            self._record(Seen(method, path, fault, False, None))
            payload = {"error": {"code": "internal_error", "message": rule.message}}
            self._answer(h, 500, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            return
        with self._lock:
            self._state.in_flight += 1
        try:
            if rule is not None and fault is Fault.CALL_BEFORE and rule.callback is not None:
                try:
                    rule.callback()
                finally:
                    connections.close_all()  # this thread's database connection, if any
            status, headers, content = self._forward(method, path, h, body)
        finally:
            with self._lock:
                self._state.in_flight -= 1
                self._lock.notify_all()
        self._record(Seen(method, path, fault, True, status))
        if fault is Fault.LOSE_RESPONSE:
            self._drop(h)
            return
        if fault is Fault.BAD_GATEWAY_AFTER:
            payload = {"error": {"code": "bad_gateway", "message": "upstream answer lost"}}
            self._answer(h, 502, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            return
        if fault is Fault.SLOW_RESPONSE and rule is not None and self._stopping.wait(rule.delay):
            self._drop(h)  # the proxy is stopping: give up the delayed answer
            return
        if status is None:
            self._answer(h, 502, {"Content-Type": "application/json"}, b"{}")
            return
        self._answer(h, status, headers, content)

    def _forward(
        self, method: str, path: str, h: _Handler, body: bytes
    ) -> tuple[int | None, dict[str, str], bytes]:
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            response = httpx.request(
                method,
                self.upstream + path,
                headers=headers,
                content=body,
                timeout=self.forward_timeout,
            )
        except httpx.HTTPError:
            return None, {}, b""
        out = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        return response.status_code, out, response.content

    @staticmethod
    def _answer(h: _Handler, status: int, headers: dict[str, str], content: bytes) -> None:
        try:
            h.send_response(status)
            for name, value in headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(content)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(content)
            h.wfile.flush()
        except OSError:
            pass  # the client gave up (its timeout): nobody is listening

    @staticmethod
    def _drop(h: _Handler) -> None:
        """Close the connection without a word."""
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)
