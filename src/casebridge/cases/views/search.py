"""The cases side's global search (the top bar's box): a results page and its live twin."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from casebridge.cases.auth import cases_login_required, cases_user
from casebridge.cases.selectors.search import search_cases_side
from casebridge.web.search import query_of, search_response


@cases_login_required
@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    results = search_cases_side(cases_user(request), query_of(request))
    return search_response(
        request, results, page_template="cases/search.html", search_url=reverse("cases:search")
    )
