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

from collections.abc import Sequence
from dataclasses import dataclass

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
from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    Firm,
    Permission,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
    User,
)
from casebridge.cases.permissions import require
from casebridge.cases.services.disbursement import INVOICED_KINDS
from casebridge.core import clock
from casebridge.core.audit import audit_record, audit_record_many
from casebridge.core.db import update_rows
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
        link = (
            TrustItemLink.objects.select_for_update()
            .filter(firm=firm, trust_item_id=trust_item_id)
            .select_related("trust_item")
            .first()
        )
        if link is None:
            raise ValidationFailed("this payment was never sent to the books", field="item")
        if link.check_state != "void" or link.trust_item.status != TrustItemStatus.TO_BE_DISBURSED:
            raise Conflict(
                "only a payment whose check was voided in the books can be sent again",
                field="item",
            )
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


def _cost_codes(case: Case) -> dict[int, int]:
    """Each sent cost's activity code, as its check request carried it."""
    codes: dict[int, int] = {}
    for cost_id, payload in OutboxItem.objects.filter(
        case=case, kind=OutboxKind.COST_SEND, state=OutboxState.SENT
    ).values_list("cost_id", "payload"):
        if cost_id and payload.get("activity_code_id"):
            codes[cost_id] = int(payload["activity_code_id"])
    return codes


def _reimbursement_lines(case: Case, item: TrustItem, conn: Connection) -> list[_Line]:
    """One line per advanced cost, in date order, for the amount staged: a reduction (a
    Property Damage Fee waiver, or a smaller amount staged) comes off the last costs, so
    the lines add up to the staged amount to the cent.

    A sent cost is repaid only once its check is in the books (the advance it repays is
    posted), with the activity code that check carried. A cost paid outside the books (by
    card, say) is repaid with the code its advance would have posted to (its mapping, the
    books' code of its UTBMS code, else the cost posting reference): the accountant records
    such an advance in the books by hand. A cost still Open is refused: send or void it first."""
    costs = list(
        Cost.objects.filter(case=case)
        .exclude(status=CostStatus.VOID)
        .select_related("payee", "cost_code")
        .order_by("cost_date", "pk")
    )
    unsent = [c for c in costs if c.status == CostStatus.OPEN]
    if unsent:
        unsent_cents = format_cents(sum(c.amount_cents for c in unsent))
        raise ValidationFailed(
            f"{len(unsent)} of this case's costs ({unsent_cents}) were never sent to the "
            "books, so the books hold no advance to reimburse; send or void them first "
            "(Costs tab)",
            field="case",
        )
    checks = dict(
        CostLink.objects.filter(cost__in=costs, books_check_id__isnull=False)
        .exclude(check_state__in=(CheckState.VOID, CheckState.MISSING))
        .values_list("cost_id", "books_check_id")
    )
    waiting = [c for c in costs if c.sent_at is not None and c.pk not in checks]
    if waiting:
        raise ValidationFailed(
            f"{len(waiting)} of this case's costs "
            f"({format_cents(sum(c.amount_cents for c in waiting))}) have no check in the books "
            "yet (still on their way, or their send failed: see the sync queue); the fee "
            "invoice can repay an advance only once the books hold it",
            field="case",
        )
    codes = _cost_codes(case)
    mapped = cost_activity_codes(conn, {c.cost_code_id for c in costs if c.sent_at is None})
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
        outside = cost.sent_at is None
        code = mapped.get(cost.cost_code_id) if outside else codes.get(cost.pk)
        if code is None:
            raise ValidationFailed(
                f"cost {cost.pk} ({cost.payee.name}) has no activity code to repay it with; "
                "run the readiness check",
                field="case",
            )
        reduced = "" if cents == cost.amount_cents else f" (of {format_cents(cost.amount_cents)})"
        how = " (paid outside the books)" if outside else ""
        lines.append(
            _Line(
                kind="cost",
                description=f"Reimbursed cost: {cost.payee.name[:120]}, {cost.cost_code.code} "
                f"{cost.cost_date:%m/%d/%Y}{reduced}{how}"[:255],
                amount_cents=cents,
                source=f"cases-cost-{cost.pk}",
                trust_item_id=item.pk,
                cost_id=cost.pk,
                activity_code_id=code,
            )
        )
    return lines


def _lines(case: Case, items: list[TrustItem], conn: Connection) -> list[_Line]:
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
        elif item.kind == TrustItemKind.COPP:
            lines.append(
                _Line(
                    "cost",
                    "COPP charges",
                    item.amount_cents,
                    source,
                    item.pk,
                    activity_code_id=conn.copp_activity_code_id,
                )
            )
        elif item.kind == TrustItemKind.PROPERTY_DAMAGE_FEE:
            lines.append(
                _Line(
                    "cost",
                    "Property Damage Fee",
                    item.amount_cents,
                    source,
                    item.pk,
                    activity_code_id=conn.pd_activity_code_id,
                )
            )
        elif item.kind == TrustItemKind.COST_REIMBURSEMENT:
            lines.extend(_reimbursement_lines(case, item, conn))
    return lines


def _books_users(conn: Connection, case: Case) -> dict[str, BooksUser]:
    """The books' active users by email (lower case), as the worker last read them (never
    asked here: ADR 0008)."""
    users = snapshot.users(conn)
    if users is None:
        snapshot.refresh_request(conn)
        who = case.responsible_attorney.email if case.responsible_attorney else "the attorney"
        raise NotReadYet(
            f"the books' users have not been read yet (is {who} one, recording time?); the "
            "worker is reading them now, try again in a moment"
        )
    return {u.email.strip().lower(): u for u in users if u.is_active}


def _require_timekeeper(conn: Connection, case: Case, users: dict[str, BooksUser]) -> str:
    """The responsible attorney's books user must exist and record time (the fee is their
    time entry), as the worker last read the books' users: the readiness report covers
    attorneys of open cases only. A refusal asks for a fresh read (the fix may have been
    made in the books since)."""
    attorney = case.responsible_attorney
    if attorney is None:
        raise NotReady(
            "the case has no responsible attorney, whose time entry the fee would be; "
            "set one on the case first",
            checks=["attorney_emails"],
        )
    books_user = users.get(attorney.email.strip().lower())
    if books_user is None or not books_user.records_time:
        snapshot.refresh_request(conn)
    if books_user is None:
        raise NotReady(
            f"the responsible attorney {attorney.display_name} ({attorney.email}) has no books "
            "user with that email. In the books: Gear -> Users -> add the user with exactly "
            "this email (or correct the email on either side)",
            checks=["attorney_emails"],
        )
    if not books_user.records_time:
        raise NotReady(
            f"Records Time is off for {attorney.email} in the books, and the fee is their time "
            "entry. In the books: Gear -> Users -> pencil -> Accounting -> toggle on Records "
            "Time -> Save",
            checks=["records_time"],
        )
    return attorney.email.strip().lower()


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


def fee_invoice_plan(*, firm: Firm, actor: User, case_id: int) -> FeeInvoicePlan:
    """The case's fee invoice as it would be sent, with every refusal that needs no
    question to the books (no connection, an invoice already there, nothing to invoice,
    costs never sent)."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    case = Case.objects.filter(firm=firm, pk=case_id).select_related("responsible_attorney").first()
    if case is None:
        raise ValidationFailed("case not found in this firm", field="case")
    conn = require_connection(firm)
    existing = FeeInvoice.objects.filter(case=case).exclude(stage=InvoiceStage.VOIDED).first()
    if existing is not None:
        raise Conflict(
            f"this case already has a fee invoice ({_invoice_label(existing)}); it must be "
            "voided in the books before another is created",
            field="case",
        )
    items = list(
        TrustItem.objects.filter(
            case=case, kind__in=INVOICED_KINDS, status=TrustItemStatus.TO_BE_DISBURSED
        ).order_by("pk")
    )
    if not items:
        raise ValidationFailed(
            "nothing on this case is waiting to be invoiced: push the staged fee, charges and "
            "cost reimbursement to disbursement first",
            field="case",
        )
    if conn.copp_activity_code_id is None or conn.pd_activity_code_id is None:
        snapshot.refresh_request(conn)  # the worker's readiness run finds the activity codes
    return FeeInvoicePlan(case, conn, items, _lines(case, items, conn))


def fee_invoice_create(*, firm: Firm, actor: User, case_id: int) -> FeeInvoice:
    """Create fee invoice (Client Trust Management -> To Be Disbursed): one invoice for the
    case's fee, charges and cost reimbursement, queued for the books. Refused, naming the
    failing prerequisite, when the attorney has no books user, Records Time is off, or the
    release stage is needed and off; refused while the case has a fee invoice not voided."""
    plan = fee_invoice_plan(firm=firm, actor=actor, case_id=case_id)
    require_ready(conn=plan.conn, purpose=INVOICES, ignore=CASE_ATTORNEY_CHECKS)
    plan.conn.refresh_from_db()
    email = _require_timekeeper(plan.conn, plan.case, _books_users(plan.conn, plan.case))
    created, refused = _queue_invoices(firm, actor, plan.conn, [(plan.case, plan.items, email)])
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
    are asked once; every case is planned, then all are queued together (a few statements
    whatever their number), and a case refused (with its reason) does not hold back the
    others. A failing firm-wide prerequisite refuses all."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    conn = require_connection(firm)
    require_ready(conn=conn, purpose=INVOICES, ignore=CASE_ATTORNEY_CHECKS)
    conn.refresh_from_db()
    users: dict[str, BooksUser] | None = None
    planned: list[tuple[Case, list[TrustItem], str]] = []
    refused: dict[int, str] = {}
    for case_id in dict.fromkeys(case_ids):
        try:
            plan = fee_invoice_plan(firm=firm, actor=actor, case_id=case_id)
            if users is None:
                users = _books_users(conn, plan.case)
            email = _require_timekeeper(conn, plan.case, users)
        except DomainError as exc:
            refused[case_id] = exc.message
            continue
        planned.append((plan.case, plan.items, email))
    created, queued_refused = _queue_invoices(firm, actor, conn, planned)
    refused.update({case_id: exc.message for case_id, exc in queued_refused.items()})
    return FeeInvoiceBatch(
        created, {c: refused[c] for c in dict.fromkeys(case_ids) if c in refused}
    )


def _raced_invoice() -> Conflict:
    return Conflict(
        "another user created this case's fee invoice at the same moment; reload", field="case"
    )


def _queue_invoices(
    firm: Firm,
    actor: User,
    conn: Connection,
    planned: Sequence[tuple[Case, list[TrustItem], str]],
) -> tuple[list[FeeInvoice], dict[int, DomainError]]:
    """Queue each planned case's fee invoice (its payments, its attorney's books email):
    the payments locked, the invoices, their outbox items and audit events written
    together in one transaction. Returns the invoices queued, in order, and why each case
    not queued was refused (another user's invoice got there first, its payments changed,
    an activity code missing); a refused case writes nothing."""
    refused: dict[int, DomainError] = {}
    ready: list[tuple[Case, list[TrustItem], str, list[_Line]]] = []
    for case, items, email in planned:
        lines = _lines(case, items, conn)
        missing = next((ln for ln in lines if ln.kind == "cost" and not ln.activity_code_id), None)
        if missing is not None:
            refused[case.pk] = NotReady(
                f"no activity code in the books for {missing.description}; run the readiness "
                "check (Account Settings -> Integrations -> Books)",
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
    invoices = FeeInvoice.objects.bulk_create(
        [_fee_invoice_row(firm, case, conn, lines, items, actor) for case, items, _, lines in go]
    )
    for invoice in invoices:
        invoice.external_ref = fee_invoice_external_ref(invoice.pk)
    update_rows(
        FeeInvoice, [("external_ref", "varchar")], [(i.pk, i.external_ref) for i in invoices]
    )
    now = clock.now()
    release = InvoiceRelease(conn.invoice_release)
    OutboxItem.objects.bulk_create(
        [
            OutboxItem(
                firm=firm,
                case=case,
                fee_invoice=invoice,
                kind=OutboxKind.FEE_INVOICE,
                key=new_key(),
                payload={
                    "external_ref": invoice.external_ref,
                    "attorney_email": email,
                    "trust_bank_account_id": conn.trust_account_id,
                    "operating_bank_account_id": conn.operating_account_id,
                    "release": "auto" if release == InvoiceRelease.AUTOMATIC else "review",
                    "description": f"Settlement of {case.number} {case.name}"[:255],
                },
                next_attempt_at=now,
                created_by=actor,
                created_at=now,
            )
            for invoice, (case, _, email, _) in zip(invoices, go, strict=True)
        ]
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
                f"({format_cents(invoice.total_cents)}, {len(lines)} lines, "
                f"{release.label.lower()}) queued for the books",
            }
            for invoice, (case, _, _, lines) in zip(invoices, go, strict=True)
        ]
    )
    return invoices


def _fee_invoice_row(
    firm: Firm,
    case: Case,
    conn: Connection,
    lines: list[_Line],
    items: list[TrustItem],
    actor: User,
) -> FeeInvoice:
    return FeeInvoice(
        firm=firm,
        case=case,
        external_ref=f"pending-{new_key()}",
        release=conn.invoice_release,
        total_cents=sum(ln.amount_cents for ln in lines),
        lines=[
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
        trust_item_ids=[i.pk for i in items],
        created_by=actor,
        created_at=clock.now(),
    )


def _invoice_label(invoice: FeeInvoice) -> str:
    if invoice.books_invoice_number:
        stage = InvoiceStage(invoice.stage).label.lower()
        return f"invoice {invoice.books_invoice_number}, {stage}"
    failed = OutboxItem.objects.filter(fee_invoice=invoice, state=OutboxState.FAILED).first()
    if failed is not None:
        return (
            f"refused by the books: {failed.error_message} Retry it from the sync queue once "
            "that is put right, or withdraw it there"
        )
    return "on its way to the books"
