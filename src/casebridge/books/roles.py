"""Which role an action needs, checked in one place by the services, the screens and the
API (issue 13).

Corrections (voiding a check, a trust receipt or an invoice, reversing a journal entry,
unmatching a statement line or recording one as a new entry) need the accountant role or
the administrator's; staff may enter and match but not undo. The refusal names the role
needed and the user's own. A call without an actor (the nightly tasks, a management
command) is the system's and is not refused here.
"""

from __future__ import annotations

from casebridge.books.errors import RoleRequired
from casebridge.books.models import ROLE_RANK, Role, User

#: The role every correction needs (or any role above it).
CORRECTIONS = Role.ACCOUNTANT


def has_role(user: User, needed: Role) -> bool:
    return ROLE_RANK[Role(user.role)] >= ROLE_RANK[needed]


def refusal(user: User, needed: Role, doing: str) -> RoleRequired:
    """``Voiding a check needs the accountant role (or administrator); your role is staff``."""
    above = [r for r in Role if ROLE_RANK[r] > ROLE_RANK[needed]]
    also = f" (or {', '.join(r.label.lower() for r in above)})" if above else ""
    return RoleRequired(
        f"{doing} needs the {needed.label.lower()} role{also}; your role is "
        f"{Role(user.role).label.lower()}",
        required_role=needed.value,
        role=user.role,
    )


def require_role(actor: User | None, needed: Role, *, doing: str) -> None:
    """Refuse (403 ``role_required``) unless ``actor``'s role is ``needed`` or above.
    ``doing`` starts the message: "Voiding a check"."""
    if actor is not None and not has_role(actor, needed):
        raise refusal(actor, needed, doing)
