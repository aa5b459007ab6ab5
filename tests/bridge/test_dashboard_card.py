"""The bridge's card on the cases side's home page (cases.extensions.dashboard_cards): the
differences the last reconciliation found, for those who may open it."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from casebridge.books.models import Check
from casebridge.bridge.services import outbox, reconciliation
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases import extensions
from casebridge.core import words

from .conftest import add_cost
from .web.conftest import sign_in

HOME = reverse("cases:dashboard")


def card_of(client: Client) -> str:
    html = client.get(HOME).content.decode()
    start = html.find("data-dashboard-card>")
    return "" if start < 0 else html[start : html.index("</a>", start)]


def test_the_last_runs_differences_with_a_link(books, cases, connected):
    admin = sign_in(Client(), cases.admin)
    [card] = extensions.dashboard_cards(cases.admin)
    assert (card.label, card.count, card.note, card.problem) == (
        "Reconciliation differences",
        None,
        "Not run yet",
        True,
    )
    assert '<span class="stat-value">&ndash;</span>' in card_of(admin)
    cost = add_cost(cases, 12_500)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    Check.objects.filter(firm=books.firm).update(amount_cents=12_000)
    run = reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin)
    [card] = extensions.dashboard_cards(cases.admin)
    assert (card.count, card.problem, card.url) == (1, True, reverse("bridge:reconciliation"))
    assert card.note == f"Last run {words.format_moment(run.started_at)}"  # the firm's time
    assert '<span class="stat-value">1</span>' in card_of(admin)


def test_no_card_for_who_may_not_open_the_reconciliation(books, cases, connected):
    assert extensions.dashboard_cards(cases.paralegal) == []
    assert card_of(sign_in(Client(), cases.paralegal)) == ""
