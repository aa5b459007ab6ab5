"""The global search: cases, contacts, payees and costs, as the screens' search box."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from casebridge.cases.api.schemas import ERRORS
from casebridge.cases.api.security import context
from casebridge.cases.selectors.search import search_cases_side
from casebridge.core.api.search import SearchIn, SearchOut

router = Router(tags=["search"])


@router.get("/search", response={200: SearchOut, **ERRORS})
def search(request: HttpRequest, params: Query[SearchIn]) -> SearchOut:
    """Cases by number or caption, contacts, payees (with the Costs management
    permission) and live costs by memo, check number, invoice reference or payee."""
    return SearchOut.of(search_cases_side(context(request).user, params.q))
