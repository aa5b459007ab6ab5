"""A case's Medicare (Medicare Secondary Payer) picture: whether the client is a
beneficiary, the case's Medicare liens, the steps of its conditional payment case, the
60-day payment deadline after the final demand, and the hold on the client's check.

The hold (ADR 0039): while the client is a Medicare beneficiary or the case has a Medicare
lien, the client's final check is not pushed to disbursement until Medicare's newest final
amount (final demand, the recovery portal's final conditional payment amount or a
fixed-percentage election, none voided) equals the accepted final amount of a Medicare lien
of the case whose payment is staged or paid direct (a $0.00 final amount needs no lien),
or a firm administrator overrides the hold with a reason.
:func:`medicare_hold_reason` is the one sentence the service raises and the Settlement tab
shows beside the disabled button.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casebridge.cases.models import (
    MEDICARE_RELEASING_STEPS,
    Case,
    ClientMedicareStatus,
    Lien,
    LienKind,
    MedicareClaim,
    MedicareHoldOverride,
    MedicareStep,
    MedicareStepKind,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
)
from casebridge.core import clock, words
from casebridge.core.money import format_cents

#: Days Medicare gives to pay after the final demand letter; interest accrues after them.
PAYMENT_DAYS = 60


def payment_deadline(final_demand_on: dt.date) -> dt.date:
    """The last day to pay Medicare's final demand without interest: 60 days after the
    date of the demand letter."""
    return final_demand_on + dt.timedelta(days=PAYMENT_DAYS)


@dataclass(frozen=True)
class StepLine:
    step_id: int
    kind: str
    label: str
    on: dt.date
    amount_cents: int | None
    note: str
    recorded_by: str
    #: Why the step was voided ("" while it counts).
    void_reason: str = ""


@dataclass(frozen=True)
class OverrideLine:
    override_id: int
    reason: str
    granted_by: str
    granted_at: dt.datetime


@dataclass(frozen=True)
class MedicarePicture:
    """What the Medicare section of the Settlement tab (and the API) shows."""

    case_id: int
    is_beneficiary: bool
    #: "Medicare (CMS Recovery) $12,000.00" for each Medicare lien of the case.
    liens: list[str]
    steps: list[StepLine]
    final_demand_on: dt.date | None
    final_demand_cents: int | None
    portal_final_cents: int | None
    fixed_percentage_on: dt.date | None
    paid_on: dt.date | None
    paid_cents: int | None
    payment_deadline: dt.date | None
    hold_reason: str
    override: OverrideLine | None

    @property
    def applies(self) -> bool:
        """Whether Medicare's rules apply to the case at all."""
        return self.is_beneficiary or bool(self.liens) or bool(self.steps)

    @property
    def days_to_deadline(self) -> int | None:
        """Days left to pay without interest (negative once past), from the firm's today;
        None when there is no final demand or it is paid."""
        if self.payment_deadline is None or self.paid_on is not None:
            return None
        return (self.payment_deadline - clock.today()).days

    @property
    def deadline_words(self) -> str:
        days = self.days_to_deadline
        if self.payment_deadline is None:
            return ""
        due = f"pay by {words.format_day(self.payment_deadline)}"
        if self.paid_on is not None:
            return f"{due}; paid {words.format_day(self.paid_on)}"
        if days is None:
            return due
        if days < 0:
            return f"{due}: {words.plural(-days, 'day')} late, interest accrues"
        if days == 0:
            return f"{due}: today is the last day without interest"
        return f"{due}: {words.plural(days, 'day')} left, interest accrues after"


def client_is_beneficiary(case: Case) -> bool:
    return ClientMedicareStatus.objects.filter(
        contact_id=case.client_id, is_beneficiary=True
    ).exists()


def override_in_effect(case: Case) -> MedicareHoldOverride | None:
    return (
        MedicareHoldOverride.objects.filter(case=case, revoked_at__isnull=True)
        .select_related("granted_by")
        .first()
    )


def _live_steps(case: Case) -> list[MedicareStep]:
    """The case's Medicare steps that count (a voided step does not)."""
    return list(MedicareStep.objects.filter(claim__case=case, voided_at__isnull=True))


NO_FINAL_DEMAND = "no final demand is recorded"

#: How the hold sentence names each releasing step's amount.
_RELEASE_WORDS = {
    MedicareStepKind.FINAL_DEMAND: "Medicare's final demand",
    MedicareStepKind.PORTAL_FINAL: "the recovery portal's final conditional payment amount",
    MedicareStepKind.FIXED_PERCENTAGE: "the fixed-percentage amount",
}


def releasing_step(steps: list[MedicareStep]) -> MedicareStep | None:
    """The newest (by date, then as recorded) final demand, portal final amount or
    fixed-percentage election that is not voided: the amount Medicare is owed."""
    found = [s for s in steps if s.kind in MEDICARE_RELEASING_STEPS and s.voided_at is None]
    return max(found, key=lambda s: (s.on, s.pk)) if found else None


def _unsettled(case: Case) -> str:
    """Why what Medicare is owed is not yet provided for ("" when it is): the newest final
    amount (final demand, portal final or fixed percentage) must equal the accepted final
    amount of a Medicare lien of the case whose payment is staged (or paid direct). A final
    amount of $0.00 needs no lien."""
    step = releasing_step(_live_steps(case))
    if step is None:
        return NO_FINAL_DEMAND
    cents = int(step.amount_cents or 0)
    said = f"{_RELEASE_WORDS[MedicareStepKind(step.kind)]} is {format_cents(cents)}"
    if cents == 0:
        return ""
    liens = list(Lien.objects.filter(case=case, kind=LienKind.MEDICARE).order_by("pk"))
    if not liens:
        return f"{said}; the case has no Medicare lien to pay it"
    staged = {
        item.lien_id: item.amount_cents
        for item in TrustItem.objects.filter(case=case, lien__in=liens)
    }
    for lien in liens:
        if (
            lien.accepted_on is not None
            and lien.final_cents == cents
            and (lien.paid_direct or staged.get(lien.pk) == cents)
        ):
            return ""
    lien = next((each for each in liens if each.pk in staged), liens[0])
    if lien.pk in staged:
        return f"{said}; the Medicare lien is staged at {format_cents(staged[lien.pk])}"
    if lien.accepted_on is None or lien.final_cents is None:
        return f"{said}; the Medicare lien's final amount is not accepted"
    return (
        f"{said}; the Medicare lien is accepted at {format_cents(lien.final_cents)} "
        "and its payment is not staged"
    )


def medicare_hold_reason(case: Case, *, staged_only: bool = True) -> str:
    """Why the client's final check may not go to disbursement for Medicare's sake ("" when
    it may): there is a client check staged (``staged_only=False``: whether or not one is
    yet, as the Medicare section warns ahead), Medicare's rules apply (beneficiary or
    Medicare lien), Medicare's final amount is not matched by an accepted and staged
    Medicare lien (:func:`_unsettled`), and no override is in effect."""
    if (
        staged_only
        and not TrustItem.objects.filter(
            case=case, kind=TrustItemKind.CLIENT, status=TrustItemStatus.STAGED
        ).exists()
    ):
        return ""
    beneficiary = client_is_beneficiary(case)
    medicare_lien = Lien.objects.filter(case=case, kind=LienKind.MEDICARE).exists()
    if not (beneficiary or medicare_lien):
        return ""
    if override_in_effect(case) is not None:
        return ""
    unsettled = _unsettled(case)
    if not unsettled:
        return ""
    why = (
        f"{case.client.name} is a Medicare beneficiary"
        if beneficiary
        else "the case has a Medicare lien"
    )
    if unsettled == NO_FINAL_DEMAND:
        return (
            f"Medicare hold: {why} and no final demand is recorded, so the client's check "
            "waits; record Medicare's final demand (or the recovery portal's final "
            "conditional payment amount, or a fixed-percentage election), or a firm "
            "administrator can override the hold with a reason"
        )
    return (
        f"Medicare hold: {why} and {unsettled}, so the client's check waits; accept the "
        "Medicare lien at that amount and stage its payment, or a firm administrator can "
        "override the hold with a reason"
    )


def _latest(steps: list[MedicareStep], kind: str) -> MedicareStep | None:
    found = [s for s in steps if s.kind == kind and s.voided_at is None]
    return max(found, key=lambda s: (s.on, s.pk)) if found else None


def medicare_picture(*, case: Case) -> MedicarePicture:
    claim = MedicareClaim.objects.filter(case=case).first()
    steps = (
        list(MedicareStep.objects.filter(claim=claim).select_related("recorded_by"))
        if claim is not None
        else []
    )
    liens = [
        f"{lien.get_kind_display()} ({lien.holder.name}) "
        f"{format_cents(lien.final_cents if lien.final_cents is not None else lien.claimed_cents)}"
        for lien in Lien.objects.filter(case=case, kind=LienKind.MEDICARE)
        .select_related("holder")
        .order_by("pk")
    ]
    demand = _latest(steps, MedicareStepKind.FINAL_DEMAND)
    portal = _latest(steps, MedicareStepKind.PORTAL_FINAL)
    fixed = _latest(steps, MedicareStepKind.FIXED_PERCENTAGE)
    paid = _latest(steps, MedicareStepKind.PAYMENT)
    override = override_in_effect(case)
    return MedicarePicture(
        case_id=case.pk,
        is_beneficiary=client_is_beneficiary(case),
        liens=liens,
        steps=[
            StepLine(
                s.pk,
                s.kind,
                s.get_kind_display(),
                s.on,
                s.amount_cents,
                s.note,
                s.recorded_by.display_name if s.recorded_by else "",
                s.void_reason if s.voided_at is not None else "",
            )
            for s in steps
        ],
        final_demand_on=demand.on if demand else None,
        final_demand_cents=demand.amount_cents if demand else None,
        portal_final_cents=portal.amount_cents if portal else None,
        fixed_percentage_on=fixed.on if fixed else None,
        paid_on=paid.on if paid else None,
        paid_cents=paid.amount_cents if paid else None,
        payment_deadline=payment_deadline(demand.on) if demand else None,
        hold_reason=medicare_hold_reason(case, staged_only=False),
        override=OverrideLine(
            override.pk,
            override.reason,
            override.granted_by.display_name,
            override.granted_at,
        )
        if override is not None
        else None,
    )
