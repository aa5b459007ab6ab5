"""Journal entries on the screens (issue 14, the twins of ``/journal-entries``): the list,
one entry with its postings, a manual entry (administrators, as the API), and its reversal
(the accountant role or above; an entry is never edited or deleted)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import JournalEntryForm, JournalReverseForm
from casebridge.books.models import Check, File, Firm, Invoice, JournalEntry, Posting, TrustReceipt
from casebridge.books.roles import CORRECTIONS, has_role
from casebridge.books.services import journal as journal_service
from casebridge.core.errors import DomainError, ValidationFailed
from casebridge.web.paging import paginate
from casebridge.web.popups import popup_form

NAV = {"nav": "reports"}


def _entries(firm: Firm) -> QuerySet[JournalEntry]:
    return JournalEntry.objects.filter(firm=firm)


@books_login_required()
def journal_view(request: HttpRequest) -> HttpResponse:
    """Every journal entry, newest first, with its total."""
    me = books_user(request)
    entries = (
        _entries(me.firm)
        .select_related("created_by", "reverses")
        .annotate(total_cents=Sum("postings__debit_cents"))
        .order_by("-date", "-pk")
    )
    return render(
        request,
        "books/journal/list.html",
        {**NAV, "page": paginate(request, entries), "can_post": me.is_admin},
    )


def _owner(entry: JournalEntry) -> tuple[str, str] | None:
    """The document an entry belongs to (its label and screen), if any: such an entry is
    reversed by voiding the document."""
    check = Check.objects.filter(entry=entry).first()
    if check is not None:
        return ("the check", reverse("books:checks"))
    receipt = TrustReceipt.objects.filter(entry=entry).select_related("file").first()
    if receipt is not None:
        return ("the trust receipt", reverse("books:file_detail", args=[receipt.file_id]))
    invoice = Invoice.objects.filter(entry=entry).first()
    if invoice is not None:
        return ("the invoice", reverse("books:invoice_detail", args=[invoice.pk]))
    return None


@books_login_required()
def journal_entry_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    entry = get_object_or_404(
        _entries(me.firm)
        .select_related("created_by", "reverses")
        .prefetch_related(
            Prefetch(
                "postings",
                queryset=Posting.objects.select_related("account", "file").order_by("pk"),
            )
        ),
        pk=pk,
    )
    reversed_by = JournalEntry.objects.filter(reverses=entry).first()
    owner = _owner(entry)
    can_reverse = (
        has_role(me, CORRECTIONS)
        and reversed_by is None
        and entry.reverses_id is None
        and owner is None
    )
    return render(
        request,
        "books/journal/detail.html",
        {
            **NAV,
            "entry": entry,
            "postings": list(entry.postings.all()),
            "reversed_by": reversed_by,
            "owner": owner,
            "can_reverse": can_reverse,
        },
    )


@books_login_required(admin=True)
@require_http_methods(["GET", "POST"])
def journal_entry_new_view(request: HttpRequest) -> HttpResponse:
    """A manual entry: up to six lines; the journal service refuses what does not balance
    or breaks a rule, and writes nothing then."""
    me = books_user(request)

    def post(form: JournalEntryForm) -> str | None:
        numbers = {row["file"] for _, row in form.filled_rows() if row["file"]}
        files = {f.number: f for f in File.objects.filter(firm=me.firm, number__in=numbers)}
        lines = []
        for n, row in form.filled_rows():
            if row["account"] is None:
                raise ValidationFailed(f"line {n}: choose an account", field=f"account_{n}")
            file = files.get(row["file"]) if row["file"] else None
            if row["file"] and file is None:
                raise ValidationFailed(f"no file numbered {row['file']}", field=f"file_{n}")
            lines.append(
                journal_service.Line(
                    account=row["account"],
                    debit_cents=row["debit"] or 0,
                    credit_cents=row["credit"] or 0,
                    file=file,
                    memo=row["line_memo"] or "",
                )
            )
        try:
            entry = journal_service.journal_entry_post(
                firm=me.firm,
                date=form.cleaned_data["date"],
                lines=lines,
                memo=form.cleaned_data["memo"],
                source="manual",
                actor=me,
            )
        except DomainError as exc:
            if not form.add_line_error(exc):
                raise
            return None
        return f"Journal entry JE{entry.pk} posted."

    def context(form: JournalEntryForm) -> dict[str, Any]:
        return {
            "rows": form.rows(),
            "file_numbers": File.objects.filter(firm=me.firm)
            .order_by("-pk")
            .values_list("number", flat=True)[:200],
        }

    return popup_form(
        request,
        JournalEntryForm,
        on_valid=post,
        template="books/journal/_entry_form.html",
        title="New journal entry",
        success=reverse("books:journal"),
        form_kwargs={"firm": me.firm},
        context=context,
        wide=True,
    )


@books_login_required(role=CORRECTIONS, doing="Reversing a journal entry")
@require_http_methods(["GET", "POST"])
def journal_entry_reverse_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = books_user(request)
    entry = get_object_or_404(_entries(me.firm), pk=pk)
    back = reverse("books:journal_entry", args=[entry.pk])

    def reverse_entry(form: JournalReverseForm) -> str:
        reversal = journal_service.journal_entry_reverse(
            firm=me.firm,
            entry=entry,
            date=form.cleaned_data["date"],
            memo=form.cleaned_data["memo"],
            actor=me,
        )
        return f"Journal entry JE{entry.pk} reversed by JE{reversal.pk}."

    return popup_form(
        request,
        JournalReverseForm,
        on_valid=reverse_entry,
        template="books/journal/_reverse_form.html",
        title=f"Reverse JE{entry.pk}",
        success=back,
        context={"entry": entry},
    )
