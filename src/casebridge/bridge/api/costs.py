"""Send costs: Open costs become Pending and are queued for the books."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from casebridge.bridge.api.idempotency import idempotent
from casebridge.bridge.services import outbox
from casebridge.cases.api.security import context
from casebridge.core.api.schemas import ERRORS, Id, In, Money, Out, money

router = Router(tags=["books integration"])


class SendIn(In):
    cost_ids: list[Id] = Field(min_length=1, max_length=20_000)
    bank_account_id: Id | None = Field(None, description="Default: the operating account.")


class SendOut(Out):
    count: int
    total: Money
    not_sent: int = Field(
        0,
        description="Costs left Open when a chunk of a large Send failed after earlier "
        "chunks were queued (someone changed a cost meanwhile); ``problem`` says why.",
    )
    problem: str = ""


@router.post("/costs/send", response={200: SendOut, **ERRORS}, summary="Send costs")
@idempotent
def costs_send(request: HttpRequest, payload: SendIn) -> SendOut:
    """Open costs become Pending and are queued for the books. 409
    ``integration_not_ready`` names the failing readiness checks (as the worker last ran
    them: the books are not asked here); 409 ``locked`` names a cost that is not Open, and
    nothing is written. The costs are written 1,000 at a time: should a later thousand be
    refused (a cost changed by someone else meanwhile), those before it stay queued and
    ``not_sent`` and ``problem`` say how many were left Open and why."""
    ctx = context(request)
    result = outbox.costs_send(
        firm=ctx.firm,
        actor=ctx.user,
        cost_ids=list(dict.fromkeys(payload.cost_ids)),
        bank_account_id=payload.bank_account_id,
    )
    return SendOut(
        count=result.count,
        total=money(result.total_cents),
        not_sent=result.not_sent,
        problem=result.problem,
    )
