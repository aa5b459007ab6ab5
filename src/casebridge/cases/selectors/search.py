"""The cases side's global search: cases, contacts, payees and costs of the user's firm,
at most ten of each kind, from the text indexes of migration 0009_search (ADR 0031).

- Cases by number or caption, newest opened first;
- Contacts by name, e-mail or phone, by name (in any case);
- Payees: contacts who are the payee of a live cost, by name (for holders of the Costs
  management permission: they open Costs Management filtered by the payee);
- Costs by memo, check or card number, invoice reference, or their payee's name, newest
  cost date first; void costs are left out.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.http import urlencode

from casebridge.cases.models import Case, Contact, Cost, CostStatus, Permission, User
from casebridge.core import search
from casebridge.core.money import format_cents

CASES = search.TextIndex("cases_case", ("number", "name"))
CONTACTS = search.TextIndex("cases_contact", ("name", "email", "phone"))
COSTS = search.TextIndex("cases_cost", ("memo", "payment_reference", "invoice_reference"))
#: Every index of the cases side (the migration creates them).
INDEXES = (CASES, CONTACTS, COSTS)

N = search.PER_KIND
# Orders no index gives: the planner reads the matches from the text index and sorts
# them, rather than walking a whole table in index order to find ten that match.
BY_NAME = (Lower("name"), "pk")
NEWEST_COST = ("-cost_date", "-pk")


def search_cases_side(user: User, query: str) -> search.Results:
    """What ``user`` may find for ``query`` (no words: no groups)."""
    words = search.words(query)
    if not words:
        return search.Results(query=query, groups=[])
    firm = user.firm
    payees = list(_payee_rows(firm.pk, words))
    groups = [
        search.Group("cases", "Cases", _cases(firm.pk, words)),
        search.Group("contacts", "Contacts", _contacts(firm.pk, words)),
    ]
    if user.has_permission(Permission.COSTS_MANAGEMENT):
        groups.append(search.Group("payees", "Payees", _payees(payees)))
    groups.append(search.Group("costs", "Costs", _costs(firm.pk, words, payees)))
    return search.Results(query=query, groups=groups)


def _cases(firm_id: int, words: list[str]) -> list[search.Hit]:
    rows = (
        Case.objects.filter(search.matches(CASES, words, firm_id))
        .select_related("client")
        .order_by("-opened_on", "-pk")[:N]
    )
    return [
        search.Hit(
            f"{c.number} {c.name}",
            f"{c.get_status_display()} · client {c.client.name}",
            reverse("cases:case_detail", args=[c.pk]),
        )
        for c in rows
    ]


def _matching_contacts(firm_id: int, words: list[str]) -> QuerySet[Contact]:
    return Contact.objects.filter(search.matches(CONTACTS, words, firm_id))


def _contacts(firm_id: int, words: list[str]) -> list[search.Hit]:
    rows = _matching_contacts(firm_id, words).order_by(*BY_NAME)[:N]
    return [
        search.Hit(
            c.name,
            " · ".join(part for part in (c.email, c.phone) if part),
            reverse("cases:case_list") + "?" + urlencode({"q": c.name}),
        )
        for c in rows
    ]


def _payee_rows(firm_id: int, words: list[str]) -> QuerySet[Contact]:
    """Matching contacts who are the payee of a live cost, by name: at most N."""
    live = Cost.objects.filter(payee=OuterRef("pk")).exclude(status=CostStatus.VOID)
    return _matching_contacts(firm_id, words).filter(Exists(live)).order_by(*BY_NAME)[:N]


def _payees(payees: list[Contact]) -> list[search.Hit]:
    return [
        search.Hit(
            c.name,
            "Payee of costs",
            reverse("cases:costs_management")
            + "?"
            + urlencode({"status": "open", "payee": c.name}),
        )
        for c in payees
    ]


def _costs(firm_id: int, words: list[str], payees: list[Contact]) -> list[search.Hit]:
    live = Cost.objects.exclude(status=CostStatus.VOID)
    # Two indexed reads of at most N each (by the cost's own text; by its payee's name),
    # merged newest cost date first: one OR across two tables would scan.
    by_text = live.filter(search.matches(COSTS, words, firm_id)).order_by(*NEWEST_COST)
    # The costs of the payees found (at most N, as ids: a subquery of every matching
    # contact lets the planner guess thousands of costs and scan the table for them).
    by_payee = live.filter(firm_id=firm_id, payee_id__in=[p.pk for p in payees]).order_by(
        *NEWEST_COST
    )
    newest = sorted(
        {*by_text.values_list("cost_date", "pk")[:N], *by_payee.values_list("cost_date", "pk")[:N]},
        reverse=True,
    )
    ids = [pk for _, pk in newest[:N]]
    rows = Cost.objects.filter(pk__in=ids).select_related("case", "payee").order_by(*NEWEST_COST)
    return [
        search.Hit(
            f"{format_cents(c.amount_cents)} to {c.payee.name}",
            " · ".join(
                part
                for part in (
                    f"{c.case.number} {c.case.name}",
                    c.get_status_display(),
                    c.cost_date.isoformat(),
                    f"no. {c.payment_reference}" if c.payment_reference else "",
                    c.memo,
                )
                if part
            ),
            reverse("cases:case_costs", args=[c.case_id]),
        )
        for c in rows
    ]
