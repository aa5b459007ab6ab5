"""``/auth/session``: log in (a 30-day bearer token), see the session, log out.

POST runs outside any transaction and is not idempotent: a token must never be stored
for replay."""

from __future__ import annotations

import datetime as dt
import math

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import ConfigDict, Field

from casebridge.cases.api.idempotency import idempotent_secret
from casebridge.cases.api.schemas import ERRORS, firm_out
from casebridge.cases.api.security import context, token_issue, token_revoke
from casebridge.cases.errors import NotFound
from casebridge.cases.models import Permission, User
from casebridge.cases.services import firms as firm_service
from casebridge.cases.services import two_factor
from casebridge.core import clock
from casebridge.core.api.account import PasswordChangeIn, PasswordResetIn, UserSecurityOut
from casebridge.core.api.schemas import ErrorOut, FirmOut, In, Out
from casebridge.core.api.security import client_ip

router = Router(tags=["session"])


class UserOut(Out):
    id: int
    email: str
    first_name: str
    last_name: str
    name: str
    is_firm_admin: bool
    is_attorney: bool
    permissions: list[str] = Field(
        description="What the user may do beyond working cases (all of them for a firm "
        "administrator): admin_settings, costs_management, deposit_settlement."
    )
    is_active: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.pk,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            name=user.display_name,
            is_firm_admin=user.is_firm_admin,
            is_attorney=user.is_attorney,
            permissions=[p.value for p in Permission if user.has_permission(p)],
            is_active=user.is_active,
        )


class SessionIn(In):
    model_config = ConfigDict(str_strip_whitespace=False)  # a password is taken as typed

    firm: str = Field(min_length=1, max_length=40, description="The firm ID typed at login.")
    username: str = Field(min_length=1, max_length=254, description="The user's email.")
    password: str = Field(min_length=1, max_length=1024)
    totp: str = Field(
        default="",
        max_length=40,
        description="The 6-digit code of the user's authenticator app (or a recovery code): "
        "required for a user with two-factor sign-in (firm administrators and holders of "
        "Deposit settlement checks must have it).",
    )
    new_password: str = Field(
        default="",
        max_length=1024,
        description="Required after an administrator reset the password: the new one.",
    )


class SessionCreated(Out):
    token: str
    token_type: str = Field(
        default="Bearer", description="Send it as Authorization: Bearer <token>."
    )
    expires_at: dt.datetime
    user: UserOut
    firm: FirmOut


class SessionOut(Out):
    user: UserOut
    firm: FirmOut
    token_prefix: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    days_left: int = Field(description="Whole days until the token lapses (0 on its last day).")


@router.post(
    "/auth/session",
    auth=None,
    response={201: SessionCreated, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Log in (issue a 30-day token)",
)
def session_create(request: HttpRequest, payload: SessionIn) -> Status[SessionCreated]:
    """Refused 401 ``invalid_credentials`` for a wrong firm ID, email or password, or a
    deactivated user (without saying which); 429 ``too_many_attempts`` with
    ``Retry-After`` (seconds, also in ``details.retry_after``) after repeated failures for
    the account or from the address; the second factor (field ``totp``): 401
    ``totp_required``, ``totp_invalid``, ``totp_reused``, 403 ``totp_not_enrolled``, 429
    ``too_many_attempts``; 403 ``password_change_required`` (field ``new_password``)."""
    issued = token_issue(
        firm_code=payload.firm,
        email=payload.username,
        password=payload.password,
        ip_address=client_ip(request),
        totp=payload.totp,
        new_password=payload.new_password,
    )
    user = User.objects.select_related("firm").get(pk=issued.record.user_id)
    return Status(
        201,
        SessionCreated(
            token=issued.token,
            expires_at=issued.record.expires_at,
            user=UserOut.of(user),
            firm=firm_out(user.firm),
        ),
    )


@router.get("/auth/session", response={200: SessionOut, 401: ErrorOut}, summary="This session")
def session_get(request: HttpRequest) -> SessionOut:
    ctx = context(request)
    seconds_left = (ctx.token.expires_at - clock.now()).total_seconds()
    return SessionOut(
        user=UserOut.of(ctx.user),
        firm=firm_out(ctx.firm),
        token_prefix=ctx.token.prefix,
        issued_at=ctx.token.issued_at,
        expires_at=ctx.token.expires_at,
        days_left=max(0, math.floor(seconds_left / 86400)),
    )


@router.delete("/auth/session", response={204: None, 401: ErrorOut}, summary="Log out")
def session_delete(request: HttpRequest) -> Status[None]:
    """Revoke the token this request was made with."""
    token_revoke(context(request).token)
    return Status(204, None)


@router.post(
    "/auth/password",
    response={200: UserSecurityOut, **ERRORS},
    summary="Change this user's password",
)
@idempotent_secret
def password_change(request: HttpRequest, payload: PasswordChangeIn) -> UserSecurityOut:
    """422 ``validation_error`` for a wrong current password (field ``current_password``)
    or a new one that breaks the rules (field ``new_password``); 429 ``too_many_attempts``
    while the account backs off after failed sign-ins (wrong current passwords count)."""
    user = firm_service.password_change(
        user=context(request).user,
        current_password=payload.current_password,
        new_password=payload.new_password,
        ip_address=client_ip(request),
    )
    return UserSecurityOut.of(user)


def _firm_user(request: HttpRequest, user_id: int) -> User:
    user = User.objects.filter(firm=context(request).firm, pk=user_id).first()
    if user is None:
        raise NotFound(f"user {user_id} not found in this firm", field="user_id")
    return user


@router.post(
    "/users/{int:user_id}/password-reset",
    response={200: UserSecurityOut, **ERRORS},
    summary="Reset a user's password (firm administrators)",
)
@idempotent_secret
def user_password_reset(
    request: HttpRequest, user_id: int, payload: PasswordResetIn
) -> UserSecurityOut:
    """Sets a temporary password the user must change at the next sign-in (audited); their
    tokens stop working. 403 ``permission_denied`` (permission ``firm_admin``)."""
    user = firm_service.password_reset_by_admin(
        user=_firm_user(request, user_id),
        actor=context(request).user,
        temporary_password=payload.temporary_password,
    )
    return UserSecurityOut.of(user)


@router.post(
    "/users/{int:user_id}/two-factor-reset",
    response={200: UserSecurityOut, **ERRORS},
    summary="Reset a user's two-factor sign-in (firm administrators)",
)
@idempotent_secret
def user_two_factor_reset(request: HttpRequest, user_id: int) -> UserSecurityOut:
    """The user's authenticator app and recovery codes stop working; they set it up again
    at their next sign-in (audited). 403 ``permission_denied``."""
    user = two_factor.totp_reset(user=_firm_user(request, user_id), actor=context(request).user)
    return UserSecurityOut.of(user)
