"""The cases side's HTTP API, version 1: one NinjaAPI mounted at ``/cases/api/v1/``.

OpenAPI is served at ``openapi.json`` and interactive docs at ``docs``. Every endpoint but
``POST /auth/session`` needs ``Authorization: Bearer <token>`` and sees only its token's
firm: another firm's id is 404, exactly like one that does not exist. The conventions are
the books' (:mod:`casebridge.core.api`): amounts are decimal strings, every POST honours
``Idempotency-Key`` (records in :class:`~casebridge.cases.models.IdempotencyRecord`), every
refusal is ``{"error": {"code", "message", "field"?, "details"?}}``.

The endpoints are thin: they parse, check that referenced ids are the firm's, call a
service of :mod:`casebridge.cases.services` (which holds every rule and permission check)
or a selector, and render. Routers are mounted without a prefix, so a route template is
the same in the code, the OpenAPI schema and an idempotency record's scope.
"""

from __future__ import annotations

from casebridge.cases.api import (
    audit_trail,
    cases,
    contacts,
    costs,
    deadlines,
    medical,
    medicare,
    search,
    session,
    settlement,
)
from casebridge.cases.api import lien_reductions as lien_reductions_api
from casebridge.cases.api.security import BearerToken, rate_limit_client
from casebridge.core.api import ratelimit
from casebridge.core.api.errors import add_unmatched_fallback, install_error_handlers
from casebridge.core.api.naming import NamedOperationsAPI

api = NamedOperationsAPI(
    operation_prefix="cases",
    title="Casebridge Cases API",
    version="1",
    description=(
        "Case management: cases, contacts, costs, settlements and client trust staging. "
        "Log in with POST /auth/session, then send `Authorization: Bearer <token>`; tokens "
        'lapse after 30 days. Amounts are decimal strings such as "1234.56", percentages '
        'too ("33.33"). Every POST accepts an `Idempotency-Key` header. Errors are '
        '`{"error": {"code", "message", "field"?, "details"?}}`; a refusal for want of a '
        "permission is 403 `permission_denied` naming the permission. Every response carries "
        "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds); past the "
        "limit (per token a minute; per address without one) 429 `rate_limited` with "
        "`Retry-After`."
    ),
    # mounted inside the cases side's URLconf (app_name "cases")
    urls_namespace="cases:cases_api",
    auth=BearerToken(),
)
install_error_handlers(api, logger_name="casebridge.cases.api")

for module in (
    session,
    contacts,
    cases,
    costs,
    settlement,
    search,
    lien_reductions_api,
    medical,
    medicare,
    audit_trail,
    deadlines,
):
    api.add_router("", module.router)

#: Last, so it only sees what no endpoint matched: a JSON 404 instead of an HTML page.
add_unmatched_fallback(api, "the cases API v1")
#: Per token, per address when anonymous (:mod:`casebridge.core.api.ratelimit`).
ratelimit.install(api, scope="cases", client_of=rate_limit_client)
