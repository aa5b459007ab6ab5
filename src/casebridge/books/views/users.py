"""Gear -> Users: the list, Add user, and the pencil pop-up with its General and
Accounting tabs (Records Time, GL account extension; seed S5)."""

from __future__ import annotations

from functools import partial

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import (
    USER_ACCOUNTING_FIELDS,
    USER_GENERAL_FIELDS,
    UserCreateForm,
    UserEditForm,
)
from casebridge.books.models import User
from casebridge.books.services import auth as auth_services
from casebridge.web.paging import paginate
from casebridge.web.popups import close_modal_headers, is_htmx, popup_form

SECTION = {"nav": "settings", "section": "users"}


@books_login_required(admin=True)
def users_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    users = User.objects.filter(firm=firm).order_by(
        "-is_active", "last_name", "first_name", "email"
    )
    return render(request, "books/users/list.html", {**SECTION, "page": paginate(request, users)})


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)

    def create(form: UserCreateForm) -> str:
        data = form.cleaned_data
        created = auth_services.user_create(
            firm=me.firm,
            actor=me,
            email=data["email"],
            password=data["password"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            initials=data["initials"],
            role=data["role"] or None,
            is_attorney=data["is_attorney"],
            records_time=data["records_time"],
            must_change_password=True,
        )
        return (
            f"User {created.email} added. At their first sign-in they choose their own "
            "password and enroll a security question."
        )

    return popup_form(
        request,
        UserCreateForm,
        on_valid=create,
        template="books/users/_create_form.html",
        title="Add user",
        success=reverse("books:users"),
    )


def _active_tab(form: UserEditForm) -> str:
    errors = set(form.errors)
    if errors & set(USER_ACCOUNTING_FIELDS) and not errors & {*USER_GENERAL_FIELDS, "__all__"}:
        return "accounting"
    if not errors and form.data.get("tab") == "accounting":
        return "accounting"
    return "general"


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def user_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    target = get_object_or_404(User, firm=me.firm, pk=pk)

    def save(form: UserEditForm) -> HttpResponse | str:
        nonlocal target
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if changes:
            target = auth_services.user_update(user=target, actor=me, **changes)
        message = f"Saved {target.email}." if changes else "No changes to save."
        if not is_htmx(request):
            return message
        body = render_to_string(
            "books/users/_saved.html", {"u": target, "toast": message}, request=request
        )
        return close_modal_headers(HttpResponse(body))

    return popup_form(
        request,
        partial(UserEditForm.for_user, target),
        on_valid=save,
        template="books/users/_edit_form.html",
        title=f"Edit {target.display_name}",
        success=reverse("books:users"),
        context=lambda form: {
            "target": target,
            "tab": _active_tab(form),
            "general_fields": [form[f] for f in USER_GENERAL_FIELDS],
            "accounting_fields": [form[f] for f in USER_ACCOUNTING_FIELDS],
        },
    )
