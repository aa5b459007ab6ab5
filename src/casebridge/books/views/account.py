"""The second sign-in step, two-factor set-up, My account (two factors, recovery codes,
password), forgotten passwords, and an administrator's resets (issue 13)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.books.auth import (
    SETUP_KEY,
    books_login_required,
    books_user,
    current_user,
    pending_clear,
    pending_next,
    pending_user,
    session_login,
)
from casebridge.books.models import User
from casebridge.books.services import auth as auth_services
from casebridge.books.services import two_factor
from casebridge.core import passwords, twofactor
from casebridge.core.errors import DomainError
from casebridge.core.throttle import client_address
from casebridge.web.forms import (
    CodeForm,
    NewPasswordForm,
    PasswordChangeForm,
    PasswordForgotForm,
    TemporaryPasswordForm,
)
from casebridge.web.popups import (
    INVALID,
    apply_domain_error,
    finish,
    message_of,
    popup_form,
    render_modal,
)

TIMED_OUT = "Your sign-in timed out or was not started; sign in again."
FORGOT_SENT = (
    "If that firm has an active user with that email, a link to reset the password is on "
    "its way. It works once, within an hour."
)


def _status(exc: DomainError) -> int:
    return 429 if isinstance(exc, twofactor.TooManyCodes) else INVALID


def _after_sign_in(request: HttpRequest, user: User, next_url: str) -> str:
    if user.must_change_password:
        return reverse("books:password_change")
    if not user.is_enrolled and not user.is_integration_user:
        return reverse("books:enroll")
    return next_url or reverse("books:dashboard")


@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    """The second step: the code from the authenticator app (or a recovery code)."""
    user = pending_user(request)
    if user is None:
        messages.info(request, TIMED_OUT)
        return redirect("books:login")
    if not user.has_totp:
        return redirect("books:two_factor_setup")
    status = 200
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            used = two_factor.totp_check(
                user=user, code=form.cleaned_data["code"], ip_address=client_address(request)
            )
        except DomainError as exc:
            apply_domain_error(form, exc, {"totp": "code"})
            status = _status(exc)
            if status == 429:
                pending_clear(request)
        else:
            next_url = pending_next(request)
            session_login(request, user)
            if used == "recovery":
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Make new ones under "
                    "My account if you are running out.",
                )
            return redirect(_after_sign_in(request, user, next_url))
    elif request.method == "POST":
        status = INVALID
    return render(request, "books/login_code.html", {"form": form, "who": user}, status=status)


def _setup_secret(request: HttpRequest) -> str:
    stored = request.session.get(SETUP_KEY)
    secret = twofactor.decrypt_secret(stored) if isinstance(stored, str) else None
    if secret is None:
        secret = twofactor.new_secret()
        request.session[SETUP_KEY] = twofactor.encrypt_secret(secret)
    return secret


@require_http_methods(["GET", "POST"])
def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    """Set up (or again) the authenticator app: the secret as text and as a QR code, then a
    code to confirm. At a pending sign-in (a user who must have one) the session starts
    only when it is confirmed."""
    user = current_user(request)
    signing_in = user is None
    if user is None:
        user = pending_user(request)
    if user is None:
        messages.info(request, TIMED_OUT)
        return redirect("books:login")
    if signing_in and user.has_totp:  # a pending sign-in never replaces the secret it needs
        return redirect("books:login_code")
    if user.is_integration_user:
        return redirect("books:dashboard")
    secret = _setup_secret(request)
    status = 200
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.totp_enrol(user=user, secret=secret, code=form.cleaned_data["code"])
        except DomainError as exc:
            apply_domain_error(form, exc, {"totp": "code"})
            status = _status(exc)
            if status == 429 and signing_in:
                pending_clear(request)
        else:
            request.session.pop(SETUP_KEY, None)
            next_url = reverse("books:account")
            if signing_in:
                next_url = pending_next(request)
                session_login(request, user)
            return render(
                request,
                "books/recovery_codes.html",
                {"codes": codes, "continue_url": _after_sign_in(request, user, next_url)},
            )
    elif request.method == "POST":
        status = INVALID
    uri = twofactor.provisioning_uri(secret, f"{user.email} ({user.firm.code}, books)")
    return render(
        request,
        "books/two_factor_setup.html",
        {
            "form": form,
            "who": user,
            "signing_in": signing_in,
            "required": two_factor.totp_required(user),
            "secret": twofactor.secret_grouped(secret),
            "qr": mark_safe(twofactor.qr_svg(uri)),  # noqa: S308 - segno's own SVG
        },
        status=status,
    )


@books_login_required()
def account_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)
    return render(
        request,
        "books/account.html",
        {
            "nav": "account",
            "required": two_factor.totp_required(me),
            "codes_left": two_factor.recovery_codes_left(me) if me.has_totp else 0,
            "disable_form": CodeForm(),
        },
    )


@books_login_required()
@require_POST
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)
    try:
        codes = two_factor.recovery_codes_regenerate(user=me)
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return redirect("books:account")
    return render(
        request,
        "books/recovery_codes.html",
        {"codes": codes, "continue_url": reverse("books:account")},
    )


@books_login_required()
@require_POST
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            two_factor.totp_disable(user=me, code=form.cleaned_data["code"])
        except DomainError as exc:
            apply_domain_error(form, exc)  # above the form: the field may not be shown
        else:
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("books:account")
    return render(
        request,
        "books/account.html",
        {
            "nav": "account",
            "required": two_factor.totp_required(me),
            "codes_left": two_factor.recovery_codes_left(me) if me.has_totp else 0,
            "disable_form": form,
        },
        status=INVALID,
    )


@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    """Change your password (My account), or choose a new one after an administrator's
    reset: reachable before anything else for that user."""
    me = current_user(request)
    if me is None:
        return redirect(f"{reverse('books:login')}?next={reverse('books:password_change')}")

    def change(form: PasswordChangeForm) -> HttpResponse:
        auth_services.password_change(
            user=me,
            current_password=form.cleaned_data["current_password"],
            new_password=form.cleaned_data["new_password"],
            ip_address=client_address(request),
        )
        messages.success(request, "Your password is changed.")
        return redirect(_after_sign_in(request, me, reverse("books:dashboard")))

    return popup_form(
        request,
        PasswordChangeForm,
        on_valid=change,
        template="books/password_change.html",
        context={"who": me},
        modal=False,
    )


@require_http_methods(["GET", "POST"])
def password_forgot_view(request: HttpRequest) -> HttpResponse:
    if not passwords.email_configured():
        messages.info(request, "Password reset by email is not set up here; ask an administrator.")
        return redirect("books:login")

    def send(form: PasswordForgotForm) -> HttpResponse:
        link_base = request.build_absolute_uri(reverse("books:password_reset", args=["x"]))[:-2]
        auth_services.password_reset_link_send(
            firm_code=form.cleaned_data["firm"],
            email=form.cleaned_data["email"],
            link_base=link_base,
            ip_address=client_address(request),
        )
        messages.info(request, FORGOT_SENT)
        return redirect("books:login")

    return popup_form(
        request,
        PasswordForgotForm,
        on_valid=send,
        template="books/password_forgot.html",
        modal=False,
    )


@require_http_methods(["GET", "POST"])
def password_reset_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        who = auth_services.password_reset_link_user(token)
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return redirect("books:password_forgot")

    def reset(form: NewPasswordForm) -> HttpResponse:
        auth_services.password_reset_by_link(
            token=token,
            new_password=form.cleaned_data["new_password"],
            ip_address=client_address(request),
        )
        messages.success(request, "Your password is reset; sign in with it.")
        return redirect("books:login")

    return popup_form(
        request,
        NewPasswordForm,
        on_valid=reset,
        template="books/password_reset.html",
        context={"who": who},
        modal=False,
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def user_password_reset_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    target = get_object_or_404(User, firm=me.firm, pk=pk)

    def reset(form: TemporaryPasswordForm) -> str:
        auth_services.password_reset_by_admin(
            user=target, actor=me, temporary_password=form.cleaned_data["temporary_password"]
        )
        return f"Password of {target.email} reset; they choose a new one at their next sign-in."

    return popup_form(
        request,
        TemporaryPasswordForm,
        on_valid=reset,
        template="books/users/_password_reset_form.html",
        title=f"Reset the password of {target.display_name}",
        success=reverse("books:users"),
        context={"target": target},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def user_two_factor_reset_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    target = get_object_or_404(User, firm=me.firm, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            two_factor.totp_reset(user=target, actor=me)
        except DomainError as exc:
            error = message_of(exc)
        else:
            return finish(
                request,
                reverse("books:users"),
                f"Two-factor sign-in of {target.email} reset; they set it up again at their "
                "next sign-in.",
            )
    return render_modal(
        request,
        "books/users/_two_factor_reset_form.html",
        {"target": target, "error": error},
        title=f"Reset two-factor sign-in of {target.display_name}",
        status=INVALID if error else 200,
        back_url=reverse("books:users"),
    )
