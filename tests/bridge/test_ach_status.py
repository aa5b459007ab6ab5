"""How the bridge sees a payment the books pay by ACH (ADR 0055): not as a check queued for
printing until it is returned, but as the books' API now says it stands (queued, in a
file, sent, cleared, returned), kept on the link and shown on the cost or the payment.
Sent to the bank, it is paid on the cases side (the cost Paid by ACH, the trust payment
Disbursed) as a printed check is; returned, it is void there as a voided check is.

The books are asked over real HTTP; the ACH payment is made in the books as they make one
when the bridge asks for it (tests/bridge/test_ach_request.py): an AchPayment beside the
check the bridge's request became."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.urls import reverse

from casebridge.books.models import (
    AchPayment,
    BankAccount,
    Check,
    Contact,
    Posting,
)
from casebridge.books.services import ach, matching
from casebridge.bridge.client import _check
from casebridge.bridge.integration import BooksIntegration
from casebridge.bridge.models import CheckState, CostLink, TrustItemLink
from casebridge.bridge.selectors.settlement import payment_states
from casebridge.bridge.services import outbox, reconciliation
from casebridge.bridge.services.delivery import check_state_of, outbox_deliver
from casebridge.bridge.services.status_sync import check_status_sync
from casebridge.cases.models import Cost, CostStatus, TrustItem, TrustItemStatus
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.bank.statement_files import Row, import_statement

from .conftest import add_cost
from .test_settlement_to_books import _settle_to_disbursement
from .web.conftest import sign_in

SETTINGS = {
    "immediate_destination": "021000021",
    "immediate_destination_name": "JPMorgan Chase",
    "immediate_origin": "1234567890",
    "immediate_origin_name": "Lopez Injury",
    "company_name": "Lopez Injury",
    "company_id": "1234567890",
    "balanced": False,
}


def _paid_by_ach(books, check: Check, payee: str) -> AchPayment:
    contact, _ = Contact.objects.get_or_create(firm=books.firm, name=payee)
    account = ach.payee_bank_account_set(
        firm=books.firm,
        actor=books.admin,
        contact_id=contact.pk,
        routing_number="026009593",
        account_number="123456789",
        account_type="checking",
        holder_kind="business",
    )
    return AchPayment.objects.create(firm=books.firm, disbursement=check, payee_account=account)


def _file_sent(books, bank: BankAccount, payment: AchPayment) -> AchPayment:
    ach.ach_settings_set(firm=books.firm, actor=books.admin, bank_account_id=bank.pk, **SETTINGS)
    batch = ach.ach_batch_create(
        firm=books.firm, actor=books.admin, bank_account_id=bank.pk, payment_ids=[payment.pk]
    )
    ach.ach_batch_mark_sent(firm=books.firm, actor=books.admin, batch_id=batch.pk)
    payment.refresh_from_db()
    return payment


def _note(cases, cost: Cost) -> str:
    return BooksIntegration().cost_extras(cases.admin, [cost])[cost.pk].note


def test_a_cost_paid_by_ach_follows_its_payment_from_queued_to_cleared(books, cases, connected):
    cost = add_cost(cases, 12_500)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    check = Check.objects.get(firm=books.firm)
    payment = _paid_by_ach(books, check, "Records Inc")

    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.checked, run.paid, run.voided, run.error) == (1, 0, 0, "")
    assert CostLink.objects.get(cost=cost).check_state == CheckState.ACH_QUEUED
    cost.refresh_from_db()
    assert cost.status == CostStatus.PENDING
    assert _note(cases, cost) == "Paid by ACH in the books: queued for the next ACH file"

    ach.ach_settings_set(
        firm=books.firm, actor=books.admin, bank_account_id=books.operating.pk, **SETTINGS
    )
    batch = ach.ach_batch_create(
        firm=books.firm,
        actor=books.admin,
        bank_account_id=books.operating.pk,
        payment_ids=[payment.pk],
    )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert run.paid == 0
    assert CostLink.objects.get(cost=cost).check_state == CheckState.ACH_IN_FILE
    cost.refresh_from_db()
    assert _note(cases, cost) == "Paid by ACH in the books: in an ACH file for the bank"

    ach.ach_batch_mark_sent(firm=books.firm, actor=books.admin, batch_id=batch.pk)
    payment.refresh_from_db()
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.paid, run.voided) == (1, 0)
    link = CostLink.objects.get(cost=cost)
    assert (link.check_state, link.check_number, link.problem) == (CheckState.ACH_SENT, None, "")
    cost.refresh_from_db()
    assert (cost.status, cost.payment_method, cost.payment_reference, cost.paid_date) == (
        CostStatus.PAID,
        "ach",
        payment.trace_number,
        payment.sent_on,
    )
    assert payment.trace_number == "021000020000001"
    event = AuditEvent.objects.get(entity_type="cost", action="pay", entity_id=str(cost.pk))
    assert event.summary.endswith(f"paid by ACH {payment.trace_number} (sent by the books)")
    assert _note(cases, cost) == "Paid by ACH: sent to the bank"
    # the books' check stays queued (never printed): no difference to reconcile
    clean = reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin)
    assert (clean.error, clean.differences, clean.documents_compared) == ("", 0, 1)

    today = clock.today()
    posting = Posting.objects.get(entry_id=check.entry_id, account_id=books.operating.gl_account_id)
    _, (line,) = import_statement(
        books.firm,
        books.admin,
        books.operating,
        [Row(today, -12_500)],
        start=today.replace(day=1),
        end=today,
        opening=None,
    )
    matching.line_match(
        firm=books.firm, actor=books.admin, line_id=line.pk, posting_ids=[posting.pk]
    )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.paid, run.voided) == (0, 0)
    assert CostLink.objects.get(cost=cost).check_state == CheckState.ACH_CLEARED
    assert _note(cases, cost) == "Paid by ACH: cleared the bank"


def test_a_returned_ach_payment_leaves_the_cost_owed_with_the_banks_reason(books, cases, connected):
    """The bank returned the payment after the cost was Paid: the vendor is unpaid, so the
    cost is owed again (Pending, still in the case's total) with the bank's reason, as a
    returned trust payment is; not Void. The books voided the payment's check."""
    cost = add_cost(cases, 12_500)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    payment = _file_sent(
        books, books.operating, _paid_by_ach(books, Check.objects.get(), "Records Inc")
    )
    check_status_sync(firm=cases.firm, actor=cases.admin)
    cost.refresh_from_db()
    assert (cost.status, cost.payment_method) == (CostStatus.PAID, "ach")

    ach.ach_payment_return(
        firm=books.firm, actor=books.admin, payment_id=payment.pk, reason="R03 no account"
    )
    problem = (
        "ACH payment returned by the bank (ACH return: R03 no account); the vendor is still "
        "owed. Ask the accountant how it will be paid, or void this cost."
    )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.error, run.voided, run.paid) == ("", 1, 0)
    link = CostLink.objects.get(cost=cost)
    assert (link.check_state, link.problem) == (CheckState.VOID, problem)
    assert _note(cases, cost) == problem
    cost.refresh_from_db()
    assert (
        cost.status,
        cost.paid_date,
        cost.payment_method,
        cost.payment_reference,
        cost.voided_on,
        cost.void_reason,
    ) == (CostStatus.PENDING, None, "", "", None, "")
    assert Check.objects.get().status == "voided"
    event = AuditEvent.objects.get(entity_type="cost", action="reopen", entity_id=str(cost.pk))
    assert event.summary.endswith(f" owed again: {problem}")
    assert (event.before["status"], event.after["status"]) == (CostStatus.PAID, CostStatus.PENDING)

    # the next sync leaves it owed: neither voided nor counted again
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.error, run.voided, run.paid) == ("", 0, 0)
    cost.refresh_from_db()
    assert cost.status == CostStatus.PENDING
    assert CostLink.objects.get(cost=cost).problem == problem
    found = reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin).found.get()
    assert (found.cause, found.cases_cents) == (
        f"The books voided check {Check.objects.get().pk} (an ACH payment the bank returned); "
        "the cost is still owed.",
        12_500,
    )


def test_a_trust_payment_paid_by_ach_is_disbursed_when_sent_and_owed_again_when_returned(
    books, cases, connected
):
    settled = _settle_to_disbursement(books, cases)
    to_client = settled.trust_checks[2]
    assert (to_client.payee, to_client.amount_cents) == ("Maria Lopez", 11_317_500)
    payment = _paid_by_ach(books, to_client, "Maria Lopez")
    link = TrustItemLink.objects.get(books_check_id=to_client.pk)
    item = TrustItem.objects.get(pk=link.trust_item_id)

    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert (run.error, run.disbursed) == ("", 0)
    link.refresh_from_db()
    assert link.check_state == CheckState.ACH_QUEUED
    assert payment_states([settled.case.pk])[item.pk].note == (
        "Paid by ACH in the books: queued for the next ACH file"
    )

    payment = _file_sent(books, books.trust, payment)
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert run.disbursed == 1  # the two lien checks are still queued for printing
    link.refresh_from_db()
    item.refresh_from_db()
    assert link.check_state == CheckState.ACH_SENT
    assert (item.status, item.check_number, item.invoice_reference, item.disbursed_on) == (
        TrustItemStatus.DISBURSED,
        "",
        f"ACH {payment.trace_number}",
        payment.sent_on,
    )
    assert payment_states([settled.case.pk])[item.pk].note == "Paid by ACH: sent to the bank"
    clean = reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin)
    assert (clean.error, clean.differences) == ("", 0)
    assert {
        TrustItemLink.objects.get(books_check_id=c.pk).check_state for c in settled.trust_checks[:2]
    } == {CheckState.QUEUED}

    ach.ach_payment_return(firm=books.firm, actor=books.admin, payment_id=payment.pk, reason="R01")
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert run.voided == 1
    link.refresh_from_db()
    item.refresh_from_db()
    assert (link.check_state, link.problem) == (
        CheckState.VOID,
        "ACH payment voided in the books (ACH return: R01); the money is back in trust. "
        "Send it again from Client Trust Management.",
    )
    assert (item.status, item.invoice_reference, item.disbursed_on) == (
        TrustItemStatus.TO_BE_DISBURSED,
        "",
        None,
    )


def _books_trust_row(cases) -> str:
    page = sign_in(Client(), cases.admin).get(
        reverse("cases:case_settlement", args=[cases.case.pk])
    )
    row = re.search(r"<tr data-integration-figure>.*?</tr>", page.content.decode(), re.S)
    assert row is not None
    return row.group(0)


def test_a_trust_payment_queued_or_in_a_file_by_ach_is_no_difference_with_the_books(
    books, cases, connected
):
    """The books hold the client's money out of trust from the request on, paid by ACH or
    not: until the file goes to the bank (and the sync disburses the payment here), the
    reconciliation and the settlement screen count it as requested, not a difference."""
    settled = _settle_to_disbursement(books, cases)
    to_client = settled.trust_checks[2]
    payment = _paid_by_ach(books, to_client, "Maria Lopez")
    link = TrustItemLink.objects.get(books_check_id=to_client.pk)
    # the two liens are queued for printing, the client's payment for the next ACH file
    requested = "($158,175.00 in trust checks requested, not yet printed)"

    check_status_sync(firm=cases.firm, actor=cases.admin)
    link.refresh_from_db()
    assert link.check_state == CheckState.ACH_QUEUED
    run = reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin)
    assert (run.error, run.differences) == ("", 0)
    assert f": matches {requested}." in _books_trust_row(cases)

    ach.ach_settings_set(
        firm=books.firm, actor=books.admin, bank_account_id=books.trust.pk, **SETTINGS
    )
    ach.ach_batch_create(
        firm=books.firm, actor=books.admin, bank_account_id=books.trust.pk, payment_ids=[payment.pk]
    )
    check_status_sync(firm=cases.firm, actor=cases.admin)
    link.refresh_from_db()
    assert (link.check_state, TrustItem.objects.get(pk=link.trust_item_id).status) == (
        CheckState.ACH_IN_FILE,
        TrustItemStatus.TO_BE_DISBURSED,
    )
    run = reconciliation.reconciliation_run(firm=cases.firm, actor=cases.admin)
    assert (run.error, run.differences) == ("", 0)
    assert f": matches {requested}." in _books_trust_row(cases)


def test_older_books_that_do_not_say_the_method_read_as_checks():
    """The books' answer without the fields ADR 0055 added (an older books) is read as
    before: a check; with them, the payment's status and dates."""
    old = {
        "id": 7,
        "external_ref": "cases-cost-1",
        "status": "queued",
        "amount": "125.00",
        "check_number": None,
        "printed_on": None,
        "voided_on": None,
        "void_reason": "",
    }
    read = _check(old)
    assert (read.method, read.ach_status, read.ach_sent_on, read.cleared_on) == (
        "check",
        "",
        None,
        None,
    )
    assert check_state_of(read) == CheckState.QUEUED
    new = _check(
        {
            **old,
            "method": "ach",
            "cleared_on": "2026-12-23",
            "ach": {"status": "sent", "sent_on": "2026-12-22", "trace_number": "021000020000001"},
        }
    )
    assert (new.method, new.ach_status, new.ach_sent_on, new.ach_trace_number) == (
        "ach",
        "sent",
        dt.date(2026, 12, 22),
        "021000020000001",
    )
    assert check_state_of(new) == CheckState.ACH_CLEARED
