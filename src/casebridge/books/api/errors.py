"""Every refusal the API gives, as ``{"error": {"code", "message", "field"?, "details"?}}``.

:func:`install` registers the handlers on the NinjaAPI:

- a :class:`~casebridge.core.errors.DomainError` renders its own ``http_status`` and
  ``as_dict()`` (amounts in ``details`` become decimal strings, like everywhere else in
  the API); ``too_many_attempts`` adds ``Retry-After``, 401s add ``WWW-Authenticate``;
- request validation (ninja's ``ValidationError``) is 422 ``validation_error`` with a
  message naming each field (``lines[0].amount``) and the list in ``details.errors``;
- a body that is not JSON is 400 ``malformed_json``; one over Django's upload limit 413;
- a missing or non-Bearer ``Authorization`` header is 401 ``not_authenticated``;
- ``Http404`` is 404 ``not_found``;
- an ``IntegrityError`` (two requests racing for the same unique row) is 409 ``conflict``
  and an ``OperationalError`` (database busy or unreachable) 503: the transaction was
  rolled back, so the client can retry;
- anything else is a bug: logged with its traceback and answered 500 ``internal_error``.
  The tests make sure no input reaches it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import NinjaJSONEncoder

from casebridge.books.errors import TooManyAttempts
from casebridge.core.errors import DomainError
from casebridge.core.money import cents_to_decimal

log = logging.getLogger("casebridge.books.api")

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

#: Detail keys that hold cents without saying so.
_CENTS_DETAILS = frozenset({"debits", "credits"})


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder), status=status, content_type=JSON_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = dict(details)
    return json_response(status, {"error": body}, headers)


def api_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """A domain error's details for the API: ``available_cents: 1234`` becomes
    ``available: "12.34"``, as every amount in the API is a decimal string."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, int) and not isinstance(value, bool):
            if key.endswith("_cents"):
                out[key.removesuffix("_cents")] = str(cents_to_decimal(value))
                continue
            if key in _CENTS_DETAILS:
                out[key] = str(cents_to_decimal(value))
                continue
        out[key] = value
    return out


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "payload", "lines", 0, "amount")`` -> ``"lines[0].amount"``.

    The first element is where the value came from (body, query, path, header); a body's
    second is the name of the view's parameter, which the client never sees."""
    parts = list(loc[1:])
    if loc and loc[0] == "body":
        parts = parts[1:]
    if not parts:
        return str(loc[0]) if loc else "body"
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def at_index(exc: DomainError, collection: str, index: int) -> DomainError:
    """The same refusal, located at ``collection[index]`` of the request."""
    where = f"{collection}[{index}]"
    field = f"{where}.{exc.field}" if exc.field else where
    located = type(exc)(f"{where}: {exc.message}", field=field, **exc.details)
    located.details.setdefault("index", index)
    return located


def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyAttempts) and "retry_after" in exc.details:
        headers["Retry-After"] = str(int(exc.details["retry_after"]))
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    body = exc.as_dict()
    if exc.details:
        body["details"] = api_details(exc.details)
    return json_response(exc.http_status, {"error": body}, headers)


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [
        {
            "field": field_path(err.get("loc", ())),
            "message": str(err.get("msg", "is invalid")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors
    ]
    message = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
    return error_response(
        422,
        "validation_error",
        message,
        field=problems[0]["field"] if problems else None,
        details={"errors": problems},
    )


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        401,
        "not_authenticated",
        "send the header 'Authorization: Bearer <token>'; POST /auth/session issues a token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # ninja raises this only when the body is not JSON
        return error_response(
            400, "malformed_json", "the request body is not valid JSON", field="body"
        )
    code = {404: "not_found", 405: "method_not_allowed", 429: "throttled"}.get(
        exc.status_code, "http_error"
    )
    return error_response(exc.status_code, code, str(exc))


def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(
        413,
        "payload_too_large",
        "the request body is larger than the server accepts; send smaller batches",
        field="body",
    )


def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", str(exc) or "not found")


def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    log.warning("integrity error on %s %s: %s", request.method, request.path, exc)
    return error_response(
        409,
        "conflict",
        "the request conflicted with a concurrent change and was not applied; retry it",
    )


def on_operational_error(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    log.exception("database unavailable on %s %s", request.method, request.path)
    return error_response(
        503,
        "database_unavailable",
        "the database is busy or unreachable; nothing was applied, retry shortly",
        headers={"Retry-After": "1"},
    )


def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def install(api: NinjaAPI) -> None:
    """Register the handlers (the most specific class wins, by the exception's MRO)."""
    api.exception_handler(DomainError)(on_domain_error)
    api.exception_handler(ValidationError)(on_validation_error)
    api.exception_handler(AuthenticationError)(on_authentication_error)
    api.exception_handler(HttpError)(on_http_error)
    api.exception_handler(RequestDataTooBig)(on_too_big)
    api.exception_handler(Http404)(on_not_found)
    api.exception_handler(IntegrityError)(on_integrity_error)
    api.exception_handler(OperationalError)(on_operational_error)
    api.exception_handler(Exception)(on_unexpected)
