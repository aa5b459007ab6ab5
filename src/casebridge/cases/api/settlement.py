"""The Settlement tab: figures, terms (fee, COPP, Property Damage Fee), negotiations,
deposits, fee change requests, liens, staging the trust money, Push to Client Trust and
Push to Disbursement; and Client Trust Management's To Be Disbursed list.

Every figure comes from :func:`casebridge.cases.selectors.settlement.settlement_figures`,
the same function the screen and the statement use; every rule (locks, permissions,
staging limits) is the services'."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import (
    ERRORS,
    NAME_LENGTH,
    NOTE_LENGTH,
    REASON_DEFAULTS,
    CaseRef,
    ContactRef,
    ReasonIn,
    UserRef,
)
from casebridge.cases.api.security import context
from casebridge.cases.models import (
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
    Settlement,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.selectors.settlement import excess_deposit_warning, settlement_figures
from casebridge.cases.services import settlement as settlement_service
from casebridge.core.api.lookups import get_or_404, require_in_firm
from casebridge.core.api.schemas import (
    Cents,
    Clean,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    Percent,
    PercentOut,
    keyset_page,
    money,
    percent,
)

router = Router(tags=["settlement and trust"])

FeeMode = Literal["percent", "fixed"]


# --- responses --------------------------------------------------------------------------


class NegotiationOut(Out):
    id: int
    case_id: int
    kind: NegotiationKind
    party: ContactRef
    amount: Money
    made_on: dt.date
    note: str
    accepted: bool
    accepted_on: dt.date | None
    accepted_by_id: int | None

    @classmethod
    def of(cls, neg: Negotiation) -> NegotiationOut:
        return cls(
            id=neg.pk,
            case_id=neg.case_id,
            kind=NegotiationKind(neg.kind),
            party=ContactRef.of(neg.party),
            amount=money(neg.amount_cents),
            made_on=neg.made_on,
            note=neg.note,
            accepted=neg.is_accepted,
            accepted_on=neg.accepted_on,
            accepted_by_id=neg.accepted_by_id,
        )


class DepositOut(Out):
    id: int
    case_id: int
    offer_id: int
    amount: Money
    check_number: str
    deposited_on: dt.date
    voided_on: dt.date | None
    void_reason: str

    @classmethod
    def of(cls, deposit: Deposit) -> DepositOut:
        return cls(
            id=deposit.pk,
            case_id=deposit.case_id,
            offer_id=deposit.offer_id,
            amount=money(deposit.amount_cents),
            check_number=deposit.check_number,
            deposited_on=deposit.deposited_on,
            voided_on=deposit.voided_on,
            void_reason=deposit.void_reason,
        )


class LienOut(Out):
    id: int
    case_id: int
    kind: LienKind
    kind_label: str
    holder: ContactRef
    claimed: Money
    final: Money | None
    accepted: bool
    accepted_on: dt.date | None
    paid_direct: bool
    note: str
    staged: Money = Field(description="What is staged for it (0.00 if nothing).")
    check_number: str
    warnings: list[str] = Field(
        default_factory=list,
        description="For a lien paid direct: deposits exceeding what trust should hold "
        "(the settlement less liens paid direct), with the excess and the fix.",
    )

    @classmethod
    def of(
        cls, lien: Lien, staged_cents: int = 0, check_number: str = "", warning: str = ""
    ) -> LienOut:
        return cls(
            id=lien.pk,
            case_id=lien.case_id,
            kind=LienKind(lien.kind),
            kind_label=lien.get_kind_display(),
            holder=ContactRef.of(lien.holder),
            claimed=money(lien.claimed_cents),
            final=None if lien.final_cents is None else money(lien.final_cents),
            accepted=lien.accepted_on is not None,
            accepted_on=lien.accepted_on,
            paid_direct=lien.paid_direct,
            note=lien.note,
            staged=money(staged_cents),
            check_number=check_number,
            warnings=[warning] if warning and lien.paid_direct else [],
        )


class TrustItemOut(Out):
    id: int
    case_id: int
    kind: TrustItemKind
    kind_label: str
    payee_name: str
    amount: Money
    lien_id: int | None
    paid_direct: bool = Field(description="Recorded, never paid from trust or by a check.")
    note: str
    status: TrustItemStatus
    check_number: str
    staged_at: dt.datetime
    pushed_to_disbursement_at: dt.datetime | None

    @classmethod
    def of(cls, item: TrustItem) -> TrustItemOut:
        return cls(
            id=item.pk,
            case_id=item.case_id,
            kind=TrustItemKind(item.kind),
            kind_label=item.get_kind_display(),
            payee_name=item.payee_name,
            amount=money(item.amount_cents),
            lien_id=item.lien_id,
            paid_direct=item.paid_direct,
            note=item.note,
            status=TrustItemStatus(item.status),
            check_number=item.check_number,
            staged_at=item.staged_at,
            pushed_to_disbursement_at=item.pushed_to_disbursement_at,
        )


class FeeChangeOut(Out):
    id: int
    case: CaseRef
    fee_mode: FeeMode
    fee_rate: PercentOut
    fee_fixed: Money
    reason: str
    status: FeeChangeStatus
    requested_by: UserRef
    requested_at: dt.datetime
    decided_by: UserRef | None
    decided_at: dt.datetime | None

    @classmethod
    def of(cls, req: FeeChangeRequest) -> FeeChangeOut:
        return cls(
            id=req.pk,
            case=CaseRef.of(req.case),
            fee_mode="fixed" if req.fee_mode == "fixed" else "percent",
            fee_rate=percent(req.fee_rate_bp),
            fee_fixed=money(req.fee_fixed_cents),
            reason=req.reason,
            status=FeeChangeStatus(req.status),
            requested_by=UserRef.of(req.requested_by),
            requested_at=req.requested_at,
            decided_by=UserRef.of(req.decided_by) if req.decided_by else None,
            decided_at=req.decided_at,
        )


class RecoverySourceOut(Out):
    offer_id: int
    payer: str
    accepted: Money
    deposited: Money
    accepted_on: dt.date | None


class TermsOut(Out):
    fee_mode: FeeMode
    fee_rate: PercentOut
    fee_fixed: Money
    fee_on_net_of_costs: bool
    copp: Money
    property_damage_fee: Money = Field(description="Negative: a waiver.")
    pushed_to_client_trust_at: dt.datetime | None


class FiguresOut(Out):
    gross: Money = Field(description="Every accepted offer.")
    deposited: Money
    not_yet_deposited: Money
    expected_in_trust: Money = Field(description="Gross less liens paid direct.")
    fee_base: Money
    fee_rate: PercentOut
    fee: Money
    costs: Money = Field(description="The case's costs, void ones excluded.")
    cost_reimbursement_due: Money
    copp: Money
    property_damage_fee: Money
    liens: Money = Field(description="Each lien's accepted amount, else its claim.")
    liens_paid_direct: Money
    net_to_client: Money = Field(
        description="gross - fee - costs - liens - COPP - Property Damage Fee."
    )
    staged_from_trust: Money
    client_check: Money = Field(description="The client's item once pushed to client trust.")
    trust_remaining: Money = Field(description="Deposited, not yet staged: 0.00 when pushed.")
    excess_deposited: Money = Field(
        description="Deposited beyond expected_in_trust (liens marked paid direct after the "
        "deposit): Push to Client Trust is refused until it is 0.00."
    )


class SettlementOut(Out):
    case: CaseRef
    terms: TermsOut
    figures: FiguresOut
    recovery_by_source: list[RecoverySourceOut]
    negotiations: list[NegotiationOut]
    deposits: list[DepositOut]
    liens: list[LienOut]
    trust_items: list[TrustItemOut]
    pending_fee_change: FeeChangeOut | None
    warnings: list[str] = Field(
        description="What needs fixing before Push to Client Trust that the figures show, "
        "e.g. deposits exceeding what trust should hold, with the excess and the fix."
    )


def settlement_out(case: Case) -> SettlementOut:
    f = settlement_figures(case=case)
    excess = excess_deposit_warning(f)
    s = Settlement.objects.get(case=case)
    items = list(TrustItem.objects.filter(case=case).order_by("pk"))
    by_lien = {i.lien_id: i for i in items if i.lien_id is not None}
    liens = []
    for lien in Lien.objects.filter(case=case).select_related("holder").order_by("pk"):
        item = by_lien.get(lien.pk)
        liens.append(
            LienOut.of(
                lien,
                item.amount_cents if item else 0,
                item.check_number if item else "",
                warning=excess,
            )
        )
    pending = (
        FeeChangeRequest.objects.filter(case=case, status=FeeChangeStatus.PENDING)
        .select_related("case", "requested_by", "decided_by")
        .first()
    )
    return SettlementOut(
        case=CaseRef.of(case),
        terms=TermsOut(
            fee_mode="fixed" if s.fee_mode == "fixed" else "percent",
            fee_rate=percent(s.fee_rate_bp),
            fee_fixed=money(s.fee_fixed_cents),
            fee_on_net_of_costs=s.fee_on_net_of_costs,
            copp=money(s.copp_cents),
            property_damage_fee=money(s.property_damage_fee_cents),
            pushed_to_client_trust_at=s.pushed_to_client_trust_at,
        ),
        figures=FiguresOut(
            gross=money(f.gross_cents),
            deposited=money(f.deposited_cents),
            not_yet_deposited=money(f.not_yet_deposited_cents),
            expected_in_trust=money(f.expected_in_trust_cents),
            fee_base=money(f.fee_base_cents),
            fee_rate=percent(f.fee_rate_bp),
            fee=money(f.fee_cents),
            costs=money(f.costs_cents),
            cost_reimbursement_due=money(f.cost_reimbursement_due_cents),
            copp=money(f.copp_cents),
            property_damage_fee=money(f.property_damage_fee_cents),
            liens=money(f.liens_cents),
            liens_paid_direct=money(f.liens_paid_direct_cents),
            net_to_client=money(f.net_to_client_cents),
            staged_from_trust=money(f.staged_from_trust_cents),
            client_check=money(f.client_item_cents),
            trust_remaining=money(f.trust_remaining_cents),
            excess_deposited=money(f.excess_deposited_cents),
        ),
        recovery_by_source=[
            RecoverySourceOut(
                offer_id=src.offer_id,
                payer=src.payer,
                accepted=money(src.accepted_cents),
                deposited=money(src.deposited_cents),
                accepted_on=src.accepted_on if isinstance(src.accepted_on, dt.date) else None,
            )
            for src in f.sources
        ],
        negotiations=[
            NegotiationOut.of(n)
            for n in Negotiation.objects.filter(case=case)
            .select_related("party")
            .order_by("made_on", "pk")
        ],
        deposits=[DepositOut.of(d) for d in Deposit.objects.filter(case=case).order_by("pk")],
        liens=liens,
        trust_items=[TrustItemOut.of(i) for i in items],
        pending_fee_change=FeeChangeOut.of(pending) if pending else None,
        warnings=[excess] if excess else [],
    )


def _case(firm: Firm, case_id: int) -> Case:
    return get_or_404(Case.objects.filter(firm=firm), case_id)


@router.get("/cases/{int:case_id}/settlement", response={200: SettlementOut, **ERRORS})
def settlement_get(request: HttpRequest, case_id: Id) -> SettlementOut:
    """The Settlement tab: terms, every figure (net to client, trust remaining), recovery
    by source, negotiations, deposits, liens and staged payments."""
    return settlement_out(_case(context(request).firm, case_id))


# --- terms ------------------------------------------------------------------------------


class TermsIn(In):
    fee_mode: FeeMode
    fee_rate: Percent = Field(description='The fee percentage, e.g. "33.33".')
    fee_fixed: Cents = Field(description="The fee when fee_mode is fixed.")
    fee_on_net_of_costs: bool = Field(description="Take the percentage of gross less costs.")
    copp: Cents
    property_damage_fee: Cents = Field(description="Negative: a waiver.")
    reason: str = Field(
        "", max_length=500, description="Why the fee changes (when it needs approval)."
    )


class TermsUpdated(Out):
    settlement: SettlementOut
    fee_change_request: FeeChangeOut | None = Field(
        description="Made instead of changing the fee when the firm requires an "
        "administrator's approval; the charges changed at once."
    )


@router.put("/cases/{int:case_id}/settlement/terms", response={200: TermsUpdated, **ERRORS})
def settlement_terms_update(request: HttpRequest, case_id: Id, payload: TermsIn) -> TermsUpdated:
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    _, fee_request = settlement_service.settlement_terms_update(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        fee_mode=payload.fee_mode,
        fee_rate_bp=payload.fee_rate,
        fee_fixed_cents=payload.fee_fixed,
        fee_on_net_of_costs=payload.fee_on_net_of_costs,
        copp_cents=payload.copp,
        property_damage_fee_cents=payload.property_damage_fee,
        reason=payload.reason,
    )
    return TermsUpdated(
        settlement=settlement_out(case),
        fee_change_request=FeeChangeOut.of(fee_request) if fee_request else None,
    )


# --- negotiations -----------------------------------------------------------------------


def _negotiations(firm: Firm) -> QuerySet[Negotiation]:
    return Negotiation.objects.filter(firm=firm).select_related("party")


class NegotiationIn(In):
    kind: NegotiationKind
    party_id: Id = Field(description="The insurer or defendant.")
    amount: Cents
    made_on: dt.date | None = Field(default=None, description="Default: today.")
    note: str = Field(default="", max_length=NOTE_LENGTH)


@router.post("/cases/{int:case_id}/negotiations", response={201: NegotiationOut, **ERRORS})
@idempotent
def negotiation_create(
    request: HttpRequest, case_id: Id, payload: NegotiationIn
) -> Status[NegotiationOut]:
    """Record a demand made or an offer received."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    require_in_firm(ctx.firm, [(Contact, payload.party_id, "party_id")])
    neg = settlement_service.negotiation_record(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        kind=payload.kind,
        party_id=payload.party_id,
        amount_cents=payload.amount,
        made_on=payload.made_on,
        note=payload.note,
    )
    return Status(201, NegotiationOut.of(get_or_404(_negotiations(ctx.firm), neg.pk)))


class AcceptOfferIn(In):
    accepted_on: dt.date | None = Field(default=None, description="Default: today.")


ACCEPT_OFFER_DEFAULTS = AcceptOfferIn()


@router.post("/negotiations/{int:negotiation_id}/accept", response={200: NegotiationOut, **ERRORS})
@idempotent
def offer_accept(
    request: HttpRequest, negotiation_id: Id, payload: AcceptOfferIn = ACCEPT_OFFER_DEFAULTS
) -> NegotiationOut:
    """Accept an offer: it is locked, and settlement checks can be deposited against it."""
    ctx = context(request)
    neg = get_or_404(_negotiations(ctx.firm), negotiation_id)
    settlement_service.offer_accept(
        firm=ctx.firm, actor=ctx.user, negotiation_id=neg.pk, on=payload.accepted_on
    )
    return NegotiationOut.of(get_or_404(_negotiations(ctx.firm), neg.pk))


@router.delete("/negotiations/{int:negotiation_id}", response={204: None, **ERRORS})
def negotiation_delete(request: HttpRequest, negotiation_id: Id) -> Status[None]:
    """Delete a demand or an offer not accepted (an accepted offer is locked)."""
    ctx = context(request)
    neg = get_or_404(_negotiations(ctx.firm), negotiation_id)
    settlement_service.negotiation_delete(firm=ctx.firm, actor=ctx.user, negotiation_id=neg.pk)
    return Status(204, None)


# --- deposits ---------------------------------------------------------------------------


class DepositIn(In):
    offer_id: Id = Field(description="An accepted offer of this case.")
    amount: Cents
    check_number: str = Field(min_length=1, max_length=40)
    deposited_on: dt.date | None = Field(default=None, description="Default: today.")


@router.post("/cases/{int:case_id}/deposits", response={201: DepositOut, **ERRORS})
@idempotent
def deposit_create(request: HttpRequest, case_id: Id, payload: DepositIn) -> Status[DepositOut]:
    """Deposit a settlement check against an accepted offer (partial payments allowed).
    Needs the 'Deposit settlement checks' permission."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    require_in_firm(ctx.firm, [(Negotiation, payload.offer_id, "offer_id")])
    deposit = settlement_service.deposit_record(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        offer_id=payload.offer_id,
        amount_cents=payload.amount,
        check_number=payload.check_number,
        deposited_on=payload.deposited_on,
    )
    return Status(201, DepositOut.of(deposit))


@router.post("/deposits/{int:deposit_id}/void", response={200: DepositOut, **ERRORS})
@idempotent
def deposit_void(
    request: HttpRequest, deposit_id: Id, payload: ReasonIn = REASON_DEFAULTS
) -> DepositOut:
    """Void a deposit (a bounced check); refused while staged payments need the money."""
    ctx = context(request)
    deposit = get_or_404(Deposit.objects.filter(firm=ctx.firm), deposit_id)
    return DepositOut.of(
        settlement_service.deposit_void(
            firm=ctx.firm, actor=ctx.user, deposit_id=deposit.pk, reason=payload.reason
        )
    )


# --- fee change requests ----------------------------------------------------------------


def _fee_requests(firm: Firm) -> QuerySet[FeeChangeRequest]:
    return FeeChangeRequest.objects.filter(firm=firm).select_related(
        "case", "requested_by", "decided_by"
    )


class FeeChangeFilter(Clean):
    status: FeeChangeStatus | None = None
    case_id: Id | None = None


@router.get("/fee-change-requests", response={200: Page[FeeChangeOut], **ERRORS})
def fee_change_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[FeeChangeFilter]
) -> Page[FeeChangeOut]:
    """Fee changes asked for, newest first (``status=pending``: waiting for approval)."""
    qs = _fee_requests(context(request).firm).order_by("-pk")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.case_id:
        qs = qs.filter(case_id=filters.case_id)
    rows, next_cursor = keyset_page(qs, page)
    return Page[FeeChangeOut](items=[FeeChangeOut.of(r) for r in rows], next=next_cursor)


def _decide(request: HttpRequest, request_id: int, *, approve: bool) -> FeeChangeOut:
    ctx = context(request)
    req = get_or_404(_fee_requests(ctx.firm), request_id)
    settlement_service.fee_change_request_decide(
        firm=ctx.firm, actor=ctx.user, request_id=req.pk, approve=approve
    )
    return FeeChangeOut.of(get_or_404(_fee_requests(ctx.firm), req.pk))


@router.post(
    "/fee-change-requests/{int:request_id}/approve", response={200: FeeChangeOut, **ERRORS}
)
@idempotent
def fee_change_approve(request: HttpRequest, request_id: Id) -> FeeChangeOut:
    """A firm administrator approves: the case's fee changes."""
    return _decide(request, request_id, approve=True)


@router.post("/fee-change-requests/{int:request_id}/reject", response={200: FeeChangeOut, **ERRORS})
@idempotent
def fee_change_reject(request: HttpRequest, request_id: Id) -> FeeChangeOut:
    return _decide(request, request_id, approve=False)


# --- liens ------------------------------------------------------------------------------


def _lien_out(firm: Firm, lien_id: int) -> LienOut:
    lien = get_or_404(Lien.objects.filter(firm=firm).select_related("holder", "case"), lien_id)
    item = TrustItem.objects.filter(lien=lien).first()
    return LienOut.of(
        lien,
        item.amount_cents if item else 0,
        item.check_number if item else "",
        warning=excess_deposit_warning(settlement_figures(case=lien.case)),
    )


class LienIn(In):
    kind: LienKind
    holder_id: Id
    claimed: Cents
    paid_direct: bool = Field(default=False, description="The third party is paid directly.")
    note: str = Field(default="", max_length=NOTE_LENGTH)


@router.post("/cases/{int:case_id}/liens", response={201: LienOut, **ERRORS})
@idempotent
def lien_create(request: HttpRequest, case_id: Id, payload: LienIn) -> Status[LienOut]:
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    require_in_firm(ctx.firm, [(Contact, payload.holder_id, "holder_id")])
    lien = settlement_service.lien_create(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        kind=payload.kind,
        holder_id=payload.holder_id,
        claimed_cents=payload.claimed,
        paid_direct=payload.paid_direct,
        note=payload.note,
    )
    return Status(201, _lien_out(ctx.firm, lien.pk))


class LienUpdateIn(In):
    claimed: Cents
    final: Cents | None = Field(description="null: not negotiated yet.")
    paid_direct: bool
    note: str = Field(default="", max_length=NOTE_LENGTH)


@router.put("/liens/{int:lien_id}", response={200: LienOut, **ERRORS})
def lien_update(request: HttpRequest, lien_id: Id, payload: LienUpdateIn) -> LienOut:
    """Change a lien not yet accepted (an accepted lien is locked)."""
    ctx = context(request)
    lien = get_or_404(Lien.objects.filter(firm=ctx.firm), lien_id)
    settlement_service.lien_update(
        firm=ctx.firm,
        actor=ctx.user,
        lien_id=lien.pk,
        claimed_cents=payload.claimed,
        final_cents=payload.final,
        paid_direct=payload.paid_direct,
        note=payload.note,
    )
    return _lien_out(ctx.firm, lien.pk)


class LienAcceptIn(In):
    final: Cents | None = Field(default=None, description="Default: the final amount saved before.")
    accepted_on: dt.date | None = Field(default=None, description="Default: today.")


LIEN_ACCEPT_DEFAULTS = LienAcceptIn()


@router.post("/liens/{int:lien_id}/accept", response={200: LienOut, **ERRORS})
@idempotent
def lien_accept(
    request: HttpRequest, lien_id: Id, payload: LienAcceptIn = LIEN_ACCEPT_DEFAULTS
) -> LienOut:
    """Accept the final amount: the lien is locked and its payment can be staged."""
    ctx = context(request)
    lien = get_or_404(Lien.objects.filter(firm=ctx.firm), lien_id)
    settlement_service.lien_accept(
        firm=ctx.firm,
        actor=ctx.user,
        lien_id=lien.pk,
        final_cents=payload.final,
        on=payload.accepted_on,
    )
    return _lien_out(ctx.firm, lien.pk)


class LienReopenIn(In):
    reason: str = Field(
        min_length=1, max_length=500, description="Why the accepted amount is taken back."
    )


@router.post("/liens/{int:lien_id}/reopen", response={200: LienOut, **ERRORS})
@idempotent
def lien_reopen(request: HttpRequest, lien_id: Id, payload: LienReopenIn) -> LienOut:
    """A firm administrator reopens an accepted lien before Push to Disbursement: it can
    be edited and accepted again; its staged payment and the client's check are taken
    back. 403 for anyone else; 409 ``locked`` once pushed to disbursement."""
    ctx = context(request)
    lien = get_or_404(Lien.objects.filter(firm=ctx.firm), lien_id)
    settlement_service.lien_reopen(
        firm=ctx.firm, actor=ctx.user, lien_id=lien.pk, reason=payload.reason
    )
    return _lien_out(ctx.firm, lien.pk)


# --- staging ----------------------------------------------------------------------------


class StageIn(In):
    kind: TrustItemKind = Field(
        description="fee, cost_reimbursement, copp, property_damage_fee or lien (the "
        "client's check is made by push-to-client-trust)."
    )
    amount: Cents | None = Field(default=None, description="Default: what is due; may be less.")
    lien_id: Id | None = Field(default=None, description="For kind lien: an accepted lien.")
    note: str = Field(default="", max_length=NOTE_LENGTH)


@router.post("/cases/{int:case_id}/trust-items", response={201: TrustItemOut, **ERRORS})
@idempotent
def trust_item_stage(request: HttpRequest, case_id: Id, payload: StageIn) -> Status[TrustItemOut]:
    """Stage Payment. Never more than is due, nor than the deposited money not yet
    staged (409 ``staging_exceeds_trust`` with ``details.available``)."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    require_in_firm(ctx.firm, [(Lien, payload.lien_id, "lien_id")])
    item = settlement_service.trust_item_stage(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        kind=payload.kind,
        amount_cents=payload.amount,
        lien_id=payload.lien_id,
        note=payload.note,
    )
    return Status(201, TrustItemOut.of(item))


class StagedOut(Out):
    items: list[TrustItemOut]


@router.post(
    "/cases/{int:case_id}/trust-items/stage-due",
    response={201: StagedOut, **ERRORS},
    summary="Stage all due",
)
@idempotent
def trust_items_stage_due(request: HttpRequest, case_id: Id) -> Status[StagedOut]:
    """Stage every payment due and not staged yet, each at what is due, all or none (the
    Settlement tab's Stage all due). 422 when nothing is due; 409 ``staging_exceeds_trust``
    (``details.available``) when they take more than the deposited money not yet staged,
    and nothing is staged."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    items = settlement_service.trust_items_stage_due(firm=ctx.firm, actor=ctx.user, case_id=case.pk)
    return Status(201, StagedOut(items=[TrustItemOut.of(i) for i in items]))


@router.delete("/trust-items/{int:item_id}", response={204: None, **ERRORS})
def trust_item_unstage(request: HttpRequest, item_id: Id) -> Status[None]:
    ctx = context(request)
    item = get_or_404(TrustItem.objects.filter(firm=ctx.firm), item_id)
    settlement_service.trust_item_unstage(firm=ctx.firm, actor=ctx.user, item_id=item.pk)
    return Status(204, None)


class PushToClientIn(In):
    payee_name: str = Field(
        default="",
        max_length=NAME_LENGTH,
        description="Another payee for the client's check (a guardian, a conservator); "
        "default: the client.",
    )
    note: str = Field(default="", max_length=NOTE_LENGTH)


PUSH_TO_CLIENT_DEFAULTS = PushToClientIn()


class PushedToClient(Out):
    client_item: TrustItemOut | None = Field(description="None when nothing is left over.")
    settlement: SettlementOut


@router.post("/cases/{int:case_id}/push-to-client-trust", response={200: PushedToClient, **ERRORS})
@idempotent
def push_to_client_trust(
    request: HttpRequest, case_id: Id, payload: PushToClientIn = PUSH_TO_CLIENT_DEFAULTS
) -> PushedToClient:
    """The client's final check is the remainder, so trust remaining comes to 0.00;
    refused with the reason while anything is outstanding or it would be negative."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    item = settlement_service.push_to_client_trust(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        payee_name=payload.payee_name,
        note=payload.note,
    )
    return PushedToClient(
        client_item=TrustItemOut.of(item) if item else None, settlement=settlement_out(case)
    )


class PushedToDisbursement(Out):
    moved: int
    settlement: SettlementOut


@router.post(
    "/cases/{int:case_id}/push-to-disbursement", response={200: PushedToDisbursement, **ERRORS}
)
@idempotent
def push_to_disbursement(request: HttpRequest, case_id: Id) -> PushedToDisbursement:
    """Every staged payment moves to To Be Disbursed; the settlement is locked."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    moved = settlement_service.push_to_disbursement(firm=ctx.firm, actor=ctx.user, case_id=case.pk)
    return PushedToDisbursement(moved=moved, settlement=settlement_out(case))


# --- Client Trust Management ------------------------------------------------------------


class DisbursementCaseOut(Out):
    case: CaseRef
    client: ContactRef
    total: Money = Field(description="To be paid out of trust (paid-direct items excluded).")
    items: list[TrustItemOut]


@router.get("/trust/to-be-disbursed", response={200: Page[DisbursementCaseOut], **ERRORS})
def to_be_disbursed(request: HttpRequest, page: Query[PageIn]) -> Page[DisbursementCaseOut]:
    """Client Trust Management, To Be Disbursed: every case with money to disburse."""
    firm = context(request).firm
    qs = (
        Case.objects.filter(firm=firm, trust_items__status=TrustItemStatus.TO_BE_DISBURSED)
        .select_related("client")
        .distinct()
        .order_by("pk")
    )
    cases, next_cursor = keyset_page(qs, page)
    items: dict[int, list[TrustItem]] = {c.pk: [] for c in cases}
    for item in TrustItem.objects.filter(
        case__in=cases, status=TrustItemStatus.TO_BE_DISBURSED
    ).order_by("pk"):
        items[item.case_id].append(item)
    return Page[DisbursementCaseOut](
        items=[
            DisbursementCaseOut(
                case=CaseRef.of(c),
                client=ContactRef.of(c.client),
                total=money(sum(i.amount_cents for i in items[c.pk] if not i.paid_direct)),
                items=[TrustItemOut.of(i) for i in items[c.pk]],
            )
            for c in cases
        ],
        next=next_cursor,
    )
