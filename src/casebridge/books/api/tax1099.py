"""1099 payees (issue 15, ADR 0045): the screens' twins.

- ``GET /reports/1099?year=``: the year's payees, per form/box the total of the checks
  printed that year (voided and queued checks never count), the threshold and whether it
  is reported; TINs masked (``•••••6789``). Contacts that share a TIN are one payee, their
  totals summed, each listed in ``contacts`` (ADR 0055).
- ``GET /reports/1099.csv?year=&form=``: the filing-service CSV of one form (1099-NEC or
  1099-MISC), the only answer with whole TINs: an administrator's (403
  ``admin_required``), audited.
- ``GET /tax-payees``, ``PUT /contacts/{id}/tax-payee``: a contact's 1099 settings; the
  TIN is write-only (``tin`` omitted or null keeps the stored one, "" removes it).
- ``PUT /checks/{id}/tax-report``: the payee and form/box a check is reported in
  (``contact_id`` null: not reported).

Writing needs the accountant role or above (403 ``role_required``, nothing written).
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router
from pydantic import Field

from casebridge.books.api.security import context
from casebridge.books.models import Check, Contact, TaxBox, TaxPayee, TinType
from casebridge.books.selectors import tax1099 as selector
from casebridge.books.services import tax1099 as service
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import (
    ERRORS,
    Clean,
    CountedPage,
    ErrorOut,
    Id,
    In,
    Money,
    Out,
    PageIn,
    keyset_page,
    money,
)

router = Router(tags=["1099 payees"])

Year = Field(ge=selector.FIRST_YEAR, le=selector.LAST_YEAR, description="The tax year.")


class YearIn(Clean):
    year: int = Year


class CsvIn(Clean):
    year: int = Year
    form: Literal["1099-NEC", "1099-MISC"] = Field(description="The form.")


class BoxOut(Out):
    box: TaxBox
    form: str
    label: str
    payments: int
    total: Money
    threshold: Money
    reportable: bool


class PayeeContactOut(Out):
    contact_id: int
    name: str


class PayeeTotalsOut(Out):
    contact_id: int = Field(
        description="The contact whose name and address are filed: of the contacts sharing "
        "the TIN, the first with a complete address (else the first)."
    )
    name: str
    tin_type: str
    tin: str = Field(description="Masked to its last four digits; empty when none is kept.")
    boxes: list[BoxOut]
    warnings: list[str]
    contacts: list[PayeeContactOut] = Field(
        description="Every contact paid under this TIN, one recipient (ADR 0055): their "
        "payments are summed before the threshold applies."
    )


class Report1099Out(Out):
    year: int
    threshold_year: int = Field(description="The year whose thresholds apply.")
    thresholds: dict[str, Money]
    payees: list[PayeeTotalsOut]
    reportable: int
    missing_tins: int


@router.get("/reports/1099", response={200: Report1099Out, **ERRORS})
def tax1099_report(request: HttpRequest, params: Query[YearIn]) -> Report1099Out:
    """Every 1099 payee paid in the year, per form/box."""
    report = selector.payee_report(firm=context(request).firm, year=params.year)
    return Report1099Out(
        year=report.year,
        threshold_year=report.threshold_year,
        thresholds={box: money(cents) for box, cents in report.thresholds.items()},
        payees=[
            PayeeTotalsOut(
                contact_id=line.contact_id,
                name=line.name,
                tin_type=line.tin_type,
                tin=line.tin_masked,
                boxes=[
                    BoxOut(
                        box=TaxBox(b.box),
                        form=b.form,
                        label=b.label,
                        payments=b.payments,
                        total=money(b.total_cents),
                        threshold=money(b.threshold_cents),
                        reportable=b.reportable,
                    )
                    for b in line.boxes
                ],
                warnings=line.warnings,
                contacts=[
                    PayeeContactOut(contact_id=c.contact_id, name=c.name) for c in line.contacts
                ],
            )
            for line in report.lines
        ],
        reportable=len(report.reportable),
        missing_tins=report.missing_tins,
    )


_CSV_RESPONSE = {
    "responses": {
        "200": {
            "description": "One row per recipient with a reportable box (whole TINs).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/reports/1099.csv",
    response={403: ErrorOut, **ERRORS},
    openapi_extra=_CSV_RESPONSE,
)
def tax1099_csv(request: HttpRequest, params: Query[CsvIn]) -> HttpResponse:
    """The filing-service CSV (an administrator's; audited)."""
    ctx = context(request)
    text = service.tax1099_csv(firm=ctx.firm, actor=ctx.user, year=params.year, form=params.form)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = selector.download_name(ctx.firm, params.year, params.form)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


class TaxPayeeOut(Out):
    contact_id: int
    name: str
    is_1099: bool
    tin_type: str
    tin: str = Field(description="Masked to its last four digits; empty when none is kept.")
    default_box: TaxBox
    address_line1: str
    address_line2: str
    city: str
    state: str
    zip_code: str

    @classmethod
    def of(cls, payee: TaxPayee) -> TaxPayeeOut:
        return cls(
            contact_id=payee.contact_id,
            name=payee.contact.name,
            is_1099=payee.is_1099,
            tin_type=payee.tin_type,
            tin=selector.tin_display(payee),
            default_box=TaxBox(payee.default_box),
            address_line1=payee.address_line1,
            address_line2=payee.address_line2,
            city=payee.city,
            state=payee.state,
            zip_code=payee.zip_code,
        )


@router.get("/tax-payees", response={200: CountedPage[TaxPayeeOut], **ERRORS})
def tax_payee_list(request: HttpRequest, page: Query[PageIn]) -> CountedPage[TaxPayeeOut]:
    qs = TaxPayee.objects.filter(firm=context(request).firm).select_related("contact")
    rows, next_cursor = keyset_page(qs.order_by("pk"), page)
    return CountedPage[TaxPayeeOut](
        items=[TaxPayeeOut.of(p) for p in rows], next=next_cursor, count=qs.count()
    )


class TaxPayeeIn(In):
    is_1099: bool = True
    tin_type: TinType | None = Field(None, description="SSN or EIN; null with no TIN.")
    tin: str | None = Field(
        None,
        max_length=20,
        description='Write-only. Omitted or null: the stored TIN is kept; "": removed.',
    )
    default_box: TaxBox = TaxBox.NEC_1
    address_line1: str = Field("", max_length=120)
    address_line2: str = Field("", max_length=120)
    city: str = Field("", max_length=60)
    state: str = Field("", max_length=2)
    zip_code: str = Field("", max_length=10)


@router.put(
    "/contacts/{int:contact_id}/tax-payee",
    response={200: TaxPayeeOut, 403: ErrorOut, **ERRORS},
)
def tax_payee_put(request: HttpRequest, contact_id: Id, payload: TaxPayeeIn) -> TaxPayeeOut:
    """Mark a contact 1099-eligible (or change its settings). 422 naming the field: a TIN
    not of its type's shape, a state or ZIP code malformed."""
    ctx = context(request)
    contact = get_or_404(Contact.objects.filter(firm=ctx.firm), contact_id)
    payee = service.tax_payee_save(
        firm=ctx.firm,
        actor=ctx.user,
        contact_id=contact.pk,
        is_1099=payload.is_1099,
        tin_type=payload.tin_type.value if payload.tin_type else "",
        tin=payload.tin,
        default_box=payload.default_box.value,
        address_line1=payload.address_line1,
        address_line2=payload.address_line2,
        city=payload.city,
        state=payload.state,
        zip_code=payload.zip_code,
    )
    return TaxPayeeOut.of(payee)


class TaxReportIn(In):
    contact_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="A 1099 payee's contact; null: not reported."
    )
    box: TaxBox | None = Field(None, description="Default: the payee's usual form and box.")


class TaxReportOut(Out):
    check_id: int
    contact_id: int | None
    box: TaxBox | None


@router.put(
    "/checks/{int:check_id}/tax-report",
    response={200: TaxReportOut, 403: ErrorOut, **ERRORS},
)
def check_tax_report_put(request: HttpRequest, check_id: Id, payload: TaxReportIn) -> TaxReportOut:
    """Report a check on a 1099 (or take it off). 422: a voided check, a contact that is
    not a 1099 payee."""
    ctx = context(request)
    check = get_or_404(Check.objects.filter(firm=ctx.firm), check_id)
    report = service.payment_tax_report_set(
        firm=ctx.firm,
        actor=ctx.user,
        check_id=check.pk,
        contact_id=payload.contact_id,
        box=payload.box.value if payload.box else None,
    )
    return TaxReportOut(
        check_id=check.pk,
        contact_id=report.contact_id if report else None,
        box=TaxBox(report.box) if report else None,
    )
