"""Bearer tokens for the cases side's API and the per-request context every endpoint
scopes by.

``POST /auth/session`` checks the password with
:func:`casebridge.cases.services.firms.user_authenticate` (throttled, ADR 0017) and
issues a token valid :data:`TOKEN_LIFETIME` (30 days); only its SHA-256 is stored
(:class:`~casebridge.cases.models.ApiToken`). ``Authorization: Bearer <token>`` is then
resolved here: a lapsed token is 401 ``reauthentication_required``, a wrong or revoked one
(or one whose user was deactivated) 401 ``invalid_token``, a missing header 401
``not_authenticated``. The token's user and firm are attached to the request as an
:class:`ApiContext` (``request.auth``); every query an endpoint makes filters by
``context(request).firm``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from ninja.security import HttpBearer

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import DomainError
from casebridge.cases.models import ApiToken, Firm, User
from casebridge.cases.services import firms as firm_service
from casebridge.cases.services import two_factor
from casebridge.core import clock, timezones, twofactor
from casebridge.core.api import ratelimit
from casebridge.core.api.security import new_bearer_token, request_context, token_hash

BEARER_PREFIX = "cbc_"
TOKEN_LIFETIME = dt.timedelta(days=30)
#: ``last_used_at`` is written at most this often (a write per request would be waste).
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


class InvalidToken(DomainError):
    code = "invalid_token"
    http_status = 401


class ReauthenticationRequired(DomainError):
    code = "reauthentication_required"
    http_status = 401


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; only its hash is stored
    record: ApiToken


def token_issue(
    *,
    firm_code: str,
    email: str,
    password: str,
    ip_address: str = "",
    totp: str = "",
    new_password: str = "",
) -> IssuedToken:
    """Log in: the password check and throttle are the screens'
    (:func:`~casebridge.cases.services.firms.user_authenticate`): 401 ``invalid_credentials``
    not saying which of firm, email or password was wrong, 429 ``too_many_attempts``. Then
    the second factor (``totp``: a code or a recovery code) for a user who has one or must
    have one, and ``new_password`` for a user whose password an administrator reset."""
    user = firm_service.user_authenticate(
        firm_code=firm_code, email=email, password=password, ip_address=ip_address
    )
    if two_factor.totp_applies(user):
        two_factor.totp_check(user=user, code=totp, ip_address=ip_address)
    if user.must_change_password:
        if not new_password:
            raise twofactor.PasswordChangeRequired(
                f"the password of {user.email} is a temporary one an administrator set: send "
                "new_password to choose a new one",
                field="new_password",
            )
        user = firm_service.password_change(
            user=user, current_password=password, new_password=new_password, ip_address=ip_address
        )
    now = clock.now()
    token = new_bearer_token(BEARER_PREFIX)
    with transaction.atomic():
        record = ApiToken.objects.create(
            firm_id=user.firm_id,
            user=user,
            token_hash=token_hash(token),
            prefix=token[:10],
            issued_at=now,
            expires_at=now + TOKEN_LIFETIME,
        )
        cases_audit(
            firm_id=user.firm_id,
            actor=user,
            action="token_issue",
            entity_type="user",
            entity_id=user.pk,
            summary=f"API token {record.prefix} issued",
            after={"expires_at": record.expires_at},
        )
    return IssuedToken(token=token, record=record)


def token_resolve(token: str) -> ApiToken:
    """The live token for a bearer string, or the reason it is not live."""
    now = clock.now()
    record = (
        ApiToken.objects.select_related("user", "firm").filter(token_hash=token_hash(token)).first()
    )
    if record is None or record.revoked_at is not None or not record.user.is_active:
        raise InvalidToken("the token is not valid or has been revoked; log in again")
    if record.expires_at <= now:
        raise ReauthenticationRequired(
            f"the API session lapsed on {record.expires_at:%Y-%m-%d}; log in again with "
            "POST /auth/session"
        )
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record


@transaction.atomic
def token_revoke(record: ApiToken) -> None:
    """Log out: the token stops working at once."""
    if ApiToken.objects.filter(pk=record.pk, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    ):
        cases_audit(
            firm_id=record.firm_id,
            actor=record.user,
            action="token_revoke",
            entity_type="user",
            entity_id=record.user_id,
            summary=f"API token {record.prefix} revoked",
        )


@dataclass(frozen=True)
class ApiContext:
    """Who is calling: the live token, its user and the firm every query is scoped to."""

    token: ApiToken
    user: User
    firm: Firm


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiContext:
        record = token_resolve(token.strip())
        refusal = two_factor.token_user_refusal(record.user)
        if refusal is not None:
            raise refusal
        timezones.activate(record.firm.time_zone)  # "today" is the token's firm's
        return ApiContext(token=record, user=record.user, firm=record.firm)


def context(request: HttpRequest) -> ApiContext:
    """The authenticated caller of an endpoint that requires a bearer token."""
    return request_context(request, ApiContext)


def rate_limit_client(request: HttpRequest) -> ratelimit.Client | None:
    """The token's own limit, else ``settings.API_RATE_LIMIT`` (used by the cases API and
    the bridge's, each counting apart)."""
    ctx = getattr(request, "auth", None)
    if not isinstance(ctx, ApiContext):
        return None
    limit = ctx.token.rate_limit_per_minute
    return ratelimit.Client(
        key=f"token-{ctx.token.pk}", limit=settings.API_RATE_LIMIT if limit is None else limit
    )
