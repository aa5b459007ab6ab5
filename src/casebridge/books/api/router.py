"""The books' HTTP API, version 1: one NinjaAPI mounted at ``/books/api/v1/``.

OpenAPI is served at ``openapi.json`` and interactive docs at ``docs``. Every endpoint but
``POST /auth/session`` needs ``Authorization: Bearer <token>`` and sees only its token's
firm. Amounts are decimal strings; every POST honours ``Idempotency-Key``
(:mod:`.idempotency`); every refusal is ``{"error": {...}}``
(:mod:`casebridge.core.api.errors`); every response carries ``RateLimit-*`` headers and
a client over its limit gets 429 ``rate_limited`` (:mod:`casebridge.core.api.ratelimit`).

Routers are mounted without a prefix (each endpoint spells its whole path), so a route
template is the same in the code, the OpenAPI schema and an idempotency record's scope.
"""

from __future__ import annotations

from casebridge.books.api import (
    ach,
    banking,
    checks,
    exports,
    files,
    financial,
    invoices,
    journal,
    ledes,
    reconciliations,
    reference,
    reports,
    search,
    session,
    setup,
    statements,
    tax1099,
)
from casebridge.books.api.security import BearerToken, rate_limit_client
from casebridge.core.api import ratelimit
from casebridge.core.api.errors import add_unmatched_fallback, install_error_handlers
from casebridge.core.api.naming import NamedOperationsAPI

api = NamedOperationsAPI(
    operation_prefix="books",
    title="Casebridge Books API",
    version="1",
    description=(
        "The books' API for integrations (the bridge from case management). Log in with "
        "POST /auth/session, then send `Authorization: Bearer <token>`; tokens lapse after "
        '30 days. Amounts are decimal strings such as "1234.56". Every POST accepts an '
        "`Idempotency-Key` header. Errors are "
        '`{"error": {"code", "message", "field"?, "details"?}}`. Voids, reversals and '
        "unmatching or recording statement lines need the accountant or administrator role "
        "(else 403 `role_required`); the integration user's token may make only the bridge's "
        "requests (else 403 `integration_not_allowed`). Every response carries "
        "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds); past the "
        "limit (per token a minute; per address without one) 429 `rate_limited` with "
        "`Retry-After`."
    ),
    # mounted inside the books' URLconf (app_name "books"): ninja reverses its own URLs
    # through the full namespace path and registers the last part, "books_api"
    urls_namespace="books:books_api",
    auth=BearerToken(),
)
#: EntryUnbalanced carries its totals as ``debits`` / ``credits`` (cents).
install_error_handlers(
    api, logger_name="casebridge.books.api", cents_detail_keys={"debits", "credits"}
)

#: Each router once: :mod:`.setup` writes on :mod:`.reference`'s router.
for router in dict.fromkeys(
    module.router
    for module in (
        session,
        reference,
        setup,
        files,
        checks,
        invoices,
        ledes,
        journal,
        reports,
        financial,
        exports,
        statements,
        reconciliations,
        banking,
        search,
        ach,
        tax1099,
    )
):
    api.add_router("", router)

#: Last, so it only sees what no endpoint matched: a JSON 404 instead of an HTML page.
add_unmatched_fallback(api, "the books API v1")
#: Per token (the integration user's with a higher ceiling), per address when anonymous.
ratelimit.install(api, scope="books", client_of=rate_limit_client)
