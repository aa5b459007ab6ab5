"""Bank statements in (issue 11): a page per bank account (upload, the remembered CSV
column mapping, the statements, the import log) and a page per statement (balances and
lines). Thin: the forms parse, :mod:`casebridge.books.services.statements` writes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.models import (
    BankAccount,
    BankStatement,
    Firm,
    StatementImport,
    StatementImportStatus,
)
from casebridge.books.services import statements as service
from casebridge.books.statements import FORMATS, CsvLayout
from casebridge.books.statements.csvfile import DATE_FORMATS
from casebridge.core.errors import DomainError
from casebridge.web.paging import paginate
from casebridge.web.popups import INVALID, apply_domain_error, finish


def _column(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=1, max_value=200, required=False)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Statement file", help_text="OFX, QFX, CSV, BAI2 or camt.053; at most 20 MB."
    )
    format = forms.ChoiceField(
        label="Format",
        required=False,
        choices=[("", "Detect from the file"), *FORMATS.items()],
    )


class CsvMappingForm(forms.Form):
    date_column = forms.IntegerField(label="Date column", min_value=1, max_value=200)
    amount_column = _column("Amount column (signed)")
    debit_column = _column("…or debit column")
    credit_column = _column("…and credit column")
    description_column = _column("Description column")
    reference_column = _column("Reference column")
    check_number_column = _column("Check number column")
    txn_id_column = _column("Transaction id column")
    date_format = forms.ChoiceField(label="Date format", choices=list(DATE_FORMATS.items()))
    decimal_separator = forms.ChoiceField(
        label="Decimal separator", choices=[(".", "Point (1,234.56)"), (",", "Comma (1.234,56)")]
    )
    delimiter = forms.ChoiceField(
        label="Delimiter",
        choices=[(",", "Comma"), (";", "Semicolon"), ("\t", "Tab"), ("|", "Bar")],
    )
    skip_rows = forms.IntegerField(label="Header rows to skip", min_value=0, max_value=50)


def _bank(firm: Firm, pk: int) -> BankAccount:
    return get_object_or_404(BankAccount, firm=firm, pk=pk)


def _page_url(bank: BankAccount, **query: Any) -> str:
    url = reverse("books:bank_statements", args=[bank.pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _render_bank(
    request: HttpRequest,
    bank: BankAccount,
    *,
    upload: UploadForm | None = None,
    mapping: CsvMappingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    layout = service.csv_layout_of(bank)
    result = None
    result_id = request.GET.get("result", "")
    if result_id.isdigit():
        result = StatementImport.objects.filter(bank_account=bank, pk=int(result_id)).first()
    statements = BankStatement.objects.filter(bank_account=bank).order_by("-period_end", "-pk")
    imports = (
        StatementImport.objects.filter(bank_account=bank)
        .select_related("imported_by")
        .order_by("-pk")
    )
    return render(
        request,
        "books/statements/bank.html",
        {
            "nav": "dashboard",
            "bank": bank,
            "upload": upload or UploadForm(),
            "mapping": mapping or CsvMappingForm(initial=asdict(layout or CsvLayout())),
            "mapping_chosen": layout is not None,
            "result": result,
            "statements": paginate(request, statements, param="page"),
            "imports": paginate(request, imports, param="ipage"),
        },
        status=status,
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def bank_statements_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The bank account's statements; POST uploads one."""
    user = books_user(request)
    bank = _bank(user.firm, pk)
    if request.method != "POST":
        return _render_bank(request, bank)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_bank(request, bank, upload=form, status=INVALID)
    upload = form.cleaned_data["file"]
    if upload.size > service.MAX_FILE_BYTES:
        form.add_error("file", f"The file is larger than {service.MAX_FILE_BYTES // 2**20} MB.")
        return _render_bank(request, bank, upload=form, status=INVALID)
    try:
        record = service.statement_import(
            firm=user.firm,
            actor=user,
            bank_account_id=bank.pk,
            data=upload.read(),
            file_name=upload.name or "",
            fmt=form.cleaned_data["format"] or None,
        )
    except DomainError as exc:
        apply_domain_error(form, exc)
        return _render_bank(request, bank, upload=form, status=INVALID)
    return HttpResponseRedirect(_page_url(bank, result=record.pk))


@books_login_required()
@require_http_methods(["POST"])
def csv_mapping_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the bank account's CSV column mapping."""
    user = books_user(request)
    bank = _bank(user.firm, pk)
    form = CsvMappingForm(request.POST)
    if form.is_valid():
        try:
            service.csv_mapping_save(
                firm=user.firm,
                actor=user,
                bank_account_id=bank.pk,
                layout=CsvLayout(**form.cleaned_data),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return finish(request, _page_url(bank) + "#csv-mapping", "CSV columns saved.")
    return _render_bank(request, bank, mapping=form, status=INVALID)


@books_login_required()
def statement_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    firm = books_user(request).firm
    statement = get_object_or_404(
        BankStatement.objects.select_related("bank_account", "imported_by"), firm=firm, pk=pk
    )
    lines = statement.lines.order_by("position", "pk")
    return render(
        request,
        "books/statements/detail.html",
        {
            "nav": "dashboard",
            "statement": statement,
            "bank": statement.bank_account,
            "page": paginate(request, lines),
            "refused": StatementImportStatus.REFUSED,
        },
    )
