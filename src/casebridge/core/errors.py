"""The domain error hierarchy shared by every part.

Services raise a subclass of :class:`DomainError`; views render its ``message`` next to
the form, and the HTTP APIs turn it into ``{"error": {"code", "message", "field"}}`` with
its ``http_status``. A new failure mode gets a new subclass with a stable ``code``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on. Never a bug: bugs are plain exceptions (and 500s)."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

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
