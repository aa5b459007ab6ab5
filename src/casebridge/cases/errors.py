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
    "Locked",
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
