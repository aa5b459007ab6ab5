"""Delivering the outbox to the books, exactly once (ADR 0005).

A pass claims due items in one guarded statement (``UPDATE ... WHERE id IN (SELECT ... FOR
UPDATE SKIP LOCKED) RETURNING``: a claim token and a lease), so two workers never send the
same item and an item whose worker died is taken over when its lease runs out. Items of one
case go in id order: a case with an earlier item failed, waiting, backing off or in flight
is skipped. A run keeps two batches in flight (issue 12): while the books post one, the
next is claimed and posted from a second lane (a thread with its own database connection
and client), and one is settled while the other is posted; since a claim holds back the
cases of the batch in flight, a case's items are never in two batches at once. Leases are
renewed once per pass; before a request only when less than ``lease_margin`` is left (the
longest run of requests one renewal covers), and then for the whole batch. Claimed items
are sent in runs of the same kind:

- ``cost_send``: the cases' files are found or created first (``POST /files/batch``), then
  the check requests go in one ``POST /checks/batch``. Every check carries the cost's
  ``external_ref``, which the books find again, so a resend after a lost answer (or a
  worker killed between send and acknowledgement) links the existing check instead of
  writing a second one. The request also carries an ``Idempotency-Key``.
- ``cost_void``: ``POST /checks/{id}/void``; a check already void counts as done.
- ``deposit_receipt`` / ``deposit_void``: a trust receipt for the case's file, or its
  reversal, found again by external_ref.
- ``trust_check``: a payment pushed to disbursement -> a trust check request on the
  default client trust account (one ``POST /checks/batch`` per run); the books refuse one
  that would overdraw the file, and that item fails with their reason.
- ``fee_invoice``: ``POST /invoices`` paid from trust, the fee as the attorney's time
  entry; found again by external_ref after a lost answer.

Failures: unreachable / 5xx / 429 -> back in the queue with exponential backoff and full
jitter, parked as failed after ``BRIDGE_MAX_ATTEMPTS``; a lapsed token -> every claimed
item waits for re-authentication, with its attempt given back; a refusal naming
``items[i]`` fails that item with the books' reason and the rest go again at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, connections, transaction
from django.db.models import F, Lookup, OuterRef, Q, QuerySet, Subquery
from django.db.models.sql import UpdateQuery

from casebridge.bridge.client import (
    BooksAuthLapsed,
    BooksCheck,
    BooksClient,
    BooksError,
    BooksInvoice,
    BooksReceipt,
    BooksRejected,
    BooksUnreachable,
    CheckRequest,
    FileRequest,
    InvoiceLineRequest,
    InvoiceRequest,
    ReceiptRequest,
)
from casebridge.bridge.models import (
    DELIVERY_LATENCY_BUCKETS,
    CaseLink,
    CheckState,
    Connection,
    ConnectionStatus,
    CostLink,
    DeliveryLatency,
    DepositLink,
    FeeInvoice,
    InvoiceStage,
    OutboxItem,
    OutboxKind,
    OutboxState,
    TrustItemLink,
)
from casebridge.bridge.services.balances import balances_read
from casebridge.bridge.services.connection import (
    client_for,
    connection_mark_lapsed,
    token_lapsed,
)
from casebridge.cases.models import Case, Cost, CostStatus
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import disbursement as disbursement_services
from casebridge.core import clock
from casebridge.core.db import update_rows
from casebridge.core.errors import DomainError
from casebridge.core.logs import new_request_id, request_id_bound, well_formed

log = logging.getLogger(__name__)

_ITEM_FIELD = re.compile(r"^items\[(\d+)\]")


#: Enqueues a delivery run on the task engine; set by :mod:`casebridge.bridge.tasks` when
#: it is imported (the app's ``ready``), so services never import the task layer.
_enqueue: Callable[[int, float | None], None] | None = None


def set_enqueuer(enqueue: Callable[[int, float | None], None]) -> None:
    global _enqueue
    _enqueue = enqueue


#: Schedules the watchdog (:func:`outbox_watch`) ``delay`` seconds from now; set by
#: :mod:`casebridge.bridge.tasks` like the enqueuer.
_watcher: Callable[[int, float], None] | None = None


def set_watcher(
    watch: Callable[[int, float], None] | None,
) -> Callable[[int, float], None] | None:
    """Replace the watchdog's scheduler; returns the previous one (to put it back)."""
    global _watcher
    previous, _watcher = _watcher, watch
    return previous


def schedule_delivery(firm_id: int, *, delay: float | None = None) -> None:
    """Ask the worker for a delivery run once the current transaction commits (the
    minute sweep catches anything this misses)."""
    enqueue = _enqueue
    if enqueue is not None:
        transaction.on_commit(lambda: enqueue(firm_id, delay))


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(n-1))],
    never less than one second."""
    ceiling = min(
        settings.BRIDGE_RETRY_CAP_SECONDS,
        settings.BRIDGE_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1),
    )
    jitter = secrets.randbelow(1_000_001) / 1_000_000  # full jitter in [0, 1]
    return float(max(1.0, ceiling * jitter))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    waiting: int = 0
    passes: int = 0
    #: The run stopped because nothing more could be claimed (not a stop or a lost lease).
    drained: bool = False


# --- Claiming --------------------------------------------------------------------------------


def _held_back(firm_id: int, now: dt.datetime) -> Q:
    """An item is held back when an *earlier* item of its case cannot go now (failed,
    waiting, backing off or in flight): a case's items go in order, and nothing is sent past
    a refused one. Items before it still go.

    Written so that the database does the cheap part first: cases with no blocking item at
    all pass a hashed ``NOT IN``; only items of a blocked case compare their id with that
    case's first blocking item. (A correlated ``NOT EXISTS`` on earlier items made each claim
    ~100 times slower behind a few thousand queued items.)

    A case with an item in flight is held back whole, earlier items too: with two batches
    in flight, a lane that hands an item back to the queue mid-batch (a refusal naming
    another item) may still hold a later item of its case, and a claim taking the earlier
    one meanwhile would send the two out of order from two lanes."""
    firm_items = OutboxItem.objects.filter(firm_id=firm_id)
    in_flight = firm_items.filter(state=OutboxState.SENDING, lease_until__gt=now)
    blocking = firm_items.filter(
        Q(state__in=(OutboxState.FAILED, OutboxState.WAITING))
        | Q(state=OutboxState.QUEUED, next_attempt_at__gt=now)
    )
    first_blocker = blocking.filter(case_id=OuterRef("case_id")).order_by("pk").values("pk")[:1]
    return Q(case_id__in=in_flight.values("case_id")) | (
        Q(case_id__in=blocking.values("case_id")) & ~Q(pk__lt=Subquery(first_blocker))
    )


def _due(now: dt.datetime) -> Q:
    return Q(state=OutboxState.QUEUED, next_attempt_at__lte=now) | Q(
        state=OutboxState.SENDING, lease_until__lte=now
    )


if TYPE_CHECKING:
    _IntLookup = Lookup[int]
else:  # Django's Lookup takes no type argument at run time
    _IntLookup = Lookup


class _AnyOf(_IntLookup):
    """``lhs = ANY(rhs)``, rhs an array (PostgreSQL)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = compiler.compile(self.lhs)
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def _among(candidates: QuerySet[OutboxItem, Any]) -> Q:
    """``id IN (candidates)``, the candidates chosen once: PostgreSQL may run an ``IN``
    subquery again for each row it updates, and a locking subquery run again skips the
    rows this very statement has just locked and updated and takes the next ones (a claim
    of 2 took 4), so there it is ``id = ANY(ARRAY(candidates))``, run once."""
    if connection.vendor == "postgresql":
        return Q(_AnyOf(F("pk"), ArraySubquery(candidates)))
    return Q(pk__in=candidates)


def claim(firm_id: int, limit: int) -> list[OutboxItem]:
    """Take up to ``limit`` due items, in id order, skipping cases held back by an
    earlier item, in one statement: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
    LOCKED) RETURNING id`` (SQLite has no row locks and needs none: a write transaction is
    exclusive there). Rows a second worker is claiming at that moment are skipped, not
    waited for, and the due condition is checked again on the rows taken. The items are
    then read with their cost and case, in id order."""
    now = clock.now()
    candidates = (
        OutboxItem.objects.filter(firm_id=firm_id)
        .filter(_due(now))
        .exclude(_held_back(firm_id, now))
        .order_by("pk")
        .select_for_update(skip_locked=True)
        .values("pk")[:limit]
    )
    update = UpdateQuery(OutboxItem)
    update.add_q(_among(candidates) & _due(now))
    update.add_update_values(
        {
            "state": OutboxState.SENDING,
            "claim": uuid.uuid4().hex,
            "lease_until": now + timedelta(seconds=settings.BRIDGE_LEASE_SECONDS),
            "attempts": F("attempts") + 1,
        }
    )
    with transaction.atomic():
        sql, params = update.get_compiler(connection=connection).as_sql()
        returning = " RETURNING " + connection.ops.quote_name(OutboxItem._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(sql + returning, params)
            ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(
        OutboxItem.objects.filter(pk__in=ids)
        .select_related("cost", "case", "case__firm")
        .order_by("pk")
    )


# --- Settling claimed items ------------------------------------------------------------------


def _mine(items: Sequence[OutboxItem]) -> Q:
    """Only rows still held by this claim (a lease taken over by another worker is theirs)."""
    return Q(
        pk__in=[i.pk for i in items], claim__in={i.claim for i in items}, state=OutboxState.SENDING
    )


def _release(items: Sequence[OutboxItem]) -> None:
    """Back in the queue, due now, the attempt given back (it was not this item's fault)."""
    if items:
        OutboxItem.objects.filter(_mine(items)).update(
            state=OutboxState.QUEUED,
            claim="",
            lease_until=None,
            next_attempt_at=clock.now(),
            attempts=F("attempts") - 1,
        )


WAITING_MESSAGE = "Waiting for an administrator to re-authenticate the books integration."


def _wait(items: Sequence[OutboxItem]) -> int:
    if not items:
        return 0
    return OutboxItem.objects.filter(_mine(items)).update(
        state=OutboxState.WAITING,
        claim="",
        lease_until=None,
        attempts=F("attempts") - 1,
        error_code="reauthentication_required",
        error_message=WAITING_MESSAGE,
    )


def _wait_all_queued(firm_id: int) -> int:
    """The token lapsed: everything queued for the firm waits too (the screens say so)."""
    return OutboxItem.objects.filter(firm_id=firm_id, state=OutboxState.QUEUED).update(
        state=OutboxState.WAITING,
        error_code="reauthentication_required",
        error_message=WAITING_MESSAGE,
    )


def _fail(item: OutboxItem, code: str, message: str) -> None:
    OutboxItem.objects.filter(_mine([item])).update(
        state=OutboxState.FAILED,
        claim="",
        lease_until=None,
        error_code=code[:80],
        error_message=message[:1000],
    )


def _retry_later(items: Sequence[OutboxItem], exc: BooksError, report: DeliveryReport) -> float:
    """Unreachable: back off, or park as failed after the last attempt. Returns the
    shortest delay chosen (for scheduling the next pass)."""
    shortest = 0.0
    for item in items:
        if item.attempts >= settings.BRIDGE_MAX_ATTEMPTS:
            _fail(
                item,
                exc.code,
                f"Gave up after {item.attempts} attempts: {exc.message}",
            )
            report.failed += 1
            continue
        delay = backoff_seconds(item.attempts)
        shortest = delay if not shortest else min(shortest, delay)
        OutboxItem.objects.filter(_mine([item])).update(
            state=OutboxState.QUEUED,
            claim="",
            lease_until=None,
            next_attempt_at=clock.now() + timedelta(seconds=delay),
            error_code=exc.code[:80],
            error_message=f"Attempt {item.attempts} failed: {exc.message}"[:1000],
        )
        report.retrying += 1
    return shortest


def _sent(item: OutboxItem, result: dict[str, object]) -> None:
    OutboxItem.objects.filter(_mine([item])).update(
        state=OutboxState.SENT,
        claim="",
        lease_until=None,
        sent_at=clock.now(),
        result=result,
        error_code="",
        error_message="",
    )


# --- The runs --------------------------------------------------------------------------------


class _Stop(Exception):
    """Stop this pass (the token lapsed, or the books are down): the rest is released."""

    def __init__(self, delay: float = 0.0, *, wait: bool = False) -> None:
        super().__init__()
        self.delay = delay
        self.wait = wait


@dataclass
class _Context:
    conn: Connection
    client: BooksClient
    report: DeliveryReport
    owner: str = ""
    attorneys: dict[str, int] | None = None
    #: Until when this run's lease on the firm is known to hold (shared by the run's lanes).
    run_lease: _RunLease | None = None
    #: How many times this lane asked the books for files (so a caller knows whether a
    #: request to the books came between two renewals).
    files_asked: int = 0

    def renew(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Just before a request to the books: make sure this run's lease and the items'
        leases outlast the request, and return the items still ours. A run that lost its
        lease stops; an item another run took over is left to it. A lease is written
        again only when less than ``lease_margin`` is left (the longest run of requests one
        renewal covers): the claim itself sets the items' leases, and the run's is renewed
        once per pass, so a pass that goes quickly writes nothing here and only reads which
        items are still its own; a renewal extends the whole batch."""
        if self.run_lease is None:
            self.run_lease = _RunLease(self.conn.firm_id, self.owner)
        if not self.run_lease.hold():
            raise _Stop()
        now = clock.now()
        needed = lease_margin()
        mine = OutboxItem.objects.filter(_mine(items))
        if all(i.lease_until is not None and i.lease_until - now >= needed for i in items):
            held = set(mine.values_list("pk", flat=True))
        else:
            until = now + timedelta(seconds=settings.BRIDGE_LEASE_SECONDS)
            # the whole batch (every item of these claims), not only this run: the batch's
            # later runs must not run out while this one is posted, or the next claim would
            # take them over from their own lane
            claimed = OutboxItem.objects.filter(
                claim__in={i.claim for i in items}, state=OutboxState.SENDING
            )
            claimed.update(lease_until=until)
            held = set(mine.values_list("pk", flat=True))
            for item in items:
                if item.pk in held:
                    item.lease_until = until
        return [i for i in items if i.pk in held]

    def attorney_ids(self) -> dict[str, int]:
        if self.attorneys is None:
            self.attorneys = {
                u.email.strip().lower(): u.id for u in self.client.users() if u.is_active
            }
        return self.attorneys


def _handle_error(ctx: _Context, items: Sequence[OutboxItem], exc: BooksError) -> None:
    """What a failed request means for the items it carried (raises _Stop to end the pass)."""
    if isinstance(exc, BooksAuthLapsed):
        if not connection_mark_lapsed(conn=ctx.conn):
            # refused with the old token, but an administrator has re-authenticated since:
            # go again with the new one rather than wait a month
            _release(items)
            schedule_delivery(ctx.conn.firm_id)
            raise _Stop()
        ctx.report.waiting += _wait(items)
        ctx.report.waiting += _wait_all_queued(ctx.conn.firm_id)
        raise _Stop(wait=True)
    if isinstance(exc, BooksUnreachable):
        raise _Stop(_retry_later(items, exc, ctx.report))
    assert isinstance(exc, BooksRejected)
    match = _ITEM_FIELD.match(exc.field or "")
    if match and int(match.group(1)) < len(items):
        culprit = items[int(match.group(1))]
        _fail(culprit, exc.code, exc.message)
        ctx.report.failed += 1
        _release([i for i in items if i.pk != culprit.pk])
        return
    for item in items:
        _fail(item, exc.code, exc.message)
    ctx.report.failed += len(items)


def _with_files(
    ctx: _Context, items: list[OutboxItem]
) -> tuple[list[OutboxItem], dict[int, int]] | None:
    """The items still held and each case's books file id (found or created first); None
    when nothing is left to send (the items were dealt with). Renewed before the files
    request, and again after it only if one was made: without a request in between, the
    first renewal still covers the next one (``lease_margin``), and which items are held
    cannot have changed."""
    live = ctx.renew(items)
    if not live:
        return None
    asked = ctx.files_asked
    files = _ensure_files(ctx, live)
    if files is None:
        return None
    if ctx.files_asked > asked:
        live = ctx.renew(live)
        if not live:
            return None
    return live, files


def _ensure_files(ctx: _Context, items: Sequence[OutboxItem]) -> dict[int, int] | None:
    """Each case's books file id, found or created on the case's first sync. None when the
    request failed (the items were dealt with)."""
    case_ids = sorted({i.case_id for i in items})
    links = dict(
        CaseLink.objects.filter(case_id__in=case_ids).values_list("case_id", "books_file_id")
    )
    missing = [cid for cid in case_ids if cid not in links]
    if missing:
        cases = list(
            Case.objects.filter(pk__in=missing)
            .select_related("client", "responsible_attorney")
            .order_by("pk")
        )
        ctx.files_asked += 1
        try:
            attorneys = ctx.attorney_ids()
        except BooksError as exc:
            _handle_error(ctx, items, exc)
            return None
        requests = [
            FileRequest(
                external_ref=f"cases-case-{case.pk}",
                name=f"{case.number} {case.name}"[:200],
                client_external_ref=f"cases-contact-{case.client_id}",
                client_name=case.client.name,
                client_email=case.client.email,
                area_of_practice_id=ctx.conn.pi_area_id,
                responsible_attorney_id=attorneys.get(
                    case.responsible_attorney.email.strip().lower()
                )
                if case.responsible_attorney
                else None,
                opened_on=case.opened_on,
            )
            for case in cases
        ]
        key = (
            "files-"
            + hashlib.sha256(",".join(r.external_ref for r in requests).encode()).hexdigest()[:40]
        )
        try:
            files = ctx.client.files_find_or_create(requests, idempotency_key=key)
        except BooksRejected as exc:
            match = _ITEM_FIELD.match(exc.field or "")
            bad_case = (
                cases[int(match.group(1))].pk
                if match and int(match.group(1)) < len(cases)
                else None
            )
            for item in items:
                if bad_case is None or item.case_id == bad_case:
                    _fail(
                        item,
                        exc.code,
                        f"The case's file could not be opened in the books: {exc.message}",
                    )
                    ctx.report.failed += 1
            _release([i for i in items if bad_case is not None and i.case_id != bad_case])
            return None
        except BooksError as exc:
            _handle_error(ctx, items, exc)
            return None
        now = clock.now()
        CaseLink.objects.bulk_create(
            [
                CaseLink(
                    firm_id=ctx.conn.firm_id,
                    case=case,
                    books_file_id=f.id,
                    books_file_number=f.number,
                    books_client_id=f.client_id,
                    linked_at=now,
                )
                for case, f in zip(cases, files, strict=True)
            ],
            ignore_conflicts=True,
        )
        links.update(
            CaseLink.objects.filter(case_id__in=missing).values_list("case_id", "books_file_id")
        )
    return links


#: A payment paid by ACH, by its status in the books (a returned or cancelled one is
#: voided in the books: its check says so first).
_ACH_STATES = {
    "queued": CheckState.ACH_QUEUED,
    "batched": CheckState.ACH_IN_FILE,
    "sent": CheckState.ACH_SENT,
}


def check_state_of(check: BooksCheck) -> str:
    """The state a link keeps of the books' check: printed, void, queued for printing; or,
    paid by ACH, queued, in a file, sent or cleared (ADR 0055)."""
    if check.status in ("printed", "voided"):
        return CheckState.PRINTED if check.status == "printed" else CheckState.VOID
    if check.method != "ach":
        return CheckState.QUEUED
    state = _ACH_STATES.get(check.ach_status, CheckState.ACH_QUEUED)
    if state == CheckState.ACH_SENT and check.cleared_on is not None:
        return CheckState.ACH_CLEARED
    return state


def ach_reference(check: BooksCheck) -> str:
    """What a payment paid by ACH is known by on the cases side: "ACH" and its trace
    number (a check's is its number)."""
    return f"ACH {check.ach_trace_number}".strip()


def _send_costs(ctx: _Context, items: list[OutboxItem]) -> None:
    live = []
    for item in items:
        if item.cost is not None and item.cost.status == CostStatus.VOID:
            OutboxItem.objects.filter(_mine([item])).update(
                state=OutboxState.CANCELLED,
                claim="",
                lease_until=None,
                error_code="cost_voided",
                error_message="The cost was voided before its check request went out.",
            )
        else:
            live.append(item)
    if not live:
        return
    sent = _request_checks(ctx, live, "checks-")
    if sent is not None:
        ctx.report.sent += _record_checks(*sent)


def _request_checks(
    ctx: _Context, items: list[OutboxItem], key_prefix: str
) -> tuple[list[OutboxItem], dict[str | None, BooksCheck]] | None:
    """One ``POST /checks/batch`` for the items still held, their cases' files found or
    created first; the items sent and the checks by external_ref, or None when the request
    failed (the items were dealt with). Costs and trust payments alike."""
    held = _with_files(ctx, items)
    if held is None:
        return None
    live, files = held
    requests = [
        CheckRequest(
            external_ref=str(p["external_ref"]),
            bank_account_id=int(p["bank_account_id"]),
            payee=str(p["payee"]),
            amount_cents=int(p["amount_cents"]),
            file_id=files[item.case_id],
            activity_code_id=int(p["activity_code_id"]) if p.get("activity_code_id") else None,
            memo=str(p.get("memo", "")),
            posting_reference=str(p.get("posting_reference", "")),
        )
        for item in live
        for p in [item.payload]
    ]
    key = key_prefix + hashlib.sha256(",".join(i.key for i in live).encode()).hexdigest()[:40]
    try:
        checks = ctx.client.checks_request(requests, idempotency_key=key)
    except BooksError as exc:
        _handle_error(ctx, live, exc)
        return None
    return live, {c.external_ref: c for c in checks}


def _sent_many(item_ids: set[int], results: list[tuple[int, dict[str, object]]]) -> None:
    """Mark many held items sent with their results, in two statements."""
    OutboxItem.objects.filter(pk__in=item_ids).update(
        state=OutboxState.SENT,
        claim="",
        lease_until=None,
        sent_at=clock.now(),
        error_code="",
        error_message="",
    )
    update_rows(OutboxItem, [("result", "jsonb")], [(pk, json.dumps(r)) for pk, r in results])


def _record_checks(items: list[OutboxItem], by_ref: dict[str | None, BooksCheck]) -> int:
    """Link each cost to its check and mark the items sent, in a few statements whatever
    the number of items (a bulk send is thousands). Only items this run still holds are
    settled; returns how many. An item another run took over meanwhile is left to it,
    except that if its cost was voided since, the check just created is voided too (the
    other run may already have decided there was nothing to void)."""
    now = clock.now()
    with transaction.atomic():
        held_ids = set(
            OutboxItem.objects.select_for_update().filter(_mine(items)).values_list("pk", flat=True)
        )
        held = [i for i in items if i.pk in held_ids]
        _void_orphans([i for i in items if i.pk not in held_ids], by_ref)
        if not held:
            return 0
        link_ids = dict(
            CostLink.objects.filter(cost_id__in=[i.cost_id for i in held]).values_list(
                "cost_id", "pk"
            )
        )
        link_rows, item_rows = [], []
        for item in held:
            check = by_ref[str(item.payload["external_ref"])]
            link_rows.append(
                (link_ids[item.cost_id or 0], check.id, check_state_of(check), check.check_number)
            )
            item_rows.append((item.pk, {"check_id": check.id, "status": check.status}))
        CostLink.objects.filter(pk__in=list(link_ids.values())).update(
            last_synced_at=now, problem=""
        )
        update_rows(
            CostLink,
            [("books_check_id", "bigint"), ("check_state", "varchar"), ("check_number", "bigint")],
            link_rows,
        )
        _sent_many(held_ids, item_rows)
        # A check found again may have moved on in the books meanwhile (printed, or voided
        # by the accountant): the cost follows at once instead of waiting for the sync.
        printed = [
            (i.cost_id or 0, str(c.check_number), c.printed_on)
            for i in held
            if (c := by_ref[str(i.payload["external_ref"])]).status == "printed" and c.printed_on
        ]
        if printed:
            cost_services.costs_record_checks_printed(
                firm=held[0].case.firm, actor=None, printed=printed
            )
        for item in held:
            check = by_ref[str(item.payload["external_ref"])]
            if check.status == "voided":
                cost_services.cost_void_by_check(
                    firm=item.case.firm,
                    actor=None,
                    cost_id=item.cost_id or 0,
                    voided_on=check.voided_on or clock.today(),
                    reason="Check voided in the books"
                    + (f": {check.void_reason}" if check.void_reason else ""),
                )
    return len(held)


def _void_orphans(items: list[OutboxItem], by_ref: dict[str | None, BooksCheck]) -> None:
    """Checks created for items this run no longer held whose cost is now void: queue their
    void (it finds the check by external_ref), so none outlives its cost."""
    if not items:
        return
    void_costs = set(
        Cost.objects.filter(pk__in=[i.cost_id for i in items], status=CostStatus.VOID).values_list(
            "pk", flat=True
        )
    )
    now = clock.now()
    for item in items:
        check = by_ref.get(str(item.payload["external_ref"]))
        if item.cost_id in void_costs and check is not None and check.status != "voided":
            log.warning(
                "check %s landed for void cost %s: queueing its void", check.id, item.cost_id
            )
            OutboxItem.objects.create(
                firm_id=item.firm_id,
                case_id=item.case_id,
                cost_id=item.cost_id,
                kind=OutboxKind.COST_VOID,
                key=uuid.uuid4().hex,
                payload={
                    "external_ref": item.payload["external_ref"],
                    "reason": "Voided in case management",
                },
                next_attempt_at=now,
                created_at=now,
            )
            CostLink.objects.filter(cost_id=item.cost_id or 0, books_check_id__isnull=True).update(
                books_check_id=check.id, check_state=check_state_of(check)
            )


def _void_check(ctx: _Context, item: OutboxItem) -> None:
    if not ctx.renew([item]):
        return
    link = CostLink.objects.filter(cost_id=item.cost_id or 0).first()
    check_id = link.books_check_id if link else None
    try:
        if check_id is None:  # the send's answer never came back: ask by external_ref
            found = ctx.client.checks_by_external_ref(str(item.payload["external_ref"]))
            if not found:
                _sent(item, {"nothing_to_void": True})
                ctx.report.sent += 1
                return
            check_id = found[0].id
        try:
            check = ctx.client.check_void(
                check_id, reason=str(item.payload.get("reason", "")), idempotency_key=item.key
            )
        except BooksRejected:
            current = ctx.client.checks_get([check_id])
            if not current or current[0].status != "voided":
                raise
            check = current[0]
    except BooksError as exc:
        _handle_error(ctx, [item], exc)
        return
    CostLink.objects.filter(cost_id=item.cost_id or 0).update(
        books_check_id=check.id, check_state=CheckState.VOID, last_synced_at=clock.now()
    )
    _sent(item, {"check_id": check.id, "status": check.status})
    ctx.report.sent += 1


def _settle_receipt(item: OutboxItem, receipt: BooksReceipt) -> bool:
    """Link the deposit to its receipt and mark the item sent, if this run still holds it."""
    with transaction.atomic():
        if not OutboxItem.objects.select_for_update().filter(_mine([item])).exists():
            return False
        DepositLink.objects.filter(deposit_id=item.deposit_id or 0).update(
            books_receipt_id=receipt.id, receipt_state=receipt.status
        )
        _sent(item, {"receipt_id": receipt.id, "status": receipt.status})
    return True


def _record_receipts(ctx: _Context, items: list[OutboxItem]) -> None:
    """Deposits -> trust receipts in the books for the cases' files, one
    ``POST /trust-receipts/batch`` (each found again by external_ref, so a resend after a
    lost answer records nothing twice). Settled in a few statements whatever the number."""
    held_files = _with_files(ctx, items)
    if held_files is None:
        return
    live, files = held_files
    requests = [
        ReceiptRequest(
            external_ref=str(p["external_ref"]),
            bank_account_id=int(p["bank_account_id"]),
            file_id=files[item.case_id],
            payer=str(p["payer"]),
            amount_cents=int(p["amount_cents"]),
            received_on=dt.date.fromisoformat(str(p["received_on"])),
            reference=str(p.get("reference", "")),
            memo=str(p.get("memo", "")),
        )
        for item in live
        for p in [item.payload]
    ]
    key = "receipts-" + hashlib.sha256(",".join(i.key for i in live).encode()).hexdigest()[:40]
    try:
        receipts = ctx.client.trust_receipts_record(requests, idempotency_key=key)
    except BooksError as exc:
        _handle_error(ctx, live, exc)
        return
    by_ref = {r.external_ref: r for r in receipts}
    with transaction.atomic():
        held = set(
            OutboxItem.objects.select_for_update().filter(_mine(live)).values_list("pk", flat=True)
        )
        mine = [i for i in live if i.pk in held]
        if not mine:
            return
        links = dict(
            DepositLink.objects.filter(
                deposit_id__in=[i.deposit_id for i in mine if i.deposit_id is not None]
            ).values_list("deposit_id", "pk")
        )
        update_rows(
            DepositLink,
            [("books_receipt_id", "bigint"), ("receipt_state", "varchar")],
            [
                (links[i.deposit_id], r.id, r.status)
                for i in mine
                if i.deposit_id in links
                for r in [by_ref[str(i.payload["external_ref"])]]
            ],
        )
        _sent_many(
            held,
            [
                (i.pk, {"receipt_id": r.id, "status": r.status})
                for i in mine
                for r in [by_ref[str(i.payload["external_ref"])]]
            ],
        )
    ctx.report.sent += len(mine)


def _void_receipt(ctx: _Context, item: OutboxItem) -> None:
    """A deposit voided on the cases side -> its receipt reversed in the books. A receipt
    that never reached the books needs nothing; one already reversed counts as done."""
    if not ctx.renew([item]):
        return
    link = DepositLink.objects.filter(deposit_id=item.deposit_id or 0).first()
    receipt_id = link.books_receipt_id if link else None
    ref = str(item.payload["external_ref"])
    try:
        if receipt_id is None:
            found = ctx.client.trust_receipts_by_external_ref(ref)
            if not found:
                _sent(item, {"nothing_to_reverse": True})
                ctx.report.sent += 1
                return
            receipt_id = found[0].id
        try:
            receipt = ctx.client.trust_receipt_void(
                receipt_id, reason=str(item.payload.get("reason", "")), idempotency_key=item.key
            )
        except BooksRejected:
            current = ctx.client.trust_receipts_by_external_ref(ref)
            if not current or current[0].status != "voided":
                raise
            receipt = current[0]
    except BooksError as exc:
        _handle_error(ctx, [item], exc)
        return
    if _settle_receipt(item, receipt):
        ctx.report.sent += 1


def _send_trust_checks(ctx: _Context, items: list[OutboxItem]) -> None:
    """Payments pushed to disbursement -> trust check requests, one batch. The books post a
    trust check at once (holding the client's money) and refuse one that would take the
    file below zero: that item fails with their reason, the rest go again. Settled in a few
    statements whatever the number of items."""
    sent = _request_checks(ctx, items, "tchecks-")
    if sent is None:
        return
    live, by_ref = sent
    with transaction.atomic():
        held = set(
            OutboxItem.objects.select_for_update().filter(_mine(live)).values_list("pk", flat=True)
        )
        mine = [i for i in live if i.pk in held]
        if not mine:
            return
        # only the link of each item's own generation: a reissue has a new external_ref
        links = dict(
            TrustItemLink.objects.filter(
                external_ref__in=[str(i.payload["external_ref"]) for i in mine]
            ).values_list("external_ref", "pk")
        )
        link_rows = []
        for item in mine:
            ref = str(item.payload["external_ref"])
            check = by_ref[ref]
            problem = (
                "Check voided in the books; send it again from Client Trust Management"
                if check.status == "voided"
                else ""
            )
            link_rows.append(
                (
                    links[ref],
                    check.id,
                    check_state_of(check),
                    check.check_number,
                    problem,
                )
            )
        TrustItemLink.objects.filter(pk__in=list(links.values())).update(last_synced_at=clock.now())
        update_rows(
            TrustItemLink,
            [
                ("books_check_id", "bigint"),
                ("check_state", "varchar"),
                ("check_number", "bigint"),
                ("problem", "varchar"),
            ],
            link_rows,
        )
        _sent_many(
            held, [(i.pk, {"check_id": by_ref[str(i.payload["external_ref"])].id}) for i in mine]
        )
        printed = [
            (i.trust_item_id or 0, str(c.check_number), c.printed_on)
            for i in mine
            if (c := by_ref[str(i.payload["external_ref"])]).status == "printed" and c.printed_on
        ]
        if printed:
            disbursement_services.trust_items_record_checks_printed(
                firm=ctx.conn.firm, actor=None, printed=printed
            )
    ctx.report.sent += len(mine)


def invoice_settle(fee_invoice: FeeInvoice, invoice: BooksInvoice) -> bool:
    """Record the books' invoice on the fee invoice; when it is final the payments it
    carries are Disbursed on the cases side. Returns True when it just became final."""
    return bool(invoices_settle([(fee_invoice, invoice)]))


def invoices_settle(settled: Sequence[tuple[FeeInvoice, BooksInvoice]]) -> int:
    """:func:`invoice_settle` for many fee invoices (of one firm) in a few statements:
    each records its books' invoice; those that just became final have their payments
    Disbursed, those voided in the books after being final have them owed again. Returns
    how many just became final."""
    if not settled:
        return 0
    FeeInvoice.objects.filter(pk__in=[f.pk for f, _ in settled]).update(
        last_synced_at=clock.now(), problem=""
    )
    update_rows(
        FeeInvoice,
        [
            ("books_invoice_id", "bigint"),
            ("books_invoice_number", "bigint"),
            ("stage", "varchar"),
            ("finalised_on", "date"),
        ],
        [(f.pk, inv.id, inv.number, inv.stage, inv.finalised_on) for f, inv in settled],
    )
    final = [
        (f, inv)
        for f, inv in settled
        if inv.stage == InvoiceStage.FINAL and f.stage != InvoiceStage.FINAL
    ]
    if final:
        disbursement_services.trust_items_record_invoiced_many(
            firm=final[0][0].firm,
            actor=None,
            invoiced=[
                (
                    [int(i) for i in f.trust_item_ids],
                    f"Invoice {inv.number}",
                    inv.finalised_on or clock.today(),
                )
                for f, inv in final
            ],
        )
    for f, inv in settled:
        if inv.stage == InvoiceStage.VOIDED and f.stage == InvoiceStage.FINAL:
            disbursement_services.trust_items_reopen(
                firm=f.firm,
                actor=None,
                item_ids=[int(i) for i in f.trust_item_ids],
                reason=f"invoice {inv.number} was voided in the books",
            )
    return len(final)


def _send_fee_invoices(ctx: _Context, items: list[OutboxItem]) -> None:
    """Cases' fee invoices -> one ``POST /invoices/batch`` paid from trust; each fee line is
    the responsible attorney's time entry. Found again by external_ref after a lost
    answer; the books refuse one that would overdraw the file, and that item fails with
    their reason while the rest go again. Settled in a few statements."""
    held_files = _with_files(ctx, items)
    if held_files is None:
        return
    live, files = held_files
    asked = ctx.attorneys is None  # the books' users are read now
    try:
        attorneys = ctx.attorney_ids()
    except BooksError as exc:
        _handle_error(ctx, live, exc)
        return
    sendable = []
    for item in live:
        email = str(item.payload["attorney_email"])
        if attorneys.get(email) is None:
            _fail(
                item,
                "attorney_not_in_books",
                f"The books have no active user with the email {email}, whose time entry the "
                "fee is. Add the user in the books (Gear → Users), then retry.",
            )
            ctx.report.failed += 1
        else:
            sendable.append(item)
    # renewed again only after a request to the books (the users)
    live = ctx.renew(sendable) if asked and sendable else sendable
    if not live:
        return
    fee_invoices = FeeInvoice.objects.select_related("firm").in_bulk(
        [i.fee_invoice_id for i in live if i.fee_invoice_id is not None]
    )
    requests = []
    for item in live:
        p = item.payload
        fee_invoice = fee_invoices[item.fee_invoice_id or 0]
        keeper = attorneys[str(p["attorney_email"])]
        requests.append(
            InvoiceRequest(
                external_ref=fee_invoice.external_ref,
                file_id=files[item.case_id],
                lines=tuple(
                    InvoiceLineRequest(
                        kind=str(ln["kind"]),
                        description=str(ln["description"]),
                        amount_cents=int(ln["amount_cents"]),
                        timekeeper_id=keeper if ln["kind"] == "fee" else None,
                        activity_code_id=int(ln["activity_code_id"])
                        if ln.get("activity_code_id")
                        else None,
                        external_ref=str(ln["source"]),
                    )
                    for ln in fee_invoice.lines
                ),
                trust_bank_account_id=int(p["trust_bank_account_id"]),
                operating_bank_account_id=int(p["operating_bank_account_id"]),
                release=str(p["release"]),
                description=str(p.get("description", "")),
            )
        )
    key = "invoices-" + hashlib.sha256(",".join(i.key for i in live).encode()).hexdigest()[:40]
    try:
        invoices = ctx.client.invoices_create(requests, idempotency_key=key)
    except BooksError as exc:
        _handle_error(ctx, live, exc)
        return
    by_ref = {inv.external_ref: inv for inv in invoices}
    with transaction.atomic():
        held = set(
            OutboxItem.objects.select_for_update().filter(_mine(live)).values_list("pk", flat=True)
        )
        mine = [i for i in live if i.pk in held]
        if not mine:
            return
        invoices_settle(
            [
                (
                    fee_invoices[i.fee_invoice_id or 0],
                    by_ref[fee_invoices[i.fee_invoice_id or 0].external_ref],
                )
                for i in mine
            ]
        )
        _sent_many(
            held,
            [
                (i.pk, {"invoice_id": inv.id, "number": inv.number, "stage": inv.stage})
                for i in mine
                for inv in [by_ref[fee_invoices[i.fee_invoice_id or 0].external_ref]]
            ],
        )
    ctx.report.sent += len(mine)


def _batch_request_id(run: Sequence[OutboxItem]) -> str:
    """The X-Request-ID of one request to the books carrying ``run``: the id of the web
    request that queued them all, else (items of several requests, or queued by the
    worker) a new one, which each item's log line names (``_log_settled``)."""
    ids = {item.request_id for item in run}
    return ids.pop() if len(ids) == 1 and well_formed(next(iter(ids))) else new_request_id()


def _log_settled(run: Sequence[OutboxItem], books_request_id: str) -> None:
    """One log line per web request and outcome, under that request's id: which of its
    items went (or not), and the X-Request-ID the books logged them under."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    latencies: list[dt.timedelta] = []
    for pk, request_id, state, code, created_at, sent_at in (
        OutboxItem.objects.filter(pk__in=[i.pk for i in run])
        .order_by("pk")
        .values_list("pk", "request_id", "state", "error_code", "created_at", "sent_at")
    ):
        groups.setdefault((request_id, state, code), []).append(pk)
        if state == OutboxState.SENT and sent_at is not None:
            latencies.append(sent_at - created_at)
    _observe_latency(run[0].kind, latencies)
    for (request_id, state, code), pks in groups.items():
        with request_id_bound(request_id or books_request_id):
            log.info(
                "outbox %s %s: %s%s",
                run[0].kind,
                state,
                ", ".join(f"#{pk}" for pk in pks),
                f" ({code})" if code else "",
                extra={
                    "outbox_kind": run[0].kind,
                    "outbox_state": state,
                    "outbox_items": pks,
                    "books_request_id": books_request_id,
                },
            )


def _observe_latency(kind: str, latencies: Sequence[dt.timedelta]) -> None:
    """Count items the books acknowledged into the delivery latency histogram (queued ->
    sent; kept in the database for ``/metrics``: the worker is not the web process)."""
    buckets: dict[int, list[int]] = {}
    for latency in latencies:
        seconds = latency.total_seconds()
        bucket = next(
            (i for i, upper in enumerate(DELIVERY_LATENCY_BUCKETS) if seconds <= upper),
            len(DELIVERY_LATENCY_BUCKETS),
        )
        entry = buckets.setdefault(bucket, [0, 0])
        entry[0] += 1
        entry[1] += max(0, round(seconds * 1000))
    for bucket, (items, total_ms) in sorted(buckets.items()):
        row = DeliveryLatency.objects.filter(kind=kind, bucket=bucket)
        change = {"items": F("items") + items, "total_ms": F("total_ms") + total_ms}
        if not row.update(**change):
            DeliveryLatency.objects.bulk_create(
                [DeliveryLatency(kind=kind, bucket=bucket)], ignore_conflicts=True
            )
            row.update(**change)


#: The kinds sent many to a request (one books batch per run of the kind).
_BATCHES: dict[OutboxKind, Callable[[_Context, list[OutboxItem]], None]] = {
    OutboxKind.COST_SEND: _send_costs,
    OutboxKind.TRUST_CHECK: _send_trust_checks,
    OutboxKind.DEPOSIT_RECEIPT: _record_receipts,
    OutboxKind.FEE_INVOICE: _send_fee_invoices,
}


def _process(ctx: _Context, items: list[OutboxItem]) -> None:
    """Send the claimed items in runs of one kind, in id order; on a stop, release the
    rest. Items of a case whose earlier item did not go are released, not sent past it."""
    index = 0
    try:
        while index < len(items):
            run = [items[index]]
            while (
                index + len(run) < len(items)
                and items[index + len(run)].kind == run[0].kind
                and len(run) < 1000
            ):
                run.append(items[index + len(run)])
            if run[0].kind in _BATCHES:
                batch = _BATCHES[OutboxKind(run[0].kind)]
                with request_id_bound(_batch_request_id(run)) as books_request_id:
                    batch(ctx, run)
                _log_settled(run, books_request_id)
            else:
                one_by_one = {
                    OutboxKind.COST_VOID: _void_check,
                    OutboxKind.DEPOSIT_VOID: _void_receipt,
                }[OutboxKind(run[0].kind)]
                for item in run:
                    with request_id_bound(item.request_id) as books_request_id:
                        one_by_one(ctx, item)
                    _log_settled([item], books_request_id)
            index += len(run)
            # what did not go holds back its cases' later items (only if any follow)
            held = (
                set(
                    OutboxItem.objects.filter(
                        pk__in=[i.pk for i in run],
                        state__in=(OutboxState.FAILED, OutboxState.QUEUED),
                    ).values_list("case_id", flat=True)
                )
                if index < len(items)
                else set()
            )
            if held:
                later = [i for i in items[index:] if i.case_id in held]
                _release(later)
                items = items[:index] + [i for i in items[index:] if i.case_id not in held]
    except _Stop as stop:
        if stop.wait:
            ctx.report.waiting += _wait(items[index:])
        else:
            _release(items[index:])
        if stop.delay:
            schedule_delivery(ctx.conn.firm_id, delay=stop.delay)
        raise


def _take_run(firm_id: int, owner: str) -> bool:
    """Become the firm's one delivery run (or renew it) for a lease's length: two runs of a
    firm could send a case's items out of order. A run whose worker died holds it only
    until the lease runs out (a lock without expiry would stop the firm for good)."""
    now = clock.now()
    return (
        Connection.objects.filter(firm_id=firm_id)
        .filter(
            Q(delivery_owner="")
            | Q(delivery_owner=owner)
            | Q(delivery_lease_until__isnull=True)
            | Q(delivery_lease_until__lte=now)
        )
        .update(
            delivery_owner=owner,
            delivery_lease_until=now + timedelta(seconds=settings.BRIDGE_LEASE_SECONDS),
        )
        == 1
    )


class _RunLease:
    """A run's lease on the firm as its lanes see it: renewed (a guarded UPDATE) once per
    pass, and before a request only when less than ``lease_margin`` is left."""

    def __init__(self, firm_id: int, owner: str) -> None:
        self.firm_id = firm_id
        self.owner = owner
        self.until: dt.datetime | None = None
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take or renew the lease now (at the start of each pass)."""
        with self._lock:
            now = clock.now()
            if not _take_run(self.firm_id, self.owner):
                self.until = None
                return False
            self.until = now + timedelta(seconds=settings.BRIDGE_LEASE_SECONDS)
            return True

    def hold(self) -> bool:
        """Before a request: the lease outlasts what may follow it (``lease_margin``)."""
        with self._lock:
            if self.until is not None and self.until - clock.now() >= lease_margin():
                return True
        return self.take()


def lease_margin() -> timedelta:
    """What a lease must still have before a request for it not to be written again: the
    longest run of requests made after one renewal (three: a void reads the check, voids
    it, reads it again), each as long as the connect and HTTP timeouts allow, or the whole
    lease when it is shorter (then every renewal writes, as before pipelining)."""
    request = settings.BRIDGE_HTTP_TIMEOUT + settings.BRIDGE_CONNECT_TIMEOUT
    return timedelta(seconds=min(settings.BRIDGE_LEASE_SECONDS, 3 * request))


def _live_lease_end(firm_id: int, now: dt.datetime) -> dt.datetime | None:
    """When the firm's live leases run out (the run's and its claimed items'), or None
    when nothing is held."""
    ends = [
        until
        for until in (
            Connection.objects.filter(firm_id=firm_id, delivery_lease_until__gt=now)
            .exclude(delivery_owner="")
            .values_list("delivery_lease_until", flat=True)
            .first(),
            OutboxItem.objects.filter(
                firm_id=firm_id, state=OutboxState.SENDING, lease_until__gt=now
            )
            .order_by("-lease_until")
            .values_list("lease_until", flat=True)
            .first(),
        )
        if until is not None
    ]
    return max(ends) if ends else None


def outbox_watch(*, firm_id: int) -> float | None:
    """The watchdog a run sets when it claims: while a live lease is held, the seconds
    after which to look again (a second after it runs out; a live run renews it on every
    pass, so it is never taken over); once nothing is held, a delivery run, which takes
    over what a dead worker left (sent once: the books find it again by external_ref).
    Returns None when the watch is over. So a killed worker's items wait one lease, not
    the lease and the next minute sweep (ADR 0008)."""
    now = clock.now()
    until = _live_lease_end(firm_id, now)
    if until is not None:
        return (until - now).total_seconds() + 1.0
    outbox_deliver(firm_id=firm_id)
    return None


def _end_run(firm_id: int, owner: str) -> None:
    Connection.objects.filter(firm_id=firm_id, delivery_owner=owner).update(
        delivery_owner="", delivery_lease_until=None
    )


def _still_connected(conn: Connection) -> bool:
    """Re-read between passes: a deactivation or a lapse stops the run."""
    conn.refresh_from_db(fields=["status", "auth_lapsed_at", "token_expires_at"])
    return conn.status == ConnectionStatus.CONNECTED and not token_lapsed(conn)


#: How long after its lease ran out a claimed item counts as abandoned by a dead worker.
PARK_GRACE_SECONDS = 60


def _park_exhausted(firm_id: int) -> int:
    """Items whose worker died on them again and again (claimed past the last attempt and
    never settled) are failed with a reason instead of cycling for ever."""
    return OutboxItem.objects.filter(
        firm_id=firm_id,
        state=OutboxState.SENDING,
        lease_until__lte=clock.now(),
        attempts__gte=settings.BRIDGE_MAX_ATTEMPTS,
    ).update(
        state=OutboxState.FAILED,
        claim="",
        lease_until=None,
        error_code="delivery_interrupted",
        error_message=(
            "Delivery was interrupted every time it was tried (see the worker's log). "
            "Retry sends it again; the books will not record it twice."
        ),
    )


#: Items whose delivery moves money in or out of a file's trust.
TRUST_KINDS = (
    OutboxKind.DEPOSIT_RECEIPT,
    OutboxKind.DEPOSIT_VOID,
    OutboxKind.TRUST_CHECK,
    OutboxKind.FEE_INVOICE,
)


def _read_trust_moved(conn: Connection, client: BooksClient, since: dt.datetime) -> None:
    """After a run that moved trust money: the files' balances as the books now hold them,
    for the screens (they never ask the books themselves: ADR 0008)."""
    case_ids = set(
        OutboxItem.objects.filter(
            firm_id=conn.firm_id, state=OutboxState.SENT, kind__in=TRUST_KINDS, sent_at__gte=since
        ).values_list("case_id", flat=True)
    )
    if not case_ids:
        return
    try:
        balances_read(conn, client, case_ids)
    except BooksError as exc:  # the screens show the last balances, with their age
        log.warning("trust balances after delivery not read (firm %s): %s", conn.firm_id, exc)


#: Batches a run keeps in flight at once (issue 12): while the books post one, the next is
#: claimed, built and posted too (the books serve requests in parallel), and one is
#: settled while another is posted.
IN_FLIGHT = 2


def _pass(ctx: _Context, items: list[OutboxItem]) -> bool:
    """Send and settle one claimed batch (in a lane's thread). False: stop the run."""
    try:
        _process(ctx, items)
    except _Stop:
        return False
    except Exception as exc:  # a bug or the database: never leave items hanging
        log.exception("bridge delivery pass failed for firm %s: %s", ctx.conn.firm_id, exc)
        left = list(OutboxItem.objects.filter(_mine(items)))
        problem = BooksUnreachable(
            "delivery_error",
            "an internal error interrupted the delivery (see the worker log)",
        )
        _retry_later(left, problem, ctx.report)
        return False
    return True


def _close_lane_connections(barrier: threading.Barrier) -> None:
    """Run once in each of the pool's threads (the barrier keeps two from the same thread):
    Django's connections are per thread, and the thread's own must be closed by it."""
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=30)
    connections.close_all()


def _drain(main: _Context, max_passes: int) -> None:
    """Claim batch after batch and keep up to :data:`IN_FLIGHT` of them in flight, each
    sent and settled in a lane of its own (a thread with its own database connection and
    its own client). Claims are made here, one at a time: a claim sees the items in flight
    as sending, so it holds back their cases' later items, and no case's items are ever in
    two batches at once. A claim that finds nothing while a batch is in flight waits for it
    (what it held back may be due then, and a Send still committing adds items); the run
    is drained when a claim finds nothing and nothing is in flight. A stop (a lapsed
    token, the books down, a lost lease) claims nothing more and lets the other batch
    finish."""
    firm_id, report = main.conn.firm_id, main.report
    run_lease = main.run_lease or _RunLease(firm_id, main.owner)
    main.run_lease = run_lease
    idle: list[_Context] = []
    lanes: list[_Context] = []
    running: dict[Future[bool], _Context] = {}
    stopping = False
    pool = ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix=f"deliver-{firm_id}")
    try:
        while True:
            if not stopping and len(running) < IN_FLIGHT:
                if (
                    report.passes >= max_passes
                    or not run_lease.take()
                    or not _still_connected(main.conn)
                ):
                    stopping = True
                else:
                    if not idle:  # a lane ready before anything is claimed for it
                        idle.append(
                            _Context(
                                conn=main.conn,
                                client=client_for(main.conn),
                                report=DeliveryReport(),
                                owner=main.owner,
                                run_lease=run_lease,
                            )
                        )
                        lanes.append(idle[-1])
                    items = claim(firm_id, settings.BRIDGE_BATCH_SIZE)
                    if items:
                        if not report.passes and _watcher is not None:
                            # should this worker die, what it holds is taken over when the
                            # lease ends
                            _watcher(firm_id, float(settings.BRIDGE_LEASE_SECONDS + 1))
                        report.passes += 1
                        lane = idle.pop()
                        job = contextvars.copy_context().run
                        running[pool.submit(job, _pass, lane, items)] = lane
                        continue
                    if not running:
                        report.drained = True
                        break
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                idle.append(running.pop(future))
                if not future.result():
                    stopping = True
    finally:
        for future in list(running):  # only after an error here: let the lanes finish
            future.exception()
        barrier = threading.Barrier(IN_FLIGHT)
        for _ in range(IN_FLIGHT):
            pool.submit(_close_lane_connections, barrier)
        pool.shutdown(wait=True)
        for lane in lanes:
            lane.client.close()
            for name in ("sent", "failed", "retrying", "waiting"):
                setattr(report, name, getattr(report, name) + getattr(lane.report, name))


def outbox_deliver(*, firm_id: int, max_passes: int = 1000) -> DeliveryReport:
    """Deliver everything due for the firm, pass after pass, until nothing is due, with up
    to :data:`IN_FLIGHT` batches in flight (:func:`_drain`). One run per firm at a time; a
    second one returns at once (the first keeps going)."""
    report = DeliveryReport()
    conn = Connection.objects.filter(firm_id=firm_id).first()
    if conn is None or conn.status != ConnectionStatus.CONNECTED:
        return report  # deactivated or never activated: the queue keeps everything
    if token_lapsed(conn):
        report.waiting = _wait_all_queued(firm_id)
        return report
    owner = uuid.uuid4().hex
    run_lease = _RunLease(firm_id, owner)
    if not run_lease.take():
        return report
    try:
        report.failed += _park_exhausted(firm_id)
        try:
            client = client_for(conn)
        except DomainError:  # the stored token cannot be read: as good as lapsed
            report.waiting = _wait_all_queued(firm_id)
            return report
        ctx = _Context(conn=conn, client=client, report=report, owner=owner, run_lease=run_lease)
        started = clock.now()
        try:
            _drain(ctx, max_passes)
            _read_trust_moved(conn, client, started)
        finally:
            client.close()
    finally:
        _end_run(firm_id, owner)
    # a send committed just after this run's last (empty) claim found the lease taken and
    # went away: look once more
    if report.drained:
        now = clock.now()
        late = (
            OutboxItem.objects.filter(firm_id=firm_id)
            .filter(_due(now))
            .exclude(_held_back(firm_id, now))
        )
        if late.exists():
            schedule_delivery(firm_id)
    return report
