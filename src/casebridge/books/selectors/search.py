"""The books' global search: files, contacts, checks and invoices of the user's firm, at
most ten of each kind, from the text indexes of migration 0015_search (ADR 0031).

- Files by number or name, newest opened first;
- Contacts by name, e-mail or phone, by name (they open the files list searched by name);
- Checks by number, payee or memo, newest request first, with their status (a voided check is still
  found: it is the record of the number);
- Invoices by number or description, newest first, with their stage.

Each kind is ordered by something no index gives, so the planner reads the matches from
the text index and sorts them (a walk of a whole table in index order, looking for ten
that match, is what a rare word would otherwise cost).
"""

from __future__ import annotations

from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.http import urlencode

from casebridge.books.models import Check, Contact, File, Firm, Invoice
from casebridge.core import search
from casebridge.core.money import format_cents

FILES = search.TextIndex("books_file", ("number", "name"))
CONTACTS = search.TextIndex("books_contact", ("name", "email", "phone"))
CHECKS = search.TextIndex("books_check", ("check_number", "payee", "memo"))
INVOICES = search.TextIndex("books_invoice", ("number", "description"))
#: Every index of the books (the migration creates them).
INDEXES = (FILES, CONTACTS, CHECKS, INVOICES)

N = search.PER_KIND


def search_books(firm: Firm, query: str) -> search.Results:
    """What the firm's users find for ``query`` (no words: no groups)."""
    words = search.words(query)
    if not words:
        return search.Results(query=query, groups=[])
    return search.Results(
        query=query,
        groups=[
            search.Group("files", "Files", _files(firm.pk, words)),
            search.Group("contacts", "Contacts", _contacts(firm.pk, words)),
            search.Group("checks", "Checks", _checks(firm.pk, words)),
            search.Group("invoices", "Invoices", _invoices(firm.pk, words)),
        ],
    )


def _files(firm_id: int, words: list[str]) -> list[search.Hit]:
    rows = (
        File.objects.filter(search.matches(FILES, words, firm_id))
        .select_related("client")
        .order_by("-opened_on", "-pk")[:N]
    )
    return [
        search.Hit(
            f"{f.number} {f.name}",
            f"{'Closed' if f.is_closed else 'Open'} · client {f.client.name}",
            reverse("books:file_detail", args=[f.pk]),
        )
        for f in rows
    ]


def _contacts(firm_id: int, words: list[str]) -> list[search.Hit]:
    rows = Contact.objects.filter(search.matches(CONTACTS, words, firm_id)).order_by(
        Lower("name"), "pk"
    )[:N]
    return [
        search.Hit(
            c.name,
            " · ".join(part for part in (c.email, c.phone) if part),
            reverse("books:files") + "?" + urlencode({"q": c.name}),
        )
        for c in rows
    ]


def _checks(firm_id: int, words: list[str]) -> list[search.Hit]:
    rows = (
        Check.objects.filter(search.matches(CHECKS, words, firm_id))
        .select_related("bank_account", "file")
        .order_by("-request_date", "-pk")[:N]
    )
    return [
        search.Hit(
            f"{'No. ' + str(c.check_number) if c.check_number else 'Unnumbered'} · "
            f"{format_cents(c.amount_cents)} to {c.payee}",
            " · ".join(
                part
                for part in (
                    c.get_status_display(),
                    c.bank_account.name,
                    c.request_date.isoformat(),
                    f"{c.file.number} {c.file.name}" if c.file else "",
                    c.memo,
                )
                if part
            ),
            reverse("books:file_detail", args=[c.file_id])
            if c.file_id
            else reverse("books:checks") + "?" + urlencode({"status": c.status}),
        )
        for c in rows
    ]


def _invoices(firm_id: int, words: list[str]) -> list[search.Hit]:
    rows = (
        Invoice.objects.filter(search.matches(INVOICES, words, firm_id))
        .select_related("file")
        .order_by("-invoice_date", "-pk")[:N]
    )
    return [
        search.Hit(
            f"Invoice {i.number} · {format_cents(i.total_cents)}",
            " · ".join(
                part
                for part in (
                    i.get_stage_display(),
                    f"{i.file.number} {i.file.name}",
                    i.invoice_date.isoformat(),
                    i.description,
                )
                if part
            ),
            reverse("books:invoice_detail", args=[i.pk]),
        )
        for i in rows
    ]
