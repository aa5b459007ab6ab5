"""The books' own request/response building blocks; the shared ones (decimal-string
amounts, ids, paging, the error shape) are in :mod:`casebridge.core.api.schemas`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, TypeVar

from ninja import Status
from pydantic import Field

from casebridge.books.errors import DomainError
from casebridge.core.api.errors import at_index
from casebridge.core.api.schemas import In, Out


class AccountRef(Out):
    id: int
    number: str
    name: str
    type: str = Field(description="asset, liability, equity, income or expense.")
    role: str = Field(
        description='What the books post to it by role ("advanced_costs", "fee_income", ...); '
        '"" for an account with no role.'
    )


class VoidIn(In):
    """Void or reverse: dated ``void_date`` (default today), with an optional reason."""

    void_date: dt.date | None = None
    reason: str = Field(default="", max_length=255)


#: The body of a void sent without one (every field has a default).
VOID_DEFAULTS = VoidIn()


class _BatchItem(Protocol):
    created: bool


class _BatchOut(Protocol):
    def __init__(self, *, items: Sequence[_BatchItem], count: int, created: int) -> None: ...


B = TypeVar("B", bound=_BatchOut)


def batch_answer(answer: type[B], items: Sequence[_BatchItem]) -> Status[B]:
    """A batch endpoint's answer: its items, how many, how many were created by this
    request; 201 if any was, 200 if every one was already in the books."""
    created = sum(1 for item in items if item.created)
    return Status(201 if created else 200, answer(items=items, count=len(items), created=created))


def item_refusal(exc: DomainError, *, located: bool) -> DomainError:
    """A batch service's refusal (``details["index"]``: the request refused) as a
    document endpoint answers it: named ``items[i]...`` by the batch (``located``), and as
    before by the single endpoint, which is a batch of one."""
    index = exc.details.pop("index", None)
    if not located or not isinstance(index, int):
        return exc
    return at_index(exc, "items", index)
