"""The books' global search (the top bar's box): a results page and its live twin."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.selectors.search import search_books
from casebridge.web.search import query_of, search_response


@books_login_required()
@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    results = search_books(books_user(request).firm, query_of(request))
    return search_response(
        request, results, page_template="books/search.html", search_url=reverse("books:search")
    )
