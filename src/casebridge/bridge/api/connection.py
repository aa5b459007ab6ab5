"""The connection: read it, activate (pop-up 1: the worker signs in), save the defaults
(pop-up 2), re-authenticate, deactivate. Administrators and the administration settings
permission only (others get 403 ``permission_denied`` naming it)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import ConfigDict, Field

from casebridge.bridge.api.idempotency import idempotent
from casebridge.bridge.models import BooksJob, InvoiceRelease, RunState
from casebridge.bridge.selectors.queue import queue_counts
from casebridge.bridge.services import connection as conn_services
from casebridge.cases.api.security import context
from casebridge.cases.permissions import require_settings_access
from casebridge.core.api.schemas import ERRORS, Id, In, Out

router = Router(tags=["books integration"])


class SignInOut(Out):
    id: int
    purpose: str = Field(description="activate (pop-up 1) or reauthenticate.")
    state: RunState = Field(
        description="queued or running: the worker is signing in; done: signed in; failed: "
        "refused (error_code, error_message and error_field say why and what to fix)."
    )
    username: str
    error_code: str
    error_message: str
    error_field: str
    requested_at: dt.datetime
    finished_at: dt.datetime | None


def _sign_in_out(job: BooksJob | None) -> SignInOut | None:
    if job is None:
        return None
    return SignInOut(
        id=job.pk,
        purpose=str(job.params.get("purpose", "")),
        state=RunState(job.state),
        username=str(job.params.get("username") or (job.result or {}).get("username") or ""),
        error_code=job.error_code,
        error_message=job.error_message,
        error_field=job.error_field,
        requested_at=job.requested_at,
        finished_at=job.finished_at,
    )


class ConnectionOut(Out):
    status: str = Field(
        description="Not connected, Needs defaults, Connected, Deactivated or "
        "Re-authentication required."
    )
    connected: bool
    needs_reauthentication: bool
    days_until_reauthentication: int | None
    token_expires_at: dt.datetime | None
    books_url: str
    books_firm_code: str
    username: str
    cost_posting_code_id: int | None = Field(
        description="The default cost posting reference: the books activity code a cost "
        "advance posts to when its cost code has no mapping and no code of the same UTBMS code."
    )
    cost_posting_code_label: str
    operating_account_id: int | None
    operating_account_name: str
    trust_account_id: int | None
    trust_account_name: str
    invoice_release: str
    check_sync_hour: int
    queue: dict[str, int]
    sign_in: SignInOut | None = Field(
        description="The latest sign-in (activation or re-authentication), which the worker "
        "does: poll GET /connection until its state is done or failed."
    )
    books_read_at: dt.datetime | None = Field(
        description="When the worker last read the books (the readiness report, their bank "
        "accounts, activity codes and users); requests never ask the books themselves."
    )


def _connection_out(request: HttpRequest) -> ConnectionOut:
    firm = context(request).firm
    conn = conn_services.connection_of(firm)
    view = conn_services.connection_view(conn)
    return ConnectionOut(
        sign_in=_sign_in_out(conn_services.sign_in_of(firm)),
        books_read_at=conn.readiness_checked_at if conn else None,
        status=view.label,
        connected=view.connected,
        needs_reauthentication=view.needs_reauth,
        days_until_reauthentication=view.days_left,
        token_expires_at=view.expires_at,
        books_url=conn.books_url if conn else "",
        books_firm_code=conn.books_firm_code if conn else "",
        username=conn.username if conn else "",
        cost_posting_code_id=conn.cost_posting_code_id if conn else None,
        cost_posting_code_label=conn.cost_posting_code_label if conn else "",
        operating_account_id=conn.operating_account_id if conn else None,
        operating_account_name=conn.operating_account_name if conn else "",
        trust_account_id=conn.trust_account_id if conn else None,
        trust_account_name=conn.trust_account_name if conn else "",
        invoice_release=conn.invoice_release if conn else InvoiceRelease.REVIEW,
        check_sync_hour=conn.check_sync_hour if conn else 2,
        queue=queue_counts(firm),
    )


@router.get("/connection", response={200: ConnectionOut, **ERRORS}, summary="The connection")
def connection_get(request: HttpRequest) -> ConnectionOut:
    require_settings_access(context(request).user)
    return _connection_out(request)


class ActivateIn(In):
    model_config = ConfigDict(str_strip_whitespace=False)

    books_url: str = Field(min_length=1, max_length=300, description="Ends in /books/api/v1.")
    books_firm_code: str = Field(min_length=1, max_length=40)
    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    security_answer: str = Field(
        default="",
        max_length=200,
        description="The integration user's security answer: the books ask it again when "
        "the integration signs in again (a token was issued before).",
    )


@router.post("/activate", response={202: ConnectionOut, **ERRORS}, summary="Pop-up 1: sign in")
@idempotent
def activate(request: HttpRequest, payload: ActivateIn) -> Status[ConnectionOut]:
    """Queues the sign-in of the integration user; the worker signs in to the books (a
    request never waits on them) and keeps the token, never the password, which waits for
    it encrypted and is erased when it is used. 202 with the connection and ``sign_in``
    queued: poll ``GET /connection``. The worker's refusals, in ``sign_in`` (state
    failed): ``invalid_credentials`` (the books do not say which of firm ID, username or
    password), ``security_question_not_enrolled``, ``security_answer_required`` /
    ``security_answer_invalid`` (field ``security_answer``), ``books_unreachable``
    (whatever else answered, or nothing did: one message that repeats nothing the other
    side sent), ``too_many_attempts`` (the books are backing off; the wait is in the
    message), each with a message saying what to do and the field. Refused here: 422 for a
    missing or malformed field, 422 when the firm's cases are linked to other books, and 422
    ``books_address_*`` when the address is not on the allow-list after resolving its name
    (issue 13: ``_invalid``, ``_scheme``, ``_userinfo``, ``_port``, ``_odd_form``,
    ``_not_allowed``, ``_loopback``, ``_private``, ``_metadata``, ``_unresolvable``,
    ``_https_required``)."""
    ctx = context(request)
    conn_services.connection_activate(
        firm=ctx.firm,
        actor=ctx.user,
        books_url=payload.books_url,
        books_firm_code=payload.books_firm_code,
        username=payload.username,
        password=payload.password,
        security_answer=payload.security_answer,
    )
    return Status(202, _connection_out(request))


class DefaultsIn(In):
    cost_posting_code_id: Id | None = Field(
        None,
        description="The default cost posting reference: a books activity code that posts to "
        "Advanced client costs (an asset). Default: the firm's own general advance code, "
        "else UTBMS E124 Other.",
    )
    operating_account_id: Id
    trust_account_id: Id
    invoice_release: InvoiceRelease
    check_sync_hour: int | None = Field(
        None, ge=0, le=23, description="Hour (firm's time) of the nightly check-status sync."
    )


@router.post("/defaults", response={200: ConnectionOut, **ERRORS}, summary="Pop-up 2: defaults")
@idempotent
def defaults(request: HttpRequest, payload: DefaultsIn) -> ConnectionOut:
    """Checked against the books' bank accounts as the worker last read them (409
    ``books_not_read_yet`` until it has: try again in a moment)."""
    ctx = context(request)
    conn_services.connection_defaults_save(
        firm=ctx.firm,
        actor=ctx.user,
        cost_posting_code_id=payload.cost_posting_code_id,
        operating_account_id=payload.operating_account_id,
        trust_account_id=payload.trust_account_id,
        invoice_release=payload.invoice_release,
        check_sync_hour=payload.check_sync_hour,
    )
    return _connection_out(request)


class PasswordIn(In):
    model_config = ConfigDict(str_strip_whitespace=False)

    password: str = Field(min_length=1, max_length=1024)
    security_answer: str = Field(
        default="",
        max_length=200,
        description="The integration user's security answer: the books ask it again when "
        "the integration signs in again (a token was issued before).",
    )


@router.post("/reauthenticate", response={202: ConnectionOut, **ERRORS})
@idempotent
def reauthenticate(request: HttpRequest, payload: PasswordIn) -> Status[ConnectionOut]:
    """The monthly re-authentication, queued for the worker like activation (202; poll
    ``GET /connection``'s ``sign_in``); what waited in the queue then goes out once."""
    ctx = context(request)
    conn_services.connection_reauthenticate(
        firm=ctx.firm,
        actor=ctx.user,
        password=payload.password,
        security_answer=payload.security_answer,
    )
    return Status(202, _connection_out(request))


@router.post("/deactivate", response={200: ConnectionOut, **ERRORS})
@idempotent
def deactivate(request: HttpRequest) -> ConnectionOut:
    ctx = context(request)
    conn_services.connection_deactivate(firm=ctx.firm, actor=ctx.user)
    return _connection_out(request)
