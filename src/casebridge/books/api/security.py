"""Bearer-token authentication and the per-request context every endpoint scopes by.

``Authorization: Bearer <token>`` is resolved by
:func:`casebridge.books.services.auth.integration_token_resolve`; a lapsed token is 401
``reauthentication_required`` (the monthly re-authentication), a wrong or revoked one
401 ``invalid_token``, a missing header 401 ``not_authenticated``. The token's user and
firm are attached to the request as an :class:`ApiContext` (``request.auth``); every query
an endpoint makes filters by ``context(request).firm``.

The integration user's token may make only the requests the bridge makes
(:data:`casebridge.books.api.integration.INTEGRATION_ROUTES`); anything else is 403
``integration_not_allowed``. Its user (role, integration flag) is read at each request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from casebridge.books.api.integration import refuse_unless_bridge_route
from casebridge.books.models import Firm, IntegrationToken, User
from casebridge.books.services import auth as auth_service
from casebridge.books.services import two_factor
from casebridge.core import timezones
from casebridge.core.api import ratelimit
from casebridge.core.api.security import request_context


@dataclass(frozen=True)
class ApiContext:
    """Who is calling: the live token, its user and the firm every query is scoped to."""

    token: IntegrationToken
    user: User
    firm: Firm


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiContext:
        tok = auth_service.integration_token_resolve(token=token.strip())
        refusal = two_factor.token_user_refusal(tok.user)
        if refusal is not None:
            raise refusal
        timezones.activate(tok.firm.time_zone)  # "today" is the token's firm's
        if tok.user.is_integration_user:
            refuse_unless_bridge_route(ratelimit.route_of(request))
        return ApiContext(token=tok, user=tok.user, firm=tok.firm)


def rate_limit_client(request: HttpRequest) -> ratelimit.Client | None:
    """A token's own limit, else the integration user's ceiling or the default."""
    ctx = getattr(request, "auth", None)
    if not isinstance(ctx, ApiContext):
        return None
    limit = ctx.token.rate_limit_per_minute
    if limit is None:
        limit = (
            settings.API_RATE_LIMIT_INTEGRATION
            if ctx.user.is_integration_user
            else settings.API_RATE_LIMIT
        )
    return ratelimit.Client(key=f"token-{ctx.token.pk}", limit=limit)


def context(request: HttpRequest) -> ApiContext:
    """The authenticated caller of an endpoint that requires a bearer token."""
    return request_context(request, ApiContext)
