"""Settlement money to the books (issue 5): the payments pushed to disbursement become
trust check requests, and **Create fee invoice** sends one invoice per case.

Both go through the outbox like costs (same transaction as the user's action, delivered
exactly once by the worker, items of a case in order), so a refusal of one item holds back
everything after it for that case.

- :func:`disbursement_queue` (called inside ``push_to_disbursement``): each lien,
  third-party and client payment not paid direct becomes a ``trust_check`` item, a check
  request on the default client trust account for the case's file, with the payee as
  staged (a guardian or conservator for the client's check when one was named). The books
  refuse a request that would take the file's trust below zero; the refusal shows on
  Client Trust Management and the case's later items wait behind it.
- :func:`fee_invoice_create`: the fee as a time entry of the responsible attorney's books
  user, the COPP charges and the Property Damage Fee with their activity codes, and one
  line per advanced cost reimbursed (with the activity code its check was sent with, so
  the reimbursement credits exactly the account the advance debited). Each line names its
  source (``cases-trust-item-<id>``, ``cases-cost-<id>``). Released automatically or left
  for review in the books, as chosen at activation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.db import IntegrityError, transaction

from casebridge.bridge.client import BooksUser
from casebridge.bridge.errors import Conflict, NotReady, NotReadYet, ValidationFailed
from casebridge.bridge.models import (
    CheckState,
    Connection,
    ConnectionStatus,
    CostLink,
    FeeInvoice,
    InvoiceRelease,
    InvoiceStage,
    OutboxItem,
    OutboxKind,
    OutboxState,
    TrustItemLink,
)
from casebridge.bridge.services import snapshot
from casebridge.bridge.services.connection import require_connection
from casebridge.bridge.services.delivery import schedule_delivery
from casebridge.bridge.services.mappings import cost_activity_codes
from casebridge.bridge.services.outbox import new_key
from casebridge.bridge.services.readiness import INVOICES, require_ready
from casebridge.cases.errors import MedicareHold
from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    Firm,
    Permission,
    Settlement,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
    User,
)
from casebridge.cases.permissions import require
from casebridge.cases.selectors.medicare import medicare_hold_reason
from casebridge.cases.services.disbursement import INVOICED_KINDS
from casebridge.core import clock, words
from casebridge.core.audit import audit_record, audit_record_many
from casebridge.core.db import insert_rows, inserted_instances, update_rows
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents

#: Readiness checks about every attorney with open cases: a fee invoice asks instead about
#: its own case's attorney (``_require_timekeeper``), so another attorney's gap does not
#: hold it back.
CASE_ATTORNEY_CHECKS = ("attorney_emails", "records_time")

#: Payments made by trust check (the rest of a case's payments go on its fee invoice).
CHECK_KINDS = (TrustItemKind.LIEN, TrustItemKind.CLIENT)


def trust_item_external_ref(item_id: int, generation: int = 1) -> str:
    """What the books know a payment's trust check by (a new one for each reissue)."""
    return f"cases-trust-item-{item_id}" + (f"-{generation}" if generation > 1 else "")


def fee_invoice_external_ref(fee_invoice_id: int) -> str:
    return f"cases-fee-invoice-{fee_invoice_id}"


def _memo(item: TrustItem) -> str:
    label = TrustItemKind(item.kind).label
    return f"{label}" + (f": {item.note}" if item.note else "")


def _queue_check(conn: Connection, item: TrustItem, actor: User | None, generation: int) -> None:
    ref = trust_item_external_ref(item.pk, generation)
    assert conn.trust_account_id is not None
    TrustItemLink.objects.update_or_create(
        trust_item=item,
        defaults={
            "firm_id": item.firm_id,
            "external_ref": ref,
            "generation": generation,
            "bank_account_id": conn.trust_account_id,
            "amount_cents": item.amount_cents,
            "books_check_id": None,
            "check_state": "",
            "check_number": None,
            "problem": "",
        },
    )
    now = clock.now()
    OutboxItem.objects.create(
        firm_id=item.firm_id,
        case_id=item.case_id,
        trust_item=item,
        kind=OutboxKind.TRUST_CHECK,
        key=new_key(),
        payload={
            "external_ref": ref,
            "bank_account_id": conn.trust_account_id,
            "payee": item.payee_name,
            "amount_cents": item.amount_cents,
            "memo": _memo(item)[:255],
            "posting_reference": "",
        },
        next_attempt_at=now,
        created_by=actor,
        created_at=now,
    )


def disbursement_queue(*, case: Case, items: Sequence[TrustItem], actor: User | None) -> int:
    """Inside Push to Disbursement's transaction: one trust check request per payment made
    by check (paid-direct payments are recorded, never sent). Queued whatever the
    connection's state (deactivated or lapsed: it waits); a firm that never activated the
    integration sends nothing. Returns how many were queued."""
    conn = Connection.objects.filter(firm_id=case.firm_id).first()
    if conn is None or conn.trust_account_id is None:
        return 0
    queued = 0
    for item in items:
        if item.kind in CHECK_KINDS and not item.paid_direct:
            _queue_check(conn, item, actor, 1)
            queued += 1
    if queued and conn.status == ConnectionStatus.CONNECTED:
        schedule_delivery(case.firm_id)
    return queued


def trust_check_send_again(*, firm: Firm, actor: User, trust_item_id: int) -> TrustItemLink:
    """The books voided a payment's check (or never printed it and the accountant asks for
    a new one): request a new check, with a new external_ref. Only for a payment still To
    Be Disbursed whose last check is void."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    conn = require_connection(firm)
    with transaction.atomic():
        case_id = (
            TrustItem.objects.filter(firm=firm, pk=trust_item_id)
            .values_list("case_id", flat=True)
            .first()
        )
        if case_id is not None:
            # the Settlement row first: the lock Push to Disbursement checks the Medicare
            # hold under and every Medicare write takes (ADR 0039)
            Settlement.objects.select_for_update().filter(case_id=case_id).first()
        link = (
            TrustItemLink.objects.select_for_update()
            .filter(firm=firm, trust_item_id=trust_item_id)
            .select_related("trust_item", "trust_item__case", "trust_item__case__client")
            .first()
        )
        if link is None:
            raise ValidationFailed("this payment was never sent to the books", field="item")
        if link.check_state != "void" or link.trust_item.status != TrustItemStatus.TO_BE_DISBURSED:
            raise Conflict(
                "only a payment whose check was voided in the books can be sent again",
                field="item",
            )
        if link.trust_item.kind == TrustItemKind.CLIENT:
            # the client's check is held for Medicare as the first send was (the push);
            # it is no longer staged, so the hold is asked whatever the check's status
            hold = medicare_hold_reason(link.trust_item.case, staged_only=False)
            if hold:
                raise MedicareHold(hold)
        _queue_check(conn, link.trust_item, actor, link.generation + 1)
        _audit(
            firm,
            actor,
            "send_again",
            f"New trust check requested for {link.trust_item.payee_name} "
            f"({format_cents(link.trust_item.amount_cents)}) after check "
            f"{link.check_number or link.books_check_id} was voided",
        )
        if conn.status == ConnectionStatus.CONNECTED:
            schedule_delivery(firm.pk)
    return TrustItemLink.objects.get(pk=link.pk)


def _audit(firm: Firm, actor: User, action: str, summary: str) -> None:
    audit_record(
        system="bridge",
        firm_id=firm.pk,
        actor_id=actor.pk,
        actor_label=actor.email,
        action=action,
        entity_type="settlement",
        summary=summary,
    )


# --- Fee invoices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    kind: str
    description: str
    amount_cents: int
    source: str  # the line's external_ref: its source on the cases side
    trust_item_id: int
    cost_id: int | None = None
    activity_code_id: int | None = None
    #: the payment's kind for a charge (COPP, Property Damage Fee), whose activity code is
    #: the connection's own and is read again when the invoice is queued
    charge: str = ""


@dataclass(frozen=True)
class _CostRow:
    """A cost not void, as a reimbursement line needs it."""

    pk: int
    amount_cents: int
    status: str
    sent: bool
    cost_code_id: int
    code: str
    cost_date: dt.date
    payee: str


@dataclass
class _Reimbursable:
    """What the cost reimbursement lines of the cases planned together need, each read once
    for all of them (a constant number of queries however many cases)."""

    #: case id -> its costs not void, in date order
    costs: dict[int, list[_CostRow]] = field(default_factory=dict)
    #: the costs whose check is in the books (neither void nor missing)
    checked: set[int] = field(default_factory=set)
    #: cost id -> the activity code its check request carried
    codes: dict[int, int] = field(default_factory=dict)
    #: cost code id -> the code its advances post to (for costs paid outside the books)
    mapped: dict[int, int | None] = field(default_factory=dict)


def _reimbursable(conn: Connection, case_ids: Sequence[int]) -> _Reimbursable:
    """Four queries at most for every case: the costs, their checks, the activity codes
    their check requests carried, and (for costs paid outside the books) the mappings."""
    facts = _Reimbursable()
    if not case_ids:
        return facts
    wanted = list(case_ids)
    for row in (
        Cost.objects.filter(case_id__in=wanted)
        .exclude(status=CostStatus.VOID)
        .order_by("cost_date", "pk")
        .values_list(
            "pk",
            "case_id",
            "amount_cents",
            "status",
            "sent_at",
            "cost_code_id",
            "cost_code__code",
            "cost_date",
            "payee__name",
        )
    ):
        pk, case_id, cents, status, sent_at, code_id, code, day, payee = row
        facts.costs.setdefault(case_id, []).append(
            _CostRow(pk, cents, status, sent_at is not None, code_id, code, day, payee)
        )
    facts.checked = set(
        CostLink.objects.filter(cost__case_id__in=wanted, books_check_id__isnull=False)
        .exclude(check_state__in=(CheckState.VOID, CheckState.MISSING))
        .values_list("cost_id", flat=True)
    )
    # each sent cost's activity code, as its check request carried it (a later send wins)
    for cost_id, code in (
        OutboxItem.objects.filter(
            case_id__in=wanted, kind=OutboxKind.COST_SEND, state=OutboxState.SENT
        )
        .order_by("pk")
        .values_list("cost_id", "payload__activity_code_id")
    ):
        if cost_id and code:
            facts.codes[cost_id] = int(code)
    outside = {c.cost_code_id for rows in facts.costs.values() for c in rows if not c.sent}
    if outside:
        facts.mapped = cost_activity_codes(conn, outside)
    return facts


def _reimbursement_lines(case: Case, item: TrustItem, facts: _Reimbursable) -> list[_Line]:
    """One line per advanced cost, in date order, for the amount staged: a reduction (a
    Property Damage Fee waiver, or a smaller amount staged) comes off the last costs, so
    the lines add up to the staged amount to the cent.

    A sent cost is repaid only once its check is in the books (the advance it repays is
    posted), with the activity code that check carried. A cost paid outside the books (by
    card, say) is repaid with the code its advance would have posted to (its mapping, the
    books' code of its UTBMS code, else the cost posting reference): the accountant records
    such an advance in the books by hand. A cost still Open is refused: send or void it first."""
    costs = facts.costs.get(case.pk, [])
    unsent = [c for c in costs if c.status == CostStatus.OPEN]
    if unsent:
        unsent_cents = format_cents(sum(c.amount_cents for c in unsent))
        raise ValidationFailed(
            f"{len(unsent)} of this case's costs ({unsent_cents}) were never sent to the "
            "books, so the books hold no advance to reimburse; send or void them first "
            "(Costs tab)",
            field="case",
        )
    waiting = [c for c in costs if c.sent and c.pk not in facts.checked]
    if waiting:
        raise ValidationFailed(
            f"{len(waiting)} of this case's costs "
            f"({format_cents(sum(c.amount_cents for c in waiting))}) have no check in the books "
            "yet (still on their way, or their send failed: see the sync queue); the fee "
            "invoice can repay an advance only once the books hold it",
            field="case",
        )
    total = sum(c.amount_cents for c in costs)
    if item.amount_cents > total:
        raise ValidationFailed(
            f"the cost reimbursement staged ({format_cents(item.amount_cents)}) is more than "
            f"the case's costs ({format_cents(total)})",
            field="case",
        )
    excess = total - item.amount_cents
    amounts = [c.amount_cents for c in costs]
    for i in range(len(amounts) - 1, -1, -1):
        if excess == 0:
            break
        cut = min(amounts[i], excess)
        amounts[i] -= cut
        excess -= cut
    lines = []
    for cost, cents in zip(costs, amounts, strict=True):
        if cents == 0:
            continue
        outside = not cost.sent
        code = facts.mapped.get(cost.cost_code_id) if outside else facts.codes.get(cost.pk)
        if code is None:
            raise ValidationFailed(
                f"the cost to {cost.payee} for {format_cents(cost.amount_cents)} has no activity "
                "code to repay it with; "
                "run the readiness check",
                field="case",
            )
        reduced = "" if cents == cost.amount_cents else f" (of {format_cents(cost.amount_cents)})"
        how = " (paid outside the books)" if outside else ""
        lines.append(
            _Line(
                kind="cost",
                description=f"Reimbursed cost: {cost.payee[:120]}, {cost.code} "
                f"{words.format_day(cost.cost_date)}{reduced}{how}"[:255],
                amount_cents=cents,
                source=f"cases-cost-{cost.pk}",
                trust_item_id=item.pk,
                cost_id=cost.pk,
                activity_code_id=code,
            )
        )
    return lines


def _charge_code(conn: Connection, kind: str) -> int | None:
    """The connection's activity code for a charge billed on the invoice."""
    if kind == TrustItemKind.COPP:
        return conn.copp_activity_code_id
    if kind == TrustItemKind.PROPERTY_DAMAGE_FEE:
        return conn.pd_activity_code_id
    return None


_CHARGE_LABELS = {
    TrustItemKind.COPP: "COPP charges",
    TrustItemKind.PROPERTY_DAMAGE_FEE: "Property Damage Fee",
}


def _lines(
    case: Case, items: list[TrustItem], conn: Connection, facts: _Reimbursable
) -> list[_Line]:
    lines: list[_Line] = []
    for item in items:
        source = trust_item_external_ref(item.pk)
        if item.kind == TrustItemKind.FEE:
            lines.append(
                _Line(
                    "fee",
                    f"Attorney fee, {case.number} {case.name}",
                    item.amount_cents,
                    source,
                    item.pk,
                )
            )
        elif item.kind in _CHARGE_LABELS:
            lines.append(
                _Line(
                    "cost",
                    _CHARGE_LABELS[TrustItemKind(item.kind)],
                    item.amount_cents,
                    source,
                    item.pk,
                    activity_code_id=_charge_code(conn, item.kind),
                    charge=item.kind,
                )
            )
        elif item.kind == TrustItemKind.COST_REIMBURSEMENT:
            lines.extend(_reimbursement_lines(case, item, facts))
    return lines


def _timekeeper(case: Case, users: dict[str, BooksUser]) -> str | NotReady:
    """The responsible attorney's books email, or why not: their books user must exist and
    record time (the fee is their time entry), as the worker last read the books' users:
    the readiness report covers attorneys of open cases only."""
    attorney = case.responsible_attorney
    if attorney is None:
        return NotReady(
            "the case has no responsible attorney, whose time entry the fee would be; "
            "set one on the case first",
            checks=["attorney_emails"],
        )
    books_user = users.get(attorney.email.strip().lower())
    if books_user is None:
        return NotReady(
            f"the responsible attorney {attorney.display_name} ({attorney.email}) has no books "
            "user with that email. In the books: Gear → Users → add the user with exactly "
            "this email (or correct the email on either side)",
            checks=["attorney_emails"],
        )
    if not books_user.records_time:
        return NotReady(
            f"Records Time is off for {attorney.email} in the books, and the fee is their time "
            "entry. In the books: Gear → Users → pencil → Accounting → toggle on Records "
            "Time → Save",
            checks=["records_time"],
        )
    return attorney.email.strip().lower()


def _timekeepers(
    conn: Connection, plans: Sequence[FeeInvoicePlan]
) -> tuple[dict[int, str], dict[int, DomainError]]:
    """Each planned case's attorney's books email (case id -> email), or why not (case id
    -> refusal), from the books' active users as the worker last read them (never asked
    here: ADR 0008). A refusal about the books' users asks the worker for a fresh read,
    once (the fix may have been made in the books since)."""
    emails: dict[int, str] = {}
    refused: dict[int, DomainError] = {}
    if not plans:
        return emails, refused
    users = snapshot.users(conn)
    if users is None:
        snapshot.refresh_request(conn)
        for plan in plans:
            attorney = plan.case.responsible_attorney
            who = attorney.email if attorney else "the attorney"
            refused[plan.case.pk] = NotReadYet(
                f"the books' users have not been read yet (is {who} one, recording time?); "
                "the worker is reading them now, try again in a moment"
            )
        return emails, refused
    active = {u.email.strip().lower(): u for u in users if u.is_active}
    ask_again = False
    for plan in plans:
        found = _timekeeper(plan.case, active)
        if isinstance(found, NotReady):
            refused[plan.case.pk] = found
            ask_again = ask_again or plan.case.responsible_attorney is not None
        else:
            emails[plan.case.pk] = found
    if ask_again:
        snapshot.refresh_request(conn)
    return emails, refused


@dataclass(frozen=True)
class FeeInvoicePlan:
    """What Create fee invoice would send: shown in its pop-up before the user confirms."""

    case: Case
    conn: Connection
    items: list[TrustItem]
    lines: list[_Line]

    @property
    def total_cents(self) -> int:
        return sum(ln.amount_cents for ln in self.lines)

    @property
    def release_label(self) -> str:
        return InvoiceRelease(self.conn.invoice_release).label


def _plans(
    firm: Firm, case_ids: Sequence[int], conn: Connection | None = None
) -> tuple[dict[int, FeeInvoicePlan], dict[int, DomainError]]:
    """Every case's fee invoice as it would be sent (case id -> plan), or why not (case id
    -> refusal, in the order of the checks: the case not found, no connection (refuses
    all, raised), an invoice already there, nothing to invoice, the costs' refusals). A
    constant number of queries however many cases: the cases with their attorneys, their
    invoices not voided, their payments waiting to be invoiced, and what the cost
    reimbursements need, each read once for all."""
    wanted = list(dict.fromkeys(case_ids))
    found = {
        case.pk: case
        for case in Case.objects.filter(firm=firm, pk__in=wanted).select_related(
            "responsible_attorney"
        )
    }
    refused: dict[int, DomainError] = {
        case_id: ValidationFailed("case not found in this firm", field="case")
        for case_id in wanted
        if case_id not in found
    }
    if not found:
        return {}, refused
    if conn is None:
        conn = require_connection(firm)
    existing = _live_invoices(list(found))
    labels = _invoice_labels(list(existing.values()))
    items_of: dict[int, list[TrustItem]] = {}
    for item in TrustItem.objects.filter(
        case_id__in=list(found), kind__in=INVOICED_KINDS, status=TrustItemStatus.TO_BE_DISBURSED
    ).order_by("pk"):
        items_of.setdefault(item.case_id, []).append(item)
    going: list[int] = []
    for case_id in wanted:
        if case_id in refused:
            continue
        invoice = existing.get(case_id)
        if invoice is not None:
            refused[case_id] = Conflict(
                f"this case already has a fee invoice ({labels[invoice.pk]}); it must be "
                "voided in the books before another is created",
                field="case",
            )
        elif not items_of.get(case_id):
            refused[case_id] = ValidationFailed(
                "nothing on this case is waiting to be invoiced: push the staged fee, charges "
                "and cost reimbursement to disbursement first",
                field="case",
            )
        else:
            going.append(case_id)
    if not going:
        return {}, refused
    if conn.copp_activity_code_id is None or conn.pd_activity_code_id is None:
        snapshot.refresh_request(conn)  # the worker's readiness run finds the activity codes
    facts = _reimbursable(
        conn,
        [
            case_id
            for case_id in going
            if any(i.kind == TrustItemKind.COST_REIMBURSEMENT for i in items_of[case_id])
        ],
    )
    plans: dict[int, FeeInvoicePlan] = {}
    for case_id in going:
        case, items = found[case_id], items_of[case_id]
        try:
            plans[case_id] = FeeInvoicePlan(case, conn, items, _lines(case, items, conn, facts))
        except DomainError as exc:
            refused[case_id] = exc
    return plans, refused


def fee_invoice_plan(*, firm: Firm, actor: User, case_id: int) -> FeeInvoicePlan:
    """The case's fee invoice as it would be sent, with every refusal that needs no
    question to the books (no connection, an invoice already there, nothing to invoice,
    costs never sent): the plan of many cases (:func:`fee_invoices_create`) for one."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    plans, refused = _plans(firm, [case_id])
    if case_id in refused:
        raise refused[case_id]
    return plans[case_id]


def fee_invoice_create(*, firm: Firm, actor: User, case_id: int) -> FeeInvoice:
    """Create fee invoice (Client Trust Management -> To Be Disbursed): one invoice for the
    case's fee, charges and cost reimbursement, queued for the books. Refused, naming the
    failing prerequisite, when the attorney has no books user, Records Time is off, or the
    release stage is needed and off; refused while the case has a fee invoice not voided.
    The batch of :func:`fee_invoices_create` for one case, its own refusals first."""
    plan = fee_invoice_plan(firm=firm, actor=actor, case_id=case_id)
    require_ready(conn=plan.conn, purpose=INVOICES, ignore=CASE_ATTORNEY_CHECKS)
    plan.conn.refresh_from_db()
    emails, refused = _timekeepers(plan.conn, [plan])
    if refused:
        raise refused[plan.case.pk]
    created, refused = _queue_invoices(firm, actor, plan.conn, [(plan, emails[plan.case.pk])])
    if refused:
        raise refused[plan.case.pk]
    return created[0]


@dataclass(frozen=True)
class FeeInvoiceBatch:
    created: list[FeeInvoice]
    #: case id -> why that case's invoice was refused (the others went ahead).
    refused: dict[int, str]


def fee_invoices_create(*, firm: Firm, actor: User, case_ids: Sequence[int]) -> FeeInvoiceBatch:
    """Create fee invoice for many cases at once: the readiness check and the books' users
    are asked once; every case is planned together (:func:`_plans`: a constant number of
    queries whatever their number), then all are queued together, and a case refused (with
    its reason) does not hold back the others. A failing firm-wide prerequisite refuses
    all."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    conn = require_connection(firm)
    require_ready(conn=conn, purpose=INVOICES, ignore=CASE_ATTORNEY_CHECKS)
    conn.refresh_from_db()
    wanted = list(dict.fromkeys(case_ids))
    plans, refused = _plans(firm, wanted, conn)
    ordered = [plans[case_id] for case_id in wanted if case_id in plans]
    emails, not_timekeepers = _timekeepers(conn, ordered)
    refused.update(not_timekeepers)
    created, queued_refused = _queue_invoices(
        firm, actor, conn, [(p, emails[p.case.pk]) for p in ordered if p.case.pk in emails]
    )
    refused.update(queued_refused)
    return FeeInvoiceBatch(created, {c: refused[c].message for c in wanted if c in refused})


def _live_invoices(case_ids: Sequence[int]) -> dict[int, FeeInvoice]:
    """Each case's fee invoice not voided (case id -> invoice)."""
    live: dict[int, FeeInvoice] = {}
    for invoice in (
        FeeInvoice.objects.filter(case_id__in=list(case_ids))
        .exclude(stage=InvoiceStage.VOIDED)
        .order_by("pk")
    ):
        live.setdefault(invoice.case_id, invoice)
    return live


def _raced_invoice() -> Conflict:
    return Conflict(
        "another user created this case's fee invoice at the same moment; reload", field="case"
    )


def _queue_invoices(
    firm: Firm,
    actor: User,
    conn: Connection,
    planned: Sequence[tuple[FeeInvoicePlan, str]],
) -> tuple[list[FeeInvoice], dict[int, DomainError]]:
    """Queue each planned case's fee invoice (its plan, its attorney's books email): the
    payments locked, the invoices, their outbox items and audit events written together in
    one transaction. Returns the invoices queued, in order, and why each case not queued
    was refused (another user's invoice got there first, its payments changed, an activity
    code missing); a refused case writes nothing. The charges' activity codes are the
    connection's as last read."""
    refused: dict[int, DomainError] = {}
    ready: list[tuple[Case, list[TrustItem], str, list[_Line]]] = []
    for plan, email in planned:
        case, items = plan.case, plan.items
        lines = [
            replace(ln, activity_code_id=_charge_code(conn, ln.charge)) if ln.charge else ln
            for ln in plan.lines
        ]
        missing = next((ln for ln in lines if ln.kind == "cost" and not ln.activity_code_id), None)
        if missing is not None:
            refused[case.pk] = NotReady(
                f"no activity code in the books for {missing.description}; run the readiness "
                "check (Account Settings → Integrations → Books)",
                checks=["copp_code", "property_damage_code"],
            )
            continue
        assert sum(ln.amount_cents for ln in lines) == sum(i.amount_cents for i in items), (
            "invoice lines must add up to the items"
        )
        ready.append((case, items, email, lines))
    created: list[FeeInvoice] = []
    while ready:
        try:
            with transaction.atomic():
                created = _write_invoices(firm, actor, conn, ready, refused)
            break
        except IntegrityError:  # another user created a case's invoice at the same moment
            taken = _cases_invoiced([case.pk for case, *_ in ready])
            if not taken:
                raise
            for case_id in taken:
                refused[case_id] = _raced_invoice()
            ready = [r for r in ready if r[0].pk not in taken]
    if created:
        schedule_delivery(firm.pk)
    return created, refused


def _cases_invoiced(case_ids: Sequence[int]) -> set[int]:
    """The cases that have a fee invoice not voided."""
    return set(
        FeeInvoice.objects.filter(case_id__in=list(case_ids))
        .exclude(stage=InvoiceStage.VOIDED)
        .values_list("case_id", flat=True)
    )


def _write_invoices(
    firm: Firm,
    actor: User,
    conn: Connection,
    ready: Sequence[tuple[Case, list[TrustItem], str, list[_Line]]],
    refused: dict[int, DomainError],
) -> list[FeeInvoice]:
    locked = set(
        TrustItem.objects.select_for_update()
        .filter(
            pk__in=[i.pk for _, items, _, _ in ready for i in items],
            status=TrustItemStatus.TO_BE_DISBURSED,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    taken = _cases_invoiced([case.pk for case, *_ in ready])
    go = []
    for case, items, email, lines in ready:
        if case.pk in taken:
            refused[case.pk] = _raced_invoice()
        elif any(i.pk not in locked for i in items):
            refused[case.pk] = Conflict(
                "the case's payments changed meanwhile; reload and try again"
            )
        else:
            go.append((case, items, email, lines))
    if not go:
        return []
    now = clock.now()
    rows = [
        _fee_invoice_row(firm, case, conn, lines, items, actor, now) for case, items, _, lines in go
    ]
    invoices = inserted_instances(
        FeeInvoice,
        _INVOICE_FIELDS,
        rows,
        insert_rows(FeeInvoice, _INVOICE_FIELDS, rows),
        related={"firm": firm, "created_by": actor},
    )
    for invoice in invoices:
        invoice.external_ref = fee_invoice_external_ref(invoice.pk)
    update_rows(
        FeeInvoice, [("external_ref", "varchar")], [(i.pk, i.external_ref) for i in invoices]
    )
    release = InvoiceRelease(conn.invoice_release)
    insert_rows(
        OutboxItem,
        _OUTBOX_FIELDS,
        [
            (
                firm.pk,
                case.pk,
                invoice.pk,
                OutboxKind.FEE_INVOICE.value,
                new_key(),
                {
                    "external_ref": invoice.external_ref,
                    "attorney_email": email,
                    "trust_bank_account_id": conn.trust_account_id,
                    "operating_bank_account_id": conn.operating_account_id,
                    "release": "auto" if release == InvoiceRelease.AUTOMATIC else "review",
                    "description": f"Settlement of {case.number} {case.name}"[:255],
                },
                now,
                actor.pk,
                now,
            )
            for invoice, (case, _, email, _) in zip(invoices, go, strict=True)
        ],
        returning=False,
    )
    audit_record_many(
        [
            {
                "system": "bridge",
                "firm_id": firm.pk,
                "actor_id": actor.pk,
                "actor_label": actor.email,
                "action": "fee_invoice",
                "entity_type": "settlement",
                "summary": f"Fee invoice for case {case.number} "
                f"({format_cents(invoice.total_cents)}, {words.plural(len(lines), 'line')}, "
                f"{release.label.lower()}) queued for the books",
            }
            for invoice, (case, _, _, lines) in zip(invoices, go, strict=True)
        ]
    )
    return invoices


#: The fields a fee invoice is written with (the rest take their defaults: no stage yet).
_INVOICE_FIELDS = (
    "firm",
    "case",
    "external_ref",
    "release",
    "total_cents",
    "lines",
    "trust_item_ids",
    "created_by",
    "created_at",
)

#: The fields a fee invoice's outbox item is written with (the rest take their defaults:
#: queued, no attempt yet, the web request's id).
_OUTBOX_FIELDS = (
    "firm",
    "case",
    "fee_invoice",
    "kind",
    "key",
    "payload",
    "next_attempt_at",
    "created_by",
    "created_at",
)


def _fee_invoice_row(
    firm: Firm,
    case: Case,
    conn: Connection,
    lines: list[_Line],
    items: list[TrustItem],
    actor: User,
    now: dt.datetime,
) -> tuple[object, ...]:
    """A fee invoice's values, as :data:`_INVOICE_FIELDS` names them."""
    return (
        firm.pk,
        case.pk,
        f"pending-{new_key()}",
        conn.invoice_release,
        sum(ln.amount_cents for ln in lines),
        [
            {
                "kind": ln.kind,
                "description": ln.description,
                "amount_cents": ln.amount_cents,
                "source": ln.source,
                "trust_item_id": ln.trust_item_id,
                "cost_id": ln.cost_id,
                "activity_code_id": ln.activity_code_id,
            }
            for ln in lines
        ],
        [i.pk for i in items],
        actor.pk,
        now,
    )


def _invoice_labels(invoices: Sequence[FeeInvoice]) -> dict[int, str]:
    """How each invoice stands, in words (invoice id -> label): its number and stage, the
    books' refusal, or on its way. One query for the refusals of them all."""
    waiting = [i.pk for i in invoices if not i.books_invoice_number]
    failed: dict[int, str] = {}
    if waiting:
        for invoice_id, message in (
            OutboxItem.objects.filter(fee_invoice_id__in=waiting, state=OutboxState.FAILED)
            .order_by("pk")
            .values_list("fee_invoice_id", "error_message")
        ):
            failed.setdefault(invoice_id, message)
    labels: dict[int, str] = {}
    for invoice in invoices:
        if invoice.books_invoice_number:
            stage = InvoiceStage(invoice.stage).label.lower()
            labels[invoice.pk] = f"invoice {invoice.books_invoice_number}, {stage}"
        elif invoice.pk in failed:
            labels[invoice.pk] = (
                f"refused by the books: {failed[invoice.pk]} Retry it from the sync queue once "
                "that is put right, or withdraw it there"
            )
        else:
            labels[invoice.pk] = "on its way to the books"
    return labels
