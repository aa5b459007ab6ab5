"""The bridge's HTTP API, at ``/cases/api/v1/integrations/books/`` (OpenAPI at
``openapi.json``). It authenticates exactly like the cases API (a cases bearer token) and
answers errors in the same JSON shape.

Everything the screens do can be done here: activation and defaults (administrators and the
administration settings permission; others get 403 ``permission_denied`` naming it), the
readiness check, sending costs, the sync queue and its retries, the check-status sync, and
the settlement money (a case's fee invoice, its payments' trust checks and Send again).
No request waits on the books (ADR 0008): they answer from what the worker last read
(with its time), and what needs the books now (a sign-in, a readiness refresh, a
check-status sync) answers 202 with a run to poll.
Every POST honours ``Idempotency-Key`` as the books' and the cases side's do (ADR 0004): a
repeat with the same key and body replays the first answer and writes nothing, the same
key with another body is 409 ``idempotency_key_reused``. The records are the cases side's,
scoped ``bridge POST <route>``; the sign-in pop-ups' password is left out of the hash.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import NinjaAPI, Query, Router, Status
from pydantic import ConfigDict, Field

from casebridge.bridge import selectors
from casebridge.bridge.models import (
    BooksJob,
    Connection,
    FeeInvoice,
    InvoiceRelease,
    OutboxItem,
    OutboxKind,
    OutboxState,
    RunState,
    SyncRun,
    TrustItemLink,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import outbox, readiness, snapshot, status_sync
from casebridge.bridge.services import settlement as settlement_services
from casebridge.cases.api.schemas import ERRORS as ERRORS_403
from casebridge.cases.api.security import BearerToken, context, rate_limit_client
from casebridge.cases.models import (
    Case,
    Firm,
    IdempotencyRecord,
    Permission,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.permissions import require, require_settings_access
from casebridge.core import clock
from casebridge.core.api import ratelimit
from casebridge.core.api.errors import add_unmatched_fallback, install_error_handlers
from casebridge.core.api.idempotency import make_idempotent
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    ERRORS,
    Clean,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    money,
    page_of,
)
from casebridge.core.errors import NotFound

router = Router(tags=["books integration"])

#: ``Idempotency-Key`` on every POST (ADR 0004), stored with the cases side's records.
idempotent = make_idempotent(
    record_model=IdempotencyRecord,
    firm_of=lambda request: context(request).firm,
    scope_prefix="bridge",
    secret_fields=("password", "security_answer"),
)


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
        queue=selectors.queue_counts(firm),
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


class CheckOut(Out):
    key: str
    label: str
    ok: bool
    warning: bool
    detail: str
    fix: str
    needed_for: list[str]


class ReadinessOut(Out):
    ok: bool
    live: bool = Field(
        description="False: the worker's last attempt could not read the books (error says "
        "why); these are the results of the last read that could."
    )
    error: str
    checked_at: dt.datetime | None = Field(
        description="When the worker read the books for these results (null: never yet)."
    )
    age_seconds: int | None = Field(description="How long ago that was.")
    refreshing: bool = Field(
        description="The worker is asked to read the books again: poll GET /readiness."
    )
    checks: list[CheckOut]


def _readiness_out(report: readiness.Readiness) -> ReadinessOut:
    age = (
        max(0, int((clock.now() - report.checked_at).total_seconds()))
        if report.checked_at
        else None
    )
    return ReadinessOut(
        ok=report.ok,
        live=report.live,
        error=report.error,
        checked_at=report.checked_at,
        age_seconds=age,
        refreshing=report.refreshing,
        checks=[
            CheckOut(
                key=c.key,
                label=c.label,
                ok=c.ok,
                warning=c.warning,
                detail=c.detail,
                fix=c.fix,
                needed_for=list(c.needed_for),
            )
            for c in report.checks
        ],
    )


def _signed_in(request: HttpRequest) -> Connection:
    ctx = context(request)
    require_settings_access(ctx.user)
    conn = conn_services.connection_of(ctx.firm)
    if conn is None or not conn.token_ciphertext:
        conn_services.require_connection(ctx.firm)  # raises: not connected
    assert conn is not None
    return conn


@router.get(
    "/readiness", response={200: ReadinessOut, **ERRORS}, summary="The last readiness report"
)
def readiness_get(request: HttpRequest) -> ReadinessOut:
    """Every prerequisite of the seed, as the worker last checked it against the books
    (every few minutes, and when asked: ``POST /readiness/refresh``), with ``checked_at``
    and its age. A request never asks the books itself."""
    conn = _signed_in(request)
    if snapshot.stale(conn):
        snapshot.refresh_request(conn)
    return _readiness_out(readiness.readiness_last(conn))


@router.post(
    "/readiness/refresh",
    response={202: ReadinessOut, **ERRORS},
    summary="Run the readiness check again",
)
@idempotent
def readiness_refresh(request: HttpRequest) -> Status[ReadinessOut]:
    """Asks the worker to run every check against the books now; answers 202 at once with
    the last report (``refreshing`` true): poll ``GET /readiness`` until it is false."""
    conn = _signed_in(request)
    snapshot.refresh_request(conn, force=True)
    return Status(202, _readiness_out(readiness.readiness_last(conn)))


class SendIn(In):
    cost_ids: list[Id] = Field(min_length=1, max_length=20_000)
    bank_account_id: Id | None = Field(None, description="Default: the operating account.")


class SendOut(Out):
    count: int
    total: Money
    not_sent: int = Field(
        0,
        description="Costs left Open when a chunk of a large Send failed after earlier "
        "chunks were queued (someone changed a cost meanwhile); ``problem`` says why.",
    )
    problem: str = ""


@router.post("/costs/send", response={200: SendOut, **ERRORS}, summary="Send costs")
@idempotent
def costs_send(request: HttpRequest, payload: SendIn) -> SendOut:
    """Open costs become Pending and are queued for the books. 409
    ``integration_not_ready`` names the failing readiness checks (as the worker last ran
    them: the books are not asked here); 409 ``locked`` names a cost that is not Open, and
    nothing is written. The costs are written 1,000 at a time: should a later thousand be
    refused (a cost changed by someone else meanwhile), those before it stay queued and
    ``not_sent`` and ``problem`` say how many were left Open and why."""
    ctx = context(request)
    result = outbox.costs_send(
        firm=ctx.firm,
        actor=ctx.user,
        cost_ids=list(dict.fromkeys(payload.cost_ids)),
        bank_account_id=payload.bank_account_id,
    )
    return SendOut(
        count=result.count,
        total=money(result.total_cents),
        not_sent=result.not_sent,
        problem=result.problem,
    )


class ItemOut(Out):
    id: int
    kind: OutboxKind
    state: OutboxState
    case_id: int
    cost_id: int | None
    attempts: int
    next_attempt_at: dt.datetime
    error_code: str
    error_message: str
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @classmethod
    def of(cls, item: OutboxItem) -> ItemOut:
        return cls(
            id=item.pk,
            kind=OutboxKind(item.kind),
            state=OutboxState(item.state),
            case_id=item.case_id,
            cost_id=item.cost_id,
            attempts=item.attempts,
            next_attempt_at=item.next_attempt_at,
            error_code=item.error_code,
            error_message=item.error_message,
            created_at=item.created_at,
            sent_at=item.sent_at,
        )


class QueueFilter(Clean):
    state: OutboxState | None = None
    kind: OutboxKind | None = None


class QueueOut(Page[ItemOut]):
    counts: dict[str, int]


@router.get("/queue", response={200: QueueOut, **ERRORS}, summary="The sync queue")
def queue(request: HttpRequest, page: Query[PageIn], filters: Query[QueueFilter]) -> QueueOut:
    ctx = context(request)
    require(ctx.user, Permission.COSTS_MANAGEMENT)
    qs = selectors.queue_items(ctx.firm, state=filters.state or "", kind=filters.kind or "")
    rows, count = page_of(qs, page)
    return QueueOut(
        items=[ItemOut.of(i) for i in rows], count=count, counts=selectors.queue_counts(ctx.firm)
    )


class RetryIn(In):
    item_ids: list[Id] | None = Field(
        None, max_length=10_000, description="Default: every failed item."
    )


class CountOut(Out):
    count: int


@router.post("/queue/retry", response={200: CountOut, **ERRORS}, summary="Retry failed items")
@idempotent
def queue_retry(request: HttpRequest, payload: RetryIn) -> CountOut:
    ctx = context(request)
    return CountOut(
        count=outbox.items_retry(firm=ctx.firm, actor=ctx.user, item_ids=payload.item_ids)
    )


class SyncIn(In):
    cost_ids: list[Id] | None = Field(
        None, max_length=20_000, description="Default: every sent cost."
    )


class SyncRunOut(Out):
    id: int
    state: RunState = Field(
        description="queued or running: the worker is on it (poll GET "
        "/check-status/sync/{id}); done; failed (error says why)."
    )
    checked: int
    paid: int
    voided: int
    problems: int
    error: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


def _sync_run_out(run: SyncRun) -> SyncRunOut:
    return SyncRunOut(
        id=run.pk,
        state=RunState(run.state),
        checked=run.checked,
        paid=run.paid,
        voided=run.voided,
        problems=run.problems,
        error=run.error,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


@router.post(
    "/check-status/sync", response={202: SyncRunOut, **ERRORS}, summary="Sync check status"
)
@idempotent
def check_status(request: HttpRequest, payload: SyncIn) -> Status[SyncRunOut]:
    """Queues a check-status sync (of ``cost_ids``, else of every sent cost and the
    settlement money) for the worker; 202 with the run, queued: poll
    ``GET /check-status/sync/{id}``."""
    ctx = context(request)
    require(ctx.user, Permission.COSTS_MANAGEMENT)
    run = status_sync.sync_request(firm=ctx.firm, actor=ctx.user, cost_ids=payload.cost_ids)
    run.refresh_from_db()
    return Status(202, _sync_run_out(run))


@router.get(
    "/check-status/sync/{int:run_id}",
    response={200: SyncRunOut, **ERRORS},
    summary="A check-status sync",
)
def check_status_run(request: HttpRequest, run_id: Id) -> SyncRunOut:
    """A sync run of this firm, how it stands and what it changed; 404 for any other id."""
    ctx = context(request)
    require(ctx.user, Permission.COSTS_MANAGEMENT)
    return _sync_run_out(get_or_404(SyncRun.objects.filter(firm=ctx.firm), run_id, field="run_id"))


# --- Settlement money: the fee invoice, the payments' trust checks ---------------------------


def _case(firm: Firm, case_id: int) -> Case:
    """The firm's case, else 404 (another firm's case is indistinguishable from none)."""
    return get_or_404(Case.objects.filter(firm=firm), case_id, field="case_id")


class InvoiceLineOut(Out):
    kind: str = Field(
        description="fee (the responsible attorney's time entry) or cost (an activity code)."
    )
    description: str
    amount: Money
    source: str = Field(
        description="The line's external_ref: its source on the cases side "
        "(cases-trust-item-<id> or cases-cost-<id>)."
    )


def _line_out(kind: str, description: str, cents: int, source: str) -> InvoiceLineOut:
    return InvoiceLineOut(kind=kind, description=description, amount=money(cents), source=source)


class FeeInvoicePlanOut(Out):
    case_id: int
    release: InvoiceRelease = Field(
        description="automatic: final at once; review: waits for the accountant in the books."
    )
    release_label: str
    total: Money
    lines: list[InvoiceLineOut]


@router.get(
    "/cases/{int:case_id}/fee-invoice/plan",
    response={200: FeeInvoicePlanOut, **ERRORS_403},
    summary="What Create fee invoice would send",
)
def fee_invoice_plan(request: HttpRequest, case_id: Id) -> FeeInvoicePlanOut:
    """The lines Create fee invoice would send, nothing written. Refusals name the reason:
    409 ``integration_not_connected``, 409 ``conflict`` (the case already has a fee invoice),
    422 ``validation_error`` (nothing waiting to be invoiced, costs never sent)."""
    ctx = context(request)
    require(ctx.user, Permission.DEPOSIT_SETTLEMENT)
    case = _case(ctx.firm, case_id)
    plan = settlement_services.fee_invoice_plan(firm=ctx.firm, actor=ctx.user, case_id=case.pk)
    return FeeInvoicePlanOut(
        case_id=case.pk,
        release=InvoiceRelease(plan.conn.invoice_release),
        release_label=plan.release_label,
        total=money(plan.total_cents),
        lines=[_line_out(ln.kind, ln.description, ln.amount_cents, ln.source) for ln in plan.lines],
    )


class FeeInvoiceOut(Out):
    id: int
    case_id: int
    external_ref: str
    stage: str = Field(
        description='"" while on its way to the books; then draft, review, release, final '
        "or voided, as the books last said."
    )
    books_invoice_id: int | None
    books_invoice_number: int | None
    total: Money
    release: InvoiceRelease
    lines: list[InvoiceLineOut]
    note: str = Field(description="How it stands: on its way, refused (and why), its stage.")
    problem: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, invoice: FeeInvoice, note: str, problem: bool) -> FeeInvoiceOut:
        return cls(
            id=invoice.pk,
            case_id=invoice.case_id,
            external_ref=invoice.external_ref,
            stage=invoice.stage,
            books_invoice_id=invoice.books_invoice_id,
            books_invoice_number=invoice.books_invoice_number,
            total=money(invoice.total_cents),
            release=InvoiceRelease(invoice.release),
            lines=[
                _line_out(
                    str(ln["kind"]),
                    str(ln["description"]),
                    int(ln["amount_cents"]),
                    str(ln["source"]),
                )
                for ln in invoice.lines
            ],
            note=note,
            problem=problem,
            created_at=invoice.created_at,
        )


def _fee_invoice_out(case: Case) -> FeeInvoiceOut:
    state = selectors.fee_invoice_states([case.pk]).get(case.pk)
    if state is None or state.invoice is None:
        raise NotFound(f"case {case.pk} has no fee invoice", field="case_id")
    return FeeInvoiceOut.of(state.invoice, state.note, state.problem)


@router.post(
    "/cases/{int:case_id}/fee-invoice",
    response={201: FeeInvoiceOut, **ERRORS_403},
    summary="Create fee invoice",
)
@idempotent
def fee_invoice_create(request: HttpRequest, case_id: Id) -> Status[FeeInvoiceOut]:
    """Queues the case's fee invoice for the books (the lines of ``GET .../plan``), paid from
    trust; ``stage`` is "" until it is delivered. 409 ``integration_not_ready`` names the
    failing prerequisite (no books user for the attorney, Records Time off, the release stage
    off); 409 ``conflict`` while the case has a fee invoice that is not voided."""
    ctx = context(request)
    require(ctx.user, Permission.DEPOSIT_SETTLEMENT)
    case = _case(ctx.firm, case_id)
    settlement_services.fee_invoice_create(firm=ctx.firm, actor=ctx.user, case_id=case.pk)
    return Status(201, _fee_invoice_out(case))


@router.get(
    "/cases/{int:case_id}/fee-invoice",
    response={200: FeeInvoiceOut, **ERRORS_403},
    summary="The case's fee invoice",
)
def fee_invoice_get(request: HttpRequest, case_id: Id) -> FeeInvoiceOut:
    """The case's latest fee invoice and how it stands; 404 when it has none."""
    ctx = context(request)
    return _fee_invoice_out(_case(ctx.firm, case_id))


class TrustCheckOut(Out):
    trust_item_id: int
    external_ref: str = Field(description="cases-trust-item-<id>, then -<generation> from 2.")
    generation: int = Field(description="1 for the first check; each Send again adds one.")
    check_state: str = Field(
        description='"" until the books hold the request; then queued, printed, void or missing.'
    )
    check_number: int | None
    problem: str

    @classmethod
    def of(cls, link: TrustItemLink) -> TrustCheckOut:
        return cls(
            trust_item_id=link.trust_item_id,
            external_ref=link.external_ref,
            generation=link.generation,
            check_state=link.check_state,
            check_number=link.check_number,
            problem=link.problem,
        )


@router.post(
    "/trust-items/{int:item_id}/send-again",
    response={200: TrustCheckOut, **ERRORS_403},
    summary="Send a voided trust check again",
)
@idempotent
def trust_check_send_again(request: HttpRequest, item_id: Id) -> TrustCheckOut:
    """Requests a new trust check (a new external_ref) for a payment whose check the books
    voided. 409 ``conflict`` when its check is not void; 422 when it was never sent."""
    ctx = context(request)
    require(ctx.user, Permission.DEPOSIT_SETTLEMENT)
    get_or_404(TrustItem.objects.filter(firm=ctx.firm), item_id, field="item_id")
    link = settlement_services.trust_check_send_again(
        firm=ctx.firm, actor=ctx.user, trust_item_id=item_id
    )
    return TrustCheckOut.of(link)


class PaymentOut(Out):
    id: int
    kind: TrustItemKind
    payee: str
    amount: Money
    status: TrustItemStatus
    paid_direct: bool
    check_number: str
    invoice_reference: str
    books_note: str = Field(
        description="Its trust check in the books (queued, printed, voided, refused...); "
        '"" when it was never sent (staged, paid direct, or paid by the fee invoice).'
    )
    books_problem: bool
    can_send_again: bool


class PaymentsOut(Out):
    case_id: int
    items: list[PaymentOut]


@router.get(
    "/cases/{int:case_id}/payments",
    response={200: PaymentsOut, **ERRORS_403},
    summary="The case's payments and their trust checks",
)
def payments(request: HttpRequest, case_id: Id) -> PaymentsOut:
    """Every payment out of the case's trust, with its state in the books."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    states = selectors.payment_states([case.pk])
    out = []
    for item in TrustItem.objects.filter(firm=ctx.firm, case=case).order_by("pk"):
        state = states.get(item.pk)
        out.append(
            PaymentOut(
                id=item.pk,
                kind=TrustItemKind(item.kind),
                payee=item.payee_name,
                amount=money(item.amount_cents),
                status=TrustItemStatus(item.status),
                paid_direct=item.paid_direct,
                check_number=item.check_number,
                invoice_reference=item.invoice_reference,
                books_note=state.note if state else "",
                books_problem=state.problem if state else False,
                can_send_again=state.can_send_again if state else False,
            )
        )
    return PaymentsOut(case_id=case.pk, items=out)


api = NinjaAPI(
    title="Casebridge Books Integration API",
    version="1",
    description="The bridge from case management to the books: activation, readiness, "
    "sending costs, the sync queue, the fee invoice and the trust checks of a settlement. "
    "Authenticate with a cases API token. Rate limits as the cases API's (RateLimit-* "
    "headers, 429 rate_limited with Retry-After), counted apart from it.",
    urls_namespace="bridge_api",
    auth=BearerToken(),
)
install_error_handlers(api, logger_name="casebridge.bridge.api")
api.add_router("", router)
add_unmatched_fallback(api, "the books integration API v1")
#: A cases token counts here apart from the cases API (:mod:`casebridge.core.api.ratelimit`).
ratelimit.install(api, scope="bridge", client_of=rate_limit_client)
