"""The ACH review fixes (ADR 0050): the NACHA file kept encrypted and only for accountants
(downloads audited); file ID modifiers and trace numbers shared by the bank accounts that
send to the same bank; a return after the payment cleared; amounts a NACHA file cannot
hold; the return's dates and audit; the payee compared on a repeated request; a payee's
replaced bank details; ACH payments in the 1099 report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from casebridge.books import crypto
from casebridge.books.banking_days import banking_day_on_or_after
from casebridge.books.errors import Conflict, ExternalRefConflict, RoleRequired, ValidationFailed
from casebridge.books.models import (
    AchBatch,
    AchStatus,
    ActivityCode,
    CheckStatus,
    ClearedItem,
    Contact,
    Posting,
    Role,
)
from casebridge.books.selectors import tax1099 as tax_selectors
from casebridge.books.services import ach, auth, checks, matching
from casebridge.books.services import tax1099 as tax_services
from casebridge.books.services.checks import CheckRequest
from casebridge.core.models import AuditEvent
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import D, deposit, trust_balance
from tests.books.test_ach import Refused, pay_by_ach
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(firm):
    user = auth.user_create(firm=firm, email="stu@smith.test", password=PASSWORD, role=Role.STAFF)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


def _batch(firm, admin, bank, payments, today):
    return ach.ach_batch_create(
        firm=firm,
        actor=admin,
        bank_account_id=bank.pk,
        payment_ids=[p.pk for p in payments],
        effective_date=banking_day_on_or_after(today),
    )


# --- 1. the file encrypted at rest, accountants only, downloads audited -------------------


def test_the_file_is_kept_encrypted_and_rotated_with_the_data_key(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    batch = _batch(firm, admin, trust, [payment], today)

    with connection.cursor() as cursor:
        cursor.execute("SELECT file_ciphertext FROM books_achbatch WHERE id = %s", [batch.pk])
        (raw,) = cursor.fetchone()
    assert "00123456789" not in raw
    assert "123456789" not in raw
    assert "00123456789" in ach.ach_batch_text(batch)
    assert ("books", "AchBatch", "file_ciphertext") in crypto.ENCRYPTED_COLUMNS


def test_a_download_is_audited_without_the_content(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    batch = _batch(firm, admin, trust, [payment], today)

    name, text = ach.ach_batch_download(firm=firm, actor=admin, batch_id=batch.pk)
    assert text == ach.ach_batch_text(batch)

    assert name == f"ach-{trust.pk}-{today:%Y%m%d}-A.txt"
    event = AuditEvent.objects.get(entity_type="ach_batch", action="download")
    assert (event.entity_id, event.actor_id) == (str(batch.pk), admin.pk)
    assert event.after == {"file_name": name}
    assert "123456789" not in str(event.summary) + str(event.after)


def test_staff_cannot_make_download_or_send_a_file_and_nothing_is_written(
    firm, admin, staff, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    with Refused(RoleRequired):
        _batch(firm, staff, trust, [payment], today)
    batch = _batch(firm, admin, trust, [payment], today)
    audits = AuditEvent.objects.count()
    with Refused(RoleRequired):
        ach.ach_batch_download(firm=firm, actor=staff, batch_id=batch.pk)
    with Refused(RoleRequired):
        ach.ach_batch_mark_sent(firm=firm, actor=staff, batch_id=batch.pk)
    assert AuditEvent.objects.count() == audits
    assert AchBatch.objects.get(pk=batch.pk).sent_on is None


# --- 2. file ID modifiers and trace numbers across the firm's bank accounts ---------------


def test_two_bank_accounts_sending_to_the_same_bank_share_modifiers_and_traces(
    firm, admin, trust, operating, client_file, maria, maria_bank, ach_ready, today
):
    ach.ach_settings_set(
        firm=firm,
        actor=admin,
        bank_account_id=operating.pk,
        immediate_destination="021000021",
        immediate_destination_name="JPMorgan Chase",
        immediate_origin="1234567890",
        immediate_origin_name="Smith Personal Injury",
        company_name="Smith PI LLP",
        company_id="1234567890",
        balanced=False,
    )
    deposit(firm, admin, trust, client_file, 500_000)
    in_trust = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    fee, _ = ach.ach_payment_request(
        firm=firm,
        actor=admin,
        request=CheckRequest(
            bank_account_id=operating.pk,
            payee=maria.name,
            amount_cents=30_000,
            file_id=client_file.pk,
            activity_code_id=ActivityCode.objects.get(firm=firm, code="E101").pk,
            request_date=D,
        ),
        payee_contact_id=maria.pk,
    )

    first = _batch(firm, admin, trust, [in_trust], today)
    second = _batch(firm, admin, operating, [fee.ach_payment], today)

    assert (first.file_id_modifier, second.file_id_modifier) == ("A", "B")
    assert ach.ach_batch_text(first).splitlines()[0][33] == "A"
    assert ach.ach_batch_text(second).splitlines()[0][33] == "B"
    in_trust.refresh_from_db()
    fee.ach_payment.refresh_from_db()
    assert (in_trust.trace_number, fee.ach_payment.trace_number) == (
        "021000020000001",
        "021000020000002",
    )


# --- 3. a return after the payment cleared the bank -----------------------------------------


def test_a_return_after_the_payment_cleared_reverses_it_as_a_new_open_item(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    batch = _batch(firm, admin, trust, [payment], today)
    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=batch.pk)
    check = payment.disbursement
    debit = Posting.objects.get(entry_id=check.entry_id, account_id=trust.gl_account_id)
    start = today.replace(day=1)
    _, (line,) = import_statement(
        firm, admin, trust, [Row(today, -120_000)], start=start, end=today, opening=None
    )
    matching.line_match(firm=firm, actor=admin, line_id=line.pk, posting_ids=[debit.pk])
    assert ClearedItem.objects.filter(posting=debit).exists()

    ach.ach_payment_return(firm=firm, actor=admin, payment_id=payment.pk, reason="R01")

    payment.refresh_from_db()
    check.refresh_from_db()
    assert (payment.status, check.status) == (AchStatus.RETURNED, CheckStatus.VOIDED)
    assert trust_balance(client_file) == 500_000
    reversal = Posting.objects.get(entry_id=check.void_entry_id, account_id=trust.gl_account_id)
    assert reversal.debit_cents == 120_000
    assert not ClearedItem.objects.filter(posting=reversal).exists()
    assert reversal.pk in {item.posting_id for item in matching.open_items(trust)}


def test_a_cleared_printed_check_still_cannot_be_voided(firm, admin, trust, client_file, today):
    deposit(firm, admin, trust, client_file, 500_000)
    check = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payee="Maria Lopez",
        amount_cents=10_000,
        file_id=client_file.pk,
        request_date=D,
    )
    checks.check_print(firm=firm, actor=admin, check_id=check.pk, printed_on=today)
    debit = Posting.objects.get(entry_id=check.entry_id, account_id=trust.gl_account_id)
    _, (line,) = import_statement(
        firm,
        admin,
        trust,
        [Row(today, -10_000)],
        start=today.replace(day=1),
        end=today,
        opening=None,
    )
    matching.line_match(firm=firm, actor=admin, line_id=line.pk, posting_ids=[debit.pk])
    with pytest.raises(Conflict):
        checks.check_void(firm=firm, actor=admin, check_id=check.pk)


# --- 4. amounts a NACHA file cannot hold ---------------------------------------------------


def test_an_ach_payment_over_ten_digits_of_cents_is_refused_on_amount(
    firm, admin, trust, client_file, maria, maria_bank, today
):
    deposit(firm, admin, trust, client_file, 10_000_000_000)
    with Refused(ValidationFailed) as info:
        pay_by_ach(firm, admin, trust, client_file, maria, 10_000_000_000)
    assert info.value.field == "amount"
    assert info.value.message == (
        "an ACH payment is at most $99,999,999.99 (ten digits in the NACHA entry): pay more "
        "by check or by wire"
    )
    pay_by_ach(firm, admin, trust, client_file, maria, 9_999_999_999)


def test_a_file_total_over_twelve_digits_is_refused_writing_nothing(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 101 * ach.MAX_ENTRY_CENTS)
    made = ach.disbursements_find_or_create(
        firm=firm,
        actor=admin,
        requests=[
            ach.Disbursement(
                CheckRequest(
                    bank_account_id=trust.pk,
                    payee=maria.name,
                    amount_cents=ach.MAX_ENTRY_CENTS,
                    file_id=client_file.pk,
                    request_date=D,
                ),
                method="ach",
                payee_contact_id=maria.pk,
            )
        ]
        * 101,
    )
    with Refused(ValidationFailed) as info:
        _batch(firm, admin, trust, [check.ach_payment for check, _ in made], today)
    assert info.value.field == "payment_ids"
    assert info.value.message.startswith("these payments do not fit one NACHA file: ")


# --- 5 and 6. the return's date and audit ----------------------------------------------------


def test_a_return_is_not_dated_before_the_file_and_its_audit_has_the_real_status(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    _batch(firm, admin, trust, [payment], today)
    with Refused(ValidationFailed) as info:
        ach.ach_payment_return(
            firm=firm,
            actor=admin,
            payment_id=payment.pk,
            returned_on=today - dt.timedelta(days=1),
            reason="R03",
        )
    assert info.value.field == "returned_on"

    ach.ach_payment_return(firm=firm, actor=admin, payment_id=payment.pk, reason="R03")
    event = AuditEvent.objects.get(entity_type="ach_payment", action="return")
    assert event.before == {"status": "batched"}


# --- 7. a repeated request to another payee ---------------------------------------------------


def test_the_same_external_ref_to_another_payee_is_a_conflict(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready
):
    other = Contact.objects.create(firm=firm, name="Dr. Rivera")
    ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=other.pk,
        routing_number="021000021",
        account_number="55555",
        account_type="checking",
        holder_kind="business",
    )
    deposit(firm, admin, trust, client_file, 500_000)
    pay_by_ach(firm, admin, trust, client_file, maria, 120_000, ref="cases-7")
    with Refused(ExternalRefConflict) as info:
        ach.ach_payment_request(
            firm=firm,
            actor=admin,
            request=CheckRequest(
                bank_account_id=trust.pk,
                payee="Maria Lopez",
                amount_cents=120_000,
                file_id=client_file.pk,
                request_date=D,
                external_ref="cases-7",
            ),
            payee_contact_id=other.pk,
        )
    assert info.value.details["differing"] == ["payee_contact_id"]


# --- 8 and 9. a payee's replaced bank details ---------------------------------------------


def test_a_payment_to_replaced_bank_details_is_refused_in_the_file(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="021000021",
        account_number="99887766",
        account_type="checking",
        holder_kind="person",
        prenote=True,
    )
    with Refused(ValidationFailed) as info:
        ach.ach_batch_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payment_ids=[payment.pk],
            effective_date=banking_day_on_or_after(today),
            include_prenotes=True,
        )
    assert info.value.message == (
        f"ACH payment {payment.pk} to Maria Lopez goes to bank details that were replaced "
        "since it was requested: cancel it and request it again to pay the new details"
    )
    assert info.value.details["index"] == 0


# --- 10. ACH payments in the 1099 report -----------------------------------------------------


def test_a_sent_ach_payment_counts_in_the_1099_report_of_its_year(
    firm, admin, trust, client_file, ach_ready, today
):
    hale = tax_services.tax_payee_create(
        firm=firm,
        actor=admin,
        name="Hale Investigations",
        tin_type="EIN",
        tin="12-3456789",
        default_box="NEC-1",
    )
    ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=hale.contact_id,
        routing_number="021000021",
        account_number="55555",
        account_type="checking",
        holder_kind="business",
    )
    deposit(firm, admin, trust, client_file, 1_000_000)
    contact = hale.contact
    sent, returned, cancelled, batched = (
        pay_by_ach(firm, admin, trust, client_file, contact, cents)
        for cents in (100_000, 50_000, 30_000, 20_000)
    )
    printed = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payee=contact.name,
        amount_cents=70_000,
        file_id=client_file.pk,
        request_date=D,
    )
    checks.check_print(firm=firm, actor=admin, check_id=printed.pk, printed_on=today)
    for check in (sent, returned, cancelled, batched, printed):
        tax_services.payment_tax_report_set(
            firm=firm, actor=admin, check_id=check.pk, contact_id=contact.pk
        )
    first = _batch(firm, admin, trust, [sent.ach_payment, returned.ach_payment], today)
    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=first.pk)
    ach.ach_payment_return(firm=firm, actor=admin, payment_id=returned.ach_payment.pk, reason="R01")
    ach.ach_payment_cancel(firm=firm, actor=admin, payment_id=cancelled.ach_payment.pk)
    _batch(firm, admin, trust, [batched.ach_payment], today)

    report = tax_selectors.payee_report(firm=firm, year=today.year)

    assert [(b.box, b.total_cents, b.payments) for b in report.lines[0].boxes] == [
        ("NEC-1", 170_000, 2)
    ]
    assert tax_selectors.payee_report(firm=firm, year=today.year - 1).lines == []
