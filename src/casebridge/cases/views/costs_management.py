"""Costs Management (permission "Costs management"): every cost of the firm in Open /
Pending / Paid tabs with filters, sortable columns, First / Previous / Next / Last pages (a
keyset cursor in ``?cursor=``, so a deep page costs what the first does), and a checkbox
per row with a bulk action menu.

The rows come from :func:`casebridge.cases.selectors.costs.costs_management_page` (the
indexed query the benchmark measures). Bulk actions are registered in one place,
:data:`BULK_ACTIONS`: an action names the tabs it is offered on, an optional pop-up form
to confirm it, and a handler. The bridge adds "Send" with :func:`register_bulk_action`.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from casebridge.cases import extensions
from casebridge.cases.auth import cases_permission_required, cases_user
from casebridge.cases.forms import CostFilterForm, VoidSelectedForm
from casebridge.cases.models import Case, Contact, Cost, CostStatus, Permission, User
from casebridge.cases.selectors.costs import (
    LAST,
    MAX_PAGE_SIZE,
    CostFilters,
    CostPage,
    InvalidCursor,
    costs_management_page,
    costs_matching,
)
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock
from casebridge.core.errors import DomainError, ValidationFailed
from casebridge.core.money import cents_to_decimal, format_cents
from casebridge.core.tabular import CONTENT_TYPES, Column, Format, Kind, Table, xlsx_bytes
from casebridge.core.text import csv_cell
from casebridge.web.popups import (
    INVALID,
    apply_domain_error,
    finish,
    is_htmx,
    message_of,
    render_modal,
    safe_next,
)

NAV = {"nav": "costs"}
#: The most costs one "select all matching" acts on: beyond it, narrow the filters (a bulk
#: Send of more goes through the API). Keeps one request's work and memory bounded.
MATCHING_MAX = 5_000
#: The longest tab-and-filters query a bulk form may carry (longer: refused, never cut).
QUERY_MAX = 2_000
TABS = (
    (CostStatus.OPEN, "Open"),
    (CostStatus.PENDING, "Pending"),
    (CostStatus.PAID, "Paid"),
)
#: Sortable columns: a column's sort key and the key of the opposite direction.
SORTABLE = {
    "date": ("date", "-date"),
    "amount": ("amount", "-amount"),
    "case": ("case", "case"),
    "payee": ("payee", "payee"),
}


# --- Bulk actions: the one place to add an action ---------------------------------------

BulkHandler = Callable[[HttpRequest, User, list[Cost], forms.Form | None], HttpResponse]


@dataclass(frozen=True)
class BulkAction:
    key: str
    label: str
    handler: BulkHandler
    #: The tabs (cost statuses) on which the action is offered.
    statuses: tuple[str, ...] = (CostStatus.OPEN, CostStatus.PENDING, CostStatus.PAID)
    #: A form shown in a pop-up to confirm the action; None acts at once (e.g. a download).
    confirm_form: type[forms.Form] | None = None
    confirm_label: str = "Confirm"
    #: Destructive: offered last in the menu, below a separator.
    danger: bool = False
    #: Place in the menu among the actions that are not destructive (lowest first).
    order: int = 50
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def confirms(self) -> bool:
        return self.confirm_form is not None


BULK_ACTIONS: dict[str, BulkAction] = {}


def register_bulk_action(action: BulkAction) -> None:
    """Offer ``action`` in the bulk menu of the tabs it names (its key must be new)."""
    if action.key in BULK_ACTIONS:
        raise ValueError(f"bulk action {action.key!r} is already registered")
    BULK_ACTIONS[action.key] = action


def _void_selected(
    request: HttpRequest, me: User, costs: list[Cost], form: forms.Form | None
) -> HttpResponse:
    reason = form.cleaned_data["reason"] if form is not None else ""
    cost_services.costs_void(
        firm=me.firm, actor=me, cost_ids=[cost.pk for cost in costs], reason=reason
    )
    total = sum(c.amount_cents for c in costs)
    noun = "cost" if len(costs) == 1 else "costs"
    return finish(
        request,
        back_to_costs_management(request),
        f"{len(costs)} {noun} ({format_cents(total)}) voided.",
    )


def _export_csv(
    request: HttpRequest, me: User, costs: list[Cost], form: forms.Form | None
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="costs-{clock.today():%Y-%m-%d}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "Cost ID",
            "Date",
            "Case",
            "Case name",
            "Attorney",
            "Payee",
            "Cost code",
            "Invoice reference",
            "Priority",
            "Memo",
            "Amount",
            "Status",
            "Paid date",
            "Check or card number",
        ]
    )
    for cost in costs:
        attorney = cost.case.responsible_attorney
        writer.writerow(
            [
                cost.pk,
                cost.cost_date.isoformat(),
                csv_cell(cost.case.number),
                csv_cell(cost.case.name),
                csv_cell(attorney.display_name if attorney else ""),
                csv_cell(cost.payee.name),
                csv_cell(cost.cost_code.code),
                csv_cell(cost.invoice_reference),
                cost.get_priority_display(),
                csv_cell(cost.memo),
                str(cents_to_decimal(cost.amount_cents)),
                cost.get_status_display(),
                cost.paid_date.isoformat() if cost.paid_date else "",
                csv_cell(cost.payment_reference),
            ]
        )
    return response


register_bulk_action(
    BulkAction(
        key="void",
        label="Void selected",
        handler=_void_selected,
        statuses=(CostStatus.OPEN, CostStatus.PENDING),
        confirm_form=VoidSelectedForm,
        confirm_label="Void costs",
        danger=True,
    )
)
register_bulk_action(BulkAction(key="export", label="Export CSV", handler=_export_csv, order=90))


def _export_xlsx(
    request: HttpRequest, me: User, costs: list[Cost], form: forms.Form | None
) -> HttpResponse:
    """The selected costs as a workbook (issue 15): the CSV's columns, money as numbers in
    a currency format, dates as dates, and the total of the amounts."""
    columns = [
        Column("Cost ID", Kind.COUNT),
        Column("Date", Kind.DATE),
        Column("Case"),
        Column("Case name"),
        Column("Attorney"),
        Column("Payee"),
        Column("Cost code"),
        Column("Invoice reference"),
        Column("Priority"),
        Column("Memo"),
        Column("Amount", Kind.CENTS, total=True),
        Column("Status"),
        Column("Paid date", Kind.DATE),
        Column("Check or card number"),
    ]
    rows = [
        (
            cost.pk,
            cost.cost_date,
            cost.case.number,
            cost.case.name,
            cost.case.responsible_attorney.display_name if cost.case.responsible_attorney else "",
            cost.payee.name,
            cost.cost_code.code,
            cost.invoice_reference,
            cost.get_priority_display(),
            cost.memo,
            cost.amount_cents,
            cost.get_status_display(),
            cost.paid_date,
            cost.payment_reference,
        )
        for cost in costs
    ]
    name = f"costs-{clock.today():%Y-%m-%d}"
    response = HttpResponse(
        xlsx_bytes(Table("Costs", columns, rows, name)), content_type=CONTENT_TYPES[Format.XLSX]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


register_bulk_action(
    BulkAction(key="export_xlsx", label="Export Excel (XLSX)", handler=_export_xlsx, order=91)
)


# --- The screen ---------------------------------------------------------------------------


def back_to_costs_management(request: HttpRequest) -> str:
    """Where an action on Costs Management returns (its bulk actions, the bridge's among
    them): the page as it was, sent as ``next``, else Costs Management."""
    return safe_next(request, request.POST.get("next"), reverse("cases:costs_management"))


def _filters(me: User, form: CostFilterForm) -> CostFilters:
    """The valid filters typed (an invalid one is shown with its error and left out)."""
    form.is_valid()
    data = form.cleaned_data
    case_id = None
    number = str(data.get("case") or "").strip()
    if number:
        case = Case.objects.filter(firm=me.firm, number__iexact=number).only("pk").first()
        if case is None:
            form.add_error("case", f"No case numbered {number} in this firm.")
            case_id = 0  # matches nothing
        else:
            case_id = case.pk
    payee_id = None
    name = str(data.get("payee") or "").strip()
    if name:
        # The payee typed by name (case-insensitive); of namesakes, one who is a payee.
        payee = (
            Contact.objects.filter(firm=me.firm, name__iexact=name)
            .alias(has_costs=Exists(Cost.objects.filter(payee=OuterRef("pk"))))
            .order_by("-has_costs", "pk")
            .only("pk")
            .first()
        )
        if payee is None:
            form.add_error("payee", f"No contact named {name} in this firm.")
            payee_id = 0  # matches nothing
        else:
            payee_id = payee.pk
    attorney = data.get("attorney")
    return CostFilters(
        case_id=case_id,
        attorney_id=attorney.pk if attorney else None,
        payee_id=payee_id,
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        amount_min_cents=data.get("amount_min"),
        amount_max_cents=data.get("amount_max"),
    )


def _query_url(request: HttpRequest, **changes: str | None) -> str:
    """This page's URL with ``changes`` (None drops a parameter); a new sort, tab or filter
    always starts again at the first page (a cursor belongs to one sort and tab)."""
    query = request.GET.copy()
    query.pop("page", None)
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return f"?{query.urlencode()}"


def _sort_links(request: HttpRequest, current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the link that sorts by it (or flips it) and aria-sort."""
    links = {}
    for column, (first, flipped) in SORTABLE.items():
        active = current in (first, flipped)
        sort = flipped if current == first and first != flipped else first
        descending = not current.startswith("-") if column in ("date", "amount") else False
        aria = ("descending" if descending else "ascending") if active else "none"
        links[column] = {"url": _query_url(request, sort=sort, cursor=None), "aria": aria}
    return links


def _pager(request: HttpRequest, page: CostPage) -> dict[str, object]:
    """First / Previous / Next / Last, keeping the filters, the tab and the sort."""

    def at(cursor: str | None) -> str:
        return _query_url(request, cursor=cursor)

    return {
        "count": page.count,
        "first_url": at(None) if not page.is_first else "",
        "prev_url": at(page.prev_cursor) if page.prev_cursor else "",
        "next_url": at(page.next_cursor) if page.next_cursor else "",
        "last_url": at(LAST) if not page.is_last else "",
    }


def menu_actions(status: str) -> list[BulkAction]:
    """The bulk actions offered on a tab, in menu order: the others by ``order`` (Send
    first), destructive ones last."""
    offered = [a for a in BULK_ACTIONS.values() if status in a.statuses]
    return sorted(offered, key=lambda a: (a.danger, a.order))


def _tab_query(request: HttpRequest, status: str) -> str:
    """The tab and its filters as a query string (no sort or cursor): what "all matching"
    means when a bulk action is sent with it."""
    query = request.GET.copy()
    for name in ("sort", "cursor", "page"):
        query.pop(name, None)
    query["status"] = status
    return query.urlencode()


def _matching(me: User, raw_query: str) -> tuple[list[Cost], str]:
    """Every cost of the tab that the filters in ``raw_query`` match (the same filters the
    list applies), and the tab. An invalid filter, an over-long query or more than
    :data:`MATCHING_MAX` costs is refused (``ValidationFailed``), never "everything"."""
    if len(raw_query) > QUERY_MAX:
        raise ValidationFailed("the filters are too long to act on; narrow them and try again")
    query = QueryDict(raw_query)
    status = query.get("status", "")
    if status not in dict(TABS):
        raise Http404("No such tab.")
    form = CostFilterForm(query, firm=me.firm)
    filters = _filters(me, form)
    if form.errors:
        raise ValidationFailed(
            "the filters are not valid, so there is nothing to act on: correct them first"
        )
    ids = costs_matching(firm=me.firm, status=status, filters=filters)
    if len(ids) > MATCHING_MAX:
        raise ValidationFailed(
            f"{len(ids):,} costs match; act on at most {MATCHING_MAX:,} at a time: narrow the "
            "filters (a date range, a payee, a case)"
        )
    return _costs(me, ids), status


def _expected(costs: list[Cost]) -> str:
    """What the confirmation of "all matching" must still find: the costs themselves (a
    digest of their ids), their count and total, so it never acts on a cost the person
    did not see counted, even when one went and another came with the same amount."""
    digest = hashlib.sha256(",".join(str(c.pk) for c in sorted(costs, key=lambda c: c.pk)).encode())
    return f"{len(costs)}:{sum(c.amount_cents for c in costs)}:{digest.hexdigest()[:16]}"


def _costs(me: User, ids: Iterable[int]) -> list[Cost]:
    return list(
        Cost.objects.filter(firm=me.firm, pk__in=list(ids))
        .select_related("case", "case__responsible_attorney", "payee", "cost_code")
        .order_by("-cost_date", "-pk")
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_GET
def costs_management_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    status = request.GET.get("status", CostStatus.OPEN)
    if status not in dict(TABS):
        status = CostStatus.OPEN
    form = CostFilterForm(request.GET, firm=me.firm)
    filters = _filters(me, form)
    sort = str(request.GET.get("sort", "date"))[:10]
    cursor = str(request.GET.get("cursor", ""))[:400] or None
    try:
        page = costs_management_page(
            firm=me.firm, status=status, filters=filters, sort=sort, cursor=cursor
        )
    except InvalidCursor:  # a stale or edited link: the first page
        page = costs_management_page(firm=me.firm, status=status, filters=filters, sort=sort)
    tab_links = [
        {
            "value": value,
            "label": label,
            "count": page.tab_counts[value],
            "url": _query_url(request, status=value, cursor=None),
        }
        for value, label in TABS
    ]
    actions = menu_actions(page.status)
    first_danger = next((a.key for a in actions if a.danger), "")
    extras = extensions.cost_extras(me, page.items)
    # One reverse() for the page, not one per row (a tenth of the template's time).
    head, _, tail = reverse("cases:case_costs", args=[0]).rpartition("/0/")
    return render(
        request,
        "cases/costs_management/list.html",
        {
            **NAV,
            "form": form,
            "page": page,
            "rows": [
                (cost, extras.get(cost.pk), f"{head}/{cost.case_id}/{tail}") for cost in page.items
            ],
            "progress": extensions.costs_progress_html(request, me),
            "status": page.status,
            "tabs": tab_links,
            "pager": _pager(request, page),
            "sort": page.sort,
            "sort_links": _sort_links(request, page.sort),
            "actions": actions,
            "separator_before": first_danger if actions and actions[0].danger is False else "",
            # more match than the page shows: offer to act on all of them (server-side)
            # (never with a filter the form refused: the list then shows everything)
            "matching_count": (
                page.count if page.count > len(page.items) and not form.errors else 0
            ),
            "query": _tab_query(request, page.status),
            "filtered": filters.any,
            "here": request.get_full_path(),
        },
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_POST
def costs_bulk_view(request: HttpRequest) -> HttpResponse:
    """Run a bulk action on the ticked costs: its pop-up first, if it has one."""
    me = cases_user(request)
    action = BULK_ACTIONS.get(str(request.POST.get("action", "")))
    if action is None:
        raise Http404("No such bulk action.")
    matching = request.POST.get("scope") == "matching"
    query = str(request.POST.get("query", ""))
    if matching:  # every cost the tab's filters match, found again here from the filters
        try:
            costs, tab = _matching(me, query)
        except ValidationFailed as exc:
            messages.error(request, message_of(exc))
            return finish(request, back_to_costs_management(request))
        if tab not in action.statuses:
            raise Http404("This action is not offered on this tab.")
    else:
        raw_ids = request.POST.getlist("cost")[: MAX_PAGE_SIZE + 1]
        if len(raw_ids) > MAX_PAGE_SIZE:
            raise Http404("Too many costs selected.")
        ids = {int(v) for v in raw_ids if v.isascii() and v.isdigit() and len(v) < 19}
        if len(ids) != len(set(raw_ids)):
            raise Http404("A selected cost was not found.")
        costs = _costs(me, ids)
        if len(costs) != len(ids):
            raise Http404("A selected cost was not found in this firm.")
    total_cents = sum(c.amount_cents for c in costs)
    if not action.confirms:
        if not costs:
            messages.error(request, "Select at least one cost first.")
            return HttpResponseRedirect(back_to_costs_management(request))
        return action.handler(request, me, costs, None)
    assert action.confirm_form is not None
    status = 200
    if request.POST.get("confirmed") == "1":
        form = action.confirm_form(request.POST)
        if not costs:
            form.is_valid()
            form.add_error(None, "Select at least one cost first.")
            status = INVALID
        elif matching and request.POST.get("expected") != _expected(costs):
            form.is_valid()
            form.add_error(
                None,
                f"The matching costs changed since this was opened: {_counted(len(costs))} "
                f"totalling {format_cents(total_cents)} match now. Check and confirm again.",
            )
            status = INVALID
        elif form.is_valid():
            try:
                return action.handler(request, me, costs, form)
            except DomainError as exc:
                apply_domain_error(form, exc)
            status = INVALID
        else:
            status = INVALID
    else:
        form = action.confirm_form()
        if not costs:
            form = action.confirm_form({})
            form.is_valid()
            form.add_error(None, "Select at least one cost first.")
            status = INVALID if is_htmx(request) else 200
    return render_modal(
        request,
        "cases/costs_management/_bulk_confirm.html",
        {
            "form": form,
            "action": action,
            "costs": costs,
            "total_cents": total_cents,
            "matching": matching,
            "query": query,
            "expected": _expected(costs) if matching else "",
            "next": back_to_costs_management(request),
        },
        title=f"{action.label} · {_counted(len(costs))}",
        status=status,
        back_url=back_to_costs_management(request),
        opening=request.POST.get("confirmed") != "1",
    )


def _counted(n: int) -> str:
    return f"{n:,} cost{'s' if n != 1 else ''}"
