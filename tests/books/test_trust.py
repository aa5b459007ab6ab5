"""Client trust: deposits, disbursements that never take a client below zero, and voids
that put the money back with a reversal on the void date."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.errors import Conflict, TrustOverdraw, ValidationFailed
from casebridge.books.models import (
    BankAccount,
    CheckStatus,
    JournalEntry,
    ReceiptStatus,
    TrustLedger,
    TrustReceipt,
)
from casebridge.books.services import checks, files
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import D, deposit, gl, refused, trust_balance, trust_check


@pytest.fixture
def second_file(firm, admin):
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Tom Baker")
    file, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Baker v. City Bus", client=client, number="2026-B"
    )
    return file


def test_a_deposit_credits_the_clients_trust_ledger(firm, admin, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 25_000_000)

    assert receipt.status == ReceiptStatus.POSTED
    assert trust_balance(client_file, trust) == 25_000_000
    assert gl(firm, "1010") == 25_000_000  # trust bank: debit balance
    assert gl(firm, "2100") == -25_000_000  # client trust liability: credit balance
    assert list(
        receipt.entry.postings.order_by("pk").values_list(
            "account__number", "file__number", "debit_cents", "credit_cents"
        )
    ) == [
        ("1010", client_file.number, 25_000_000, 0),
        ("2100", client_file.number, 0, 25_000_000),
    ]
    assert receipt.entry.source == "trust_receipt"
    event = AuditEvent.objects.get(entity_type="trust_receipt", entity_id=str(receipt.pk))
    assert event.after == {
        "payer": "Acme Insurance",
        "amount_cents": 25_000_000,
        "file": client_file.number,
        "reference": "",
    }


def test_disbursing_one_cent_more_than_the_client_has_is_refused(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000)

    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        trust_check(firm, admin, trust, client_file, 100_001)

    assert info.value.details == {
        "available_cents": 100_000,
        "requested_cents": 100_001,
        "file_id": client_file.pk,
    }
    assert info.value.message == (
        f"file {client_file.number} has $1,000.00 available in trust; $1,000.01 was requested"
    )
    assert info.value.http_status == 409
    assert trust_balance(client_file) == 100_000


def test_disbursing_exactly_the_balance_leaves_zero(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000)
    check = trust_check(firm, admin, trust, client_file, 100_000)
    assert check.status == CheckStatus.QUEUED
    assert trust_balance(client_file) == 0
    assert (gl(firm, "1010"), gl(firm, "2100")) == (0, 0)


def test_a_file_with_no_trust_money_cannot_pay_a_cent(firm, admin, trust, client_file):
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        trust_check(firm, admin, trust, client_file, 1)
    assert info.value.details["available_cents"] == 0
    assert info.value.message.startswith(f"file {client_file.number} has $0.00 available")


def test_a_queued_check_already_holds_the_clients_money(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 10_000)
    trust_check(firm, admin, trust, client_file, 7_000)  # queued, not printed
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        trust_check(firm, admin, trust, client_file, 4_000)
    assert info.value.details["available_cents"] == 3_000


def test_two_files_balances_are_independent(firm, admin, trust, client_file, second_file):
    deposit(firm, admin, trust, client_file, 100_000)
    deposit(firm, admin, trust, second_file, 5_000)
    # the trust bank holds 1,050.00 but the second client only 50.00 of it
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        trust_check(firm, admin, trust, second_file, 6_000)
    assert info.value.details == {
        "available_cents": 5_000,
        "requested_cents": 6_000,
        "file_id": second_file.pk,
    }
    trust_check(firm, admin, trust, second_file, 5_000)
    assert trust_balance(second_file) == 0
    assert trust_balance(client_file) == 100_000
    assert gl(firm, "1010") == 100_000


def test_voiding_a_check_puts_the_money_back_on_the_void_date(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000)
    check = trust_check(firm, admin, trust, client_file, 20_000)
    checks.check_print(firm=firm, actor=admin, check_id=check.pk, printed_on=D)
    assert trust_balance(client_file) == 30_000
    void_on = D + dt.timedelta(days=9)

    voided = checks.check_void(
        firm=firm, actor=admin, check_id=check.pk, void_date=void_on, reason="lost in the mail"
    )

    assert voided.status == CheckStatus.VOIDED
    assert voided.voided_on == void_on
    assert voided.void_reason == "lost in the mail"
    assert voided.void_entry.date == void_on
    assert voided.void_entry.reverses_id == check.entry_id
    assert voided.void_entry.memo == "Void of check 1001 to Maria Lopez: lost in the mail"
    assert trust_balance(client_file) == 50_000
    assert (gl(firm, "1010"), gl(firm, "2100")) == (50_000, -50_000)
    event = AuditEvent.objects.get(entity_type="check", entity_id=str(check.pk), action="void")
    assert event.before == {"status": "printed"}
    assert event.after == {
        "status": "voided",
        "void_date": void_on.isoformat(),
        "reason": "lost in the mail",
    }


def test_a_check_is_voided_once(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000)
    check = trust_check(firm, admin, trust, client_file, 20_000)
    checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=D)
    with refused(Conflict, code="conflict") as info:
        checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=D)
    assert info.value.message == f"check {check.pk} is already void"
    assert trust_balance(client_file) == 50_000


def test_a_void_cannot_be_dated_before_the_check(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000)
    check = trust_check(firm, admin, trust, client_file, 20_000)
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_void(
            firm=firm, actor=admin, check_id=check.pk, void_date=D - dt.timedelta(days=1)
        )
    assert info.value.message == "the void date cannot be before the check's date"
    assert info.value.field == "void_date"


def test_voiding_a_receipt_reverses_the_deposit(firm, admin, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 75_000)
    void_on = D + dt.timedelta(days=3)

    voided = checks.trust_receipt_void(
        firm=firm, actor=admin, receipt_id=receipt.pk, void_date=void_on, reason="bounced"
    )

    assert voided.status == ReceiptStatus.VOIDED
    assert voided.voided_on == void_on
    assert voided.void_entry.date == void_on
    assert voided.void_entry.reverses_id == receipt.entry_id
    assert trust_balance(client_file) == 0
    assert (gl(firm, "1010"), gl(firm, "2100")) == (0, 0)
    with refused(Conflict, code="conflict") as info:
        checks.trust_receipt_void(firm=firm, actor=admin, receipt_id=receipt.pk, void_date=void_on)
    assert info.value.message == f"trust receipt {receipt.pk} is already void"


def test_a_receipt_already_paid_out_cannot_be_voided(firm, admin, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 75_000)
    trust_check(firm, admin, trust, client_file, 70_000)
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        checks.trust_receipt_void(firm=firm, actor=admin, receipt_id=receipt.pk, void_date=D)
    assert info.value.details["available_cents"] == 5_000
    assert info.value.details["requested_cents"] == 75_000
    assert TrustReceipt.objects.get(pk=receipt.pk).status == ReceiptStatus.POSTED


def test_a_receipt_void_cannot_be_dated_before_the_deposit(firm, admin, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 75_000)
    with refused(ValidationFailed, code="validation_error") as info:
        checks.trust_receipt_void(
            firm=firm, actor=admin, receipt_id=receipt.pk, void_date=D - dt.timedelta(days=1)
        )
    assert info.value.message == "the void date cannot be before the deposit date"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_cents": 0}, "amount must be greater than zero"),
        ({"amount_cents": -500}, "amount must be greater than zero"),
        ({"payer": "   "}, "payer is required"),
        ({"file_id": 0}, "file not found in this firm"),
    ],
)
def test_a_deposit_needs_a_payer_a_positive_amount_and_a_file(
    firm, admin, trust, client_file, changes, message
):
    args = {
        "firm": firm,
        "actor": admin,
        "bank_account_id": trust.pk,
        "file_id": client_file.pk,
        "payer": "Acme Insurance",
        "amount_cents": 1_000,
        "received_on": D,
    } | changes
    with refused(ValidationFailed, code="validation_error") as info:
        checks.trust_receipt_record(**args)
    assert info.value.message == message


def test_a_deposit_into_the_operating_account_is_not_a_trust_receipt(
    firm, admin, operating, client_file
):
    with refused(ValidationFailed, code="validation_error") as info:
        checks.trust_receipt_record(
            firm=firm,
            actor=admin,
            bank_account_id=operating.pk,
            file_id=client_file.pk,
            payer="Acme",
            amount_cents=1_000,
            received_on=D,
        )
    assert info.value.message == "Operating is not a client trust account"


def test_another_firms_trust_account_and_files_are_out_of_reach(
    firm, other_firm, admin, trust, client_file
):
    theirs = BankAccount.objects.get(firm=other_firm, kind="trust")
    with refused(ValidationFailed, code="validation_error", match="bank account not found"):
        deposit(firm, admin, theirs, client_file, 1_000)
    with refused(ValidationFailed, code="validation_error", match="file not found in this firm"):
        deposit(other_firm, None, theirs, client_file, 1_000)
    receipt = deposit(firm, admin, trust, client_file, 1_000)
    with refused(ValidationFailed, code="validation_error", match="trust receipt not found"):
        checks.trust_receipt_void(firm=other_firm, actor=None, receipt_id=receipt.pk)


def test_the_trust_ledger_is_created_once_per_file_and_bank(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 1_000)
    deposit(firm, admin, trust, client_file, 2_000)
    trust_check(firm, admin, trust, client_file, 500)
    ledger = TrustLedger.objects.get(file=client_file)
    assert ledger.bank_account == trust
    assert ledger.balance_cents == 2_500
    assert ledger.postings.count() == 3
    assert JournalEntry.objects.filter(firm=firm).count() == 3
