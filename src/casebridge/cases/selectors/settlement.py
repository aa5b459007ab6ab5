"""A case's settlement figures: the gross by source, the fee, costs, liens, charges, the
net to the client, and the trust money held and staged. One function computes them, and
the Settlement tab, the statement and the staging services all use it, so they always
agree.

net to client = gross - fee - costs - liens - COPP - Property Damage Fee
(a negative Property Damage Fee is a waiver and adds back). Trust money expected =
gross - liens paid direct; the client's final check = deposits - everything staged
from trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    Deposit,
    Lien,
    Negotiation,
    Settlement,
    TrustItem,
    TrustItemKind,
)
from casebridge.cases.selectors.medicare import medicare_hold_reason
from casebridge.core.money import format_cents, percent_of


@dataclass(frozen=True)
class RecoverySource:
    offer_id: int
    payer: str
    accepted_cents: int
    deposited_cents: int
    accepted_on: object


@dataclass(frozen=True)
class LienLine:
    lien_id: int
    kind: str
    holder: str
    claimed_cents: int
    final_cents: int | None
    accepted: bool
    paid_direct: bool
    staged_cents: int
    check_number: str

    @property
    def counted_cents(self) -> int:
        """What the lien takes from the settlement: the accepted amount, else the claim."""
        return self.final_cents if self.final_cents is not None else self.claimed_cents


@dataclass(frozen=True)
class SettlementFigures:
    case_id: int
    sources: list[RecoverySource]
    gross_cents: int
    deposited_cents: int
    fee_mode: str
    fee_rate_bp: int
    fee_on_net_of_costs: bool
    fee_base_cents: int
    fee_cents: int
    costs_cents: int
    copp_cents: int
    property_damage_fee_cents: int
    liens: list[LienLine] = field(default_factory=list)
    liens_cents: int = 0
    liens_paid_direct_cents: int = 0
    staged_from_trust_cents: int = 0
    client_item_cents: int = 0

    @property
    def net_to_client_cents(self) -> int:
        """gross - fee - costs - liens - COPP - Property Damage Fee, where a waiver (a
        negative fee) takes off at most the costs it waives: the net is what the client's
        check comes to once everything due is staged."""
        return (
            self.gross_cents
            - self.fee_cents
            - self.cost_reimbursement_due_cents
            - self.liens_cents
            - self.copp_cents
            - max(self.property_damage_fee_cents, 0)
        )

    @property
    def expected_in_trust_cents(self) -> int:
        return self.gross_cents - self.liens_paid_direct_cents

    @property
    def excess_deposited_cents(self) -> int:
        """Deposited beyond what trust should hold (liens marked paid direct after the
        money was deposited): Push to Client Trust is refused until it is $0.00."""
        return max(self.deposited_cents - self.expected_in_trust_cents, 0)

    @property
    def not_yet_deposited_cents(self) -> int:
        return max(self.expected_in_trust_cents - self.deposited_cents, 0)

    @property
    def trust_remaining_cents(self) -> int:
        """Deposited but not yet staged: $0.00 once pushed to client trust."""
        return self.deposited_cents - self.staged_from_trust_cents

    @property
    def cost_reimbursement_due_cents(self) -> int:
        """Costs to reimburse, less a Property Damage Fee waiver (a negative fee)."""
        return max(self.costs_cents + min(self.property_damage_fee_cents, 0), 0)

    @property
    def fee_rate_percent(self) -> Decimal:
        return Decimal(self.fee_rate_bp) / 100


def excess_deposit_warning(figures: SettlementFigures) -> str:
    """What to tell the user when liens paid direct make the deposits exceed what trust
    should hold ("" when they do not): the excess, why, and the two ways out."""
    excess = figures.excess_deposited_cents
    if not excess:
        return ""
    direct = "; ".join(
        f"{ln.holder} {format_cents(ln.counted_cents)}"
        for ln in figures.liens
        if ln.paid_direct and ln.counted_cents
    )
    return (
        f"{format_cents(figures.deposited_cents)} is deposited but trust should hold only "
        f"{format_cents(figures.expected_in_trust_cents)}: "
        f"{format_cents(figures.liens_paid_direct_cents)} of liens is paid direct ({direct}), "
        f"so {format_cents(excess)} too much is in trust. Void the deposit and record it "
        "again for the right amount (the deposits should come to "
        f"{format_cents(figures.expected_in_trust_cents)}), or, if a lien is not in fact "
        "paid direct, correct the lien (an administrator can reopen an accepted lien). "
        "Push to Client Trust is refused until then."
    )


def push_refusal(figures: SettlementFigures, case: Case, *, to_disbursement: bool = False) -> str:
    """Why Push to Client Trust (and, again, Push to Disbursement) is refused now ("" when
    it is not): it waits for an accepted offer, all of its money deposited (and no more),
    every lien decided and, if anything is owed on it, staged, and the fee and charges that
    are due staged. Otherwise the client's check, being the remainder, would carry money
    that belongs to someone else. The services raise it; the Settlement tab shows it beside
    the disabled button. ``to_disbursement``: Push to Disbursement also waits for the
    Medicare hold on the client's check (:func:`medicare_hold_reason`, ADR 0039)."""
    if figures.gross_cents == 0:
        return "no offer is accepted on this case yet; accept an offer first"
    if figures.not_yet_deposited_cents:
        return (
            f"{format_cents(figures.not_yet_deposited_cents)} of the accepted settlement has not "
            "been deposited yet; deposit every settlement check first"
        )
    if figures.deposited_cents > figures.expected_in_trust_cents:
        return (
            f"{format_cents(figures.deposited_cents)} was deposited but only "
            f"{format_cents(figures.expected_in_trust_cents)} is expected in trust (the "
            "settlement less liens paid direct); void the excess deposit or correct the liens"
        )
    for lien in figures.liens:
        if not lien.accepted:
            return (
                f"the {lien.kind.lower()} of {lien.holder} has no accepted final "
                "amount yet; accept it (or set it to $0.00) first"
            )
        if lien.final_cents and not lien.staged_cents:
            return (
                f"the {lien.kind.lower()} of {lien.holder} "
                f"({format_cents(lien.final_cents)}) is not staged yet; stage its payment first"
            )
    staged = set(TrustItem.objects.filter(case=case).values_list("kind", flat=True))
    due = [
        (TrustItemKind.FEE, figures.fee_cents),
        (TrustItemKind.COST_REIMBURSEMENT, figures.cost_reimbursement_due_cents),
        (TrustItemKind.COPP, figures.copp_cents),
        (TrustItemKind.PROPERTY_DAMAGE_FEE, max(figures.property_damage_fee_cents, 0)),
    ]
    for kind, cents in due:
        if cents > 0 and kind not in staged:
            return (
                f"nothing is staged for the {kind.label.lower()} ({format_cents(cents)}); stage "
                "it, or set it to $0.00 if the firm waives it"
            )
    if to_disbursement:
        return medicare_hold_reason(case)
    return ""


@dataclass(frozen=True)
class DuePayment:
    """A payment Stage all due would stage: its kind (and lien), what is due, and whether it
    is paid direct (recorded, not taken from trust)."""

    kind: str
    label: str
    cents: int
    lien_id: int | None = None
    paid_direct: bool = False


def payments_due(figures: SettlementFigures, case: Case) -> list[DuePayment]:
    """Every payment due and not staged yet, at what is due: the fee (once money is
    deposited), the cost reimbursement, COPP, a Property Damage Fee that is not a waiver,
    and each accepted lien with a final amount. Stage all due stages exactly these."""
    items = list(TrustItem.objects.filter(case=case).values_list("kind", "lien_id"))
    staged_kinds = {kind for kind, lien_id in items if lien_id is None}
    staged_liens = {lien_id for _, lien_id in items if lien_id is not None}
    due: list[DuePayment] = []
    for kind, cents in (
        (TrustItemKind.FEE, figures.fee_cents if figures.deposited_cents else 0),
        (TrustItemKind.COST_REIMBURSEMENT, figures.cost_reimbursement_due_cents),
        (TrustItemKind.COPP, figures.copp_cents),
        (TrustItemKind.PROPERTY_DAMAGE_FEE, max(figures.property_damage_fee_cents, 0)),
    ):
        if cents > 0 and kind not in staged_kinds:
            due.append(DuePayment(kind, TrustItemKind(kind).label, cents))
    for lien in figures.liens:
        if lien.accepted and lien.final_cents and lien.lien_id not in staged_liens:
            due.append(
                DuePayment(
                    TrustItemKind.LIEN,
                    f"{lien.kind}: {lien.holder}",
                    lien.final_cents,
                    lien_id=lien.lien_id,
                    paid_direct=lien.paid_direct,
                )
            )
    return due


def negative_net_warning(figures: SettlementFigures) -> str:
    """What to tell the user when the fee, costs, liens and charges come to more than the
    gross recovery ("" when they do not): the client would get nothing, and by how much
    the payments are short."""
    net = figures.net_to_client_cents
    if net >= 0 or figures.gross_cents == 0:
        return ""
    return (
        f"The net to the client is negative ({format_cents(net)}): the fee, costs, liens and "
        f"charges come to {format_cents(-net)} more than the gross recovery of "
        f"{format_cents(figures.gross_cents)}. Reduce the fee, a lien or the charges before "
        "staging, or the payments cannot all be made from trust."
    )


def case_costs_total_cents(case_id: int) -> int:
    """A case's costs, void ones excluded (a void cost counts as $0.00)."""
    total = (
        Cost.objects.filter(case_id=case_id)
        .exclude(status=CostStatus.VOID)
        .aggregate(s=Sum("amount_cents"))["s"]
    )
    return int(total or 0)


def settlement_figures(*, case: Case) -> SettlementFigures:
    settlement = Settlement.objects.get(case=case)
    offers = list(
        Negotiation.objects.filter(case=case, accepted_on__isnull=False).select_related("party")
    )
    deposits_by_offer: dict[int, int] = {}
    for row in (
        Deposit.objects.filter(case=case, voided_on__isnull=True)
        .values("offer_id")
        .annotate(s=Sum("amount_cents"))
    ):
        deposits_by_offer[row["offer_id"]] = int(row["s"] or 0)
    sources = [
        RecoverySource(
            o.pk, o.party.name, o.amount_cents, deposits_by_offer.get(o.pk, 0), o.accepted_on
        )
        for o in offers
    ]
    gross = sum(s.accepted_cents for s in sources)
    costs = case_costs_total_cents(case.pk)
    if settlement.fee_mode == "fixed":
        base = gross
        fee = settlement.fee_fixed_cents
    else:
        base = max(gross - costs, 0) if settlement.fee_on_net_of_costs else gross
        fee = percent_of(base, Decimal(settlement.fee_rate_bp) / 100)
    items = list(TrustItem.objects.filter(case=case))
    staged_by_lien = {i.lien_id: i for i in items if i.lien_id is not None}
    liens = []
    for lien in Lien.objects.filter(case=case).select_related("holder").order_by("pk"):
        item = staged_by_lien.get(lien.pk)
        liens.append(
            LienLine(
                lien.pk,
                lien.get_kind_display(),
                lien.holder.name,
                lien.claimed_cents,
                lien.final_cents,
                lien.accepted_on is not None,
                lien.paid_direct,
                item.amount_cents if item else 0,
                item.check_number if item else "",
            )
        )
    return SettlementFigures(
        case_id=case.pk,
        sources=sources,
        gross_cents=gross,
        deposited_cents=sum(deposits_by_offer.values()),
        fee_mode=settlement.fee_mode,
        fee_rate_bp=settlement.fee_rate_bp,
        fee_on_net_of_costs=settlement.fee_on_net_of_costs,
        fee_base_cents=base,
        fee_cents=fee,
        costs_cents=costs,
        copp_cents=settlement.copp_cents,
        property_damage_fee_cents=settlement.property_damage_fee_cents,
        liens=liens,
        liens_cents=sum(ln.counted_cents for ln in liens),
        liens_paid_direct_cents=sum(ln.counted_cents for ln in liens if ln.paid_direct),
        staged_from_trust_cents=sum(i.amount_cents for i in items if not i.paid_direct),
        client_item_cents=sum(i.amount_cents for i in items if i.kind == TrustItemKind.CLIENT),
    )
