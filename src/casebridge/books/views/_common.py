"""What every screen shares: the signed-in user, htmx pop-ups, refusals shown next to the
right field, pagination and safe redirects.

Pop-ups: a button does ``hx-get`` into ``#modal-root`` and the view answers with a
``<dialog>`` (``books/_modal.html``); the page script opens it. The form inside posts with
htmx and swaps itself: a refusal re-renders just the form (status 422, which the page's
htmx config swaps), success answers ``HX-Redirect`` (or out-of-band updates). Without
htmx the same URLs render a full page and redirect after a POST, so every screen also
works from a plain link.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from casebridge.books.auth import current_user
from casebridge.books.models import Firm, User
from casebridge.core.errors import DomainError, TooManyAttempts
from casebridge.core.throttle import client_address

PER_PAGE = 50
#: Status of a form re-rendered with errors (htmx swaps it: see the htmx-config meta tag).
INVALID = 422


def books_user(request: HttpRequest) -> User:
    """The signed-in user of a view guarded by ``books_login_required``."""
    user = current_user(request)
    if user is None:  # pragma: no cover - the decorator redirects first
        raise PermissionDenied
    return user


def firm_of(request: HttpRequest) -> Firm:
    return books_user(request).firm


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def client_ip(request: HttpRequest) -> str:
    """The client's address (``X-Forwarded-For`` only as far as ``CASEBRIDGE_TRUSTED_PROXIES``
    says)."""
    return client_address(request)


def throttled(
    request: HttpRequest, template: str, context: dict[str, Any], exc: TooManyAttempts
) -> HttpResponse:
    """A sign-in form refused for backing off: 429, the wait in ``Retry-After`` and on the
    page (the refusal's message, already on the form)."""
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(int(exc.details["retry_after"]))
    return response


if TYPE_CHECKING:
    _Page = Page[Any]
    _Paginator = Paginator[Any]
else:  # generic only in the type stubs
    _Page, _Paginator = Page, Paginator


class LinkedPage(_Page):
    """A page that knows the links to its neighbours, keeping the other query parameters
    (a search, a tab, another list's page)."""

    def __init__(self, *args: Any, request: HttpRequest, param: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request, self.param = request, param

    def url_for(self, number: int) -> str:
        query = self.request.GET.copy()
        query[self.param] = str(number)
        return f"?{query.urlencode()}"

    @property
    def prev_url(self) -> str:
        return self.url_for(self.previous_page_number()) if self.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self.url_for(self.next_page_number()) if self.has_next() else ""


class LinkedPaginator(_Paginator):
    def __init__(self, object_list: Any, *, request: HttpRequest, param: str) -> None:
        super().__init__(object_list, PER_PAGE)
        self.request, self.param = request, param

    def _get_page(self, *args: Any, **kwargs: Any) -> LinkedPage:
        return LinkedPage(*args, request=self.request, param=self.param, **kwargs)


def paginate(request: HttpRequest, object_list: Any, *, param: str = "page") -> LinkedPage:
    """A page of 50; a missing, junk or out-of-range page number gives the nearest page."""
    page = LinkedPaginator(object_list, request=request, param=param).get_page(
        request.GET.get(param)
    )
    assert isinstance(page, LinkedPage)
    return page


def apply_domain_error(
    form: forms.Form, exc: DomainError, field_map: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal next to the field it names, else above the form."""
    name = exc.field
    if name is not None and field_map is not None:
        name = field_map.get(name, name)
    message = exc.message[:1].upper() + exc.message[1:]
    if name is not None and name in form.fields:
        form.add_error(name, message)
    else:
        form.add_error(None, message)


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def render_modal(
    request: HttpRequest,
    body_template: str,
    context: dict[str, Any],
    *,
    title: str,
    status: int = 200,
    back_url: str = "",
) -> HttpResponse:
    """A form in a pop-up (htmx) or on its own page (a plain request)."""
    ctx = {
        **context,
        "modal_title": title,
        "body_template": body_template,
        "in_modal": is_htmx(request),
        "back_url": back_url,
    }
    if is_htmx(request):
        if request.method == "POST":  # the dialog is open: swap just the form
            return render(request, body_template, ctx, status=status)
        return render(request, "books/_modal.html", ctx, status=status)
    return render(request, "books/_modal_page.html", ctx, status=status)


def finish(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """After a successful write: a flash message, then the page at ``url``."""
    if message:
        messages.success(request, message)
    if is_htmx(request):
        response = HttpResponse("")
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def close_modal_headers(response: HttpResponse) -> HttpResponse:
    """For a pop-up answered with out-of-band updates: swap nothing else, then close it."""
    response["HX-Reswap"] = "none"
    response["HX-Trigger-After-Swap"] = json.dumps({"casebridge:close-modal": True})
    return response
