"""The books' refusals, each with a stable machine code for API clients."""

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
    "AdminRequired",
    "AuthenticationFailed",
    "Conflict",
    "DomainError",
    "EntryUnbalanced",
    "ExternalRefConflict",
    "IdempotencyKeyReused",
    "IntegrationNotAllowed",
    "InvalidToken",
    "NotFound",
    "PeriodClosed",
    "PermissionDenied",
    "ReauthenticationRequired",
    "RecordsTimeOff",
    "RoleRequired",
    "SecurityQuestionAlreadyEnrolled",
    "SecurityQuestionNotEnrolled",
    "SignInRefused",
    "TooManyAttempts",
    "TrustNotMatched",
    "TrustOverdraw",
    "ValidationFailed",
]


class EntryUnbalanced(ValidationFailed):
    code = "entry_unbalanced"


class TrustNotMatched(ValidationFailed):
    """Money moved in a client trust bank account without the clients' ledgers moving
    with it (or the other way round): trust money always belongs to a client file."""

    code = "trust_not_matched"


class IdempotencyKeyReused(Conflict):
    """The same idempotency key was sent with different content."""

    code = "idempotency_key_reused"


class ExternalRefConflict(Conflict):
    """A record with this ``external_ref`` already exists in the firm but differs from the
    request: the sender reused its id for something else. The details name the record
    (``check_id``, ``receipt_id``, ``invoice_id``)."""

    code = "external_ref_conflict"


class AdminRequired(PermissionDenied):
    """Only a books administrator may do this (e.g. post raw journal entries by API)."""

    code = "admin_required"


class IntegrationNotAllowed(PermissionDenied):
    """The integration user's token asked for something the bridge never does."""

    code = "integration_not_allowed"


class RoleRequired(PermissionDenied):
    """The user's role (read at each request, so a demotion applies at once) is below what
    the action needs. The details name both: ``required_role`` and ``role``."""

    code = "role_required"


class RecordsTimeOff(ValidationFailed):
    """A fee line names a user without Records Time (seed S5)."""

    code = "records_time_off"


class TrustOverdraw(DomainError):
    """A disbursement would take a client's trust below zero. Carries what is available."""

    code = "insufficient_trust_funds"
    http_status = 409


class AuthenticationFailed(DomainError):
    """A signed-in person's own proof did not hold (the current password at a change, a
    security answer at renewal). A sign-in's refusal is :class:`SignInRefused`."""

    code = "invalid_credentials"
    http_status = 401


class SecurityQuestionNotEnrolled(DomainError):
    code = "security_question_not_enrolled"
    http_status = 403


class SecurityQuestionAlreadyEnrolled(Conflict):
    """A question is changed on the screens, signed in (the API only enrolls the first)."""

    code = "security_question_already_enrolled"


class ReauthenticationRequired(DomainError):
    code = "reauthentication_required"
    http_status = 401


class InvalidToken(DomainError):
    code = "invalid_token"
    http_status = 401


class PeriodClosed(Conflict):
    """The date falls in a closed period: a month of a bank account closed by a signed
    reconciliation, or the firm-wide close. A correction is a reversal dated in an open
    period; an administrator may reopen the period, with a reason."""

    code = "period_closed"
