"""Gear -> Audit Trail: who did what and when, with before and after."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import AuditFilterForm
from casebridge.core.models import AuditEvent
from casebridge.web.paging import paginate

SYSTEM = "books"


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)


@books_login_required(admin=True)
def audit_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    events = AuditEvent.objects.filter(system=SYSTEM, firm_id=firm.pk)
    entity_types = sorted(set(events.values_list("entity_type", flat=True).distinct()))
    actions = sorted(set(events.values_list("action", flat=True).distinct()))
    form = AuditFilterForm(request.GET or None, entity_types=entity_types, actions=actions)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["entity_type"]:
            events = events.filter(entity_type=form.cleaned_data["entity_type"])
        if form.cleaned_data["action"]:
            events = events.filter(action=form.cleaned_data["action"])
    elif form.is_bound:
        events = events.none()
    page = paginate(request, events.order_by("-at", "-pk"))
    rows = [
        {
            "event": e,
            "action": e.action.replace("_", " "),
            "entity": e.entity_type.replace("_", " "),
            "before": _pretty(e.before),
            "after": _pretty(e.after),
        }
        for e in page.object_list
    ]
    return render(
        request,
        "books/settings/audit.html",
        {"nav": "settings", "section": "audit", "form": form, "page": page, "rows": rows},
    )
