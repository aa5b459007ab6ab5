"""What the integration user's token may do: exactly the requests the bridge makes
(``casebridge.bridge.client.HttpBooksClient``), nothing else (issue 13).

The case management side signs in as the firm's designated integration user and keeps
its token; a leaked one should open no more of the books than the bridge needs. Every
other operation of the books API is 403 ``integration_not_allowed`` for it, whatever its
user's role (the role still applies inside: voiding a check needs accountant or above).
``tests/books/api/test_integration_allow_list.py`` drives the bridge's client through every
call it makes and fails if one is missing here.
"""

from __future__ import annotations

from casebridge.books.errors import IntegrationNotAllowed

#: ``METHOD /route/template``, as in the code and the OpenAPI schema.
INTEGRATION_ROUTES: frozenset[str] = frozenset(
    {
        # the session: log in (needs no token), see it
        "POST /auth/session",
        "GET /auth/session",
        # reference data the worker reads for the screens and the readiness check
        "GET /users",
        "GET /features",
        "GET /areas-of-practice",
        "GET /activity-codes",
        "GET /bank-accounts",
        # costs: files and checks found or created in bulk, read back, printed, voided
        "POST /files/batch",
        "POST /checks/batch",
        "GET /checks",
        "POST /checks/{int:check_id}/print",
        "POST /checks/{int:check_id}/void",
        # deposits: trust receipts
        "POST /trust-receipts",
        "POST /trust-receipts/batch",
        "GET /trust-receipts",
        "POST /trust-receipts/{int:receipt_id}/void",
        # fee invoices
        "POST /invoices",
        "POST /invoices/batch",
        "GET /invoices",
        "GET /invoices/{int:invoice_id}",
        # bulk reads: balances, the reconciliation, the three-way
        "GET /reports/trust-balances",
        "GET /reports/external-documents",
        "GET /reports/external-digests",
        "GET /reports/three-way-reconciliation",
    }
)


def refuse_unless_bridge_route(route: str | None) -> None:
    """403 ``integration_not_allowed`` unless ``route`` is one the bridge uses."""
    if route not in INTEGRATION_ROUTES:
        raise IntegrationNotAllowed(
            f"the integration user's token may make only the requests the bridge makes; "
            f"{route or 'this request'} is not one of them"
        )
