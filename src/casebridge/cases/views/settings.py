"""Account Settings (firm administrators and the "Administration settings page access"
permission): firm defaults, users and permissions, cost codes, and Integrations."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from casebridge.cases import extensions
from casebridge.cases.auth import cases_settings_required
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
from casebridge.core.dates import max_days_ahead
from casebridge.core.errors import DomainError

from ._common import INVALID, apply_domain_error, cases_user, finish, paginate, render_modal


def _section(name: str) -> dict[str, str]:
    return {"nav": "settings", "section": name}


@cases_settings_required
@require_http_methods(["GET", "POST"])
def settings_defaults_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    firm = me.firm
    status = 200
    if request.method == "POST":
        form = FirmDefaultsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                firm_services.firm_defaults_update(
                    firm=firm,
                    actor=me,
                    default_fee_rate_bp=data["default_fee_rate"],
                    default_copp_cents=data["default_copp"] or 0,
                    default_property_damage_fee_cents=data["default_property_damage_fee"] or 0,
                    fee_changes_need_approval=data["fee_changes_need_approval"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, "Firm defaults saved. New cases start with them.")
                return redirect("cases:settings")
        status = INVALID
    else:
        form = FirmDefaultsForm(
            initial={
                "default_fee_rate": firm.default_fee_rate_bp,
                "default_copp": firm.default_copp_cents,
                "default_property_damage_fee": firm.default_property_damage_fee_cents,
                "fee_changes_need_approval": firm.fee_changes_need_approval,
            }
        )
    return render(
        request,
        "cases/settings/defaults.html",
        {**_section("defaults"), "form": form, "firm": firm},
        status=status,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def settings_time_zone_view(request: HttpRequest) -> HttpResponse:
    """Account Settings -> Time zone: what "today" is for the firm (core/timezones.py)."""
    me = cases_user(request)
    firm = me.firm
    status = 200
    if request.method == "POST":
        form = TimeZoneForm(request.POST)
        if form.is_valid():
            try:
                firm = firm_services.firm_time_zone_set(
                    firm=firm, actor=me, time_zone=form.cleaned_data["time_zone"]
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, f"Time zone saved: {firm.time_zone}.")
                return redirect("cases:settings_time_zone")
        status = INVALID
    else:
        form = TimeZoneForm(initial={"time_zone": firm.time_zone or settings.TIME_ZONE})
    return render(
        request,
        "cases/settings/time_zone.html",
        {**_section("time_zone"), "form": form, "firm": firm, "server_zone": settings.TIME_ZONE},
        status=status,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def settings_opening_date_view(request: HttpRequest) -> HttpResponse:
    """Account Settings -> Opening date (ADR 0007): no cost or deposit is dated before it."""
    me = cases_user(request)
    firm = me.firm
    status = 200
    if request.method == "POST":
        form = OpeningDateForm(request.POST)
        if form.is_valid():
            opening_date = form.cleaned_data["opening_date"]
            try:
                firm_services.firm_opening_date_set(firm=firm, actor=me, opening_date=opening_date)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(
                    request,
                    f"Opening date saved: nothing can be dated before "
                    f"{opening_date:%b} {opening_date.day}, {opening_date.year}.",
                )
                return redirect("cases:settings_opening_date")
        status = INVALID
    else:
        form = OpeningDateForm(initial={"opening_date": firm.opening_date})
    return render(
        request,
        "cases/settings/opening_date.html",
        {
            **_section("opening_date"),
            "form": form,
            "firm": firm,
            "first_record": first_record_date(firm),
            "days_ahead": max_days_ahead(),
        },
        status=status,
    )


@cases_settings_required
@require_GET
def settings_users_view(request: HttpRequest) -> HttpResponse:
    firm = cases_user(request).firm
    users = User.objects.filter(firm=firm).order_by(
        "-is_active", "last_name", "first_name", "email"
    )
    items, pager = paginate(request, users, label="User pages")
    return render(
        request, "cases/settings/users.html", {**_section("users"), "users": items, "pager": pager}
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    back = reverse("cases:settings_users")
    status = 200
    if request.method == "POST":
        form = UserCreateForm(request.POST)
        form.lock_admin_flag(me)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = firm_services.user_create(
                    firm=me.firm,
                    actor=me,
                    email=data["email"],
                    password=data["password"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    **{name: bool(data[name]) for name in USER_PERMISSION_FIELDS},
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(request, back, f"User {created.email} added.")
        status = INVALID
    else:
        form = UserCreateForm()
        form.lock_admin_flag(me)
    return render_modal(
        request,
        "cases/settings/_user_form.html",
        {"form": form, "action": reverse("cases:user_new"), "creating": True},
        title="Add user",
        status=status,
        back_url=back,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def user_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    target = get_object_or_404(User, firm=me.firm, pk=pk)
    back = reverse("cases:settings_users")
    status = 200
    if request.method == "POST":
        form = UserEditForm.for_user(target, me, request.POST)
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                if changes:
                    target = firm_services.user_update(user=target, actor=me, **changes)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                message = f"Saved {target.email}." if changes else "No changes to save."
                return finish(request, back, message)
        status = INVALID
    else:
        form = UserEditForm.for_user(target, me)
    return render_modal(
        request,
        "cases/settings/_user_form.html",
        {
            "form": form,
            "target": target,
            "action": reverse("cases:user_edit", args=[target.pk]),
            "creating": False,
        },
        title=f"Edit {target.display_name}",
        status=status,
        back_url=back,
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
    back = reverse("cases:settings_cost_codes")
    status = 200
    if request.method == "POST":
        form = CostCodeForm(request.POST)
        if form.is_valid():
            try:
                code = firm_services.cost_code_create(
                    firm=me.firm,
                    actor=me,
                    code=form.cleaned_data["code"],
                    name=form.cleaned_data["name"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(request, back, f"Cost code {code.code} {code.name} added.")
        status = INVALID
    else:
        form = CostCodeForm()
    return render_modal(
        request,
        "cases/settings/_cost_code_form.html",
        {"form": form},
        title="Add cost code",
        status=status,
        back_url=back,
    )


@cases_settings_required
@require_GET
def settings_integrations_view(request: HttpRequest) -> HttpResponse:
    panels = extensions.panels_html(request, cases_user(request))
    return render(
        request, "cases/settings/integrations.html", {**_section("integrations"), "panels": panels}
    )
