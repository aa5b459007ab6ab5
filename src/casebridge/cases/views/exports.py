"""The cases side's lists exported (issue 15, ADR 0043): Cases, Deadlines, Client Trust
Management (the tab shown), Account Settings' users, cost codes and limitation rules, and
the audit trail (the firm's and a case's) as CSV or XLSX (``?format=``), with the screen's
own filters read by the screen's own form, through the shared writers (``core.tabular``,
``web.exports``), rows read in chunks; each guarded as its screen is. Costs Management's
ticked costs have their CSV and XLSX as bulk actions.

Moments (a sign-in, a staging) are on the firm's clock: a CSV streams after the view
returns, so its rows set the firm's zone again while they are read (:func:`_on_firm_clock`).
The users' export reads only the columns it writes: never a password hash, a TOTP secret,
a recovery code or a token."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from casebridge.cases.auth import cases_login_required, cases_settings_required, cases_user
from casebridge.cases.forms import CaseSearchForm
from casebridge.cases.models import (
    Case,
    CostCode,
    LienKind,
    Permission,
    TrustItem,
    TrustItemKind,
    User,
)
from casebridge.cases.selectors import deadlines as deadline_selectors
from casebridge.cases.services import deadlines as deadline_services
from casebridge.cases.views import audit_trail
from casebridge.cases.views.cases import case_of
from casebridge.cases.views.client_trust import TABS, trust_tab
from casebridge.cases.views.deadlines import DeadlineFilterForm, _filters
from casebridge.core import clock, timezones, words
from casebridge.core.tabular import Column, Format, Kind, Table
from casebridge.web.exports import export_response, xlsx_refusal

CHUNK_ROWS = 2000


def _format(request: HttpRequest) -> Format | None:
    value = (request.GET.get("format") or "csv").lower()
    return Format(value) if value in (Format.CSV, Format.XLSX) else None


def _refused() -> HttpResponse:
    return HttpResponse(
        "format must be one of csv, xlsx", status=422, content_type="text/plain; charset=utf-8"
    )


def _yes(value: object) -> str:
    return "Yes" if value else "No"


def _person(first: str | None, last: str | None, email: str | None = None) -> str:
    """A user's name as ``User.display_name`` gives it (the email when they have none)."""
    return f"{first or ''} {last or ''}".strip() or (email or "")


def _on_firm_clock(zone: str | None, rows: Iterable[tuple[object, ...]]) -> Iterator[Any]:
    """``rows`` read with the firm's zone active (a streamed CSV reads them after the
    view has returned and the request's zone has been put back)."""
    with timezones.firm_zone(zone):
        yield from rows


def _answer(request: HttpRequest, table: Table, fmt: Format) -> HttpResponse:
    # the sign-in decorator is typed for HttpResponse; a streamed one is answered alike
    return cast(HttpResponse, export_response(table, fmt, bom=request.GET.get("bom") == "1"))


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
    if too_many := xlsx_refusal(fmt, rows):
        return too_many
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
    return _answer(request, table, fmt)


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
    if too_many := xlsx_refusal(fmt, deadlines):
        return too_many
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
    return _answer(request, table, fmt)


@cases_login_required
@require_GET
def client_trust_export_view(request: HttpRequest) -> HttpResponse:
    """Client Trust Management's tab (the screen's ``?tab=``, else the tab it opens on):
    one row per payment, its case's newest first as on the screen."""
    firm = cases_user(request).firm
    fmt = _format(request)
    if fmt is None:
        return _refused()
    tab, _counts = trust_tab(request, firm)
    label = dict(TABS)[tab]
    items = (
        TrustItem.objects.filter(firm=firm, status=tab)
        .order_by("-case_id", "pk")
        .values_list(
            "case__number", "case__name", "case__client__name",
            "case__responsible_attorney__first_name", "case__responsible_attorney__last_name",
            "case__responsible_attorney__email", "kind", "lien__kind", "payee_name",
            "paid_direct", "note", "check_number", "invoice_reference", "staged_at",
            "disbursed_on", "amount_cents",
        )
    )  # fmt: skip
    if too_many := xlsx_refusal(fmt, items):
        return too_many

    def rows() -> Iterator[tuple[object, ...]]:
        for (
            number, name, client, first, last, email, kind, lien_kind, payee, paid_direct,
            note, check_number, invoice, staged_at, disbursed_on, cents,
        ) in items.iterator(chunk_size=CHUNK_ROWS):  # fmt: skip
            yield (
                number,
                name,
                client,
                _person(first, last, email) if email else "",
                LienKind(lien_kind).label if lien_kind else TrustItemKind(kind).label,
                payee,
                note,
                _yes(paid_direct),
                check_number,
                invoice,
                timezone.localtime(staged_at).date(),
                disbursed_on,
                cents,
            )

    table = Table(
        title=f"Client trust, {label}",
        subtitle=f"{firm.name}. Client Trust Management, {label}",
        columns=[
            Column("Case"),
            Column("Case name"),
            Column("Client"),
            Column("Attorney"),
            Column("Item"),
            Column("Payee"),
            Column("Note"),
            Column("Paid direct"),
            Column("Check number"),
            Column("Invoice"),
            Column("Staged on", Kind.DATE),
            Column("Disbursed on", Kind.DATE),
            Column("Amount", Kind.CENTS),
        ],
        rows=_on_firm_clock(firm.time_zone, rows()),
        filename=f"client-trust-{tab.replace('_', '-')}-{clock.today().isoformat()}",
    )
    return _answer(request, table, fmt)


@cases_settings_required
@require_GET
def users_export_view(request: HttpRequest) -> HttpResponse:
    """Account Settings -> Users and permissions: who signs in and what each may do (a
    firm administrator may do everything, so every permission reads Yes). Only the columns
    below are read from the database."""
    firm = cases_user(request).firm
    fmt = _format(request)
    if fmt is None:
        return _refused()
    users = (
        User.objects.filter(firm=firm)
        .order_by("-is_active", "last_name", "first_name", "email", "pk")
        .values_list(
            "first_name", "last_name", "email", "is_firm_admin", "is_attorney", "is_active",
            "perm_admin_settings", "perm_costs_management", "perm_deposit_settlement",
            "last_login_at",
        )
    )  # fmt: skip

    def rows() -> Iterator[tuple[object, ...]]:
        for (
            first, last, email, admin, attorney, active, settings_perm, costs_perm,
            deposit_perm, last_login_at,
        ) in users.iterator(chunk_size=CHUNK_ROWS):  # fmt: skip
            yield (
                first,
                last,
                email,
                _yes(admin),
                _yes(attorney),
                _yes(active),
                _yes(admin or settings_perm),
                _yes(admin or costs_perm),
                _yes(admin or deposit_perm),
                words.format_moment(last_login_at) if last_login_at else None,
            )

    table = Table(
        title="Users and permissions",
        subtitle=firm.name,
        columns=[
            Column("First name"),
            Column("Last name"),
            Column("Email"),
            Column("Firm administrator"),
            Column("Attorney"),
            Column("Active"),
            Column(Permission.ADMIN_SETTINGS.label),
            Column(Permission.COSTS_MANAGEMENT.label),
            Column(Permission.DEPOSIT_SETTLEMENT.label),
            Column("Last sign-in"),
        ],
        rows=_on_firm_clock(firm.time_zone, rows()),
        filename=f"users-{clock.today().isoformat()}",
    )
    return _answer(request, table, fmt)


@cases_settings_required
@require_GET
def cost_codes_export_view(request: HttpRequest) -> HttpResponse:
    """Account Settings -> Cost codes: the firm's own, then the UTBMS expense codes, each
    by code as on the screen."""
    firm = cases_user(request).firm
    fmt = _format(request)
    if fmt is None:
        return _refused()
    codes = (
        CostCode.objects.filter(firm=firm)
        .order_by("is_utbms", "code", "pk")
        .values_list("code", "name", "is_utbms", "is_active")
    )
    table = Table(
        title="Cost codes",
        subtitle=firm.name,
        columns=[Column("Code"), Column("Name"), Column("Kind"), Column("Active")],
        rows=(
            (code, name, "UTBMS expense code" if utbms else "Firm's own", _yes(active))
            for code, name, utbms, active in codes.iterator(chunk_size=CHUNK_ROWS)
        ),
        filename=f"cost-codes-{clock.today().isoformat()}",
    )
    return _answer(request, table, fmt)


@cases_settings_required
@require_GET
def limitation_rules_export_view(request: HttpRequest) -> HttpResponse:
    """Account Settings -> Limitation rules, active first as on the screen; the incident
    dates a rule covers as dates (blank: no bound)."""
    firm = cases_user(request).firm
    fmt = _format(request)
    if fmt is None:
        return _refused()
    rules = deadline_selectors.limitation_rules_queryset(firm)
    table = Table(
        title="Limitation rules",
        subtitle=firm.name,
        columns=[
            Column("State"),
            Column("Claim"),
            Column("Rule"),
            Column("Period", Kind.COUNT),
            Column("Unit"),
            Column("Incidents from", Kind.DATE),
            Column("Incidents until", Kind.DATE),
            Column("Citation"),
            Column("Verify with counsel"),
            Column("Note"),
            Column("Active"),
        ],
        rows=(
            (
                r.state,
                r.get_claim_type_display(),
                r.get_rule_type_display(),
                r.period_count,
                r.period_unit,
                r.effective_from,
                r.effective_until,
                r.citation,
                _yes(r.verify_with_counsel),
                r.note,
                _yes(r.is_active),
            )
            for r in rules.iterator(chunk_size=CHUNK_ROWS)
        ),
        filename=f"limitation-rules-{clock.today().isoformat()}",
    )
    return _answer(request, table, fmt)


@cases_settings_required
@require_GET
def audit_trail_export_view(request: HttpRequest) -> HttpResponse:
    """The firm's audit trail with the screen's filters (``/cases/audit/export.csv`` stays
    for CSV)."""
    fmt = _format(request)
    if fmt is None:
        return _refused()
    return cast(HttpResponse, audit_trail.audit_export(request, fmt))


@cases_login_required
@require_GET
def case_audit_trail_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A case's Activity tab with its filters (``/cases/<pk>/audit/export.csv`` stays for
    CSV)."""
    case = case_of(request, pk)
    fmt = _format(request)
    if fmt is None:
        return _refused()
    return cast(HttpResponse, audit_trail.audit_export(request, fmt, case=case))
