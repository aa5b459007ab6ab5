"""``Idempotency-Key`` for every creating (POST) endpoint, implemented once for every API.

An API binds the decorator to its own record model and firm with :func:`make_idempotent`::

    idempotent = make_idempotent(record_model=IdempotencyRecord, firm_of=lambda r: ...)

and puts ``@idempotent`` directly below ``@router.post(...)``. The view then runs in one
database transaction, and when the request carries an ``Idempotency-Key`` header:

1. the key is looked up for (firm, scope); ``scope`` is the method and route template,
   e.g. ``POST /checks/{int:check_id}/void``;
2. if found with the same request hash, the stored status and JSON body are replayed
   (with ``Idempotent-Replayed: true``) and nothing is written; with another hash the
   request is refused 409 ``idempotency_key_reused``;
3. otherwise a placeholder record is inserted *first*, then the view runs, then the record
   is completed with the response, all in the same transaction as the view's effects. Two
   identical requests racing: the second one's insert waits on the unique
   (firm, scope, key) index until the first commits, fails, and the loser re-reads and
   replays, so the effects happen once.

The record model needs the fields ``firm``, ``scope``, ``key``, ``request_hash``,
``status_code``, ``response_body`` (JSON) and ``created_at``, unique on
(firm, scope, key) (ADR 0004).

Choices, on purpose:

- The request hash is SHA-256 of the canonical JSON (sorted keys, no spaces) of the
  request path, query and body (a multipart upload: its form fields and each file's
  SHA-256). The path is included so a key reused for the same route
  on another record (``/checks/7/void`` vs ``/checks/8/void``) is refused, not replayed.
- Refusals are not stored. A 4xx (validation error, trust overdraw, not found) rolls the
  transaction back, placeholder included, so the client can fix the request and retry
  under the same key; a refusal has no effects that a replay would need to protect.
- Only successes are replayed, byte for byte in meaning (JSON key order may differ on
  PostgreSQL, whose jsonb does not keep it).
- Login (``POST /auth/session``) is not idempotent: it must not run in a transaction
  (failed attempts have to persist for throttling) and a token must never be stored.
- A password in a request body (the bridge's sign-in pop-ups, which only queue a sign-in
  for the worker) is left out of the request hash: ``secret_fields`` names such fields.
  Nothing derived from a password is ever stored, so a repeat with the same key replays
  the first answer whatever password it carries.
- ``scope_prefix`` keeps the records of two APIs apart when they share a record model
  (the bridge's API stores its records with the cases side's, scoped ``bridge POST ...``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from ninja.errors import ConfigError
from ninja.operation import Operation
from ninja.responses import NinjaJSONEncoder, Status
from ninja.utils import contribute_operation_callback
from pydantic import BaseModel

from casebridge.core import clock
from casebridge.core.api.errors import JSON_CONTENT_TYPE
from casebridge.core.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
REPLAYED_HEADER = "Idempotent-Replayed"

OPENAPI_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": (
        "Any unique string (a UUID). A repeat with the same key and body replays the first "
        "response and writes nothing; the same key with another body is refused 409 "
        "idempotency_key_reused. Refusals are not stored, so a corrected request may reuse "
        "the key."
    ),
}

V = TypeVar("V", bound=Callable[..., Any])


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class _Record(Protocol):
    """The fields :func:`make_idempotent` reads and writes on a record."""

    key: str
    request_hash: str
    status_code: int
    response_body: Any

    def save(self, *, update_fields: list[str]) -> None: ...


FirmOf = Callable[[HttpRequest], Model]


def make_idempotent(
    *,
    record_model: type[Model],
    firm_of: FirmOf,
    scope_prefix: str = "",
    secret_fields: tuple[str, ...] = (),
) -> Callable[[V], V]:
    """The ``@idempotent`` decorator of one API: records are rows of ``record_model``,
    scoped to the firm ``firm_of(request)`` returns (the authenticated caller's), their
    scope starting with ``scope_prefix``; top-level body fields named in ``secret_fields``
    are left out of the request hash."""

    def idempotent(view: V) -> V:
        """Make a POST view transactional and honour ``Idempotency-Key``."""
        if hasattr(view, "_ninja_operation"):
            raise ConfigError(f"put @idempotent below @router.post on {view.__qualname__}")
        contribute_operation_callback(
            view,
            functools.partial(
                _install,
                record_model=record_model,
                firm_of=firm_of,
                scope_prefix=scope_prefix,
                secret_fields=secret_fields,
            ),
        )
        return view

    return idempotent


def _install(
    operation: Operation,
    *,
    record_model: type[Model],
    firm_of: FirmOf,
    scope_prefix: str,
    secret_fields: tuple[str, ...],
) -> None:
    """Called by ninja once the operation is built (its signature already read)."""
    method = "/".join(operation.methods)
    scope = f"{scope_prefix} {method} {operation.path}".strip()
    codes = [c for c in operation.response_models if isinstance(c, int) and c < 300]
    default_status = codes[0] if len(codes) == 1 else 200
    operation.view_func = _wrap(
        operation.view_func,
        scope,
        default_status,
        record_model=record_model,
        firm_of=firm_of,
        secret_fields=secret_fields,
    )
    extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), OPENAPI_PARAMETER]
    operation.openapi_extra = extra


def _wrap(
    view_func: Callable[..., Any],
    scope: str,
    default_status: int,
    *,
    record_model: type[Model],
    firm_of: FirmOf,
    secret_fields: tuple[str, ...] = (),
) -> Callable[..., Any]:
    records = record_model._default_manager

    def find(firm: Model, key: str) -> _Record | None:
        return cast("_Record | None", records.filter(firm=firm, scope=scope, key=key).first())

    @functools.wraps(view_func)
    def run(request: HttpRequest, **values: Any) -> HttpResponse:
        key = _key(request)
        if key is None:
            with transaction.atomic():
                status, text = _render(view_func(request, **values), default_status)
            return _response(status, text)
        firm = firm_of(request)
        digest = request_hash(request, secret_fields=secret_fields)
        with transaction.atomic():
            found = find(firm, key)
            if found is not None:
                return _replay(found, digest)
            try:
                with transaction.atomic():
                    record = cast(
                        "_Record",
                        records.create(
                            firm=firm,
                            scope=scope,
                            key=key,
                            request_hash=digest,
                            status_code=0,
                            response_body={},
                            created_at=clock.now(),
                        ),
                    )
            except IntegrityError:  # an identical request committed while we waited
                twin = find(firm, key)
                if twin is None:
                    raise
                return _replay(twin, digest)
            status, text = _render(view_func(request, **values), default_status)
            record.status_code = status
            record.response_body = json.loads(text)
            record.save(update_fields=["status_code", "response_body"])
        return _response(status, text)

    return run


def _key(request: HttpRequest) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters", field=HEADER
        )
    return key


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(request: HttpRequest, *, secret_fields: tuple[str, ...] = ()) -> str:
    """SHA-256 of the canonical JSON of the request's path, query and body (without the
    top-level body fields named in ``secret_fields``)."""
    body: object
    if request.content_type == "multipart/form-data":  # an upload: its form and files
        body = _multipart(request)
    else:
        raw = request.body
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, RecursionError):  # not JSON (ninja refuses it first): as sent
            body = {"raw_sha256": hashlib.sha256(raw).hexdigest()}
    if secret_fields and isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in secret_fields}
    query = {k: request.GET.getlist(k) for k in sorted(request.GET)}
    canonical = _canonical({"path": request.path, "query": query, "body": body})
    # "surrogatepass": a lone surrogate escaped in the JSON must hash, not crash, when
    # the endpoint takes no body (so nothing refused it before); valid text is unchanged
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _multipart(request: HttpRequest) -> dict[str, object]:
    """A multipart body as its form fields and the SHA-256 of each uploaded file (the
    raw body cannot be read again once Django has parsed it, and may be large)."""
    files: dict[str, list[str]] = {}
    for name in sorted(request.FILES):
        digests = []
        for upload in request.FILES.getlist(name):
            sha = hashlib.sha256()
            for chunk in upload.chunks():
                sha.update(chunk)
            upload.seek(0)
            digests.append(sha.hexdigest())
        files[name] = digests
    form = {k: request.POST.getlist(k) for k in sorted(request.POST)}
    return {"form": form, "files_sha256": files}


def _replay(record: _Record, digest: str) -> HttpResponse:
    if record.request_hash != digest:
        raise IdempotencyKeyReused(
            f"{HEADER} {record.key!r} was already used for a different request to this "
            "endpoint; use a new key for a new request",
            field=HEADER,
        )
    if record.status_code == 0:  # cannot be seen committed; kept as a guard
        raise Conflict(f"the request with {HEADER} {record.key!r} is still in progress")
    response = _response(record.status_code, json.dumps(record.response_body))
    response[REPLAYED_HEADER] = "true"
    return response


def _render(result: object, default_status: int) -> tuple[int, str]:
    status = default_status
    if isinstance(result, Status):
        status, result = result.status_code, result.value
    if not isinstance(result, BaseModel):
        raise TypeError(
            f"an idempotent view must return a pydantic model, not {type(result).__name__}"
        )
    return status, json.dumps(result, cls=NinjaJSONEncoder)


def _response(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type=JSON_CONTENT_TYPE)
