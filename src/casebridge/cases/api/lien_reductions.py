"""Lien reductions: a lien's negotiation steps (list, record one), the reduction
calculator's scenarios side by side, and a scenario applied as requested reductions.

Every rule is :mod:`casebridge.cases.services.lien_reductions`'s and every figure
:mod:`casebridge.cases.selectors.lien_calculator`'s, the same the Settlement tab's pop-ups
call; a refusal is the shared JSON error naming its field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import ERRORS, NOTE_LENGTH, UserRef
from casebridge.cases.api.security import context
from casebridge.cases.errors import DomainError
from casebridge.cases.models import Case, Lien, LienReduction, LienReductionStep
from casebridge.cases.selectors.lien_calculator import (
    Calculation,
    LienProposal,
    Scenario,
    lien_scenarios,
)
from casebridge.cases.services import lien_reductions as service
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    Cents,
    Clean,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["lien reductions"])

#: The calculator's and the services' names of an input, as this API names it.
API_FIELDS = {"liens": "lien_ids"}


@contextmanager
def _api_field_names() -> Iterator[None]:
    """A refusal names the field as the client sent it (``lien_ids``, not ``liens``)."""
    try:
        yield
    except DomainError as exc:
        if exc.field in API_FIELDS:
            exc.field = API_FIELDS[exc.field]
        raise


ScenarioKey = Literal["target_net", "cap", "procurement"]
FRACTION_HELP = 'The liens\' cap as a fraction of the gross, from 0 to 1 ("0.25").'


class LienReductionOut(Out):
    id: int
    lien_id: int
    step: LienReductionStep
    step_label: str
    amount: Money | None = Field(description="null for withdrawn and refused.")
    made_on: dt.date
    note: str
    recorded_by: UserRef | None
    recorded_at: dt.datetime

    @classmethod
    def of(cls, row: LienReduction) -> LienReductionOut:
        return cls(
            id=row.pk,
            lien_id=row.lien_id,
            step=LienReductionStep(row.step),
            step_label=row.get_step_display(),
            amount=None if row.amount_cents is None else money(row.amount_cents),
            made_on=row.made_on,
            note=row.note,
            recorded_by=UserRef.of(row.recorded_by) if row.recorded_by else None,
            recorded_at=row.recorded_at,
        )


class LienReductionIn(In):
    step: LienReductionStep = Field(
        description="requested, countered, accepted (accepts and locks the lien at the "
        "amount), withdrawn or refused (these two carry no amount)."
    )
    amount: Cents | None = Field(default=None, description="From 0.00 to the claim.")
    made_on: dt.date | None = Field(default=None, description="Default: today.")
    note: str = Field(default="", max_length=NOTE_LENGTH)


@router.get("/liens/{int:lien_id}/reductions", response={200: Page[LienReductionOut], **ERRORS})
def lien_reduction_list(
    request: HttpRequest, lien_id: Id, page: Query[PageIn]
) -> Page[LienReductionOut]:
    """A lien's reduction steps, oldest first: the negotiation's history."""
    lien = get_or_404(Lien.objects.filter(firm=context(request).firm), lien_id)
    qs = LienReduction.objects.filter(lien=lien).select_related("recorded_by").order_by("pk")
    rows, next_cursor = keyset_page(qs, page)
    return Page[LienReductionOut](items=[LienReductionOut.of(r) for r in rows], next=next_cursor)


@router.post("/liens/{int:lien_id}/reductions", response={201: LienReductionOut, **ERRORS})
@idempotent
def lien_reduction_create(
    request: HttpRequest, lien_id: Id, payload: LienReductionIn
) -> Status[LienReductionOut]:
    """Record a step. 409 ``locked`` on an accepted lien (reopen it first) or once the case
    is pushed to disbursement; 422 naming ``amount`` above the claim or below 0.00."""
    ctx = context(request)
    lien = get_or_404(Lien.objects.filter(firm=ctx.firm), lien_id)
    row = service.lien_reduction_record(
        firm=ctx.firm,
        actor=ctx.user,
        lien_id=lien.pk,
        step=payload.step,
        amount_cents=payload.amount,
        made_on=payload.made_on,
        note=payload.note,
    )
    return Status(201, LienReductionOut.of(LienReduction.objects.get(pk=row.pk)))


# --- the calculator ---------------------------------------------------------------------


class LienProposalOut(Out):
    lien_id: int
    kind: str
    holder: str
    claimed: Money
    current: Money = Field(description="What the lien counts for now: final, else claimed.")
    proposed: Money
    reduction: Money = Field(
        description="current - proposed: never negative, no scenario asks for more than the "
        "lien counts for now."
    )
    selected: bool
    accepted: bool

    @classmethod
    def of(cls, ln: LienProposal) -> LienProposalOut:
        return cls(
            lien_id=ln.lien_id,
            kind=ln.kind,
            holder=ln.holder,
            claimed=money(ln.claimed_cents),
            current=money(ln.current_cents),
            proposed=money(ln.proposed_cents),
            reduction=money(ln.reduction_cents),
            selected=ln.selected,
            accepted=ln.accepted,
        )


class ScenarioOut(Out):
    key: str
    title: str
    basis: str
    gross: Money
    fee: Money
    costs: Money
    charges: Money = Field(description="COPP and a Property Damage Fee that is not a waiver.")
    liens: Money
    reduction: Money
    net_to_client: Money
    lien_lines: list[LienProposalOut]

    @classmethod
    def of(cls, s: Scenario) -> ScenarioOut:
        return cls(
            key=s.key,
            title=s.title,
            basis=s.basis,
            gross=money(s.gross_cents),
            fee=money(s.fee_cents),
            costs=money(s.costs_cents),
            charges=money(s.charges_cents),
            liens=money(s.liens_cents),
            reduction=money(s.reduction_cents),
            net_to_client=money(s.net_to_client_cents),
            lien_lines=[LienProposalOut.of(ln) for ln in s.liens],
        )


class CalculationOut(Out):
    case_id: int
    selected_lien_ids: list[int]
    scenarios: list[ScenarioOut] = Field(
        description="current and procurement always; target_net and cap when asked for."
    )

    fingerprint: str = Field(
        description="Of the figures the scenarios were computed from: send it with "
        "lien-reductions/apply, which answers 409 figures_changed when they changed since."
    )

    @classmethod
    def of(cls, calc: Calculation) -> CalculationOut:
        return cls(
            case_id=calc.case_id,
            selected_lien_ids=list(calc.selected_ids),
            scenarios=[ScenarioOut.of(s) for s in calc.scenarios],
            fingerprint=calc.fingerprint,
        )


class CalculatorQuery(Clean):
    lien_ids: list[Id] | None = Field(
        default=None, description="Liens to reduce; default: the medical liens not accepted."
    )
    target_net: Cents | None = Field(default=None, description="The client's target net.")
    cap_fraction: str | None = Field(default=None, max_length=20, description=FRACTION_HELP)


@router.get("/cases/{int:case_id}/lien-calculator", response={200: CalculationOut, **ERRORS})
def lien_calculator(
    request: HttpRequest, case_id: Id, query: Query[CalculatorQuery]
) -> CalculationOut:
    """The reduction scenarios side by side (gross, fee, costs, each lien's proposed amount
    and reduction, liens, net to client). Writes nothing. 422 naming ``target_net`` (more
    than the client can net), ``cap_fraction`` (outside 0..1) or ``lien_ids`` (a lien not of
    this case, or accepted)."""
    ctx = context(request)
    case = get_or_404(Case.objects.filter(firm=ctx.firm), case_id)
    with _api_field_names():
        calculation = lien_scenarios(
            case=case,
            lien_ids=query.lien_ids,
            target_net_cents=query.target_net,
            cap_fraction=query.cap_fraction,
        )
    return CalculationOut.of(calculation)


class ApplyIn(In):
    scenario: ScenarioKey
    lien_ids: list[Id] | None = Field(default=None, description="As for the calculator.")
    target_net: Cents | None = Field(default=None, description="For scenario target_net.")
    cap_fraction: str | None = Field(default=None, max_length=20, description=FRACTION_HELP)
    made_on: dt.date | None = Field(default=None, description="Default: today.")
    note: str = Field(default="", max_length=NOTE_LENGTH)
    fingerprint: str | None = Field(
        default=None,
        max_length=64,
        description="The calculator's fingerprint of the scenario shown: 409 figures_changed "
        "(nothing written) when the liens or the settlement changed since.",
    )


class AppliedOut(Out):
    items: list[LienReductionOut]


@router.post("/cases/{int:case_id}/lien-reductions/apply", response={201: AppliedOut, **ERRORS})
@idempotent
def lien_reductions_apply(
    request: HttpRequest, case_id: Id, payload: ApplyIn
) -> Status[AppliedOut]:
    """A scenario applied as requested reductions: one ``requested`` step per selected lien
    it reduces, all or none. Nothing is accepted. 422 naming ``target_net`` or
    ``cap_fraction`` when the scenario's input is missing or impossible, ``lien_ids``, or
    ``scenario`` when it reduces no selected lien."""
    ctx = context(request)
    case = get_or_404(Case.objects.filter(firm=ctx.firm), case_id)
    with _api_field_names():
        rows = service.lien_reductions_request(
            firm=ctx.firm,
            actor=ctx.user,
            case_id=case.pk,
            scenario=payload.scenario,
            lien_ids=payload.lien_ids,
            target_net_cents=payload.target_net,
            cap_fraction=payload.cap_fraction,
            made_on=payload.made_on,
            note=payload.note,
            fingerprint=payload.fingerprint,
        )
    fresh = LienReduction.objects.filter(pk__in=[r.pk for r in rows]).select_related("recorded_by")
    return Status(201, AppliedOut(items=[LienReductionOut.of(r) for r in fresh.order_by("pk")]))
