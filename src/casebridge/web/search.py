"""The global search's screens, the same on both sides: the full results page (a plain
GET: works without JavaScript) and, for the search box's live results (htmx, targeting
``#search-live``), the same groups as a fragment."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from casebridge.core.search import Results
from casebridge.web.popups import is_htmx

#: The longest query read (longer input is cut).
MAX_QUERY = 200
LIVE_TARGET = "search-live"


def query_of(request: HttpRequest) -> str:
    return str(request.GET.get("q", ""))[:MAX_QUERY].strip()


def search_response(
    request: HttpRequest, results: Results, *, page_template: str, search_url: str
) -> HttpResponse:
    context = {
        "results": results,
        "q": results.query,
        "search_q": results.query,
        "search_url": search_url,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == LIVE_TARGET:
        return render(request, "web/_search_live.html", context)
    return render(request, page_template, {**context, "nav": "search"})
