"""Web sessions for the books' own users (the books have their own user table, apart from
the cases side). The session holds ``books_user_id``; :class:`BooksUserMiddleware` puts
the user on ``request.books_user``, and :func:`books_login_required` guards views and
sends a user who has not enrolled a security question to enrollment first."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from casebridge.books.models import Role, User
from casebridge.books.roles import has_role, refusal

SESSION_KEY = "books_user_id"

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
        return self.get_response(request)


def session_login(request: HttpRequest, user: User) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = user.pk


def session_logout(request: HttpRequest) -> None:
    request.session.flush()


def current_user(request: HttpRequest) -> User | None:
    user: User | None = getattr(request, "books_user", None)
    return user


def books_login_required(
    *, admin: bool = False, role: Role | None = None, doing: str = "This"
) -> Callable[[View], View]:
    """Signed in and enrolled; ``admin``: an administrator; ``role``: that role or above
    (a correction's pop-up, GET and POST), else 403 naming the role needed, nothing
    written. The role is read from the user at each request."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = current_user(request)
            if user is None:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('books:login')}?{query}")
            if not user.is_enrolled:
                return redirect(reverse("books:enroll"))
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
