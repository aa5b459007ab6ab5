"""Issue 5: the worked settlement of domain.md carried to the books through the bridge.

Deposit 250,000.00; fee 83,325.00 invoiced and moved to operating; 8,500.00 of advanced
costs reimbursed; 45,000.00 of liens paid by trust checks; the client's check 113,175.00.
The file's trust ends at exactly 0.00 in the books and on the cases side, every journal
entry balances, and the statement shows the check numbers. Once with the invoice released
automatically, once reviewed and released by the accountant in the books.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db.models import Sum

from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    Check,
    CheckStatus,
    GLAccount,
    Invoice,
    InvoiceLine,
    JournalEntry,
    Posting,
    TrustLedger,
)
from casebridge.books.selectors.reports import trial_balance
from casebridge.books.services import checks as books_checks
from casebridge.books.services import invoices as books_invoices
from casebridge.bridge.errors import Conflict, NotReady, ValidationFailed
from casebridge.bridge.models import (
    FeeInvoice,
    InvoiceRelease,
    OutboxItem,
    OutboxState,
    TrustItemLink,
)
from casebridge.bridge.services import outbox
from casebridge.bridge.services import settlement as bridge_settlement
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.bridge.services.status_sync import check_status_sync
from casebridge.cases.models import Case, TrustItem, TrustItemKind, TrustItemStatus
from casebridge.cases.selectors.statement import settlement_statement
from casebridge.cases.services import settlement
from tests.cases.helpers import deposit, lien, offer, stage

from .conftest import activate, add_cost, books_read_again, work


@dataclass
class Settled:
    case: Case
    trust_checks: list[Check]


def _books_trust(books) -> int:
    return int(
        TrustLedger.objects.filter(file__firm=books.firm).aggregate(s=Sum("balance_cents"))["s"]
        or 0
    )


def _role_balance(books, role: str) -> int:
    return GLAccount.objects.get(firm=books.firm, role=role).balance_cents


def _every_entry_balances(books) -> None:
    for entry in JournalEntry.objects.filter(firm=books.firm):
        sums = Posting.objects.filter(entry=entry).aggregate(
            d=Sum("debit_cents"), c=Sum("credit_cents")
        )
        assert sums["d"] == sums["c"], f"entry {entry.pk} does not balance"


def _settle_to_disbursement(books, cases) -> Settled:
    """Costs sent and advanced, the settlement deposited, liens accepted, everything staged
    and pushed to disbursement; delivered to the books."""
    firm, admin, case = cases.firm, cases.admin, cases.case
    costs = [add_cost(cases, 500_000, code="E112"), add_cost(cases, 350_000, payee="Dr. Wu")]
    outbox.costs_send(firm=firm, actor=admin, cost_ids=[c.pk for c in costs])
    accepted = offer(firm, admin, case, 25_000_000)
    deposit(firm, admin, case, accepted, 25_000_000, check="88123")
    for holder, cents in [("Valley Medical", 3_000_000), ("Blue Shield", 1_500_000)]:
        stage(
            firm,
            admin,
            case,
            "lien",
            of=lien(firm, admin, case, cents + 100_000, final=cents, holder=holder),
        )
    stage(firm, admin, case, "fee")
    stage(firm, admin, case, "cost_reimbursement")
    client_check = settlement.push_to_client_trust(
        firm=firm, actor=admin, case_id=case.pk, payee_name="Maria Lopez"
    )
    assert client_check is not None
    assert client_check.amount_cents == 11_317_500
    assert settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk) == 5
    # the liens and the client's check are queued as trust check requests with the push
    assert sorted(
        OutboxItem.objects.filter(kind="trust_check").values_list(
            "payload__payee", "payload__amount_cents"
        )
    ) == [("Blue Shield", 1_500_000), ("Maria Lopez", 11_317_500), ("Valley Medical", 3_000_000)]
    report = outbox_deliver(firm_id=firm.pk)
    assert (report.sent, report.failed) == (6, 0)  # 2 costs, 1 receipt, 3 trust checks
    trust_checks = list(
        Check.objects.filter(firm=books.firm, bank_account=books.trust).order_by("pk")
    )
    assert [(c.payee, c.amount_cents, c.status) for c in trust_checks] == [
        ("Valley Medical", 3_000_000, CheckStatus.QUEUED),
        ("Blue Shield", 1_500_000, CheckStatus.QUEUED),
        ("Maria Lopez", 11_317_500, CheckStatus.QUEUED),
    ]
    # a queued trust check already holds the client's money in the books
    assert _books_trust(books) == 25_000_000 - 4_500_000 - 11_317_500
    return Settled(case=case, trust_checks=trust_checks)


def _print_and_sync(books, cases, settled: Settled) -> None:
    for number, check in enumerate(settled.trust_checks, start=5001):
        books_checks.check_print(
            firm=books.firm, actor=books.admin, check_id=check.pk, check_number=number
        )
    run = check_status_sync(firm=cases.firm, actor=cases.admin)
    assert run.error == ""
    assert run.disbursed == 3


def _assert_fully_disbursed(books, cases, settled: Settled, invoice_number: int) -> None:
    assert _books_trust(books) == 0
    _every_entry_balances(books)
    assert _role_balance(books, AccountRole.FEE_INCOME) == -8_332_500  # credit-normal
    assert _role_balance(books, AccountRole.ADVANCED_COSTS) == 0  # advanced, then repaid
    # the trial balance an accountant signs: the costs advanced from operating came back
    # with the fee, so operating holds the fee; trust, advances and every other income are 0
    tb = trial_balance(firm=books.firm)
    assert [(r.number, r.debit_cents, r.credit_cents) for r in tb.rows] == [
        ("1000", 8_332_500, 0),
        ("4000", 0, 8_332_500),
    ]
    items = {
        i.kind if i.kind != TrustItemKind.LIEN else i.payee_name: (i.status, i.check_number)
        for i in TrustItem.objects.filter(case=settled.case)
    }
    assert items == {
        "Valley Medical": (TrustItemStatus.DISBURSED, "5001"),
        "Blue Shield": (TrustItemStatus.DISBURSED, "5002"),
        TrustItemKind.CLIENT: (TrustItemStatus.DISBURSED, "5003"),
        TrustItemKind.FEE: (TrustItemStatus.DISBURSED, ""),
        TrustItemKind.COST_REIMBURSEMENT: (TrustItemStatus.DISBURSED, ""),
    }
    assert set(
        TrustItem.objects.filter(
            case=settled.case, kind__in=("fee", "cost_reimbursement")
        ).values_list("invoice_reference", flat=True)
    ) == {f"Invoice {invoice_number}"}
    statement = settlement_statement(firm=cases.firm, case_id=settled.case.pk)
    payee = dict(TrustItem.objects.filter(case=settled.case).values_list("kind", "payee_name"))
    assert sorted(
        (p.payee, p.amount_cents, p.check_number or p.invoice_reference)
        for p in statement.trust_payments
    ) == sorted(
        [
            ("Valley Medical", 3_000_000, "5001"),
            ("Blue Shield", 1_500_000, "5002"),
            (payee["fee"], 8_332_500, f"Invoice {invoice_number}"),
            (payee["cost_reimbursement"], 850_000, f"Invoice {invoice_number}"),
        ]
    )
    assert statement.client_check is not None
    assert (statement.client_check.payee, statement.client_check.check_number) == (
        "Maria Lopez",
        "5003",
    )


def test_worked_settlement_with_the_invoice_released_automatically(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)

    fee_invoice = bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    assert fee_invoice.total_cents == 8_332_500 + 850_000
    report = outbox_deliver(firm_id=cases.firm.pk)
    assert (report.sent, report.failed) == (1, 0)

    invoice = Invoice.objects.get(firm=books.firm)
    assert (invoice.stage, invoice.total_cents, invoice.pay_from_trust) == (
        "final",
        9_182_500,
        True,
    )
    lines = list(InvoiceLine.objects.filter(invoice=invoice).order_by("pk"))
    fee_item = TrustItem.objects.get(case=settled.case, kind="fee")
    assert [(ln.kind, ln.amount_cents, ln.timekeeper_id, ln.external_ref) for ln in lines] == [
        ("fee", 8_332_500, books.attorney.pk, f"cases-trust-item-{fee_item.pk}"),
        ("cost", 500_000, None, lines[1].external_ref),
        ("cost", 350_000, None, lines[2].external_ref),
    ]
    assert {ln.external_ref for ln in lines[1:]} == {
        f"cases-cost-{c}" for c in settled.case.costs.values_list("pk", flat=True)
    }
    # each repayment credits the account its advance debited: UTBMS E112, Advanced client costs
    assert {ln.activity_code.code for ln in lines[1:]} == {"E112"}
    fee_invoice.refresh_from_db()
    assert (fee_invoice.stage, fee_invoice.books_invoice_number) == ("final", invoice.number)
    # the fee and the costs left trust at once
    assert _books_trust(books) == 11_317_500 + 4_500_000 - 11_317_500 - 4_500_000
    assert set(
        TrustItem.objects.filter(
            case=settled.case, kind__in=("fee", "cost_reimbursement")
        ).values_list("status", flat=True)
    ) == {TrustItemStatus.DISBURSED}

    _print_and_sync(books, cases, settled)
    _assert_fully_disbursed(books, cases, settled, invoice.number)
    # the integration's own items all went, exactly once
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxState.SENT}
    assert Check.objects.filter(firm=books.firm).count() == 5
    assert Invoice.objects.filter(firm=books.firm).count() == 1


def test_worked_settlement_with_the_invoice_reviewed_in_the_books(books, cases):
    activate(books, cases, release=InvoiceRelease.REVIEW)
    settled = _settle_to_disbursement(books, cases)
    bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    outbox_deliver(firm_id=cases.firm.pk)
    invoice = Invoice.objects.get(firm=books.firm)
    assert invoice.stage == "review"
    fee_invoice = FeeInvoice.objects.get()
    assert fee_invoice.stage == "review"
    # nothing moves until the accountant releases it
    assert _books_trust(books) == 8_332_500 + 850_000
    assert set(
        TrustItem.objects.filter(
            case=settled.case, kind__in=("fee", "cost_reimbursement")
        ).values_list("status", flat=True)
    ) == {TrustItemStatus.TO_BE_DISBURSED}

    books_invoices.invoice_advance(
        firm=books.firm, actor=books.admin, invoice_id=invoice.pk, expected_stage="review"
    )
    check_status_sync(firm=cases.firm, actor=cases.admin)
    fee_invoice.refresh_from_db()
    assert fee_invoice.stage == "release"
    books_invoices.invoice_advance(
        firm=books.firm, actor=books.admin, invoice_id=invoice.pk, expected_stage="release"
    )
    _print_and_sync(books, cases, settled)
    fee_invoice.refresh_from_db()
    assert fee_invoice.stage == "final"
    _assert_fully_disbursed(books, cases, settled, invoice.number)


def test_a_second_fee_invoice_is_refused_while_the_first_stands(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    with pytest.raises(Conflict, match="already has a fee invoice"):
        bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
        )
    assert FeeInvoice.objects.count() == 1


def test_a_fee_invoice_is_refused_when_the_attorney_does_not_record_time(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    books.attorney.records_time = False
    books.attorney.save(update_fields=["records_time"])
    books_read_again(cases)  # as the worker's next refresh reads it
    with pytest.raises(NotReady, match="Records Time"):
        bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
        )
    assert not FeeInvoice.objects.exists()
    assert not OutboxItem.objects.filter(kind="fee_invoice").exists()


def test_a_fee_invoice_is_refused_when_the_attorney_has_no_books_user(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    cases.attorney.email = "sam@elsewhere.test"
    cases.attorney.save(update_fields=["email"])
    with pytest.raises(NotReady, match=r"(?i)no books user"):
        bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
        )
    assert not FeeInvoice.objects.exists()


def test_a_fee_invoice_is_refused_when_review_needs_the_release_stage(books, cases):
    from casebridge.books.services import setup as books_setup

    activate(books, cases, release=InvoiceRelease.REVIEW)
    settled = _settle_to_disbursement(books, cases)
    books_setup.firm_features_update(
        firm=books.firm, actor=books.admin, release_invoice_stage_enabled=False
    )
    books_read_again(cases)
    with pytest.raises(NotReady, match="Release invoice stage"):
        bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
        )
    assert not FeeInvoice.objects.exists()


def test_nothing_to_invoice_before_push_to_disbursement(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    with pytest.raises(ValidationFailed, match="nothing on this case is waiting"):
        bridge_settlement.fee_invoice_create(
            firm=cases.firm, actor=cases.admin, case_id=cases.case.pk
        )


def test_an_overdrawing_trust_check_is_refused_and_holds_back_the_case(books, cases):
    """The receipt never reached the books (the deposit was recorded before activation), so
    the file holds nothing: the first trust check is refused with the books' reason, and the
    case's later payments wait behind it instead of going past."""
    firm, admin, case = cases.firm, cases.admin, cases.case
    accepted = offer(firm, admin, case, 1_000_000)
    deposit(firm, admin, case, accepted, 1_000_000)  # before activation: never sent
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    stage(firm, admin, case, "lien", of=lien(firm, admin, case, 200_000, final=200_000))
    stage(firm, admin, case, "fee")
    settlement.push_to_client_trust(firm=firm, actor=admin, case_id=case.pk)
    settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk)
    report = outbox_deliver(firm_id=firm.pk)
    assert report.failed == 1
    failed = OutboxItem.objects.get(state=OutboxState.FAILED)
    assert failed.payload["payee"] == "Valley Medical"
    assert failed.error_code == "insufficient_trust_funds"
    assert "$0.00" in failed.error_message or "available" in failed.error_message
    assert OutboxItem.objects.get(kind="trust_check", payload__payee="Maria Lopez").state == (
        OutboxState.QUEUED
    )
    assert not Check.objects.filter(firm=books.firm).exists()
    assert TrustItemLink.objects.filter(books_check_id__isnull=False).count() == 0


def test_fee_invoices_for_many_cases_at_once_refuse_only_the_case_that_cannot(books, cases):
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    from casebridge.cases.services import cases as case_services

    bare = case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Nothing settled",
        client_id=cases.case.client_id,
        responsible_attorney_id=cases.attorney.pk,
        status="open",
    )
    batch = bridge_settlement.fee_invoices_create(
        firm=cases.firm, actor=cases.admin, case_ids=[settled.case.pk, bare.pk, settled.case.pk]
    )
    assert [i.case_id for i in batch.created] == [settled.case.pk]
    assert list(batch.refused) == [bare.pk]
    assert batch.refused[bare.pk].startswith("nothing on this case is waiting to be invoiced")
    outbox_deliver(firm_id=cases.firm.pk)
    assert Invoice.objects.filter(firm=books.firm, stage="final").count() == 1


def test_a_fee_invoice_the_books_refused_can_be_withdrawn_and_created_again(books, cases):
    from casebridge.bridge.services import outbox

    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    books.attorney.is_active = False
    books.attorney.save(update_fields=["is_active"])
    outbox_deliver(firm_id=cases.firm.pk)
    failed = OutboxItem.objects.get(kind="fee_invoice")
    assert (failed.state, failed.error_code) == (OutboxState.FAILED, "attorney_not_in_books")
    with pytest.raises(Conflict, match="refused by the books: The books have no active user"):
        bridge_settlement.fee_invoice_plan(
            firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
        )
    outbox.item_withdraw(firm=cases.firm, actor=cases.admin, item_id=failed.pk)
    work(cases.firm.pk)  # the worker asks the books whether they hold it, then withdraws
    assert FeeInvoice.objects.get().stage == "voided"
    from casebridge.bridge.services.reconciliation import reconciliation_run

    withdrawn = reconciliation_run(firm=cases.firm, actor=cases.admin)
    assert (withdrawn.error, withdrawn.differences) == ("", 0)
    books.attorney.is_active = True
    books.attorney.save(update_fields=["is_active"])
    second = bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    outbox_deliver(firm_id=cases.firm.pk)
    second.refresh_from_db()
    assert second.stage == "final"
    assert Invoice.objects.filter(firm=books.firm).count() == 1


def test_another_attorneys_records_time_does_not_hold_back_this_fee_invoice(books, cases):
    from casebridge.books.services import auth as books_auth
    from casebridge.cases.services import cases as case_services
    from casebridge.cases.services import firms

    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    bob = firms.user_create(
        firm=cases.firm,
        actor=None,
        email="bob@lopez.test",
        password="correct horse battery",
        first_name="Bob",
        last_name="Lee",
        is_attorney=True,
    )
    books_auth.user_create(
        firm=books.firm,
        email="bob@lopez.test",
        password="correct horse battery",
        first_name="Bob",
        last_name="Lee",
        records_time=False,
    )
    case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Lee matter",
        client_id=cases.case.client_id,
        responsible_attorney_id=bob.pk,
        status="open",
    )
    invoice = bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=settled.case.pk
    )
    assert invoice.total_cents == 9_182_500


def test_a_fee_invoice_waits_until_the_books_hold_every_advance_it_repays(books, cases):
    """A cost whose send failed is not in the books: repaying it would take the client's
    money for an advance that does not exist. Nothing is written until it is there."""
    firm, admin, case = cases.firm, cases.admin, cases.case
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    good, bad = add_cost(cases, 100_000), add_cost(cases, 50_000, payee="Dr. Wu")
    outbox.costs_send(firm=firm, actor=admin, cost_ids=[good.pk])
    outbox_deliver(firm_id=firm.pk)
    outbox.costs_send(firm=firm, actor=admin, cost_ids=[bad.pk])
    OutboxItem.objects.filter(cost=bad).update(state=OutboxState.FAILED, error_message="no")
    accepted = offer(firm, admin, case, 1_000_000)
    deposit(firm, admin, case, accepted, 1_000_000)
    stage(firm, admin, case, "fee")
    stage(firm, admin, case, "cost_reimbursement")
    settlement.push_to_client_trust(firm=firm, actor=admin, case_id=case.pk)
    settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk)
    with pytest.raises(
        ValidationFailed, match=r"1 of this case's costs \(\$500.00\) have no check"
    ):
        bridge_settlement.fee_invoice_create(firm=firm, actor=admin, case_id=case.pk)
    assert not FeeInvoice.objects.exists()
    # once the send goes through, the invoice repays both, each with its check's code
    outbox.items_retry(firm=firm, actor=admin)
    outbox_deliver(firm_id=firm.pk)
    invoice = bridge_settlement.fee_invoice_create(firm=firm, actor=admin, case_id=case.pk)
    assert [ln["amount_cents"] for ln in invoice.lines if ln["kind"] == "cost"] == [
        100_000,
        50_000,
    ]


def test_a_cost_paid_outside_the_books_is_repaid_with_the_code_its_advance_posts_to(books, cases):
    from casebridge.cases.services import costs as cost_services

    firm, admin, case = cases.firm, cases.admin, cases.case
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    card = add_cost(cases, 4_500, payee="Court Clerk")
    cost_services.cost_pay(
        firm=firm,
        actor=admin,
        cost_id=card.pk,
        method="card",
        reference="VISA 4242",
        paid_date=card.cost_date,
    )
    accepted = offer(firm, admin, case, 1_000_000)
    deposit(firm, admin, case, accepted, 1_000_000)
    stage(firm, admin, case, "fee")
    stage(firm, admin, case, "cost_reimbursement")
    settlement.push_to_client_trust(firm=firm, actor=admin, case_id=case.pk)
    settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk)
    invoice = bridge_settlement.fee_invoice_create(firm=firm, actor=admin, case_id=case.pk)
    cost_line = next(ln for ln in invoice.lines if ln["kind"] == "cost")
    # cost code E112: the books' E112 (Advanced client costs), never COPP's income
    assert (cost_line["amount_cents"], cost_line["activity_code_id"]) == (
        4_500,
        ActivityCode.objects.get(firm=books.firm, code="E112").pk,
    )
    assert cost_line["description"].endswith("(paid outside the books)")


def test_a_cost_cannot_be_voided_once_its_reimbursement_is_pushed(books, cases):
    from casebridge.cases.errors import Locked
    from casebridge.cases.models import Cost
    from casebridge.cases.services import costs as cost_services

    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    first = Cost.objects.filter(case=settled.case).order_by("pk").first()
    assert first is not None
    with pytest.raises(Locked, match="cost reimbursement has been pushed to disbursement"):
        cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=first.pk)
    first.refresh_from_db()
    assert first.status == "pending"
    assert not OutboxItem.objects.filter(kind="cost_void").exists()


def test_a_stale_sync_never_turns_a_reissued_check_back_into_a_void_one(books, cases, monkeypatch):
    """Sync A asks the books; meanwhile sync B sees the void, the user sends the check again
    and it is delivered. A's answer (void) must not land on the new check."""
    from casebridge.bridge.client import HttpBooksClient

    firm, admin = cases.firm, cases.admin
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    lien_check = settled.trust_checks[0]
    books_checks.check_void(firm=books.firm, actor=books.admin, check_id=lien_check.pk)
    link = TrustItemLink.objects.get(books_check_id=lien_check.pk)
    original = HttpBooksClient.checks_get
    inside = []

    def slow_checks_get(self, ids):
        answer = original(self, ids)
        if lien_check.pk in ids and not inside:
            inside.append(True)
            check_status_sync(firm=firm, actor=admin)
            bridge_settlement.trust_check_send_again(
                firm=firm, actor=admin, trust_item_id=link.trust_item_id
            )
            outbox_deliver(firm_id=firm.pk)
        return answer

    monkeypatch.setattr(HttpBooksClient, "checks_get", slow_checks_get)
    check_status_sync(firm=firm, actor=admin)
    link.refresh_from_db()
    assert (link.generation, link.check_state) == (2, "queued")
    with pytest.raises(Conflict, match="only a payment whose check was voided"):
        bridge_settlement.trust_check_send_again(
            firm=firm, actor=admin, trust_item_id=link.trust_item_id
        )
    live = Check.objects.filter(firm=books.firm, payee="Valley Medical").exclude(
        status=CheckStatus.VOIDED
    )
    assert live.count() == 1


def test_sending_a_voided_client_check_again_checks_the_medicare_hold_again(books, cases):
    """The client's check went out, the books voided it, and meanwhile the firm learnt the
    client is a Medicare beneficiary with no final demand recorded: a new check is refused
    with the hold's reason, as Push to Disbursement would refuse it, and nothing is written;
    an administrator's override lets it go (ADR 0039)."""
    from django.db.models import Max

    from casebridge.cases.errors import MedicareHold
    from casebridge.cases.services import medicare
    from casebridge.core.models import AuditEvent

    firm, admin = cases.firm, cases.admin
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    settled = _settle_to_disbursement(books, cases)
    client_check = settled.trust_checks[2]
    books_checks.check_void(firm=books.firm, actor=books.admin, check_id=client_check.pk)
    check_status_sync(firm=firm, actor=admin)
    link = TrustItemLink.objects.get(books_check_id=client_check.pk)
    assert link.check_state == "void"
    medicare.client_medicare_set(firm=firm, actor=admin, case_id=cases.case.pk, is_beneficiary=True)
    before = (
        OutboxItem.objects.count(),
        AuditEvent.objects.aggregate(m=Max("pk"))["m"],
        list(TrustItemLink.objects.order_by("pk").values_list()),
    )
    with pytest.raises(MedicareHold) as held:
        bridge_settlement.trust_check_send_again(
            firm=firm, actor=admin, trust_item_id=link.trust_item_id
        )
    assert str(held.value) == (
        "Medicare hold: Maria Lopez is a Medicare beneficiary and no final demand is "
        "recorded, so the client's check waits; record Medicare's final demand (or the "
        "recovery portal's final conditional payment amount, or a fixed-percentage "
        "election), or a firm administrator can override the hold with a reason"
    )
    assert (
        OutboxItem.objects.count(),
        AuditEvent.objects.aggregate(m=Max("pk"))["m"],
        list(TrustItemLink.objects.order_by("pk").values_list()),
    ) == before
    medicare.medicare_hold_override(
        firm=firm, actor=admin, case_id=cases.case.pk, reason="Medicare confirmed no claim"
    )
    again = bridge_settlement.trust_check_send_again(
        firm=firm, actor=admin, trust_item_id=link.trust_item_id
    )
    assert (again.generation, again.check_state) == (2, "")
