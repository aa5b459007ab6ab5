"""The audit trail on screen (issue 16): a case's Activity tab and the firm-wide list at
``/cases/audit/`` (firm administrators and the administration settings permission),
newest first, filtered by user, kind of record, action, dates on the firm's clock, case
and words of the summary; walked by keyset (Newest / Next), and exported as CSV or XLSX
(the Export menu), read in chunks so memory stays flat however long the list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from casebridge.cases.auth import (
    View,
    cases_login_required,
    cases_settings_required,
    cases_user,
)
from casebridge.cases.forms import DateInput
from casebridge.cases.models import Case, Firm
from casebridge.cases.selectors.audit_trail import (
    AuditFilters,
    audit_events,
    audit_rows,
    entity_choices,
    firm_users,
    iter_audit_rows,
)
from casebridge.core import clock, timezones
from casebridge.core.api.schemas import PageIn, keyset_page
from casebridge.core.errors import ValidationFailed
from casebridge.core.tabular import Column, Format, Table
from casebridge.web.exports import export_response, xlsx_refusal
from casebridge.web.paging import cursor_param

from .cases import case_context, case_of

PER_PAGE = 50
#: The columns of the CSV and XLSX exports.
EXPORT_COLUMNS = ("When", "Who", "Action", "Record", "Summary", "Before and after")


class AuditFilterForm(forms.Form):
    user = forms.TypedChoiceField(label="User", required=False, coerce=int, empty_value=None)
    entity = forms.ChoiceField(label="Record", required=False)
    action = forms.CharField(label="Action", max_length=64, required=False)
    since = forms.DateField(label="From", required=False, widget=DateInput)
    until = forms.DateField(label="To", required=False, widget=DateInput)
    case = forms.CharField(label="Case number", max_length=40, required=False)
    q = forms.CharField(label="Summary contains", max_length=100, required=False)

    def __init__(self, *args: Any, firm: Firm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user_field = self.fields["user"]
        assert isinstance(user_field, forms.TypedChoiceField)
        user_field.choices = [("", "Anyone"), *firm_users(firm)]
        entity_field = self.fields["entity"]
        assert isinstance(entity_field, forms.ChoiceField)
        entity_field.choices = [("", "Any record"), *entity_choices()]

    def filters(self) -> AuditFilters | None:
        """The filters asked for; None when one is not valid (its error is on the form):
        the list then shows nothing rather than quietly dropping every filter."""
        if not self.is_bound:
            return AuditFilters()
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return AuditFilters(
            user_id=data["user"],
            entity=data["entity"],
            action=data["action"].strip().lower().replace(" ", "_"),
            since=data["since"],
            until=data["until"],
            case_number=data["case"].strip(),
            text=data["q"].strip(),
        )


def _query_url(request: HttpRequest, **changes: str | None) -> str:
    query = request.GET.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return f"?{query.urlencode()}"


def _page(request: HttpRequest, firm: Firm, case: Case | None) -> dict[str, Any]:
    form = AuditFilterForm(request.GET or None, firm=firm)
    filters = form.filters()
    if filters is None:
        return {
            "form": form,
            "rows": [],
            "next_url": "",
            "newest_url": "",
            "export_query": _query_url(request, cursor=None).removeprefix("?"),
            "page_error": "Correct the filters to see the events.",
        }
    qs = audit_events(firm=firm, filters=filters, case=case)
    cursor = cursor_param(request)
    error = ""
    try:
        events, next_cursor = keyset_page(qs, PageIn(limit=PER_PAGE, cursor=cursor))
    except ValidationFailed:
        error = "That page link is out of date; showing the newest events."
        events, next_cursor = keyset_page(qs, PageIn(limit=PER_PAGE, cursor=None))
        cursor = None
    return {
        "form": form,
        "rows": audit_rows(firm=firm, events=events),
        "next_url": _query_url(request, cursor=next_cursor) if next_cursor else "",
        "newest_url": _query_url(request, cursor=None) if cursor else "",
        "export_query": _query_url(request, cursor=None).removeprefix("?"),
        "page_error": error,
    }


@cases_login_required
def case_audit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A case's Activity tab: every audit event of the case, newest first."""
    me = cases_user(request)
    case = case_of(request, pk)
    return render(
        request,
        "cases/audit/case.html",
        {**case_context(case, "audit"), **_page(request, me.firm, case)},
    )


@cases_settings_required
def firm_audit_view(request: HttpRequest) -> HttpResponse:
    """The firm's audit trail: firm administrators and the settings permission holders."""
    me = cases_user(request)
    return render(
        request,
        "cases/audit/list.html",
        {"nav": "settings", **_page(request, me.firm, None)},
    )


def audit_export(
    request: HttpRequest, fmt: Format, *, case: Case | None = None
) -> HttpResponse | StreamingHttpResponse | FileResponse:
    """The events the screen's filters select (a case's, or the firm's) as CSV or XLSX,
    read in chunks, on the firm's clock; a bad filter is a 400 naming it and exports
    nothing (else it would export every event of the firm)."""
    firm = cases_user(request).firm
    form = AuditFilterForm(request.GET or None, firm=firm)
    filters = form.filters()
    if filters is None:
        reasons = "; ".join(
            f"{form.fields[name].label if name in form.fields else name}: "
            + " ".join(str(e) for e in errors)
            for name, errors in form.errors.items()
        )
        return HttpResponse(
            f"The filters are not valid, so nothing was exported. {reasons}\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    qs = audit_events(firm=firm, filters=filters, case=case)
    if too_many := xlsx_refusal(fmt, qs):
        return too_many
    zone = firm.time_zone

    def rows() -> Iterator[tuple[str, ...]]:
        # a CSV streams after the view returns: the firm's clock is set again for the rows
        with timezones.firm_zone(zone):
            for row in iter_audit_rows(firm=firm, queryset=qs):
                yield (
                    row.when,
                    row.who,
                    row.action_label,
                    row.entity_label,
                    row.summary,
                    row.changes_text,
                )

    name = f"audit-trail-case-{case.number}" if case is not None else "audit-trail"
    table = Table(
        title=f"Audit trail, case {case.number}" if case is not None else "Audit trail",
        subtitle=firm.name,
        columns=[Column(title) for title in EXPORT_COLUMNS],
        rows=rows(),
        filename=f"{name}-{clock.today():%Y-%m-%d}",
    )
    return export_response(table, fmt, bom=request.GET.get("bom") == "1")


def _case_audit_export(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    """``/cases/<pk>/audit/export.csv``: kept for the links and scripts that use it; the
    Export menu's ``/cases/export/cases/<pk>/audit/`` offers XLSX too."""
    return audit_export(request, Format.CSV, case=case_of(request, pk))


def _firm_audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """``/cases/audit/export.csv``, kept as the case's is."""
    return audit_export(request, Format.CSV)


# The guards are typed for HttpResponse views; they hand back whatever the view answers,
# here a streamed one.
case_audit_export = cases_login_required(cast("View", _case_audit_export))
firm_audit_export = cases_settings_required(cast("View", _firm_audit_export))
