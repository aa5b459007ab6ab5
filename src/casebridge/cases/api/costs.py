"""Cost codes and costs: a case's Costs tab, the firm-wide Costs Management list, and
add / edit (by the edit rules) / void / pay / split."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import ERRORS, REASON_DEFAULTS, CaseRef, ContactRef, ReasonIn
from casebridge.cases.api.security import context
from casebridge.cases.models import (
    Case,
    Contact,
    Cost,
    CostCode,
    CostPriority,
    CostStatus,
    Firm,
    Permission,
)
from casebridge.cases.permissions import require
from casebridge.cases.selectors import costs as cost_selectors
from casebridge.cases.services import costs as cost_service
from casebridge.core.api.lookups import get_or_404, require_in_firm
from casebridge.core.api.schemas import (
    NEXT_HELP,
    Cents,
    Clean,
    CountedPage,
    Id,
    In,
    Money,
    Out,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["costs"])


class CostCodeOut(Out):
    id: int
    code: str
    name: str
    is_utbms: bool
    is_active: bool


class CostCodeFilter(Clean):
    include_inactive: bool = False


@router.get("/cost-codes", response={200: CountedPage[CostCodeOut], **ERRORS})
def cost_code_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[CostCodeFilter]
) -> CountedPage[CostCodeOut]:
    """The UTBMS expense codes (E101-E124) and the firm's own."""
    qs = CostCode.objects.filter(firm=context(request).firm).order_by("code", "pk")
    if not filters.include_inactive:
        qs = qs.filter(is_active=True)
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[CostCodeOut](
        items=[
            CostCodeOut(
                id=c.pk, code=c.code, name=c.name, is_utbms=c.is_utbms, is_active=c.is_active
            )
            for c in rows
        ],
        next=next_cursor,
        count=qs.count(),
    )


class CostCodeRef(Out):
    id: int
    code: str
    name: str


class CostOut(Out):
    id: int
    case: CaseRef
    payee: ContactRef
    amount: Money = Field(description="The amount, kept when the cost is void.")
    shown_amount: Money = Field(description="What the case counts: 0.00 for a void cost.")
    invoice_reference: str
    priority: CostPriority
    cost_code: CostCodeRef
    memo: str
    cost_date: dt.date
    status: CostStatus
    paid_date: dt.date | None
    payment_method: str
    payment_reference: str
    sent_at: dt.datetime | None
    voided_on: dt.date | None
    void_reason: str
    split_from_id: int | None

    @classmethod
    def of(cls, cost: Cost) -> CostOut:
        code = cost.cost_code
        return cls(
            id=cost.pk,
            case=CaseRef.of(cost.case),
            payee=ContactRef.of(cost.payee),
            amount=money(cost.amount_cents),
            shown_amount=money(cost.shown_amount_cents),
            invoice_reference=cost.invoice_reference,
            priority=CostPriority(cost.priority),
            cost_code=CostCodeRef(id=code.pk, code=code.code, name=code.name),
            memo=cost.memo,
            cost_date=cost.cost_date,
            status=CostStatus(cost.status),
            paid_date=cost.paid_date,
            payment_method=cost.payment_method,
            payment_reference=cost.payment_reference,
            sent_at=cost.sent_at,
            voided_on=cost.voided_on,
            void_reason=cost.void_reason,
            split_from_id=cost.split_from_id,
        )


def _costs(firm: Firm) -> QuerySet[Cost]:
    return Cost.objects.filter(firm=firm).select_related("case", "payee", "cost_code")


def _cost_out(firm: Firm, cost_id: int) -> CostOut:
    return CostOut.of(get_or_404(_costs(firm), cost_id))


@router.get("/cases/{int:case_id}/costs", response={200: CountedPage[CostOut], **ERRORS})
def case_cost_list(request: HttpRequest, case_id: Id, page: Query[PageIn]) -> CountedPage[CostOut]:
    """A case's Costs tab, newest first; void costs included (shown as 0.00)."""
    case = get_or_404(Case.objects.filter(firm=context(request).firm), case_id)
    qs = cost_selectors.case_costs_queryset(case=case)
    rows, next_cursor = keyset_page(qs, page)
    for cost in rows:
        cost.case = case
    return CountedPage[CostOut](
        items=[CostOut.of(c) for c in rows], next=next_cursor, count=qs.count()
    )


Tab = Literal["open", "pending", "paid"]
Sort = Literal["date", "-date", "amount", "-amount", "case", "payee"]


class CostsManagementQuery(Clean):
    status: Tab = Field(default="open", description="The tab: open, pending or paid.")
    case_id: Id | None = None
    attorney_id: Id | None = Field(default=None, description="The case's responsible attorney.")
    payee_id: Id | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: Cents | None = None
    amount_max: Cents | None = None
    sort: Sort = Field(
        "date",
        description="date / amount: newest / largest first; -date / -amount reverse; case: "
        "by case number, each case's costs newest first; payee: by payee name (then payee), "
        "newest first.",
    )
    cursor: str | None = Field(
        default=None,
        max_length=400,
        description="A page's `next` or `previous` (with the same sort), or `last` for the "
        "last page; none for the first page.",
    )
    limit: int = Field(
        default=cost_selectors.PAGE_SIZE,
        ge=1,
        le=cost_selectors.MAX_PAGE_SIZE,
        description="Rows on the page.",
    )

    @field_validator("cursor")
    @classmethod
    def _cursor_of_this_sort(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value:
            try:
                cost_selectors.decode_cursor(value, str(info.data.get("sort", "date")))
            except cost_selectors.InvalidCursor as exc:
                raise PydanticCustomError("invalid_cursor", str(exc)) from None
        return value or None


class CostsManagementOut(Out):
    items: list[CostOut]
    count: int
    total: Money = Field(description="The sum of every cost the filters match.")
    status: Tab
    sort: Sort
    limit: int
    next: str | None = Field(description=NEXT_HELP)
    previous: str | None = Field(description="The cursor of the previous page; null on the first.")


@router.get("/costs", response={200: CostsManagementOut, **ERRORS})
def costs_management(
    request: HttpRequest, query: Query[CostsManagementQuery]
) -> CostsManagementOut:
    """Costs Management: every cost of the firm in one tab, filtered, sorted and paged by
    cursor (pass a page's `next` as `cursor` for the following page). `count` and `total`
    cover every page. Needs the 'Costs management' permission."""
    ctx = context(request)
    require(ctx.user, Permission.COSTS_MANAGEMENT)
    result = cost_selectors.costs_management_page(
        firm=ctx.firm,
        status=query.status,
        filters=cost_selectors.CostFilters(
            case_id=query.case_id,
            attorney_id=query.attorney_id,
            payee_id=query.payee_id,
            date_from=query.date_from,
            date_to=query.date_to,
            amount_min_cents=query.amount_min,
            amount_max_cents=query.amount_max,
        ),
        sort=query.sort,
        cursor=query.cursor,
        page_size=query.limit,
    )
    return CostsManagementOut(
        items=[CostOut.of(c) for c in result.items],
        count=result.count,
        total=money(result.total_cents),
        status=query.status,
        sort=query.sort,
        limit=result.page_size,
        next=result.next_cursor,
        previous=result.prev_cursor,
    )


@router.get("/costs/{int:cost_id}", response={200: CostOut, **ERRORS})
def cost_get(request: HttpRequest, cost_id: Id) -> CostOut:
    return _cost_out(context(request).firm, cost_id)


class CostIn(In):
    case_id: Id
    payee_id: Id
    amount: Cents = Field(description="Greater than zero.")
    cost_code_id: Id
    cost_date: dt.date | None = Field(default=None, description="Default: today.")
    invoice_reference: str = Field(default="", max_length=60)
    priority: CostPriority = CostPriority.NORMAL
    memo: str = Field(default="", max_length=500)


@router.post("/costs", response={201: CostOut, **ERRORS})
@idempotent
def cost_create(request: HttpRequest, payload: CostIn) -> Status[CostOut]:
    """Add a cost to a case (status Open)."""
    ctx = context(request)
    require_in_firm(
        ctx.firm,
        [
            (Case, payload.case_id, "case_id"),
            (Contact, payload.payee_id, "payee_id"),
            (CostCode, payload.cost_code_id, "cost_code_id"),
        ],
    )
    cost = cost_service.cost_create(
        firm=ctx.firm,
        actor=ctx.user,
        case_id=payload.case_id,
        payee_id=payload.payee_id,
        amount_cents=payload.amount,
        cost_code_id=payload.cost_code_id,
        cost_date=payload.cost_date,
        invoice_reference=payload.invoice_reference,
        priority=payload.priority,
        memo=payload.memo,
    )
    return Status(201, _cost_out(ctx.firm, cost.pk))


class CostUpdateIn(In):
    """Only the fields sent change. An unpaid cost can change everything but its paid
    date; a paid cost only its paid date and memo; a void cost nothing."""

    payee_id: Id | None = None
    amount: Cents | None = None
    invoice_reference: str | None = Field(default=None, max_length=60)
    priority: CostPriority | None = None
    cost_code_id: Id | None = None
    memo: str | None = Field(default=None, max_length=500)
    cost_date: dt.date | None = None
    paid_date: dt.date | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value


#: request field -> the service's field
_UPDATE_FIELDS = {"amount": "amount_cents"}


@router.patch("/costs/{int:cost_id}", response={200: CostOut, **ERRORS})
def cost_update(request: HttpRequest, cost_id: Id, payload: CostUpdateIn) -> CostOut:
    """Edit a cost; a change the edit rules forbid is 409 ``locked`` naming the field."""
    ctx = context(request)
    cost = get_or_404(_costs(ctx.firm), cost_id)
    require_in_firm(
        ctx.firm,
        [
            (Contact, payload.payee_id, "payee_id"),
            (CostCode, payload.cost_code_id, "cost_code_id"),
        ],
    )
    changes: dict[str, Any] = {
        _UPDATE_FIELDS.get(name, name): getattr(payload, name)
        for name in sorted(payload.model_fields_set)
    }
    cost_service.cost_update(firm=ctx.firm, actor=ctx.user, cost_id=cost.pk, **changes)
    return _cost_out(ctx.firm, cost.pk)


@router.post("/costs/{int:cost_id}/void", response={200: CostOut, **ERRORS})
@idempotent
def cost_void(request: HttpRequest, cost_id: Id, payload: ReasonIn = REASON_DEFAULTS) -> CostOut:
    """Void an open or pending cost: it shows as 0.00 and leaves the case's total."""
    ctx = context(request)
    cost = get_or_404(_costs(ctx.firm), cost_id)
    cost_service.cost_void(firm=ctx.firm, actor=ctx.user, cost_id=cost.pk, reason=payload.reason)
    return _cost_out(ctx.firm, cost.pk)


class PayIn(In):
    method: Literal["check", "card"]
    reference: str = Field(min_length=1, max_length=60, description="The check or card number.")
    paid_date: dt.date | None = Field(default=None, description="Default: today.")


@router.post("/costs/{int:cost_id}/pay", response={200: CostOut, **ERRORS})
@idempotent
def cost_pay(request: HttpRequest, cost_id: Id, payload: PayIn) -> CostOut:
    """Record a payment made outside the books (firms without the bridge): Open -> Paid."""
    ctx = context(request)
    cost = get_or_404(_costs(ctx.firm), cost_id)
    cost_service.cost_pay(
        firm=ctx.firm,
        actor=ctx.user,
        cost_id=cost.pk,
        method=payload.method,
        reference=payload.reference,
        paid_date=payload.paid_date,
    )
    return _cost_out(ctx.firm, cost.pk)


class SplitPartOut(Out):
    case: CaseRef
    amount: Money


class SplitProposalOut(Out):
    cost_id: int
    amount: Money
    parts: list[SplitPartOut]


@router.get("/costs/{int:cost_id}/split", response={200: SplitProposalOut, **ERRORS})
def cost_split_proposal(request: HttpRequest, cost_id: Id) -> SplitProposalOut:
    """The even split across the cost's case and its linked cases; the parts add up to
    the cost to the cent."""
    ctx = context(request)
    cost = get_or_404(_costs(ctx.firm), cost_id)
    parts = cost_service.cost_split_proposal(firm=ctx.firm, cost_id=cost.pk)
    cases = Case.objects.filter(firm=ctx.firm).in_bulk([p.case_id for p in parts])
    return SplitProposalOut(
        cost_id=cost.pk,
        amount=money(cost.amount_cents),
        parts=[
            SplitPartOut(case=CaseRef.of(cases[p.case_id]), amount=money(p.amount_cents))
            for p in parts
        ],
    )


class SplitPartIn(In):
    case_id: Id
    amount: Cents


class SplitIn(In):
    parts: list[SplitPartIn] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Default: the even split. The parts must add up to the cost and "
        "include the cost's own case.",
    )


SPLIT_DEFAULTS = SplitIn()


class SplitOut(Out):
    parts: list[CostOut] = Field(description="The original cost first, then the new ones.")


@router.post("/costs/{int:cost_id}/split", response={200: SplitOut, **ERRORS})
@idempotent
def cost_split(request: HttpRequest, cost_id: Id, payload: SplitIn = SPLIT_DEFAULTS) -> SplitOut:
    """Split an open, unsent cost across its case and linked cases; the original amount
    is kept in the memo."""
    ctx = context(request)
    cost = get_or_404(_costs(ctx.firm), cost_id)
    parts = None
    if payload.parts is not None:
        require_in_firm(
            ctx.firm,
            [(Case, p.case_id, f"parts[{i}].case_id") for i, p in enumerate(payload.parts)],
        )
        parts = [cost_service.SplitPart(p.case_id, p.amount) for p in payload.parts]
    result = cost_service.cost_split(firm=ctx.firm, actor=ctx.user, cost_id=cost.pk, parts=parts)
    by_id = _costs(ctx.firm).in_bulk([c.pk for c in result])
    return SplitOut(parts=[CostOut.of(by_id[c.pk]) for c in result])
