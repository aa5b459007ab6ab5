"""Pagination for both sides' lists, one page size (:data:`PER_PAGE`), two ways to draw it:

- :func:`paginate`: a Django page that knows the links to its neighbours (Previous / Next,
  "Page 2 of 7"; the books' lists, ``books/_pager.html``);
- :func:`paginate_numbered`: one page and a :class:`Pager` of numbered links with gaps (the
  cases side's lists and the bridge's, ``cases/_pager.html``).

Both keep the other query parameters (a search, a tab, another list's page), and both read
a missing, junk or out-of-range page number as the nearest real page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

from casebridge.core.api.schemas import MAX_CURSOR_LENGTH

#: Rows on a page of a list, on both sides. 50: every books list and the cases side's costs
#: have always paged by 50 (ledgers of short rows: fewer pages beat shorter ones). The cases
#: side's lists of cases, users and client trust cases page by :data:`PER_PAGE_SHORT` (tall
#: rows of figures): they say so where they page, so no list a user knows moved.
PER_PAGE = 50
PER_PAGE_SHORT = 25
#: A page number beyond this is junk, not a request.
MAX_PAGE = 1_000_000

if TYPE_CHECKING:
    _Page = Page[Any]
    _Paginator = Paginator[Any]
else:  # generic only in the type stubs
    _Page, _Paginator = Page, Paginator


# --- Previous / Next --------------------------------------------------------------------


class LinkedPage(_Page):
    """A page that knows the links to its neighbours, keeping the other query parameters."""

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
    def __init__(
        self, object_list: Any, *, request: HttpRequest, param: str, per_page: int = PER_PAGE
    ) -> None:
        super().__init__(object_list, per_page)
        self.request, self.param = request, param

    def _get_page(self, *args: Any, **kwargs: Any) -> LinkedPage:
        return LinkedPage(*args, request=self.request, param=self.param, **kwargs)


def paginate(request: HttpRequest, object_list: Any, *, param: str = "page") -> LinkedPage:
    """A page of :data:`PER_PAGE`; a missing, junk or out-of-range page number gives the
    nearest page."""
    paginator = LinkedPaginator(object_list, request=request, param=param)
    page = paginator.page(min(page_number(request, param), paginator.num_pages))
    assert isinstance(page, LinkedPage)
    return page


# --- Numbered pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool = False
    gap: bool = False


@dataclass(frozen=True)
class Pager:
    """What ``cases/_pager.html`` draws: numbered links with gaps, previous and next."""

    number: int
    pages: int
    count: int
    links: list[PageLink]
    prev_url: str
    next_url: str
    label: str = "Pages"


def page_number(request: HttpRequest, param: str = "page") -> int:
    """The requested page: junk or out-of-range numbers give the nearest real page."""
    raw = request.GET.get(param, "")
    if not (raw.isascii() and raw.isdigit()):
        return 1  # missing, junk or negative: the first page
    return max(1, min(int(raw) if len(raw) < 8 else MAX_PAGE, MAX_PAGE))


def pager(
    request: HttpRequest,
    *,
    number: int,
    pages: int,
    count: int,
    param: str = "page",
    label: str = "Pages",
) -> Pager:
    """Links to the first and last pages and two either side of the current one, keeping
    the other query parameters (filters, a tab, a sort)."""

    def url_for(n: int) -> str:
        query = request.GET.copy()
        query[param] = str(n)
        return f"?{query.urlencode()}"

    shown = sorted({1, pages, *range(max(1, number - 2), min(pages, number + 2) + 1)})
    links: list[PageLink] = []
    previous = 0
    for n in shown:
        if n - previous > 1:
            links.append(PageLink(number=0, url="", gap=True))
        links.append(PageLink(number=n, url=url_for(n), current=n == number))
        previous = n
    return Pager(
        number=number,
        pages=pages,
        count=count,
        links=links,
        prev_url=url_for(number - 1) if number > 1 else "",
        next_url=url_for(number + 1) if number < pages else "",
        label=label,
    )


def paginate_numbered(
    request: HttpRequest,
    queryset: QuerySet[Any] | Sequence[Any],
    *,
    per_page: int = PER_PAGE,
    param: str = "page",
    label: str = "Pages",
) -> tuple[list[Any], Pager]:
    """One page of ``queryset`` and its pager."""
    paginator: Paginator[Any] = Paginator(queryset, per_page)
    number = min(page_number(request, param), paginator.num_pages)
    page = paginator.page(number)
    return list(page.object_list), pager(
        request,
        number=number,
        pages=paginator.num_pages,
        count=paginator.count,
        param=param,
        label=label,
    )


def first_tab_with_work(counts: Mapping[str, int], work: Sequence[str], default: str) -> str:
    """The tab a list of tabs opens on when none is asked for: the first of the ``work``
    tabs (those with something to do, in their order) that has anything in it, else
    ``default``. (An invoice waiting in Review is not hidden behind an empty Draft tab.)"""
    return next((tab for tab in work if counts.get(tab, 0) > 0), default)


# --- Keyset cursors ---------------------------------------------------------------------


def cursor_param(request: HttpRequest, param: str = "cursor") -> str | None:
    """A keyset list's ``?cursor=`` as a screen reads it: None (the first page) when it is
    missing, longer than any cursor the APIs accept, or holds a control character; the
    selector refuses any other stale or edited cursor, and the screen then shows the first
    page too."""
    raw = request.GET.get(param) or ""
    if not raw or len(raw) > MAX_CURSOR_LENGTH or any(ord(c) < 32 for c in raw):
        return None
    return raw
