"""The domain error hierarchy shared by every part.

Services raise a subclass of :class:`DomainError`; views render its ``message`` next to
the form, and the HTTP APIs turn it into ``{"error": {"code", "message", "field"}}`` with
its ``http_status``. A new failure mode gets a new subclass with a stable ``code``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class DomainError(Exception):
    """A refusal the user can act on. Never a bug: bugs are plain exceptions (and 500s).

    ``outlive`` holds what the refusal must record although the transaction it was raised
    in rolls back (a failed guess at a password, counted by the sign-in throttle in a
    database cache): whoever answers the refusal, outside that transaction (the APIs'
    error handler, the screens' :func:`~casebridge.web.popups.apply_domain_error`), runs
    :meth:`record_outliving` once."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details
        self.outlive: list[Callable[[], None]] = []

    def record_outliving(self) -> None:
        """Run what must outlive the rolled-back transaction (once)."""
        pending, self.outlive = self.outlive, []
        for record in pending:
            record()

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    code = "validation_error"
    http_status = 422


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


#: The one refusal of a sign-in, on both sides, screens and APIs alike: an unknown firm, an
#: unknown user, a wrong password and a deactivated user all read the same, so a stranger
#: learns nothing about which firms and users exist.
SIGN_IN_REFUSED_MESSAGE = "firm ID, email or password is not right"


class SignInRefused(DomainError):
    """A sign-in refused without saying which part was wrong (the audit trail says)."""

    code = "invalid_credentials"
    http_status = 401

    def __init__(self) -> None:
        super().__init__(SIGN_IN_REFUSED_MESSAGE, field="password")


class TooManyAttempts(DomainError):
    """Sign-ins from this address, or for this account, are backing off after failures
    (:mod:`casebridge.core.throttle`); ``details["retry_after"]`` is the wait in seconds,
    sent as ``Retry-After``."""

    code = "too_many_attempts"
    http_status = 429
