"""Issue 14: a cost is named by what a person sees of it (its date, payee and amount; its
case where the screen does not show it apart), never by its id: in the labels of a row's
actions (what a screen reader says) and in the subjects of the reconciliation's differences."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from casebridge.books.models import Check
from casebridge.books.services import checks as books_checks
from casebridge.bridge.models import OutboxItem, ReconciliationDifference
from casebridge.bridge.services import outbox, reconciliation
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.services import cases as case_services
from tests.bridge.conftest import add_cost

from .conftest import sign_in, text
from .test_queue_and_cost_screens import _other_case

#: An internal id where a person reads a label: "cost 12", "item 7".
AN_ID = re.compile(r"\b(cost|item) #?\d")


def _labels(page: str) -> list[str]:
    return re.findall(r'aria-label="([^"]*)"', page)


def test_a_costs_row_actions_are_named_by_its_date_payee_and_amount(
    books, cases, connected, admin_client
):
    other = _other_case(cases)
    case_services.cases_link(case=cases.case, other_case_id=other.pk, actor=cases.admin)
    add_cost(cases, 12_345, payee="Records Inc")
    sent = add_cost(cases, 50_000, payee="Dr. Wu")
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[sent.pk])
    outbox_deliver(firm_id=cases.firm.pk)  # Pending, its check requested in the books

    page = text(admin_client.get(reverse("cases:case_costs", args=[cases.case.pk])))
    open_cost = "cost of 2026-11-02 to Records Inc for $123.45"
    pending = "cost of 2026-11-02 to Dr. Wu for $500.00"
    assert f'<summary class="btn btn-sm" aria-label="Actions: {open_cost}">' in page
    assert f'<summary class="btn btn-sm" aria-label="Actions: {pending}">' in page
    labels = _labels(page)
    for label in (
        f"Send {open_cost} to the books",
        f"Split and send {open_cost} to the books",
        f"Edit {open_cost}",
        f"Pay {open_cost}",
        f"Split {open_cost}",
        f"Void {open_cost}",
        f"Sync check status of the {pending}",
        f"Edit {pending}",
        f"Void {pending}",
    ):
        assert label in labels, label
    assert [label for label in labels if AN_ID.search(label)] == []


def test_a_queue_rows_actions_are_named_by_its_kind_subject_and_case(
    cases, connected, admin_client
):
    cost = add_cost(cases, 12_345, payee="Records Inc")
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    OutboxItem.objects.update(state="failed", error_message="payee: unknown")
    page = text(admin_client.get(reverse("bridge:queue")))
    what = f"Send cost: Records Inc $123.45, case {cases.case.number}"
    assert f'aria-label="Retry {what}">Retry</button>' in page
    assert f'aria-label="Withdraw {what}">Withdraw</a>' in page
    assert [label for label in _labels(page) if AN_ID.search(label)] == []


def test_a_cost_difference_names_the_cost_and_its_case_not_its_id(books, cases, connected):
    client = sign_in(Client(), cases.admin)
    cost = add_cost(cases, 12_500, payee="Records Inc")
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get(firm=books.firm)
    books_checks.check_print(firm=books.firm, actor=books.admin, check_id=check.pk, check_number=77)
    reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin)
    diff = ReconciliationDifference.objects.get()
    subject = "Cost of 2026-11-02 to Records Inc for $125.00"
    assert diff.subject == subject

    number = cases.case.number
    page = text(client.get(reverse("bridge:reconciliation")))
    assert (
        f'<td class="nowrap"><a href="{reverse("cases:case_settlement", args=[cases.case.pk])}">'
        f"{number}</a></td>\n        <td>Cost vs check<br>"
        f'<span class="small">{subject}</span></td>' in page
    )
    fix_url = reverse("bridge:reconciliation_fix", args=[diff.pk])
    popup = text(client.get(fix_url, HTTP_HX_REQUEST="true"))
    assert f"<p><strong>{subject} (case {number})</strong></p>" in popup
    done = text(client.post(fix_url, {"next": reverse("bridge:reconciliation")}, follow=True))
    assert f"Sync statuses: done for {subject} (case {number}). Run the reconciliation" in done
    for shown in (page, popup, done):
        assert not AN_ID.search(shown)
