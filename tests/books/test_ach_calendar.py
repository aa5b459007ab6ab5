"""ACH on banking days (ADR 0055): a NACHA file's effective entry date is a banking day (by
default the next one), and a payee whose bank details had a prenote gets no live entry
before the third banking day after the prenote settled (Nacha Operating Rules 2.6.2).

Each test sets the day it runs on: Christmas 2026 is a Friday, so the days around it show
the calendar at work."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from casebridge.books.errors import Conflict, ValidationFailed
from casebridge.books.models import (
    AchBatch,
    AchStatus,
    Contact,
    PayeeBankAccount,
    PrenoteStatus,
)
from casebridge.books.services import ach
from tests.books.ledger_helpers import deposit
from tests.books.test_ach import Refused, ach_snapshot, pay_by_ach

D = dt.date


def _file(firm, admin, trust, payments, **kwargs) -> AchBatch:
    return ach.ach_batch_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payment_ids=[p.pk for p in payments],
        **kwargs,
    )


# --- 1. the effective entry date -----------------------------------------------------------


def test_a_file_without_an_effective_date_takes_the_next_banking_day(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, on
):
    on(D(2026, 12, 24))  # the Thursday before Christmas
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    batch = _file(firm, admin, trust, [payment])
    assert batch.effective_date == D(2026, 12, 28)  # past Christmas and the weekend
    header = ach.ach_batch_text(batch).splitlines()[1]
    assert header[69:75] == "261228"
    payment.refresh_from_db()
    assert payment.status == AchStatus.BATCHED


@pytest.mark.parametrize(
    ("today", "effective", "reason", "following"),
    [
        (D(2026, 12, 24), D(2026, 12, 25), "Christmas Day", D(2026, 12, 28)),
        (D(2026, 12, 24), D(2026, 12, 26), "a Saturday", D(2026, 12, 28)),
        (D(2026, 12, 24), D(2026, 12, 27), "a Sunday", D(2026, 12, 28)),
        (D(2026, 11, 20), D(2026, 11, 26), "Thanksgiving Day", D(2026, 11, 27)),
        (D(2027, 1, 12), D(2027, 1, 18), "Birthday of Martin Luther King, Jr.", D(2027, 1, 19)),
        (D(2027, 6, 30), D(2027, 7, 5), "Independence Day (observed)", D(2027, 7, 6)),
    ],
)
def test_an_effective_date_that_is_not_a_banking_day_is_refused_writing_nothing(
    firm,
    admin,
    trust,
    client_file,
    maria,
    maria_bank,
    ach_ready,
    on,
    today,
    effective,
    reason,
    following,
):
    on(today)
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    with Refused(ValidationFailed) as refused:
        _file(firm, admin, trust, [payment], effective_date=effective)
    assert refused.value.field == "effective_date"
    assert refused.value.message == (
        f"the effective entry date {effective} is not a banking day ({reason}): the next "
        f"banking day is {following}"
    )
    assert refused.value.details == {"next_banking_day": following.isoformat()}


def test_the_friday_before_a_saturday_holiday_is_a_banking_day(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, on
):
    on(D(2026, 7, 1))
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    # Independence Day 2026 is a Saturday: the Federal Reserve is open on Friday 3 July
    batch = _file(firm, admin, trust, [payment], effective_date=D(2026, 7, 3))
    assert batch.effective_date == D(2026, 7, 3)


# --- 2. the wait after a prenote -------------------------------------------------------------


@pytest.fixture
def prenoted(firm, admin, maria) -> PayeeBankAccount:
    """Maria's bank details, with a prenote to send first."""
    return ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="026009593",
        account_number="0012 3456-789",
        account_type="checking",
        holder_kind="person",
        prenote=True,
    )


def _refusal(payment, reason: str) -> str:
    return (
        f"ACH payment {payment.pk} to Maria Lopez must wait for the prenote to these bank "
        f"details: {reason}"
    )


def test_a_live_entry_waits_until_the_third_banking_day_after_the_prenote_settles(
    firm, admin, trust, client_file, maria, prenoted, ach_ready, on
):
    on(D(2026, 12, 21))  # a Monday
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    assert ach.payee_bank_view(prenoted).prenote_note == "Prenote to send: live entries wait for it"

    # the prenote not sent yet: the payment cannot go, not even beside it
    with Refused(Conflict) as refused:
        _file(firm, admin, trust, [payment], include_prenotes=True)
    assert refused.value.message == _refusal(
        payment,
        "its prenote has not been sent: send it first (Make ACH file with the prenotes); a "
        "live entry may follow from the third banking day after it settles (2026-12-28 for "
        "a prenote in a file made today, effective 2026-12-22)",
    )
    assert (refused.value.field, refused.value.details) == (
        "payment_ids",
        {"index": 0, "possible_on": "2026-12-28"},
    )

    prenote_file = _file(firm, admin, trust, [], include_prenotes=True)
    assert (prenote_file.effective_date, prenote_file.prenote_count) == (D(2026, 12, 22), 1)
    prenoted.refresh_from_db()
    assert (prenoted.prenote_status, prenoted.prenote_batch_id) == (
        PrenoteStatus.SENT,
        prenote_file.pk,
    )

    # its file made but not marked sent: the wait has not started
    assert ach.payee_bank_view(prenoted).prenote_note == (
        "Prenote in ACH file A of 2026-12-21, not marked sent yet: live entries wait for it"
    )
    with Refused(Conflict) as refused:
        _file(firm, admin, trust, [payment])
    assert refused.value.message == _refusal(
        payment,
        "the ACH file that carries its prenote (A of 2026-12-21) is not marked sent: mark it "
        "sent; a live entry may follow from the third banking day after it settles "
        "(2026-12-28 at the earliest)",
    )

    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=prenote_file.pk)
    prenoted.refresh_from_db()
    # settles Tuesday 22; banking days after: 23, 24, (Christmas, the weekend) 28
    view = ach.payee_bank_view(prenoted)
    assert (view.prenote_settles_on, view.live_entries_from) == (D(2026, 12, 22), D(2026, 12, 28))
    for day in (D(2026, 12, 22), D(2026, 12, 23), D(2026, 12, 24)):
        on(day)
        assert ach.payee_bank_view(prenoted).prenote_note == (
            "Prenote settles 2026-12-22: live entries from 2026-12-28"
        )
        with Refused(Conflict) as refused:
            _file(firm, admin, trust, [payment])
        assert refused.value.message == _refusal(
            payment,
            "its prenote settles on 2026-12-22: a live entry may follow from the third "
            "banking day after it settles, 2026-12-28",
        )
        assert refused.value.details["possible_on"] == "2026-12-28"

    on(D(2026, 12, 28))
    assert ach.payee_bank_view(prenoted).prenote_note == (
        "Prenote settled 2026-12-22: live entries allowed"
    )
    live = _file(firm, admin, trust, [payment])
    assert (live.effective_date, live.entry_count, live.total_credit_cents) == (
        D(2026, 12, 29),
        1,
        120_000,
    )


def test_a_prenote_file_sent_after_its_effective_date_settles_the_next_banking_day(
    firm, admin, trust, client_file, maria, prenoted, ach_ready, on
):
    on(D(2026, 12, 21))
    prenote_file = _file(firm, admin, trust, [], include_prenotes=True)
    assert prenote_file.effective_date == D(2026, 12, 22)
    # sent late, on Wednesday 23: the ACH Operator settles it on Thursday 24
    on(D(2026, 12, 23))
    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=prenote_file.pk)
    prenoted.refresh_from_db()
    view = ach.payee_bank_view(prenoted, today=D(2026, 12, 29))
    assert (view.prenote_settles_on, view.live_entries_from) == (D(2026, 12, 24), D(2026, 12, 30))
    assert view.prenote_note == "Prenote settles 2026-12-24: live entries from 2026-12-30"


def test_an_older_prenote_file_effective_on_a_weekend_settles_the_next_banking_day(
    firm, admin, trust, client_file, maria, prenoted, ach_ready, on
):
    """Files made before ADR 0055 could take a weekend effective date: such a file settles
    on the banking day on or after it, and the wait counts from there."""
    on(D(2026, 12, 24))
    prenote_file = _file(firm, admin, trust, [], include_prenotes=True)
    AchBatch.objects.filter(pk=prenote_file.pk).update(effective_date=D(2026, 12, 26))  # a Sat
    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=prenote_file.pk)
    prenoted.refresh_from_db()
    view = ach.payee_bank_view(prenoted, today=D(2026, 12, 30))
    assert (view.prenote_settles_on, view.live_entries_from) == (D(2026, 12, 28), D(2026, 12, 31))
    wait = ach.prenote_wait(prenoted, D(2026, 12, 30))
    assert wait is not None
    assert (wait.reason, wait.possible_on) == (
        "its prenote settles on 2026-12-28: a live entry may follow from the third banking "
        "day after it settles, 2026-12-31",
        D(2026, 12, 31),
    )
    assert ach.prenote_wait(prenoted, D(2026, 12, 31)) is None


def test_a_payee_without_a_prenote_is_paid_in_the_next_file(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, on
):
    on(D(2026, 12, 21))
    deposit(firm, admin, trust, client_file, 500_000)
    payment = pay_by_ach(firm, admin, trust, client_file, maria, 120_000).ach_payment
    assert ach.prenote_wait(maria_bank, D(2026, 12, 21)) is None
    assert ach.payee_bank_view(maria_bank).prenote_note == "No prenote"
    assert _file(firm, admin, trust, [payment]).entry_count == 1


def test_one_waiting_payee_refuses_the_whole_file(
    firm, admin, trust, client_file, maria, maria_bank, ach_ready, on
):
    """All or nothing: the file is not made without the waiting payee's payment."""
    on(D(2026, 12, 21))
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
    to_maria = pay_by_ach(firm, admin, trust, client_file, maria, 10_000).ach_payment
    to_clinic = pay_by_ach(firm, admin, trust, client_file, clinic, 20_000).ach_payment
    before = ach_snapshot()
    with pytest.raises(Conflict) as refused:
        _file(firm, admin, trust, [to_maria, to_clinic])
    assert refused.value.details == {"index": 1, "possible_on": "2026-12-28"}
    assert refused.value.message.startswith(
        f"ACH payment {to_clinic.pk} to Valley PT Clinic must wait for the prenote"
    )
    assert ach_snapshot() == before


def _trace_prenote_files() -> None:
    PayeeBankAccount.objects.update(prenote_batch=None)  # as before the migration
    migration = importlib.import_module("casebridge.books.migrations.0027_ach_calendar")
    migration.trace_prenote_files(apps, None)


def test_prenotes_sent_before_their_file_was_kept_are_traced_to_it(
    firm, admin, trust, maria, prenoted, ach_ready, on
):
    """Migration 0027 links a prenote already sent to the first file of its day that
    carried prenotes and was made once the bank details were there: Maria's first details
    went in the early file, her new ones (made after it) in the later one."""
    on(D(2026, 12, 21))
    early = _file(firm, admin, trust, [], include_prenotes=True)
    changed = ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="026009593",
        account_number="555",
        account_type="checking",
        holder_kind="person",
        prenote=True,
    )
    later = _file(firm, admin, trust, [], include_prenotes=True, effective_date=D(2026, 12, 23))
    _trace_prenote_files()
    assert sorted(PayeeBankAccount.objects.values_list("pk", "prenote_batch_id")) == [
        (prenoted.pk, early.pk),
        (changed.pk, later.pk),
    ]


def test_a_prenote_is_not_traced_to_a_later_file_of_its_day_that_carried_another_payees(
    firm, admin, trust, maria, prenoted, ach_ready, on
):
    """Two payees' prenotes went in two files made the same day, only the second marked
    sent: Maria's prenote is traced to the first file (not yet sent, so her live entries
    still wait), not to the clinic's, whose effective date is later."""
    on(D(2026, 12, 21))
    marias = _file(firm, admin, trust, [], include_prenotes=True, effective_date=D(2026, 12, 22))
    clinic = Contact.objects.create(firm=firm, name="Valley PT")
    clinic_bank = ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=clinic.pk,
        routing_number="026009593",
        account_number="222",
        account_type="checking",
        holder_kind="business",
        prenote=True,
    )
    clinics = _file(firm, admin, trust, [], include_prenotes=True, effective_date=D(2026, 12, 23))
    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=clinics.pk)
    _trace_prenote_files()
    assert sorted(PayeeBankAccount.objects.values_list("pk", "prenote_batch_id")) == [
        (prenoted.pk, marias.pk),
        (clinic_bank.pk, clinics.pk),
    ]
    prenoted.refresh_from_db()
    wait = ach.prenote_wait(prenoted, D(2026, 12, 28))
    assert wait is not None
    assert wait.reason == (
        f"the ACH file that carries its prenote ({marias.file_id_modifier} of 2026-12-21) is "
        "not marked sent: mark it sent; a live entry may follow from the third banking day "
        "after it settles (2027-01-04 at the earliest)"
    )


def test_the_wait_is_one_constant_and_zero_means_from_the_settlement_date(monkeypatch):
    """ADR 0055: the books wait the three banking days of Nacha rule 2.6.2; a firm whose
    bank confirms a shorter rule changes one constant (0: from the settlement date)."""
    sent = AchBatch(
        effective_date=D(2026, 12, 22), sent_on=D(2026, 12, 21), created_on=D(2026, 12, 21)
    )
    account = PayeeBankAccount(
        prenote_status=PrenoteStatus.SENT, prenote_sent_on=D(2026, 12, 21), prenote_batch=sent
    )
    wait = ach.prenote_wait(account, D(2026, 12, 22))
    assert wait is not None
    assert wait.possible_on == D(2026, 12, 28)
    monkeypatch.setattr(ach, "PRENOTE_WAIT_BANKING_DAYS", 0)
    assert ach.prenote_wait(account, D(2026, 12, 22)) is None
    wait = ach.prenote_wait(account, D(2026, 12, 21))
    assert wait is not None
    assert (wait.reason, wait.possible_on) == (
        "its prenote settles on 2026-12-22: a live entry may follow from the day it settles, "
        "2026-12-22",
        D(2026, 12, 22),
    )
