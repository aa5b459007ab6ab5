"""The lien reduction calculator: what-if scenarios over a case's settlement figures,
side by side, before anything is asked of a lien holder. Nothing here writes.

Every scenario starts from :func:`~casebridge.cases.selectors.settlement.settlement_figures`
(the one computation of gross, fee, costs and charges) and changes only the selected liens
(by default the medical liens not yet accepted; an accepted lien is locked and cannot be
selected). Every lien counts as it does on the Settlement tab, for its *current amount*:
its final amount when one is saved (accepted or not), else its claim. A scenario works from
the current amounts, never the claims, and never proposes more than a lien's current
amount (a lien with a final of 5,000.00 saved on a claim of 20,000.00 is not asked for
12,654.00). The scenarios:

- ``current``: the figures as they are, no reduction, for comparison;
- ``target_net``: every selected lien reduced by the same share of its current amount so
  that the client nets ``target_net``: the selected liens may take
  gross - fee - costs - charges - liens not selected - target;
- ``cap``: the liens in total limited to ``fraction`` x gross, the selected liens sharing
  what the liens not selected leave, pro rata to their current amounts;
- ``procurement``: each selected lien reduced by the share of the attorney fee and costs
  it benefited from (the common-fund / procurement-cost doctrine): reduction =
  current amount x (fee + costs) / gross.

Amounts are integer cents, the arithmetic ``Decimal``; a total is rounded once, half up,
and split over the liens with :func:`casebridge.core.money.allocate` (largest remainder),
so the proposed amounts add back to the total exactly. net = gross - fee - costs - liens -
charges (COPP and a Property Damage Fee that is not a waiver), as on the Settlement tab.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from casebridge.cases.errors import ValidationFailed
from casebridge.cases.models import Case, Lien, LienKind
from casebridge.cases.selectors.settlement import SettlementFigures, settlement_figures
from casebridge.core.money import allocate, format_cents

#: The scenarios, in the order they are shown.
CURRENT, TARGET_NET, CAP, PROCUREMENT = "current", "target_net", "cap", "procurement"
SCENARIO_TITLES = {
    CURRENT: "Current figures",
    TARGET_NET: "Target net to client",
    CAP: "Liens capped",
    PROCUREMENT: "Procurement cost",
}
#: Most decimal places a cap fraction may have ("0.333333").
FRACTION_PLACES = 6
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


@dataclass(frozen=True)
class LienProposal:
    """One lien in a scenario: what it claims, what it counts for now, and what the
    scenario proposes (a lien not selected keeps what it counts for now)."""

    lien_id: int
    kind: str
    holder: str
    claimed_cents: int
    current_cents: int
    proposed_cents: int
    selected: bool
    accepted: bool

    @property
    def reduction_cents(self) -> int:
        """How much less than its current amount the lien would take (never negative: no
        scenario proposes more than the current amount)."""
        return self.current_cents - self.proposed_cents


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    #: One sentence saying how the amounts were reached.
    basis: str
    gross_cents: int
    fee_cents: int
    costs_cents: int
    #: COPP and a Property Damage Fee that is not a waiver.
    charges_cents: int
    liens: tuple[LienProposal, ...]

    @property
    def liens_cents(self) -> int:
        return sum(ln.proposed_cents for ln in self.liens)

    @property
    def reduction_cents(self) -> int:
        return sum(ln.reduction_cents for ln in self.liens)

    @property
    def net_to_client_cents(self) -> int:
        return (
            self.gross_cents - self.fee_cents - self.costs_cents - self.charges_cents
        ) - self.liens_cents

    @property
    def reduced(self) -> tuple[LienProposal, ...]:
        """The selected liens this scenario asks to reduce below their current amount."""
        return tuple(ln for ln in self.liens if ln.selected and ln.reduction_cents > 0)


@dataclass(frozen=True)
class Calculation:
    case_id: int
    selected_ids: tuple[int, ...]
    target_net_cents: int | None
    cap_fraction: Decimal | None
    scenarios: tuple[Scenario, ...]
    #: :func:`figures_fingerprint` of what the scenarios were computed from: a confirmation
    #: carries it back, and is refused when the figures changed since (review of issue 16)
    fingerprint: str = ""

    def scenario(self, key: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.key == key:
                return scenario
        if key == TARGET_NET:
            raise ValidationFailed(
                "give the target net to the client for the target net to client scenario",
                field="target_net",
            )
        if key == CAP:
            raise ValidationFailed(
                "give the cap fraction for the liens capped scenario", field="cap_fraction"
            )
        raise ValidationFailed("no such scenario", field="scenario")


def parse_fraction(value: object, *, field: str = "cap_fraction") -> Decimal:
    """A fraction from 0 to 1 ("0.25", "1"), refused (naming ``field``) when it is a float,
    not a plain number, outside 0..1 or longer than :data:`FRACTION_PLACES` places."""
    if isinstance(value, bool | float):
        raise ValidationFailed(f"{field} must be a decimal string such as '0.25'", field=field)
    text = str(value).strip()
    if not _NUMBER.fullmatch(text):
        raise ValidationFailed(
            f"the cap fraction is not a number: {text!r} (write it like 0.25)", field=field
        )
    fraction = Decimal(text)
    if not 0 <= fraction <= 1:
        raise ValidationFailed(
            f"the cap fraction must be from 0 to 1 (0.25 for a quarter of the gross), not {text}",
            field=field,
        )
    exponent = fraction.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > FRACTION_PLACES:
        raise ValidationFailed(
            f"the cap fraction has more than {FRACTION_PLACES} decimal places", field=field
        )
    return fraction


def _round_cents(value: Decimal) -> int:
    """A cent amount with a fraction, rounded once, half up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def default_selection(liens: Sequence[Lien]) -> list[int]:
    """The liens a calculation reduces unless told: the medical liens not accepted (every
    lien not accepted when there is no medical one)."""
    open_liens = [ln for ln in liens if ln.accepted_on is None]
    medical = [ln.pk for ln in open_liens if ln.kind == LienKind.MEDICAL]
    return medical or [ln.pk for ln in open_liens]


def lien_scenarios(
    *,
    case: Case,
    lien_ids: Sequence[int] | None = None,
    target_net_cents: int | None = None,
    cap_fraction: Decimal | str | None = None,
) -> Calculation:
    """The scenarios side by side: ``current`` and ``procurement`` always, ``target_net``
    when a target is given, ``cap`` when a fraction is. Refuses (``ValidationFailed``
    naming the field) no accepted offer, a selection that is empty, foreign or accepted,
    a target the client cannot net even with the selected liens at $0.00, and a fraction
    outside 0..1."""
    fraction = parse_fraction(cap_fraction) if cap_fraction is not None else None
    if target_net_cents is not None and target_net_cents < 0:
        raise ValidationFailed(
            "the target net to the client cannot be negative", field="target_net"
        )
    figures = settlement_figures(case=case)
    if figures.gross_cents <= 0:
        raise ValidationFailed(
            "no offer is accepted on this case yet, so there is no gross to reduce liens "
            "against; accept an offer first",
            field="case",
        )
    liens = list(Lien.objects.filter(case=case).select_related("holder").order_by("pk"))
    by_id = {ln.pk: ln for ln in liens}
    chosen = list(dict.fromkeys(lien_ids)) if lien_ids is not None else default_selection(liens)
    for lien_id in chosen:
        lien = by_id.get(lien_id)
        if lien is None:
            raise ValidationFailed("a selected lien is not one of this case's liens", field="liens")
        if lien.accepted_on is not None:
            raise ValidationFailed(
                f"the lien of {lien.holder.name} is accepted and locked; it cannot be "
                "reduced unless an administrator reopens it",
                field="liens",
            )
    if not chosen:
        raise ValidationFailed("select at least one lien not yet accepted", field="liens")
    selected = [by_id[i] for i in sorted(chosen)]
    if sum(_counted(ln) for ln in selected) <= 0:
        raise ValidationFailed(
            "the selected liens count for $0.00: nothing to reduce", field="liens"
        )

    scenarios = [_current(figures, liens, set(chosen))]
    if target_net_cents is not None:
        scenarios.append(_target_net(figures, liens, selected, target_net_cents))
    if fraction is not None:
        scenarios.append(_cap(figures, liens, selected, fraction))
    scenarios.append(_procurement(figures, liens, selected))
    return Calculation(
        case_id=case.pk,
        selected_ids=tuple(ln.pk for ln in selected),
        target_net_cents=target_net_cents,
        cap_fraction=fraction,
        scenarios=tuple(scenarios),
        fingerprint=figures_fingerprint(figures, liens),
    )


def figures_fingerprint(figures: SettlementFigures, liens: Sequence[Lien]) -> str:
    """A digest of every figure a scenario is computed from: the gross, fee, costs due and
    charges, and each lien's kind, claim, final amount and acceptance. The inputs (the
    selection, target, fraction) are not in it: a confirmation sends them again."""
    facts = [
        figures.gross_cents,
        figures.fee_cents,
        figures.cost_reimbursement_due_cents,
        _charges(figures),
        [
            [
                ln.pk,
                ln.kind,
                ln.claimed_cents,
                ln.final_cents,
                ln.accepted_on.isoformat() if ln.accepted_on else None,
            ]
            for ln in liens
        ],
    ]
    text = json.dumps(facts, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- the scenarios ----------------------------------------------------------------------


def _counted(lien: Lien) -> int:
    """What the lien counts for now (its current amount): its final, else its claim."""
    return lien.final_cents if lien.final_cents is not None else lien.claimed_cents


def _charges(figures: SettlementFigures) -> int:
    return figures.copp_cents + max(figures.property_damage_fee_cents, 0)


def _scenario(
    key: str,
    basis: str,
    figures: SettlementFigures,
    liens: Sequence[Lien],
    proposed: dict[int, int],
) -> Scenario:
    """A scenario with the selected liens at ``proposed`` (by lien id), the others as now."""
    return Scenario(
        key=key,
        title=SCENARIO_TITLES[key],
        basis=basis,
        gross_cents=figures.gross_cents,
        fee_cents=figures.fee_cents,
        costs_cents=figures.cost_reimbursement_due_cents,
        charges_cents=_charges(figures),
        liens=tuple(
            LienProposal(
                lien_id=ln.pk,
                kind=ln.get_kind_display(),
                holder=ln.holder.name,
                claimed_cents=ln.claimed_cents,
                current_cents=_counted(ln),
                proposed_cents=proposed.get(ln.pk, _counted(ln)),
                selected=ln.pk in proposed,
                accepted=ln.accepted_on is not None,
            )
            for ln in liens
        ),
    )


def _current(figures: SettlementFigures, liens: Sequence[Lien], chosen: set[int]) -> Scenario:
    scenario = _scenario(CURRENT, "No reduction: each lien as it counts now.", figures, liens, {})
    marked = tuple(replace(ln, selected=ln.lien_id in chosen) for ln in scenario.liens)
    return replace(scenario, liens=marked)


def _not_selected_cents(liens: Sequence[Lien], selected: Sequence[Lien]) -> int:
    ids = {ln.pk for ln in selected}
    return sum(_counted(ln) for ln in liens if ln.pk not in ids)


def _share_out(total: int, selected: Sequence[Lien]) -> dict[int, int]:
    """``total`` split over the selected liens pro rata to their current amounts (adds back
    exactly); each at its current amount when ``total`` covers them all, so no part is ever
    more than the lien counts for now."""
    currents = [_counted(ln) for ln in selected]
    parts = currents if total >= sum(currents) else allocate(total, currents)
    return {ln.pk: part for ln, part in zip(selected, parts, strict=True)}


def _target_net(
    figures: SettlementFigures, liens: Sequence[Lien], selected: Sequence[Lien], target: int
) -> Scenario:
    most = (
        figures.gross_cents
        - figures.fee_cents
        - figures.cost_reimbursement_due_cents
        - _charges(figures)
        - _not_selected_cents(liens, selected)
    )
    if target > most:
        raise ValidationFailed(
            f"the client cannot net {format_cents(target)}: even with the selected liens at "
            f"$0.00 the net to the client is {format_cents(most)}",
            field="target_net",
        )
    allowed = most - target
    basis = (
        f"The selected liens share {format_cents(allowed)} pro rata to their current amounts, "
        f"so the client nets {format_cents(target)}."
    )
    if allowed >= sum(_counted(ln) for ln in selected):
        basis = f"The client nets at least {format_cents(target)} with no reduction."
    return _scenario(TARGET_NET, basis, figures, liens, _share_out(allowed, selected))


def _cap(
    figures: SettlementFigures, liens: Sequence[Lien], selected: Sequence[Lien], fraction: Decimal
) -> Scenario:
    cap = _round_cents(Decimal(figures.gross_cents) * fraction)
    others = _not_selected_cents(liens, selected)
    if others > cap:
        raise ValidationFailed(
            f"the liens not selected already come to {format_cents(others)}, more than the cap "
            f"of {format_cents(cap)}; select them too or raise the fraction",
            field="cap_fraction",
        )
    basis = (
        f"Liens limited to {fraction.normalize():f} of the gross ({format_cents(cap)}), each "
        "reduced pro rata to its current amount."
    )
    return _scenario(CAP, basis, figures, liens, _share_out(cap - others, selected))


def _procurement(
    figures: SettlementFigures, liens: Sequence[Lien], selected: Sequence[Lien]
) -> Scenario:
    burden = figures.fee_cents + figures.cost_reimbursement_due_cents
    currents = [_counted(ln) for ln in selected]
    whole = sum(currents)
    total = min(_round_cents(Decimal(whole) * burden / figures.gross_cents), whole)
    reductions = allocate(total, currents) if total else [0] * len(currents)
    proposed = {
        ln.pk: now - cut for ln, now, cut in zip(selected, currents, reductions, strict=True)
    }
    basis = (
        f"Each lien reduced by its share of the fee and costs ({format_cents(burden)} of "
        f"{format_cents(figures.gross_cents)}): current amount x {format_cents(burden)} / "
        f"{format_cents(figures.gross_cents)}."
    )
    return _scenario(PROCUREMENT, basis, figures, liens, proposed)
