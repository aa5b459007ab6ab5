"""The cases side's refusals, each with a stable machine code."""

from __future__ import annotations

from casebridge.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    SignInRefused,
    TooManyAttempts,
    ValidationFailed,
)

__all__ = [
    "Conflict",
    "DomainError",
    "FiguresChanged",
    "Locked",
    "MedicareHold",
    "NotFound",
    "PermissionDenied",
    "SignInRefused",
    "StagingExceedsTrust",
    "TooManyAttempts",
    "ValidationFailed",
]


class Locked(Conflict):
    """The item is accepted, paid, sent or pushed on and can no longer change that way."""

    code = "locked"


class StagingExceedsTrust(DomainError):
    """Staging would pay out more than the case holds in trust."""

    code = "staging_exceeds_trust"
    http_status = 409


class MedicareHold(Conflict):
    """The client's check waits for Medicare's final demand (issue 16): the client is a
    Medicare beneficiary or the case has a Medicare lien, and nothing settles what Medicare
    is owed yet (a final demand, the portal's final amount, a fixed-percentage election)
    nor does an administrator's override."""

    code = "medicare_hold"


class FiguresChanged(Conflict):
    """A lien reduction scenario confirmed after the figures it was computed from changed
    (review of issue 16): it is computed again and shown before anything is requested."""

    code = "figures_changed"
