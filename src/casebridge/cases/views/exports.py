"""The cases side's lists exported (issue 15, ADR 0043): Cases and Deadlines as CSV or
XLSX (``?format=``), with the screen's own filters read by the screen's own form, through
the shared writers (``core.tabular``, ``web.exports``); signed in as the screens are.
Costs Management's ticked costs have their CSV and XLSX as bulk actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from casebridge.cases.auth import cases_login_required, cases_user
from casebridge.cases.forms import CaseSearchForm
from casebridge.cases.models import Case
from casebridge.cases.selectors import deadlines as deadline_selectors
from casebridge.cases.services import deadlines as deadline_services
from casebridge.cases.views.deadlines import DeadlineFilterForm, _filters
from casebridge.core import clock
from casebridge.core.tabular import Column, Format, Kind, Table
from casebridge.web.exports import export_response

CHUNK_ROWS = 2000


def _format(request: HttpRequest) -> Format | None:
    value = (request.GET.get("format") or "csv").lower()
    return Format(value) if value in (Format.CSV, Format.XLSX) else None


def _refused() -> HttpResponse:
    return HttpResponse(
        "format must be one of csv, xlsx", status=422, content_type="text/plain; charset=utf-8"
    )


def _case_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[object, ...]]:
    for n, name, client, kind, first, last, status, incident, state, opened in rows:
        attorney = f"{first or ''} {last or ''}".strip()
        yield (n, name, client, kind or "", attorney, status, incident, state, opened)


@cases_login_required
@require_GET
def cases_export_view(request: HttpRequest) -> HttpResponse:
    firm = cases_user(request).firm
    fmt = _format(request)
    if fmt is None:
        return _refused()
    cases = Case.objects.filter(firm=firm)
    form = CaseSearchForm(request.GET)
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q:
            cases = cases.filter(
                Q(number__icontains=q) | Q(name__icontains=q) | Q(client__name__icontains=q)
            )
        if form.cleaned_data["status"]:
            cases = cases.filter(status=form.cleaned_data["status"])
    else:
        cases = cases.none()
    rows = cases.order_by("-pk").values_list(
        "number", "name", "client__name", "case_type__name", "responsible_attorney__first_name",
        "responsible_attorney__last_name", "status", "incident_date", "jurisdiction_state",
        "opened_on",
    )  # fmt: skip
    table = Table(
        title="Cases",
        subtitle=firm.name,
        columns=[
            Column("Number"),
            Column("Name"),
            Column("Client"),
            Column("Case type"),
            Column("Attorney"),
            Column("Status"),
            Column("Incident date", Kind.DATE),
            Column("State"),
            Column("Opened", Kind.DATE),
        ],
        rows=_case_rows(rows.iterator(chunk_size=CHUNK_ROWS)),
        filename=f"cases-{clock.today().isoformat()}",
    )
    # the sign-in decorator is typed for HttpResponse; a streamed one is answered alike
    return cast(HttpResponse, export_response(table, fmt, bom=request.GET.get("bom") == "1"))


@cases_login_required
@require_GET
def deadlines_export_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    fmt = _format(request)
    if fmt is None:
        return _refused()
    today = deadline_services.firm_today(me.firm)
    form = DeadlineFilterForm(request.GET or None, firm=me.firm)
    filters = _filters(form) if form.is_bound else deadline_selectors.DeadlineFilters()
    deadlines = deadline_selectors.open_deadlines(me.firm, filters, today)
    table = Table(
        title="Deadlines",
        subtitle=f"{me.firm.name}. Open deadlines as of {today.isoformat()}",
        columns=[
            Column("Due", Kind.DATE),
            Column("Days left", Kind.COUNT),
            Column("Case"),
            Column("Case name"),
            Column("Kind"),
            Column("Title"),
            Column("Attorney"),
            Column("Set by hand"),
            Column("Verify with counsel"),
        ],
        rows=(
            (
                d.due_date,
                (d.due_date - today).days,
                d.case.number,
                d.case.name,
                d.get_kind_display(),
                d.title,
                d.case.responsible_attorney.display_name if d.case.responsible_attorney else "",
                "Yes" if d.set_by_hand else "No",
                "Yes" if d.verify_with_counsel else "No",
            )
            for d in deadlines.iterator(chunk_size=CHUNK_ROWS)
        ),
        filename=f"deadlines-{today.isoformat()}",
    )
    # the sign-in decorator is typed for HttpResponse; a streamed one is answered alike
    return cast(HttpResponse, export_response(table, fmt, bom=request.GET.get("bom") == "1"))
