"""The books' account screens: the second sign-in step, two-factor set-up, My account,
forgotten passwords and an administrator's resets. The views are the shared kit's
(:mod:`casebridge.web.account`); this module says what is the books' own: their users,
services and guards, the security question a user owes before any page, and the
integration user, who has no second factor and no screens beyond its question."""

from __future__ import annotations

from casebridge.books.auth import SESSIONS, books_login_required, current_user
from casebridge.books.models import User
from casebridge.books.services import auth as auth_services
from casebridge.books.services import two_factor
from casebridge.web.account import AccountScreens


def _owes(user: User) -> str:
    return "enroll" if not user.is_enrolled and not user.is_integration_user else ""


SCREENS = AccountScreens(
    namespace="books",
    issuer="books",
    sessions=SESSIONS,
    password_services=auth_services,
    two_factor=two_factor,
    login_required=books_login_required(),
    admin_required=books_login_required(admin=True),
    current_user=current_user,
    user_model=User,
    home="dashboard",
    users="users",
    owes=_owes,
    screenless=lambda user: bool(user.is_integration_user),
)
