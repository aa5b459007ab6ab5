"""Logs that can be followed from a web request to the books: one request id per request,
carried by every log record, returned in the response, kept on the outbox items the
request queued and sent to the books with their delivery.

- :class:`RequestIdMiddleware` (first in ``MIDDLEWARE``) takes ``X-Request-ID`` from the
  request when it is well formed (1-128 letters, digits, ``.``, ``_``, ``:``, ``-``; so
  nothing a client sends can forge a log line), else makes one, keeps it in a context
  variable for the request, and answers with it in ``X-Request-ID``. It writes one access
  line per request (method, path without its query, status, duration) to the
  ``casebridge.request`` logger, except for the probes and the scrape (``QUIET_PATHS``).
- :func:`request_id_bound` binds one elsewhere (the worker binds an outbox item's id while
  it delivers it); :func:`current_request_id` reads it ("" outside any).
- :func:`install_record_factory` (the core app's ``ready``) stamps ``record.request_id``
  on every record when it is made; :class:`RequestIdFilter` does it for a record a
  handler sees without one.
- :class:`JsonFormatter` writes one JSON object per line (``CASEBRIDGE_LOG_FORMAT=json``),
  :class:`PlainFormatter` a line for people (``plain``, the default for now).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings import this module: no Django import at load
    from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
#: Probes and scrapes, asked every few seconds: no access log line.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_access = logging.getLogger("casebridge.request")
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: ContextVar[str] = ContextVar("casebridge_request_id", default="")


def current_request_id() -> str:
    """The request id of the code running now; "" outside a request or a delivery."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def well_formed(value: str | None) -> bool:
    return bool(value) and _WELL_FORMED.fullmatch(value or "") is not None


@contextlib.contextmanager
def request_id_bound(request_id: str) -> Iterator[str]:
    """Run the block under ``request_id`` (a malformed one is replaced by a new one)."""
    value = request_id if well_formed(request_id) else new_request_id()
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


def printable(text: str) -> str:
    """``text`` on one line: control characters escaped (a path may carry %0a)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


#: A password reset link's token is a secret for an hour: never written to a log.
_SECRET_IN_PATH = re.compile(r"(/password/reset/)[^/]+")


def loggable_path(path: str) -> str:
    """``path`` as logged: one line, a reset link's token blanked."""
    return printable(_SECRET_IN_PATH.sub(r"\1[token]", path))


class RequestIdMiddleware:
    """Every request gets an id: the caller's ``X-Request-ID`` when well formed, else a
    new one. Logs carry it, the response returns it, outbox items keep it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER) or ""
        with request_id_bound(given if well_formed(given) else new_request_id()) as rid:
            request.request_id = rid  # type: ignore[attr-defined]
            started = time.monotonic()
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = rid
            if request.path not in QUIET_PATHS:
                _access.info(
                    "%s %s %s",
                    request.method,
                    loggable_path(request.path),
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": loggable_path(request.path),
                        "status": response.status_code,
                        "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    },
                )
            return response


_factory_installed = False


def install_record_factory() -> None:
    """Every LogRecord is stamped with the request id when it is made (whatever handler,
    or test's log capture, sees it later, on whatever thread). Called by the core app's
    ``ready``; once per process."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id() or "-"
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


class RequestIdFilter(logging.Filter):
    """Stamps the request id on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


def _request_id_of(record: logging.LogRecord) -> str:
    return getattr(record, "request_id", None) or current_request_id() or "-"


#: What every LogRecord has; anything else on a record was passed as ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
    | {"message", "asctime", "request_id", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    the ``extra=`` fields, and the exception's traceback as ``exc_info`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id_of(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """``time LEVEL [request id] logger message`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = _request_id_of(record)
        return super().format(record)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The ``LOGGING`` setting: every record to stderr with its request id, as JSON or
    plain lines."""
    if log_format not in ("json", "plain"):
        raise ValueError(f"CASEBRIDGE_LOG_FORMAT must be json or plain (it is {log_format!r})")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "casebridge.core.logs.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "casebridge.core.logs.JsonFormatter"},
            "plain": {"()": "casebridge.core.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # one line per HTTP request to the books is noise; the bridge logs what it delivered
        "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
    }
