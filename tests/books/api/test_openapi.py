"""The OpenAPI schema and the docs page are served, and describe the API as built."""

from __future__ import annotations

EXPECTED_PATHS = {
    "/books/api/v1/auth/session": {"get", "post", "delete"},
    "/books/api/v1/auth/password": {"post"},
    "/books/api/v1/auth/security-question": {"post"},
    "/books/api/v1/users/{user_id}/password-reset": {"post"},
    "/books/api/v1/users/{user_id}/two-factor-reset": {"post"},
    "/books/api/v1/users": {"get", "post"},
    "/books/api/v1/users/{user_id}": {"get", "patch"},
    "/books/api/v1/features": {"get", "put"},
    "/books/api/v1/fiscal-year": {"get", "put"},
    "/books/api/v1/areas-of-practice": {"get", "post"},
    "/books/api/v1/areas-of-practice/{area_id}": {"patch"},
    "/books/api/v1/activity-codes": {"get", "post"},
    "/books/api/v1/activity-codes/{code_id}": {"patch"},
    "/books/api/v1/gl-accounts": {"get", "post"},
    "/books/api/v1/gl-accounts/{account_id}": {"get", "patch"},
    "/books/api/v1/gl-accounts/{account_id}/balance": {"get"},
    "/books/api/v1/bank-accounts": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}/statements": {"get", "post"},
    "/books/api/v1/bank-accounts/{bank_account_id}/statement-imports": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}/csv-mapping": {"get", "put"},
    "/books/api/v1/bank-accounts/{bank_account_id}/check-printing": {"get", "put"},
    "/books/api/v1/bank-accounts/{bank_account_id}/positive-pay-layout": {"get", "put"},
    "/books/api/v1/bank-accounts/{bank_account_id}/positive-pay.csv": {"get"},
    "/books/api/v1/statements/{statement_id}": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}/statement-lines": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}/auto-match": {"post"},
    "/books/api/v1/statement-lines/{line_id}/match": {"post"},
    "/books/api/v1/statement-lines/{line_id}/unmatch": {"post"},
    "/books/api/v1/statement-lines/{line_id}/set-aside": {"post"},
    "/books/api/v1/statement-lines/{line_id}/record": {"post"},
    "/books/api/v1/bank-accounts/{bank_account_id}/cleared-before-statements": {"post"},
    "/books/api/v1/bank-accounts/{bank_account_id}/outstanding": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}/reconciliation": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}/reconciliations": {"get", "post"},
    "/books/api/v1/reconciliations/{reconciliation_id}": {"get"},
    "/books/api/v1/reconciliations/{reconciliation_id}/sign": {"post"},
    "/books/api/v1/reconciliations/{reconciliation_id}/pdf": {"get"},
    "/books/api/v1/reconciliations/{reconciliation_id}/csv/{which}": {"get"},
    "/books/api/v1/bank-accounts/{bank_account_id}/reopen": {"post"},
    "/books/api/v1/periods": {"get"},
    "/books/api/v1/periods/close": {"post"},
    "/books/api/v1/periods/reopen": {"post"},
    "/books/api/v1/contacts": {"get", "post"},
    "/books/api/v1/search": {"get"},
    "/books/api/v1/contacts/{contact_id}": {"get"},
    "/books/api/v1/files": {"get", "post"},
    "/books/api/v1/files/batch": {"post"},
    "/books/api/v1/files/{file_id}": {"get"},
    "/books/api/v1/files/{file_id}/trust-ledger": {"get"},
    "/books/api/v1/checks": {"get", "post"},
    "/books/api/v1/checks/batch": {"post"},
    "/books/api/v1/checks/print-batch": {"post"},
    "/books/api/v1/checks/pdf": {"get"},
    "/books/api/v1/checks/{check_id}": {"get"},
    "/books/api/v1/checks/{check_id}/print": {"post"},
    "/books/api/v1/checks/{check_id}/void": {"post"},
    "/books/api/v1/checks/{check_id}/reprint": {"post"},
    "/books/api/v1/trust-receipts": {"get", "post"},
    "/books/api/v1/trust-receipts/batch": {"post"},
    "/books/api/v1/trust-receipts/{receipt_id}": {"get"},
    "/books/api/v1/trust-receipts/{receipt_id}/void": {"post"},
    "/books/api/v1/invoices": {"get", "post"},
    "/books/api/v1/invoices/batch": {"post"},
    "/books/api/v1/invoices/{invoice_id}": {"get"},
    "/books/api/v1/invoices/{invoice_id}/advance": {"post"},
    "/books/api/v1/invoices/{invoice_id}/release": {"post"},
    "/books/api/v1/invoices/{invoice_id}/void": {"post"},
    "/books/api/v1/invoices/{invoice_id}/ledes": {"get"},
    "/books/api/v1/invoices/ledes": {"get"},
    "/books/api/v1/ledes/settings": {"get", "put"},
    "/books/api/v1/files/{file_id}/ledes": {"get", "put"},
    "/books/api/v1/users/{user_id}/ledes": {"get", "put"},
    "/books/api/v1/invoices/{invoice_id}/lines/{line_id}/utbms": {"put"},
    "/books/api/v1/journal-entries": {"get", "post"},
    "/books/api/v1/journal-entries/batch": {"post"},
    "/books/api/v1/journal-entries/{entry_id}": {"get"},
    "/books/api/v1/journal-entries/{entry_id}/reverse": {"post"},
    "/books/api/v1/reports/trial-balance": {"get"},
    "/books/api/v1/exports/beancount": {"get"},
    "/books/api/v1/exports/jobs/{job_id}": {"get"},
    "/books/api/v1/exports/jobs/{job_id}/file": {"get"},
    "/books/api/v1/exports/{report}": {"get"},
    "/books/api/v1/reports/three-way-reconciliation": {"get"},
    "/books/api/v1/reports/trust-balances": {"get"},
    "/books/api/v1/reports/external-documents": {"get"},
    "/books/api/v1/reports/external-digests": {"get"},
    "/books/api/v1/contacts/{contact_id}/bank-details": {"get", "put"},
    "/books/api/v1/bank-accounts/{bank_account_id}/ach-settings": {"get", "put"},
    "/books/api/v1/ach-payments": {"get"},
    "/books/api/v1/ach-payments/{payment_id}/return": {"post"},
    "/books/api/v1/ach-payments/{payment_id}/cancel": {"post"},
    "/books/api/v1/ach-batches": {"get", "post"},
    "/books/api/v1/ach-batches/{batch_id}": {"get"},
    "/books/api/v1/ach-batches/{batch_id}/file": {"get"},
    "/books/api/v1/ach-batches/{batch_id}/sent": {"post"},
    "/books/api/v1/reports/1099": {"get"},
    "/books/api/v1/reports/1099.csv": {"get"},
    "/books/api/v1/tax-payees": {"get"},
    "/books/api/v1/contacts/{contact_id}/tax-payee": {"put"},
    "/books/api/v1/checks/{check_id}/tax-report": {"put"},
    "/books/api/v1/reports/profit-and-loss": {"get"},
    "/books/api/v1/reports/balance-sheet": {"get"},
    "/books/api/v1/reports/general-ledger": {"get"},
    "/books/api/v1/reports/cost-advances": {"get"},
    "/books/api/v1/reports/trust-journal": {"get"},
}


def test_the_schema_lists_every_path_and_method(anonymous):
    reply = anonymous.get("/openapi.json")
    assert reply.status == 200
    schema = reply.body
    assert schema["info"]["title"] == "Casebridge Books API"
    assert schema["info"]["version"] == "1"
    assert {path: set(ops) for path, ops in schema["paths"].items()} == EXPECTED_PATHS
    assert schema["components"]["securitySchemes"] == {
        "BearerToken": {"type": "http", "scheme": "bearer"}
    }


def test_every_creating_request_takes_an_idempotency_key_except_signing_in(anonymous):
    paths = anonymous.get("/openapi.json").body["paths"]
    for path, ops in paths.items():
        if "post" not in ops:
            continue
        headers = [p["name"] for p in ops["post"].get("parameters", []) if p["in"] == "header"]
        # signing in (and enrolling before the first sign-in) has no firm to keep a key in
        anonymous_paths = ("/auth/session", "/auth/security-question")
        expected = [] if path.endswith(anonymous_paths) else ["Idempotency-Key"]
        assert headers == expected, path


def test_amounts_are_documented_as_decimal_strings(anonymous):
    components = anonymous.get("/openapi.json").body["components"]["schemas"]
    amount = components["CheckIn"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == r"^-?\d+(\.\d{1,2})?$"
    assert components["CheckOut"]["properties"]["amount"]["type"] == "string"
    assert components["ErrorOut"]["properties"]["error"]["$ref"].endswith("/ErrorBody")


def test_the_docs_page_renders(client):
    response = client.get("/books/api/v1/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/books/api/v1/openapi.json" in response.content
