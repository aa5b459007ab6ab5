"""Lien reductions: the negotiation of a lien's amount as append-only steps (the firm
requests a reduction, the holder counters, the amount is agreed, or the request is
withdrawn or refused), and a calculator scenario applied as requests.

An agreed amount accepts the lien through :func:`~casebridge.cases.services.settlement.
lien_accept`, the one accept path, so every rule about accepted liens holds (locked, its
payment staged only for that amount, reopened only by an administrator). An accepted lien
takes no new step until it is reopened. Who may negotiate: whoever may edit and accept a
lien (any active user of the firm, as today). Each step is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import FiguresChanged, Locked, PermissionDenied, ValidationFailed
from casebridge.cases.models import (
    REDUCTION_STEPS_WITH_AMOUNT,
    Firm,
    Lien,
    LienReduction,
    LienReductionStep,
    User,
)
from casebridge.cases.selectors.lien_calculator import CURRENT, SCENARIO_TITLES, lien_scenarios
from casebridge.cases.services import settlement
from casebridge.cases.services.dates import date_in_window
from casebridge.core import clock
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line

#: The steps that answer an open request (a request or a counter not yet settled).
CLOSING_STEPS = (LienReductionStep.WITHDRAWN, LienReductionStep.REFUSED)


def _active(actor: User) -> None:
    if not actor.is_active:
        raise PermissionDenied("this account is inactive", permission="active")


def _lien_locked(firm: Firm, lien_id: int) -> Lien:
    # of=("self",): lock the lien row only, not the holder contact and the case joined
    # in (on PostgreSQL a bare FOR UPDATE would lock them too, and a step on another
    # case's lien from the same holder would wait for this one)
    lien = (
        Lien.objects.select_for_update(of=("self",))
        .select_related("holder", "case")
        .filter(firm=firm, pk=lien_id)
        .first()
    )
    if lien is None:
        raise ValidationFailed("lien not found in this firm", field="lien")
    return lien


def _refuse_if_accepted(lien: Lien) -> None:
    if lien.accepted_on is not None:
        raise Locked(
            f"the lien of {lien.holder.name} is accepted at "
            f"{format_cents(lien.final_cents or 0)} and locked; an administrator reopens it "
            "before its reduction is negotiated again"
        )


def _open_request(lien: Lien) -> bool:
    """Whether the lien's newest step is a request or a counter still waiting for an
    answer."""
    last = LienReduction.objects.filter(lien=lien).order_by("-pk").first()
    return last is not None and last.step in (
        LienReductionStep.REQUESTED,
        LienReductionStep.COUNTERED,
    )


def _check_amount(lien: Lien, step: str, amount_cents: int | None) -> int | None:
    if step not in REDUCTION_STEPS_WITH_AMOUNT:
        if amount_cents is not None:
            raise ValidationFailed(f"a {step} step carries no amount", field="amount")
        return None
    if amount_cents is None:
        raise ValidationFailed("enter the amount", field="amount")
    if amount_cents < 0:
        raise ValidationFailed("the amount cannot be negative", field="amount")
    if amount_cents > lien.claimed_cents:
        raise ValidationFailed(
            f"the amount {format_cents(amount_cents)} is more than the claim "
            f"{format_cents(lien.claimed_cents)} of {lien.holder.name}",
            field="amount",
        )
    return amount_cents


def _record(
    lien: Lien,
    actor: User,
    step: str,
    amount_cents: int | None,
    made_on: dt.date,
    note: str,
) -> LienReduction:
    row = LienReduction.objects.create(
        firm_id=lien.firm_id,
        lien=lien,
        step=step,
        amount_cents=amount_cents,
        made_on=made_on,
        note=note,
        recorded_by=actor,
        recorded_at=clock.now(),
    )
    amount = f" at {format_cents(amount_cents)}" if amount_cents is not None else ""
    cases_audit(
        firm_id=lien.firm_id,
        actor=actor,
        action=step,
        entity_type="lien_reduction",
        entity_id=row.pk,
        summary=(
            f"Case {lien.case.number}: lien of {lien.holder.name}: "
            f"{LienReductionStep(step).label.lower()}{amount}"
        ),
        after={
            "lien": lien.pk,
            "step": step,
            "amount_cents": amount_cents,
            "made_on": made_on,
            "note": note,
        },
    )
    return row


@transaction.atomic
def lien_reduction_record(
    *,
    firm: Firm,
    actor: User,
    lien_id: int,
    step: str,
    amount_cents: int | None = None,
    made_on: dt.date | None = None,
    note: str = "",
) -> LienReduction:
    """Record one step of a lien's reduction. ``requested``, ``countered`` and ``accepted``
    carry an amount from $0.00 to the claim; ``withdrawn`` and ``refused`` carry none and
    answer an open request. ``accepted`` sets the lien's final amount and accepts (locks)
    it through ``lien_accept``, on ``made_on``. Refused, writing nothing: a lien of another
    firm, an accepted lien, a case pushed to disbursement, an unknown step, an amount
    missing, negative or above the claim, a date outside the firm's window."""
    _active(actor)
    lien = _lien_locked(firm, lien_id)
    settlement._refuse_if_disbursing(lien.case)
    _refuse_if_accepted(lien)
    if step not in LienReductionStep.values:
        raise ValidationFailed(
            f"step must be one of {', '.join(LienReductionStep.values)}", field="step"
        )
    amount = _check_amount(lien, step, amount_cents)
    if step in CLOSING_STEPS and not _open_request(lien):
        raise ValidationFailed(
            f"the lien of {lien.holder.name} has no open reduction request to "
            f"{'withdraw' if step == LienReductionStep.WITHDRAWN else 'refuse'}",
            field="step",
        )
    day = date_in_window(firm, made_on or clock.today(), field="made_on")
    note = plain_line(note.strip(), field="note")[:255]
    if step == LienReductionStep.ACCEPTED:
        settlement.lien_accept(firm=firm, actor=actor, lien_id=lien.pk, final_cents=amount, on=day)
    return _record(lien, actor, step, amount, day, note)


@transaction.atomic
def lien_reductions_request(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    scenario: str,
    lien_ids: Sequence[int] | None = None,
    target_net_cents: int | None = None,
    cap_fraction: Decimal | str | None = None,
    made_on: dt.date | None = None,
    note: str = "",
    fingerprint: str | None = None,
) -> list[LienReduction]:
    """Apply a calculator scenario as requested reductions: one ``requested`` step per
    selected lien the scenario reduces, all in one transaction (none when one is refused).
    The scenario is computed again here, under a lock on the case's liens, from the same
    inputs, so what is requested is what the calculator shows now; with the ``fingerprint``
    the calculator gave (:func:`figures_fingerprint`), a scenario whose figures changed
    since is refused (``FiguresChanged``, 409) and nothing is written. Nothing is accepted:
    acceptance stays per lien."""
    _active(actor)
    if scenario not in SCENARIO_TITLES or scenario == CURRENT:
        keys = ", ".join(k for k in SCENARIO_TITLES if k != CURRENT)
        raise ValidationFailed(f"scenario must be one of {keys}", field="scenario")
    liens = list(
        Lien.objects.select_for_update(of=("self",))  # the liens only, not holders or case
        .filter(firm=firm, case_id=case_id)
        .select_related("holder", "case")
        .order_by("pk")
    )
    if not liens:
        raise ValidationFailed("this case has no liens in this firm", field="case")
    case = liens[0].case
    settlement._refuse_if_disbursing(case)
    calculation = lien_scenarios(
        case=case, lien_ids=lien_ids, target_net_cents=target_net_cents, cap_fraction=cap_fraction
    )
    if fingerprint is not None and fingerprint != calculation.fingerprint:
        # the liens or the settlement changed since the person saw the scenario
        raise FiguresChanged(
            "the figures changed since this scenario was computed; review it again",
            field="fingerprint",
        )
    chosen = calculation.scenario(scenario)
    reduced = chosen.reduced
    if not reduced:
        raise ValidationFailed(
            f"the {chosen.title.lower()} scenario reduces no selected lien: nothing to request",
            field="scenario",
        )
    day = date_in_window(firm, made_on or clock.today(), field="made_on")
    text = plain_line(note.strip(), field="note") or f"{chosen.title} (reduction calculator)"
    by_id = {ln.pk: ln for ln in liens}
    return [
        _record(
            by_id[proposal.lien_id],
            actor,
            LienReductionStep.REQUESTED,
            proposal.proposed_cents,
            day,
            text[:255],
        )
        for proposal in reduced
    ]
