"""The firm's allowed books addresses (issue 13): confirm one, remove one."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from casebridge.bridge.forms import AddressForm
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.views._common import integrations_url
from casebridge.cases.auth import cases_settings_required, cases_user
from casebridge.web.popups import ConfirmForm, popup_form


@cases_settings_required
@require_http_methods(["GET", "POST"])
def address_confirm_view(request: HttpRequest) -> HttpResponse:
    """A firm administrator confirms a books host and port the bridge may reach (the
    service refuses anyone else, and metadata and loopback addresses)."""
    me = cases_user(request)

    def confirm(form: AddressForm) -> str:
        confirmation = conn_services.books_address_confirm(
            firm=me.firm, actor=me, address=form.cleaned_data["address"]
        )
        return f"{confirmation} is confirmed: the bridge may reach it."

    return popup_form(
        request,
        AddressForm,
        on_valid=confirm,
        template="bridge/_address_form.html",
        title="Confirm a books address",
        success=integrations_url(),
        context={"is_admin": me.is_firm_admin},
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def address_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    confirmation = get_object_or_404(conn_services.books_addresses_of(me.firm), pk=pk)

    def remove(form: ConfirmForm) -> str:
        conn_services.books_address_remove(firm=me.firm, actor=me, confirmation_id=pk)
        return f"{confirmation} is no longer confirmed: the bridge does not reach it."

    return popup_form(
        request,
        ConfirmForm,
        on_valid=remove,
        template="bridge/_address_remove_form.html",
        title="Remove a confirmed books address",
        success=integrations_url(),
        context={"confirmation": confirmation},
    )
