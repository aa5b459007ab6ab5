"""Account Settings (firm administrators and the "Administration settings page access"
permission): firm defaults, users and permissions, cost codes, and Integrations."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from casebridge.cases import extensions
from casebridge.cases.auth import cases_settings_required, cases_user
from casebridge.cases.forms import (
    USER_PERMISSION_FIELDS,
    CostCodeForm,
    FirmDefaultsForm,
    OpeningDateForm,
    TimeZoneForm,
    UserCreateForm,
    UserEditForm,
)
from casebridge.cases.models import CostCode, User
from casebridge.cases.services import firms as firm_services
from casebridge.cases.services.dates import first_record_date
from casebridge.core import words
from casebridge.core.dates import max_days_ahead
from casebridge.web.paging import PER_PAGE_SHORT, paginate_numbered
from casebridge.web.popups import popup_form


def _section(name: str) -> dict[str, str]:
    return {"nav": "settings", "section": name}


@cases_settings_required
@require_http_methods(["GET", "POST"])
def settings_defaults_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    firm = me.firm

    def save(form: FirmDefaultsForm) -> HttpResponse:
        data = form.cleaned_data
        firm_services.firm_defaults_update(
            firm=firm,
            actor=me,
            default_fee_rate_bp=data["default_fee_rate"],
            default_copp_cents=data["default_copp"] or 0,
            default_property_damage_fee_cents=data["default_property_damage_fee"] or 0,
            fee_changes_need_approval=data["fee_changes_need_approval"],
        )
        messages.success(request, "Firm defaults saved. New cases start with them.")
        return redirect("cases:settings")

    return popup_form(
        request,
        FirmDefaultsForm,
        on_valid=save,
        template="cases/settings/defaults.html",
        initial={
            "default_fee_rate": firm.default_fee_rate_bp,
            "default_copp": firm.default_copp_cents,
            "default_property_damage_fee": firm.default_property_damage_fee_cents,
            "fee_changes_need_approval": firm.fee_changes_need_approval,
        },
        context={**_section("defaults"), "firm": firm},
        modal=False,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def settings_time_zone_view(request: HttpRequest) -> HttpResponse:
    """Account Settings -> Time zone: what "today" is for the firm (core/timezones.py)."""
    me = cases_user(request)

    def save(form: TimeZoneForm) -> HttpResponse:
        firm = firm_services.firm_time_zone_set(
            firm=me.firm, actor=me, time_zone=form.cleaned_data["time_zone"]
        )
        messages.success(request, f"Time zone saved: {firm.time_zone}.")
        return redirect("cases:settings_time_zone")

    return popup_form(
        request,
        TimeZoneForm,
        on_valid=save,
        template="cases/settings/time_zone.html",
        initial={"time_zone": me.firm.time_zone or settings.TIME_ZONE},
        context={**_section("time_zone"), "firm": me.firm, "server_zone": settings.TIME_ZONE},
        modal=False,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def settings_opening_date_view(request: HttpRequest) -> HttpResponse:
    """Account Settings -> Opening date (ADR 0007): no cost or deposit is dated before it."""
    me = cases_user(request)
    firm = me.firm

    def save(form: OpeningDateForm) -> HttpResponse:
        opening_date = form.cleaned_data["opening_date"]
        firm_services.firm_opening_date_set(firm=firm, actor=me, opening_date=opening_date)
        messages.success(
            request,
            f"Opening date saved: nothing can be dated before {words.format_day(opening_date)}.",
        )
        return redirect("cases:settings_opening_date")

    return popup_form(
        request,
        OpeningDateForm,
        on_valid=save,
        template="cases/settings/opening_date.html",
        initial={"opening_date": firm.opening_date},
        context=lambda form: {
            **_section("opening_date"),
            "firm": firm,
            "first_record": first_record_date(firm),
            "days_ahead": max_days_ahead(),
        },
        modal=False,
    )


@cases_settings_required
@require_GET
def settings_users_view(request: HttpRequest) -> HttpResponse:
    firm = cases_user(request).firm
    users = User.objects.filter(firm=firm).order_by(
        "-is_active", "last_name", "first_name", "email"
    )
    items, pager = paginate_numbered(request, users, per_page=PER_PAGE_SHORT, label="User pages")
    return render(
        request, "cases/settings/users.html", {**_section("users"), "users": items, "pager": pager}
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)

    def make(*args: Any, **kwargs: Any) -> UserCreateForm:
        form = UserCreateForm(*args, **kwargs)
        form.lock_admin_flag(me)
        return form

    def create(form: UserCreateForm) -> str:
        data = form.cleaned_data
        created = firm_services.user_create(
            firm=me.firm,
            actor=me,
            email=data["email"],
            password=data["password"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            must_change_password=True,
            **{name: bool(data[name]) for name in USER_PERMISSION_FIELDS},
        )
        return f"User {created.email} added. They choose their own password at their first sign-in."

    return popup_form(
        request,
        make,
        on_valid=create,
        template="cases/settings/_user_form.html",
        title="Add user",
        success=reverse("cases:settings_users"),
        context={"action": reverse("cases:user_new"), "creating": True},
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def user_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    target = get_object_or_404(User, firm=me.firm, pk=pk)

    def save(form: UserEditForm) -> str:
        nonlocal target
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if changes:
            target = firm_services.user_update(user=target, actor=me, **changes)
        return f"Saved {target.email}." if changes else "No changes to save."

    return popup_form(
        request,
        partial(UserEditForm.for_user, target, me),
        on_valid=save,
        template="cases/settings/_user_form.html",
        title=f"Edit {target.display_name}",
        success=reverse("cases:settings_users"),
        context={
            "target": target,
            "action": reverse("cases:user_edit", args=[target.pk]),
            "creating": False,
        },
    )


@cases_settings_required
@require_GET
def settings_cost_codes_view(request: HttpRequest) -> HttpResponse:
    firm = cases_user(request).firm
    codes = list(CostCode.objects.filter(firm=firm).order_by("code"))
    return render(
        request,
        "cases/settings/cost_codes.html",
        {
            **_section("codes"),
            "own": [c for c in codes if not c.is_utbms],
            "utbms": [c for c in codes if c.is_utbms],
        },
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def cost_code_create_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)

    def create(form: CostCodeForm) -> str:
        code = firm_services.cost_code_create(
            firm=me.firm, actor=me, code=form.cleaned_data["code"], name=form.cleaned_data["name"]
        )
        return f"Cost code {code.code} {code.name} added."

    return popup_form(
        request,
        CostCodeForm,
        on_valid=create,
        template="cases/settings/_cost_code_form.html",
        title="Add cost code",
        success=reverse("cases:settings_cost_codes"),
    )


@cases_settings_required
@require_GET
def settings_integrations_view(request: HttpRequest) -> HttpResponse:
    panels = extensions.panels_html(request, cases_user(request))
    return render(
        request, "cases/settings/integrations.html", {**_section("integrations"), "panels": panels}
    )
