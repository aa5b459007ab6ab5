"""The sync queue: its items with their counts per state, and Retry of failed items."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from casebridge.bridge.api.idempotency import idempotent
from casebridge.bridge.models import OutboxItem, OutboxKind, OutboxState
from casebridge.bridge.selectors.queue import queue_counts, queue_items
from casebridge.bridge.services import outbox
from casebridge.cases.api.security import context
from casebridge.cases.models import Permission
from casebridge.cases.permissions import require
from casebridge.core.api.schemas import ERRORS, Clean, Id, In, Out, Page, PageIn, keyset_page

router = Router(tags=["books integration"])


class ItemOut(Out):
    id: int
    kind: OutboxKind
    state: OutboxState
    case_id: int
    cost_id: int | None
    attempts: int
    next_attempt_at: dt.datetime
    error_code: str
    error_message: str
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @classmethod
    def of(cls, item: OutboxItem) -> ItemOut:
        return cls(
            id=item.pk,
            kind=OutboxKind(item.kind),
            state=OutboxState(item.state),
            case_id=item.case_id,
            cost_id=item.cost_id,
            attempts=item.attempts,
            next_attempt_at=item.next_attempt_at,
            error_code=item.error_code,
            error_message=item.error_message,
            created_at=item.created_at,
            sent_at=item.sent_at,
        )


class QueueFilter(Clean):
    state: OutboxState | None = None
    kind: OutboxKind | None = None


class QueueOut(Page[ItemOut]):
    counts: dict[str, int]


@router.get("/queue", response={200: QueueOut, **ERRORS}, summary="The sync queue")
def queue(request: HttpRequest, page: Query[PageIn], filters: Query[QueueFilter]) -> QueueOut:
    ctx = context(request)
    require(ctx.user, Permission.COSTS_MANAGEMENT)
    qs = queue_items(ctx.firm, state=filters.state or "", kind=filters.kind or "")
    rows, next_cursor = keyset_page(qs, page)
    return QueueOut(
        items=[ItemOut.of(i) for i in rows], next=next_cursor, counts=queue_counts(ctx.firm)
    )


class RetryIn(In):
    item_ids: list[Id] | None = Field(
        None, max_length=10_000, description="Default: every failed item."
    )


class CountOut(Out):
    count: int


@router.post("/queue/retry", response={200: CountOut, **ERRORS}, summary="Retry failed items")
@idempotent
def queue_retry(request: HttpRequest, payload: RetryIn) -> CountOut:
    ctx = context(request)
    return CountOut(
        count=outbox.items_retry(firm=ctx.firm, actor=ctx.user, item_ids=payload.item_ids)
    )
