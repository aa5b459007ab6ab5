"""Dates have a window (ADR 0007): every date a caller gives the books (a receipt, a check,
an invoice, a journal entry, a void) falls between the firm's opening date and today (plus
CASEBRIDGE_MAX_DAYS_AHEAD; a manual journal entry may be up to 366 days ahead, for
accruals). A refusal names the field and the range, and writes nothing."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from casebridge.books.errors import AdminRequired, ValidationFailed
from casebridge.books.models import AccountRole, ActivityCode, Firm, GLAccount, JournalEntry
from casebridge.books.services import checks, invoices, setup
from casebridge.books.services.checks import CheckRequest
from casebridge.books.services.invoices import LineSpec
from casebridge.books.services.journal import (
    EntrySpec,
    Line,
    journal_entries_post_batch,
    journal_entry_post,
    journal_entry_reverse,
)
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import deposit, refused, trust_balance
from tests.conftest import account

TODAY = dt.date(2026, 12, 6)
OPENING = dt.date(2025, 1, 1)
RANGE = "dates from 2025-01-01 to 2026-12-06 are accepted"


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def opened(firm, admin) -> Firm:
    return setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=OPENING)


@pytest.fixture
def e101(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E101")


@pytest.fixture
def rent(firm) -> tuple[GLAccount, GLAccount]:
    return GLAccount.objects.get(firm=firm, number="5200"), GLAccount.objects.get(
        firm=firm, number="1000"
    )


def post_rent(firm, rent, on: dt.date, cents: int = 12_550):
    office, bank = rent
    return journal_entry_post(
        firm=firm,
        date=on,
        memo="Office rent",
        lines=[Line(account=office, debit_cents=cents), Line(account=bank, credit_cents=cents)],
    )


# --- trust receipts ------------------------------------------------------------------------


def test_a_receipt_dated_2028_is_refused_naming_the_field(firm, admin, trust, client_file, opened):
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(firm, admin, trust, client_file, 100_000, on=dt.date(2028, 1, 5))
    assert info.value.field == "received_on"
    assert info.value.message == f"received_on 2028-01-05 is after today (2026-12-06); {RANGE}"


def test_a_receipt_dated_1900_is_refused_naming_the_opening_date(
    firm, admin, trust, client_file, opened
):
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(firm, admin, trust, client_file, 100_000, on=dt.date(1900, 1, 1))
    assert info.value.field == "received_on"
    assert info.value.message == (
        "received_on 1900-01-01 is before the firm's opening date 2025-01-01 "
        f"(Settings > Opening date); {RANGE}"
    )


def test_a_new_firm_never_accepts_1900(firm, admin, trust, client_file):
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(firm, admin, trust, client_file, 100_000, on=dt.date(1900, 1, 1))
    assert info.value.message == (
        "received_on 1900-01-01 is more than 10 years ago; to record it, set the firm's "
        "opening date (Settings > Opening date); dates from 2016-12-06 to 2026-12-06 are accepted"
    )


def test_a_receipt_dated_today_and_one_on_the_opening_date_are_accepted(
    firm, admin, trust, client_file, opened
):
    assert deposit(firm, admin, trust, client_file, 100_000, on=TODAY).received_on == TODAY
    assert deposit(firm, admin, trust, client_file, 2_500, on=OPENING).received_on == OPENING
    assert trust_balance(client_file) == 102_500


def test_days_ahead_let_documents_be_dated_that_far_ahead_and_no_further(
    firm, admin, trust, client_file, opened, settings
):
    settings.CASEBRIDGE_MAX_DAYS_AHEAD = 5
    ahead = TODAY + dt.timedelta(days=5)
    assert deposit(firm, admin, trust, client_file, 100_000, on=ahead).received_on == ahead
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(firm, admin, trust, client_file, 100_000, on=ahead + dt.timedelta(days=1))
    assert info.value.message == (
        "received_on 2026-12-12 is after 2026-12-11, 5 days after today (2026-12-06); "
        "dates from 2025-01-01 to 2026-12-11 are accepted"
    )


def test_without_an_opening_date_nothing_goes_before_the_first_entry(
    firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 100_000, on=dt.date(2026, 3, 2))
    with refused(ValidationFailed, code="validation_error") as info:
        deposit(firm, admin, trust, client_file, 100_000, on=dt.date(2026, 3, 1))
    assert info.value.message == (
        "received_on 2026-03-01 is before the firm's first entry, dated 2026-03-02, which "
        "stands as its opening date until one is set (Settings > Opening date); "
        "dates from 2026-03-02 to 2026-12-06 are accepted"
    )


# --- checks ----------------------------------------------------------------------------------


def test_a_check_requested_for_tomorrow_is_refused(
    firm, admin, operating, client_file, e101, opened
):
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=operating.pk,
            payee="Records Inc",
            amount_cents=12_500,
            file_id=client_file.pk,
            activity_code_id=e101.pk,
            request_date=TODAY + dt.timedelta(days=1),
        )
    assert info.value.field == "request_date"
    assert info.value.message == f"request_date 2026-12-07 is after today (2026-12-06); {RANGE}"


def test_a_batch_with_one_check_out_of_the_window_writes_nothing_and_names_it(
    firm, admin, operating, client_file, e101, opened
):
    def request(n: int, on: dt.date) -> CheckRequest:
        return CheckRequest(
            bank_account_id=operating.pk,
            payee="Records Inc",
            amount_cents=1_000,
            file_id=client_file.pk,
            activity_code_id=e101.pk,
            request_date=on,
            external_ref=f"cost-{n}",
        )

    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_requests_find_or_create(
            firm=firm,
            actor=admin,
            requests=[request(1, TODAY), request(2, dt.date(2024, 12, 31))],
        )
    assert info.value.field == "request_date"
    assert info.value.details["index"] == 1
    assert info.value.message.startswith(
        "request_date 2024-12-31 is before the firm's opening date 2025-01-01"
    )


def test_a_check_printed_or_voided_out_of_the_window_is_refused(
    firm, admin, operating, client_file, e101, opened
):
    check = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=operating.pk,
        payee="Records Inc",
        amount_cents=12_500,
        file_id=client_file.pk,
        activity_code_id=e101.pk,
        request_date=TODAY,
    )
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_print(
            firm=firm, actor=admin, check_id=check.pk, printed_on=dt.date(2027, 1, 1)
        )
    assert info.value.field == "printed_on"
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=dt.date(2027, 1, 1))
    assert info.value.field == "void_date"
    assert info.value.message == f"void_date 2027-01-01 is after today (2026-12-06); {RANGE}"


def test_a_receipt_voided_tomorrow_is_refused(firm, admin, trust, client_file, opened):
    receipt = deposit(firm, admin, trust, client_file, 100_000, on=TODAY)
    with refused(ValidationFailed, code="validation_error") as info:
        checks.trust_receipt_void(
            firm=firm, actor=admin, receipt_id=receipt.pk, void_date=TODAY + dt.timedelta(days=1)
        )
    assert info.value.field == "void_date"


# --- invoices -------------------------------------------------------------------------------


def fee(attorney, **kw) -> LineSpec:
    return LineSpec(
        kind="fee", description="Fee", amount_cents=10_000, timekeeper_id=attorney.pk, **kw
    )


def test_an_invoice_dated_ahead_or_a_line_dated_1900_is_refused(
    firm, admin, attorney, client_file, opened
):
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_create(
            firm=firm,
            actor=admin,
            file_id=client_file.pk,
            lines=[fee(attorney)],
            invoice_date=dt.date(2027, 2, 1),
        )
    assert info.value.field == "invoice_date"
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_create(
            firm=firm,
            actor=admin,
            file_id=client_file.pk,
            lines=[fee(attorney), fee(attorney, line_date=dt.date(1900, 1, 1))],
        )
    assert info.value.field == "lines"
    assert info.value.message.startswith(
        "line 2: line_date 1900-01-01 is before the firm's opening date 2025-01-01"
    )


def test_an_invoice_finalised_or_voided_out_of_the_window_is_refused(
    firm, admin, attorney, client_file, opened
):
    invoice = invoices.invoice_create(
        firm=firm, actor=admin, file_id=client_file.pk, lines=[fee(attorney)]
    )
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_finalise(
            firm=firm, actor=admin, invoice_id=invoice.pk, on=dt.date(2027, 1, 1)
        )
    assert info.value.field == "on"
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk)
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_void(
            firm=firm, actor=admin, invoice_id=invoice.pk, void_date=dt.date(2027, 1, 1)
        )
    assert info.value.field == "void_date"


# --- journal entries ------------------------------------------------------------------------


def test_a_journal_entry_before_the_opening_date_is_refused(firm, rent, opened):
    with refused(ValidationFailed, code="validation_error") as info:
        post_rent(firm, rent, dt.date(2024, 12, 31))
    assert info.value.field == "date"
    assert info.value.message == (
        "date 2024-12-31 is before the firm's opening date 2025-01-01 (Settings > Opening date); "
        "dates from 2025-01-01 to 2027-12-07 are accepted"
    )


def test_a_journal_entry_may_be_an_accrual_up_to_366_days_ahead(firm, rent, opened):
    assert post_rent(firm, rent, TODAY + dt.timedelta(days=30)).date == dt.date(2027, 1, 5)
    assert post_rent(firm, rent, TODAY + dt.timedelta(days=366)).date == dt.date(2027, 12, 7)
    with refused(ValidationFailed, code="validation_error") as info:
        post_rent(firm, rent, TODAY + dt.timedelta(days=400))
    assert info.value.field == "date"
    assert info.value.message == (
        "date 2028-01-10 is after 2027-12-07, 366 days after today (2026-12-06); "
        "dates from 2025-01-01 to 2027-12-07 are accepted"
    )


def test_a_batch_with_one_entry_out_of_the_window_writes_nothing_and_names_it(firm, rent, opened):
    office, bank = rent

    def spec(on: dt.date) -> EntrySpec:
        return EntrySpec(
            date=on,
            lines=[Line(account=office, debit_cents=100), Line(account=bank, credit_cents=100)],
        )

    with refused(ValidationFailed, code="validation_error") as info:
        journal_entries_post_batch(
            firm=firm, entries=[spec(TODAY), spec(dt.date(1900, 1, 1)), spec(TODAY)]
        )
    assert info.value.field == "date"
    assert info.value.message.startswith("entry 2: date 1900-01-01 is before the firm's opening")


def test_a_reversal_out_of_the_window_is_refused(firm, rent, opened):
    entry = post_rent(firm, rent, TODAY)
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_reverse(firm=firm, entry=entry, date=TODAY + dt.timedelta(days=400))
    assert info.value.field == "date"


# --- the opening date -------------------------------------------------------------------


def test_the_opening_date_is_set_and_audited(firm, admin):
    saved = setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=OPENING)
    assert Firm.objects.get(pk=firm.pk).opening_date == saved.opening_date == OPENING
    event = AuditEvent.objects.get(entity_type="firm", action="change")
    assert (event.actor_id, event.before, event.after) == (
        admin.pk,
        {"opening_date": None},
        {"opening_date": "2025-01-01"},
    )


def test_an_opening_date_after_the_first_entry_is_refused(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000, on=dt.date(2026, 3, 2))
    with refused(ValidationFailed, code="validation_error") as info:
        setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=dt.date(2026, 3, 3))
    assert info.value.field == "opening_date"
    assert info.value.message == (
        "the books hold entries from 2026-03-02, before 2026-03-03: the opening date can be "
        "2026-03-02 at the latest"
    )
    assert Firm.objects.get(pk=firm.pk).opening_date is None
    setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=dt.date(2026, 3, 2))
    assert Firm.objects.get(pk=firm.pk).opening_date == dt.date(2026, 3, 2)


def test_an_opening_date_after_today_is_refused(firm, admin):
    with refused(ValidationFailed, code="validation_error") as info:
        setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=dt.date(2026, 12, 7))
    assert info.value.field == "opening_date"
    assert info.value.message == "the opening date 2026-12-07 is after today (2026-12-06)"


def test_only_an_administrator_sets_the_opening_date(firm, attorney):
    with refused(AdminRequired, code="admin_required"):
        setup.firm_opening_date_set(firm=firm, actor=attorney, opening_date=OPENING)
    assert Firm.objects.get(pk=firm.pk).opening_date is None


def test_the_migration_defaults_the_opening_date_to_the_first_entry(
    firm, other_firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 100_000, on=dt.date(2026, 3, 2))
    deposit(firm, admin, trust, client_file, 100_000, on=dt.date(2026, 5, 1))
    assert JournalEntry.objects.filter(firm=firm).count() == 2
    migration = importlib.import_module("casebridge.books.migrations.0006_firm_opening_date")
    migration.opening_date_from_first_entry(apps, None)
    assert Firm.objects.get(pk=firm.pk).opening_date == dt.date(2026, 3, 2)
    assert Firm.objects.get(pk=other_firm.pk).opening_date is None  # nothing posted


def test_the_migration_never_opens_the_books_after_today(firm, admin, today):
    journal_entry_post(
        firm=firm,
        date=today + dt.timedelta(days=30),
        memo="Fee expected next month",
        actor=admin,
        lines=[
            Line(account=account(firm, AccountRole.OPERATING_BANK), debit_cents=5_000),
            Line(account=account(firm, AccountRole.FEE_INCOME), credit_cents=5_000),
        ],
    )
    migration = importlib.import_module("casebridge.books.migrations.0006_firm_opening_date")
    migration.opening_date_from_first_entry(apps, None)
    assert Firm.objects.get(pk=firm.pk).opening_date == today
