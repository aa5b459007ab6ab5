"""Gear → Audit Trail: who did what and when, with before and after.

Each event names its thing as a person knows it, never by its database id: a check by its
number, or "check to <payee> for $X" before it has one (a "Check #60" would read as a
check number); an invoice or a file by its number; an entry by its entry number (JE12,
the number the journal screens give it); a trust deposit by its payer, amount and date.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import AuditFilterForm
from casebridge.books.models import BankAccount, Check, File, Firm, Invoice, TrustReceipt
from casebridge.core import words
from casebridge.core.models import AuditEvent
from casebridge.core.money import format_cents
from casebridge.web.paging import paginate

SYSTEM = "books"


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)


def _check_label(check: Check) -> str:
    if check.check_number:
        return f"check {check.check_number}"
    return f"check to {check.payee} for {format_cents(check.amount_cents)}"


def _receipt_label(receipt: TrustReceipt) -> str:
    return (
        f"trust deposit from {receipt.payer} for {format_cents(receipt.amount_cents)} "
        f"on {words.format_day(receipt.received_on)}"
    )


def entity_labels(firm: Firm, events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """What each event's thing is called, by (entity type, entity id): one query a type."""
    ids: dict[str, set[int]] = {}
    for e in events:
        if e.entity_id.isdigit():
            ids.setdefault(e.entity_type, set()).add(int(e.entity_id))
    labels: dict[tuple[str, str], str] = {}

    def add(entity_type: str, found: dict[int, str]) -> None:
        labels.update({(entity_type, str(pk)): label for pk, label in found.items()})

    if wanted := ids.get("check"):
        add(
            "check", {c.pk: _check_label(c) for c in Check.objects.filter(firm=firm, pk__in=wanted)}
        )
    if wanted := ids.get("trust_receipt"):
        add(
            "trust_receipt",
            {
                r.pk: _receipt_label(r)
                for r in TrustReceipt.objects.filter(firm=firm, pk__in=wanted)
            },
        )
    if wanted := ids.get("invoice"):
        found = Invoice.objects.filter(firm=firm, pk__in=wanted).values_list("pk", "number")
        add("invoice", {pk: f"invoice {number}" for pk, number in found})
    if wanted := ids.get("file"):
        files = File.objects.filter(firm=firm, pk__in=wanted).values_list("pk", "number")
        add("file", {pk: f"file {number}" for pk, number in files})
    if wanted := ids.get("bank_account"):
        banks = BankAccount.objects.filter(firm=firm, pk__in=wanted).values_list("pk", "name")
        add("bank_account", {pk: f"bank account {name}" for pk, name in banks})
    # an entry's number is JE and its id: the number every journal screen shows
    add("journal_entry", {pk: f"journal entry JE{pk}" for pk in ids.get("journal_entry", ())})
    return labels


@books_login_required(admin=True)
def audit_view(request: HttpRequest) -> HttpResponse:
    firm = books_user(request).firm
    events = AuditEvent.objects.filter(system=SYSTEM, firm_id=firm.pk)
    entity_types = sorted(set(events.values_list("entity_type", flat=True).distinct()))
    actions = sorted(set(events.values_list("action", flat=True).distinct()))
    form = AuditFilterForm(request.GET or None, entity_types=entity_types, actions=actions)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["entity_type"]:
            events = events.filter(entity_type=form.cleaned_data["entity_type"])
        if form.cleaned_data["action"]:
            events = events.filter(action=form.cleaned_data["action"])
    elif form.is_bound:
        events = events.none()
    page = paginate(request, events.order_by("-at", "-pk"))
    events_shown = list(page.object_list)
    labels = entity_labels(firm, events_shown)
    rows = [
        {
            "event": e,
            "action": e.action.replace("_", " "),
            # what the thing is called, else its kind alone (never its database id)
            "entity": labels.get((e.entity_type, e.entity_id), e.entity_type.replace("_", " ")),
            "before": _pretty(e.before),
            "after": _pretty(e.after),
        }
        for e in events_shown
    ]
    return render(
        request,
        "books/settings/audit.html",
        {"nav": "settings", "section": "audit", "form": form, "page": page, "rows": rows},
    )
