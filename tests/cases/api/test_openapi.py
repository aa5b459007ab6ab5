"""The OpenAPI schema and the docs page describe the cases API as built."""

from __future__ import annotations

P = "/cases/api/v1"
EXPECTED_PATHS = {
    f"{P}/auth/session": {"get", "post", "delete"},
    f"{P}/auth/password": {"post"},
    f"{P}/users/{{user_id}}/password-reset": {"post"},
    f"{P}/users/{{user_id}}/two-factor-reset": {"post"},
    f"{P}/contacts": {"get", "post"},
    f"{P}/search": {"get"},
    f"{P}/contacts/{{contact_id}}": {"get"},
    f"{P}/users": {"get"},
    f"{P}/case-types": {"get"},
    f"{P}/cases": {"get", "post"},
    f"{P}/cases/{{case_id}}": {"get", "patch"},
    f"{P}/cases/{{case_id}}/links": {"post"},
    f"{P}/cases/{{case_id}}/links/{{other_case_id}}": {"delete"},
    f"{P}/cost-codes": {"get"},
    f"{P}/cases/{{case_id}}/costs": {"get"},
    f"{P}/costs": {"get", "post"},
    f"{P}/costs/{{cost_id}}": {"get", "patch"},
    f"{P}/costs/{{cost_id}}/void": {"post"},
    f"{P}/costs/{{cost_id}}/pay": {"post"},
    f"{P}/costs/{{cost_id}}/split": {"get", "post"},
    f"{P}/cases/{{case_id}}/settlement": {"get"},
    f"{P}/cases/{{case_id}}/settlement/terms": {"put"},
    f"{P}/cases/{{case_id}}/negotiations": {"post"},
    f"{P}/negotiations/{{negotiation_id}}": {"delete"},
    f"{P}/negotiations/{{negotiation_id}}/accept": {"post"},
    f"{P}/cases/{{case_id}}/deposits": {"post"},
    f"{P}/deposits/{{deposit_id}}/void": {"post"},
    f"{P}/fee-change-requests": {"get"},
    f"{P}/fee-change-requests/{{request_id}}/approve": {"post"},
    f"{P}/fee-change-requests/{{request_id}}/reject": {"post"},
    f"{P}/cases/{{case_id}}/liens": {"post"},
    f"{P}/liens/{{lien_id}}": {"put"},
    f"{P}/liens/{{lien_id}}/accept": {"post"},
    f"{P}/liens/{{lien_id}}/reopen": {"post"},
    f"{P}/liens/{{lien_id}}/reductions": {"get", "post"},
    f"{P}/cases/{{case_id}}/lien-calculator": {"get"},
    f"{P}/cases/{{case_id}}/lien-reductions/apply": {"post"},
    f"{P}/cases/{{case_id}}/trust-items": {"post"},
    f"{P}/cases/{{case_id}}/trust-items/stage-due": {"post"},
    f"{P}/trust-items/{{item_id}}": {"delete"},
    f"{P}/cases/{{case_id}}/push-to-client-trust": {"post"},
    f"{P}/cases/{{case_id}}/push-to-disbursement": {"post"},
    f"{P}/trust/to-be-disbursed": {"get"},
    # Medical treatment and bills (issue 16)
    f"{P}/medical-providers": {"get"},
    f"{P}/contacts/{{contact_id}}/medical-provider": {"put"},
    f"{P}/cases/{{case_id}}/treatments": {"get", "post"},
    f"{P}/treatments/{{treatment_id}}": {"put"},
    f"{P}/cases/{{case_id}}/bills": {"get", "post"},
    f"{P}/bills/{{bill_id}}": {"get", "put"},
    f"{P}/bills/{{bill_id}}/void": {"post"},
    f"{P}/bills/{{bill_id}}/lien": {"post"},
    f"{P}/cases/{{case_id}}/medical-requests": {"get", "post"},
    f"{P}/medical-requests/{{medical_request_id}}": {"put"},
    f"{P}/cases/{{case_id}}/medical-totals": {"get"},
    # Medicare and the audit trail (issue 16)
    f"{P}/cases/{{case_id}}/medicare": {"get"},
    f"{P}/cases/{{case_id}}/medicare/beneficiary": {"put"},
    f"{P}/cases/{{case_id}}/medicare/steps": {"post"},
    f"{P}/cases/{{case_id}}/medicare/steps/{{step_id}}/void": {"post"},
    f"{P}/cases/{{case_id}}/medicare/hold-override": {"post"},
    f"{P}/cases/{{case_id}}/medicare/hold-override/revoke": {"post"},
    f"{P}/audit-events": {"get"},
    f"{P}/cases/{{case_id}}/audit-events": {"get"},
    # statutes of limitations and deadlines (issue 16)
    f"{P}/limitation-rules": {"get", "post"},
    f"{P}/limitation-rules/{{rule_id}}": {"patch"},
    f"{P}/deadlines": {"get"},
    f"{P}/cases/{{case_id}}/deadlines": {"get", "post"},
    f"{P}/deadlines/{{deadline_id}}/satisfy": {"post"},
    f"{P}/deadlines/{{deadline_id}}/change": {"post"},
}


def test_the_schema_lists_every_path_and_method(anonymous):
    reply = anonymous.get("/openapi.json")
    assert reply.status == 200
    schema = reply.body
    assert schema["info"]["title"] == "Casebridge Cases API"
    assert schema["info"]["version"] == "1"
    assert {path: set(ops) for path, ops in schema["paths"].items()} == EXPECTED_PATHS
    assert schema["components"]["securitySchemes"] == {
        "BearerToken": {"type": "http", "scheme": "bearer"}
    }


def test_every_post_but_login_takes_an_idempotency_key(anonymous):
    paths = anonymous.get("/openapi.json").body["paths"]
    posts = 0
    for path, ops in paths.items():
        if "post" not in ops:
            continue
        posts += 1
        headers = [p["name"] for p in ops["post"].get("parameters", []) if p["in"] == "header"]
        expected = [] if path.endswith("/auth/session") else ["Idempotency-Key"]
        assert headers == expected, path
    assert posts == 39  # 24 before issue 16


def test_every_authenticated_endpoint_documents_the_error_shape(anonymous):
    paths = anonymous.get("/openapi.json").body["paths"]
    for path, ops in paths.items():
        for method, op in ops.items():
            if path.endswith("/auth/session"):
                continue
            for status in ("401", "403", "404", "409", "422"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (method, path, status)


def test_amounts_and_percentages_are_documented_as_decimal_strings(anonymous):
    components = anonymous.get("/openapi.json").body["components"]["schemas"]
    amount = components["CostIn"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == r"^-?\d+(\.\d{1,2})?$"
    assert components["CostOut"]["properties"]["amount"]["type"] == "string"
    rate = components["TermsIn"]["properties"]["fee_rate"]
    assert (rate["type"], rate["examples"]) == ("string", ["33.33"])
    assert components["ErrorOut"]["properties"]["error"]["$ref"].endswith("/ErrorBody")


def test_the_docs_page_renders(client):
    response = client.get("/cases/api/v1/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/cases/api/v1/openapi.json" in response.content


def test_an_unknown_path_is_a_json_404(api):
    reply = api.get("/nothing-here")
    assert reply.status == 404
    assert reply.error == {
        "code": "not_found",
        "message": "no endpoint GET /nothing-here in the cases API v1",
    }
