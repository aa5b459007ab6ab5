"""ACH payments (issue 15, ADR 0046): payee bank details encrypted at rest, a disbursement
paid by ACH with the ledger behaviour of a check, one NACHA file per selection made once,
and a return that voids with a reversal."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from casebridge.books import crypto
from casebridge.books.banking_days import add_banking_days, banking_day_on_or_after
from casebridge.books.errors import (
    Conflict,
    ExternalRefConflict,
    RoleRequired,
    TrustOverdraw,
    ValidationFailed,
)
from casebridge.books.models import (
    AchBatch,
    AchPayment,
    AchSettings,
    AchStatus,
    CheckStatus,
    Contact,
    PayeeBankAccount,
    PrenoteStatus,
    Role,
)
from casebridge.books.services import ach, auth, checks
from casebridge.books.services.checks import CheckRequest
from casebridge.books.services.keys import data_rotate
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import D, deposit, snapshot, trust_balance
from tests.conftest import PASSWORD


def ach_snapshot() -> dict[str, Any]:
    return {
        **snapshot(),
        "ach": sorted(AchPayment.objects.values_list("pk", "status", "batch_id", "trace_number")),
        "batches": AchBatch.objects.count(),
        "payee_accounts": sorted(
            PayeeBankAccount.objects.values_list("pk", "is_active", "prenote_status")
        ),
    }


class Refused:
    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def __enter__(self) -> pytest.ExceptionInfo[Any]:
        self.before = ach_snapshot()
        self.raises = pytest.raises(self.error)
        return self.raises.__enter__()

    def __exit__(self, *exc: Any) -> bool:
        handled = self.raises.__exit__(*exc)
        assert ach_snapshot() == self.before, "a refusal wrote to the books"
        return bool(handled)


def pay_by_ach(firm, actor, trust, file, contact, cents, ref=None, on=D):
    check, _ = ach.ach_payment_request(
        firm=firm,
        actor=actor,
        request=CheckRequest(
            bank_account_id=trust.pk,
            payee=contact.name,
            amount_cents=cents,
            file_id=file.pk,
            request_date=on,
            external_ref=ref,
        ),
        payee_contact_id=contact.pk,
    )
    return check


# --- payee bank details --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        ("026009593", None),
        ("021000021", None),
        ("026009594", "routing number 026009594 fails the ABA checksum"),
        ("02600959", "routing number must be 9 digits"),
        ("0260O9593", "routing number must be 9 digits"),
    ],
)
def test_the_routing_number_passes_the_aba_checksum(firm, admin, maria, routing, message):
    def setting():
        return ach.payee_bank_account_set(
            firm=firm,
            actor=admin,
            contact_id=maria.pk,
            routing_number=routing,
            account_number="123456789",
            account_type="checking",
            holder_kind="person",
        )

    if message is None:
        assert setting().routing_number == routing
        return
    with Refused(ValidationFailed) as info:
        setting()
    assert info.value.message.startswith(message)
    assert info.value.field == "routing_number"


def test_the_account_number_is_encrypted_at_rest_and_shown_masked(firm, admin, maria_bank):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_number_ciphertext FROM books_payeebankaccount WHERE id = %s",
            [maria_bank.pk],
        )
        [stored] = cursor.fetchone()
    assert "123456789" not in stored
    assert crypto.decrypt(stored) == "00123456789"  # spaces and dashes dropped
    view = ach.payee_bank_view(maria_bank)
    assert (view.account_number_masked, view.sec_code) == ("•••••••6789", "PPD")
    event = AuditEvent.objects.get(entity_type="payee_bank_account")
    assert "00123456789" not in str(event.after) + event.summary
    assert event.after["account_number_last4"] == "6789"


def test_new_details_keep_the_old_inactive_and_the_same_again_changes_nothing(
    firm, admin, maria, maria_bank
):
    def set_to(number: str) -> PayeeBankAccount:
        return ach.payee_bank_account_set(
            firm=firm,
            actor=admin,
            contact_id=maria.pk,
            routing_number="026009593",
            account_number=number,
            account_type="checking",
            holder_kind="person",
        )

    assert set_to("00123456789").pk == maria_bank.pk
    new = set_to("555")
    assert list(
        PayeeBankAccount.objects.filter(contact=maria).order_by("pk").values_list("is_active")
    ) == [(False,), (True,)]
    assert ach.payee_bank_account_of(firm, maria.pk) == new


def test_staff_cannot_change_bank_details(firm, admin, maria):
    clerk = auth.user_create(
        firm=firm,
        email="clerk@smith.test",
        password=PASSWORD,
        first_name="C",
        last_name="K",
        role=Role.STAFF,
    )
    assert clerk.role == Role.STAFF
    with Refused(RoleRequired):
        ach.payee_bank_account_set(
            firm=firm,
            actor=clerk,
            contact_id=maria.pk,
            routing_number="026009593",
            account_number="1",
            account_type="checking",
            holder_kind="person",
        )


def test_rotate_keys_reencrypts_payee_account_numbers(firm, admin, maria, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.BOOKS_DATA_KEYS = [old]
    account = ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="021000021",
        account_number="44556677",
        account_type="savings",
        holder_kind="person",
    )
    assert ("books", "PayeeBankAccount", "account_number_ciphertext") in crypto.ENCRYPTED_COLUMNS
    settings.BOOKS_DATA_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert "Re-encrypted 1 encrypted books value(s) with the first data key" in out.getvalue()
    settings.BOOKS_DATA_KEYS = [new]
    account.refresh_from_db()
    assert crypto.decrypt(account.account_number_ciphertext) == "44556677"
    assert data_rotate().rotated == 0


# --- paying by ACH -----------------------------------------------------------------------


def test_an_ach_payment_posts_like_a_check_and_is_never_printed(
    firm, admin, trust, client_file, maria, maria_bank
):
    deposit(firm, admin, trust, client_file, 500_000)
    check = pay_by_ach(firm, admin, trust, client_file, maria, 120_000)
    assert trust_balance(client_file) == 380_000
    assert (check.status, check.check_number) == (CheckStatus.QUEUED, None)
    payment = check.ach_payment
    assert (payment.status, payment.payee_account_id) == (AchStatus.QUEUED, maria_bank.pk)
    with Refused(Conflict) as info:
        checks.check_print(firm=firm, actor=admin, check_id=check.pk)
    assert info.value.message == f"check {check.pk} is paid by ACH: it is never printed"
    with Refused(Conflict):
        checks.checks_print_batch(
            firm=firm, actor=admin, check_ids=[check.pk], bank_account_id=trust.pk
        )
    with Refused(Conflict):
        checks.check_void(firm=firm, actor=admin, check_id=check.pk)


def test_an_ach_payment_beyond_the_clients_trust_is_refused_writing_nothing(
    firm, admin, trust, client_file, maria, maria_bank
):
    deposit(firm, admin, trust, client_file, 100_000)
    with Refused(TrustOverdraw) as info:
        pay_by_ach(firm, admin, trust, client_file, maria, 100_001)
    assert info.value.details["available_cents"] == 100_000


def test_a_payee_without_bank_details_is_refused(firm, admin, trust, client_file, maria):
    deposit(firm, admin, trust, client_file, 100_000)
    with Refused(ValidationFailed) as info:
        pay_by_ach(firm, admin, trust, client_file, maria, 1_000)
    assert info.value.message == (
        "Maria Lopez has no bank details for ACH: add them on the contact, or pay by check"
    )
    assert info.value.field == "payee_contact"


def test_the_same_external_ref_is_found_again_and_not_paid_twice(
    firm, admin, trust, client_file, maria, maria_bank
):
    deposit(firm, admin, trust, client_file, 100_000)
    first = pay_by_ach(firm, admin, trust, client_file, maria, 40_000, ref="cases-trust-9")
    before = ach_snapshot()
    again = pay_by_ach(firm, admin, trust, client_file, maria, 40_000, ref="cases-trust-9")
    assert again.pk == first.pk
    assert ach_snapshot() == before
    with Refused(ExternalRefConflict) as info:
        ach.disbursements_find_or_create(
            firm=firm,
            actor=admin,
            requests=[
                ach.Disbursement(
                    CheckRequest(
                        bank_account_id=trust.pk,
                        payee="Maria Lopez",
                        amount_cents=40_000,
                        file_id=client_file.pk,
                        request_date=D,
                        external_ref="cases-trust-9",
                    )
                )
            ],
        )
    assert info.value.details["differing"] == ["method"]


# --- the batch ----------------------------------------------------------------------------


def test_a_batch_is_made_once_and_downloads_the_same_bytes(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    one = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    two = pay_by_ach(firm, admin, trust, client_file, maria, 30_050).ach_payment
    effective = add_banking_days(banking_day_on_or_after(today), 2)
    batch = ach.ach_batch_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payment_ids=[one.pk, two.pk],
        effective_date=effective,
    )
    assert (batch.entry_count, batch.total_credit_cents, batch.total_debit_cents) == (
        2,
        150_050,
        0,
    )
    assert batch.entry_hash == 2 * 2_600_959
    assert batch.file_id_modifier == "A"
    lines = ach.ach_batch_text(batch).splitlines()
    assert len(lines) == 10
    assert all(len(line) == 94 for line in lines)
    assert lines[1][69:75] == effective.strftime("%y%m%d")
    assert lines[5][43:55] == "000000150050"
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.status, one.batch_id, one.trace_number) == (
        AchStatus.BATCHED,
        batch.pk,
        "021000020000001",
    )
    assert two.trace_number == "021000020000002"
    assert ach.ach_batch_text(AchBatch.objects.get(pk=batch.pk)) == ach.ach_batch_text(batch)

    with Refused(Conflict) as info:
        ach.ach_batch_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payment_ids=[two.pk],
            effective_date=effective,
        )
    assert info.value.message == (
        f"ACH payment {two.pk} is in a file, not queued: a payment goes into one file only"
    )


def test_a_balanced_file_and_a_prenote(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    AchSettings.objects.filter(pk=ach_ready.pk).update(balanced=True)
    clinic = Contact.objects.create(firm=firm, name="Valley PT Clinic")
    ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=clinic.pk,
        routing_number="091000019",
        account_number="77",
        account_type="savings",
        holder_kind="business",
        prenote=True,
    )
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 10_000).ach_payment
    batch = ach.ach_batch_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payment_ids=[payment.pk],
        effective_date=banking_day_on_or_after(today),
        include_prenotes=True,
    )
    lines = ach.ach_batch_text(batch).splitlines()
    assert [line[:4] for line in lines[:8]] == [
        "101 ",
        "5200",
        "6220",  # Maria's credit
        "6270",  # the offset: a debit to the trust account itself
        "8200",
        "5200",
        "6330",  # the clinic's savings prenote
        "8200",
    ]
    assert lines[6][29:39] == "0000000000"
    assert lines[5][50:53] == "CCD"
    assert (batch.total_debit_cents, batch.total_credit_cents, batch.prenote_count) == (
        10_000,
        10_000,
        1,
    )
    assert PayeeBankAccount.objects.get(contact=clinic).prenote_status == PrenoteStatus.SENT


def test_a_bank_without_ach_settings_is_refused(
    firm, admin, trust, client_file, maria, maria_bank, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 10_000).ach_payment
    with Refused(ValidationFailed) as info:
        ach.ach_batch_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payment_ids=[payment.pk],
            effective_date=banking_day_on_or_after(today),
        )
    assert info.value.field == "bank_account"


def test_a_return_voids_with_a_reversal_and_is_audited(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, today
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    batch = ach.ach_batch_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payment_ids=[payment.pk],
        effective_date=banking_day_on_or_after(today),
    )
    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=batch.pk)
    payment.refresh_from_db()
    assert (payment.status, payment.sent_on) == (AchStatus.SENT, today)
    assert trust_balance(client_file) == 380_000

    ach.ach_payment_return(firm=firm, actor=admin, payment_id=payment.pk, reason="R03 no account")
    payment.refresh_from_db()
    check = payment.disbursement
    assert (payment.status, payment.returned_on, payment.return_reason) == (
        AchStatus.RETURNED,
        today,
        "R03 no account",
    )
    assert (check.status, check.voided_on) == (CheckStatus.VOIDED, today)
    assert check.void_entry is not None
    assert check.void_entry.date == today
    assert trust_balance(client_file) == 500_000
    event = AuditEvent.objects.get(entity_type="ach_payment", action="return")
    assert event.after == {
        "status": "returned",
        "returned_on": today.isoformat(),
        "reason": "R03 no account",
    }
    with Refused(Conflict):
        ach.ach_payment_return(firm=firm, actor=admin, payment_id=payment.pk, reason="again")


def test_a_queued_payment_is_cancelled_with_a_reversal(
    firm, admin, trust, client_file, maria, maria_bank
):
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    ach.ach_payment_cancel(firm=firm, actor=admin, payment_id=payment.pk, reason="wrong payee")
    payment.refresh_from_db()
    assert payment.status == AchStatus.CANCELLED
    assert payment.disbursement.status == CheckStatus.VOIDED
    assert trust_balance(client_file) == 500_000
