"""The bridge's refusals, each with a stable machine code (shown in the UI and the API)."""

from __future__ import annotations

from casebridge.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed

__all__ = [
    "BooksAddressRefused",
    "BooksRefused",
    "Conflict",
    "DomainError",
    "NotConnected",
    "NotReadYet",
    "NotReady",
    "PermissionDenied",
    "ValidationFailed",
]


class NotConnected(Conflict):
    """The integration is not activated (or was deactivated)."""

    code = "integration_not_connected"


class NotReady(Conflict):
    """A readiness check that this action needs is failing; the message names it."""

    code = "integration_not_ready"


class NotReadYet(Conflict):
    """What this needs from the books has not been read by the worker yet; it is being
    read now (ADR 0008). Try again in a moment."""

    code = "books_not_read_yet"


class BooksRefused(DomainError):
    """The books answered with a refusal (wrong password, not enrolled, unreachable...);
    ``code`` is the books' own code, the message says what to do about it."""

    http_status = 422

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class BooksAddressRefused(DomainError):
    """The books address may not be reached (issue 13: the allow-list, checked after DNS);
    ``code`` is the check's stable ``books_address_*`` code, the message says what to do."""

    http_status = 422

    def __init__(self, code: str, message: str, *, field: str | None = "books_url") -> None:
        super().__init__(message, field=field)
        self.code = code
