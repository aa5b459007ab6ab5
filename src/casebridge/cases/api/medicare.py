"""Medicare on a case (issue 16): the client's beneficiary flag, the steps of the
conditional payment case with the 60-day payment deadline after the final demand, and the
hold on the client's check with a firm administrator's override (ADR 0039).

While the hold applies, ``POST /cases/{case_id}/push-to-disbursement`` answers 409
``medicare_hold`` with the reason, and nothing is written."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import ERRORS, NOTE_LENGTH
from casebridge.cases.api.security import context
from casebridge.cases.models import Case, Firm, MedicareStep, MedicareStepKind
from casebridge.cases.selectors.medicare import MedicarePicture, medicare_picture
from casebridge.cases.services import medicare as medicare_service
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import Id, In, Money, NonNegativeCents, Out, money

router = Router(tags=["medicare"])

REASON_LENGTH = 500


class MedicareStepOut(Out):
    id: int
    kind: MedicareStepKind
    label: str
    on: dt.date
    amount: Money | None
    note: str
    recorded_by: str
    void_reason: str = Field(
        description="Why the step was voided (empty while it counts; a voided step does not)."
    )


class MedicareOverrideOut(Out):
    reason: str
    granted_by: str
    granted_at: dt.datetime


class MedicareOut(Out):
    case_id: int
    client_is_beneficiary: bool
    medicare_liens: list[str] = Field(description="Each Medicare lien of the case, in words.")
    steps: list[MedicareStepOut]
    final_demand_on: dt.date | None
    final_demand: Money | None
    payment_deadline: dt.date | None = Field(
        description="60 days after the final demand; interest accrues after it."
    )
    portal_final: Money | None
    fixed_percentage_on: dt.date | None
    paid_on: dt.date | None
    paid: Money | None
    hold: str = Field(
        description="Why the client's check would be held for Medicare (empty: it is not)."
    )
    override: MedicareOverrideOut | None

    @classmethod
    def of(cls, pic: MedicarePicture) -> MedicareOut:
        return cls(
            case_id=pic.case_id,
            client_is_beneficiary=pic.is_beneficiary,
            medicare_liens=pic.liens,
            steps=[
                MedicareStepOut(
                    id=s.step_id,
                    kind=MedicareStepKind(s.kind),
                    label=s.label,
                    on=s.on,
                    amount=None if s.amount_cents is None else money(s.amount_cents),
                    note=s.note,
                    recorded_by=s.recorded_by,
                    void_reason=s.void_reason,
                )
                for s in pic.steps
            ],
            final_demand_on=pic.final_demand_on,
            final_demand=None if pic.final_demand_cents is None else money(pic.final_demand_cents),
            payment_deadline=pic.payment_deadline,
            portal_final=None if pic.portal_final_cents is None else money(pic.portal_final_cents),
            fixed_percentage_on=pic.fixed_percentage_on,
            paid_on=pic.paid_on,
            paid=None if pic.paid_cents is None else money(pic.paid_cents),
            hold=pic.hold_reason,
            override=MedicareOverrideOut(
                reason=pic.override.reason,
                granted_by=pic.override.granted_by,
                granted_at=pic.override.granted_at,
            )
            if pic.override is not None
            else None,
        )


def _case(firm: Firm, case_id: Id) -> Case:
    return get_or_404(Case.objects.filter(firm=firm), case_id)


def _out(case: Case) -> MedicareOut:
    return MedicareOut.of(medicare_picture(case=case))


@router.get("/cases/{int:case_id}/medicare", response={200: MedicareOut, **ERRORS})
def medicare_get(request: HttpRequest, case_id: Id) -> MedicareOut:
    """The case's Medicare picture: beneficiary flag, steps, deadline, hold and override."""
    return _out(_case(context(request).firm, case_id))


class BeneficiaryIn(In):
    is_beneficiary: bool


@router.put("/cases/{int:case_id}/medicare/beneficiary", response={200: MedicareOut, **ERRORS})
def medicare_beneficiary_set(
    request: HttpRequest, case_id: Id, payload: BeneficiaryIn
) -> MedicareOut:
    """Mark the case's client a Medicare beneficiary, or not (it holds on all their cases)."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    medicare_service.client_medicare_set(
        firm=ctx.firm, actor=ctx.user, case_id=case.pk, is_beneficiary=payload.is_beneficiary
    )
    return _out(case)


class StepIn(In):
    kind: MedicareStepKind
    on: dt.date
    amount: NonNegativeCents | None = Field(
        default=None,
        description="Required for a letter, final demand, portal amount, fixed-percentage "
        "election and payment.",
    )
    note: str = Field(default="", max_length=NOTE_LENGTH)


@router.post("/cases/{int:case_id}/medicare/steps", response={201: MedicareOut, **ERRORS})
@idempotent
def medicare_step_record(request: HttpRequest, case_id: Id, payload: StepIn) -> Status[MedicareOut]:
    """Record a step of the conditional payment case (the newest of a kind counts)."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    medicare_service.medicare_step_record(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=case.pk,
        kind=payload.kind,
        on=payload.on,
        amount_cents=payload.amount,
        note=payload.note,
    )
    return Status(201, _out(case))


class VoidIn(In):
    reason: str = Field(max_length=REASON_LENGTH)


@router.post(
    "/cases/{int:case_id}/medicare/steps/{int:step_id}/void",
    response={200: MedicareOut, **ERRORS},
)
@idempotent
def medicare_step_void(
    request: HttpRequest, case_id: Id, step_id: Id, payload: VoidIn
) -> MedicareOut:
    """Void a step recorded in error, with a reason: it stays on record and no longer
    counts (voiding the final demand can bring the hold back). 404 for a step not of the
    case; 422 without a reason; 409 if it is voided already."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    step = get_or_404(MedicareStep.objects.filter(firm=ctx.firm, claim__case=case), step_id)
    medicare_service.medicare_step_void(
        firm=ctx.firm, actor=ctx.user, case_id=case.pk, step_id=step.pk, reason=payload.reason
    )
    return _out(case)


class OverrideIn(In):
    reason: str = Field(max_length=REASON_LENGTH)


class RevokeIn(In):
    reason: str = Field(default="", max_length=REASON_LENGTH)


@router.post("/cases/{int:case_id}/medicare/hold-override", response={201: MedicareOut, **ERRORS})
@idempotent
def medicare_hold_override(
    request: HttpRequest, case_id: Id, payload: OverrideIn
) -> Status[MedicareOut]:
    """A firm administrator overrides the hold on the client's check, with a reason (403
    for anyone else; 422 without a reason; 409 if one is in effect already)."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    medicare_service.medicare_hold_override(
        firm=ctx.firm, actor=ctx.user, case_id=case.pk, reason=payload.reason
    )
    return Status(201, _out(case))


@router.post(
    "/cases/{int:case_id}/medicare/hold-override/revoke", response={200: MedicareOut, **ERRORS}
)
@idempotent
def medicare_hold_override_revoke(
    request: HttpRequest, case_id: Id, payload: RevokeIn
) -> MedicareOut:
    """A firm administrator ends the override in effect: the hold applies again."""
    ctx = context(request)
    case = _case(ctx.firm, case_id)
    medicare_service.medicare_hold_override_revoke(
        firm=ctx.firm, actor=ctx.user, case_id=case.pk, reason=payload.reason
    )
    return _out(case)
