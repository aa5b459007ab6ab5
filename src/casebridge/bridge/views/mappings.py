"""Cost code mapping: which books activity code each cost code posts to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.bridge.forms import MAPPING_DEFAULT, MappingForm
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import mappings as mapping_services
from casebridge.bridge.views._common import SETTINGS_NAV, refusal_status
from casebridge.cases.auth import cases_settings_required, cases_user
from casebridge.cases.models import CostCode
from casebridge.core.errors import DomainError
from casebridge.web.popups import message_of, popup_form, render_modal


@cases_settings_required
@require_http_methods(["GET"])
def mappings_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    conn = conn_services.connection_of(me.firm)
    return render(
        request,
        "bridge/mappings.html",
        {
            **SETTINGS_NAV,
            "conn": conn,
            "rows": mapping_services.mapping_rows(me.firm, conn),
        },
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def mapping_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A cost code's books activity code, chosen among the books' codes that post to
    Advanced client costs (as the last readiness run read them), or the default."""
    me = cases_user(request)
    code = get_object_or_404(CostCode, firm=me.firm, pk=pk)
    mapping = mapping_services.mapping_of(me.firm, code)
    back = reverse("bridge:mappings")
    context: dict[str, Any] = {"code": code, "mapping": mapping}
    title = f"Books activity code of {code.code}"
    try:
        conn = conn_services.require_connection(me.firm)
    except DomainError as exc:
        context.update(refusal=message_of(exc), form=None)
        return render_modal(
            request,
            "bridge/_mapping_form.html",
            context,
            title=title,
            status=refusal_status(request),
            back_url=back,
        )
    codes = mapping_services.advance_codes(conn)
    labels = {c.id: mapping_services.activity_code_label(c) for c in codes}

    def save(form: MappingForm) -> str:
        raw = form.cleaned_data["activity_code"]
        code_id = None if raw == MAPPING_DEFAULT else int(raw)
        mapping_services.cost_code_mapping_save(
            firm=me.firm, actor=me, cost_code_id=code.pk, activity_code_id=code_id
        )
        target = labels[code_id] if code_id is not None else "the default"
        return f"Cost code {code.code} goes to the books as {target}."

    return popup_form(
        request,
        MappingForm,
        on_valid=save,
        template="bridge/_mapping_form.html",
        title=title,
        success=back,
        form_kwargs={"codes": list(labels.items())},
        initial={"activity_code": str(mapping.activity_code_id) if mapping else MAPPING_DEFAULT},
        context=context,
    )
