"""Web sessions for the books' own users (the books have their own user table, apart from
the cases side). The session holds ``books_user_id``; :class:`BooksUserMiddleware` puts
the user on ``request.books_user``, and :func:`books_login_required` guards views and
sends a user who has not enrolled a security question to enrollment first.

A sign-in that needs a second factor (issue 13) is *pending* between the password and the
code: the session holds ``books_pending_signin`` (the user's id, since when, where to go
next) for :data:`~casebridge.core.twofactor.PENDING_SECONDS`, not ``books_user_id``; only
the code (or, for a user who must have one and has none, enrolment) starts the session.
A signed-in user who must have a second factor and has none (an administrator reset it)
is sent to set it up, and one whose password was reset to choose a new one, before any
page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from casebridge.books.models import Role, User
from casebridge.books.roles import has_role, refusal
from casebridge.books.services import two_factor
from casebridge.core import clock, timezones, twofactor

SESSION_KEY = "books_user_id"
PENDING_KEY = "books_pending_signin"
#: The secret being set up (encrypted), until a code confirms it.
SETUP_KEY = "books_totp_setup"
#: The books' screens (the API activates its token's firm's zone itself).
SCREENS_PREFIX = "/books/"

View = Callable[..., HttpResponse]


class BooksUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        user = None
        if user_id is not None:
            user = User.objects.select_related("firm").filter(pk=user_id, is_active=True).first()
        request.books_user = user  # type: ignore[attr-defined]
        if user is not None and request.path.startswith(SCREENS_PREFIX):
            timezones.activate(user.firm.time_zone)  # "today" is the firm's on its screens
        return self.get_response(request)


def session_login(request: HttpRequest, user: User) -> None:
    request.session.cycle_key()
    request.session.pop(PENDING_KEY, None)
    request.session.pop(SETUP_KEY, None)
    request.session[SESSION_KEY] = user.pk


def pending_start(request: HttpRequest, user: User, next_url: str) -> None:
    """The password was right; the code is still to come. Not signed in."""
    request.session.cycle_key()
    request.session.pop(SESSION_KEY, None)
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "at": clock.now().timestamp(),
        "next": next_url,
    }


def pending_user(request: HttpRequest) -> User | None:
    """The user of a pending sign-in still within its time, else None (and forgotten)."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    age = clock.now().timestamp() - float(pending.get("at", 0))
    user = None
    user_id = pending.get("user_id")
    if 0 <= age <= twofactor.PENDING_SECONDS and isinstance(user_id, int):
        user = User.objects.select_related("firm").filter(pk=user_id, is_active=True).first()
    if user is None:
        pending_clear(request)
    return user


def pending_next(request: HttpRequest) -> str:
    pending = request.session.get(PENDING_KEY)
    return str(pending.get("next", "")) if isinstance(pending, dict) else ""


def pending_clear(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(SETUP_KEY, None)


def session_logout(request: HttpRequest) -> None:
    request.session.flush()


def current_user(request: HttpRequest) -> User | None:
    user: User | None = getattr(request, "books_user", None)
    return user


def books_user(request: HttpRequest) -> User:
    """The signed-in user of a view guarded by ``books_login_required``."""
    user = current_user(request)
    if user is None:  # pragma: no cover - the decorator redirects first
        raise DjangoPermissionDenied
    return user


#: The designated integration user signs in with a password and its security question, never
#: a second factor: on the screens it only enrols that question and sees its home page.
INTEGRATION_USER_SCREENS = (
    "The integration user signs case management into the books; it has no screens of its "
    "own beyond its security question. Sign in as yourself to use the books."
)


def books_login_required(
    *,
    admin: bool = False,
    role: Role | None = None,
    doing: str = "This",
    integration_home: bool = False,
) -> Callable[[View], View]:
    """Signed in and enrolled; ``admin``: an administrator; ``role``: that role or above
    (a correction's pop-up, GET and POST), else 403 naming the role needed, nothing
    written. The role is read from the user at each request. The integration user (no
    second factor) reaches only the page marked ``integration_home``: 403 elsewhere."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = current_user(request)
            if user is None:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('books:login')}?{query}")
            if two_factor.totp_required(user) and not user.has_totp:
                return redirect(reverse("books:two_factor_setup"))
            if user.must_change_password:
                return redirect(reverse("books:password_change"))
            if not user.is_enrolled:
                return redirect(reverse("books:enroll"))
            if user.is_integration_user and not integration_home:
                return render(
                    request,
                    "books/forbidden.html",
                    {"reason": INTEGRATION_USER_SCREENS, "heading": "Not for the integration user"},
                    status=403,
                )
            if admin and not user.is_admin:
                reason = "This page is for firm administrators; ask one to change this setting."
                return render(request, "books/forbidden.html", {"reason": reason}, status=403)
            if role is not None and not has_role(user, role):
                message = refusal(user, role, doing).message
                return render(
                    request,
                    "books/forbidden.html",
                    {
                        "reason": f"{message}. Ask an administrator.",
                        "heading": f"{role.label}s and above only",
                    },
                    status=403,
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
