"""The firm's allowed books addresses (issue 13): confirm one, remove one."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from casebridge.bridge.forms import AddressForm
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.views._common import integrations_url
from casebridge.cases.auth import cases_settings_required
from casebridge.cases.views._common import (
    INVALID,
    apply_domain_error,
    cases_user,
    confirm_form,
    finish,
    render_modal,
)
from casebridge.core.errors import DomainError


@cases_settings_required
@require_http_methods(["GET", "POST"])
def address_confirm_view(request: HttpRequest) -> HttpResponse:
    """A firm administrator confirms a books host and port the bridge may reach (the
    service refuses anyone else, and metadata and loopback addresses)."""
    me = cases_user(request)
    status = 200
    if request.method == "POST":
        form = AddressForm(request.POST)
        if form.is_valid():
            try:
                confirmation = conn_services.books_address_confirm(
                    firm=me.firm, actor=me, address=form.cleaned_data["address"]
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    integrations_url(),
                    f"{confirmation} is confirmed: the bridge may reach it.",
                )
        status = INVALID
    else:
        form = AddressForm()
    return render_modal(
        request,
        "bridge/_address_form.html",
        {"form": form, "is_admin": me.is_firm_admin},
        title="Confirm a books address",
        status=status,
        back_url=integrations_url(),
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def address_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    confirmation = get_object_or_404(conn_services.books_addresses_of(me.firm), pk=pk)
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            conn_services.books_address_remove(firm=me.firm, actor=me, confirmation_id=pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish(
                request,
                integrations_url(),
                f"{confirmation} is no longer confirmed: the bridge does not reach it.",
            )
    return render_modal(
        request,
        "bridge/_address_remove_form.html",
        {"form": form, "confirmation": confirmation},
        title="Remove a confirmed books address",
        status=status,
        back_url=integrations_url(),
    )
