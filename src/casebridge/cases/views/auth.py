"""Sign in and sign out of the cases side (firm ID, email and password)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.cases.auth import current_user, pending_start, session_login, session_logout
from casebridge.cases.forms import LoginForm
from casebridge.cases.services import firms as firm_services
from casebridge.cases.services import two_factor
from casebridge.core.errors import DomainError, TooManyAttempts
from casebridge.core.throttle import client_address
from casebridge.web.popups import INVALID, apply_domain_error, safe_next


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    home = reverse("cases:case_list")
    if current_user(request) is not None and request.method == "GET":
        return redirect(safe_next(request, request.GET.get("next"), home))
    status = 200
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = firm_services.user_authenticate(
                    firm_code=data["firm"],
                    email=data["email"],
                    password=data["password"],
                    ip_address=client_address(request),
                )
            except TooManyAttempts as exc:
                apply_domain_error(form, exc)
                response = render(request, "cases/login.html", {"form": form}, status=429)
                response["Retry-After"] = str(int(exc.details["retry_after"]))
                return response
            except DomainError as exc:
                apply_domain_error(form, exc)
                status = INVALID
            else:
                next_url = safe_next(request, data.get("next"), home)
                if two_factor.totp_applies(user):  # the code (or its set-up) comes first
                    pending_start(request, user, next_url)
                    return redirect(
                        "cases:login_code" if user.has_totp else "cases:two_factor_setup"
                    )
                session_login(request, user)
                return redirect(next_url)
        else:
            status = INVALID
    else:
        form = LoginForm(initial={"next": request.GET.get("next", "")[:500]})
    return render(request, "cases/login.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    session_logout(request)
    messages.info(request, "You have signed out.")
    return redirect("cases:login")
