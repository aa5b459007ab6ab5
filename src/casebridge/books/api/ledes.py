"""LEDES 1998B e-billing (issue 15, ADR 0044): the exports, twins of the invoice screens'
LEDES buttons, and the LEDES identifiers, twins of Settings -> LEDES e-billing, File ->
LEDES IDs and Rates/Codes -> Timekeepers -> LEDES, through the same service
(``services.ledes``).

``GET /invoices/{id}/ledes``: one invoice as a LEDES 1998B file; ``GET /invoices/ledes?
id=1&id=2``: several (at most 500) in one file, in invoice number order. Any books user
who may read invoices may export them; each export is one audit event. An invoice that is
not the firm's is 404 (one) or 422 naming ``invoices`` (several); a voided invoice, a
firm without LEDES settings or a line the format cannot carry is 422 ``ledes_refused``
naming the invoice, the line and the LEDES field.

``GET|PUT /ledes/settings`` (the firm's law firm ID and fee codes; PUT: administrators),
``GET|PUT /files/{id}/ledes`` (client id, client matter id) and ``GET|PUT
/users/{id}/ledes`` (timekeeper id, classification; PUT: administrators): 422 naming the
field for an identifier the format cannot carry or a code that is not one.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router
from pydantic import Field

from casebridge.books.api.security import context
from casebridge.books.models import (
    File,
    Invoice,
    LedesClassification,
    LedesMatter,
    LedesSettings,
    LedesTimekeeper,
    User,
)
from casebridge.books.services import ledes as ledes_service
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import ERRORS, Clean, ErrorOut, Id, In, Out
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


# --- the identifiers ------------------------------------------------------------------------


class LedesSettingsIn(In):
    law_firm_id: str = Field(max_length=20, description="LAW_FIRM_ID: the federal tax ID.")
    fee_task_code: str = Field(max_length=4, description="A UTBMS task code, e.g. L110.")
    fee_activity_code: str = Field(max_length=4, description="A UTBMS activity code, e.g. A101.")


class LedesSettingsOut(Out):
    saved: bool = Field(description="False: never set; the export is refused until it is.")
    law_firm_id: str
    fee_task_code: str
    fee_activity_code: str

    @classmethod
    def of(cls, row: LedesSettings | None) -> LedesSettingsOut:
        if row is None:
            return cls(saved=False, law_firm_id="", fee_task_code="", fee_activity_code="")
        return cls(
            saved=True,
            law_firm_id=row.law_firm_id,
            fee_task_code=row.fee_task_code,
            fee_activity_code=row.fee_activity_code,
        )


@router.get("/ledes/settings", response={200: LedesSettingsOut, **ERRORS})
def ledes_settings_get(request: HttpRequest) -> LedesSettingsOut:
    return LedesSettingsOut.of(LedesSettings.objects.filter(firm=context(request).firm).first())


@router.put("/ledes/settings", response={200: LedesSettingsOut, 403: ErrorOut, **ERRORS})
def ledes_settings_put(request: HttpRequest, payload: LedesSettingsIn) -> LedesSettingsOut:
    """Set the firm's LEDES law firm ID and fee task and activity codes (administrators)."""
    ctx = context(request)
    row = ledes_service.ledes_settings_save(
        firm=ctx.firm,
        actor=ctx.user,
        law_firm_id=payload.law_firm_id,
        fee_task_code=payload.fee_task_code,
        fee_activity_code=payload.fee_activity_code,
    )
    return LedesSettingsOut.of(row)


class FileLedesIn(In):
    client_id: str = Field("", max_length=20, description="CLIENT_ID; empty: the client's id.")
    client_matter_id: str = Field(
        "", max_length=20, description="CLIENT_MATTER_ID, e.g. the insurer's claim number."
    )


class FileLedesOut(Out):
    file_id: int
    client_id: str
    client_matter_id: str
    #: what the export sends
    sent_client_id: str

    @classmethod
    def of(cls, file: File) -> FileLedesOut:
        row = LedesMatter.objects.filter(file=file).first()
        client_id = row.client_id if row else ""
        return cls(
            file_id=file.pk,
            client_id=client_id,
            client_matter_id=row.client_matter_id if row else "",
            sent_client_id=client_id or str(file.client_id),
        )


@router.get("/files/{int:file_id}/ledes", response={200: FileLedesOut, **ERRORS})
def file_ledes_get(request: HttpRequest, file_id: Id) -> FileLedesOut:
    return FileLedesOut.of(get_or_404(File.objects.filter(firm=context(request).firm), file_id))


@router.put("/files/{int:file_id}/ledes", response={200: FileLedesOut, **ERRORS})
def file_ledes_put(request: HttpRequest, file_id: Id, payload: FileLedesIn) -> FileLedesOut:
    """Set the file's LEDES client id and client matter id."""
    ctx = context(request)
    file = get_or_404(File.objects.filter(firm=ctx.firm), file_id)
    ledes_service.file_ledes_ids_save(
        firm=ctx.firm,
        actor=ctx.user,
        file_id=file.pk,
        client_id=payload.client_id,
        client_matter_id=payload.client_matter_id,
    )
    return FileLedesOut.of(file)


class TimekeeperLedesIn(In):
    timekeeper_id: str = Field("", max_length=20, description="Empty: the user's id.")
    classification: LedesClassification


class TimekeeperLedesOut(Out):
    user_id: int
    saved: bool
    timekeeper_id: str
    classification: LedesClassification | None
    #: what the export sends
    sent_timekeeper_id: str

    @classmethod
    def of(cls, user: User) -> TimekeeperLedesOut:
        row = LedesTimekeeper.objects.filter(user=user).first()
        keeper_id = row.timekeeper_id if row else ""
        return cls(
            user_id=user.pk,
            saved=row is not None,
            timekeeper_id=keeper_id,
            classification=LedesClassification(row.classification) if row else None,
            sent_timekeeper_id=keeper_id or str(user.pk),
        )


@router.get("/users/{int:user_id}/ledes", response={200: TimekeeperLedesOut, **ERRORS})
def user_ledes_get(request: HttpRequest, user_id: Id) -> TimekeeperLedesOut:
    return TimekeeperLedesOut.of(
        get_or_404(User.objects.filter(firm=context(request).firm), user_id)
    )


@router.put(
    "/users/{int:user_id}/ledes", response={200: TimekeeperLedesOut, 403: ErrorOut, **ERRORS}
)
def user_ledes_put(
    request: HttpRequest, user_id: Id, payload: TimekeeperLedesIn
) -> TimekeeperLedesOut:
    """Set a timekeeper's LEDES id and classification (administrators)."""
    ctx = context(request)
    user = get_or_404(User.objects.filter(firm=ctx.firm), user_id)
    ledes_service.timekeeper_ledes_save(
        firm=ctx.firm,
        actor=ctx.user,
        user_id=user.pk,
        timekeeper_id=payload.timekeeper_id,
        classification=payload.classification.value,
    )
    return TimekeeperLedesOut.of(user)
