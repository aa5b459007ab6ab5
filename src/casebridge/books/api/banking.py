"""A bank account's checks out (issue 11): what its printed checks carry, and its
positive pay file.

``PUT /bank-accounts/{id}/check-printing`` sets the bank's name, the ABA routing number
and the account number of the MICR line (a books administrator; 403 ``admin_required``
otherwise). ``GET /bank-accounts/{id}/positive-pay.csv?start=&end=&layout=`` gives the
issued and voided checks of the range as CSV, in the bank account's saved layout
(``layout=saved``, the default; the first preset while none is saved) or a generic preset
(``csv_mdy_iv``, ``cents_ymd_noheader``; see
:mod:`casebridge.books.selectors.positive_pay`). ``GET``/``PUT
/bank-accounts/{id}/positive-pay-layout`` read and choose the saved layout.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from ninja import Query, Router
from pydantic import Field, model_validator

from casebridge.books.api.security import context
from casebridge.books.models import (
    BankAccount,
    PositivePayAmount,
    PositivePayColumn,
    PositivePayDateFormat,
)
from casebridge.books.selectors.positive_pay import (
    PRESETS,
    PositivePayFormat,
    positive_pay_csv,
    positive_pay_format_of,
)
from casebridge.books.services import bank_accounts as service
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import ERRORS, Clean, ErrorOut, Id, In, Out

router = Router(tags=["checks out"])

PresetName = Literal["csv_mdy_iv", "cents_ymd_noheader"]


def _bank(request: HttpRequest, bank_account_id: int) -> BankAccount:
    return get_or_404(BankAccount.objects.filter(firm=context(request).firm), bank_account_id)


class CheckPrintingIn(In):
    bank_name: str = Field("", max_length=120)
    routing_number: str = Field(
        "", max_length=20, description="9 digits with a valid ABA checksum, or blank."
    )
    account_number: str = Field(
        "", max_length=40, description="Up to 17 digits (spaces and dashes dropped), or blank."
    )


class CheckPrintingOut(Out):
    bank_account_id: int
    bank_name: str
    routing_number: str
    account_number_last4: str
    micr_line: bool = Field(description="True when both numbers are set: checks carry a MICR line.")

    @classmethod
    def of(cls, bank: BankAccount) -> CheckPrintingOut:
        return cls(
            bank_account_id=bank.pk,
            bank_name=bank.bank_name,
            routing_number=bank.routing_number,
            account_number_last4=bank.account_number[-4:] if bank.account_number else "",
            micr_line=bool(bank.routing_number and bank.account_number),
        )


@router.get(
    "/bank-accounts/{int:bank_account_id}/check-printing",
    response={200: CheckPrintingOut, **ERRORS},
)
def check_printing_get(request: HttpRequest, bank_account_id: Id) -> CheckPrintingOut:
    return CheckPrintingOut.of(_bank(request, bank_account_id))


@router.put(
    "/bank-accounts/{int:bank_account_id}/check-printing",
    response={200: CheckPrintingOut, 403: ErrorOut, **ERRORS},
)
def check_printing_put(
    request: HttpRequest, bank_account_id: Id, payload: CheckPrintingIn
) -> CheckPrintingOut:
    """Set what the bank account's checks print (a books administrator). Refused 422
    naming ``routing_number`` (not 9 digits, or a failed checksum) or ``account_number``."""
    ctx = context(request)
    bank = _bank(request, bank_account_id)
    return CheckPrintingOut.of(
        service.bank_account_check_printing_set(
            firm=ctx.firm,
            actor=ctx.user,
            bank_account_id=bank.pk,
            bank_name=payload.bank_name,
            routing_number=payload.routing_number,
            account_number=payload.account_number,
        )
    )


class LayoutFields(In):
    columns: list[PositivePayColumn] = Field(min_length=1, max_length=6)
    date_format: PositivePayDateFormat
    amount_format: PositivePayAmount
    issue_flag: str = Field("I", max_length=10)
    void_flag: str = Field("V", max_length=10)
    header: bool = True

    def format(self) -> PositivePayFormat:
        return PositivePayFormat(
            columns=tuple(self.columns),
            date_format=self.date_format,
            amount_format=self.amount_format,
            issue_flag=self.issue_flag,
            void_flag=self.void_flag,
            header=self.header,
        )


class LayoutIn(In):
    """Either ``preset`` (a generic preset's name) or ``layout`` (the bank's own)."""

    preset: PresetName | None = None
    layout: LayoutFields | None = None

    @model_validator(mode="after")
    def one_of_them(self) -> LayoutIn:
        if (self.preset is None) == (self.layout is None):
            raise ValueError("give either preset or layout")
        return self


class LayoutOut(Out):
    bank_account_id: int
    saved: bool = Field(description="False: none is saved; the first preset is used.")
    columns: list[PositivePayColumn]
    date_format: PositivePayDateFormat
    amount_format: PositivePayAmount
    issue_flag: str
    void_flag: str
    header: bool

    @classmethod
    def of(cls, bank: BankAccount) -> LayoutOut:
        fmt, saved = positive_pay_format_of(bank)
        return cls(
            bank_account_id=bank.pk,
            saved=saved,
            columns=list(fmt.columns),
            date_format=fmt.date_format,
            amount_format=fmt.amount_format,
            issue_flag=fmt.issue_flag,
            void_flag=fmt.void_flag,
            header=fmt.header,
        )


@router.get(
    "/bank-accounts/{int:bank_account_id}/positive-pay-layout",
    response={200: LayoutOut, **ERRORS},
)
def positive_pay_layout_get(request: HttpRequest, bank_account_id: Id) -> LayoutOut:
    return LayoutOut.of(_bank(request, bank_account_id))


@router.put(
    "/bank-accounts/{int:bank_account_id}/positive-pay-layout",
    response={200: LayoutOut, 403: ErrorOut, **ERRORS},
)
def positive_pay_layout_put(
    request: HttpRequest, bank_account_id: Id, payload: LayoutIn
) -> LayoutOut:
    """Save the bank account's positive pay layout (a books administrator): a generic
    preset by name, or the columns in order, the date and amount formats, the flags and
    the header row of the bank's specification. Refused 422 naming the field."""
    ctx = context(request)
    bank = _bank(request, bank_account_id)
    if payload.preset is not None:
        fmt = PRESETS[payload.preset][1]
    else:
        assert payload.layout is not None  # one of them (the validator)
        fmt = payload.layout.format()
    service.positive_pay_layout_save(
        firm=ctx.firm, actor=ctx.user, bank_account_id=bank.pk, fmt=fmt
    )
    return LayoutOut.of(bank)


class PositivePayIn(Clean):
    start: dt.date
    end: dt.date
    layout: Literal["saved", "csv_mdy_iv", "cents_ymd_noheader"] = "saved"


_CSV_RESPONSE = {
    "responses": {
        "200": {
            "description": "The positive pay file (CSV, CRLF line ends).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/bank-accounts/{int:bank_account_id}/positive-pay.csv",
    response={**ERRORS},
    openapi_extra=_CSV_RESPONSE,
)
def positive_pay_get(
    request: HttpRequest, bank_account_id: Id, params: Query[PositivePayIn]
) -> HttpResponse:
    """The checks printed (issue) and voided (void) from ``start`` to ``end`` on this
    bank account, as CSV. A spoiled number is an issue and a void. Refused 422 when
    ``start`` is after ``end``, or the layout names the account number and the bank
    account has none (``account_number``)."""
    bank = _bank(request, bank_account_id)
    if params.layout == "saved":
        fmt, _ = positive_pay_format_of(bank)
    else:
        fmt = PRESETS[params.layout][1]
    text = positive_pay_csv(bank=bank, start=params.start, end=params.end, fmt=fmt)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", bank.name).strip("-").lower() or str(bank.pk)
    response["Content-Disposition"] = (
        f'attachment; filename="positive-pay-{slug}-{params.start:%Y%m%d}-{params.end:%Y%m%d}.csv"'
    )
    patch_cache_control(response, private=True, no_store=True)
    return response
