"""Costs advanced on a case: add, edit (by the edit rules), void, pay (firms without the
bridge) and split across linked cases.

Edit rules: an unpaid cost (Open or Pending) can be edited in full; a Paid cost only in
its paid date and memo; a Void cost not at all. A split is allowed only while the cost is
Open and has not been sent to the books.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from casebridge.cases import extensions
from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import DomainError, Locked, ValidationFailed
from casebridge.cases.models import (
    Case,
    CaseStatus,
    Contact,
    Cost,
    CostCode,
    CostPriority,
    CostStatus,
    Firm,
    Permission,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
    User,
)
from casebridge.cases.permissions import require
from casebridge.cases.services.cases import contact_for_role
from casebridge.cases.services.dates import date_in_window
from casebridge.core import clock, words
from casebridge.core.audit import audit_record_many
from casebridge.core.db import (
    sql_json_object,
    sql_lock_rows,
    sql_money,
    sql_placeholders,
    sql_text,
    statement,
    update_rows,
)
from casebridge.core.models import AuditEvent
from casebridge.core.money import allocate, format_cents
from casebridge.core.text import plain_line

EDITABLE_WHEN_UNPAID = (
    "payee_id",
    "amount_cents",
    "invoice_reference",
    "priority",
    "cost_code_id",
    "memo",
    "cost_date",
)
EDITABLE_WHEN_PAID = ("paid_date", "memo")


def _snapshot(cost: Cost) -> dict[str, Any]:
    return {
        "case": cost.case_id,
        "payee": cost.payee_id,
        "amount_cents": cost.amount_cents,
        "invoice_reference": cost.invoice_reference,
        "priority": cost.priority,
        "cost_code": cost.cost_code_id,
        "memo": cost.memo,
        "cost_date": cost.cost_date,
        "status": cost.status,
        "paid_date": cost.paid_date,
    }


def _cost_label(cost: Cost) -> str:
    """A cost as a person knows it, in audit summaries and refusals: "Cost to City Towing
    for $100.00" (its id is no one's business)."""
    return f"Cost to {cost.payee.name} for {format_cents(cost.amount_cents)}"


def _case_name(firm: Firm, case_id: int) -> str:
    """A case of the firm by its number ("case 2026-0001"), else "a case"."""
    number = Case.objects.filter(firm=firm, pk=case_id).values_list("number", flat=True).first()
    return f"case {number}" if number else "a case"


def _check_fields(firm: Firm, values: dict[str, Any], cost: Cost | None = None) -> None:
    if "amount_cents" in values and values["amount_cents"] <= 0:
        raise ValidationFailed(
            "a cost must be greater than $0.00 (to take a cost back, void it)", field="amount"
        )
    if (
        "payee_id" in values
        and not Contact.objects.filter(firm=firm, pk=values["payee_id"]).exists()
    ):
        raise ValidationFailed("payee not found in this firm", field="payee")
    if (
        "cost_code_id" in values
        and not CostCode.objects.filter(
            firm=firm, pk=values["cost_code_id"], is_active=True
        ).exists()
    ):
        raise ValidationFailed("cost code not found in this firm", field="cost_code")
    if "priority" in values and values["priority"] not in CostPriority.values:
        raise ValidationFailed(
            f"priority must be one of {', '.join(CostPriority.values)}", field="priority"
        )
    if "cost_date" in values and values["cost_date"] is None:
        raise ValidationFailed("the cost date is required", field="cost_date")
    for name in ("cost_date", "paid_date"):  # in the firm's window (ADR 0007)
        if values.get(name) is not None:
            date_in_window(firm, values[name], field=name, except_cost_id=cost.pk if cost else None)
    for name, limit in (("invoice_reference", 60), ("memo", 500)):
        if name in values:  # both print on the check
            plain_line(str(values[name]), field=name)
        if name in values and len(values[name]) > limit:
            raise ValidationFailed(
                f"{name.replace('_', ' ')} is longer than {limit} characters", field=name
            )


@transaction.atomic
def cost_create(
    *,
    firm: Firm,
    actor: User | None,
    case_id: int,
    payee_id: int,
    amount_cents: int,
    cost_code_id: int,
    cost_date: dt.date | None = None,
    invoice_reference: str = "",
    priority: str = CostPriority.NORMAL,
    memo: str = "",
) -> Cost:
    case = Case.objects.filter(firm=firm, pk=case_id).first()
    if case is None:
        raise ValidationFailed("case not found in this firm", field="case")
    if case.status == CaseStatus.CLOSED:
        raise Locked(f"case {case.number} is closed; reopen it to add costs")
    values = {
        "payee_id": payee_id,
        "amount_cents": amount_cents,
        "cost_code_id": cost_code_id,
        "cost_date": cost_date or clock.today(),
        "invoice_reference": invoice_reference.strip(),
        "priority": priority,
        "memo": memo.strip(),
    }
    _check_fields(firm, values)
    cost = Cost.objects.create(
        firm=firm,
        case=case,
        attorney_id=case.responsible_attorney_id,  # what the triggers keep (migration 0016)
        created_by=actor,
        created_at=clock.now(),
        **values,
    )
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create",
        entity_type="cost",
        entity_id=cost.pk,
        summary=f"Cost {format_cents(amount_cents)} added to case {case.number}",
        after=_snapshot(cost),
    )
    return cost


@transaction.atomic
def cost_create_for_payee(
    *,
    firm: Firm,
    actor: User | None,
    case_id: int,
    payee_name: str,
    amount_cents: int,
    cost_code_id: int,
    cost_date: dt.date | None = None,
    invoice_reference: str = "",
    priority: str = CostPriority.NORMAL,
    memo: str = "",
) -> Cost:
    """:func:`cost_create` to the payee named (found, else added: :func:`contact_for_role`);
    a refused cost leaves no stray contact."""
    return cost_create(
        firm=firm,
        actor=actor,
        case_id=case_id,
        payee_id=contact_for_role(firm=firm, actor=actor, name=payee_name, role="payee"),
        amount_cents=amount_cents,
        cost_code_id=cost_code_id,
        cost_date=cost_date,
        invoice_reference=invoice_reference,
        priority=priority,
        memo=memo,
    )


@transaction.atomic
def cost_update_for_payee(
    *, firm: Firm, actor: User, cost_id: int, payee_name: str | None = None, **changes: Any
) -> dict[str, Any]:
    """:func:`cost_update` with the payee given by name (a new name adds a contact; the
    same contact is no change). Answers the changes made, which may be none."""
    if payee_name is not None:
        payee_id = contact_for_role(firm=firm, actor=actor, name=payee_name, role="payee")
        current = Cost.objects.filter(firm=firm, pk=cost_id).values_list("payee_id", flat=True)
        if payee_id != current.first():
            changes["payee_id"] = payee_id
    cost_update(firm=firm, actor=actor, cost_id=cost_id, **changes)
    return changes


@transaction.atomic
def costs_void(*, firm: Firm, actor: User, cost_ids: Sequence[int], reason: str = "") -> None:
    """Void several costs (Costs Management's bulk void): all or nothing, one refusal
    writes nothing."""
    require(actor, Permission.COSTS_MANAGEMENT)
    for cost_id in cost_ids:
        cost_void(firm=firm, actor=actor, cost_id=cost_id, reason=reason)


def _locked_cost(firm: Firm, cost_id: int) -> Cost:
    cost = Cost.objects.select_for_update().filter(firm=firm, pk=cost_id).first()
    if cost is None:
        raise ValidationFailed("cost not found in this firm", field="cost")
    return cost


@transaction.atomic
def cost_update(*, firm: Firm, actor: User, cost_id: int, **changes: Any) -> Cost:
    cost = _locked_cost(firm, cost_id)
    if cost.status == CostStatus.VOID:
        raise Locked("a void cost cannot be edited; add a new cost instead")
    allowed = EDITABLE_WHEN_PAID if cost.status == CostStatus.PAID else EDITABLE_WHEN_UNPAID
    refused = set(changes) - set(allowed)
    if refused:
        if cost.status == CostStatus.PAID:
            raise Locked(
                "a paid cost can only change its paid date and memo",
                field=sorted(refused)[0].removesuffix("_id").removesuffix("_cents"),
            )
        raise ValidationFailed(f"cannot change {', '.join(sorted(refused))}")
    refusal = extensions.cost_edit_refusal(
        cost=cost, fields=[k for k, v in changes.items() if getattr(cost, k) != v]
    )
    if refusal:
        raise Locked(refusal)
    for text in ("invoice_reference", "memo"):
        if text in changes:
            changes[text] = str(changes[text]).strip()
    _check_fields(firm, changes, cost)
    if "paid_date" in changes and changes["paid_date"] is None:
        raise ValidationFailed("a paid cost needs its paid date", field="paid_date")
    before = _snapshot(cost)
    for key, value in changes.items():
        setattr(cost, key, value)
    cost.save(update_fields=list(changes))
    after = _snapshot(cost)
    if before != after:
        cases_audit(
            firm_id=firm.pk,
            actor=actor,
            action="change",
            entity_type="cost",
            entity_id=cost.pk,
            summary=f"{_cost_label(cost)} changed",
            before=before,
            after=after,
        )
    return cost


@transaction.atomic
def cost_void(*, firm: Firm, actor: User, cost_id: int, reason: str = "") -> Cost:
    """Void an Open or Pending cost: it shows as $0.00 void and leaves the case's total.
    A Paid cost's check must be voided in the books (which voids the cost)."""
    require(actor, Permission.COSTS_MANAGEMENT)
    cost = _locked_cost(firm, cost_id)
    if cost.status == CostStatus.VOID:
        raise Locked("this cost is already void")
    if cost.status == CostStatus.PAID:
        raise Locked("a paid cost is voided by voiding its check, not here")
    if (
        TrustItem.objects.filter(case_id=cost.case_id, kind=TrustItemKind.COST_REIMBURSEMENT)
        .exclude(status=TrustItemStatus.STAGED)
        .exists()
    ):
        raise Locked(
            "the case's cost reimbursement has been pushed to disbursement, so the client's "
            "trust repays this cost; it can no longer be voided here (the accountant voids "
            "its check in the books if it was a mistake)"
        )
    before = _snapshot(cost)
    cost.status = CostStatus.VOID
    cost.voided_on = clock.today()
    cost.void_reason = reason.strip()[:255]
    cost.save(update_fields=["status", "voided_on", "void_reason"])
    # an integration that sent this cost queues the void of its check, in this transaction
    extensions.cost_voided(cost=cost, actor=actor)
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="void",
        entity_type="cost",
        entity_id=cost.pk,
        summary=f"{_cost_label(cost)} voided",
        before=before,
        after={**_snapshot(cost), "void_reason": cost.void_reason},
    )
    return cost


@transaction.atomic
def cost_pay(
    *,
    firm: Firm,
    actor: User,
    cost_id: int,
    method: str,
    reference: str,
    paid_date: dt.date | None = None,
) -> Cost:
    """Record a payment made outside the books (a firm without the bridge): Open -> Paid."""
    require(actor, Permission.COSTS_MANAGEMENT)
    cost = _locked_cost(firm, cost_id)
    if cost.status != CostStatus.OPEN:
        raise Locked(f"only an open cost can be paid here; this one is {cost.get_status_display()}")
    if cost.sent_at is not None:
        raise Locked("this cost was sent to the books; its payment comes back from there")
    if method not in ("check", "card"):
        raise ValidationFailed("choose check or card", field="method")
    reference = reference.strip()
    if not reference:
        raise ValidationFailed(f"the {method} number is required", field="reference")
    if paid_date is not None:
        date_in_window(firm, paid_date, field="paid_date")
    before = _snapshot(cost)
    cost.status = CostStatus.PAID
    cost.payment_method = method
    cost.payment_reference = reference[:60]
    cost.paid_date = paid_date or clock.today()
    cost.save(update_fields=["status", "payment_method", "payment_reference", "paid_date"])
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="pay",
        entity_type="cost",
        entity_id=cost.pk,
        summary=f"{_cost_label(cost)} paid by {method} {reference}",
        before=before,
        after={**_snapshot(cost), "method": method, "reference": reference},
    )
    return cost


@dataclass(frozen=True)
class SplitPart:
    case_id: int
    amount_cents: int


def cost_split_proposal(*, firm: Firm, cost_id: int) -> list[SplitPart]:
    """The even split across the cost's case and its linked cases (largest remainder:
    the parts add back to the original to the cent)."""
    cost = Cost.objects.filter(firm=firm, pk=cost_id).select_related("case").first()
    if cost is None:
        raise ValidationFailed("cost not found in this firm", field="cost")
    case_ids = [cost.case_id, *sorted(cost.case.linked_cases.values_list("pk", flat=True))]
    if len(case_ids) < 2:
        raise ValidationFailed(
            f"case {cost.case.number} has no linked cases to split with; link the cases first"
        )
    amounts = allocate(cost.amount_cents, [1] * len(case_ids))
    return [SplitPart(c, a) for c, a in zip(case_ids, amounts, strict=True)]


@transaction.atomic
def cost_split(
    *, firm: Firm, actor: User, cost_id: int, parts: list[SplitPart] | None = None
) -> list[Cost]:
    """Split a cost across its case and linked cases. ``parts`` (amounts editable) default
    to the even split. The cost keeps its own case's part and gets the original amount in
    its memo; each other case gets a new cost. Returns every part, the original first."""
    cost = _locked_cost(firm, cost_id)
    if cost.status != CostStatus.OPEN or cost.sent_at is not None:
        raise Locked("only an open cost that has not been sent to the books can be split")
    proposal = cost_split_proposal(firm=firm, cost_id=cost_id)
    parts = parts or proposal
    allowed = {p.case_id for p in proposal}
    seen: set[int] = set()
    for part in parts:
        if part.case_id not in allowed:
            raise ValidationFailed(
                f"{_case_name(firm, part.case_id)} is not linked to this cost's case; "
                "link the cases first",
                field="parts",
            )
        if part.case_id in seen:
            raise ValidationFailed(
                f"{_case_name(firm, part.case_id)} appears twice; give each case a single part",
                field="parts",
            )
        seen.add(part.case_id)
        if part.amount_cents <= 0:
            raise ValidationFailed(
                "every part must be greater than $0.00; leave a case out of the split instead",
                field="parts",
            )
    if cost.case_id not in seen:
        raise ValidationFailed("the cost's own case must keep a part", field="parts")
    if len(parts) < 2:
        raise ValidationFailed("a split needs at least two cases", field="parts")
    total = sum(p.amount_cents for p in parts)
    if total != cost.amount_cents:
        raise ValidationFailed(
            f"the parts add up to {format_cents(total)}, not the cost's "
            f"{format_cents(cost.amount_cents)} "
            f"({words.difference(total - cost.amount_cents)})",
            field="parts",
        )
    closed = (
        Case.objects.filter(pk__in=seen - {cost.case_id}, status=CaseStatus.CLOSED)
        .order_by("number")
        .first()
    )
    if closed is not None:
        raise Locked(f"case {closed.number} is closed; reopen it or leave it out of the split")
    original = cost.amount_cents
    # what a person knows the original by, its amount and case, never its id (the payee and
    # the date are every part's own); short, for the books' memo is cut at 255 characters
    note = (
        f"Split from {format_cents(original)} on case {cost.case.number} "
        f"across {words.plural(len(parts), 'case')}"
    )
    memo = f"{cost.memo} [{note}]".strip()[:500]
    before = _snapshot(cost)
    result = [cost]
    for part in parts:
        if part.case_id == cost.case_id:
            cost.amount_cents = part.amount_cents
            cost.memo = memo
            cost.save(update_fields=["amount_cents", "memo"])
            continue
        result.append(
            Cost.objects.create(
                firm=firm,
                case_id=part.case_id,
                payee_id=cost.payee_id,
                amount_cents=part.amount_cents,
                invoice_reference=cost.invoice_reference,
                priority=cost.priority,
                cost_code_id=cost.cost_code_id,
                memo=memo,
                cost_date=cost.cost_date,
                split_from=cost,
                created_by=actor,
                created_at=clock.now(),
            )
        )
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="split",
        entity_type="cost",
        entity_id=cost.pk,
        summary=note,
        before=before,
        after={
            "parts": [
                {"cost": c.pk, "case": c.case_id, "amount_cents": c.amount_cents} for c in result
            ]
        },
    )
    return result


# --- What an integration (the bridge) does to costs -----------------------------------------
# Each is atomic and writes an audit event naming the integration's actor (None = system).


def costs_send_refusal(*, firm: Firm, cost_ids: Iterable[int]) -> DomainError | None:
    """Why these costs cannot be sent, or None: a cost not found in the firm, else the
    first (by id) that is not Open or was sent before. One read, nothing locked: the Send
    asks it of the whole selection before it writes, so a refusal writes nothing."""
    wanted = set(cost_ids)
    costs = Cost.objects.filter(firm=firm, pk__in=wanted)
    if costs.count() != len(wanted):
        return ValidationFailed("a selected cost was not found in this firm", field="cost")
    cost = (
        costs.exclude(status=CostStatus.OPEN, sent_at__isnull=True)
        .select_related("payee")
        .order_by("pk")
        .first()
    )
    if cost is None:
        return None
    return Locked(
        f"the cost to {cost.payee.name} for {format_cents(cost.amount_cents)} is "
        f"{cost.get_status_display()}"
        + (" and was already sent" if cost.sent_at is not None else "")
        + "; only Open costs can be sent",
        field="cost",
    )


@dataclass(frozen=True)
class SentCost:
    id: int
    case_id: int
    amount_cents: int


@transaction.atomic
def costs_mark_sent(
    *, firm: Firm, actor: User, cost_ids: Sequence[int], now: dt.datetime | None = None
) -> list[SentCost]:
    """Open -> Pending for costs handed to the books, all or nothing, set-based: one
    ``UPDATE ... RETURNING`` of the costs (locked in id order first, on PostgreSQL) and
    one ``INSERT ... SELECT`` of their audit events (action ``send``: "Cost to <payee>
    for $X sent to the books", after: status and amount). The user sending them needs the
    Costs management permission. Refuses (naming the cost, :func:`costs_send_refusal`)
    any cost that is not Open or was sent before. Returns the costs sent, in id order;
    they stay locked for the rest of the caller's transaction. The UPDATE goes through
    the table's triggers like any other."""
    require(actor, Permission.COSTS_MANAGEMENT)
    wanted = sorted(set(cost_ids))
    if not wanted:
        return []
    at = connection.ops.adapt_datetimefield_value(now or clock.now())
    table = connection.ops.quote_name(Cost._meta.db_table)
    ids = sql_placeholders(len(wanted))
    with connection.cursor() as cursor:
        cursor.execute(
            statement(
                "UPDATE",
                table,
                "SET status = %s, sent_at = %s",
                "WHERE id IN (SELECT id FROM",
                table,
                f"WHERE firm_id = %s AND id IN ({ids}) ORDER BY id{sql_lock_rows()})",
                "AND status = %s AND sent_at IS NULL",
                "RETURNING id, case_id, amount_cents",
            ),
            [CostStatus.PENDING, at, firm.pk, *wanted, CostStatus.OPEN],
        )
        sent = sorted((SentCost(*row) for row in cursor.fetchall()), key=lambda c: c.id)
        if len(sent) != len(wanted):
            # changed by someone else since the caller looked (or never Open): say which
            # (of those this UPDATE did not change: it rolls back with the refusal)
            missed = set(wanted) - {c.id for c in sent}
            refusal = costs_send_refusal(firm=firm, cost_ids=missed)
            raise refusal or Locked("a selected cost changed meanwhile; reload", field="cost")
        events = connection.ops.quote_name(AuditEvent._meta.db_table)
        contacts = connection.ops.quote_name(Contact._meta.db_table)
        after = f"{sql_json_object()}('status', CAST(%s AS text), 'amount_cents', amount_cents)"
        cursor.execute(
            statement(
                "INSERT INTO",
                events,
                "(system, firm_id, actor_id, actor_label, action, entity_type, entity_id,",
                "summary, before, after, ip_address, at)",
                "SELECT 'cases', firm_id, %s, %s, 'send', 'cost',",
                sql_text("id") + ",",
                "'Cost to ' || (SELECT p.name FROM",
                contacts,
                "p WHERE p.id = c.payee_id)",
                f"|| ' for ' || {sql_money('amount_cents')} || ' sent to the books',",
                f"NULL, {after}, '', %s",
                f"FROM {table} c WHERE id IN ({ids}) ORDER BY id",
            ),
            [actor.pk, actor.email, CostStatus.PENDING, at, *wanted],
        )
    return sent


@transaction.atomic
def cost_return_to_open(*, firm: Firm, actor: User | None, cost_id: int, reason: str) -> Cost:
    """Pending -> Open for a send that never reached the books (withdrawn by a user)."""
    cost = _locked_cost(firm, cost_id)
    if cost.status != CostStatus.PENDING:
        raise Locked(
            f"only a Pending cost can go back to Open; this one is {cost.get_status_display()}"
        )
    before = _snapshot(cost)
    cost.status = CostStatus.OPEN
    cost.sent_at = None
    cost.save(update_fields=["status", "sent_at"])
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="unsend",
        entity_type="cost",
        entity_id=cost.pk,
        summary=f"{_cost_label(cost)} back to Open: {reason}"[:500],
        before=before,
        after=_snapshot(cost),
    )
    return cost


@transaction.atomic
def cost_void_by_check(
    *, firm: Firm, actor: User | None, cost_id: int, voided_on: dt.date, reason: str
) -> Cost:
    """A Pending or Paid cost whose check was voided in the books becomes Void (the books'
    void is the truth; a void cost shows $0.00 and leaves the case's total)."""
    cost = _locked_cost(firm, cost_id)
    if cost.status == CostStatus.VOID:
        return cost
    if cost.status == CostStatus.OPEN:
        raise Locked(
            f"the cost to {cost.payee.name} for {format_cents(cost.amount_cents)} is Open: "
            "it has no check to have been voided"
        )
    before = _snapshot(cost)
    cost.status = CostStatus.VOID
    cost.voided_on = voided_on
    cost.void_reason = reason.strip()[:255]
    cost.save(update_fields=["status", "voided_on", "void_reason"])
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="void",
        entity_type="cost",
        entity_id=cost.pk,
        summary=f"{_cost_label(cost)} voided: its check was voided in the books",
        before=before,
        after={**_snapshot(cost), "void_reason": cost.void_reason},
    )
    return cost


@transaction.atomic
def cost_reopen_by_return(*, firm: Firm, actor: User | None, cost_id: int, reason: str) -> Cost:
    """A Paid cost whose ACH payment the bank returned (the books void its check) is owed
    again: back to Pending, its payment cleared, so it stays in the case's total while
    the vendor is unpaid (ADR 0055). A cost not Paid is left alone."""
    cost = _locked_cost(firm, cost_id)
    if cost.status != CostStatus.PAID:
        return cost
    before = _snapshot(cost)
    cost.status = CostStatus.PENDING
    cost.paid_date = None
    cost.payment_method = ""
    cost.payment_reference = ""
    cost.save(update_fields=["status", "paid_date", "payment_method", "payment_reference"])
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="reopen",
        entity_type="cost",
        entity_id=cost.pk,
        summary=f"{_cost_label(cost)} owed again: {reason}"[:500],
        before=before,
        after=_snapshot(cost),
    )
    return cost


@transaction.atomic
def costs_record_checks_printed(
    *,
    firm: Firm,
    actor: User | None,
    printed: list[tuple[int, str, dt.date]],
    method: str = "check",
) -> int:
    """Pending -> Paid for many costs at once, each with its check number and print date
    (the check-status sync of thousands of costs); ``method`` "ach": each with its ACH
    payment's trace number and the day the books sent it to the bank. Costs no longer Pending
    are left alone. Returns how many became Paid."""
    how = (
        "by ACH {} (sent by the books)" if method == "ach" else "by check {} (printed in the books)"
    )
    wanted = {cost_id: (number, on) for cost_id, number, on in printed}
    costs = list(
        Cost.objects.select_for_update(of=("self",))  # not the payees: named in the audit
        .filter(firm=firm, pk__in=list(wanted), status=CostStatus.PENDING)
        .select_related("payee")
        .order_by("pk")
    )
    events = []
    for cost in costs:
        number, on = wanted[cost.pk]
        cost.status = CostStatus.PAID
        cost.payment_method = method
        cost.payment_reference = number[:60]
        cost.paid_date = on
        events.append(
            {
                "system": "cases",
                "firm_id": firm.pk,
                "actor_id": actor.pk if actor else None,
                "actor_label": actor.email if actor else "system",
                "action": "pay",
                "entity_type": "cost",
                "entity_id": cost.pk,
                "summary": f"{_cost_label(cost)} paid {how.format(number)}",
                "before": {"status": CostStatus.PENDING},
                "after": {
                    "status": CostStatus.PAID,
                    "method": method,
                    "reference": number,
                    "paid_date": on.isoformat(),
                },
            }
        )
    # the date first: a Paid cost without one is refused by a CHECK constraint
    update_rows(
        Cost,
        [("payment_reference", "varchar"), ("paid_date", "date")],
        [
            (c.pk, c.payment_reference, connection.ops.adapt_datefield_value(c.paid_date))
            for c in costs
        ],
    )
    Cost.objects.filter(pk__in=[c.pk for c in costs]).update(
        status=CostStatus.PAID, payment_method=method
    )
    audit_record_many(events)
    return len(costs)
