"""``/auth/session``: log the integration user in, see the session, log out.

POST issues a 30-day bearer token through
:func:`~casebridge.books.services.auth.integration_session_create`. It deliberately runs
outside any transaction and is not idempotent: a failed attempt must stay recorded (the
audit trail; the sign-in throttle counts in the cache), and a token must never be stored
for replay.
"""

from __future__ import annotations

import datetime as dt
import math

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import ConfigDict, Field

from casebridge.books.api.idempotency import idempotent_secret
from casebridge.books.api.security import context
from casebridge.books.errors import NotFound
from casebridge.books.models import Firm, Role, User
from casebridge.books.services import auth as auth_service
from casebridge.books.services import two_factor
from casebridge.core import clock
from casebridge.core.api.account import PasswordChangeIn, PasswordResetIn, UserSecurityOut
from casebridge.core.api.schemas import ERRORS, ErrorOut, FirmOut, In, Out
from casebridge.core.api.security import client_ip

router = Router(tags=["session"])


class UserOut(Out):
    id: int
    email: str
    initials: str
    first_name: str
    last_name: str
    is_admin: bool
    role: Role = Field(
        description="administrator, accountant or staff. Voids, reversals, unmatching and "
        "recording statement lines need accountant or administrator (else 403 "
        "role_required); is_admin is true exactly for administrator."
    )
    records_time: bool
    is_active: bool
    is_integration_user: bool = Field(
        description="The firm's designated integration user (the one case management signs "
        "in as); at most one per firm."
    )

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.pk,
            email=user.email,
            initials=user.initials,
            first_name=user.first_name,
            last_name=user.last_name,
            is_admin=user.is_admin,
            role=Role(user.role),
            records_time=user.records_time,
            is_active=user.is_active,
            is_integration_user=user.is_integration_user,
        )


def firm_out(firm: Firm) -> FirmOut:
    return FirmOut(id=firm.pk, code=firm.code, name=firm.name)


class SignInIn(In):
    """What every sign-in sends: the firm, the user's email and the password."""

    model_config = ConfigDict(str_strip_whitespace=False)  # a password is taken as typed

    firm: str = Field(min_length=1, max_length=40, description="The firm ID typed at login.")
    username: str = Field(min_length=1, max_length=254, description="The user's email.")
    password: str = Field(min_length=1, max_length=1024)


class SessionIn(SignInIn):
    totp: str = Field(
        default="",
        max_length=40,
        description="The 6-digit code of the user's authenticator app (or a recovery code): "
        "required for a user with two-factor sign-in (administrators and everyone who can "
        "move trust money). Never for the integration user.",
    )
    security_answer: str = Field(
        default="",
        max_length=200,
        description="The integration user's security answer: required when its token is "
        "renewed (a token was issued to it before); the refusal names the question.",
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


class TokenOut(Out):
    prefix: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None


class SessionOut(Out):
    user: UserOut
    firm: FirmOut
    expires_at: dt.datetime
    days_left: int = Field(
        description="Whole days until the token lapses (0 on its last day): the bridge warns "
        "when the monthly re-authentication is near."
    )
    token: TokenOut


@router.post(
    "/auth/session",
    auth=None,
    response={201: SessionCreated, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Log in (issue a 30-day token)",
)
def session_create(request: HttpRequest, payload: SessionIn) -> Status[SessionCreated]:
    """Refusals: 401 ``invalid_credentials`` for a wrong firm ID, username or password or a
    deactivated user, without saying which; 403 ``security_question_not_enrolled`` (the
    password was right); 429 ``too_many_attempts`` with ``Retry-After`` (seconds, also in
    ``details.retry_after``) after repeated failures for the account or from the address
    (passwords, codes and answers); the second factor (field ``totp``): 401
    ``totp_required``, ``totp_invalid``, ``totp_reused``, 403 ``totp_not_enrolled``; the
    integration user's renewal (field ``security_answer``): 401 ``security_answer_required``,
    ``security_answer_invalid``; 403 ``password_change_required`` (field ``new_password``)."""
    issued = auth_service.integration_session_create(
        firm_code=payload.firm,
        email=payload.username,
        password=payload.password,
        totp=payload.totp,
        security_answer=payload.security_answer,
        new_password=payload.new_password,
        ip_address=client_ip(request),
    )
    user = User.objects.select_related("firm").get(pk=issued.user_id)
    return Status(
        201,
        SessionCreated(
            token=issued.token,
            expires_at=issued.expires_at,
            user=UserOut.of(user),
            firm=firm_out(user.firm),
        ),
    )


class EnrollIn(SignInIn):
    totp: str = Field(
        default="",
        max_length=40,
        description="The authenticator app's code, for a user with two-factor sign-in.",
    )
    question: str = Field(min_length=1, max_length=200)
    answer: str = Field(
        min_length=1,
        max_length=200,
        description="At least 3 characters, not in the question; compared ignoring case, "
        "spaces and punctuation.",
    )


@router.post(
    "/auth/security-question",
    auth=None,
    response={
        200: UserOut,
        401: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="Enroll a security question (before the first session)",
)
def security_question_enroll(request: HttpRequest, payload: EnrollIn) -> UserOut:
    """The twin of the enrolment screen at a user's first sign-in: a user must enroll a
    question before ``POST /auth/session`` issues a token (403
    ``security_question_not_enrolled``). The same refusals as a sign-in (401
    ``invalid_credentials`` without saying which part was wrong, 429 ``too_many_attempts``,
    the second factor's); 422 ``validation_error`` naming ``question`` or ``answer``; 409
    ``security_question_already_enrolled`` (change it signed in, on the screens)."""
    user = auth_service.security_question_enroll_signing_in(
        firm_code=payload.firm,
        email=payload.username,
        password=payload.password,
        totp=payload.totp,
        question=payload.question,
        answer=payload.answer,
        ip_address=client_ip(request),
    )
    return UserOut.of(user)


@router.get("/auth/session", response={200: SessionOut, 401: ErrorOut}, summary="This session")
def session_get(request: HttpRequest) -> SessionOut:
    ctx = context(request)
    tok = ctx.token
    seconds_left = (tok.expires_at - clock.now()).total_seconds()
    return SessionOut(
        user=UserOut.of(ctx.user),
        firm=firm_out(ctx.firm),
        expires_at=tok.expires_at,
        days_left=max(0, math.floor(seconds_left / 86400)),
        token=TokenOut(
            prefix=tok.prefix,
            issued_at=tok.issued_at,
            expires_at=tok.expires_at,
            last_used_at=tok.last_used_at,
        ),
    )


@router.delete("/auth/session", response={204: None, 401: ErrorOut}, summary="Log out")
def session_delete(request: HttpRequest) -> Status[None]:
    """Revoke the token this request was made with."""
    ctx = context(request)
    auth_service.integration_token_revoke(token=ctx.token, actor=ctx.user)
    return Status(204, None)


@router.post(
    "/auth/password",
    response={200: UserSecurityOut, **ERRORS},
    summary="Change this user's password",
)
@idempotent_secret
def password_change(request: HttpRequest, payload: PasswordChangeIn) -> UserSecurityOut:
    """401 ``invalid_credentials`` (field ``current_password``); 422 ``validation_error``
    for a new password that breaks the rules (field ``new_password``); 429
    ``too_many_attempts`` while the account backs off after failed sign-ins (wrong current
    passwords count)."""
    ctx = context(request)
    user = auth_service.password_change(
        user=ctx.user,
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
    summary="Reset a user's password (administrators)",
)
@idempotent_secret
def user_password_reset(
    request: HttpRequest, user_id: int, payload: PasswordResetIn
) -> UserSecurityOut:
    """Sets a temporary password the user must change at the next sign-in (audited); their
    tokens stop working. 403 ``admin_required``."""
    user = auth_service.password_reset_by_admin(
        user=_firm_user(request, user_id),
        actor=context(request).user,
        temporary_password=payload.temporary_password,
    )
    return UserSecurityOut.of(user)


@router.post(
    "/users/{int:user_id}/two-factor-reset",
    response={200: UserSecurityOut, **ERRORS},
    summary="Reset a user's two-factor sign-in (administrators)",
)
@idempotent_secret
def user_two_factor_reset(request: HttpRequest, user_id: int) -> UserSecurityOut:
    """The user's authenticator app and recovery codes stop working; they set it up again
    at their next sign-in (audited). 403 ``admin_required``."""
    user = two_factor.totp_reset(user=_firm_user(request, user_id), actor=context(request).user)
    return UserSecurityOut.of(user)
