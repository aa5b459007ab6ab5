"""The sign-in screens both sides share (issue 13, one kit since issue 14): the second
sign-in step, two-factor set-up, My account (two factors, recovery codes, password),
forgotten passwords, and an administrator's resets of another user's password or second
factor.

Each side builds one :class:`AccountScreens` with what differs: its URL namespace, its
sessions (:mod:`casebridge.web.sessions`), its guards, its services (each side's own
user table and audit trail: they meet :class:`PasswordServices` and
:class:`TwoFactorServices`), its home page and its users list. The templates are
``web/account/*.html``, extending the side's own layout. This module imports neither
side (they never import each other).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.core import passwords, twofactor
from casebridge.core.errors import DomainError, TooManyAttempts
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
from casebridge.web.sessions import SideSessions

TIMED_OUT = "Your sign-in timed out or was not started; sign in again."
FORGOT_SENT = (
    "If that firm has an active user with that email, a link to reset the password is on "
    "its way. It works once, within an hour."
)

View = Callable[..., HttpResponse]


class PasswordServices(Protocol):
    """A side's password services (``books.services.auth``, ``cases.services.firms``)."""

    def password_change(
        self, *, user: Any, current_password: str, new_password: str, ip_address: str = ""
    ) -> Any: ...

    def password_reset_by_admin(self, *, user: Any, actor: Any, temporary_password: str) -> Any: ...

    def password_reset_link_send(
        self, *, firm_code: str, email: str, link_base: str, ip_address: str = ""
    ) -> None: ...

    def password_reset_link_user(self, token: str) -> Any: ...

    def password_reset_by_link(
        self, *, token: str, new_password: str, ip_address: str = ""
    ) -> Any: ...


class TwoFactorServices(Protocol):
    """A side's second-factor services (``<side>.services.two_factor``)."""

    def totp_required(self, user: Any) -> bool: ...

    def totp_check(self, *, user: Any, code: str, ip_address: str = "") -> str: ...

    def totp_enrol(self, *, user: Any, secret: str, code: str) -> list[str]: ...

    def totp_disable(self, *, user: Any, code: str) -> None: ...

    def totp_reset(self, *, user: Any, actor: Any) -> Any: ...

    def recovery_codes_regenerate(self, *, user: Any) -> list[str]: ...

    def recovery_codes_left(self, user: Any) -> int: ...


def _status(exc: DomainError) -> int:
    return 429 if isinstance(exc, twofactor.TooManyCodes | TooManyAttempts) else INVALID


@dataclass(frozen=True)
class AccountScreens:
    """One side's account screens; its views are this object's methods."""

    #: The URL namespace (``books``, ``cases``): every URL name below is in it.
    namespace: str
    #: The name shown in the authenticator app beside the email ("books", "cases").
    issuer: str
    sessions: SideSessions[Any]
    password_services: PasswordServices
    two_factor: TwoFactorServices
    #: Guards: any signed-in user; a firm administrator (for the resets).
    login_required: Callable[[View], View]
    admin_required: Callable[[View], View]
    #: The signed-in user of a request (None when signed out).
    current_user: Callable[[HttpRequest], Any]
    user_model: type[Any]
    home: str
    users: str
    #: Where a signed-in user still owes something before their first page (the books'
    #: security question), as a URL name, or "".
    owes: Callable[[Any], str] = field(default=lambda user: "")
    #: Users with no second factor and no screens of their own (the books' integration
    #: user): two-factor set-up sends them home.
    screenless: Callable[[Any], bool] = field(default=lambda user: False)

    # -- what the templates are given --------------------------------------------------

    def url(self, name: str, *args: Any) -> str:
        return reverse(f"{self.namespace}:{name}", args=args)

    def context(self, **values: Any) -> dict[str, Any]:
        names = ("login", "login_code", "two_factor_setup", "account", "recovery_codes")
        more = ("two_factor_disable", "password_change", "password_forgot")
        return {
            "side": {
                "base": f"{self.namespace}/base.html",
                "auth_base": f"{self.namespace}/auth_base.html",
                "urls": {name: self.url(name) for name in (*names, *more)},
            },
            **values,
        }

    def after_sign_in(self, user: Any, next_url: str) -> str:
        if user.must_change_password:
            return self.url("password_change")
        owed = self.owes(user)
        if owed:
            return self.url(owed)
        return next_url or self.url(self.home)

    def _me(self, request: HttpRequest) -> Any:
        return self.current_user(request)

    # -- the second step and two-factor set-up -------------------------------------------

    def login_code_view(self, request: HttpRequest) -> HttpResponse:
        """The second step: the code from the authenticator app (or a recovery code)."""
        user = self.sessions.pending_user(request)
        if user is None:
            messages.info(request, TIMED_OUT)
            return redirect(self.url("login"))
        if not user.has_totp:
            return redirect(self.url("two_factor_setup"))
        status = 200
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                used = self.two_factor.totp_check(
                    user=user, code=form.cleaned_data["code"], ip_address=client_address(request)
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"totp": "code"})
                status = _status(exc)
                if status == 429:
                    self.sessions.pending_clear(request)
            else:
                next_url = self.sessions.pending_next(request)
                self.sessions.login(request, user)
                if used == "recovery":
                    left = self.two_factor.recovery_codes_left(user)
                    messages.warning(
                        request,
                        f"You signed in with a recovery code; {left} left. Make new ones under "
                        "My account if you are running out.",
                    )
                return redirect(self.after_sign_in(user, next_url))
        elif request.method == "POST":
            status = INVALID
        return render(
            request,
            "web/account/login_code.html",
            self.context(form=form, who=user),
            status=status,
        )

    def _setup_secret(self, request: HttpRequest) -> str:
        stored = request.session.get(self.sessions.setup_key)
        secret = twofactor.decrypt_secret(stored) if isinstance(stored, str) else None
        if secret is None:
            secret = twofactor.new_secret()
            request.session[self.sessions.setup_key] = twofactor.encrypt_secret(secret)
        return secret

    def two_factor_setup_view(self, request: HttpRequest) -> HttpResponse:
        """Set up (or again) the authenticator app: the secret as text and as a QR code,
        then a code to confirm. At a pending sign-in (a user who must have one) the
        session starts only when it is confirmed."""
        user = self._me(request)
        signing_in = user is None
        if user is None:
            user = self.sessions.pending_user(request)
        if user is None:
            messages.info(request, TIMED_OUT)
            return redirect(self.url("login"))
        if signing_in and user.has_totp:  # a pending sign-in never replaces its secret
            return redirect(self.url("login_code"))
        if self.screenless(user):
            return redirect(self.url(self.home))
        secret = self._setup_secret(request)
        status = 200
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                codes = self.two_factor.totp_enrol(
                    user=user, secret=secret, code=form.cleaned_data["code"]
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"totp": "code"})
                status = _status(exc)
                if status == 429 and signing_in:
                    self.sessions.pending_clear(request)
            else:
                request.session.pop(self.sessions.setup_key, None)
                next_url = self.url("account")
                if signing_in:
                    next_url = self.sessions.pending_next(request)
                    self.sessions.login(request, user)
                return render(
                    request,
                    "web/account/recovery_codes.html",
                    self.context(codes=codes, continue_url=self.after_sign_in(user, next_url)),
                )
        elif request.method == "POST":
            status = INVALID
        uri = twofactor.provisioning_uri(secret, f"{user.email} ({user.firm.code}, {self.issuer})")
        return render(
            request,
            "web/account/two_factor_setup.html",
            self.context(
                form=form,
                who=user,
                signing_in=signing_in,
                required=self.two_factor.totp_required(user),
                secret=twofactor.secret_grouped(secret),
                qr=mark_safe(twofactor.qr_svg(uri)),  # noqa: S308 - segno's own SVG
            ),
            status=status,
        )

    # -- My account ------------------------------------------------------------------------

    def _account_page(
        self, request: HttpRequest, disable_form: CodeForm, status: int = 200
    ) -> HttpResponse:
        me = self._me(request)
        return render(
            request,
            "web/account/account.html",
            self.context(
                nav="account",
                me=me,
                required=self.two_factor.totp_required(me),
                codes_left=self.two_factor.recovery_codes_left(me) if me.has_totp else 0,
                disable_form=disable_form,
            ),
            status=status,
        )

    def account_view(self, request: HttpRequest) -> HttpResponse:
        return self._account_page(request, CodeForm())

    def recovery_codes_view(self, request: HttpRequest) -> HttpResponse:
        me = self._me(request)
        try:
            codes = self.two_factor.recovery_codes_regenerate(user=me)
        except DomainError as exc:
            messages.error(request, message_of(exc))
            return redirect(self.url("account"))
        return render(
            request,
            "web/account/recovery_codes.html",
            self.context(codes=codes, continue_url=self.url("account")),
        )

    def two_factor_disable_view(self, request: HttpRequest) -> HttpResponse:
        me = self._me(request)
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                self.two_factor.totp_disable(user=me, code=form.cleaned_data["code"])
            except DomainError as exc:
                apply_domain_error(form, exc)  # above the form: the field may not be shown
            else:
                messages.success(request, "Two-factor sign-in is off.")
                return redirect(self.url("account"))
        return self._account_page(request, form, status=INVALID)

    # -- passwords -------------------------------------------------------------------------

    def password_change_view(self, request: HttpRequest) -> HttpResponse:
        """Change your password (My account), or choose a new one after an administrator's
        reset: reachable before anything else for that user. This session goes on; the
        user's other sessions end."""
        me = self._me(request)
        if me is None:
            return redirect(f"{self.url('login')}?next={self.url('password_change')}")

        def change(form: PasswordChangeForm) -> HttpResponse:
            changed = self.password_services.password_change(
                user=me,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                ip_address=client_address(request),
            )
            self.sessions.renew(request, changed)
            messages.success(
                request, "Your password is changed; your other sessions are signed out."
            )
            return redirect(self.after_sign_in(changed, self.url(self.home)))

        return popup_form(
            request,
            PasswordChangeForm,
            on_valid=change,
            template="web/account/password_change.html",
            context=self.context(who=me),
            modal=False,
        )

    def password_forgot_view(self, request: HttpRequest) -> HttpResponse:
        if not passwords.email_configured():
            messages.info(
                request, "Password reset by email is not set up here; ask an administrator."
            )
            return redirect(self.url("login"))

        def send(form: PasswordForgotForm) -> HttpResponse:
            link_base = request.build_absolute_uri(self.url("password_reset", "x"))[:-2]
            self.password_services.password_reset_link_send(
                firm_code=form.cleaned_data["firm"],
                email=form.cleaned_data["email"],
                link_base=link_base,
                ip_address=client_address(request),
            )
            messages.info(request, FORGOT_SENT)
            return redirect(self.url("login"))

        return popup_form(
            request,
            PasswordForgotForm,
            on_valid=send,
            template="web/account/password_forgot.html",
            context=self.context(),
            modal=False,
        )

    def password_reset_view(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            who = self.password_services.password_reset_link_user(token)
        except DomainError as exc:
            messages.error(request, message_of(exc))
            return redirect(self.url("password_forgot"))

        def reset(form: NewPasswordForm) -> HttpResponse:
            self.password_services.password_reset_by_link(
                token=token,
                new_password=form.cleaned_data["new_password"],
                ip_address=client_address(request),
            )
            messages.success(request, "Your password is reset; sign in with it.")
            return redirect(self.url("login"))

        return popup_form(
            request,
            NewPasswordForm,
            on_valid=reset,
            template="web/account/password_reset.html",
            context=self.context(who=who),
            modal=False,
        )

    # -- an administrator's resets ---------------------------------------------------------

    def _target(self, request: HttpRequest, pk: int) -> tuple[Any, Any]:
        me = self._me(request)
        return me, get_object_or_404(self.user_model, firm=me.firm, pk=pk)

    def user_password_reset_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        me, target = self._target(request, pk)

        def reset(form: TemporaryPasswordForm) -> str:
            self.password_services.password_reset_by_admin(
                user=target, actor=me, temporary_password=form.cleaned_data["temporary_password"]
            )
            return f"Password of {target.email} reset; they choose a new one at their next sign-in."

        return popup_form(
            request,
            TemporaryPasswordForm,
            on_valid=reset,
            template="web/account/_password_reset_form.html",
            title=f"Reset the password of {target.display_name}",
            success=self.url(self.users),
            context={"target": target, "action": self.url("user_password_reset", target.pk)},
        )

    def user_two_factor_reset_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        me, target = self._target(request, pk)
        error = ""
        if request.method == "POST":
            try:
                self.two_factor.totp_reset(user=target, actor=me)
            except DomainError as exc:
                error = message_of(exc)
            else:
                return finish(
                    request,
                    self.url(self.users),
                    f"Two-factor sign-in of {target.email} reset; they set it up again at "
                    "their next sign-in.",
                )
        return render_modal(
            request,
            "web/account/_two_factor_reset_form.html",
            {
                "target": target,
                "error": error,
                "action": self.url("user_two_factor_reset", target.pk),
            },
            title=f"Reset two-factor sign-in of {target.display_name}",
            status=INVALID if error else 200,
            back_url=self.url(self.users),
        )

    # -- the views, guarded, for a side's URLconf --------------------------------------------

    def views(self) -> dict[str, View]:
        """Every view by its URL name, with its guard and its methods."""
        get_post = require_http_methods(["GET", "POST"])
        signed_in, admin = self.login_required, self.admin_required
        return {
            "login_code": get_post(self.login_code_view),
            "two_factor_setup": get_post(self.two_factor_setup_view),
            "account": signed_in(self.account_view),
            "recovery_codes": signed_in(require_POST(self.recovery_codes_view)),
            "two_factor_disable": signed_in(require_POST(self.two_factor_disable_view)),
            "password_change": get_post(self.password_change_view),
            "password_forgot": get_post(self.password_forgot_view),
            "password_reset": get_post(self.password_reset_view),
            "user_password_reset": admin(get_post(self.user_password_reset_view)),
            "user_two_factor_reset": admin(get_post(self.user_two_factor_reset_view)),
        }

    def urlpatterns(self) -> list[URLPattern]:
        """The account screens' routes, the same under both sides' prefixes."""
        views = self.views()
        routes = {
            "login_code": "login/code/",
            "two_factor_setup": "two-factor/setup/",
            "account": "account/",
            "recovery_codes": "account/recovery-codes/",
            "two_factor_disable": "account/two-factor/off/",
            "password_change": "account/password/",
            "password_forgot": "password/forgot/",
            "password_reset": "password/reset/<str:token>/",
            "user_password_reset": "settings/users/<int:pk>/password-reset/",
            "user_two_factor_reset": "settings/users/<int:pk>/two-factor-reset/",
        }
        return [path(route, views[name], name=name) for name, route in routes.items()]
