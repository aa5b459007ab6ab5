"""Files (matters): the list, a new file, and a file's page with its client trust ledger,
checks and deposits, where trust deposits are recorded and checks requested."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.errors import TrustOverdraw
from casebridge.books.forms import (
    CheckRequestForm,
    DepositForm,
    FileCreateForm,
    FileSearchForm,
    VoidForm,
)
from casebridge.books.models import (
    BankAccount,
    BankAccountKind,
    Check,
    File,
    Invoice,
    ReceiptStatus,
    TrustReceipt,
)
from casebridge.books.roles import CORRECTIONS
from casebridge.books.selectors.reports import client_trust_ledger
from casebridge.books.services import checks as check_services
from casebridge.books.services import files as file_services
from casebridge.core.money import format_cents
from casebridge.web.paging import paginate
from casebridge.web.popups import finish, is_htmx, message_of, popup_form

NAV = {"nav": "files"}


@books_login_required()
def files_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    form = FileSearchForm(request.GET)
    files = File.objects.filter(firm=firm).select_related("client", "area_of_practice")
    q = ""
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q:
            files = files.filter(
                Q(number__icontains=q) | Q(name__icontains=q) | Q(client__name__icontains=q)
            )
    else:
        files = files.none()
    context = {**NAV, "form": form, "q": q, "page": paginate(request, files.order_by("-pk"))}
    if is_htmx(request) and request.headers.get("HX-Target") == "file-results":
        return render(request, "books/files/_results.html", context)
    return render(request, "books/files/list.html", context)


@books_login_required()
@require_http_methods(["GET", "POST"])
def file_create_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)

    def create(form: FileCreateForm) -> HttpResponse:
        data = form.cleaned_data
        file = file_services.file_open(
            firm=me.firm,
            actor=me,
            client_name=data["client_name"],
            client_email=data["client_email"],
            client_phone=data["client_phone"],
            name=data["name"],
            number=data["number"],
            area_of_practice=data["area_of_practice"],
            responsible_attorney=data["responsible_attorney"],
            opened_on=data["opened_on"],
        )
        return finish(
            request, reverse("books:file_detail", args=[file.pk]), f"File {file.number} opened."
        )

    return popup_form(
        request,
        FileCreateForm,
        on_valid=create,
        template="books/files/_create_form.html",
        title="New file",
        back_url=reverse("books:files"),
        form_kwargs={"firm": me.firm},
        field_map={"client": "client_name"},
    )


@books_login_required()
def file_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    firm = books_user(request).firm
    file = get_object_or_404(
        File.objects.select_related("client", "area_of_practice", "responsible_attorney"),
        firm=firm,
        pk=pk,
    )
    ledgers = client_trust_ledger(firm=firm, file_id=file.pk)
    ledger_pages = [
        {
            "ledger": ledger,
            "page": paginate(request, ledger.lines, param=f"ledger{ledger.bank_account.pk}"),
        }
        for ledger in ledgers
    ]
    checks = (
        Check.objects.filter(firm=firm, file=file)
        .select_related("bank_account", "activity_code")
        .order_by("-request_date", "-pk")
    )
    receipts = (
        TrustReceipt.objects.filter(firm=firm, file=file)
        .select_related("bank_account")
        .order_by("-received_on", "-pk")
    )
    invoices = Invoice.objects.filter(firm=firm, file=file).order_by("-number")
    has_trust_bank = BankAccount.objects.filter(
        firm=firm, kind=BankAccountKind.TRUST, is_active=True
    ).exists()
    return render(
        request,
        "books/files/detail.html",
        {
            **NAV,
            "file": file,
            "ledger_pages": ledger_pages,
            "trust_total_cents": sum(ledger.balance_cents for ledger in ledgers),
            "checks_page": paginate(request, checks, param="checks_page"),
            "receipts_page": paginate(request, receipts, param="receipts_page"),
            "invoices_page": paginate(request, invoices, param="invoices_page"),
            "has_trust_bank": has_trust_bank,
            "posted": ReceiptStatus.POSTED,
        },
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def file_deposit_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    file = get_object_or_404(File, firm=me.firm, pk=pk)

    def record(form: DepositForm) -> str:
        data = form.cleaned_data
        receipt = check_services.trust_receipt_record(
            firm=me.firm,
            actor=me,
            bank_account_id=data["bank_account"].pk,
            file_id=file.pk,
            payer=data["payer"],
            amount_cents=data["amount"],
            received_on=data["received_on"],
            reference=data["reference"],
            memo=data["memo"],
        )
        return f"Deposit of {format_cents(receipt.amount_cents)} from {receipt.payer} recorded."

    return popup_form(
        request,
        DepositForm,
        on_valid=record,
        template="books/files/_deposit_form.html",
        title=f"Record trust deposit · {file.number}",
        success=reverse("books:file_detail", args=[file.pk]),
        form_kwargs={"firm": me.firm},
        context={"file": file},
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def file_check_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    file = get_object_or_404(File, firm=me.firm, pk=pk)

    def request_check(form: CheckRequestForm) -> str | None:
        data = form.cleaned_data
        code = data["activity_code"]
        try:
            check = check_services.check_request_create(
                firm=me.firm,
                actor=me,
                bank_account_id=data["bank_account"].pk,
                payee=data["payee"],
                amount_cents=data["amount"],
                file_id=file.pk,
                activity_code_id=code.pk if code is not None else None,
                memo=data["memo"],
                request_date=data["request_date"],
            )
        except TrustOverdraw as exc:  # names no field: it is about the amount
            form.add_error("amount", message_of(exc))
            return None
        return f"Check to {check.payee} for {format_cents(check.amount_cents)} queued for printing."

    return popup_form(
        request,
        CheckRequestForm,
        on_valid=request_check,
        template="books/files/_check_form.html",
        title=f"Request check · {file.number}",
        success=reverse("books:file_detail", args=[file.pk]),
        form_kwargs={"firm": me.firm},
        context={"file": file},
    )


@books_login_required(role=CORRECTIONS, doing="Voiding a trust receipt")
@require_http_methods(["GET", "POST"])
def receipt_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    receipt = get_object_or_404(TrustReceipt.objects.select_related("file"), firm=me.firm, pk=pk)

    def void(form: VoidForm) -> str:
        check_services.trust_receipt_void(
            firm=me.firm,
            actor=me,
            receipt_id=receipt.pk,
            void_date=form.cleaned_data["void_date"],
            reason=form.cleaned_data["reason"],
        )
        return f"Deposit from {receipt.payer} voided."

    return popup_form(
        request,
        VoidForm,
        on_valid=void,
        template="books/files/_receipt_void_form.html",
        title=f"Void deposit from {receipt.payer}",
        success=reverse("books:file_detail", args=[receipt.file_id]),
        context={"receipt": receipt},
    )
