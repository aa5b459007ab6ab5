"""The bridge's HTTP API, at ``/cases/api/v1/integrations/books/`` (OpenAPI at
``openapi.json``). It authenticates exactly like the cases API (a cases bearer token) and
answers errors in the same JSON shape.

Everything the screens do can be done here: activation and defaults (administrators and the
administration settings permission; others get 403 ``permission_denied`` naming it), the
readiness check, sending costs, the sync queue and its retries, the check-status sync, and
the settlement money (a case's fee invoice, its payments' trust checks and Send again).
No request waits on the books (ADR 0008): they answer from what the worker last read
(with its time), and what needs the books now (a sign-in, a readiness refresh, a
check-status sync) answers 202 with a run to poll.
Every POST honours ``Idempotency-Key`` as the books' and the cases side's do (ADR 0004): a
repeat with the same key and body replays the first answer and writes nothing, the same
key with another body is 409 ``idempotency_key_reused``. The records are the cases side's,
scoped ``bridge POST <route>``; the sign-in pop-ups' password is left out of the hash
(:mod:`.idempotency`).

One router per resource, mounted without a prefix (each endpoint spells its whole path) in
the order the endpoints had when the API was one module, so the schema lists them as it did;
the reconciliation and the cost code mapping (the screens' twins, issue 14) come last.
"""

from __future__ import annotations

from casebridge.bridge.api import (
    check_status,
    connection,
    costs,
    queue,
    readiness,
    reconciliation,
    settlement,
)
from casebridge.cases.api.security import BearerToken, rate_limit_client
from casebridge.core.api import ratelimit
from casebridge.core.api.errors import add_unmatched_fallback, install_error_handlers
from casebridge.core.api.naming import NamedOperationsAPI

api = NamedOperationsAPI(
    operation_prefix="bridge",
    title="Casebridge Books Integration API",
    version="1",
    description="The bridge from case management to the books: activation, readiness, "
    "sending costs, the sync queue, the fee invoice and the trust checks of a settlement. "
    "Authenticate with a cases API token. Rate limits as the cases API's (RateLimit-* "
    "headers, 429 rate_limited with Retry-After), counted apart from it.",
    urls_namespace="bridge_api",
    auth=BearerToken(),
)
install_error_handlers(api, logger_name="casebridge.bridge.api")
for module in (connection, readiness, costs, queue, check_status, settlement, reconciliation):
    api.add_router("", module.router)
add_unmatched_fallback(api, "the books integration API v1")
#: A cases token counts here apart from the cases API (:mod:`casebridge.core.api.ratelimit`).
ratelimit.install(api, scope="bridge", client_of=rate_limit_client)
