"""The global search: files, contacts, checks and invoices, as the screens' search box."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from casebridge.books.api.security import context
from casebridge.books.selectors.search import search_books
from casebridge.core.api.schemas import ERRORS
from casebridge.core.api.search import SearchIn, SearchOut

router = Router(tags=["search"])


@router.get("/search", response={200: SearchOut, **ERRORS})
def search(request: HttpRequest, params: Query[SearchIn]) -> SearchOut:
    """Files by number or name, contacts, checks by number, payee or memo (with their
    status), invoices by number or description."""
    return SearchOut.of(search_books(context(request).firm, params.q))
