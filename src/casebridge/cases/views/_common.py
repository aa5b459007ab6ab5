"""Only for the bridge's screens, until they move onto the pop-up kit: the names they import
from here, now the kit's (:mod:`casebridge.web.popups`, :mod:`casebridge.web.paging`).
The cases side's own views import the kit directly."""

from __future__ import annotations

from django.http import HttpRequest

from casebridge.cases.auth import cases_user
from casebridge.cases.forms import ConfirmForm
from casebridge.web.paging import paginate_numbered as paginate
from casebridge.web.popups import (
    INVALID,
    apply_domain_error,
    finish,
    is_htmx,
    message_of,
    render_modal,
    safe_next,
)

__all__ = [
    "INVALID",
    "apply_domain_error",
    "cases_user",
    "confirm_form",
    "finish",
    "is_htmx",
    "message_of",
    "paginate",
    "render_modal",
    "safe_next",
]


def confirm_form(request: HttpRequest) -> ConfirmForm:
    """An "are you sure?" form, bound (and validated) on a POST so that a refusal can be
    added to it."""
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        form.is_valid()
        return form
    return ConfirmForm()
