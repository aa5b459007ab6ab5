"""Issue 5, first step: a settlement check deposited on the cases side becomes a trust
receipt in the books' default client trust account for the case's file, exactly once; a
deposit voided on the cases side reverses it."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.test import Client
from django.urls import reverse

from casebridge.books.models import TrustLedger, TrustReceipt
from casebridge.bridge.models import CaseLink, Connection, DepositLink, OutboxItem, RunState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.services import settlement
from casebridge.core import clock
from tests.cases.helpers import deposit, offer

from .conftest import pop_up_1, work
from .web.conftest import sign_in


def _trust_held(books) -> int:
    return sum(
        TrustLedger.objects.filter(file__firm=books.firm).values_list("balance_cents", flat=True)
    )


def test_a_deposit_becomes_a_trust_receipt_once(books, cases, connected):
    accepted = offer(cases.firm, cases.admin, cases.case, 25_000_000)
    made = deposit(cases.firm, cases.admin, cases.case, accepted, 25_000_000, check="88123")
    assert list(OutboxItem.objects.values_list("kind", "state")) == [("deposit_receipt", "queued")]
    outbox_deliver(firm_id=cases.firm.pk)
    receipt = TrustReceipt.objects.get()
    assert (
        receipt.payer,
        receipt.amount_cents,
        receipt.reference,
        receipt.bank_account_id,
        receipt.external_ref,
        receipt.file.external_ref,
    ) == (
        "Acme Insurance",
        25_000_000,
        "88123",
        books.trust.pk,
        f"cases-deposit-{made.pk}",
        f"cases-case-{cases.case.pk}",
    )
    assert _trust_held(books) == 25_000_000
    assert DepositLink.objects.get().books_receipt_id == receipt.pk
    # the answer was lost: the item goes again and finds the same receipt
    OutboxItem.objects.update(state="queued", result=None)
    DepositLink.objects.update(books_receipt_id=None)
    outbox_deliver(firm_id=cases.firm.pk)
    assert TrustReceipt.objects.count() == 1
    assert _trust_held(books) == 25_000_000


def test_a_voided_deposit_reverses_its_receipt(books, cases, connected):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    made = deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    outbox_deliver(firm_id=cases.firm.pk)
    settlement.deposit_void(
        firm=cases.firm, actor=cases.admin, deposit_id=made.pk, reason="Bounced"
    )
    outbox_deliver(firm_id=cases.firm.pk)
    receipt = TrustReceipt.objects.get()
    assert receipt.status == "voided"
    assert _trust_held(books) == 0
    assert list(OutboxItem.objects.order_by("pk").values_list("kind", "state")) == [
        ("deposit_receipt", "sent"),
        ("deposit_void", "sent"),
    ]


def test_a_deposit_voided_before_its_receipt_went_out_reaches_nothing(books, cases, connected):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    made = deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    settlement.deposit_void(firm=cases.firm, actor=cases.admin, deposit_id=made.pk)
    outbox_deliver(firm_id=cases.firm.pk)
    assert not TrustReceipt.objects.exists()
    assert list(OutboxItem.objects.order_by("pk").values_list("kind", "state", "result")) == [
        ("deposit_receipt", "cancelled", None),
        ("deposit_void", "sent", {"nothing_to_reverse": True}),
    ]


def test_deposits_wait_while_deactivated_and_go_once_on_reactivation(books, cases, connected):
    conn_services.connection_deactivate(firm=cases.firm, actor=cases.admin)
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 400_000)
    outbox_deliver(firm_id=cases.firm.pk)
    assert not TrustReceipt.objects.exists()
    assert pop_up_1(cases, books_url=books.url).state == RunState.DONE
    outbox_deliver(firm_id=cases.firm.pk)
    assert TrustReceipt.objects.get().amount_cents == 400_000


def test_a_firm_without_the_integration_deposits_as_before(cases):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 400_000)
    assert not OutboxItem.objects.exists()
    assert not DepositLink.objects.exists()


def test_the_queue_screen_shows_a_deposit_item(books, cases, connected):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 400_000, check="7001")
    page = sign_in(Client(), cases.admin).get(reverse("bridge:queue")).content.decode()
    assert "Record deposit in trust" in page
    assert "Settlement check 7001" in page
    assert "$4,000.00" in page


def _settlement_page(cases) -> str:
    client = sign_in(Client(), cases.admin)
    response = client.get(reverse("cases:case_settlement", args=[cases.case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_case_shows_the_books_trust_balance_beside_its_own(books, cases, connected):
    import re

    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 400_000)
    page = _settlement_page(cases)
    assert "The case has no file in the books yet (nothing sent for it)." in page
    outbox_deliver(firm_id=cases.firm.pk)
    row = re.search(r"<tr data-integration-figure>.*?</tr>", _settlement_page(cases), re.S)
    assert row is not None
    assert "Trust in the books" in row.group(0)
    assert "$4,000.00" in row.group(0)
    assert ": matches." in row.group(0)


def test_a_difference_with_the_books_is_flagged(books, cases, connected, monkeypatch):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 400_000)
    outbox_deliver(firm_id=cases.firm.pk)
    receipt = TrustReceipt.objects.get()
    from casebridge.books.services import checks as books_checks

    books_checks.trust_receipt_void(
        firm=books.firm, actor=books.admin, receipt_id=receipt.pk, reason="Entered in error"
    )
    # the page shows what the worker read after the delivery, with its age, and never
    # asks the books itself
    page = _settlement_page(cases)
    assert ": matches. Read from the books " in page
    _time_passes(monkeypatch)
    page = _settlement_page(cases)  # too old: the page asks the worker for a new read
    assert ": matches. Read from the books 5 minutes ago." in page
    assert Connection.objects.get().trust_refresh_requested_at is not None
    work(cases.firm.pk)
    page = _settlement_page(cases)
    assert (
        "the books hold $4,000.00 less than this case counts in trust ($4,000.00). Read from "
        "the books just now."  # the clock stands still: read at the moment of the page
    ) in page


def _time_passes(monkeypatch) -> None:
    """Longer than a page accepts for a balance read passes since the last read (the
    clock is injected, and stands still from then on)."""
    read = CaseLink.objects.get().books_trust_read_at
    assert read is not None
    later = read + dt.timedelta(seconds=settings.BRIDGE_TRUST_REFRESH_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)


def test_the_books_down_is_a_note_not_a_server_error(books, cases, connected, monkeypatch):
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    deposit(cases.firm, cases.admin, cases.case, accepted, 400_000)
    outbox_deliver(firm_id=cases.firm.pk)
    Connection.objects.update(books_url="http://127.0.0.1:9/books/api/v1")
    _time_passes(monkeypatch)
    assert ": matches. Read from the books 5 minutes ago." in _settlement_page(cases)
    work(cases.firm.pk)  # the worker cannot read them: the page keeps the last, with its age
    assert ": matches. Read from the books 5 minutes ago." in _settlement_page(cases)


def test_a_receipt_voided_in_the_books_voids_the_deposit_here(books, cases, connected):
    from casebridge.books.services import checks as books_checks
    from casebridge.bridge.services.status_sync import check_status_sync
    from casebridge.cases.models import Deposit

    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    made = deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    outbox_deliver(firm_id=cases.firm.pk)
    receipt = TrustReceipt.objects.get()
    books_checks.trust_receipt_void(
        firm=books.firm, actor=books.admin, receipt_id=receipt.pk, reason="Bounced"
    )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.voided, run.problems, run.error) == (1, 0, "")
    made.refresh_from_db()
    assert made.voided_on is not None
    assert made.void_reason == "Trust receipt voided in the books"
    assert DepositLink.objects.get().receipt_state == "voided"
    # nothing is sent back: the books already hold the reversal
    assert list(OutboxItem.objects.values_list("kind", flat=True)) == ["deposit_receipt"]
    assert Deposit.objects.filter(voided_on__isnull=True).count() == 0


def test_a_receipt_voided_in_the_books_under_staged_money_is_a_problem(books, cases, connected):
    from casebridge.books.services import checks as books_checks
    from casebridge.bridge.services.status_sync import check_status_sync
    from tests.cases.helpers import stage

    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    made = deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    stage(cases.firm, cases.admin, cases.case, "fee")
    outbox_deliver(firm_id=cases.firm.pk)
    books_checks.trust_receipt_void(
        firm=books.firm, actor=books.admin, receipt_id=TrustReceipt.objects.get().pk
    )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.voided, run.problems) == (0, 1)
    made.refresh_from_db()
    assert made.voided_on is None
    link = DepositLink.objects.get()
    assert link.receipt_state == "posted"
    assert link.problem.startswith("The books voided this deposit's trust receipt, but it")
    assert "staged against this money" in link.problem
    page = sign_in(Client(), cases.admin).get(
        reverse("cases:case_settlement", args=[cases.case.pk])
    )
    assert (
        "Check 88123: The books voided this deposit&#x27;s trust receipt" in page.content.decode()
    )


def test_a_deposit_voided_on_the_settlement_tab_reverses_its_receipt(books, cases, connected):
    """Issue 10, item 11: the Void deposit pop-up goes through the same service, whose
    socket queues the void for the books; the receipt is reversed once delivered."""
    accepted = offer(cases.firm, cases.admin, cases.case, 1_000_000)
    made = deposit(cases.firm, cases.admin, cases.case, accepted, 1_000_000)
    outbox_deliver(firm_id=cases.firm.pk)
    assert _trust_held(books) == 1_000_000
    client = sign_in(Client(), cases.admin)
    response = client.post(
        reverse("cases:deposit_void", args=[made.pk]),
        {"reason": "recorded for the wrong amount"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content
    void = OutboxItem.objects.get(kind="deposit_void")
    assert void.deposit_id == made.pk
    outbox_deliver(firm_id=cases.firm.pk)
    assert TrustReceipt.objects.get().status == "voided"
    assert _trust_held(books) == 0
    assert list(OutboxItem.objects.order_by("pk").values_list("kind", "state")) == [
        ("deposit_receipt", "sent"),
        ("deposit_void", "sent"),
    ]
