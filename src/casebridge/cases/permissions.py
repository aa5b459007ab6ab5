"""Permission checks shared by services, screens and the API. A refusal names the
permission so the user knows what to ask an administrator for."""

from __future__ import annotations

from casebridge.cases.errors import PermissionDenied
from casebridge.cases.models import Permission, User


def require(user: User, permission: Permission) -> None:
    if not user.is_active or not user.has_permission(permission):
        raise PermissionDenied(
            f"this needs the '{permission.label}' permission; ask a firm administrator",
            permission=permission.value,
        )


def require_admin(user: User, what: str) -> None:
    if not user.is_active or not user.is_firm_admin:
        raise PermissionDenied(f"only a firm administrator can {what}", permission="firm_admin")


def require_settings_access(user: User) -> None:
    """Account Settings: firm administrators and holders of the settings permission."""
    require(user, Permission.ADMIN_SETTINGS)
