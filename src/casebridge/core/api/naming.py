"""OpenAPI operation ids a code generator can use: ``<api>_<function>``.

ninja names an operation after its view's module and function
(``casebridge_books_api_reference_user_list``), so a generated client's method names would
change whenever a module is split. Every Casebridge API names its operations after the
API and the view function instead (``books_user_list``, ``cases_cost_create``,
``bridge_costs_send``); the function names are unique within an API, which the schema
tests check (docs/api-changelog.md)."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.operation import Operation


class NamedOperationsAPI(NinjaAPI):
    """A :class:`NinjaAPI` whose operation ids are ``<operation_prefix>_<function>``."""

    def __init__(self, *args: Any, operation_prefix: str, **kwargs: Any) -> None:
        self.operation_prefix = operation_prefix
        super().__init__(*args, **kwargs)

    def get_openapi_operation_id(self, operation: Operation) -> str:
        return f"{self.operation_prefix}_{operation.view_func.__name__}"
