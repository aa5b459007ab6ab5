"""The settlement statement (closing statement) of a case: what the client signs.

Every figure comes from :func:`casebridge.cases.selectors.settlement.settlement_figures`
(the same numbers as the Settlement tab and the staging services); this module only adds
the detail a client is shown: the costs itemised, the liens with what was claimed,
accepted and paid, the deposits, the payments staged from trust and the client's check.
The HTML page and the PDF are both rendered from one :class:`SettlementStatement`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from casebridge.cases.errors import NotFound
from casebridge.cases.models import (
    Case,
    Cost,
    CostStatus,
    Deposit,
    Firm,
    Lien,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.cases.selectors.medical import bills_by_lien
from casebridge.cases.selectors.settlement import SettlementFigures, settlement_figures
from casebridge.core import clock


@dataclass(frozen=True)
class SourceLine:
    """One payer's accepted offer (gross recovery by source)."""

    payer: str
    accepted_on: dt.date | None
    amount_cents: int
    deposited_cents: int


@dataclass(frozen=True)
class DepositLine:
    payer: str
    check_number: str
    deposited_on: dt.date
    amount_cents: int


@dataclass(frozen=True)
class CostLine:
    cost_date: dt.date
    payee: str
    code: str
    code_name: str
    memo: str
    amount_cents: int
    status: str


@dataclass(frozen=True)
class LienStatementLine:
    holder: str
    kind: str
    claimed_cents: int
    final_cents: int | None
    accepted_on: dt.date | None
    paid_direct: bool
    staged_cents: int
    check_number: str
    note: str

    @property
    def accepted(self) -> bool:
        return self.accepted_on is not None

    @property
    def counted_cents(self) -> int:
        """What the lien takes from the settlement: the final amount (accepted, or saved and
        awaiting acceptance), else the claim; as the settlement figures count it."""
        return self.final_cents if self.final_cents is not None else self.claimed_cents

    @property
    def reduction_cents(self) -> int:
        """What negotiation saved the client on this lien."""
        return self.claimed_cents - self.counted_cents

    @property
    def paid_label(self) -> str:
        """The "paid" column: paid direct, by check, staged, or not yet."""
        if self.paid_direct:
            return "Paid direct"
        if self.check_number:
            return f"Check {self.check_number}"
        if self.staged_cents:
            return "Staged from trust"
        if not self.accepted:
            return "Not yet accepted"
        return "Not yet staged"


@dataclass(frozen=True)
class MedicalBillLine:
    """A provider's bill whose balance became a medical lien (issue 16): what was billed,
    the reduction from the billed amount to what the settlement pays (write-offs, the
    payments of health insurance, MedPay, PIP and the client, and the lien's own
    reduction, together), and what the settlement pays: the lien's final amount (its claim
    while no final amount is saved). Billed - reduction = paid, to the cent."""

    provider: str
    billed_cents: int
    paid_cents: int
    accepted: bool

    @property
    def reduction_cents(self) -> int:
        return self.billed_cents - self.paid_cents


@dataclass(frozen=True)
class TrustPaymentLine:
    """A payment staged from the client's trust money (or recorded as paid direct)."""

    kind: str
    kind_label: str
    payee: str
    amount_cents: int
    status: str
    status_label: str
    paid_direct: bool
    check_number: str
    note: str
    #: The fee invoice that paid a fee, charge or cost reimbursement ("Invoice 17").
    invoice_reference: str = ""


@dataclass(frozen=True)
class SettlementStatement:
    firm_name: str
    case_id: int
    case_number: str
    caption: str
    case_type: str
    incident_date: dt.date | None
    client_name: str
    client_address: str
    attorney_name: str
    statement_date: dt.date
    figures: SettlementFigures
    sources: list[SourceLine] = field(default_factory=list)
    deposits: list[DepositLine] = field(default_factory=list)
    costs: list[CostLine] = field(default_factory=list)
    liens: list[LienStatementLine] = field(default_factory=list)
    trust_payments: list[TrustPaymentLine] = field(default_factory=list)
    client_check: TrustPaymentLine | None = None
    #: The medical liens that were bills, in the liens' order (issue 16).
    medical_bills: list[MedicalBillLine] = field(default_factory=list)

    # --- the figures, named as the statement shows them ------------------------------------

    @property
    def gross_cents(self) -> int:
        return self.figures.gross_cents

    @property
    def fee_cents(self) -> int:
        return self.figures.fee_cents

    @property
    def fee_is_percentage(self) -> bool:
        return self.figures.fee_mode != "fixed"

    @property
    def fee_rate_percent(self) -> Decimal:
        return self.figures.fee_rate_percent

    @property
    def fee_rate_label(self) -> str:
        """``33.33%`` (trailing zeros dropped: ``40%``, ``33.5%``)."""
        text = f"{self.figures.fee_rate_percent:.2f}".rstrip("0").rstrip(".")
        return f"{text}%"

    @property
    def fee_basis(self) -> str:
        if not self.fee_is_percentage:
            return "Fixed fee"
        base = "gross recovery less case costs" if self.figures.fee_on_net_of_costs else "gross"
        return f"{self.fee_rate_label} of the {base}"

    @property
    def fee_base_cents(self) -> int:
        return self.figures.fee_base_cents

    @property
    def costs_cents(self) -> int:
        return self.figures.costs_cents

    @property
    def liens_cents(self) -> int:
        return self.figures.liens_cents

    @property
    def liens_claimed_cents(self) -> int:
        return sum(ln.claimed_cents for ln in self.liens)

    @property
    def liens_accepted_cents(self) -> int:
        return sum(ln.final_cents or 0 for ln in self.liens if ln.accepted)

    @property
    def medical_billed_cents(self) -> int:
        return sum(b.billed_cents for b in self.medical_bills)

    @property
    def medical_reduction_cents(self) -> int:
        return sum(b.reduction_cents for b in self.medical_bills)

    @property
    def medical_paid_cents(self) -> int:
        return sum(b.paid_cents for b in self.medical_bills)

    @property
    def copp_cents(self) -> int:
        return self.figures.copp_cents

    @property
    def property_damage_fee_cents(self) -> int:
        """The fee as it counts: a waiver (negative) only as far as there are costs to waive,
        so the statement's lines always add up to its net."""
        fee = self.figures.property_damage_fee_cents
        return fee if fee >= 0 else -min(-fee, self.figures.costs_cents)

    @property
    def net_to_client_cents(self) -> int:
        return self.figures.net_to_client_cents

    @property
    def deposited_cents(self) -> int:
        return self.figures.deposited_cents

    @property
    def trust_remaining_cents(self) -> int:
        return self.figures.trust_remaining_cents

    @property
    def disbursement_lines(self) -> list[TrustPaymentLine]:
        """The staged payments, the client's check last."""
        return [*self.trust_payments, *([self.client_check] if self.client_check else [])]

    @property
    def paid_from_trust_cents(self) -> int:
        """What the staged payments take out of trust (paid-direct items never do)."""
        return sum(p.amount_cents for p in self.disbursement_lines if not p.paid_direct)

    @property
    def is_final(self) -> bool:
        """Every figure is settled: the money is deposited, every lien accepted, and the
        trust staged down to $0.00 with the client's check made."""
        return (
            self.gross_cents > 0
            and self.figures.not_yet_deposited_cents == 0
            and all(ln.accepted for ln in self.liens)
            and self.client_check is not None
            and self.trust_remaining_cents == 0
        )

    @property
    def open_points(self) -> list[str]:
        """Why the statement is still a draft, in the words of the Settlement tab."""
        points = []
        if self.gross_cents == 0:
            points.append("no offer has been accepted yet")
        elif self.figures.not_yet_deposited_cents:
            points.append("part of the settlement has not been deposited yet")
        undecided = [ln.holder for ln in self.liens if not ln.accepted]
        if undecided:
            points.append(
                "the final amount of the lien of "
                + ", ".join(undecided)
                + " is not accepted yet (the claim is shown)"
            )
        if self.client_check is None:
            points.append("the client's check has not been made (Push to Client Trust)")
        return points

    @property
    def net_differs_from_client_check(self) -> bool:
        return (
            self.client_check is not None
            and self.client_check.amount_cents != self.net_to_client_cents
        )


_PAYMENT_ORDER: list[str] = [
    TrustItemKind.FEE,
    TrustItemKind.COST_REIMBURSEMENT,
    TrustItemKind.COPP,
    TrustItemKind.PROPERTY_DAMAGE_FEE,
    TrustItemKind.LIEN,
    TrustItemKind.CLIENT,
]


def settlement_statement(
    *, firm: Firm, case_id: int, on: dt.date | None = None
) -> SettlementStatement:
    """The statement of a case of ``firm``; another firm's case is not found."""
    case = (
        Case.objects.filter(firm=firm, pk=case_id)
        .select_related("firm", "client", "case_type", "responsible_attorney")
        .first()
    )
    if case is None:
        raise NotFound("case not found in this firm", field="case")
    figures = settlement_figures(case=case)

    sources = [
        SourceLine(
            payer=s.payer,
            accepted_on=s.accepted_on if isinstance(s.accepted_on, dt.date) else None,
            amount_cents=s.accepted_cents,
            deposited_cents=s.deposited_cents,
        )
        for s in figures.sources
    ]
    deposits = [
        DepositLine(
            payer=d.offer.party.name,
            check_number=d.check_number,
            deposited_on=d.deposited_on,
            amount_cents=d.amount_cents,
        )
        for d in Deposit.objects.filter(case=case, voided_on__isnull=True)
        .select_related("offer__party")
        .order_by("deposited_on", "pk")
    ]
    costs = [
        CostLine(
            cost_date=c.cost_date,
            payee=c.payee.name,
            code=c.cost_code.code,
            code_name=c.cost_code.name,
            memo=c.memo,
            amount_cents=c.amount_cents,
            status=c.get_status_display(),
        )
        for c in Cost.objects.filter(case=case)
        .exclude(status=CostStatus.VOID)
        .select_related("payee", "cost_code")
        .order_by("cost_date", "pk")
    ]

    items = list(TrustItem.objects.filter(case=case).order_by("pk"))
    lien_rows = {lien.pk: lien for lien in Lien.objects.filter(case=case).select_related("holder")}
    liens = []
    bills = bills_by_lien(case_id=case.pk)
    medical_bills = []
    for line in figures.liens:
        row = lien_rows[line.lien_id]
        bill = bills.get(line.lien_id)
        if bill is not None:
            counted = line.final_cents if line.final_cents is not None else line.claimed_cents
            medical_bills.append(
                MedicalBillLine(
                    provider=line.holder,
                    billed_cents=bill.billed_cents,
                    paid_cents=counted,
                    accepted=row.accepted_on is not None,
                )
            )
        liens.append(
            LienStatementLine(
                holder=line.holder,
                kind=line.kind,
                claimed_cents=line.claimed_cents,
                final_cents=line.final_cents,
                accepted_on=row.accepted_on,
                paid_direct=line.paid_direct,
                staged_cents=line.staged_cents,
                check_number=line.check_number,
                note=row.note,
            )
        )

    payments = [
        TrustPaymentLine(
            kind=i.kind,
            kind_label=i.get_kind_display(),
            payee=i.payee_name,
            amount_cents=i.amount_cents,
            status=i.status,
            status_label=TrustItemStatus(i.status).label,
            paid_direct=i.paid_direct,
            check_number=i.check_number,
            note=i.note,
            invoice_reference=i.invoice_reference,
        )
        for i in items
    ]
    payments.sort(key=lambda p: _PAYMENT_ORDER.index(p.kind))
    client_check = next((p for p in payments if p.kind == TrustItemKind.CLIENT), None)
    attorney = case.responsible_attorney
    return SettlementStatement(
        firm_name=case.firm.name,
        case_id=case.pk,
        case_number=case.number,
        caption=case.name,
        case_type=case.case_type.name,
        incident_date=case.incident_date,
        client_name=case.client.name,
        client_address=case.client.address,
        attorney_name=attorney.display_name if attorney else "",
        statement_date=on or clock.today(),
        figures=figures,
        sources=sources,
        deposits=deposits,
        costs=costs,
        liens=liens,
        trust_payments=[p for p in payments if p.kind != TrustItemKind.CLIENT],
        client_check=client_check,
        medical_bills=medical_bills,
    )
