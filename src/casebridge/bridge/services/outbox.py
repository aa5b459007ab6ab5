"""Writing to the outbox: every send is recorded in the same transaction as the user's action.

:func:`costs_send` turns Open costs into Pending costs and one ``cost_send`` item each;
:func:`cost_void_queue` (called by the cases side when a sent cost is voided) queues the void
of its check; retry and withdraw act on items that failed. The worker
(:mod:`.delivery`) does the talking to the books.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, transaction

from casebridge.bridge.client import BooksError
from casebridge.bridge.errors import Conflict, NotReady, ValidationFailed
from casebridge.bridge.models import (
    BooksJob,
    Connection,
    ConnectionStatus,
    CostLink,
    DepositLink,
    FeeInvoice,
    InvoiceStage,
    JobKind,
    OutboxItem,
    OutboxKind,
    OutboxState,
    RunState,
)
from casebridge.bridge.services import snapshot
from casebridge.bridge.services.connection import client_for, require_connection
from casebridge.bridge.services.delivery import schedule_delivery
from casebridge.bridge.services.mappings import cost_activity_codes
from casebridge.bridge.services.readiness import COSTS, Readiness, require_ready
from casebridge.bridge.services.worker import ask, take
from casebridge.cases.models import (
    Case,
    Contact,
    Cost,
    CostCode,
    CostStatus,
    Deposit,
    Firm,
    Negotiation,
    Permission,
    User,
)
from casebridge.cases.permissions import require, require_settings_access
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock, words
from casebridge.core.api.lookups import require_in_firm
from casebridge.core.audit import audit_record
from casebridge.core.db import (
    sql_json_object,
    sql_new_key,
    sql_placeholders,
    sql_strip,
    sql_text,
    statement,
)
from casebridge.core.errors import DomainError
from casebridge.core.logs import current_request_id
from casebridge.core.money import format_cents

COST_REF_PREFIX = "cases-cost-"


logger = logging.getLogger(__name__)


def cost_external_ref(cost_id: int) -> str:
    """What the books know a cost's check by: stable for the cost's whole life."""
    return f"{COST_REF_PREFIX}{cost_id}"


def new_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class SendResult:
    """What a Send did: ``count`` costs (``total_cents``) now Pending and queued. When a
    chunk failed after earlier ones had committed (someone changed a cost meanwhile, or
    the database refused), ``not_sent`` costs stayed Open and ``problem`` says why; the
    costs already queued stay queued and are delivered."""

    count: int
    total_cents: int
    not_sent: int = 0
    problem: str = ""


#: Costs per transaction of a Send: each chunk is all or nothing, and the worker starts
#: delivering when the first one commits, while the Send goes on.
SEND_CHUNK = 1000


def costs_send(
    *,
    firm: Firm,
    actor: User,
    cost_ids: list[int],
    bank_account_id: int | None = None,
    checked: Readiness | None = None,
) -> SendResult:
    """Send Open costs to the books as check requests (from ``bank_account_id``, default
    the operating account chosen at activation): they become Pending at once, and the
    worker delivers them. Refused (naming the check) while a readiness check that sending
    costs needs fails, as the worker last read the books (the books are never asked here:
    ADR 0008). ``checked`` is a readiness report the caller obtained just before.

    Every refusal (permission, a cost not in the firm, not Open or sent before, the bank
    account, readiness, the posting reference) is decided for the whole selection before
    anything is written: a refused Send writes nothing. The writes are set-based, in
    chunks of :data:`SEND_CHUNK` costs in id order, each its own transaction (a
    savepoint when the caller holds one, as the API's idempotent requests do): the costs
    become Pending with their audit events (:func:`cost_services.costs_mark_sent`), their
    links are written, and their outbox items inserted with payloads built by the
    database (:func:`_queue_sends`). Delivery is scheduled as the first chunk commits, so
    the worker drains while the Send goes on, and again with the last. Should a later
    chunk fail (a cost changed by someone else since the check, the database refusing),
    the chunks before it stay committed and queued, the rest stay Open, and the result
    says how many were not sent and why; a failure of the first chunk is raised."""
    require(actor, Permission.COSTS_MANAGEMENT)
    if not cost_ids:
        raise ValidationFailed("select at least one cost", field="cost")
    require_in_firm(firm, [(Cost, pk, f"cost_ids[{i}]") for i, pk in enumerate(cost_ids)])
    conn = require_connection(firm)
    bank_id = bank_account_id or conn.operating_account_id
    assert bank_id is not None  # a connected connection has its defaults (CHECK constraint)
    if bank_id != conn.operating_account_id:
        # the books' accounts as the worker last read them (a web request never asks them)
        operating = {
            b.id
            for b in snapshot.bank_accounts(conn) or []
            if b.kind == "operating" and b.is_active
        }
        if bank_id not in operating:
            raise ValidationFailed(
                f"bank account {bank_id} is not an active operating account of the books; "
                "costs are paid from operating, never from client trust",
                field="bank_account_id",
            )
    if checked is None:
        require_ready(conn=conn, purpose=COSTS)
    if conn.cost_posting_code_id is None:
        raise NotReady(
            "choose the cost posting reference (Account Settings → Integrations → Books → "
            "Defaults): the books activity code cost advances post to"
        )
    wanted = sorted(set(cost_ids))
    refusal = cost_services.costs_send_refusal(firm=firm, cost_ids=wanted)
    if refusal is not None:
        raise refusal
    sent = total = 0
    chunks = [wanted[i : i + SEND_CHUNK] for i in range(0, len(wanted), SEND_CHUNK)]
    for n, chunk in enumerate(chunks):
        try:
            with transaction.atomic():
                costs = cost_services.costs_mark_sent(firm=firm, actor=actor, cost_ids=chunk)
                # the posting codes read once the chunk's costs are locked: a cost code
                # edited meanwhile is sent with the code it now has
                codes = cost_activity_codes(
                    conn,
                    Cost.objects.filter(pk__in=chunk)
                    .values_list("cost_code_id", flat=True)
                    .distinct(),
                )
                _queue_sends(firm, actor, chunk, bank_id, codes)
                if n == 0 or n == len(chunks) - 1:
                    schedule_delivery(firm.pk)  # as this chunk commits
        except (DomainError, DatabaseError) as exc:
            if n == 0:
                raise
            problem = exc.message if isinstance(exc, DomainError) else "the database refused it"
            logger.warning(
                "costs_send: chunk %d of %d not sent (%s); %d costs already queued",
                n + 1,
                len(chunks),
                problem,
                sent,
                exc_info=not isinstance(exc, DomainError),
            )
            return SendResult(
                count=sent,
                total_cents=total,
                not_sent=len(wanted) - sent,
                problem=f"{words.plural(len(wanted) - sent, 'cost')} not sent, still Open: "
                f"{problem}. The {sent} sent before are queued.",
            )
        sent += len(costs)
        total += sum(c.amount_cents for c in costs)
    return SendResult(count=sent, total_cents=total)


def _queue_sends(
    firm: Firm, actor: User, cost_ids: list[int], bank_id: int, codes: dict[int, int | None]
) -> None:
    """The links and outbox items of costs just marked sent, set-based: an ``INSERT ...
    SELECT`` each from the costs, with their payee, code and case. A link is kept when the
    cost was sent before (withdrawn, sent again: same external_ref, perhaps a new bank
    account; its problem cleared). Each item's payload is built by the database (a JSON
    object: external_ref, bank_account_id, payee, amount_cents, activity_code_id, memo,
    posting_reference, request_date), its key is random, and the items go in cost id
    order (a case's items are delivered in id order). The memo is the cost's memo
    (stripped), "Inv. <invoice reference>" when it has one, and "<cost code> <case
    number>", joined by " · " and cut at 255 characters."""
    q = connection.ops.quote_name
    costs, links, items = (q(m._meta.db_table) for m in (Cost, CostLink, OutboxItem))
    payees, cost_codes, cases = (q(m._meta.db_table) for m in (Contact, CostCode, Case))
    ids = sql_placeholders(len(cost_ids))
    # each cost code's books activity code, as a table both databases read alike
    mapping = " UNION ALL ".join(
        ["SELECT CAST(%s AS bigint) AS cost_code_id, CAST(%s AS bigint) AS activity_code_id"]
        * len(codes)
    )
    at = connection.ops.adapt_datetimefield_value(clock.now())
    ref = f"'{COST_REF_PREFIX}' || {sql_text('c.id')}"
    memo = sql_strip("c.memo")
    memo_sql = (
        f"substr(CASE WHEN {memo} <> '' THEN {memo} || ' · ' ELSE '' END"
        " || CASE WHEN c.invoice_reference <> '' THEN 'Inv. ' || c.invoice_reference || ' · '"
        " ELSE '' END || cc.code || ' ' || k.number, 1, 255)"
    )
    payload = (
        f"{sql_json_object()}('external_ref', {ref}, 'bank_account_id', %s,"
        " 'payee', p.name, 'amount_cents', c.amount_cents,"
        " 'activity_code_id', m.activity_code_id, 'memo', " + memo_sql + ","
        " 'posting_reference', '', 'request_date', CAST(%s AS text))"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            statement(
                "INSERT INTO",
                links,
                "(firm_id, cost_id, external_ref, bank_account_id, books_check_id,",
                "check_state, check_number, last_synced_at, problem)",
                f"SELECT c.firm_id, c.id, {ref}, %s, NULL, '', NULL, NULL, ''",
                "FROM",
                costs,
                f"c WHERE c.id IN ({ids})",
                "ON CONFLICT (cost_id) DO UPDATE SET bank_account_id =",
                "excluded.bank_account_id, problem = ''",
            ),
            [bank_id, *cost_ids],
        )
        cursor.execute(
            statement(
                "INSERT INTO",
                items,
                "(firm_id, case_id, cost_id, deposit_id, trust_item_id, fee_invoice_id,",
                f"kind, state, {q('key')}, payload, attempts, next_attempt_at, claim, lease_until,",
                "error_code, error_message, result, created_by_id, created_at, sent_at,",
                "request_id)",
                "SELECT c.firm_id, c.case_id, c.id, NULL, NULL, NULL, %s, %s,",
                f"{sql_new_key()}, {payload}, 0, %s, '', NULL, '', '', NULL, %s, %s,",
                "NULL, %s FROM",
                costs,
                "c JOIN",
                payees,
                "p ON p.id = c.payee_id JOIN",
                cost_codes,
                "cc ON cc.id = c.cost_code_id JOIN",
                cases,
                f"k ON k.id = c.case_id JOIN ({mapping}) m ON m.cost_code_id = c.cost_code_id",
                f"WHERE c.id IN ({ids}) ORDER BY c.id",
            ),
            [  # in the statement's order: the SELECT list, the mapping, the costs
                OutboxKind.COST_SEND,
                OutboxState.QUEUED,
                bank_id,
                clock.today().isoformat(),
                at,
                actor.pk,
                at,
                current_request_id(),
                *(v for pair in codes.items() for v in pair),
                *cost_ids,
            ],
        )
        if cursor.rowcount != len(cost_ids):  # every cost has a code mapped: asserted
            raise DatabaseError(f"{cursor.rowcount} outbox items for {len(cost_ids)} costs")


def cost_void_queue(*, cost: Cost, actor: User | None) -> None:
    """A sent cost was voided on the cases side (inside that transaction). Sends not yet
    delivered are withdrawn, and the void of the cost's check is always queued, after the
    send (items of a case go in order): the void finds the check by its external_ref when
    no answer named it, and ends as "nothing to void" when the books never got it. Never
    deciding from "it was not tried yet" is what keeps a check that landed unseen (a lost
    answer, then Retry) or a send being claimed this very moment from surviving the void."""
    link = CostLink.objects.filter(cost_id=cost.pk).first()
    if link is None:
        return  # never sent: nothing in the books
    OutboxItem.objects.filter(
        cost_id=cost.pk,
        kind=OutboxKind.COST_SEND,
        state__in=(OutboxState.QUEUED, OutboxState.WAITING, OutboxState.FAILED),
    ).update(
        state=OutboxState.CANCELLED,
        error_code="cost_voided",
        error_message="The cost was voided on the cases side; its void follows.",
    )
    now = clock.now()
    reason = "Voided in case management" + (f": {cost.void_reason}" if cost.void_reason else "")
    OutboxItem.objects.create(
        firm_id=cost.firm_id,
        case_id=cost.case_id,
        cost=cost,
        kind=OutboxKind.COST_VOID,
        key=new_key(),
        payload={"external_ref": link.external_ref, "reason": reason[:255]},
        next_attempt_at=now,
        created_by=actor,
        created_at=now,
    )
    schedule_delivery(cost.firm_id)


def deposit_external_ref(deposit_id: int) -> str:
    return f"cases-deposit-{deposit_id}"


def deposit_receipt_queue(*, deposit: Deposit, actor: User | None) -> None:
    """A settlement check was deposited on the cases side (inside that transaction): queue
    its trust receipt in the books' default client trust account, for the case's file.
    Queued whatever the connection's state (deactivated or lapsed: it waits); a firm that
    never activated the integration sends nothing."""
    conn = Connection.objects.filter(firm_id=deposit.firm_id).first()
    if conn is None or conn.trust_account_id is None:
        return
    ref = deposit_external_ref(deposit.pk)
    DepositLink.objects.get_or_create(
        deposit=deposit,
        defaults={
            "firm_id": deposit.firm_id,
            "external_ref": ref,
            "bank_account_id": conn.trust_account_id,
        },
    )
    payer = (
        Negotiation.objects.filter(pk=deposit.offer_id)
        .values_list("party__name", flat=True)
        .first()
    )
    now = clock.now()
    OutboxItem.objects.create(
        firm_id=deposit.firm_id,
        case_id=deposit.case_id,
        deposit=deposit,
        kind=OutboxKind.DEPOSIT_RECEIPT,
        key=new_key(),
        payload={
            "external_ref": ref,
            "bank_account_id": conn.trust_account_id,
            "payer": payer or "Settlement",
            "amount_cents": deposit.amount_cents,
            "received_on": deposit.deposited_on.isoformat(),
            "reference": deposit.check_number,
            "memo": f"Settlement check {deposit.check_number}",
        },
        next_attempt_at=now,
        created_by=actor,
        created_at=now,
    )
    _payments_behind(deposit.case_id, actor)
    if conn.status == ConnectionStatus.CONNECTED:
        schedule_delivery(deposit.firm_id)


def _payments_behind(case_id: int, actor: User | None) -> int:
    """Money coming into trust goes before the case's payments still waiting to go out:
    each trust check or fee invoice not yet sent (queued, waiting, or refused, perhaps for
    want of this very deposit) is queued again after the receipt, as a fresh item (same
    external_ref, so the books never record it twice), and the old one is cancelled. Items
    of a case go in order, so nothing is sent past a refusal; this puts the order right."""
    now = clock.now()
    moved = 0
    for item in (
        OutboxItem.objects.select_for_update()
        .filter(
            case_id=case_id,
            kind__in=(OutboxKind.TRUST_CHECK, OutboxKind.FEE_INVOICE),
            state__in=(OutboxState.QUEUED, OutboxState.WAITING, OutboxState.FAILED),
        )
        .order_by("pk")
    ):
        OutboxItem.objects.create(
            firm_id=item.firm_id,
            case_id=item.case_id,
            trust_item_id=item.trust_item_id,
            fee_invoice_id=item.fee_invoice_id,
            kind=item.kind,
            key=new_key(),
            payload=item.payload,
            next_attempt_at=now,
            created_by=actor,
            created_at=now,
        )
        item.state = OutboxState.CANCELLED
        item.error_message = "Queued again after a deposit into trust (a new item follows)."
        item.save(update_fields=["state", "error_message"])
        moved += 1
    return moved


def deposit_void_queue(*, deposit: Deposit, actor: User | None) -> None:
    """A deposit was voided on the cases side: its receipt is reversed in the books (after
    the receipt itself, items of a case going in order). A receipt never sent is withdrawn."""
    link = DepositLink.objects.filter(deposit_id=deposit.pk).first()
    if link is None:
        return
    OutboxItem.objects.filter(
        deposit_id=deposit.pk,
        kind=OutboxKind.DEPOSIT_RECEIPT,
        state__in=(OutboxState.QUEUED, OutboxState.WAITING, OutboxState.FAILED),
    ).update(
        state=OutboxState.CANCELLED,
        error_code="deposit_voided",
        error_message="The deposit was voided on the cases side; its reversal follows.",
    )
    now = clock.now()
    reason = "Voided in case management" + (
        f": {deposit.void_reason}" if deposit.void_reason else ""
    )
    OutboxItem.objects.create(
        firm_id=deposit.firm_id,
        case_id=deposit.case_id,
        deposit=deposit,
        kind=OutboxKind.DEPOSIT_VOID,
        key=new_key(),
        payload={"external_ref": link.external_ref, "reason": reason[:255]},
        next_attempt_at=now,
        created_by=actor,
        created_at=now,
    )
    schedule_delivery(deposit.firm_id)


def cost_edit_refusal(*, cost: Cost, fields: list[str]) -> str | None:
    locked = {"payee_id", "amount_cents", "cost_code_id", "cost_date"} & set(fields)
    if (
        locked
        and CostLink.objects.filter(cost_id=cost.pk).exists()
        and cost.status != CostStatus.OPEN
    ):
        return (
            "this cost was sent to the books as a check request; its payee, amount, code and "
            "date are fixed there. Void it and add a new cost instead"
        )
    return None


# --- The queue screen's actions ----------------------------------------------------------------


def _audit(firm: Firm, actor: User, action: str, summary: str) -> None:
    audit_record(
        system="bridge",
        firm_id=firm.pk,
        actor_id=actor.pk,
        actor_label=actor.email,
        action=action,
        entity_type="outbox",
        summary=summary,
    )


def items_retry(*, firm: Firm, actor: User, item_ids: list[int] | None = None) -> int:
    """Failed items (all, or those named) go back in the queue, due now, attempts reset."""
    require(actor, Permission.COSTS_MANAGEMENT)
    if item_ids is not None:
        require_in_firm(firm, [(OutboxItem, pk, f"item_ids[{i}]") for i, pk in enumerate(item_ids)])
    with transaction.atomic():
        qs = OutboxItem.objects.filter(firm=firm, state=OutboxState.FAILED)
        if item_ids is not None:
            qs = qs.filter(pk__in=item_ids)
        count = qs.update(
            state=OutboxState.QUEUED,
            attempts=0,
            next_attempt_at=clock.now(),
            error_code="",
            error_message="",
        )
        if item_ids is not None and count != len(set(item_ids)):
            raise Conflict("only failed items can be retried; reload the queue", field="item")
        if count:
            _audit(firm, actor, "retry", f"{words.plural(count, 'failed item')} queued again")
            schedule_delivery(firm.pk)
    return count


def item_withdraw(*, firm: Firm, actor: User, item_id: int) -> BooksJob:
    """Withdraw a failed send: a cost goes back to Open; a fee invoice the books refused is
    set aside, so that a new one can be created. Whether the books hold the check or
    invoice after all (an answer that was lost) only they can say, so the worker asks them
    (:func:`withdraw_job_run`): the withdrawal is queued, and refused there when they do
    (retry it instead). Returns the queued job."""
    require_settings_access(actor)
    item = _withdrawable(firm, item_id)
    require_connection(firm)
    now = clock.now()
    with transaction.atomic():
        job = BooksJob.objects.create(
            firm=firm,
            kind=JobKind.WITHDRAW,
            params={"item_id": item.pk},
            requested_by=actor,
            requested_at=now,
        )
        ask("job", job.pk)
    return job


def _withdrawable(firm: Firm, item_id: int) -> OutboxItem:
    item = (
        OutboxItem.objects.filter(firm=firm, pk=item_id)
        .select_related("cost", "fee_invoice")
        .first()
    )
    if item is None:
        raise ValidationFailed("no such item in this firm's queue", field="item")
    withdrawable = (item.kind == OutboxKind.COST_SEND and item.cost is not None) or (
        item.kind == OutboxKind.FEE_INVOICE and item.fee_invoice is not None
    )
    if item.state != OutboxState.FAILED or not withdrawable:
        raise Conflict(
            "only a failed send of a cost or a fee invoice can be withdrawn", field="item"
        )
    return item


def withdraw_job_run(*, job: BooksJob) -> None:
    """On the worker: ask the books whether they hold the failed send's check or invoice
    after all; if not, withdraw it. The answer (or the refusal) is kept on the job."""
    if not take(BooksJob, job.pk, started_at=clock.now()):
        return
    actor = job.requested_by
    assert actor is not None
    try:
        summary = _withdraw(job.firm, actor, int(job.params["item_id"]))
    except DomainError as exc:
        BooksJob.objects.filter(pk=job.pk).update(
            state=RunState.FAILED,
            error_code=exc.code[:80],
            error_message=exc.message[:1000],
            error_field=(exc.field or "")[:80],
            finished_at=clock.now(),
        )
        return
    BooksJob.objects.filter(pk=job.pk).update(
        state=RunState.DONE, result={"summary": summary}, finished_at=clock.now()
    )


def _withdraw(firm: Firm, actor: User, item_id: int) -> str:
    item = _withdrawable(firm, item_id)
    conn = require_connection(firm)
    client = client_for(conn)
    ref = str(item.payload["external_ref"])
    noun = "check" if item.kind == OutboxKind.COST_SEND else "invoice"
    try:
        found: list[Any] = (
            list(client.checks_by_external_ref(ref))
            if item.kind == OutboxKind.COST_SEND
            else list(client.invoices_by_external_ref(ref))
        )
    except BooksError as exc:
        raise Conflict(
            f"the books could not be asked whether the {noun} exists ({exc.message}); try again"
        ) from None
    finally:
        client.close()
    if found:
        raise Conflict(
            f"the books hold {noun} {found[0].id} for this after all; retry the item to link "
            "it instead of withdrawing",
            field="item",
        )
    with transaction.atomic():
        locked = OutboxItem.objects.select_for_update().get(pk=item.pk)
        if locked.state != OutboxState.FAILED:
            raise Conflict("the item changed meanwhile; reload the queue", field="item")
        locked.state = OutboxState.CANCELLED
        locked.error_message = f"Withdrawn by {actor.email}: {locked.error_message}"[:1000]
        locked.save(update_fields=["state", "error_message"])
        if item.cost is not None:
            cost_services.cost_return_to_open(
                firm=firm,
                actor=actor,
                cost_id=item.cost.pk,
                reason="send withdrawn after it failed",
            )
            summary = (
                f"Send of {format_cents(item.cost.amount_cents)} to {item.cost.payee.name} "
                "withdrawn; the cost is Open again."
            )
            audit = f"Send of the {item.cost.described} withdrawn"
        else:
            assert item.fee_invoice is not None
            FeeInvoice.objects.filter(pk=item.fee_invoice.pk).update(
                stage=InvoiceStage.VOIDED,
                problem=f"Withdrawn by {actor.email} after the books refused it",
            )
            summary = (
                f"Fee invoice of case {item.case.number} withdrawn; a new one can be created "
                "from Client Trust Management."
            )
            audit = (
                f"Fee invoice of case {item.case_id} "
                f"({format_cents(item.fee_invoice.total_cents)}) withdrawn"
            )
        _audit(firm, actor, "withdraw", audit)
    return summary
