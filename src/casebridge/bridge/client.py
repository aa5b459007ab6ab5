"""The books, as the bridge sees them: a small Protocol and its HTTP implementation.

Everything the bridge knows about the books goes through :class:`BooksClient`, and every
value that crosses is a frozen dataclass of plain data (no ORM instance ever crosses).
:class:`HttpBooksClient` speaks the books' API v1 over real HTTP with ``httpx``; another
vendor's accounting system would be a second implementation of the same Protocol.

Failures are sorted into what the caller must do about them:

- :class:`BooksUnreachable`: a timeout, a refused connection, a 5xx, a 429, a 409 the
  books mark ``retryable`` (a race), or an answer that is not the books API's. Nothing is
  known to have happened; retry later with the same idempotency key.
- :class:`BooksAuthLapsed`: the token lapsed (the monthly re-authentication) or was
  revoked. Wait for an administrator; never retry with the same token.
- :class:`BooksRejected`: a 4xx refusal about the request itself. Retrying it unchanged
  will fail again; show the books' reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

import httpx

from casebridge.bridge import outbound
from casebridge.core.errors import DomainError
from casebridge.core.logs import REQUEST_ID_HEADER, current_request_id
from casebridge.core.money import parse_amount

log = logging.getLogger(__name__)

#: Seconds to wait for the books' answer, and for a connection to them (the settings'
#: BRIDGE_HTTP_TIMEOUT and BRIDGE_CONNECT_TIMEOUT are what the services pass).
DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 3.0
#: The books' largest page and batch sizes.
PAGE_SIZE = 1000
#: Ids per ``GET /checks?ids=``: keeps the URL under the 4 KB request line that servers
#: such as gunicorn accept by default (a comma is sent as %2C).
IDS_PER_GET = 250
#: Rows per page of the books' keyset-paged reports (their maximum).
BULK_PAGE_SIZE = 10_000
#: Files per page of ``GET /reports/external-digests`` (its maximum).
DIGEST_PAGE_SIZE = 50_000

#: Books error codes that mean "log in again", not "the request is wrong".
AUTH_LAPSED_CODES = frozenset({"reauthentication_required", "invalid_token", "not_authenticated"})


# --- Never from a web request (ADR 0008) ---------------------------------------------------

_in_web_request: ContextVar[bool] = ContextVar("casebridge_bridge_in_web_request", default=False)


class BooksCallInWebRequest(RuntimeError):
    """A web request was about to call the books. A bug: a web worker must never wait on
    the books (they may be served by the same, busy, workers); the worker asks them."""


@contextlib.contextmanager
def web_request() -> Iterator[None]:
    """Marks the code run inside it as serving a web request (``BooksNeverInWebRequest``)."""
    token = _in_web_request.set(True)
    try:
        yield
    finally:
        _in_web_request.reset(token)


@contextlib.contextmanager
def worker() -> Iterator[None]:
    """Marks the code run inside it as the worker's, which may call the books (a task run
    inline by Huey's immediate mode, in tests and in `make run` set-ups, included)."""
    token = _in_web_request.set(False)
    try:
        yield
    finally:
        _in_web_request.reset(token)


def refuse_in_web_request() -> None:
    if _in_web_request.get():
        raise BooksCallInWebRequest(
            "a web request tried to call the books; web requests use what the worker last "
            "read and queue what needs the books (ADR 0008)"
        )


class BooksError(Exception):
    """Any failure talking to the books."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.field = field
        self.details = details or {}


class BooksUnreachable(BooksError):
    """Nothing is known to have happened: retry later, with the same idempotency key."""


class BooksAuthLapsed(BooksError):
    """The token no longer works: an administrator must re-authenticate."""


class BooksRejected(BooksError):
    """The books refused the request itself (a 4xx other than the above)."""


# --- Plain data that crosses the boundary -------------------------------------------------


@dataclass(frozen=True)
class BooksSession:
    token: str = field(repr=False)  # a secret: never in a log line or an error report
    expires_at: dt.datetime
    user_id: int
    user_email: str
    firm_code: str
    firm_name: str


@dataclass(frozen=True)
class SessionInfo:
    expires_at: dt.datetime
    days_left: int
    user_id: int
    user_email: str
    user_is_integration: bool


@dataclass(frozen=True)
class BooksUser:
    id: int
    email: str
    name: str
    is_admin: bool
    records_time: bool
    is_active: bool


@dataclass(frozen=True)
class BooksFeatures:
    release_invoice_stage: bool


@dataclass(frozen=True)
class BooksArea:
    id: int
    name: str
    description: str


@dataclass(frozen=True)
class BooksActivityCode:
    id: int
    code: str
    name: str
    description: str
    gl_account_id: int | None
    gl_account_label: str
    is_active: bool
    utbms_code: str = ""
    #: the GL account's type ("asset", "income", ...) and role ("advanced_costs", ...)
    gl_account_type: str = ""
    gl_account_role: str = ""

    @property
    def posts_to_advanced_costs(self) -> bool:
        """Whether a cost advance may post here: an asset account of the advanced-costs
        role (domain.md section 4: Dr Advanced client costs / Cr Operating bank)."""
        return self.gl_account_type == "asset" and self.gl_account_role == "advanced_costs"

    @property
    def posts_to_income(self) -> bool:
        return self.gl_account_type == "income"


@dataclass(frozen=True)
class BooksBankAccount:
    id: int
    name: str
    kind: str  # "operating" or "trust"
    is_active: bool


@dataclass(frozen=True)
class FileRequest:
    external_ref: str
    name: str
    client_external_ref: str
    client_name: str
    client_email: str = ""
    area_of_practice_id: int | None = None
    responsible_attorney_id: int | None = None
    opened_on: dt.date | None = None


@dataclass(frozen=True)
class BooksFile:
    id: int
    number: str
    external_ref: str | None
    client_id: int


@dataclass(frozen=True)
class CheckRequest:
    external_ref: str
    bank_account_id: int
    payee: str
    amount_cents: int
    file_id: int | None
    activity_code_id: int | None
    memo: str = ""
    posting_reference: str = ""
    request_date: dt.date | None = None
    #: "ach": paid by ACH to the bank details of the books contact ``payee_contact_id``
    #: (the books refuse 422 on payee_contact when it has none; ADR 0046).
    method: str = "check"
    payee_contact_id: int | None = None


@dataclass(frozen=True)
class BooksCheck:
    id: int
    external_ref: str | None
    status: str  # queued, printed, voided
    amount_cents: int
    check_number: int | None
    printed_on: dt.date | None
    voided_on: dt.date | None
    void_reason: str = ""
    #: "ach": the books pay it by ACH (never printed: ``status`` stays queued until it is
    #: voided); books that do not say are read as "check" (ADR 0055).
    method: str = "check"
    #: Paid by ACH: queued, batched (in a NACHA file), sent (to the bank), returned or
    #: cancelled (both void the check); "" for a check.
    ach_status: str = ""
    ach_sent_on: dt.date | None = None
    ach_trace_number: str = ""
    #: When the bank cleared it (a statement line matched in the books).
    cleared_on: dt.date | None = None


@dataclass(frozen=True)
class ReceiptRequest:
    external_ref: str
    bank_account_id: int
    file_id: int
    payer: str
    amount_cents: int
    received_on: dt.date | None = None
    reference: str = ""
    memo: str = ""


@dataclass(frozen=True)
class BooksReceipt:
    id: int
    external_ref: str | None
    status: str  # posted, voided
    amount_cents: int


@dataclass(frozen=True)
class InvoiceLineRequest:
    kind: str  # "fee" (a time entry by ``timekeeper_id``) or "cost" (``activity_code_id``)
    description: str
    amount_cents: int
    timekeeper_id: int | None = None
    activity_code_id: int | None = None
    external_ref: str = ""


@dataclass(frozen=True)
class InvoiceRequest:
    external_ref: str
    file_id: int
    lines: tuple[InvoiceLineRequest, ...]
    trust_bank_account_id: int
    operating_bank_account_id: int
    release: str  # "auto" or "review"
    description: str = ""
    invoice_date: dt.date | None = None


@dataclass(frozen=True)
class BooksInvoice:
    id: int
    number: int
    external_ref: str | None
    stage: str  # draft, review, release, final, voided
    total_cents: int
    finalised_on: dt.date | None


@dataclass(frozen=True)
class BooksDocument:
    """One row of the books' external-documents report: a check, receipt or invoice."""

    id: int
    external_ref: str
    file_id: int | None
    bank_account_id: int | None
    amount_cents: int
    status: str
    number: int | None
    date: dt.date | None
    void_date: dt.date | None


@dataclass(frozen=True)
class BooksDigests:
    """The books' per-file digests of the documents under a prefix
    (``/reports/external-digests``; :mod:`casebridge.core.digest` says how a digest is
    made), and each file's trust balance."""

    #: file id (None: the documents without a file) -> (documents, cents, hash)
    documents: dict[int | None, tuple[int, int, str]]
    #: file id -> trust balance in cents, for every file with a ledger or a document
    balances: dict[int, int]


@dataclass(frozen=True)
class ThreeWay:
    """The books' three-way reconciliation of a trust account (figures in cents)."""

    bank_account_name: str
    as_of: dt.date
    statement_cents: int
    deposits_in_transit_cents: int
    outstanding_checks_cents: int
    adjusted_bank_cents: int
    trust_journal_cents: int
    client_ledgers_cents: int
    differences: tuple[str, ...]
    is_reconciled: bool
    #: (check number or None, payee, amount in cents) of each outstanding check.
    outstanding: tuple[tuple[int | None, str, int], ...] = ()


class BooksClient(Protocol):
    """What the bridge needs from an accounting system."""

    def session_create(
        self, *, firm_code: str, username: str, password: str, security_answer: str = ""
    ) -> BooksSession: ...

    def session_get(self) -> SessionInfo: ...

    def users(self) -> list[BooksUser]: ...

    def features(self) -> BooksFeatures: ...

    def areas_of_practice(self) -> list[BooksArea]: ...

    def activity_codes(self) -> list[BooksActivityCode]: ...

    def bank_accounts(self) -> list[BooksBankAccount]: ...

    def files_find_or_create(
        self, items: Sequence[FileRequest], *, idempotency_key: str
    ) -> list[BooksFile]: ...

    def checks_request(
        self, items: Sequence[CheckRequest], *, idempotency_key: str
    ) -> list[BooksCheck]: ...

    def checks_get(self, ids: Sequence[int]) -> list[BooksCheck]: ...

    def checks_by_external_ref(self, external_ref: str) -> list[BooksCheck]: ...

    def check_void(self, check_id: int, *, reason: str, idempotency_key: str) -> BooksCheck: ...

    def check_print(
        self, check_id: int, *, idempotency_key: str, check_number: int | None = None
    ) -> BooksCheck: ...

    def trust_receipt_record(
        self, receipt: ReceiptRequest, *, idempotency_key: str
    ) -> BooksReceipt: ...

    def trust_receipts_record(
        self, receipts: Sequence[ReceiptRequest], *, idempotency_key: str
    ) -> list[BooksReceipt]: ...

    def trust_receipts_by_external_ref(self, external_ref: str) -> list[BooksReceipt]: ...

    def trust_receipt_void(
        self, receipt_id: int, *, reason: str, idempotency_key: str
    ) -> BooksReceipt: ...

    def invoice_create(self, invoice: InvoiceRequest, *, idempotency_key: str) -> BooksInvoice: ...

    def invoices_create(
        self, invoices: Sequence[InvoiceRequest], *, idempotency_key: str
    ) -> list[BooksInvoice]: ...

    def invoices_by_external_ref(self, external_ref: str) -> list[BooksInvoice]: ...

    def invoice_get(self, invoice_id: int) -> BooksInvoice: ...

    def trust_balances(self, bank_account_id: int, file_ids: Sequence[int]) -> dict[int, int]: ...

    def all_trust_balances(self, bank_account_id: int) -> dict[int, int]: ...

    def external_documents(
        self, kind: str, prefix: str, *, file_id: int | None = None
    ) -> list[BooksDocument]: ...

    def external_digests(self, bank_account_id: int, prefix: str) -> BooksDigests: ...

    def external_documents_of_files(
        self, kind: str, prefix: str, file_ids: Sequence[int], *, no_file: bool = False
    ) -> list[BooksDocument]: ...

    def three_way(
        self,
        bank_account_id: int,
        *,
        statement_cents: int,
        deposits_in_transit_cents: int = 0,
        outstanding_checks_cents: int | None = None,
        as_of: dt.date | None = None,
    ) -> ThreeWay: ...

    def close(self) -> None: ...


# --- The HTTP implementation ---------------------------------------------------------------

P = ParamSpec("P")
T = TypeVar("T")


def _answers(method: Callable[P, T]) -> Callable[P, T]:
    """A 2xx answer that is not what the books API sends (another server at that address,
    a proxy's page) is reported as such, never as a crash."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except (KeyError, TypeError, ValueError, AttributeError, DomainError) as exc:
            # what did not parse came from the other side: never repeated, only logged by type
            log.warning("an answer that is not the books API's: %s", type(exc).__name__)
            raise no_answer() from None

    return wrapper


def _cents(value: str) -> int:
    return parse_amount(value)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _document(r: dict[str, Any]) -> BooksDocument:
    return BooksDocument(
        id=int(r["id"]),
        external_ref=str(r["external_ref"]),
        file_id=r.get("file_id"),
        bank_account_id=r.get("bank_account_id"),
        amount_cents=_cents(r["amount"]),
        status=str(r["status"]),
        number=r.get("number"),
        date=_date(r.get("date")),
        void_date=_date(r.get("void_date")),
    )


def _check(body: dict[str, Any]) -> BooksCheck:
    ach = body.get("ach") or {}
    return BooksCheck(
        id=int(body["id"]),
        external_ref=body.get("external_ref"),
        status=str(body["status"]),
        amount_cents=_cents(body["amount"]),
        check_number=body.get("check_number"),
        printed_on=_date(body.get("printed_on")),
        voided_on=_date(body.get("voided_on")),
        void_reason=str(body.get("void_reason") or ""),
        # fields the books added with ACH (ADR 0055): absent from older books' answers
        method="ach" if body.get("method") == "ach" else "check",
        ach_status=str(ach.get("status") or ""),
        ach_sent_on=_date(ach.get("sent_on")),
        ach_trace_number=str(ach.get("trace_number") or ""),
        cleared_on=_date(body.get("cleared_on")),
    )


def _receipt(body: dict[str, Any]) -> BooksReceipt:
    return BooksReceipt(
        id=int(body["id"]),
        external_ref=body.get("external_ref"),
        status=str(body["status"]),
        amount_cents=_cents(body["amount"]),
    )


def _invoice(body: dict[str, Any]) -> BooksInvoice:
    return BooksInvoice(
        id=int(body["id"]),
        number=int(body["number"]),
        external_ref=body.get("external_ref"),
        stage=str(body["stage"]),
        total_cents=_cents(body["total"]),
        finalised_on=_date(body.get("finalised_on")),
    )


def _amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


#: What every failure to get a books answer says: a refused, reset, silent or non-HTTP
#: port, a TLS failure, an answer that is not the books API's. One message and one code, so
#: that nothing tells a closed port from an open one, and nothing the other side sent is
#: repeated (issue 13). The worker's log names the exception's type for the operator.
NO_BOOKS_ANSWER = "the books did not answer as a Casebridge books API"
NO_BOOKS_ANSWER_CODE = "books_unreachable"

#: A books error code is short snake case; anything else is not the books'.
_BOOKS_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _receipt_json(receipt: ReceiptRequest) -> dict[str, Any]:
    return {
        "external_ref": receipt.external_ref,
        "bank_account_id": receipt.bank_account_id,
        "file_id": receipt.file_id,
        "payer": receipt.payer,
        "amount": _amount(receipt.amount_cents),
        "received_on": receipt.received_on.isoformat() if receipt.received_on else None,
        "reference": receipt.reference,
        "memo": receipt.memo,
    }


def _invoice_json(invoice: InvoiceRequest) -> dict[str, Any]:
    return {
        "external_ref": invoice.external_ref,
        "file_id": invoice.file_id,
        "description": invoice.description[:255],
        "invoice_date": invoice.invoice_date.isoformat() if invoice.invoice_date else None,
        "pay_from_trust": True,
        "trust_bank_account_id": invoice.trust_bank_account_id,
        "operating_bank_account_id": invoice.operating_bank_account_id,
        "release": invoice.release,
        "lines": [
            {
                "kind": ln.kind,
                "description": ln.description[:255],
                "amount": _amount(ln.amount_cents),
                "timekeeper_id": ln.timekeeper_id,
                "activity_code_id": ln.activity_code_id,
                "external_ref": ln.external_ref,
            }
            for ln in invoice.lines
        ],
    }


def no_answer(*, status: int | None = None) -> BooksUnreachable:
    return BooksUnreachable(NO_BOOKS_ANSWER_CODE, NO_BOOKS_ANSWER, status=status)


class HttpBooksClient:
    """The books' API v1 over HTTP. ``base_url`` ends in ``/books/api/v1``.

    The address is checked (:mod:`.outbound`) here and again before every request, against
    the server's allow-list and the firm's ``confirmed`` (host, port) pairs, and each
    request goes to the IP address that passed the check. ``transport``, for tests and the
    in-process benchmark, stands in for the network behind that check."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        confirmed: Iterable[tuple[str, int]] = (),
    ) -> None:
        refuse_in_web_request()
        try:
            address = outbound.parse(base_url)
        except outbound.AddressRefused as exc:
            raise BooksUnreachable(exc.code, exc.message) from None
        self.address = address
        headers = {"Accept": "application/json", "User-Agent": "casebridge-bridge/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        pinned = outbound.PinnedTransport(
            address,
            outbound.policy(confirmed),
            deadline_seconds=timeout + connect_timeout,
            inner=transport,
        )
        self._http = httpx.Client(
            base_url=address.url + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout, pool=connect_timeout),
            transport=pinned,
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the pinned address only
        )

    def close(self) -> None:
        self._http.close()

    # -- transport --------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        request_id = current_request_id()
        if request_id:  # the books log the request under the id of what is delivered
            headers[REQUEST_ID_HEADER] = request_id
        try:
            response = self._http.request(
                method, path.lstrip("/"), json=json, params=params, headers=headers
            )
        except outbound.AddressRefusedError as exc:
            raise BooksUnreachable(exc.refusal.code, exc.refusal.message) from None
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
            log.warning(
                "the books at %s did not answer: %s", self.address.hostport, type(exc).__name__
            )
            raise no_answer() from None
        status = response.status_code
        if status == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success:
            if not isinstance(body, dict):
                raise no_answer(status=status)
            return body
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if (
            status >= 500
            or not isinstance(code, str)
            or not _BOOKS_CODE.match(code)
            or not isinstance(message, str)
        ):
            # not the books API's refusal (a proxy's page, another service, a crash): its
            # text is never repeated
            raise no_answer(status=status)
        assert isinstance(error, dict)
        details = error.get("details")
        field = error.get("field")
        kwargs: dict[str, Any] = {
            "status": status,
            "field": field if isinstance(field, str) else None,
            "details": details if isinstance(details, dict) else None,
        }
        message = message[:500]
        if status == 401 and code in AUTH_LAPSED_CODES:
            raise BooksAuthLapsed(code, message, **kwargs)
        # a 409 is worth retrying only when the books say so (a race on a unique key)
        retryable_race = status == 409 and bool((kwargs["details"] or {}).get("retryable"))
        if status in (408, 429) or retryable_race:
            raise BooksUnreachable(code, message, **kwargs)
        raise BooksRejected(code, message, **kwargs)

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a paged list, page by page: each page's ``next`` goes back as
        ``cursor`` until it is null (the one paging shape of the books' API). ``params``
        may set ``limit``; the default is :data:`PAGE_SIZE`."""
        query: dict[str, Any] = {"limit": PAGE_SIZE, **(params or {})}
        seen: set[str] = set()
        while True:
            body = self._request("GET", path, params=query)
            items = body["items"]
            yield from items
            cursor = body.get("next")
            if not cursor:
                return
            if cursor in seen or not items:  # a books' bug must not loop the worker forever
                raise BooksRejected(
                    "paging_loop",
                    f"the books answered {path} with a page that leads nowhere new "
                    "(a repeated cursor, or an empty page with a next one)",
                )
            seen.add(str(cursor))
            query = {**query, "cursor": cursor}

    # -- the session ----------------------------------------------------------------------

    @_answers
    def session_create(
        self, *, firm_code: str, username: str, password: str, security_answer: str = ""
    ) -> BooksSession:
        payload = {"firm": firm_code, "username": username, "password": password}
        if security_answer:  # the books ask it again when the token is renewed
            payload["security_answer"] = security_answer
        body = self._request("POST", "auth/session", json=payload)
        return BooksSession(
            token=str(body["token"]),
            expires_at=dt.datetime.fromisoformat(body["expires_at"]),
            user_id=int(body["user"]["id"]),
            user_email=str(body["user"]["email"]),
            firm_code=str(body["firm"]["code"]),
            firm_name=str(body["firm"]["name"]),
        )

    @_answers
    def session_get(self) -> SessionInfo:
        body = self._request("GET", "auth/session")
        return SessionInfo(
            expires_at=dt.datetime.fromisoformat(body["expires_at"]),
            days_left=int(body["days_left"]),
            user_id=int(body["user"]["id"]),
            user_email=str(body["user"]["email"]),
            user_is_integration=bool(body["user"].get("is_integration_user", False)),
        )

    # -- reference data --------------------------------------------------------------------

    @_answers
    def users(self) -> list[BooksUser]:
        return [
            BooksUser(
                id=int(u["id"]),
                email=str(u["email"]),
                name=f"{u.get('first_name', '')} {u.get('last_name', '')}".strip(),
                is_admin=bool(u["is_admin"]),
                records_time=bool(u["records_time"]),
                is_active=bool(u["is_active"]),
            )
            for u in self._pages("users")
        ]

    @_answers
    def features(self) -> BooksFeatures:
        body = self._request("GET", "features")
        return BooksFeatures(release_invoice_stage=bool(body["release_invoice_stage_enabled"]))

    @_answers
    def areas_of_practice(self) -> list[BooksArea]:
        return [
            BooksArea(id=int(a["id"]), name=str(a["name"]), description=str(a["description"]))
            for a in self._pages("areas-of-practice")
        ]

    @_answers
    def activity_codes(self) -> list[BooksActivityCode]:
        out = []
        for c in self._pages("activity-codes"):
            gl = c.get("gl_account") or {}
            out.append(
                BooksActivityCode(
                    id=int(c["id"]),
                    code=str(c["code"]),
                    name=str(c["name"]),
                    description=str(c.get("description", "")),
                    gl_account_id=int(gl["id"]) if gl.get("id") else None,
                    gl_account_label=f"{gl.get('number', '')} {gl.get('name', '')}".strip(),
                    is_active=bool(c.get("is_active", True)),
                    utbms_code=str(c.get("utbms_code") or ""),
                    gl_account_type=str(gl.get("type") or ""),
                    gl_account_role=str(gl.get("role") or ""),
                )
            )
        return out

    @_answers
    def bank_accounts(self) -> list[BooksBankAccount]:
        return [
            BooksBankAccount(
                id=int(b["id"]),
                name=str(b["name"]),
                kind=str(b["kind"]),
                is_active=bool(b.get("is_active", True)),
            )
            for b in self._pages("bank-accounts")
        ]

    # -- files and checks -------------------------------------------------------------------

    @_answers
    def files_find_or_create(
        self, items: Sequence[FileRequest], *, idempotency_key: str
    ) -> list[BooksFile]:
        body = self._request(
            "POST",
            "files/batch",
            json={
                "items": [
                    {
                        "external_ref": f.external_ref,
                        "name": f.name,
                        "area_of_practice_id": f.area_of_practice_id,
                        "responsible_attorney_id": f.responsible_attorney_id,
                        "opened_on": f.opened_on.isoformat() if f.opened_on else None,
                        "client": {
                            "external_ref": f.client_external_ref,
                            "name": f.client_name,
                            "email": f.client_email,
                        },
                    }
                    for f in items
                ]
            },
            idempotency_key=idempotency_key,
        )
        return [
            BooksFile(
                id=int(f["id"]),
                number=str(f["number"]),
                external_ref=f.get("external_ref"),
                client_id=int(f["client"]["id"]),
            )
            for f in body["items"]
        ]

    @_answers
    def checks_request(
        self, items: Sequence[CheckRequest], *, idempotency_key: str
    ) -> list[BooksCheck]:
        body = self._request(
            "POST",
            "checks/batch",
            json={
                "items": [
                    {
                        "external_ref": c.external_ref,
                        "bank_account_id": c.bank_account_id,
                        "payee": c.payee,
                        "amount": _amount(c.amount_cents),
                        "file_id": c.file_id,
                        "activity_code_id": c.activity_code_id,
                        "memo": c.memo,
                        "posting_reference": c.posting_reference,
                        "request_date": c.request_date.isoformat() if c.request_date else None,
                        **(
                            {"method": "ach", "payee_contact_id": c.payee_contact_id}
                            if c.method == "ach"
                            else {}
                        ),
                    }
                    for c in items
                ]
            },
            idempotency_key=idempotency_key,
        )
        return [_check(c) for c in body["items"]]

    @_answers
    def checks_get(self, ids: Sequence[int]) -> list[BooksCheck]:
        out: list[BooksCheck] = []
        for start in range(0, len(ids), IDS_PER_GET):
            chunk = ids[start : start + IDS_PER_GET]
            out.extend(_check(c) for c in self._pages("checks", {"ids": ",".join(map(str, chunk))}))
        return out

    @_answers
    def checks_by_external_ref(self, external_ref: str) -> list[BooksCheck]:
        return [_check(c) for c in self._pages("checks", {"external_ref": external_ref})]

    @_answers
    def check_void(self, check_id: int, *, reason: str, idempotency_key: str) -> BooksCheck:
        body = self._request(
            "POST",
            f"checks/{check_id}/void",
            json={"reason": reason[:255]},
            idempotency_key=idempotency_key,
        )
        return _check(body)

    @_answers
    def check_print(
        self, check_id: int, *, idempotency_key: str, check_number: int | None = None
    ) -> BooksCheck:
        body = self._request(
            "POST",
            f"checks/{check_id}/print",
            json={"check_number": check_number},
            idempotency_key=idempotency_key,
        )
        return _check(body)

    # -- trust receipts ----------------------------------------------------------------------

    @_answers
    def trust_receipt_record(
        self, receipt: ReceiptRequest, *, idempotency_key: str
    ) -> BooksReceipt:
        body = self._request(
            "POST", "trust-receipts", json=_receipt_json(receipt), idempotency_key=idempotency_key
        )
        return _receipt(body)

    @_answers
    def trust_receipts_record(
        self, receipts: Sequence[ReceiptRequest], *, idempotency_key: str
    ) -> list[BooksReceipt]:
        """Many deposits in one request (``POST /trust-receipts/batch``), all or nothing;
        each found again by its external_ref. A refusal names ``items[i]``."""
        body = self._request(
            "POST",
            "trust-receipts/batch",
            json={"items": [_receipt_json(r) for r in receipts]},
            idempotency_key=idempotency_key,
        )
        return [_receipt(r) for r in body["items"]]

    @_answers
    def trust_receipts_by_external_ref(self, external_ref: str) -> list[BooksReceipt]:
        return [_receipt(r) for r in self._pages("trust-receipts", {"external_ref": external_ref})]

    @_answers
    def trust_receipt_void(
        self, receipt_id: int, *, reason: str, idempotency_key: str
    ) -> BooksReceipt:
        body = self._request(
            "POST",
            f"trust-receipts/{receipt_id}/void",
            json={"reason": reason[:255]},
            idempotency_key=idempotency_key,
        )
        return _receipt(body)

    # -- fee invoices ------------------------------------------------------------------------

    @_answers
    def invoice_create(self, invoice: InvoiceRequest, *, idempotency_key: str) -> BooksInvoice:
        body = self._request(
            "POST", "invoices", json=_invoice_json(invoice), idempotency_key=idempotency_key
        )
        return _invoice(body)

    @_answers
    def invoices_create(
        self, invoices: Sequence[InvoiceRequest], *, idempotency_key: str
    ) -> list[BooksInvoice]:
        """Many fee invoices in one request (``POST /invoices/batch``), all or nothing;
        each found again by its external_ref. A refusal names ``items[i]``."""
        body = self._request(
            "POST",
            "invoices/batch",
            json={"items": [_invoice_json(i) for i in invoices]},
            idempotency_key=idempotency_key,
        )
        return [_invoice(i) for i in body["items"]]

    @_answers
    def invoices_by_external_ref(self, external_ref: str) -> list[BooksInvoice]:
        return [_invoice(i) for i in self._pages("invoices", {"external_ref": external_ref})]

    @_answers
    def invoice_get(self, invoice_id: int) -> BooksInvoice:
        return _invoice(self._request("GET", f"invoices/{invoice_id}"))

    # -- bulk reads (reconciliation, Client Trust Management) --------------------------------

    @_answers
    def trust_balances(self, bank_account_id: int, file_ids: Sequence[int]) -> dict[int, int]:
        """Each named file's client trust balance in that account (cents); a file the books
        do not know is left out."""
        out: dict[int, int] = {}
        ids = sorted(set(file_ids))
        for start in range(0, len(ids), IDS_PER_GET):
            chunk = ids[start : start + IDS_PER_GET]
            body = self._request(
                "GET",
                "reports/trust-balances",
                params={
                    "bank_account_id": bank_account_id,
                    "file_ids": ",".join(map(str, chunk)),
                },
            )
            out.update((int(r["file_id"]), _cents(r["balance"])) for r in body["items"])
        return out

    @_answers
    def all_trust_balances(self, bank_account_id: int) -> dict[int, int]:
        """Every file's client trust balance in that account (cents), page by page."""
        rows = self._pages(
            "reports/trust-balances", {"bank_account_id": bank_account_id, "limit": BULK_PAGE_SIZE}
        )
        return {int(r["file_id"]): _cents(r["balance"]) for r in rows}

    @_answers
    def external_documents(
        self, kind: str, prefix: str, *, file_id: int | None = None
    ) -> list[BooksDocument]:
        """Every check, receipt or invoice (``kind``) whose external_ref starts with
        ``prefix`` (of one file, if given), page by page."""
        params: dict[str, Any] = {"kind": kind, "prefix": prefix, "limit": BULK_PAGE_SIZE}
        if file_id is not None:
            params["file_id"] = file_id
        return [
            BooksDocument(
                id=int(r["id"]),
                external_ref=str(r["external_ref"]),
                file_id=r.get("file_id"),
                bank_account_id=r.get("bank_account_id"),
                amount_cents=_cents(r["amount"]),
                status=str(r["status"]),
                number=r.get("number"),
                date=_date(r.get("date")),
                void_date=_date(r.get("void_date")),
            )
            for r in self._pages("reports/external-documents", params)
        ]

    @_answers
    def external_digests(self, bank_account_id: int, prefix: str) -> BooksDigests:
        """Every file's digest of its documents under ``prefix`` and its trust balance in
        that account, page by page (compact arrays, 50,000 files a page)."""
        documents: dict[int | None, tuple[int, int, str]] = {}
        balances: dict[int, int] = {}
        rows = self._pages(
            "reports/external-digests",
            {"bank_account_id": bank_account_id, "prefix": prefix, "limit": DIGEST_PAGE_SIZE},
        )
        for file_id, n, cents, digest, trust in rows:
            if n:
                documents[file_id] = (int(n), int(cents), str(digest))
            if file_id is not None:
                balances[int(file_id)] = int(trust)
        return BooksDigests(documents=documents, balances=balances)

    @_answers
    def external_documents_of_files(
        self, kind: str, prefix: str, file_ids: Sequence[int], *, no_file: bool = False
    ) -> list[BooksDocument]:
        """The checks, receipts or invoices (``kind``) under ``prefix`` of these files (and,
        with ``no_file``, those without a file), in id order: the files a few hundred a
        request, so the URL stays short."""
        ids = sorted(set(file_ids))
        chunks: list[dict[str, Any]] = [
            {"file_ids": ",".join(map(str, ids[start : start + IDS_PER_GET]))}
            for start in range(0, len(ids), IDS_PER_GET)
        ]
        if no_file:
            chunks.append({"no_file": "true"})
        out: list[BooksDocument] = []
        for chunk in chunks:
            params = {"kind": kind, "prefix": prefix, "limit": BULK_PAGE_SIZE, **chunk}
            rows = self._pages("reports/external-documents", params)
            out.extend(_document(r) for r in rows)
        return sorted(out, key=lambda d: d.id)

    @_answers
    def three_way(
        self,
        bank_account_id: int,
        *,
        statement_cents: int,
        deposits_in_transit_cents: int = 0,
        outstanding_checks_cents: int | None = None,
        as_of: dt.date | None = None,
    ) -> ThreeWay:
        params: dict[str, Any] = {
            "bank_account_id": bank_account_id,
            "statement_balance": _amount(statement_cents),
            "deposits_in_transit": _amount(deposits_in_transit_cents),
        }
        if outstanding_checks_cents is not None:
            params["outstanding_checks"] = _amount(outstanding_checks_cents)
        if as_of is not None:
            params["as_of"] = as_of.isoformat()
        body = self._request("GET", "reports/three-way-reconciliation", params=params)
        return ThreeWay(
            bank_account_name=str(body["bank_account_name"]),
            as_of=dt.date.fromisoformat(body["as_of"]),
            statement_cents=_cents(body["statement_balance"]),
            deposits_in_transit_cents=_cents(body["deposits_in_transit"]),
            outstanding_checks_cents=_cents(body["outstanding_checks"]),
            adjusted_bank_cents=_cents(body["adjusted_bank_balance"]),
            trust_journal_cents=_cents(body["trust_journal_balance"]),
            client_ledgers_cents=_cents(body["client_ledgers_total"]),
            differences=tuple(str(d) for d in body["differences"]),
            is_reconciled=bool(body["is_reconciled"]),
            outstanding=tuple(
                (c.get("check_number"), str(c["payee"]), _cents(c["amount"]))
                for c in body["outstanding_check_list"]
            ),
        )
