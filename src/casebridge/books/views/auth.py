"""Sign in, sign out, and the first-login security question (seed S2)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.books.auth import current_user, pending_start, session_login, session_logout
from casebridge.books.errors import TooManyAttempts
from casebridge.books.forms import STANDARD_QUESTIONS, EnrollForm, LoginForm
from casebridge.books.services import auth as auth_services
from casebridge.books.services import two_factor
from casebridge.books.views.account import SCREENS
from casebridge.core.errors import DomainError
from casebridge.core.throttle import client_address
from casebridge.web.popups import INVALID, apply_domain_error, safe_next, throttled

#: Where the login service's refusals belong on the form.
LOGIN_FIELDS = {"firm": "firm", "username": "email", "password": "password"}

ENROLLED_MESSAGE = "Your account is now authenticated for integrations."


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    dashboard = reverse("books:dashboard")
    if user is not None and request.method == "GET":
        return redirect(dashboard if user.is_enrolled else reverse("books:enroll"))
    status = 200
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = auth_services.user_authenticate(
                    firm_code=data["firm"],
                    email=data["email"],
                    password=data["password"],
                    ip_address=client_address(request),
                )
            except TooManyAttempts as exc:
                apply_domain_error(form, exc, LOGIN_FIELDS)
                return throttled(request, "books/login.html", {"form": form}, exc)
            except DomainError as exc:
                apply_domain_error(form, exc, LOGIN_FIELDS)
                status = INVALID
            else:
                next_url = safe_next(request, data.get("next"), dashboard)
                if two_factor.totp_applies(user):  # the code (or its set-up) comes first
                    pending_start(request, user, next_url)
                    return redirect(
                        "books:login_code" if user.has_totp else "books:two_factor_setup"
                    )
                session_login(request, user)
                return redirect(SCREENS.after_sign_in(user, next_url))
        else:
            status = INVALID
    else:
        form = LoginForm(initial={"next": request.GET.get("next", "")[:500]})
    return render(request, "books/login.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    session_logout(request)
    messages.info(request, "You have signed out.")
    return redirect("books:login")


@require_http_methods(["GET", "POST"])
def enroll_view(request: HttpRequest) -> HttpResponse:
    """Choose or write a security question and answer it twice. Afterwards the account is
    authenticated for integrations; there is no "session terminated" detour."""
    user = current_user(request)
    if user is None:
        return redirect(f"{reverse('books:login')}?next={reverse('books:enroll')}")
    if user.is_enrolled:
        return redirect("books:dashboard")
    status = 200
    if request.method == "POST":
        form = EnrollForm(request.POST)
        if form.is_valid():
            try:
                auth_services.security_question_enroll(
                    user=user,
                    question=form.cleaned_data["question"],
                    answer=form.cleaned_data["answer"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"question": form.question_field})
                status = INVALID
            else:
                messages.success(request, ENROLLED_MESSAGE)
                return redirect("books:dashboard")
        else:
            status = INVALID
    else:
        form = EnrollForm()
    return render(
        request,
        "books/enroll.html",
        {"form": form, "enroll_user": user, "standard_questions": STANDARD_QUESTIONS},
        status=status,
    )
