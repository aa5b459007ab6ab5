"""ACH payments (issue 15, ADR 0046): the queue of disbursements paid by ACH by status,
Make ACH file (ticked queued payments of one bank account -> one NACHA file, downloaded
at once and again later, the same bytes), Mark sent, Return and Cancel; the payees' bank
details with their prenote's status (a queued payment whose payee still waits for its
prenote says until when, ADR 0055); a bank account's ACH settings; Pay by ACH from a
file."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.errors import TrustOverdraw
from casebridge.books.forms import (
    AchBatchForm,
    AchCancelForm,
    AchPaymentRequestForm,
    AchReturnForm,
    AchSentForm,
    AchSettingsForm,
    PayeeBankForm,
    PayeeBankNewForm,
)
from casebridge.books.models import (
    AchBatch,
    AchPayment,
    AchSettings,
    AchStatus,
    BankAccount,
    Contact,
    File,
    PayeeBankAccount,
)
from casebridge.books.roles import CORRECTIONS, has_role
from casebridge.books.services import ach as ach_services
from casebridge.books.services.checks import CheckRequest
from casebridge.books.views.checks import _ids
from casebridge.core import clock
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents
from casebridge.web.paging import paginate
from casebridge.web.popups import INVALID, apply_domain_error, message_of, popup_form, render_modal


def _queue_url(status: str = AchStatus.QUEUED) -> str:
    return f"{reverse('books:ach')}?status={status}"


@books_login_required()
def ach_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    status = request.GET.get("status", AchStatus.QUEUED)
    if status not in AchStatus.values:
        status = AchStatus.QUEUED
    counts = dict(
        AchPayment.objects.filter(firm=firm)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    payments = (
        AchPayment.objects.filter(firm=firm, status=status)
        .select_related(
            "disbursement",
            "disbursement__bank_account",
            "disbursement__file",
            "payee_account",
            "payee_account__prenote_batch",
            "batch",
        )
        .order_by("disbursement__request_date", "pk")
    )
    page = paginate(request, payments)
    today = clock.today()
    # a queued payment whose payee still waits for its prenote says so on its row
    rows = [
        (
            p,
            ach_services.prenote_wait(p.payee_account, today)
            if status == AchStatus.QUEUED
            else None,
        )
        for p in page
    ]
    batches = AchBatch.objects.filter(firm=firm).select_related("bank_account").order_by("-pk")[:20]
    payees = (
        PayeeBankAccount.objects.filter(firm=firm, is_active=True)
        .select_related("contact", "prenote_batch")
        .order_by("contact__name")[:50]
    )
    return render(
        request,
        "books/ach/list.html",
        {
            "nav": "checks",
            "status": status,
            "tabs": [(value, label, counts.get(value, 0)) for value, label in AchStatus.choices],
            "page": page,
            "rows": rows,
            "batches": batches,
            "payees": [(p, ach_services.payee_bank_view(p, today=today)) for p in payees],
            # the file's download and Mark sent: accountant or above (ADR 0050)
            "can_send": has_role(books_user(request), CORRECTIONS),
        },
    )


@books_login_required(role=CORRECTIONS, doing="Making an ACH file")
@require_http_methods(["GET", "POST"])
def ach_batch_create_view(request: HttpRequest) -> HttpResponse:
    """Make ACH file: the queued payments ticked (one bank account) become one NACHA file."""
    me = books_user(request)
    source = request.POST if request.method == "POST" else request.GET
    ids = _ids(source.getlist("ids")) or []
    rows = {
        p.pk: p
        for p in AchPayment.objects.filter(firm=me.firm, pk__in=ids).select_related(
            "disbursement", "disbursement__bank_account", "payee_account"
        )
    }
    payments = [rows[i] for i in ids if i in rows]
    banks = {p.disbursement.bank_account_id for p in payments}
    problem = ""
    if not payments:
        problem = "Choose the queued ACH payments to send (tick them in the Queued list)."
    elif len(banks) > 1:
        problem = "The payments are from more than one bank account: make one file per account."
    elif any(p.status != AchStatus.QUEUED for p in payments):
        problem = "A payment ticked is no longer queued: it is already in a file."
    bank = payments[0].disbursement.bank_account if payments else None
    form = AchBatchForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and not problem and bank is not None:
        if form.is_valid():
            try:
                batch = ach_services.ach_batch_create(
                    firm=me.firm,
                    actor=me,
                    bank_account_id=bank.pk,
                    payment_ids=[p.pk for p in payments],
                    effective_date=form.cleaned_data["effective_date"],
                    include_prenotes=form.cleaned_data["include_prenotes"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc, {"payment_ids": "__all__", "bank_account": "__all__"})
            else:
                return render_modal(
                    request,
                    "books/ach/_batch_done.html",
                    {
                        "batch": batch,
                        "download": reverse("books:ach_batch_file", args=[batch.pk]),
                        "done_url": _queue_url(AchStatus.BATCHED),
                    },
                    title="ACH file made",
                )
        status = INVALID
    elif problem:
        status = INVALID if request.method == "POST" else 200
    return render_modal(
        request,
        "books/ach/_batch_form.html",
        {
            "form": form,
            "problem": problem,
            "payments": payments,
            "bank": bank,
            "has_settings": bank is not None
            and AchSettings.objects.filter(bank_account=bank).exists(),
            "total": sum(p.disbursement.amount_cents for p in payments),
        },
        title="Make ACH file",
        status=status,
        back_url=_queue_url(),
    )


@books_login_required(role=CORRECTIONS, doing="Downloading an ACH file")
@require_http_methods(["GET"])
def ach_batch_file_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The NACHA file, byte for byte as it was made (audited)."""
    me = books_user(request)
    batch = get_object_or_404(AchBatch, firm=me.firm, pk=pk)
    name, text = ach_services.ach_batch_download(firm=me.firm, actor=me, batch_id=batch.pk)
    response = HttpResponse(text.encode("ascii"), content_type="text/plain; charset=us-ascii")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@books_login_required(role=CORRECTIONS, doing="Marking an ACH file sent")
@require_http_methods(["GET", "POST"])
def ach_batch_sent_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    batch = get_object_or_404(AchBatch, firm=me.firm, pk=pk)

    def sent(form: AchSentForm) -> str:
        ach_services.ach_batch_mark_sent(
            firm=me.firm, actor=me, batch_id=batch.pk, sent_on=form.cleaned_data["sent_on"]
        )
        return f"ACH file {batch.file_id_modifier} of {batch.created_on.isoformat()} marked sent."

    return popup_form(
        request,
        AchSentForm,
        on_valid=sent,
        template="books/ach/_sent_form.html",
        title="Mark the ACH file sent",
        success=_queue_url(AchStatus.SENT),
        back_url=_queue_url(AchStatus.BATCHED),
        context={"batch": batch},
    )


@books_login_required(role=CORRECTIONS, doing="Recording an ACH return")
@require_http_methods(["GET", "POST"])
def ach_return_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    payment = get_object_or_404(
        AchPayment.objects.select_related("disbursement"), firm=me.firm, pk=pk
    )

    def returned(form: AchReturnForm) -> str:
        ach_services.ach_payment_return(
            firm=me.firm,
            actor=me,
            payment_id=payment.pk,
            returned_on=form.cleaned_data["returned_on"],
            reason=form.cleaned_data["reason"],
        )
        return f"ACH payment to {payment.disbursement.payee} returned; the money is back."

    return popup_form(
        request,
        AchReturnForm,
        on_valid=returned,
        template="books/ach/_return_form.html",
        title=f"ACH return: {payment.disbursement.payee}",
        success=_queue_url(AchStatus.RETURNED),
        back_url=_queue_url(payment.status),
        context={"payment": payment},
        field_map={"returned_on": "returned_on", "void_date": "returned_on"},
    )


@books_login_required(role=CORRECTIONS, doing="Cancelling an ACH payment")
@require_http_methods(["GET", "POST"])
def ach_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    payment = get_object_or_404(
        AchPayment.objects.select_related("disbursement"), firm=me.firm, pk=pk
    )

    def cancel(form: AchCancelForm) -> str:
        ach_services.ach_payment_cancel(
            firm=me.firm, actor=me, payment_id=payment.pk, reason=form.cleaned_data["reason"]
        )
        return f"ACH payment to {payment.disbursement.payee} cancelled."

    return popup_form(
        request,
        AchCancelForm,
        on_valid=cancel,
        template="books/ach/_cancel_form.html",
        title=f"Cancel ACH payment to {payment.disbursement.payee}",
        success=_queue_url(AchStatus.CANCELLED),
        back_url=_queue_url(),
        context={"payment": payment},
    )


def _bank_details_saved(contact: Contact, account: PayeeBankAccount) -> str:
    view = ach_services.payee_bank_view(account)
    return f"Bank details of {contact.name} saved: {view.sec_code}, {view.account_number_masked}."


@books_login_required(role=CORRECTIONS, doing="Changing a payee's bank details")
@require_http_methods(["GET", "POST"])
def contact_bank_details_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A contact's bank details for ACH (the account number shown masked, typed anew)."""
    me = books_user(request)
    contact = get_object_or_404(Contact, firm=me.firm, pk=pk)
    current = ach_services.payee_bank_account_of(me.firm, contact.pk)

    def save(form: PayeeBankForm) -> str:
        data = form.cleaned_data
        account = ach_services.payee_bank_account_set(
            firm=me.firm,
            actor=me,
            contact_id=contact.pk,
            routing_number=data["routing_number"],
            account_number=data["account_number"],
            account_type=data["account_type"],
            holder_kind=data["holder_kind"],
            prenote=data["prenote"],
        )
        return _bank_details_saved(contact, account)

    return popup_form(
        request,
        PayeeBankForm,
        on_valid=save,
        template="books/ach/_bank_details_form.html",
        title=f"Bank details: {contact.name}",
        success=reverse("books:ach"),
        initial={
            "routing_number": current.routing_number,
            "account_type": current.account_type,
            "holder_kind": current.holder_kind,
        }
        if current
        else None,
        context={
            "contact": contact,
            "current": ach_services.payee_bank_view(current) if current else None,
            "action": reverse("books:contact_bank_details", args=[contact.pk]),
        },
    )


@books_login_required(role=CORRECTIONS, doing="Changing a payee's bank details")
@require_http_methods(["GET", "POST"])
def payee_bank_new_view(request: HttpRequest) -> HttpResponse:
    me = books_user(request)

    def save(form: PayeeBankNewForm) -> str:
        data = form.cleaned_data
        contact: Contact = data["contact"]
        account = ach_services.payee_bank_account_set(
            firm=me.firm,
            actor=me,
            contact_id=contact.pk,
            routing_number=data["routing_number"],
            account_number=data["account_number"],
            account_type=data["account_type"],
            holder_kind=data["holder_kind"],
            prenote=data["prenote"],
        )
        return _bank_details_saved(contact, account)

    return popup_form(
        request,
        PayeeBankNewForm,
        on_valid=save,
        template="books/ach/_bank_details_form.html",
        title="Add a payee's bank details",
        success=reverse("books:ach"),
        form_kwargs={"firm": me.firm},
        context={"action": reverse("books:payee_bank_new")},
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def bank_ach_settings_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Settings -> Bank Accounts -> ACH: what the bank assigns for its ACH files."""
    me = books_user(request)
    bank = get_object_or_404(BankAccount, firm=me.firm, pk=pk)
    current = AchSettings.objects.filter(bank_account=bank).first()

    def save(form: AchSettingsForm) -> str:
        ach_services.ach_settings_set(
            firm=me.firm, actor=me, bank_account_id=bank.pk, **form.cleaned_data
        )
        return f"ACH settings of {bank.name} saved."

    fields = [
        "immediate_destination",
        "immediate_destination_name",
        "immediate_origin",
        "immediate_origin_name",
        "company_name",
        "company_id",
        "balanced",
    ]
    return popup_form(
        request,
        AchSettingsForm,
        on_valid=save,
        template="books/ach/_settings_form.html",
        title=f"ACH settings: {bank.name}",
        success=reverse("books:bank_accounts"),
        initial={name: getattr(current, name) for name in fields}
        if current
        else {"immediate_destination": bank.routing_number},
        context={"bank": bank},
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def file_ach_payment_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay by ACH from a file: a check request paid to a payee's bank details."""
    me = books_user(request)
    file = get_object_or_404(File, firm=me.firm, pk=pk)

    def pay(form: AchPaymentRequestForm) -> str | None:
        data = form.cleaned_data
        code = data["activity_code"]
        contact: Contact = data["payee_contact"]
        try:
            check, _ = ach_services.ach_payment_request(
                firm=me.firm,
                actor=me,
                request=CheckRequest(
                    bank_account_id=data["bank_account"].pk,
                    payee=contact.name,
                    amount_cents=data["amount"],
                    file_id=file.pk,
                    activity_code_id=code.pk if code is not None else None,
                    memo=data["memo"],
                    request_date=data["request_date"],
                ),
                payee_contact_id=contact.pk,
            )
        except TrustOverdraw as exc:  # names no field: it is about the amount
            form.add_error("amount", message_of(exc))
            return None
        return (
            f"ACH payment to {check.payee} for {format_cents(check.amount_cents)} queued "
            "for the next ACH file."
        )

    return popup_form(
        request,
        lambda *args, **kwargs: AchPaymentRequestForm(*args, **kwargs),
        on_valid=pay,
        template="books/ach/_pay_form.html",
        title=f"Pay by ACH · {file.number}",
        success=reverse("books:file_detail", args=[file.pk]),
        form_kwargs={"firm": me.firm},
        context={"file": file},
        field_map={"payee_contact": "payee_contact", "bank_account": "bank_account"},
    )
