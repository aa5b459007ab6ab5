"""The cases side's account screens: the second sign-in step, two-factor set-up, My
account, forgotten passwords and an administrator's resets. The views are the shared
kit's (:mod:`casebridge.web.account`); this module says what is the cases side's own:
its users, services, guards and pages."""

from __future__ import annotations

from casebridge.cases.auth import (
    SESSIONS,
    cases_admin_required,
    cases_login_required,
    current_user,
)
from casebridge.cases.models import User
from casebridge.cases.services import firms as auth_services
from casebridge.cases.services import two_factor
from casebridge.web.account import AccountScreens

SCREENS = AccountScreens(
    namespace="cases",
    issuer="cases",
    sessions=SESSIONS,
    password_services=auth_services,
    two_factor=two_factor,
    login_required=cases_login_required,
    admin_required=cases_admin_required("reset another user's sign-in"),
    current_user=current_user,
    user_model=User,
    home="case_list",
    users="settings_users",
)
