"""The books' own request/response building blocks; the shared ones (decimal-string
amounts, ids, paging, the error shape) are in :mod:`casebridge.core.api.schemas`."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

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
