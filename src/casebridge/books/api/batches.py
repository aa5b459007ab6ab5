"""What the books' document endpoints share between a batch and its single endpoint (the
batch of one): checks, trust receipts and invoices are found or created by one path,
refused by item, and a batch answers its items with how many it created."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from django.http import HttpRequest
from ninja import Status

from casebridge.books.api.security import context
from casebridge.books.errors import DomainError
from casebridge.core.api.errors import at_index
from casebridge.core.api.lookups import Reference, require_in_firm

Item = TypeVar("Item")
Result = TypeVar("Result")


def documents_find_or_create(
    request: HttpRequest,
    items: Sequence[Item],
    *,
    located: bool,
    references: Callable[[Item, str], list[Reference]],
    service: Callable[..., list[Result]],
    service_request: Callable[[Item], Any],
) -> list[Result]:
    """The one path of a document's single and batch endpoints: every item's ids must be
    the caller's firm's (``references``: each item's, with the prefix of its field
    names), then the batch ``service`` finds or creates them all, all or nothing
    (``service_request``: an item as the service takes it). ``located``: a refusal names
    the item (``items[i]...``), as the batch's body has it; the single endpoint's
    refusals are as they always were."""
    ctx = context(request)
    prefix = "items[{}]." if located else ""
    require_in_firm(
        ctx.firm,
        [ref for i, item in enumerate(items) for ref in references(item, prefix.format(i))],
    )
    try:
        return service(
            firm=ctx.firm, actor=ctx.user, requests=[service_request(item) for item in items]
        )
    except DomainError as exc:
        index = exc.details.pop("index", None)  # the request refused, counted from 0
        if not located or not isinstance(index, int):
            raise
        raise at_index(exc, "items", index) from None


class _BatchItem(Protocol):
    created: bool


class _BatchOut(Protocol):
    def __init__(self, *, items: Sequence[_BatchItem], count: int, created: int) -> None: ...


Answer = TypeVar("Answer", bound=_BatchOut)


def batch_answer(answer: type[Answer], items: Sequence[_BatchItem]) -> Status[Answer]:
    """A batch endpoint's answer: its items, how many, how many were created by this
    request; 201 if any was, 200 if every one was already in the books."""
    created = sum(1 for item in items if item.created)
    return Status(201 if created else 200, answer(items=items, count=len(items), created=created))
