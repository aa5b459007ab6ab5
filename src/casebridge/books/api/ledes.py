"""LEDES 1998B e-billing exports (issue 15, ADR 0044): the twins of the invoice screens'
LEDES buttons, through the same service (``services.ledes``).

``GET /invoices/{id}/ledes``: one invoice as a LEDES 1998B file; ``GET /invoices/ledes?
id=1&id=2``: several (at most 500) in one file, in invoice number order. Any books user
who may read invoices may export them; each export is one audit event. An invoice that is
not the firm's is 404 (one) or 422 naming ``invoices`` (several); a voided invoice, a
firm without LEDES settings or a line the format cannot carry is 422 ``ledes_refused``
naming the invoice, the line and the LEDES field.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router
from pydantic import Field

from casebridge.books.api.security import context
from casebridge.books.models import Invoice
from casebridge.books.services import ledes as ledes_service
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import ERRORS, Clean, Id
from casebridge.core.throttle import client_address

router = Router(tags=["invoices"])

_LEDES_RESPONSE = {
    "responses": {
        "200": {
            "description": "A LEDES 1998B file (ASCII text, CR LF line ends).",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
}


class LedesManyIn(Clean):
    id: list[Id] = Field(
        min_length=1,
        max_length=ledes_service.MAX_INVOICES,
        description="The invoices' ids, the parameter repeated: ?id=1&id=2.",
    )


def _answer(exported: ledes_service.LedesFile) -> HttpResponse:
    response = HttpResponse(exported.text, content_type="text/plain; charset=us-ascii")
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@router.get("/invoices/{int:invoice_id}/ledes", response={**ERRORS}, openapi_extra=_LEDES_RESPONSE)
def invoice_ledes_get(request: HttpRequest, invoice_id: Id) -> HttpResponse:
    """The invoice as a LEDES 1998B file: one line per invoice line, fees with the firm's
    task and activity codes and their timekeeper, costs with their UTBMS expense code."""
    ctx = context(request)
    invoice = get_or_404(Invoice.objects.filter(firm=ctx.firm), invoice_id)
    exported = ledes_service.invoices_ledes_export(
        firm=ctx.firm, actor=ctx.user, invoice_ids=[invoice.pk], ip_address=client_address(request)
    )
    return _answer(exported)


@router.get("/invoices/ledes", response={**ERRORS}, openapi_extra=_LEDES_RESPONSE)
def invoices_ledes_get(request: HttpRequest, params: Query[LedesManyIn]) -> HttpResponse:
    """Several invoices in one LEDES 1998B file, in invoice number order."""
    ctx = context(request)
    exported = ledes_service.invoices_ledes_export(
        firm=ctx.firm, actor=ctx.user, invoice_ids=params.id, ip_address=client_address(request)
    )
    return _answer(exported)
