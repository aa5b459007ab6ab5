"""The Settlement tab: negotiations, deposits, the fee, liens, COPP and Property Damage
Fee, and the staging of the client's trust money.

Staging rules (checked under a lock on the case's Settlement row, so two people staging
at once cannot both pass):
- nothing is staged from trust beyond what has been deposited (paid-direct items are
  recorded but never come out of trust);
- the fee can be staged only after a deposit; a lien only for its accepted amount;
- Push to Client Trust makes the client's final check the remainder, so what is left in
  trust comes to exactly $0.00, and refuses while money or decisions are outstanding;
- Push to Disbursement moves every staged item to "To Be Disbursed"; from then on the
  settlement is locked.
Any change to the staging after Push to Client Trust takes the client's check back out, so
it is always recomputed from the current figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from casebridge.cases import extensions
from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import Locked, MedicareHold, StagingExceedsTrust, ValidationFailed
from casebridge.cases.models import (
    Bill,
    Case,
    Contact,
    Deposit,
    FeeChangeRequest,
    FeeChangeStatus,
    Firm,
    Lien,
    LienKind,
    Negotiation,
    NegotiationKind,
    Permission,
    Settlement,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
    User,
)
from casebridge.cases.permissions import require, require_admin
from casebridge.cases.selectors.medicare import medicare_hold_reason
from casebridge.cases.selectors.settlement import (
    SettlementFigures,
    payments_due,
    push_refusal,
    settlement_figures,
)
from casebridge.cases.services.cases import contact_for_role
from casebridge.cases.services.dates import date_in_window
from casebridge.core import clock, words
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line

PAID_DIRECT_NOTE = "DO NOT DISTRIBUTE - PAID DIRECT"


def _case(firm: Firm, case_id: int) -> Case:
    case = Case.objects.filter(firm=firm, pk=case_id).first()
    if case is None:
        raise ValidationFailed("case not found in this firm", field="case")
    return case


def _lock(case: Case) -> Settlement:
    """Lock the case's settlement row: every staging change goes through here."""
    return Settlement.objects.select_for_update().get(case=case)


def _refuse_if_disbursing(case: Case) -> None:
    if TrustItem.objects.filter(case=case).exclude(status=TrustItemStatus.STAGED).exists():
        raise Locked(
            f"case {case.number} has been pushed to disbursement; its settlement is locked"
        )


def _positive(cents: int, field: str = "amount") -> None:
    if cents <= 0:
        raise ValidationFailed(f"{field.replace('_', ' ')} must be greater than $0.00", field=field)


def _audit(
    case: Case,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: object,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    cases_audit(
        firm_id=case.firm_id,
        actor=actor,
        action=action,
        entity_type=entity,
        entity_id=entity_id,
        summary=f"Case {case.number}: {summary}",
        before=before,
        after=after,
    )


def _withdraw_client_check(case: Case, settlement: Settlement, actor: User | None) -> None:
    """Staging changed after Push to Client Trust: the client's check must be recomputed."""
    client = TrustItem.objects.filter(
        case=case, kind=TrustItemKind.CLIENT, status=TrustItemStatus.STAGED
    ).first()
    if client is not None:
        client.delete()
    if settlement.pushed_to_client_trust_at is not None or client is not None:
        settlement.pushed_to_client_trust_at = None
        settlement.save(update_fields=["pushed_to_client_trust_at"])
        _audit(
            case,
            actor,
            "unstage",
            "trust_item",
            client.pk if client is not None else "",
            "client's check withdrawn: staging changed",
            before={"client_cents": client.amount_cents if client is not None else 0},
        )


# --- negotiations ---------------------------------------------------------------------


@transaction.atomic
def negotiation_record(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    kind: str,
    party_id: int,
    amount_cents: int,
    made_on: dt.date | None = None,
    note: str = "",
) -> Negotiation:
    case = _case(firm, case_id)
    if kind not in NegotiationKind.values:
        raise ValidationFailed("kind must be demand or offer", field="kind")
    _positive(amount_cents)
    party = Contact.objects.filter(firm=firm, pk=party_id).first()
    if party is None:
        raise ValidationFailed("party not found in this firm", field="party")
    neg = Negotiation.objects.create(
        firm=firm,
        case=case,
        kind=kind,
        party=party,
        amount_cents=amount_cents,
        made_on=made_on or clock.today(),
        note=note.strip()[:255],
    )
    _audit(
        case,
        actor,
        "create",
        "negotiation",
        neg.pk,
        f"{kind} of {format_cents(amount_cents)} ({party.name})",
        after={"kind": kind, "amount_cents": amount_cents, "party": party.name},
    )
    return neg


@transaction.atomic
def negotiation_record_for_party(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    kind: str,
    party_name: str,
    amount_cents: int,
    made_on: dt.date | None = None,
    note: str = "",
) -> Negotiation:
    """:func:`negotiation_record` with the insurer or defendant named (found, else added);
    a refused demand or offer leaves no stray contact."""
    return negotiation_record(
        firm=firm,
        actor=actor,
        case_id=case_id,
        kind=kind,
        party_id=contact_for_role(firm=firm, actor=actor, name=party_name, role="party"),
        amount_cents=amount_cents,
        made_on=made_on,
        note=note,
    )


@transaction.atomic
def offer_accept(
    *, firm: Firm, actor: User, negotiation_id: int, on: dt.date | None = None
) -> Negotiation:
    """Accept an offer: it is locked from then on, and deposits can be made against it."""
    neg = Negotiation.objects.select_for_update().filter(firm=firm, pk=negotiation_id).first()
    if neg is None:
        raise ValidationFailed("offer not found in this firm", field="negotiation")
    if neg.kind != NegotiationKind.OFFER:
        raise ValidationFailed("a demand cannot be accepted; record the offer and accept that")
    if neg.accepted_on is not None:
        raise Locked("this offer is already accepted")
    _refuse_if_disbursing(neg.case)
    if Negotiation.objects.filter(
        case=neg.case, party=neg.party, accepted_on__isnull=False
    ).exists():
        raise ValidationFailed(
            f"an offer from {neg.party.name} is already accepted on this case", field="negotiation"
        )
    neg.accepted_on = on or clock.today()
    neg.accepted_by = actor
    neg.save(update_fields=["accepted_on", "accepted_by"])
    _audit(
        neg.case,
        actor,
        "accept",
        "negotiation",
        neg.pk,
        f"offer of {format_cents(neg.amount_cents)} from {neg.party.name} accepted",
        before={"accepted_on": None},
        after={
            "accepted_on": neg.accepted_on,
            "amount_cents": neg.amount_cents,
            "party": neg.party.name,
        },
    )
    return neg


@transaction.atomic
def negotiation_delete(*, firm: Firm, actor: User, negotiation_id: int) -> None:
    neg = Negotiation.objects.select_for_update().filter(firm=firm, pk=negotiation_id).first()
    if neg is None:
        raise ValidationFailed("negotiation not found in this firm", field="negotiation")
    if neg.accepted_on is not None:
        raise Locked("an accepted offer is locked and cannot be deleted")
    _audit(
        neg.case,
        actor,
        "delete",
        "negotiation",
        neg.pk,
        f"{neg.kind} of {format_cents(neg.amount_cents)} deleted",
        before={"kind": neg.kind, "amount_cents": neg.amount_cents},
    )
    neg.delete()


# --- deposits ---------------------------------------------------------------------------


@transaction.atomic
def deposit_record(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    offer_id: int,
    amount_cents: int,
    check_number: str,
    deposited_on: dt.date | None = None,
) -> Deposit:
    """Deposit a settlement check against an accepted offer (partial payments allowed)."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    case = _case(firm, case_id)
    settlement = _lock(case)
    _refuse_if_disbursing(case)
    _positive(amount_cents)
    if deposited_on is not None:  # in the firm's window, before anything is queued
        date_in_window(firm, deposited_on, field="deposited_on")
    offer = Negotiation.objects.filter(case=case, pk=offer_id).first()
    if offer is None:
        raise ValidationFailed("offer not found on this case", field="offer")
    if offer.accepted_on is None:
        raise ValidationFailed(
            "a settlement check can be deposited only against an accepted offer; "
            "accept the offer first",
            field="offer",
        )
    check_number = plain_line(check_number.strip(), field="check_number", label="check number")
    if not check_number:
        raise ValidationFailed("the check number is required", field="check_number")
    already = int(
        Deposit.objects.filter(offer=offer, voided_on__isnull=True).aggregate(
            s=Sum("amount_cents")
        )["s"]
        or 0
    )
    if already + amount_cents > offer.amount_cents:
        raise ValidationFailed(
            f"this would deposit {format_cents(already + amount_cents)} against an offer of "
            f"{format_cents(offer.amount_cents)}; at most "
            f"{format_cents(offer.amount_cents - already)} "
            "remains to be deposited",
            field="amount",
        )
    figures = settlement_figures(case=case)
    if figures.deposited_cents + amount_cents > figures.expected_in_trust_cents:
        room = max(figures.expected_in_trust_cents - figures.deposited_cents, 0)
        raise ValidationFailed(
            f"liens of {format_cents(figures.liens_paid_direct_cents)} are paid direct from the "
            f"settlement, so at most {format_cents(room)} more is expected in trust; correct the "
            "amount or the lien",
            field="amount",
        )
    deposit = Deposit.objects.create(
        firm=firm,
        case=case,
        offer=offer,
        amount_cents=amount_cents,
        check_number=check_number[:40],
        deposited_on=deposited_on or clock.today(),
        created_by=actor,
        created_at=clock.now(),
    )
    _withdraw_client_check(case, settlement, actor)
    # an integration queues the trust receipt in this same transaction
    extensions.deposit_recorded(deposit=deposit, actor=actor)
    _audit(
        case,
        actor,
        "create",
        "deposit",
        deposit.pk,
        f"settlement check {check_number} for {format_cents(amount_cents)} deposited",
        after={
            "amount_cents": amount_cents,
            "check_number": check_number,
            "offer": offer.pk,
            "deposited_on": deposit.deposited_on,
        },
    )
    return deposit


@transaction.atomic
def deposit_void(*, firm: Firm, actor: User, deposit_id: int, reason: str = "") -> Deposit:
    """Void a deposit (a bounced or mistaken check). Refused while staged payments need it."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    return _deposit_void(firm, actor, deposit_id, reason, on=clock.today(), notify=True)


@transaction.atomic
def deposit_void_by_integration(
    *, firm: Firm, deposit_id: int, on: dt.date, reason: str
) -> Deposit:
    """The accounting system voided the deposit's receipt (a bounced check recorded there):
    the deposit is voided here too, on the same date, with the same refusals (the staged
    payments still need it, or the case is disbursing). The integration is not told again."""
    return _deposit_void(firm, None, deposit_id, reason, on=on, notify=False)


def _deposit_void(
    firm: Firm, actor: User | None, deposit_id: int, reason: str, *, on: dt.date, notify: bool
) -> Deposit:
    deposit = Deposit.objects.filter(firm=firm, pk=deposit_id).select_related("case").first()
    if deposit is None:
        raise ValidationFailed("deposit not found in this firm", field="deposit")
    case = deposit.case
    settlement = _lock(case)
    deposit.refresh_from_db()
    if deposit.voided_on is not None:
        raise Locked("this deposit is already void")
    _refuse_if_disbursing(case)
    _withdraw_client_check(case, settlement, actor)
    figures = settlement_figures(case=case)
    left = figures.deposited_cents - deposit.amount_cents
    if figures.staged_from_trust_cents > left:
        raise StagingExceedsTrust(
            f"payments of {format_cents(figures.staged_from_trust_cents)} are staged against this "
            f"money; unstage {format_cents(figures.staged_from_trust_cents - left)} first",
            staged_cents=figures.staged_from_trust_cents,
        )
    deposit.voided_on = on
    deposit.void_reason = reason.strip()[:255]
    deposit.save(update_fields=["voided_on", "void_reason"])
    if notify:
        extensions.deposit_voided(deposit=deposit, actor=actor)
    _audit(
        case,
        actor,
        "void",
        "deposit",
        deposit.pk,
        f"deposit of check {deposit.check_number} ({format_cents(deposit.amount_cents)}) voided"
        + ("" if notify else " (voided in the accounting system)"),
        before={"voided_on": None},
        after={"voided_on": deposit.voided_on, "reason": reason},
    )
    return deposit


# --- fee, COPP, Property Damage Fee ------------------------------------------------------


@transaction.atomic
def settlement_terms_update(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    fee_mode: str,
    fee_rate_bp: int,
    fee_fixed_cents: int,
    fee_on_net_of_costs: bool,
    copp_cents: int,
    property_damage_fee_cents: int,
    reason: str = "",
) -> tuple[Settlement, FeeChangeRequest | None]:
    """Edit a case's fee and charges. When the firm requires approval and the user is not
    an administrator, a fee change becomes a request for an administrator; the charges
    apply at once. Returns the settlement and the request, if one was made."""
    case = _case(firm, case_id)
    settlement = _lock(case)
    _refuse_if_disbursing(case)
    if fee_mode not in ("percent", "fixed"):
        raise ValidationFailed("the fee is a percentage or a fixed amount", field="fee_mode")
    if not 0 <= fee_rate_bp <= 10000:
        raise ValidationFailed("the fee percentage must be between 0 and 100", field="fee_rate")
    if fee_fixed_cents < 0:
        raise ValidationFailed("a fixed fee cannot be negative", field="fee_fixed")
    if copp_cents < 0:
        raise ValidationFailed("COPP charges cannot be negative", field="copp")
    fee_now = (
        settlement.fee_mode,
        settlement.fee_rate_bp,
        settlement.fee_fixed_cents,
        settlement.fee_on_net_of_costs,
    )
    fee_new = (fee_mode, fee_rate_bp, fee_fixed_cents, fee_on_net_of_costs)
    charges_now = (settlement.copp_cents, settlement.property_damage_fee_cents)
    charges_new = (copp_cents, property_damage_fee_cents)
    staged = set(TrustItem.objects.filter(case=case).values_list("kind", flat=True))
    if fee_new != fee_now and TrustItemKind.FEE in staged:
        raise Locked("the fee is staged; unstage it before changing the fee", field="fee_mode")
    if copp_cents != settlement.copp_cents and TrustItemKind.COPP in staged:
        raise Locked("COPP charges are staged; unstage them first", field="copp")
    if property_damage_fee_cents != settlement.property_damage_fee_cents and (
        staged & {TrustItemKind.PROPERTY_DAMAGE_FEE, TrustItemKind.COST_REIMBURSEMENT}
    ):
        raise Locked(
            "the Property Damage Fee or cost reimbursement is staged; unstage it first",
            field="property_damage_fee",
        )
    request = None
    before = {"fee": fee_now, "charges": charges_now}
    if fee_new != fee_now:
        # the firm's setting as it is now, not as the (possibly older) ``firm`` passed in
        needs_approval = Firm.objects.values_list("fee_changes_need_approval", flat=True).get(
            pk=firm.pk
        )
        if needs_approval and not actor.is_firm_admin:
            if fee_on_net_of_costs != settlement.fee_on_net_of_costs:
                # a FeeChangeRequest has no place for this switch: approving would lose it
                raise ValidationFailed(
                    "only a firm administrator can change whether the fee is taken on the net "
                    "of costs; ask one to make this change",
                    field="fee_on_net_of_costs",
                )
            if not reason.strip():
                raise ValidationFailed(
                    "say why the fee should change; an administrator approves it", field="reason"
                )
            try:
                with transaction.atomic():
                    request = FeeChangeRequest.objects.create(
                        firm=firm,
                        case=case,
                        fee_mode=fee_mode,
                        fee_rate_bp=fee_rate_bp,
                        fee_fixed_cents=fee_fixed_cents,
                        reason=reason.strip()[:500],
                        requested_by=actor,
                        requested_at=clock.now(),
                    )
            except IntegrityError:
                raise ValidationFailed(
                    "a fee change for this case is already waiting for approval; "
                    "ask an administrator to decide it first",
                    field="fee_mode",
                ) from None
            _audit(
                case,
                actor,
                "request",
                "fee_change",
                request.pk,
                "fee change requested for approval",
                after={"fee": fee_new, "reason": reason},
            )
        else:
            settlement.fee_mode, settlement.fee_rate_bp = fee_mode, fee_rate_bp
            settlement.fee_fixed_cents, settlement.fee_on_net_of_costs = (
                fee_fixed_cents,
                fee_on_net_of_costs,
            )
    settlement.copp_cents, settlement.property_damage_fee_cents = charges_new
    settlement.save()
    after = {
        "fee": (
            settlement.fee_mode,
            settlement.fee_rate_bp,
            settlement.fee_fixed_cents,
            settlement.fee_on_net_of_costs,
        ),
        "charges": charges_new,
    }
    if after != before:
        _withdraw_client_check(case, settlement, actor)
        _audit(
            case,
            actor,
            "change",
            "settlement",
            settlement.pk,
            "settlement terms changed",
            before=before,
            after=after,
        )
    return settlement, request


@transaction.atomic
def fee_change_request_decide(
    *, firm: Firm, actor: User, request_id: int, approve: bool
) -> FeeChangeRequest:
    require_admin(actor, "approve fee changes")
    req = FeeChangeRequest.objects.select_for_update().filter(firm=firm, pk=request_id).first()
    if req is None:
        raise ValidationFailed("fee change request not found in this firm", field="request")
    if req.status != FeeChangeStatus.PENDING:
        raise Locked(f"this request was already {req.status}")
    case = req.case
    settlement = _lock(case)
    before = {
        "status": req.status,
        "fee": (
            settlement.fee_mode,
            settlement.fee_rate_bp,
            settlement.fee_fixed_cents,
            settlement.fee_on_net_of_costs,
        ),
    }
    if approve:
        _refuse_if_disbursing(case)
        if TrustItem.objects.filter(case=case, kind=TrustItemKind.FEE).exists():
            raise Locked("the fee is staged; unstage it before approving a fee change")
        settlement.fee_mode, settlement.fee_rate_bp = req.fee_mode, req.fee_rate_bp
        settlement.fee_fixed_cents = req.fee_fixed_cents
        settlement.save(update_fields=["fee_mode", "fee_rate_bp", "fee_fixed_cents"])
        _withdraw_client_check(case, settlement, actor)
    req.status = FeeChangeStatus.APPROVED if approve else FeeChangeStatus.REJECTED
    req.decided_by, req.decided_at = actor, clock.now()
    req.save(update_fields=["status", "decided_by", "decided_at"])
    _audit(
        case,
        actor,
        "approve" if approve else "reject",
        "fee_change",
        req.pk,
        f"fee change {req.status}",
        before=before,
        after={
            "status": req.status,
            "fee_mode": req.fee_mode,
            "fee_rate_bp": req.fee_rate_bp,
            "fee_fixed_cents": req.fee_fixed_cents,
        },
    )
    return req


# --- liens ------------------------------------------------------------------------------


@transaction.atomic
def lien_create(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    kind: str,
    holder_id: int,
    claimed_cents: int,
    paid_direct: bool = False,
    note: str = "",
) -> Lien:
    case = _case(firm, case_id)
    _refuse_if_disbursing(case)
    if kind not in LienKind.values:
        raise ValidationFailed(f"kind must be one of {', '.join(LienKind.values)}", field="kind")
    if claimed_cents < 0:
        raise ValidationFailed("the claimed amount cannot be negative", field="claimed")
    holder = Contact.objects.filter(firm=firm, pk=holder_id).first()
    if holder is None:
        raise ValidationFailed("lien holder not found in this firm", field="holder")
    lien = Lien.objects.create(
        firm=firm,
        case=case,
        kind=kind,
        holder=holder,
        claimed_cents=claimed_cents,
        paid_direct=paid_direct,
        note=note.strip()[:255],
    )
    _audit(
        case,
        actor,
        "create",
        "lien",
        lien.pk,
        f"{lien.get_kind_display()} of {holder.name} claimed {format_cents(claimed_cents)}",
        after={"kind": kind, "claimed_cents": claimed_cents, "paid_direct": paid_direct},
    )
    return lien


@transaction.atomic
def lien_create_for_holder(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    kind: str,
    holder_name: str,
    claimed_cents: int,
    paid_direct: bool = False,
    note: str = "",
) -> Lien:
    """:func:`lien_create` with the lien holder named (found, else added); a refused lien
    leaves no stray contact."""
    return lien_create(
        firm=firm,
        actor=actor,
        case_id=case_id,
        kind=kind,
        holder_id=contact_for_role(firm=firm, actor=actor, name=holder_name, role="holder"),
        claimed_cents=claimed_cents,
        paid_direct=paid_direct,
        note=note,
    )


@transaction.atomic
def lien_update(
    *,
    firm: Firm,
    actor: User,
    lien_id: int,
    claimed_cents: int,
    final_cents: int | None,
    paid_direct: bool,
    note: str = "",
) -> Lien:
    lien = Lien.objects.select_for_update().filter(firm=firm, pk=lien_id).first()
    if lien is None:
        raise ValidationFailed("lien not found in this firm", field="lien")
    if lien.accepted_on is not None:
        raise Locked("this lien's final amount is accepted and locked")
    if claimed_cents < 0:
        raise ValidationFailed("the claimed amount cannot be negative", field="claimed")
    if final_cents is not None and final_cents < 0:
        raise ValidationFailed("the final amount cannot be negative", field="final")
    # A lien a medical bill became (issue 16) never claims more than the bill billed: the
    # statement shows billed, the reduction and what is paid.
    billed = Bill.objects.filter(lien=lien).values_list("billed_cents", flat=True).first()
    if billed is not None:
        for field, cents in (("claimed", claimed_cents), ("final", final_cents)):
            if cents is not None and cents > billed:
                raise ValidationFailed(
                    f"the {field} amount {format_cents(cents)} is more than the bill it came "
                    f"from billed ({format_cents(billed)})",
                    field=field,
                )
    before = {
        "claimed_cents": lien.claimed_cents,
        "final_cents": lien.final_cents,
        "paid_direct": lien.paid_direct,
        "note": lien.note,
    }
    lien.claimed_cents, lien.final_cents = claimed_cents, final_cents
    lien.paid_direct, lien.note = paid_direct, note.strip()[:255]
    lien.save(update_fields=["claimed_cents", "final_cents", "paid_direct", "note"])
    _audit(
        lien.case,
        actor,
        "change",
        "lien",
        lien.pk,
        "lien changed",
        before=before,
        after={
            "claimed_cents": claimed_cents,
            "final_cents": final_cents,
            "paid_direct": paid_direct,
            "note": lien.note,
        },
    )
    return lien


@transaction.atomic
def lien_accept(
    *,
    firm: Firm,
    actor: User,
    lien_id: int,
    final_cents: int | None = None,
    on: dt.date | None = None,
) -> Lien:
    """Accept a lien's final amount (given here, or saved before): it is locked from then
    on and its payment can be staged."""
    lien = Lien.objects.select_for_update().filter(firm=firm, pk=lien_id).first()
    if lien is None:
        raise ValidationFailed("lien not found in this firm", field="lien")
    if lien.accepted_on is not None:
        raise Locked("this lien is already accepted")
    final = final_cents if final_cents is not None else lien.final_cents
    if final is None:
        raise ValidationFailed("enter and save the final amount before accepting it", field="final")
    if final < 0:
        raise ValidationFailed("the final amount cannot be negative", field="final")
    if final > lien.claimed_cents:
        raise ValidationFailed(
            f"the final amount {format_cents(final)} is more than the claim "
            f"{format_cents(lien.claimed_cents)}; correct the claim first",
            field="final",
        )
    before = {"final_cents": lien.final_cents, "accepted_on": None}
    lien.final_cents, lien.accepted_on = final, on or clock.today()
    lien.save(update_fields=["final_cents", "accepted_on"])
    _audit(
        lien.case,
        actor,
        "accept",
        "lien",
        lien.pk,
        f"lien of {lien.holder.name} accepted at {format_cents(final)}",
        before=before,
        after={"final_cents": final, "accepted_on": lien.accepted_on},
    )
    return lien


@transaction.atomic
def lien_reopen(*, firm: Firm, actor: User, lien_id: int, reason: str) -> Lien:
    """A firm administrator takes back a lien's acceptance before Push to Disbursement (a
    final amount agreed in error, a lien marked paid direct that trust must pay): the lien
    can be edited and accepted again. What depended on the acceptance goes with it, as the
    staging rules require: the lien's staged payment is unstaged and the client's check,
    the remainder, is taken back to be recomputed. Refused once the case is pushed to
    disbursement. Audited with the reason, before and after."""
    require_admin(actor, "reopen an accepted lien")
    found = Lien.objects.filter(firm=firm, pk=lien_id).select_related("case").first()
    if found is None:
        raise ValidationFailed("lien not found in this firm", field="lien")
    case = found.case
    settlement = _lock(case)
    _refuse_if_disbursing(case)
    lien = Lien.objects.select_for_update().select_related("holder").get(pk=found.pk)
    if lien.accepted_on is None:
        raise ValidationFailed(
            f"the lien of {lien.holder.name} is not accepted, so there is nothing to reopen; "
            "edit it instead",
            field="lien",
        )
    reason = reason.strip()[:500]
    if not reason:
        raise ValidationFailed("say why the accepted lien is reopened", field="reason")
    item = TrustItem.objects.filter(lien=lien).first()
    before = {
        "accepted_on": lien.accepted_on,
        "final_cents": lien.final_cents,
        "paid_direct": lien.paid_direct,
        "staged_cents": item.amount_cents if item is not None else 0,
    }
    if item is not None:
        _audit(
            case,
            actor,
            "unstage",
            "trust_item",
            item.pk,
            f"{item.get_kind_display()} of {format_cents(item.amount_cents)} unstaged: "
            f"the lien of {lien.holder.name} was reopened",
            before={"kind": item.kind, "amount_cents": item.amount_cents, "lien": lien.pk},
        )
        item.delete()
    lien.accepted_on = None
    lien.save(update_fields=["accepted_on"])
    _withdraw_client_check(case, settlement, actor)
    _audit(
        case,
        actor,
        "reopen",
        "lien",
        lien.pk,
        f"accepted lien of {lien.holder.name} reopened: {reason}",
        before=before,
        after={
            "accepted_on": None,
            "final_cents": lien.final_cents,
            "paid_direct": lien.paid_direct,
            "staged_cents": 0,
            "reason": reason,
        },
    )
    return lien


# --- staging ----------------------------------------------------------------------------


@transaction.atomic
def trust_item_stage(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    kind: str,
    amount_cents: int | None = None,
    lien_id: int | None = None,
    note: str = "",
) -> TrustItem:
    """Stage Payment for the fee, the cost reimbursement, COPP charges, the Property Damage
    Fee or an accepted lien. The amount defaults to what is due and may be less, never more,
    and never more than the trust money not yet staged."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    plain_line(note, field="note")  # the check's memo
    case = _case(firm, case_id)
    settlement = _lock(case)
    _refuse_if_disbursing(case)
    figures = settlement_figures(case=case)
    lien = None
    paid_direct = False
    payee = case.firm.name
    if kind == TrustItemKind.FEE:
        if figures.deposited_cents == 0:
            raise ValidationFailed(
                "fees can be taken only after a settlement check is deposited", field="kind"
            )
        due = figures.fee_cents
    elif kind == TrustItemKind.COST_REIMBURSEMENT:
        due = figures.cost_reimbursement_due_cents
    elif kind == TrustItemKind.COPP:
        due = figures.copp_cents
    elif kind == TrustItemKind.PROPERTY_DAMAGE_FEE:
        if figures.property_damage_fee_cents < 0:
            raise ValidationFailed(
                "a negative Property Damage Fee is a waiver: it reduces the cost "
                "reimbursement and is not paid from trust",
                field="kind",
            )
        due = figures.property_damage_fee_cents
    elif kind == TrustItemKind.LIEN:
        lien = (
            Lien.objects.filter(case=case, pk=lien_id).select_related("holder").first()
            if lien_id is not None
            else None
        )
        if lien is None:
            raise ValidationFailed("choose a lien of this case", field="lien")
        if lien.accepted_on is None or lien.final_cents is None:
            raise ValidationFailed(
                "a payment can be staged only for an accepted final amount; accept the lien first",
                field="lien",
            )
        if TrustItem.objects.filter(lien=lien).exists():
            raise ValidationFailed(
                f"the lien of {lien.holder.name} is already staged", field="lien"
            )
        due, payee, paid_direct = lien.final_cents, lien.holder.name, lien.paid_direct
        note = note or (PAID_DIRECT_NOTE if paid_direct else "")
    elif kind == TrustItemKind.CLIENT:
        raise ValidationFailed("the client's check is made by Push to Client Trust", field="kind")
    else:
        raise ValidationFailed(
            f"kind must be one of {', '.join(TrustItemKind.values)}", field="kind"
        )
    if kind != TrustItemKind.LIEN and TrustItem.objects.filter(case=case, kind=kind).exists():
        raise ValidationFailed(
            f"the {TrustItemKind(kind).label} is already staged; unstage it to stage it again",
            field="kind",
        )
    amount = due if amount_cents is None else amount_cents
    if due <= 0:
        raise ValidationFailed(f"nothing is due for the {TrustItemKind(kind).label}", field="kind")
    _positive(amount)
    if amount > due:
        raise ValidationFailed(
            f"{format_cents(amount)} is more than the {format_cents(due)} due", field="amount"
        )
    _withdraw_client_check(case, settlement, actor)
    figures = settlement_figures(case=case)
    if not paid_direct and amount > figures.trust_remaining_cents:
        raise StagingExceedsTrust(
            f"only {format_cents(figures.trust_remaining_cents)} of deposited money is not yet "
            f"staged; {format_cents(amount)} cannot be staged",
            available_cents=figures.trust_remaining_cents,
        )
    item = TrustItem.objects.create(
        firm=firm,
        case=case,
        kind=kind,
        payee_name=payee[:200],
        amount_cents=amount,
        lien=lien,
        paid_direct=paid_direct,
        note=note.strip()[:255],
        staged_by=actor,
        staged_at=clock.now(),
    )
    _audit(
        case,
        actor,
        "stage",
        "trust_item",
        item.pk,
        f"{item.get_kind_display()} of {format_cents(amount)} staged"
        + (" (paid direct)" if paid_direct else ""),
        after={"kind": kind, "amount_cents": amount, "payee": payee, "paid_direct": paid_direct},
    )
    return item


@transaction.atomic
def trust_items_stage_due(*, firm: Firm, actor: User, case_id: int) -> list[TrustItem]:
    """Stage all due: every payment due and not staged yet
    (:func:`~casebridge.cases.selectors.settlement.payments_due`), each at what is due and
    audited as its own Stage Payment, in one transaction: all of them or none. Refused,
    writing nothing, when nothing is due or when what they take from trust is more than
    the deposited money not yet staged."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    case = _case(firm, case_id)
    _lock(case)
    _refuse_if_disbursing(case)
    figures = settlement_figures(case=case)
    due = payments_due(figures, case)
    if not due:
        raise ValidationFailed("nothing is due to stage on this case")
    from_trust = sum(p.cents for p in due if not p.paid_direct)
    # the client's check (if pushed) is taken back out by the staging, so it is available
    available = figures.trust_remaining_cents + figures.client_item_cents
    if from_trust > available:
        raise StagingExceedsTrust(
            f"the {words.plural(len(due), 'payment')} due "
            f"{'takes' if len(due) == 1 else 'take'} {format_cents(from_trust)} from trust "
            f"but only {format_cents(max(available, 0))} of deposited money is not yet "
            "staged; nothing was staged (deposit the rest of the settlement, or stage payments "
            "one by one)",
            available_cents=max(available, 0),
        )
    return [
        trust_item_stage(firm=firm, actor=actor, case_id=case.pk, kind=p.kind, lien_id=p.lien_id)
        for p in due
    ]


@transaction.atomic
def trust_item_unstage(*, firm: Firm, actor: User, item_id: int) -> None:
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    item = TrustItem.objects.filter(firm=firm, pk=item_id).select_related("case").first()
    if item is None:
        raise ValidationFailed("staged payment not found in this firm", field="item")
    settlement = _lock(item.case)
    _refuse_if_disbursing(item.case)
    _audit(
        item.case,
        actor,
        "unstage",
        "trust_item",
        item.pk,
        f"{item.get_kind_display()} of {format_cents(item.amount_cents)} unstaged",
        before={"kind": item.kind, "amount_cents": item.amount_cents},
    )
    item.delete()
    _withdraw_client_check(item.case, settlement, actor)


def _refuse_unless_settled(figures: SettlementFigures, case: Case) -> None:
    """What Push to Client Trust (and, again, Push to Disbursement) waits for
    (:func:`~casebridge.cases.selectors.settlement.push_refusal`, which the Settlement tab
    shows beside the disabled button)."""
    reason = push_refusal(figures, case)
    if reason:
        raise ValidationFailed(reason)


@transaction.atomic
def push_to_client_trust(
    *, firm: Firm, actor: User, case_id: int, payee_name: str = "", note: str = ""
) -> TrustItem | None:
    """Make the client's final check the remainder of the trust money, so what is left
    comes to exactly $0.00. ``payee_name`` names another payee (a guardian, a conservator).
    Refused, with the reason, while money is still to be deposited, a lien is undecided or
    unstaged, or the remainder would be negative."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    plain_line(payee_name, field="payee_name", label="payee")  # printed on the check
    plain_line(note, field="note")
    case = _case(firm, case_id)
    settlement = _lock(case)
    _refuse_if_disbursing(case)
    _withdraw_client_check(case, settlement, actor)
    figures = settlement_figures(case=case)
    _refuse_unless_settled(figures, case)
    remainder = figures.trust_remaining_cents
    if remainder < 0:
        raise StagingExceedsTrust(
            f"the staged payments exceed the trust money by {format_cents(-remainder)}; "
            "unstage or reduce them",
            available_cents=figures.deposited_cents,
        )
    item = None
    payee = payee_name.strip() or case.client.name
    if remainder > 0:
        item = TrustItem.objects.create(
            firm=firm,
            case=case,
            kind=TrustItemKind.CLIENT,
            payee_name=payee[:200],
            amount_cents=remainder,
            note=note.strip()[:255],
            staged_by=actor,
            staged_at=clock.now(),
        )
    settlement.pushed_to_client_trust_at = clock.now()
    settlement.save(update_fields=["pushed_to_client_trust_at"])
    _audit(
        case,
        actor,
        "push_to_client_trust",
        "settlement",
        settlement.pk,
        f"client's final check {format_cents(remainder)} to {payee}; trust remaining $0.00",
        after={"client_cents": remainder, "payee": payee},
    )
    return item


@transaction.atomic
def push_to_disbursement(*, firm: Firm, actor: User, case_id: int) -> int:
    """Move every staged payment to the To Be Disbursed tab. Needs Push to Client Trust
    first (so trust remaining is $0.00). Returns how many items moved."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    case = _case(firm, case_id)
    settlement = _lock(case)
    _refuse_if_disbursing(case)
    if settlement.pushed_to_client_trust_at is None:
        raise ValidationFailed("push to client trust first, so the trust comes to $0.00")
    figures = settlement_figures(case=case)
    # an offer accepted or a lien claimed since the push would otherwise be disbursed past
    _refuse_unless_settled(figures, case)
    # the client's check waits for Medicare's final demand (ADR 0039)
    hold = medicare_hold_reason(case)
    if hold:
        raise MedicareHold(hold)
    if figures.trust_remaining_cents != 0:
        raise ValidationFailed(
            f"{format_cents(figures.trust_remaining_cents)} is left in trust; "
            "push to client trust again"
        )
    now = clock.now()
    to_move = TrustItem.objects.filter(case=case, status=TrustItemStatus.STAGED)
    total = int(to_move.aggregate(s=Sum("amount_cents"))["s"] or 0)
    moved_ids = list(to_move.order_by("pk").values_list("pk", flat=True))
    moved = to_move.update(status=TrustItemStatus.TO_BE_DISBURSED, pushed_to_disbursement_at=now)
    _audit(
        case,
        actor,
        "push_to_disbursement",
        "settlement",
        settlement.pk,
        f"{words.plural(moved, 'payment')} pushed to disbursement",
        after={"moved": moved, "total_cents": total},
    )
    # an integration queues the payments to be made by check, with the push or not at all
    extensions.disbursement_pushed(
        case=case,
        items=list(TrustItem.objects.filter(pk__in=moved_ids).order_by("pk")),
        actor=actor,
    )
    return moved
