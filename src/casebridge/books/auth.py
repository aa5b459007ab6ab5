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
page. The session keys and the end of other sessions at a password change are
:mod:`casebridge.web.sessions`'s, shared with the cases side."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse

from casebridge.books.models import Role, User
from casebridge.books.roles import has_role, refusal
from casebridge.books.services import two_factor
from casebridge.core import timezones
from casebridge.web.sessions import SideSessions


def _load(user_id: int) -> User | None:
    return User.objects.select_related("firm").filter(pk=user_id, is_active=True).first()


def _remember(request: HttpRequest, user: User | None) -> None:
    request.books_user = user  # type: ignore[attr-defined]


SESSIONS: SideSessions[User] = SideSessions(
    "books", _load, flush_on_logout=True, remember=_remember
)
SESSION_KEY = SESSIONS.user_key
PENDING_KEY = SESSIONS.pending_key
SETUP_KEY = SESSIONS.setup_key
#: The books' screens (the API activates its token's firm's zone itself).
SCREENS_PREFIX = "/books/"

View = Callable[..., HttpResponse]
#: A view the decorators keep as it is typed: a page, or a streamed download.
AnyView = TypeVar("AnyView", bound=Callable[..., HttpResponseBase])


class BooksUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = SESSIONS.user(request)
        _remember(request, user)
        if user is not None and request.path.startswith(SCREENS_PREFIX):
            timezones.activate(user.firm.time_zone)  # "today" is the firm's on its screens
        return self.get_response(request)


session_login = SESSIONS.login
session_renew = SESSIONS.renew
session_logout = SESSIONS.logout
pending_start = SESSIONS.pending_start
pending_user = SESSIONS.pending_user
pending_next = SESSIONS.pending_next
pending_clear = SESSIONS.pending_clear


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
) -> Callable[[AnyView], AnyView]:
    """Signed in and enrolled; ``admin``: an administrator; ``role``: that role or above
    (a correction's pop-up, GET and POST), else 403 naming the role needed, nothing
    written. The role is read from the user at each request. The integration user (no
    second factor) reaches only the page marked ``integration_home``: 403 elsewhere."""

    def decorate(view: AnyView) -> AnyView:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
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

        # typed as the view it wraps: it answers that view's answer, a redirect or a 403 page
        return cast(AnyView, wrapper)

    return decorate
