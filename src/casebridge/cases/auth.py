"""Web sessions for the cases side's users (a user table of its own, apart from the books).

The session holds ``cases_user_id``. No middleware is needed: :func:`current_user` loads
the user on first use and keeps it on ``request.cases_user``. The decorators guard views:

- :func:`cases_login_required` sends an anonymous visitor to the sign-in page;
- :func:`cases_permission_required` also answers 403 with a page naming the permission
  the user lacks (the refusal of :mod:`casebridge.cases.permissions`, word for word);
- :func:`cases_settings_required` is Account Settings: firm administrators and holders of
  the "Administration settings page access" permission.

A sign-in that needs a second factor (issue 13) is *pending* between the password and the
code: the session holds ``cases_pending_signin`` (the user's id, since when, where to go
next) for :data:`~casebridge.core.twofactor.PENDING_SECONDS`, not ``cases_user_id``; only
the code (or, for a user who must have one and has none, enrolment) starts the session.
Every guard sends a signed-in user who must have a second factor and has none (an
administrator reset it, or a permission was granted since) to set it up, and one whose
password was reset to choose a new one, before any page. The session keys and the end of
other sessions at a password change are :mod:`casebridge.web.sessions`'s, shared with the
books.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from casebridge.cases.errors import PermissionDenied
from casebridge.cases.models import Permission, User
from casebridge.cases.permissions import require, require_admin, require_settings_access
from casebridge.cases.services import two_factor
from casebridge.core import timezones
from casebridge.web.sessions import SideSessions

SCREENS_PREFIX = "/cases/"
API_PREFIX = "/cases/api/"
#: Where the user is cached on the request (templates read ``request.cases_user``).
REQUEST_ATTR = "cases_user"
#: What the user may do, for templates (``request.cases_can.deposit``...).
CAN_ATTR = "cases_can"


@dataclass(frozen=True)
class Capabilities:
    """The permissions a screen shows or hides actions by (the services check them too)."""

    costs_management: bool = False
    deposit: bool = False
    settings: bool = False
    admin: bool = False

    @classmethod
    def of(cls, user: User | None) -> Capabilities:
        if user is None:
            return cls()
        return cls(
            costs_management=user.has_permission(Permission.COSTS_MANAGEMENT),
            deposit=user.has_permission(Permission.DEPOSIT_SETTLEMENT),
            settings=user.has_permission(Permission.ADMIN_SETTINGS),
            admin=user.is_firm_admin,
        )


View = Callable[..., HttpResponse]


def current_user(request: HttpRequest) -> User | None:
    """The signed-in cases user, loaded once per request; None when signed out or when the
    user has since been deactivated."""
    if hasattr(request, REQUEST_ATTR):
        cached: User | None = getattr(request, REQUEST_ATTR)
        return cached
    user = SESSIONS.user(request)
    _remember(request, user)
    return user


def cases_user(request: HttpRequest) -> User:
    """The signed-in user of a view guarded by one of the ``cases_*_required`` decorators."""
    user = current_user(request)
    if user is None:  # pragma: no cover - the decorator redirects first
        raise DjangoPermissionDenied
    return user


class CasesTimeZoneMiddleware:
    """On the cases side's screens, "today" is the signed-in user's firm's (the APIs
    activate their token's firm's zone; core.timezones.TimeZoneReset puts it back)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(SCREENS_PREFIX) and not request.path.startswith(API_PREFIX):
            user = current_user(request)
            if user is not None:
                timezones.activate(user.firm.time_zone)
        return self.get_response(request)


def _remember(request: HttpRequest, user: User | None) -> None:
    setattr(request, REQUEST_ATTR, user)
    setattr(request, CAN_ATTR, Capabilities.of(user))


def _load(user_id: int) -> User | None:
    return User.objects.select_related("firm").filter(pk=user_id, is_active=True).first()


SESSIONS: SideSessions[User] = SideSessions("cases", _load, remember=_remember)
SESSION_KEY = SESSIONS.user_key
PENDING_KEY = SESSIONS.pending_key
SETUP_KEY = SESSIONS.setup_key


def capabilities(request: HttpRequest) -> Capabilities:
    current_user(request)
    can: Capabilities = getattr(request, CAN_ATTR)
    return can


session_login = SESSIONS.login
session_renew = SESSIONS.renew
#: Sign out of the cases side only (a books session in the same browser stays).
session_logout = SESSIONS.logout
pending_start = SESSIONS.pending_start
pending_user = SESSIONS.pending_user
pending_next = SESSIONS.pending_next
pending_clear = SESSIONS.pending_clear


def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """The 403 page: what is missing and whom to ask."""
    reason = exc.message[:1].upper() + exc.message[1:]
    if not reason.endswith("."):
        reason += "."
    permission = str(exc.details.get("permission", ""))
    label = Permission(permission).label if permission in Permission.values else ""
    return render(
        request,
        "cases/forbidden.html",
        {"reason": reason, "permission": permission, "permission_label": label},
        status=403,
    )


def _guard(check: Callable[[User], None] | None) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = current_user(request)
            if user is None:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('cases:login')}?{query}")
            if two_factor.totp_required(user) and not user.has_totp:
                return redirect(reverse("cases:two_factor_setup"))
            if user.must_change_password:
                return redirect(reverse("cases:password_change"))
            if check is not None:
                try:
                    check(user)
                except PermissionDenied as exc:
                    return forbidden(request, exc)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def cases_login_required(view: View) -> View:
    """Any signed-in user of the cases side."""
    return _guard(None)(view)


def cases_permission_required(permission: Permission) -> Callable[[View], View]:
    """A signed-in user holding ``permission`` (firm administrators hold every one)."""
    return _guard(lambda user: require(user, permission))


def cases_settings_required(view: View) -> View:
    """Account Settings: firm administrators and the administration settings permission."""
    return _guard(require_settings_access)(view)


def cases_admin_required(what: str) -> Callable[[View], View]:
    """Firm administrators only; ``what`` completes "only a firm administrator can ..."."""
    return _guard(lambda user: require_admin(user, what))
