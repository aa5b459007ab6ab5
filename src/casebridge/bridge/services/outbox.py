"""Writing to the outbox: every send is recorded in the same transaction as the user's action.

:func:`costs_send` turns Open costs into Pending costs and one ``cost_send`` item each;
:func:`cost_void_queue` (called by the cases side when a sent cost is voided) queues the void
of its check; retry and withdraw act on items that failed. The worker
(:mod:`.delivery`) does the talking to the books.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

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
from casebridge.cases.models import Cost, CostStatus, Deposit, Firm, Negotiation, Permission, User
from casebridge.cases.permissions import require, require_settings_access
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock
from casebridge.core.api.lookups import require_in_firm
from casebridge.core.audit import audit_record
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents


def cost_external_ref(cost_id: int) -> str:
    """What the books know a cost's check by: stable for the cost's whole life."""
    return f"cases-cost-{cost_id}"


def new_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class SendResult:
    count: int
    total_cents: int


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
    worker delivers them. All or nothing; refused (naming the check) while a readiness
    check that sending costs needs fails, as the worker last read the books (the books are
    never asked here: ADR 0008). ``checked`` is a readiness report the caller obtained
    just before."""
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
            "choose the cost posting reference (Account Settings -> Integrations -> Books -> "
            "Defaults): the books activity code cost advances post to"
        )
    now = clock.now()
    with transaction.atomic():
        costs = cost_services.costs_mark_sent(firm=firm, actor=actor, cost_ids=cost_ids)
        codes = cost_activity_codes(conn, {c.cost_code_id for c in costs})
        existing = set(
            CostLink.objects.filter(cost_id__in=[c.pk for c in costs]).values_list(
                "cost_id", flat=True
            )
        )
        CostLink.objects.bulk_create(
            [
                CostLink(
                    firm=firm,
                    cost=c,
                    external_ref=cost_external_ref(c.pk),
                    bank_account_id=bank_id,
                )
                for c in costs
                if c.pk not in existing
            ],
            batch_size=1000,
        )
        if existing:  # sent before, withdrawn, sent again: same external_ref, maybe new bank
            CostLink.objects.filter(cost_id__in=existing).update(
                bank_account_id=bank_id, problem=""
            )
        OutboxItem.objects.bulk_create(
            [
                OutboxItem(
                    firm=firm,
                    case_id=c.case_id,
                    cost=c,
                    kind=OutboxKind.COST_SEND,
                    key=new_key(),
                    payload={
                        "external_ref": cost_external_ref(c.pk),
                        "bank_account_id": bank_id,
                        "payee": c.payee.name,
                        "amount_cents": c.amount_cents,
                        "activity_code_id": codes[c.cost_code_id],
                        "memo": _memo(c),
                        "posting_reference": "",
                        "request_date": clock.today().isoformat(),
                    },
                    next_attempt_at=now,
                    created_by=actor,
                    created_at=now,
                )
                for c in costs
            ],
            batch_size=1000,
        )
        schedule_delivery(firm.pk)
    return SendResult(count=len(costs), total_cents=sum(c.amount_cents for c in costs))


def _memo(cost: Cost) -> str:
    parts = [cost.memo.strip()]
    if cost.invoice_reference:
        parts.append(f"Inv. {cost.invoice_reference}")
    parts.append(f"{cost.cost_code.code} {cost.case.number}")
    return " · ".join(p for p in parts if p)[:255]


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
            _audit(firm, actor, "retry", f"{count} failed item(s) queued again")
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
            audit = (
                f"Send of cost {item.cost.pk} ({format_cents(item.cost.amount_cents)}) withdrawn"
            )
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
