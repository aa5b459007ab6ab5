"""Statutes of limitations and deadlines on screen (issue 16):

- ``/cases/deadlines/``: every open deadline of the firm by due date, with filters
  (attorney, kind, due within N days, overdue) and Next / First page links on a keyset
  cursor (``?cursor=``), each row with its case, days left, the "verify with counsel" flag
  and Satisfy / Change pop-ups;
- a case's Deadlines tab (``/cases/<id>/deadlines/``): the rule its statute date comes from
  (or "no rule ...: enter the deadline by hand"), tolling notes, its deadlines, Add deadline;
- Account Settings -> Limitation rules: the firm's rules, add and change (deactivate);
- the Home page's reminders: "mark read".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casebridge.cases.auth import cases_login_required, cases_settings_required, cases_user
from casebridge.cases.forms import DateInput, attorney_choices
from casebridge.cases.models import (
    ClaimType,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    LimitationRule,
    PeriodUnit,
    RuleType,
)
from casebridge.cases.selectors import deadlines as selectors
from casebridge.cases.services import deadlines as services
from casebridge.cases.views.cases import case_of
from casebridge.core import clock
from casebridge.core.errors import ValidationFailed
from casebridge.core.words import format_day
from casebridge.web.paging import cursor_param
from casebridge.web.popups import popup_form, safe_next

#: The "due within" choices of the filters, in days.
WITHIN_CHOICES = [("", "Any time"), ("7", "7 days"), ("30", "30 days"), ("60", "60 days")]
WITHIN_CHOICES += [("90", "90 days"), ("180", "180 days"), ("365", "a year")]


# --- Forms ---------------------------------------------------------------------------------


class DeadlineFilterForm(forms.Form):
    attorney = forms.TypedChoiceField(
        label="Attorney", required=False, coerce=int, empty_value=None, choices=[]
    )
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *DeadlineKind.choices]
    )
    within = forms.TypedChoiceField(
        label="Due within", required=False, choices=WITHIN_CHOICES, coerce=int, empty_value=None
    )
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def __init__(self, *args: Any, firm: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["attorney"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All"), *attorney_choices(firm)]  # one query, validated and drawn


class DeadlineSatisfyForm(forms.Form):
    satisfied_on = forms.DateField(label="Satisfied on", widget=DateInput, required=False)
    note = forms.CharField(
        label="Note", max_length=500, required=False, help_text="e.g. Complaint filed, case no."
    )


class DeadlineChangeForm(forms.Form):
    due_date = forms.DateField(label="New due date", widget=DateInput)
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        required=False,  # the service names a missing reason beside this field
        help_text="Required: why the date changes (kept in the audit trail).",
    )


class DeadlineCreateForm(forms.Form):
    title = forms.CharField(label="What is due", max_length=200)
    due_date = forms.DateField(label="Due date", widget=DateInput)
    note = forms.CharField(label="Note", max_length=500, required=False)


class LimitationRuleForm(forms.Form):
    state = forms.CharField(label="State (two letters)", max_length=2)
    claim_type = forms.ChoiceField(label="Claim type", choices=ClaimType.choices)
    rule_type = forms.ChoiceField(label="Rule type", choices=RuleType.choices)
    period_count = forms.IntegerField(label="Period", min_value=1, max_value=3650)
    period_unit = forms.ChoiceField(label="Unit", choices=PeriodUnit.choices)
    effective_from = forms.DateField(
        label="Incidents from",
        widget=DateInput,
        required=False,
        help_text="Blank: any earlier date.",
    )
    effective_until = forms.DateField(
        label="Incidents until", widget=DateInput, required=False, help_text="Blank: in force."
    )
    citation = forms.CharField(label="Statute citation", max_length=200)
    verify_with_counsel = forms.BooleanField(
        label="Verify with counsel (shown beside every date computed)", required=False
    )
    note = forms.CharField(label="Note", max_length=500, required=False)
    is_active = forms.BooleanField(label="Active", required=False)


# --- The firm's deadlines ------------------------------------------------------------------


def _filters(form: DeadlineFilterForm) -> selectors.DeadlineFilters:
    form.is_valid()
    data = form.cleaned_data
    return selectors.DeadlineFilters(
        attorney_id=data.get("attorney"),
        kind=data.get("kind") or None,
        within_days=data.get("within"),
        overdue=bool(data.get("overdue")),
    )


def _rows(deadlines: list[Deadline], today: Any) -> list[dict[str, Any]]:
    return [{"deadline": d, "days_left": (d.due_date - today).days} for d in deadlines]


def _url_of(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for the rows of a page at the cost of one ``reverse``
    (the screen's rows each link three of them)."""
    marker = "918273645546372819"
    head, _, tail = reverse(name, args=[int(marker)]).partition(marker)
    return lambda pk: f"{head}{pk}{tail}"


def _screen_rows(rows: list[selectors.DeadlineRow], today: Any, back: str) -> list[dict[str, Any]]:
    """The page's rows with their days left and links worked out once here (the pop-ups'
    ``next``: the page, filters and cursor kept) rather than per row in the template."""
    next_query = f"?{urlencode({'next': back})}"
    case_url = _url_of("cases:case_deadlines")
    satisfy_url, change_url = _url_of("cases:deadline_satisfy"), _url_of("cases:deadline_change")
    return [
        {
            "d": d,
            "days_left": (d.due_date - today).days,
            "case_url": case_url(d.case_id),
            "satisfy_url": satisfy_url(d.pk) + next_query,
            "change_url": change_url(d.pk) + next_query,
        }
        for d in rows
    ]


@cases_login_required
@require_GET
def deadlines_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    today = services.firm_today(me.firm)
    form = DeadlineFilterForm(request.GET or None, firm=me.firm)
    filters = _filters(form) if request.GET else selectors.DeadlineFilters()
    cursor = cursor_param(request)
    try:
        page, next_cursor = selectors.deadlines_page(me.firm, filters, today, cursor=cursor)
    except ValidationFailed:  # a stale or edited cursor: the first page
        cursor = None
        page, next_cursor = selectors.deadlines_page(me.firm, filters, today)
    query = request.GET.copy()
    query.pop("cursor", None)
    next_url = ""
    if next_cursor:
        query["cursor"] = next_cursor
        next_url = f"?{query.urlencode()}"
        query.pop("cursor")
    return render(
        request,
        "cases/deadlines/list.html",
        {
            "nav": "deadlines",
            "form": form,
            "rows": _screen_rows(page, today, request.get_full_path()),
            "today": today,
            "next_url": next_url,
            "first_url": f"?{query.urlencode()}" if cursor else "",
            "filtered": any(request.GET.get(k) for k in ("attorney", "kind", "within", "overdue")),
            # the reminder emails that did not go: the administrators' to follow up
            "undelivered": (
                selectors.reminder_email_problems(me.firm, clock.now())
                if me.is_firm_admin
                else (0, [])
            ),
        },
    )


def _deadline_of(request: HttpRequest, pk: int) -> Deadline:
    return get_object_or_404(
        Deadline.objects.select_related("case"), firm=cases_user(request).firm, pk=pk
    )


def _back(request: HttpRequest, deadline: Deadline) -> str:
    return safe_next(
        request,
        request.GET.get("next") or request.POST.get("next"),
        reverse("cases:case_deadlines", args=[deadline.case_id]),
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def deadline_satisfy_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    deadline = _deadline_of(request, pk)

    def satisfy(form: DeadlineSatisfyForm) -> str:
        services.deadline_satisfy(
            firm=me.firm,
            actor=me,
            deadline_id=deadline.pk,
            satisfied_on=form.cleaned_data["satisfied_on"],
            note=form.cleaned_data["note"],
        )
        return f"{deadline.title} ({deadline.case.number}) satisfied."

    return popup_form(
        request,
        DeadlineSatisfyForm,
        on_valid=satisfy,
        template="cases/deadlines/_satisfy_form.html",
        title="Satisfy deadline",
        success=_back(request, deadline),
        context={"deadline": deadline, "next": _back(request, deadline)},
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def deadline_change_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    deadline = _deadline_of(request, pk)

    def change(form: DeadlineChangeForm) -> str:
        services.deadline_change(
            firm=me.firm,
            actor=me,
            deadline_id=deadline.pk,
            due_date=form.cleaned_data["due_date"],
            reason=form.cleaned_data["reason"],
        )
        return f"{deadline.title} now due {format_day(form.cleaned_data['due_date'])}."

    return popup_form(
        request,
        DeadlineChangeForm,
        on_valid=change,
        template="cases/deadlines/_change_form.html",
        title="Change due date",
        success=_back(request, deadline),
        initial={"due_date": deadline.due_date},
        context={"deadline": deadline, "next": _back(request, deadline)},
    )


# --- A case's deadlines --------------------------------------------------------------------


@cases_login_required
@require_GET
def case_deadlines_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_of(request, pk)
    today = services.firm_today(case.firm)
    return render(
        request,
        "cases/deadlines/case_tab.html",
        {
            "nav": "cases",
            "tab": "deadlines",
            "case": case,
            "claim_label": ClaimType(case.claim_type).label if case.claim_type else "",
            "findings": selectors.case_rule_findings(case),
            "rows": _rows(selectors.case_deadlines(case), today),
            "open_status": DeadlineStatus.OPEN,
            "here": request.get_full_path(),
        },
    )


@cases_login_required
@require_http_methods(["GET", "POST"])
def deadline_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    case = case_of(request, pk)

    def create(form: DeadlineCreateForm) -> str:
        data = form.cleaned_data
        deadline = services.deadline_create(
            firm=me.firm,
            actor=me,
            case_id=case.pk,
            title=data["title"],
            due_date=data["due_date"],
            note=data["note"],
        )
        return f"{deadline.title} due {format_day(deadline.due_date)} added."

    return popup_form(
        request,
        DeadlineCreateForm,
        on_valid=create,
        template="cases/deadlines/_create_form.html",
        title=f"Add a deadline to {case.number}",
        success=reverse("cases:case_deadlines", args=[case.pk]),
        context={"case": case},
    )


@cases_login_required
@require_POST
def reminders_read_view(request: HttpRequest) -> HttpResponse:
    services.reminders_mark_read(user=cases_user(request))
    return HttpResponseRedirect(
        safe_next(request, request.POST.get("next"), reverse("cases:dashboard"))
    )


# --- Account Settings -> Limitation rules --------------------------------------------------


@cases_settings_required
@require_GET
def rules_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cases/deadlines/rules.html",
        {
            "nav": "settings",
            "section": "limitation_rules",
            "rules": [
                {"rule": r, "span": services.rule_span(r)}
                for r in selectors.limitation_rules(cases_user(request).firm)
            ],
        },
    )


def _rule_values(form: LimitationRuleForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["note"] = data.get("note") or ""
    return data


@cases_settings_required
@require_http_methods(["GET", "POST"])
def rule_create_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)

    def create(form: LimitationRuleForm) -> str:
        values = _rule_values(form)
        values.pop("is_active")
        rule = services.limitation_rule_create(firm=me.firm, actor=me, **values)
        return f"Rule {rule} added."

    return popup_form(
        request,
        LimitationRuleForm,
        on_valid=create,
        template="cases/deadlines/_rule_form.html",
        title="Add limitation rule",
        success=reverse("cases:limitation_rules"),
        initial={"verify_with_counsel": True, "is_active": True, "period_unit": "years"},
        context={"action": reverse("cases:limitation_rule_new"), "new": True},
        wide=True,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    rule = get_object_or_404(LimitationRule, firm=me.firm, pk=pk)

    def save(form: LimitationRuleForm) -> str:
        services.limitation_rule_update(
            firm=me.firm, actor=me, rule_id=rule.pk, **_rule_values(form)
        )
        return f"Rule {rule.citation} saved."

    return popup_form(
        request,
        LimitationRuleForm,
        on_valid=save,
        template="cases/deadlines/_rule_form.html",
        title="Change limitation rule",
        success=reverse("cases:limitation_rules"),
        initial={name: getattr(rule, name) for name in services.RULE_FIELDS},
        context={"action": reverse("cases:limitation_rule_edit", args=[rule.pk]), "new": False},
        wide=True,
    )
