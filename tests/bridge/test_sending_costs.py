"""Sending costs to the books: outbox, delivery over real HTTP, check status coming back."""

from __future__ import annotations

import pytest

from casebridge.books.models import Check, CheckStatus, File, JournalEntry
from casebridge.books.services import checks as books_checks
from casebridge.bridge.errors import NotConnected, NotReady
from casebridge.bridge.models import (
    CaseLink,
    CheckState,
    Connection,
    CostLink,
    OutboxItem,
    OutboxState,
)
from casebridge.bridge.services import outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.bridge.services.status_sync import check_status_sync
from casebridge.cases.errors import Locked
from casebridge.cases.models import CostStatus
from casebridge.cases.services import costs as cost_services

from .conftest import add_cost, books_read_again


def _send(cases, costs, **kw):
    return outbox.costs_send(
        firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs], **kw
    )


def test_three_costs_become_pending_then_checks_in_the_books_then_paid(books, cases, connected):
    costs = [
        add_cost(cases, 12_500),
        add_cost(cases, 40_000, payee="Dr. Wu"),
        add_cost(cases, 7_525),
    ]
    result = _send(cases, costs)
    assert (result.count, result.total_cents) == (3, 60_025)
    for cost in costs:
        cost.refresh_from_db()
        assert cost.status == CostStatus.PENDING
    assert OutboxItem.objects.filter(state=OutboxState.QUEUED).count() == 3

    report = outbox_deliver(firm_id=cases.firm.pk)
    assert (report.sent, report.failed, report.retrying) == (3, 0, 0)
    assert OutboxItem.objects.filter(state=OutboxState.SENT).count() == 3

    file = File.objects.get(firm=books.firm, external_ref=f"cases-case-{cases.case.pk}")
    assert file.responsible_attorney_id == books.attorney.pk
    assert file.area_of_practice.name == "PI"
    assert CaseLink.objects.get(case=cases.case).books_file_id == file.pk
    checks = list(Check.objects.filter(firm=books.firm).order_by("pk"))
    assert [(c.payee, c.amount_cents, c.bank_account_id, c.file_id, c.status) for c in checks] == [
        ("Records Inc", 12_500, books.operating.pk, file.pk, CheckStatus.QUEUED),
        ("Dr. Wu", 40_000, books.operating.pk, file.pk, CheckStatus.QUEUED),
        ("Records Inc", 7_525, books.operating.pk, file.pk, CheckStatus.QUEUED),
    ]
    # cost code E112 goes with the books' code of the same UTBMS code, never as COPP
    assert {c.activity_code.code for c in checks} == {"E112"}

    books_checks.check_print(
        firm=books.firm, actor=books.admin, check_id=checks[0].pk, check_number=1043
    )
    books_checks.check_print(
        firm=books.firm, actor=books.admin, check_id=checks[1].pk, check_number=1044
    )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.checked, run.paid, run.voided, run.problems, run.error) == (3, 2, 0, 0, "")
    statuses = []
    for cost in costs:
        cost.refresh_from_db()
        statuses.append((cost.status, cost.payment_reference))
    assert statuses == [
        (CostStatus.PAID, "1043"),
        (CostStatus.PAID, "1044"),
        (CostStatus.PENDING, ""),
    ]


def test_sending_twice_is_refused_and_a_resend_after_a_lost_answer_links_the_same_check(
    books, cases, connected
):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    with pytest.raises(Locked):
        _send(cases, [cost])
    assert OutboxItem.objects.count() == 1
    outbox_deliver(firm_id=cases.firm.pk)
    # the answer was lost: the item is handed out again as if never acknowledged
    OutboxItem.objects.update(state=OutboxState.QUEUED, result=None)
    CostLink.objects.update(books_check_id=None)
    outbox_deliver(firm_id=cases.firm.pk)
    assert Check.objects.filter(firm=books.firm).count() == 1
    assert CostLink.objects.get().books_check_id == Check.objects.get().pk


def test_sending_is_refused_while_a_needed_readiness_check_fails(books, cases, connected):
    books.attorney.email = "someone.else@lopez.test"
    books.attorney.save()
    books_read_again(cases)  # the worker's next refresh sees it (a send never asks the books)
    cost = add_cost(cases, 10_000)
    with pytest.raises(NotReady) as refused:
        _send(cases, [cost])
    assert (
        "Each attorney with open cases has a books user with the same email"
        in refused.value.message
    )
    assert "Sam Smith (sam.smith@lopez.test)" in refused.value.message
    assert "; they are being asked again now)" in refused.value.message
    # the refusal asks the worker to read the books again: the fix may be made there
    assert Connection.objects.get(firm=cases.firm).refresh_requested_at is not None
    cost.refresh_from_db()
    assert cost.status == CostStatus.OPEN
    assert not OutboxItem.objects.exists()


def test_sending_without_a_connection_is_refused(cases):
    cost = add_cost(cases, 10_000)
    with pytest.raises(NotConnected):
        _send(cases, [cost])
    assert not OutboxItem.objects.exists()


def test_a_pending_cost_voided_on_the_cases_side_voids_its_check(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk, reason="Duplicate")
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get()
    assert check.status == CheckStatus.VOIDED
    assert check.void_reason == "Voided in case management: Duplicate"
    assert CostLink.objects.get().check_state == CheckState.VOID
    entries = JournalEntry.objects.filter(firm=books.firm)
    assert entries.count() == 2  # the check and its reversal


def test_a_cost_voided_before_its_send_went_out_never_reaches_the_books(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk)
    outbox_deliver(firm_id=cases.firm.pk)
    assert not Check.objects.exists()
    # the void still asks the books (by external_ref) in case a check landed unseen
    assert list(OutboxItem.objects.order_by("pk").values_list("kind", "state", "result")) == [
        ("cost_send", "cancelled", None),
        ("cost_void", "sent", {"nothing_to_void": True}),
    ]


def test_a_check_voided_in_the_books_voids_the_cost_even_when_paid(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get()
    books_checks.check_print(
        firm=books.firm, actor=books.admin, check_id=check.pk, check_number=2001
    )
    check_status_sync(firm=cases.firm)
    cost.refresh_from_db()
    assert cost.status == CostStatus.PAID
    books_checks.check_void(
        firm=books.firm, actor=books.admin, check_id=check.pk, reason="Lost in mail"
    )
    run = check_status_sync(firm=cases.firm)
    assert (run.voided, run.paid) == (1, 0)
    cost.refresh_from_db()
    assert (cost.status, cost.void_reason) == (
        CostStatus.VOID,
        "Check voided in the books: Lost in mail",
    )
    assert Check.objects.count() == 1  # the sync did not send a second void back


def test_a_sent_cost_keeps_its_amount(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    with pytest.raises(Locked):
        cost_services.cost_update(
            firm=cases.firm, actor=cases.admin, cost_id=cost.pk, amount_cents=9_000
        )
    cost_services.cost_update(firm=cases.firm, actor=cases.admin, cost_id=cost.pk, memo="Rush")
    cost.refresh_from_db()
    assert (cost.amount_cents, cost.memo) == (10_000, "Rush")


def test_a_check_gone_from_the_books_is_flagged_not_dropped(books, cases, connected):
    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get()
    Check.objects.filter(pk=check.pk).delete()  # someone deleted it behind the books' back
    run = check_status_sync(firm=cases.firm)
    assert (run.checked, run.problems, run.paid, run.voided) == (1, 1, 0, 0)
    link = CostLink.objects.get()
    assert link.check_state == CheckState.MISSING
    assert link.problem == (
        f"Check {check.pk} is no longer in the books. Void this cost, or ask the accountant "
        "what happened to the check."
    )
    cost.refresh_from_db()
    assert cost.status == CostStatus.PENDING
    # voiding it asks the books to void a check they no longer have: it fails, visibly
    cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk)
    outbox_deliver(firm_id=cases.firm.pk)
    assert list(OutboxItem.objects.order_by("pk").values_list("kind", "state")) == [
        ("cost_send", "sent"),
        ("cost_void", "failed"),
    ]
    assert OutboxItem.objects.get(kind="cost_void").error_code == "not_found"


def test_a_sent_cost_cannot_be_deleted_from_under_its_link(books, cases, connected):
    from django.db.models import ProtectedError

    cost = add_cost(cases, 10_000)
    _send(cases, [cost])
    with pytest.raises(ProtectedError):
        cost.delete()
