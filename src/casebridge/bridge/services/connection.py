"""Activating, configuring, deactivating and re-authenticating the books connection.

The seed's two pop-ups are :func:`connection_activate` (the integration user's username and
password, checked against the books by the worker) and :func:`connection_defaults_save`
(the default cost posting reference, operating and client trust accounts, and whether
invoices are released automatically or reviewed). Only a firm administrator or a holder of
the administration settings permission may call them.

A web request never calls the books (ADR 0008): activation and re-authentication check
what they can at once, then queue a sign-in job (:class:`BooksJob`) that the worker runs
(:func:`sign_in_job_run`); the screens and the API poll it. The password travels to the
worker Fernet-encrypted with the bridge's keys, in the job's row, and only while the job
is queued: the worker erases it in the UPDATE that takes the job, before calling the
books; a job never taken is dropped, password and all, after
``BRIDGE_SIGN_IN_EXPIRY_SECONDS``. It is used once to obtain a token and never kept
beyond that; the token is kept encrypted (:mod:`casebridge.bridge.crypto`). A failed
login is explained in words the administrator can act on; nothing is written on a
refusal but the job's answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.views.decorators.debug import sensitive_variables

from casebridge.bridge import outbound
from casebridge.bridge.client import (
    NO_BOOKS_ANSWER_CODE,
    BooksActivityCode,
    BooksClient,
    BooksError,
    BooksRejected,
    BooksSession,
    HttpBooksClient,
    refuse_in_web_request,
)
from casebridge.bridge.crypto import TokenUnreadable, decrypt_token, encrypt_token
from casebridge.bridge.errors import (
    BooksAddressRefused,
    BooksRefused,
    NotConnected,
    NotReadYet,
    ValidationFailed,
)
from casebridge.bridge.models import (
    PENDING,
    UNFINISHED,
    BooksAddressConfirmation,
    BooksJob,
    CaseLink,
    Connection,
    ConnectionStatus,
    InvoiceRelease,
    JobKind,
    OutboxItem,
    OutboxState,
    RunState,
)
from casebridge.bridge.services import snapshot
from casebridge.bridge.services.mappings import known_activity_codes
from casebridge.bridge.services.worker import ask, take
from casebridge.cases.models import Firm, User
from casebridge.cases.permissions import require_admin, require_settings_access
from casebridge.core import clock, words
from casebridge.core.audit import audit_record
from casebridge.core.errors import DomainError

#: Builds the client for a books address and token, with the firm's confirmed (host, port)
#: pairs for the allow-list (``bridge.outbound``). Tests and the benchmark use the real
#: HTTP client against a server on a real port; another vendor would plug in here.
ClientFactory = Callable[[str, str | None, float | None, frozenset[tuple[str, int]]], BooksClient]


def http_client(
    base_url: str,
    token: str | None,
    timeout: float | None = None,
    confirmed: frozenset[tuple[str, int]] = frozenset(),
) -> BooksClient:
    return HttpBooksClient(
        base_url,
        token=token,
        timeout=timeout or settings.BRIDGE_HTTP_TIMEOUT,
        connect_timeout=settings.BRIDGE_CONNECT_TIMEOUT,
        confirmed=confirmed,
    )


_factory: ClientFactory = http_client


def set_client_factory(factory: ClientFactory) -> ClientFactory:
    """Replace the client factory; returns the previous one (to put it back)."""
    global _factory
    previous, _factory = _factory, factory
    return previous


def confirmed_addresses(firm_id: int) -> frozenset[tuple[str, int]]:
    """The (host, port) pairs the firm's administrators confirmed (issue 13)."""
    return frozenset(
        BooksAddressConfirmation.objects.filter(firm_id=firm_id).values_list("host", "port")
    )


def client_for(conn: Connection, *, timeout: float | None = None) -> BooksClient:
    """A client signed in with the connection's token. A token the configured keys cannot
    read (``CASEBRIDGE_BRIDGE_KEYS`` changed) is treated as lapsed: re-authenticate."""
    try:
        token = decrypt_token(conn.token_ciphertext)
    except TokenUnreadable as exc:
        connection_mark_lapsed(conn=conn)
        raise BooksRefused("reauthentication_required", f"{exc}.") from None
    refuse_in_web_request()
    return _factory(conn.books_url, token, timeout, confirmed_addresses(conn.firm_id))


def anonymous_client(books_url: str, *, firm_id: int | None = None) -> BooksClient:
    refuse_in_web_request()
    confirmed = confirmed_addresses(firm_id) if firm_id is not None else frozenset()
    return _factory(books_url, None, None, confirmed)


def address_check(firm: Firm, books_url: str) -> outbound.Address:
    """The books address in its canonical form, checked against the allow-list after
    resolving its name (``bridge.outbound``); refused with the check's code, on the
    ``books_url`` field. Nothing is sent to it here."""
    try:
        address = outbound.parse(books_url)
        outbound.check(address, outbound.policy(confirmed_addresses(firm.pk)))
    except outbound.AddressRefused as exc:
        raise BooksAddressRefused(exc.code, exc.message) from None
    return address


def _audit(firm: Firm, actor: User | None, action: str, summary: str, **after: object) -> None:
    audit_record(
        system="bridge",
        firm_id=firm.pk,
        actor_id=actor.pk if actor else None,
        actor_label=actor.email if actor else "system",
        action=action,
        entity_type="books_connection",
        entity_id=firm.pk,
        summary=summary,
        after=dict(after) or None,
    )


def connection_of(firm: Firm) -> Connection | None:
    return Connection.objects.filter(firm=firm).first()


def require_connection(firm: Firm) -> Connection:
    conn = connection_of(firm)
    if conn is None or conn.status != ConnectionStatus.CONNECTED:
        raise NotConnected(
            "the books integration is not connected; a firm administrator activates it in "
            "Account Settings → Integrations"
        )
    return conn


# --- Turning the books' refusals into advice -------------------------------------------------


#: The books' refusals of a sign-in that have advice of their own; anything else, and any
#: answer that is not the books API's, is one message that repeats nothing the other side
#: sent (issue 13).
def explain_login_failure(
    exc: BooksError, *, books_url: str, firm_code: str, username: str
) -> BooksRefused:
    """What the administrator should do about a failed books login, field by field. Only
    our own words: never the remote side's message, which may not be the books'.

    The books refuse a wrong firm ID, username or password, or a deactivated user, with one
    ``invalid_credentials`` that does not say which (older books said ``user_not_found``);
    after repeated failures they answer 429 ``too_many_attempts`` with the wait."""
    code = exc.code
    if code.startswith("books_address_"):  # the allow-list refused it (our own message)
        return BooksRefused(code, exc.message, field="books_url")
    if code == "too_many_attempts":
        return BooksRefused(
            code,
            f"The books are holding back sign-ins for {username} after too many failed "
            f"attempts: {_retry_phrase(exc)}. Check the firm ID, username and password "
            "meanwhile.",
            field="password",
        )
    if isinstance(exc, BooksRejected) and code in ("invalid_credentials", "user_not_found"):
        return BooksRefused(
            "invalid_credentials",
            f"The books refused the sign-in of {username} in firm {firm_code}: the firm ID, "
            "the username (the integration user's email) or the password is not right, or "
            "the user is deactivated in the books. Check all three and type the password "
            "again.",
            field="password",
        )
    if isinstance(exc, BooksRejected) and code == "security_question_not_enrolled":
        return BooksRefused(
            code,
            f"{username} has not set a security question yet. Log into the books as this user "
            "and set a security question first, then save again.",
            field="username",
        )
    if isinstance(exc, BooksRejected) and code in ("totp_required", "totp_not_enrolled"):
        return BooksRefused(
            code,
            f"The books ask {username} for a two-factor code: it is not marked as the "
            "integration user there. In the books, Users → edit this user → turn on "
            "Integration user (it then signs in with its security question), then save again.",
            field="username",
        )
    if isinstance(exc, BooksRejected) and code in (
        "security_answer_required",
        "security_answer_invalid",
    ):
        question = str((exc.details or {}).get("question", "") or "")
        asked = f" The question: {question}" if question else ""
        return BooksRefused(
            code,
            (
                f"The books ask {username}'s security question again when the integration "
                "signs in again: type its answer."
                if code == "security_answer_required"
                else f"The books refused that answer to {username}'s security question. "
                "Type it again."
            )
            + asked,
            field="security_answer",
        )
    return BooksRefused(
        NO_BOOKS_ANSWER_CODE,
        f"The books at {books_url} did not answer as a Casebridge books API. Check the "
        "address (it ends in /books/api/v1) and that the books are running, then save again.",
        field="books_url",
    )


def _retry_phrase(exc: BooksError) -> str:
    """When the books said to try again (their ``Retry-After``, in ``details``)."""
    wait = (exc.details or {}).get("retry_after")
    if isinstance(wait, int) and not isinstance(wait, bool) and wait > 0:
        if wait < 120:
            return f"try again in {wait} second{'s' if wait != 1 else ''}"
        return f"try again in {-(-wait // 60)} minutes"
    return "wait a few minutes, then try again"


@sensitive_variables("password", "security_answer")
def _sign_in(
    books_url: str,
    firm_code: str,
    username: str,
    password: str,
    security_answer: str = "",
    *,
    firm_id: int,
) -> BooksSession:
    client = None
    try:
        client = anonymous_client(books_url, firm_id=firm_id)
        return client.session_create(
            firm_code=firm_code,
            username=username,
            password=password,
            security_answer=security_answer,
        )
    except BooksError as exc:
        raise explain_login_failure(
            exc, books_url=books_url, firm_code=firm_code, username=username
        ) from None
    finally:
        if client is not None:
            client.close()


# --- The pop-ups ------------------------------------------------------------------------------


@sensitive_variables("password", "security_answer")
def connection_activate(
    *,
    firm: Firm,
    actor: User,
    books_url: str,
    books_firm_code: str,
    username: str,
    password: str,
    security_answer: str = "",
) -> BooksJob:
    """Pop-up 1: check what can be checked here, then queue the sign-in for the worker
    (:func:`sign_in_job_run`), which keeps the token (never the password). A connection
    activated before keeps its defaults and mappings and is connected again at once when
    they are complete. Returns the queued job (poll it: :func:`sign_in_of`)."""
    require_settings_access(actor)
    books_url = books_url.strip().rstrip("/")
    books_firm_code = books_firm_code.strip()
    username = username.strip()
    for name, value in (
        ("books_url", books_url),
        ("books_firm_code", books_firm_code),
        ("username", username),
        ("password", password),
    ):
        if not value:
            raise ValidationFailed(f"{name.replace('_', ' ')} is required", field=name)
    books_url = address_check(firm, books_url).url
    known = connection_of(firm)
    if known is not None and (known.books_url, known.books_firm_code) != (
        books_url,
        books_firm_code,
    ):
        _refuse_switching_books(known, books_url, books_firm_code)
    return _sign_in_queue(
        firm,
        actor,
        _secret(password, security_answer),
        purpose="activate",
        books_url=books_url,
        books_firm_code=books_firm_code,
        username=username,
    )


def _secret(password: str, security_answer: str) -> str:
    """What a sign-in job keeps encrypted: the password, and the security answer the books
    ask when the token is renewed."""
    return json.dumps({"password": password, "security_answer": security_answer})


def _secret_read(plain: str) -> tuple[str, str]:
    try:
        value = json.loads(plain)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("password"), str):
        return value["password"], str(value.get("security_answer") or "")
    return plain, ""  # a job queued before answers were kept: the password alone


@sensitive_variables("password")
def _sign_in_queue(
    firm: Firm, actor: User, password: str, *, purpose: str, **params: str
) -> BooksJob:
    """Queue a sign-in for the worker, the password encrypted in the job. A sign-in still
    queued for the firm is dropped (its password erased): the newest one is what counts."""
    now = clock.now()
    with transaction.atomic():
        BooksJob.objects.filter(firm=firm, kind=JobKind.SIGN_IN, state=RunState.QUEUED).update(
            state=RunState.FAILED,
            secret_ciphertext="",
            error_code="superseded",
            error_message="Replaced by a newer sign-in.",
            finished_at=now,
        )
        job = BooksJob.objects.create(
            firm=firm,
            kind=JobKind.SIGN_IN,
            params={"purpose": purpose, **params},
            secret_ciphertext=encrypt_token(password),
            requested_by=actor,
            requested_at=now,
        )
        ask("job", job.pk)
    return job


def sign_in_of(firm: Firm, job_id: int | None = None) -> BooksJob | None:
    """The firm's sign-in job ``job_id``, or its latest one."""
    jobs = BooksJob.objects.filter(firm=firm, kind=JobKind.SIGN_IN)
    if job_id is not None:
        return jobs.filter(pk=job_id).first()
    return jobs.order_by("-requested_at", "-pk").first()


def sign_in_pending(firm: Firm) -> BooksJob | None:
    """A sign-in the worker has not answered yet, if any."""
    return (
        BooksJob.objects.filter(firm=firm, kind=JobKind.SIGN_IN, state__in=PENDING)
        .order_by("-requested_at", "-pk")
        .first()
    )


def _job_refused(job: BooksJob, exc: DomainError) -> None:
    BooksJob.objects.filter(pk=job.pk).update(
        state=RunState.FAILED,
        error_code=exc.code[:80],
        error_message=exc.message[:1000],
        error_field=(exc.field or "")[:80],
        finished_at=clock.now(),
    )


@sensitive_variables("password", "security_answer", "ciphertext", "session")
def sign_in_job_run(*, job: BooksJob) -> Connection | None:
    """On the worker: take the sign-in job (erasing the password from its row in the same
    UPDATE), sign in to the books, and keep the token: pop-up 1's or the monthly
    re-authentication's second half. Returns the connection, or None when the job was
    refused (its ``error_*`` say why) or already taken."""
    ciphertext = job.secret_ciphertext
    if not take(BooksJob, job.pk, started_at=clock.now(), secret_ciphertext=""):
        return None
    try:
        password, security_answer = _secret_read(decrypt_token(ciphertext))
    except TokenUnreadable:
        _job_refused(
            job,
            ValidationFailed(
                "the password could not be read back (CASEBRIDGE_BRIDGE_KEYS changed); type "
                "it again",
                field="password",
            ),
        )
        return None
    params = {k: str(v) for k, v in job.params.items()}
    actor = job.requested_by
    assert actor is not None
    try:
        if params["purpose"] == "reauthenticate":
            conn = _reauthenticate(job.firm, actor, password, security_answer)
        else:
            conn = _activate(
                job.firm,
                actor,
                books_url=params["books_url"],
                books_firm_code=params["books_firm_code"],
                username=params["username"],
                password=password,
                security_answer=security_answer,
            )
    except (BooksRefused, ValidationFailed, NotConnected) as exc:
        _job_refused(job, exc)
        return None
    BooksJob.objects.filter(pk=job.pk).update(
        state=RunState.DONE,
        result={
            "username": conn.username,
            "token_expires_at": conn.token_expires_at.isoformat()
            if conn.token_expires_at
            else None,
        },
        finished_at=clock.now(),
    )
    return conn


@sensitive_variables("password", "security_answer", "session")
def _activate(
    firm: Firm,
    actor: User,
    *,
    books_url: str,
    books_firm_code: str,
    username: str,
    password: str,
    security_answer: str = "",
) -> Connection:
    # outside any transaction
    session = _sign_in(
        books_url, books_firm_code, username, password, security_answer, firm_id=firm.pk
    )
    with transaction.atomic():
        conn = Connection.objects.select_for_update().filter(firm=firm).first()
        if conn is None:
            conn = Connection(firm=firm, status=ConnectionStatus.NEEDS_DEFAULTS)
        elif conn.books_url != books_url or conn.books_firm_code != books_firm_code:
            # another books (nothing linked yet, checked above): the old ids are not there
            _refuse_switching_books(conn, books_url, books_firm_code)
            conn.operating_account_id = conn.trust_account_id = None
            conn.operating_account_name = conn.trust_account_name = ""
            conn.status = ConnectionStatus.NEEDS_DEFAULTS
            conn.readiness, conn.readiness_checked_at, conn.books_snapshot = [], None, {}
            conn.activity_codes, conn.cost_posting_code_id, conn.cost_posting_code_label = (
                [],
                None,
                "",
            )
        else:
            has_defaults = conn.operating_account_id and conn.trust_account_id
            conn.status = (
                ConnectionStatus.CONNECTED if has_defaults else ConnectionStatus.NEEDS_DEFAULTS
            )
        conn.books_url = books_url
        conn.books_firm_code = books_firm_code
        conn.username = username
        conn.books_user_id = session.user_id
        conn.token_ciphertext = encrypt_token(session.token)
        conn.token_expires_at = session.expires_at
        conn.auth_lapsed_at = None
        conn.activated_by = actor
        conn.activated_at = clock.now()
        conn.deactivated_at = None
        conn.updated_at = clock.now()
        conn.save()
        _audit(
            firm,
            actor,
            "activate",
            f"Books integration signed in as {username} ({books_url})",
            books_url=books_url,
            username=username,
            token_expires_at=session.expires_at.isoformat(),
        )
        if conn.status == ConnectionStatus.CONNECTED:
            _release_waiting(conn)
    return conn


def _refuse_switching_books(conn: Connection, books_url: str, firm_code: str) -> None:
    linked = CaseLink.objects.filter(firm_id=conn.firm_id).count()
    unfinished = OutboxItem.objects.filter(firm_id=conn.firm_id, state__in=UNFINISHED).count()
    if linked or unfinished:
        raise ValidationFailed(
            f"this firm's cases are linked to {words.plural(linked, 'file')} in the books at "
            f"{conn.books_url} (firm {conn.books_firm_code}) and "
            f"{words.plural(unfinished, 'item')} {words.plural_noun('is', unfinished)} still "
            f"to be sent there; connecting to {books_url} (firm {firm_code}) would send them to "
            "the wrong books. Sign in to the same books, or ask support to move the firm",
            field="books_url",
        )


@dataclass(frozen=True)
class AccountChoice:
    id: int
    name: str


@dataclass(frozen=True)
class DefaultChoices:
    """What pop-up 2 offers: the books' active bank accounts of each kind, and the activity
    codes a cost advance may post to (those of an Advanced client costs asset account)."""

    operating: list[AccountChoice]
    trust: list[AccountChoice]
    cost_posting: list[AccountChoice]
    #: every activity code the books hold, kept on the connection when the defaults are saved
    activity_codes: list[BooksActivityCode]

    @property
    def suggested_cost_posting(self) -> int | None:
        """The firm's own general advance code (no UTBMS code) if it has one, else UTBMS
        E124 Other, else the first: what pop-up 2 preselects."""
        codes = [c for c in self.activity_codes if c.is_active and c.posts_to_advanced_costs]
        for pick in (
            lambda c: not c.utbms_code,
            lambda c: c.utbms_code.upper() == "E124",
            lambda c: True,
        ):
            for c in sorted(codes, key=lambda c: (c.code.lower(), c.id)):
                if pick(c):
                    return c.id
        return None


def cost_posting_label(code: BooksActivityCode) -> str:
    name = f"{code.code} {code.name}".strip() if code.name != code.code else code.code
    # stored, and given as is by the API; the screens show it through the ``arrows`` filter
    return f"{name} -> GL {code.gl_account_label}"[:200]


def default_choices(conn: Connection) -> DefaultChoices:
    """The books' bank accounts and activity codes as the worker last read them (never
    asked here: ADR 0008); never read yet: refused with :class:`NotReadYet`, and a read is
    asked for."""
    banks = snapshot.bank_accounts(conn)
    if banks is None:
        snapshot.refresh_request(conn)
        raise NotReadYet(
            "the books' bank accounts have not been read yet; the worker is reading them "
            "now, try again in a moment"
            + (f" (the last attempt: {conn.refresh_error})" if conn.refresh_error else "")
        )
    codes = known_activity_codes(conn)
    return DefaultChoices(
        operating=[
            AccountChoice(b.id, b.name) for b in banks if b.kind == "operating" and b.is_active
        ],
        trust=[AccountChoice(b.id, b.name) for b in banks if b.kind == "trust" and b.is_active],
        cost_posting=[
            AccountChoice(c.id, words.arrows(cost_posting_label(c)))
            for c in sorted(codes, key=lambda c: (c.code.lower(), c.id))
            if c.is_active and c.posts_to_advanced_costs
        ],
        activity_codes=codes,
    )


def connection_defaults_save(
    *,
    firm: Firm,
    actor: User,
    operating_account_id: int,
    trust_account_id: int,
    invoice_release: str,
    cost_posting_code_id: int | None = None,
    check_sync_hour: int | None = None,
) -> Connection:
    """Pop-up 2: the defaults, checked against what the books hold. Saving connects.
    ``cost_posting_code_id`` is the default cost posting reference: the books activity code
    a cost advance posts to when its cost code has no mapping and no code of the same UTBMS
    code; it must post to Advanced client costs (None: the suggested one).
    ``check_sync_hour`` (0-23, the firm's time) is when check statuses come back nightly;
    None keeps the current hour (02:00 at first)."""
    require_settings_access(actor)
    conn = connection_of(firm)
    if conn is None or not conn.token_ciphertext:
        raise NotConnected("sign in with the integration user first (Activate)")
    if invoice_release not in InvoiceRelease.values:
        raise ValidationFailed("choose released automatically or reviewed", field="invoice_release")
    if check_sync_hour is not None and not 0 <= check_sync_hour <= 23:
        raise ValidationFailed("choose an hour from 0 to 23", field="check_sync_hour")
    choices = default_choices(conn)
    if cost_posting_code_id is None:
        cost_posting_code_id = choices.suggested_cost_posting
    all_codes = {c.id: c for c in choices.activity_codes}
    cost_posting = all_codes.get(cost_posting_code_id) if cost_posting_code_id else None
    if cost_posting is None or not cost_posting.is_active:
        raise ValidationFailed(
            "choose the cost posting reference: an active activity code of the books that "
            "posts to Advanced client costs"
            + (
                ""
                if choices.cost_posting
                else " (the books have none: in the books, Gear → Rates/Codes → Activity "
                "Code → Add, with GL account Advanced Client Costs)"
            ),
            field="cost_posting_code",
        )
    if not cost_posting.posts_to_advanced_costs:
        raise ValidationFailed(
            f"{words.arrows(cost_posting_label(cost_posting))} is not an Advanced client costs "
            "asset account: a cost advance is Dr Advanced client costs / Cr Operating bank. Choose "
            "a code that posts to Advanced client costs",
            field="cost_posting_code",
        )
    operating = {a.id: a for a in choices.operating}.get(operating_account_id)
    if operating is None:
        raise ValidationFailed(
            "choose an active operating bank account of the books", field="operating_account"
        )
    trust = {a.id: a for a in choices.trust}.get(trust_account_id)
    if trust is None:
        raise ValidationFailed(
            "choose an active client trust bank account of the books", field="trust_account"
        )
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=conn.pk)
        before = {
            "cost_posting_reference": conn.cost_posting_code_label,
            "operating_account": conn.operating_account_name,
            "trust_account": conn.trust_account_name,
            "invoice_release": conn.invoice_release,
        }
        conn.cost_posting_code_id = cost_posting.id
        conn.cost_posting_code_label = cost_posting_label(cost_posting)
        conn.operating_account_id = operating.id
        conn.operating_account_name = operating.name
        conn.trust_account_id = trust.id
        conn.trust_account_name = trust.name
        conn.invoice_release = invoice_release
        if check_sync_hour is not None:
            conn.check_sync_hour = check_sync_hour
        was_connected = conn.status == ConnectionStatus.CONNECTED
        conn.status = ConnectionStatus.CONNECTED
        conn.deactivated_at = None
        conn.updated_at = clock.now()
        conn.save()
        audit_record(
            system="bridge",
            firm_id=firm.pk,
            actor_id=actor.pk,
            actor_label=actor.email,
            action="change" if was_connected else "connect",
            entity_type="books_connection",
            entity_id=firm.pk,
            summary="Books integration defaults saved; connected",
            before=before,
            after={
                "cost_posting_reference": conn.cost_posting_code_label,
                "operating_account": operating.name,
                "trust_account": trust.name,
                "invoice_release": invoice_release,
                "check_sync_hour": conn.check_sync_hour,
            },
        )
        _release_waiting(conn)
        snapshot.refresh_request(conn)  # the readiness checks of the accounts chosen
    return conn


def connection_deactivate(*, firm: Firm, actor: User) -> Connection:
    """Stop sending. Mappings, links and the queue are kept; nothing queued is lost, and it
    goes out once the integration is activated again."""
    require_settings_access(actor)
    with transaction.atomic():
        conn = Connection.objects.select_for_update().filter(firm=firm).first()
        if conn is None or conn.status == ConnectionStatus.DEACTIVATED:
            raise NotConnected("the books integration is not active")
        conn.status = ConnectionStatus.DEACTIVATED
        conn.deactivated_at = clock.now()
        conn.updated_at = clock.now()
        conn.save(update_fields=["status", "deactivated_at", "updated_at"])
        _audit(firm, actor, "deactivate", "Books integration deactivated")
    return conn


@sensitive_variables("password", "security_answer")
def connection_reauthenticate(
    *, firm: Firm, actor: User, password: str, security_answer: str = ""
) -> BooksJob:
    """The monthly re-authentication: the integration user's password and security answer
    (the books ask the question again when the token is renewed), queued for the worker
    like pop-up 1. Everything that waited goes out, once."""
    require_settings_access(actor)
    conn = connection_of(firm)
    if conn is None or not conn.username:
        raise NotConnected("activate the books integration first")
    if not password:
        raise ValidationFailed("password is required", field="password")
    return _sign_in_queue(
        firm,
        actor,
        _secret(password, security_answer),
        purpose="reauthenticate",
        username=conn.username,
    )


@sensitive_variables("password", "security_answer", "session")
def _reauthenticate(
    firm: Firm, actor: User, password: str, security_answer: str = ""
) -> Connection:
    conn = connection_of(firm)
    if conn is None or not conn.username:
        raise NotConnected("activate the books integration first")
    session = _sign_in(
        conn.books_url,
        conn.books_firm_code,
        conn.username,
        password,
        security_answer,
        firm_id=firm.pk,
    )
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=conn.pk)
        conn.token_ciphertext = encrypt_token(session.token)
        conn.token_expires_at = session.expires_at
        conn.books_user_id = session.user_id
        conn.auth_lapsed_at = None
        conn.updated_at = clock.now()
        conn.save()
        _audit(
            firm,
            actor,
            "reauthenticate",
            f"Books integration re-authenticated as {conn.username}",
            token_expires_at=session.expires_at.isoformat(),
        )
        _release_waiting(conn)
    return conn


def connection_mark_lapsed(*, conn: Connection) -> bool:
    """The books refused the token: record it so that screens say so and sends wait. Only
    if it is still the same token: a run holding the old one must not undo a fresh
    re-authentication. Returns whether the connection's current token is lapsed (False:
    an administrator re-authenticated meanwhile, so what was refused can go again)."""
    now = clock.now()
    same_token = Connection.objects.filter(pk=conn.pk, token_ciphertext=conn.token_ciphertext)
    same_token.filter(auth_lapsed_at__isnull=True).update(auth_lapsed_at=now, updated_at=now)
    conn.auth_lapsed_at = conn.auth_lapsed_at or now
    return same_token.exists()


def _release_waiting(conn: Connection) -> None:
    """Items that waited for re-authentication (or activation) go back in the queue, due
    now, and a delivery run is scheduled when the transaction commits."""
    from casebridge.bridge.services.delivery import schedule_delivery

    OutboxItem.objects.filter(firm_id=conn.firm_id, state=OutboxState.WAITING).update(
        state=OutboxState.QUEUED, next_attempt_at=clock.now()
    )
    schedule_delivery(conn.firm_id)


# --- The firm's allowed books addresses (issue 13) --------------------------------------------


def books_address_confirm(*, firm: Firm, actor: User, address: str) -> BooksAddressConfirmation:
    """A firm administrator confirms that the bridge may reach this exact host and port
    (``host:port``, ``[v6]:port``, or a whole books address: its host and port), private
    network addresses included. Checked for its form only (no name is resolved here); a
    cloud metadata address is refused always, and loopback (the server itself) is not
    something to confirm: ``CASEBRIDGE_ALLOW_LOOPBACK_BOOKS`` decides it. Audited."""
    require_admin(actor, "confirm a books address")
    try:
        host, port = outbound.parse_hostport(address)
        if port is None:
            raise outbound.refused(outbound.PORT)
        ip = outbound.parse_host(f"[{host}]" if ":" in host else host)[1]
        where = outbound.hostport(host, port)
        if host in outbound.METADATA_NAMES or (
            ip is not None and outbound.kind_of(ip) == "metadata"
        ):
            raise outbound.refused(outbound.METADATA, where)
        if host == "localhost" or (ip is not None and outbound.kind_of(ip) == "loopback"):
            raise outbound.refused(outbound.LOOPBACK, where)
    except outbound.AddressRefused as exc:
        raise BooksAddressRefused(exc.code, exc.message, field="address") from None
    with transaction.atomic():
        confirmation, created = BooksAddressConfirmation.objects.get_or_create(
            firm=firm,
            host=host,
            port=port,
            defaults={"confirmed_by": actor, "confirmed_at": clock.now()},
        )
        if not created:
            raise ValidationFailed(f"{where} is already confirmed", field="address")
        audit_record(
            system="bridge",
            firm_id=firm.pk,
            actor_id=actor.pk,
            actor_label=actor.email,
            action="confirm_address",
            entity_type="books_address",
            entity_id=confirmation.pk,
            summary=f"Books address {where} confirmed: the bridge may reach it",
            after={"host": host, "port": port},
        )
    return confirmation


def books_address_remove(*, firm: Firm, actor: User, confirmation_id: int) -> None:
    """A firm administrator withdraws a confirmation: the bridge no longer reaches that
    host and port (unless the server's settings list it). Audited."""
    require_admin(actor, "remove a confirmed books address")
    with transaction.atomic():
        confirmation = (
            BooksAddressConfirmation.objects.select_for_update()
            .filter(firm=firm, pk=confirmation_id)
            .first()
        )
        if confirmation is None:
            raise ValidationFailed("no such confirmed books address", field="address")
        where = str(confirmation)
        audit_record(
            system="bridge",
            firm_id=firm.pk,
            actor_id=actor.pk,
            actor_label=actor.email,
            action="remove_address",
            entity_type="books_address",
            entity_id=confirmation.pk,
            summary=f"Books address {where} removed from the confirmed addresses",
            before={"host": confirmation.host, "port": confirmation.port},
        )
        confirmation.delete()


def books_addresses_of(firm: Firm) -> QuerySet[BooksAddressConfirmation]:
    """The firm's confirmed books addresses, for the Integrations screen."""
    return BooksAddressConfirmation.objects.filter(firm=firm).select_related("confirmed_by")


# --- What the screens show --------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionView:
    """The connection as a person reads it."""

    label: (
        str  # Not connected / Needs defaults / Connected / Deactivated / Re-authentication required
    )
    badge: str  # ok, warn, bad, muted
    connected: bool
    needs_reauth: bool
    days_left: int | None
    expires_at: dt.datetime | None


def token_lapsed(conn: Connection) -> bool:
    return bool(
        conn.auth_lapsed_at or not conn.token_expires_at or conn.token_expires_at <= clock.now()
    )


def connection_view(conn: Connection | None) -> ConnectionView:
    if conn is None:
        return ConnectionView("Not connected", "muted", False, False, None, None)
    lapsed = token_lapsed(conn)
    days_left = None
    if conn.token_expires_at and not lapsed:
        days_left = max(0, int((conn.token_expires_at - clock.now()).total_seconds() // 86400))
    if conn.status == ConnectionStatus.DEACTIVATED:
        return ConnectionView(
            "Deactivated", "muted", False, lapsed, days_left, conn.token_expires_at
        )
    if lapsed:
        return ConnectionView(
            "Re-authentication required", "bad", False, True, None, conn.token_expires_at
        )
    if conn.status == ConnectionStatus.NEEDS_DEFAULTS:
        return ConnectionView(
            "Needs defaults", "warn", False, False, days_left, conn.token_expires_at
        )
    return ConnectionView("Connected", "ok", True, False, days_left, conn.token_expires_at)
