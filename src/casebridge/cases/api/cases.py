"""Cases: list, open, read (with the settlement figures in brief), change status or
attorney, and link cases (so costs can be split across them)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import ERRORS, NAME_LENGTH, CaseRef, ContactRef, UserRef
from casebridge.cases.api.security import context
from casebridge.cases.errors import NotFound
from casebridge.cases.models import Case, CaseStatus, CaseType, ClaimType, Contact, Firm, User
from casebridge.cases.selectors.settlement import settlement_figures
from casebridge.cases.services import cases as case_service
from casebridge.core.api.lookups import get_or_404, require_in_firm
from casebridge.core.api.schemas import (
    Clean,
    Id,
    In,
    Money,
    Out,
    Page,
    PageIn,
    PatchIn,
    Ref,
    keyset_page,
    money,
)

router = Router(tags=["cases"])


class CaseOut(Out):
    id: int
    number: str
    name: str
    client: ContactRef
    case_type: Ref
    responsible_attorney: UserRef | None
    incident_date: dt.date | None
    jurisdiction_state: str = Field(description="Two-letter state code; empty: not known yet.")
    claim_type: str = Field(description="e.g. negligence; empty: not known yet.")
    tolling_notes: str
    status: CaseStatus
    opened_on: dt.date
    linked_cases: list[CaseRef]

    @classmethod
    def of(cls, case: Case) -> CaseOut:
        attorney = case.responsible_attorney
        return cls(
            id=case.pk,
            number=case.number,
            name=case.name,
            client=ContactRef.of(case.client),
            case_type=Ref(id=case.case_type.pk, name=case.case_type.name),
            responsible_attorney=UserRef.of(attorney) if attorney else None,
            incident_date=case.incident_date,
            jurisdiction_state=case.jurisdiction_state,
            claim_type=case.claim_type,
            tolling_notes=case.tolling_notes,
            status=CaseStatus(case.status),
            opened_on=case.opened_on,
            linked_cases=[
                CaseRef.of(c) for c in sorted(case.linked_cases.all(), key=lambda c: c.pk)
            ],
        )


class SettlementSummary(Out):
    """The case's settlement in brief; ``GET /cases/{id}/settlement`` has every figure."""

    gross: Money
    fee: Money
    costs: Money
    liens: Money
    net_to_client: Money
    deposited: Money
    trust_remaining: Money


class CaseDetailOut(CaseOut):
    settlement: SettlementSummary


def _cases(firm: Firm) -> QuerySet[Case]:
    return (
        Case.objects.filter(firm=firm)
        .select_related("client", "case_type", "responsible_attorney")
        .prefetch_related("linked_cases")
    )


def case_detail(case: Case) -> CaseDetailOut:
    f = settlement_figures(case=case)
    return CaseDetailOut(
        **CaseOut.of(case).model_dump(),
        settlement=SettlementSummary(
            gross=money(f.gross_cents),
            fee=money(f.fee_cents),
            costs=money(f.costs_cents),
            liens=money(f.liens_cents),
            net_to_client=money(f.net_to_client_cents),
            deposited=money(f.deposited_cents),
            trust_remaining=money(f.trust_remaining_cents),
        ),
    )


class CaseFilter(Clean):
    status: CaseStatus | None = None
    attorney_id: Id | None = Field(default=None, description="The responsible attorney's user id.")
    client_id: Id | None = None
    q: str | None = Field(
        default=None, max_length=NAME_LENGTH, description="Part of the name or number."
    )


@router.get("/cases", response={200: Page[CaseOut], **ERRORS})
def case_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[CaseFilter]
) -> Page[CaseOut]:
    """The firm's cases, newest first."""
    qs = _cases(context(request).firm).order_by("-pk")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.attorney_id:
        qs = qs.filter(responsible_attorney_id=filters.attorney_id)
    if filters.client_id:
        qs = qs.filter(client_id=filters.client_id)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(number__icontains=filters.q))
    rows, next_cursor = keyset_page(qs, page)
    return Page[CaseOut](items=[CaseOut.of(c) for c in rows], next=next_cursor)


class CaseIn(In):
    name: str = Field(min_length=1, max_length=NAME_LENGTH, description="e.g. Lopez v. Acme")
    client_id: Id
    responsible_attorney_id: Id | None = None
    case_type_id: Id | None = Field(
        default=None, description="Default: the firm's (Personal Injury)."
    )
    incident_date: dt.date | None = None
    jurisdiction_state: str = Field(
        default="", max_length=2, description="Two-letter state code (statute of limitations)."
    )
    claim_type: ClaimType | Literal[""] = ""
    status: CaseStatus = CaseStatus.INTAKE
    opened_on: dt.date | None = Field(default=None, description="Default: today.")


@router.post("/cases", response={201: CaseDetailOut, **ERRORS})
@idempotent
def case_create(request: HttpRequest, payload: CaseIn) -> Status[CaseDetailOut]:
    """Open a case; its settlement terms start from the firm's defaults."""
    ctx = context(request)
    require_in_firm(
        ctx.firm,
        [
            (Contact, payload.client_id, "client_id"),
            (User, payload.responsible_attorney_id, "responsible_attorney_id"),
            (CaseType, payload.case_type_id, "case_type_id"),
        ],
    )
    case = case_service.case_create(
        firm=ctx.firm,
        actor=ctx.user,
        name=payload.name,
        client_id=payload.client_id,
        responsible_attorney_id=payload.responsible_attorney_id,
        case_type_id=payload.case_type_id,
        incident_date=payload.incident_date,
        status=payload.status,
        opened_on=payload.opened_on,
        jurisdiction_state=payload.jurisdiction_state,
        claim_type=payload.claim_type,
    )
    return Status(201, case_detail(get_or_404(_cases(ctx.firm), case.pk)))


@router.get("/cases/{int:case_id}", response={200: CaseDetailOut, **ERRORS})
def case_get(request: HttpRequest, case_id: Id) -> CaseDetailOut:
    return case_detail(get_or_404(_cases(context(request).firm), case_id))


class CaseUpdateIn(PatchIn):
    """Only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_LENGTH)
    status: CaseStatus | None = None
    responsible_attorney_id: Id | None = None
    incident_date: dt.date | None = None
    jurisdiction_state: str | None = Field(default=None, max_length=2)
    claim_type: ClaimType | Literal[""] | None = None
    tolling_notes: str | None = Field(default=None, max_length=2000)


@router.patch("/cases/{int:case_id}", response={200: CaseDetailOut, **ERRORS})
def case_update(request: HttpRequest, case_id: Id, payload: CaseUpdateIn) -> CaseDetailOut:
    """Change the name, status, responsible attorney, incident date, state, claim type or
    tolling notes; a change of the incident date, state or claim type computes the case's
    statute of limitations again (``GET /cases/{id}/deadlines``)."""
    ctx = context(request)
    case = get_or_404(_cases(ctx.firm), case_id)
    require_in_firm(ctx.firm, [(User, payload.responsible_attorney_id, "responsible_attorney_id")])
    case_service.case_update(
        case=case,
        actor=ctx.user,
        name=payload.name,
        status=payload.status,
        responsible_attorney_id=payload.responsible_attorney_id,
        incident_date=payload.incident_date,
        jurisdiction_state=payload.jurisdiction_state,
        claim_type=payload.claim_type,
        tolling_notes=payload.tolling_notes,
    )
    return case_detail(get_or_404(_cases(ctx.firm), case_id))


class LinkIn(In):
    case_id: Id = Field(description="The case to link to this one.")


@router.post("/cases/{int:case_id}/links", response={200: CaseOut, **ERRORS})
@idempotent
def case_link(request: HttpRequest, case_id: Id, payload: LinkIn) -> CaseOut:
    """Link two cases (e.g. passengers of the same accident): costs can then be split."""
    ctx = context(request)
    case = get_or_404(_cases(ctx.firm), case_id)
    require_in_firm(ctx.firm, [(Case, payload.case_id, "case_id")])
    case_service.cases_link(case=case, other_case_id=payload.case_id, actor=ctx.user)
    return CaseOut.of(get_or_404(_cases(ctx.firm), case_id))


@router.delete("/cases/{int:case_id}/links/{int:other_case_id}", response={200: CaseOut, **ERRORS})
def case_unlink(request: HttpRequest, case_id: Id, other_case_id: Id) -> CaseOut:
    """Unlink two cases; 404 if they are not linked."""
    ctx = context(request)
    case = get_or_404(_cases(ctx.firm), case_id)
    if not case.linked_cases.filter(pk=other_case_id).exists():
        raise NotFound(
            f"case {other_case_id} is not linked to case {case.number}", field="other_case_id"
        )
    case_service.cases_unlink(case=case, other_case_id=other_case_id, actor=ctx.user)
    return CaseOut.of(get_or_404(_cases(ctx.firm), case_id))
