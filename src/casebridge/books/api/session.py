"""``/auth/session``: log the integration user in, see the session, log out.

POST issues a 30-day bearer token through
:func:`~casebridge.books.services.auth.integration_session_create`. It deliberately runs
outside any transaction and is not idempotent: a failed attempt must stay recorded for the
login throttle, and a token must never be stored for replay.
"""

from __future__ import annotations

import datetime as dt
import math

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import ConfigDict, Field

from casebridge.books.api.security import context
from casebridge.books.models import Firm, Role, User
from casebridge.books.services import auth as auth_service
from casebridge.core import clock
from casebridge.core.api.schemas import ErrorOut, FirmOut, In, Out
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


class SessionIn(In):
    model_config = ConfigDict(str_strip_whitespace=False)  # a password is taken as typed

    firm: str = Field(min_length=1, max_length=40, description="The firm ID typed at login.")
    username: str = Field(min_length=1, max_length=254, description="The user's email.")
    password: str = Field(min_length=1, max_length=1024)


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
    """Refusals: 401 ``invalid_credentials`` (wrong password or deactivated user),
    401 ``user_not_found`` (no such firm or user), 403 ``security_question_not_enrolled``,
    429 ``too_many_attempts`` with ``Retry-After``."""
    issued = auth_service.integration_session_create(
        firm_code=payload.firm,
        email=payload.username,
        password=payload.password,
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
