"""One paging shape across the three APIs (issue 14), read from their OpenAPI schemas: every
operation with a ``limit`` takes a ``cursor`` and no ``offset``, and its answer has ``next``
(at the top, or in the one page it holds, as a statement's ``lines``)."""

from __future__ import annotations

from typing import Any

import pytest

from casebridge.books.api.router import api as books_api
from casebridge.bridge.api.router import api as bridge_api
from casebridge.cases.api.router import api as cases_api

APIS = {"books": books_api, "cases": cases_api, "bridge": bridge_api}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def _properties(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    return _resolve(schema, node).get("properties", {})


def _has_next(schema: dict[str, Any], response: dict[str, Any]) -> bool:
    properties = _properties(schema, response)
    if "next" in properties and "items" in properties:
        return True
    return any(
        {"next", "items"} <= _properties(schema, value).keys() for value in properties.values()
    )


def _paged_operations(name: str) -> list[tuple[str, dict[str, Any], set[str], dict[str, Any]]]:
    schema = APIS[name].get_openapi_schema()
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if "limit" in params or "offset" in params or "cursor" in params:
                responses = operation["responses"]
                ok = responses.get(200, responses.get("200"))["content"]["application/json"]
                ok = ok["schema"]
                found.append((f"{method.upper()} {path}", schema, params, ok))
    return found


@pytest.mark.parametrize("name", list(APIS))
def test_every_paged_operation_takes_a_cursor_and_answers_next(name):
    operations = _paged_operations(name)
    assert operations, "no paged operation found"
    wrong = [
        label
        for label, schema, params, ok in operations
        if not {"limit", "cursor"} <= params
        or params & {"offset", "after_id", "after_file_id", "page_size", "page"}
        or not _has_next(schema, ok)
    ]
    assert wrong == []


def test_the_lists_known_to_page_are_among_them():
    paged = {label for name in APIS for label, *_ in _paged_operations(name)}
    assert {
        "GET /books/api/v1/checks",
        "GET /books/api/v1/reports/external-digests",
        "GET /books/api/v1/reports/external-documents",
        "GET /books/api/v1/reports/trust-balances",
        "GET /books/api/v1/reports/trust-journal",
        "GET /books/api/v1/statements/{statement_id}",
        "GET /cases/api/v1/costs",
        "GET /cases/api/v1/cases/{case_id}/costs",
        "GET /cases/api/v1/integrations/books/queue",
        "GET /cases/api/v1/integrations/books/reconciliation",
    } <= paged
    assert len(paged) >= 30


def test_no_operation_anywhere_still_pages_by_offset_or_after():
    for api in APIS.values():
        schema = api.get_openapi_schema()
        for methods in schema["paths"].values():
            for operation in methods.values():
                for param in operation.get("parameters", []):
                    assert param["name"] not in {"offset", "after_id", "after_file_id"}
