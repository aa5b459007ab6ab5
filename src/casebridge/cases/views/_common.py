"""What every cases screen shares: the signed-in user, htmx pop-ups, refusals shown next to
the right field, page-number pagination and safe redirects.

Pop-ups work as on the books' screens: a button does ``hx-get`` into ``#modal-root`` and
the view answers with a ``<dialog>`` (``cases/_modal.html``); the page script opens it.
The form inside posts with htmx and swaps itself: a refusal re-renders just the form with
status 422, success answers ``HX-Redirect``. Without htmx the same URLs render a full page
and redirect after a POST.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from casebridge.cases.auth import current_user
from casebridge.cases.forms import ConfirmForm
from casebridge.cases.models import Case, Contact, Cost, Firm, Lien, Negotiation, User
from casebridge.cases.services import cases as case_services
from casebridge.core.errors import DomainError
from casebridge.core.text import plain_line

PER_PAGE = 25
#: Status of a form re-rendered with a refusal (htmx swaps it: see the htmx-config meta tag).
INVALID = 422
#: A page number beyond this is junk, not a request.
MAX_PAGE = 1_000_000


def cases_user(request: HttpRequest) -> User:
    """The signed-in user of a view guarded by one of the ``cases_*_required`` decorators."""
    user = current_user(request)
    if user is None:  # pragma: no cover - the decorator redirects first
        raise DjangoPermissionDenied
    return user


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def message_of(exc: DomainError) -> str:
    return exc.message[:1].upper() + exc.message[1:]


def apply_domain_error(
    form: forms.Form, exc: DomainError, field_map: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal next to the field it names, else above the form."""
    name = exc.field
    if name is not None and field_map is not None:
        name = field_map.get(name, name)
    if name is not None and name in form.fields and not form.fields[name].disabled:
        form.add_error(name, message_of(exc))
    else:
        form.add_error(None, message_of(exc))


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
    wide: bool = False,
    opening: bool | None = None,
) -> HttpResponse:
    """A form in a pop-up (htmx) or on its own page (a plain request). The pop-up opens on
    a GET; a POST swaps just the form in the open pop-up, unless ``opening`` says that this
    POST opens it (a bulk action's confirmation)."""
    ctx = {
        **context,
        "modal_title": title,
        "body_template": body_template,
        "in_modal": is_htmx(request),
        "back_url": back_url,
        "modal_wide": wide,
    }
    if is_htmx(request):
        if opening is None:
            opening = request.method != "POST"
        if not opening:  # the dialog is open: swap just the form
            return render(request, body_template, ctx, status=status)
        return render(request, "cases/_modal.html", ctx, status=status)
    return render(request, "cases/_modal_page.html", ctx, status=status)


def confirm_form(request: HttpRequest) -> ConfirmForm:
    """An "are you sure?" form, bound (and validated) on a POST so that a refusal can be
    added to it."""
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        form.is_valid()
        return form
    return ConfirmForm()


#: A contact's part in a pop-up: the rows that make someone a payee, a party, a holder.
ROLES = {"payee": (Cost, "payee"), "party": (Negotiation, "party"), "holder": (Lien, "holder")}
#: How a refusal names the contact in each part.
ROLE_LABELS = {"payee": "payee", "party": "insurer or defendant", "holder": "lien holder"}
#: Suggestions beyond this many are left out of a datalist (typing still finds anyone).
MAX_SUGGESTIONS = 5000


def _in_role(role: str) -> Exists:
    model, field = ROLES[role]
    return Exists(model._default_manager.filter(**{field: OuterRef("pk")}))


def contact_names(firm: Firm, role: str) -> list[str]:
    """Names to suggest for a payee, party or lien holder: the firm's contacts who have
    that part already or are not a case's client (insurers, providers, lienholders)."""
    is_client = Exists(Case.objects.filter(client=OuterRef("pk")))
    names = (
        Contact.objects.filter(firm=firm)
        .filter(Q(_in_role(role)) | ~Q(is_client))
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()[:MAX_SUGGESTIONS]
    )
    return list(names)


def contact_id_of(firm: Firm, actor: User, name: str, role: str) -> int:
    """The contact named ``name`` (case-insensitive; of namesakes, one who already has
    ``role``), or a new contact of that name. Call it inside the caller's transaction, so
    that a refused write leaves no stray contact. A name that would read differently on a
    check is refused naming the part (the service refuses it too)."""
    plain_line(name, field=role, label=ROLE_LABELS[role])
    existing = (
        Contact.objects.filter(firm=firm, name__iexact=name.strip())
        .annotate(in_role=_in_role(role))
        .order_by("-in_role", "pk")
        .only("pk")
        .first()
    )
    if existing is not None:
        return existing.pk
    return case_services.contact_create(firm=firm, actor=actor, name=name).pk


def finish(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """After a successful write: a flash message, then the page at ``url``."""
    if message:
        messages.success(request, message)
    if is_htmx(request):
        response = HttpResponse("")
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


# --- Page-number pagination ------------------------------------------------------------


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
    try:
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 8 else 1
    except ValueError:  # pragma: no cover - guarded above
        number = 1
    return max(1, min(number, MAX_PAGE))


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


def paginate(
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
