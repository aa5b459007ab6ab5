"""The dashboard: money held in trust, work waiting, and the seed's set-up checklist."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.models import (
    ActivityCode,
    AreaOfPractice,
    BankAccount,
    BankAccountKind,
    Check,
    CheckStatus,
    Firm,
    Invoice,
    InvoiceStage,
    Reconciliation,
    ReconciliationStatus,
    Role,
    User,
)
from casebridge.books.roles import has_role
from casebridge.books.selectors import dashboard as figures
from casebridge.books.selectors.bank import month_bounds
from casebridge.books.selectors.reports import client_trust_total_cents, gl_balances
from casebridge.core import clock
from casebridge.core.words import format_day
from casebridge.web.charts import bar_chart


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool
    detail: str
    url: str


def setup_checklist(firm: Firm) -> list[ChecklistItem]:
    """What the seed asks of the books before the bridge is switched on (S5-S8)."""
    timekeepers = list(
        User.objects.filter(firm=firm, is_active=True, records_time=True)
        .order_by("email")
        .values_list("email", flat=True)[:4]
    )
    pi = (
        AreaOfPractice.objects.filter(firm=firm)
        .filter(
            Q(name__iexact="PI")
            | Q(name__iexact="Personal Injury")
            | Q(description__iexact="Personal Injury")
        )
        .order_by("name")
        .first()
    )

    def code(*names: str) -> ActivityCode | None:
        match = Q()
        for n in names:
            match |= Q(code__iexact=n) | Q(name__iexact=n)
        return (
            ActivityCode.objects.filter(firm=firm, is_active=True)
            .filter(match)
            .select_related("gl_account")
            .order_by("code")
            .first()
        )

    copp = code("COPP")
    damage = code("Property Damage", "Property Damage Fee")
    return [
        ChecklistItem(
            "Attorneys have Records Time on",
            bool(timekeepers),
            ", ".join(timekeepers) if timekeepers else "No user records time yet.",
            reverse("books:users"),
        ),
        ChecklistItem(
            "Release invoice stage enabled",
            firm.release_invoice_stage_enabled,
            "Settings → Features",
            reverse("books:settings_features"),
        ),
        ChecklistItem(
            "Personal Injury area of practice",
            pi is not None,
            f"{pi.name}: {pi.description}" if pi else "Add it under Areas of Practice.",
            reverse("books:areas"),
        ),
        ChecklistItem(
            "COPP activity code",
            copp is not None,
            f"{copp.code} → {copp.gl_account}" if copp else "Add it under Rates/Codes.",
            reverse("books:activity_codes"),
        ),
        ChecklistItem(
            "Property Damage activity code",
            damage is not None,
            f"{damage.code} → {damage.gl_account}" if damage else "Add it under Rates/Codes.",
            reverse("books:activity_codes"),
        ),
    ]


@dataclass(frozen=True)
class ReconciliationDue:
    """Where a bank account stands with its monthly reconciliations."""

    bank: BankAccount
    last_signed: dt.date | None
    #: The last day of the next month to reconcile, when one is due.
    due: dt.date | None
    url: str


def reconciliations_due(firm: Firm, banks: list[BankAccount]) -> list[ReconciliationDue]:
    """Each bank account's last signed month, and whether it is due: the last complete
    month (the one before today's) is not signed yet."""
    last_complete = clock.today().replace(day=1) - dt.timedelta(days=1)
    signed = dict(
        Reconciliation.objects.filter(
            firm=firm, status=ReconciliationStatus.SIGNED, bank_account__in=banks
        )
        .values("bank_account_id")
        .annotate(last=Max("period_end"))
        .values_list("bank_account_id", "last")
    )
    out = []
    for bank in banks:
        last = signed.get(bank.pk)
        due: dt.date | None
        if last is None:
            due = last_complete
        else:
            following = month_bounds(last + dt.timedelta(days=1))[1]
            due = following if following <= last_complete else None
        month = due or last or last_complete
        url = reverse("books:bank_reconciliation", args=[bank.pk]) + f"?month={month:%Y-%m}"
        out.append(ReconciliationDue(bank, last, due, url))
    return out


@books_login_required(integration_home=True)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    user = books_user(request)
    if user.is_integration_user:  # no figures for the user that has no second factor
        return render(request, "books/integration_home.html", {"nav": "dashboard"})
    firm = user.firm
    trust_total = client_trust_total_cents(firm=firm)  # as of today, like the balances
    banks = list(
        BankAccount.objects.filter(firm=firm, is_active=True)
        .select_related("gl_account")
        .order_by("kind", "name")
    )
    balances = gl_balances(firm=firm, accounts=[bank.gl_account for bank in banks])
    queued = Check.objects.filter(
        firm=firm, status=CheckStatus.QUEUED, ach_payment__isnull=True
    ).aggregate(n=Count("id"), s=Sum("amount_cents"))
    stages = dict(
        Invoice.objects.filter(firm=firm, stage__in=[InvoiceStage.REVIEW, InvoiceStage.RELEASE])
        .values_list("stage")
        .annotate(n=Count("id"))
        .order_by()
    )
    checklist = setup_checklist(firm)
    today = clock.today()
    reconciles = has_role(user, Role.ACCOUNTANT)  # matching and reconciling: accountants up
    unreconciled = figures.unreconciled_lines(firm, banks) if reconciles else {}
    reconciliations = reconciliations_due(firm, banks)
    return render(
        request,
        "books/dashboard.html",
        {
            "nav": "dashboard",
            "trust_total_cents": trust_total,
            "banks": [(bank, balances[bank.gl_account_id]) for bank in banks],
            "trust_kind": BankAccountKind.TRUST,
            "queued_count": queued["n"] or 0,
            "queued_cents": queued["s"] or 0,
            "review_count": stages.get(InvoiceStage.REVIEW, 0),
            "release_count": stages.get(InvoiceStage.RELEASE, 0),
            "checklist": checklist,
            "reconciliations": [(r, unreconciled.get(r.bank.pk)) for r in reconciliations],
            "reconciles": reconciles,
            "unreconciled_count": sum(unreconciled.values()),
            "months_due": sum(1 for r in reconciliations if r.due),
            "checklist_done": all(item.done for item in checklist),
            "trust_chart": bar_chart(
                "trust",
                "Client money held in trust at each month's end",
                "The sum of every client trust ledger at the end of each of the last twelve "
                f"months (this month as of {format_day(today)}).",
                [(f"{end:%b %y}", c) for end, c in figures.trust_held_by_month(firm, today)],
                label_heading="Month end",
                value_heading="Held in trust",
            ),
        },
    )
