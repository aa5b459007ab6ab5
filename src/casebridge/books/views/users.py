"""Gear -> Users: the list, Add user, and the pencil pop-up with its General and
Accounting tabs (Records Time, GL account extension; seed S5)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required
from casebridge.books.forms import (
    USER_ACCOUNTING_FIELDS,
    USER_GENERAL_FIELDS,
    UserCreateForm,
    UserEditForm,
)
from casebridge.books.models import User
from casebridge.books.services import auth as auth_services
from casebridge.core.errors import DomainError

from ._common import (
    INVALID,
    apply_domain_error,
    books_user,
    close_modal_headers,
    finish,
    is_htmx,
    paginate,
    render_modal,
)

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
    status = 200
    if request.method == "POST":
        form = UserCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
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
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    reverse("books:users"),
                    f"User {created.email} added. They enroll a security question at their "
                    "first login.",
                )
        status = INVALID
    else:
        form = UserCreateForm()
    return render_modal(
        request,
        "books/users/_create_form.html",
        {"form": form},
        title="Add user",
        status=status,
        back_url=reverse("books:users"),
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
    status = 200
    if request.method == "POST":
        form = UserEditForm.for_user(target, request.POST)
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                if changes:
                    target = auth_services.user_update(user=target, actor=me, **changes)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                message = f"Saved {target.email}." if changes else "No changes to save."
                if is_htmx(request):
                    body = render_to_string(
                        "books/users/_saved.html",
                        {"u": target, "toast": message},
                        request=request,
                    )
                    return close_modal_headers(HttpResponse(body))
                return finish(request, reverse("books:users"), message)
        status = INVALID
    else:
        form = UserEditForm.for_user(target)
    return render_modal(
        request,
        "books/users/_edit_form.html",
        {
            "form": form,
            "target": target,
            "tab": _active_tab(form),
            "general_fields": [form[f] for f in USER_GENERAL_FIELDS],
            "accounting_fields": [form[f] for f in USER_ACCOUNTING_FIELDS],
        },
        title=f"Edit {target.display_name}",
        status=status,
        back_url=reverse("books:users"),
    )
