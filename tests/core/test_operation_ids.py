"""Every operation of the three APIs has an id a code generator can use: ``<api>_<function>``,
unique in its API (docs/api-changelog.md)."""

from __future__ import annotations

import re

import pytest

from casebridge.books.api.router import api as books_api
from casebridge.bridge.api.router import api as bridge_api
from casebridge.cases.api.router import api as cases_api


def _operation_ids(api) -> list[str]:
    schema = api.get_openapi_schema()
    return [
        operation["operationId"]
        for methods in schema["paths"].values()
        for operation in methods.values()
    ]


@pytest.mark.parametrize(
    ("api", "prefix"), [(books_api, "books"), (cases_api, "cases"), (bridge_api, "bridge")]
)
def test_operation_ids_are_the_api_and_the_function_and_unique(api, prefix):
    ids = _operation_ids(api)
    assert ids, "no operations"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    pattern = re.compile(rf"^{prefix}_[a-z][a-z0-9_]*$")
    assert [i for i in ids if not pattern.match(i)] == []
    assert not any(i.startswith(f"{prefix}_casebridge") for i in ids)


def test_known_operations_keep_their_names():
    assert "books_user_list" in _operation_ids(books_api)
    assert "books_check_create_batch" in _operation_ids(books_api)
    assert "cases_cost_create" in _operation_ids(cases_api)
    assert "bridge_costs_send" in _operation_ids(bridge_api)
