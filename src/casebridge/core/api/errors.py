"""Every refusal an API gives, as ``{"error": {"code", "message", "field"?, "details"?}}``.

:func:`install_error_handlers` registers the handlers on a NinjaAPI:

- a :class:`~casebridge.core.errors.DomainError` renders its own ``http_status`` and
  ``as_dict()`` (amounts in ``details`` become decimal strings, like everywhere else in
  the API); a 429 with ``retry_after`` adds ``Retry-After``, 401s add ``WWW-Authenticate``;
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

:func:`add_unmatched_fallback` answers a path no endpoint matches with a JSON 404.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import NinjaJSONEncoder

from casebridge.core.errors import DomainError, NotFound
from casebridge.core.money import cents_to_decimal

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


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


def api_details(
    details: Mapping[str, Any], cents_keys: Iterable[str] = frozenset()
) -> dict[str, Any]:
    """A domain error's details for the API: ``available_cents: 1234`` becomes
    ``available: "12.34"``, as every amount in the API is a decimal string. ``cents_keys``
    names detail keys that hold cents without the ``_cents`` suffix (kept as named)."""
    keys = frozenset(cents_keys)
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, int) and not isinstance(value, bool):
            if key.endswith("_cents"):
                out[key.removesuffix("_cents")] = str(cents_to_decimal(value))
                continue
            if key in keys:
                out[key] = str(cents_to_decimal(value))
                continue
        out[key] = value
    return out


#: How pydantic names the branch of a union it tried: ``str-enum[ClaimType]``,
#: ``literal['']``, ``function-after[...]`` (a tag, then brackets).
_BRANCH_TAG = re.compile(r"^[a-z][a-z0-9-]*\[.*\]\Z", re.S)


def _union_branch(part: int | str) -> bool:
    """A step of an error's location that names a branch of a union pydantic tried
    (``str-enum[ClaimType]``, ``literal['']``), not a field the client sent: a key the
    client sent (``claim-type``, ``2nd line``) is kept, so an unknown one is named."""
    return isinstance(part, str) and _BRANCH_TAG.match(part) is not None


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "payload", "lines", 0, "amount")`` -> ``"lines[0].amount"``.

    The first element is where the value came from (body, query, path, header); a body's
    second is the name of the view's parameter, which the client never sees. The branches
    of a union (``claim_type: ClaimType | Literal[""]``) are not part of the field's name."""
    parts = [part for part in loc[1:] if not _union_branch(part)]
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


#: Errors of a value outside a list of choices; their ``ctx["expected"]`` lists them.
CHOICE_ERRORS = frozenset({"enum", "literal_error"})


def _choices(expected: str) -> list[str]:
    """``"'a', 'b' or 'c'"`` (pydantic's list of allowed values) -> ``["'a'", "'b'", "'c'"]``."""
    head, _, last = expected.rpartition(" or ")
    return [*(c.strip() for c in head.split(", ") if c.strip()), last.strip()]


def _problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One problem per field: the branches of a union that all refused a value outside
    their choices (an enum or the empty string) become one list of the values allowed."""
    problems: list[dict[str, str]] = []
    choices: dict[str, list[str]] = {}
    for err in errors:
        field = field_path(err.get("loc", ()))
        kind = str(err.get("type", ""))
        expected = (err.get("ctx") or {}).get("expected")
        if kind in CHOICE_ERRORS and isinstance(expected, str):
            if field in choices:
                choices[field] += [c for c in _choices(expected) if c not in choices[field]]
                allowed = choices[field]
                listed = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
                for problem in problems:
                    if problem["field"] == field:
                        problem.update(message=f"Input should be {listed}", type="enum")
                continue
            choices[field] = _choices(expected)
        problems.append(
            {"field": field, "message": str(err.get("msg", "is invalid")), "type": kind}
        )
    return problems


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = _problems(exc.errors)
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


Handler = Callable[[HttpRequest, Any], HttpResponse]


def install_error_handlers(
    api: NinjaAPI, *, logger_name: str, cents_detail_keys: Iterable[str] = frozenset()
) -> None:
    """Register the handlers on ``api`` (the most specific class wins, by the exception's
    MRO). Failures are logged to ``logger_name``; ``cents_detail_keys`` are passed to
    :func:`api_details`."""
    log = logging.getLogger(logger_name)
    cents_keys = frozenset(cents_detail_keys)

    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        exc.record_outliving()  # the view's transaction is over by now
        headers: dict[str, str] = {}
        if exc.http_status == 429 and "retry_after" in exc.details:
            headers["Retry-After"] = str(int(exc.details["retry_after"]))
        if exc.http_status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
        body = exc.as_dict()
        if exc.details:
            body["details"] = api_details(exc.details, cents_keys)
        return json_response(exc.http_status, {"error": body}, headers)

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
        return error_response(
            500, "internal_error", "an unexpected error occurred; it has been logged"
        )

    handlers: list[tuple[type[Exception], Handler]] = [
        (DomainError, on_domain_error),
        (ValidationError, on_validation_error),
        (AuthenticationError, on_authentication_error),
        (HttpError, on_http_error),
        (RequestDataTooBig, on_too_big),
        (Http404, on_not_found),
        (IntegrityError, on_integrity_error),
        (OperationalError, on_operational_error),
        (Exception, on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.exception_handler(exc_class)(handler)


def add_unmatched_fallback(api: NinjaAPI, api_name: str) -> None:
    """Mount, last, a catch-all that only sees what no endpoint matched: a JSON 404
    ``no endpoint GET /x in <api_name>`` instead of Django's HTML page."""
    unmatched = Router()

    @unmatched.api_operation(
        ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/{path:rest}",
        auth=None,
        include_in_schema=False,
    )
    def no_such_endpoint(request: HttpRequest, rest: str) -> None:
        raise NotFound(f"no endpoint {request.method} /{rest} in {api_name}")

    api.add_router("", unmatched)
