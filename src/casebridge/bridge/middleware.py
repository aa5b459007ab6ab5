"""A web request never calls the books (ADR 0008).

:class:`BooksNeverInWebRequest` marks every request it serves, so that opening a client to
the books inside one raises :class:`~casebridge.bridge.client.BooksCallInWebRequest`
instead of holding a web worker while the books (perhaps served by the same, busy,
workers) answer. The worker's tasks run unmarked (``client.worker``), even when Huey's
immediate mode runs them inside a request.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from casebridge.bridge.client import web_request


class BooksNeverInWebRequest:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with web_request():
            return self.get_response(request)
