"""The cases side holds cost and deposit dates to the window the books hold theirs to (ADR
0007): not after today (plus CASEBRIDGE_MAX_DAYS_AHEAD), not before the firm's opening date
(else its first cost or deposit, else ten years back). A refused date writes nothing, and
so nothing is queued for the books."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from casebridge.bridge.models import Connection, ConnectionStatus, OutboxItem
from casebridge.cases.errors import PermissionDenied, ValidationFailed
from casebridge.cases.models import Deposit, Firm
from casebridge.cases.services import costs, firms, settlement
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.cases.helpers import add_cost, contact, offer, refused

TODAY = dt.date(2026, 12, 6)
OPENING = dt.date(2025, 1, 1)
RANGE = "dates from 2025-01-01 to 2026-12-06 are accepted"


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def opened(cfirm, cadmin) -> Firm:
    return firms.firm_opening_date_set(firm=cfirm, actor=cadmin, opening_date=OPENING)


@pytest.fixture
def books_connection(cfirm, cadmin) -> Connection:
    """A connection to the books (deactivated, so nothing is delivered): a deposit queues
    its trust receipt whatever the connection's state."""
    return Connection.objects.create(
        firm=cfirm,
        status=ConnectionStatus.DEACTIVATED,
        books_url="http://books.invalid/books/api/v1",
        books_firm_code="lopez-pi",
        username="integration@lopez.test",
        trust_account_id=2,
        trust_account_name="Client Trust (IOLTA)",
        updated_at=clock.now(),
    )


@pytest.fixture
def accepted(cfirm, cadmin, case):
    return offer(cfirm, cadmin, case, 10_000_000)


def deposit_on(cfirm, cadmin, case, accepted, on: dt.date) -> Deposit:
    return settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=accepted.pk,
        amount_cents=2_500_000,
        check_number="88123",
        deposited_on=on,
    )


def test_a_cost_dated_tomorrow_is_refused_and_nothing_is_queued(
    cfirm, cadmin, case, opened, books_connection
):
    contact(cfirm, "Records Inc")
    with refused(ValidationFailed, code="validation_error") as info:
        add_cost(cfirm, cadmin, case, 12_500, cost_date=TODAY + dt.timedelta(days=1))
    assert info.value.field == "cost_date"
    assert info.value.message == f"cost_date 2026-12-07 is after today (2026-12-06); {RANGE}"
    assert info.value.details == {"earliest": "2025-01-01", "latest": "2026-12-06"}
    assert not OutboxItem.objects.exists()


def test_a_cost_dated_today_or_on_the_opening_date_is_accepted(cfirm, cadmin, case, opened):
    assert add_cost(cfirm, cadmin, case, 12_500, cost_date=TODAY).cost_date == TODAY
    assert add_cost(cfirm, cadmin, case, 2_500, cost_date=OPENING).cost_date == OPENING


def test_a_cost_moved_out_of_the_window_is_refused(cfirm, cadmin, case, opened):
    cost = add_cost(cfirm, cadmin, case, 12_500, cost_date=TODAY)
    with refused(ValidationFailed, code="validation_error") as info:
        costs.cost_update(firm=cfirm, actor=cadmin, cost_id=cost.pk, cost_date=dt.date(1900, 1, 1))
    assert info.value.field == "cost_date"
    assert info.value.message == (
        "cost_date 1900-01-01 is before the firm's opening date 2025-01-01 "
        f"(Account Settings > Opening date); {RANGE}"
    )


def test_a_cost_paid_tomorrow_is_refused(cfirm, cadmin, case, opened):
    cost = add_cost(cfirm, cadmin, case, 12_500, cost_date=TODAY)
    with refused(ValidationFailed, code="validation_error") as info:
        costs.cost_pay(
            firm=cfirm,
            actor=cadmin,
            cost_id=cost.pk,
            method="check",
            reference="5101",
            paid_date=TODAY + dt.timedelta(days=1),
        )
    assert info.value.field == "paid_date"


def test_a_new_firm_never_takes_a_cost_dated_1900(cfirm, cadmin, case):
    contact(cfirm, "Records Inc")
    with refused(ValidationFailed, code="validation_error") as info:
        add_cost(cfirm, cadmin, case, 12_500, cost_date=dt.date(1900, 1, 1))
    assert info.value.message == (
        "cost_date 1900-01-01 is more than 10 years ago; to record it, set the firm's opening "
        "date (Account Settings > Opening date); dates from 2016-12-06 to 2026-12-06 are accepted"
    )


def test_without_an_opening_date_nothing_goes_before_the_first_cost_or_deposit(cfirm, cadmin, case):
    add_cost(cfirm, cadmin, case, 12_500, cost_date=dt.date(2026, 3, 2))
    with refused(ValidationFailed, code="validation_error") as info:
        add_cost(cfirm, cadmin, case, 12_500, cost_date=dt.date(2026, 3, 1))
    assert info.value.message == (
        "cost_date 2026-03-01 is before the firm's first cost or deposit, dated 2026-03-02, "
        "which stands as its opening date until one is set (Account Settings > Opening date); "
        "dates from 2026-03-02 to 2026-12-06 are accepted"
    )


def test_a_cost_being_edited_does_not_bound_its_own_date(cfirm, cadmin, case):
    cost = add_cost(cfirm, cadmin, case, 12_500, cost_date=dt.date(2026, 3, 2))
    edited = costs.cost_update(
        firm=cfirm, actor=cadmin, cost_id=cost.pk, cost_date=dt.date(2026, 2, 1)
    )
    assert edited.cost_date == dt.date(2026, 2, 1)


def test_a_deposit_before_the_opening_date_is_refused_and_no_receipt_is_queued(
    cfirm, cadmin, case, accepted, opened, books_connection
):
    with refused(ValidationFailed, code="validation_error") as info:
        deposit_on(cfirm, cadmin, case, accepted, dt.date(2024, 12, 31))
    assert info.value.field == "deposited_on"
    assert info.value.message == (
        "deposited_on 2024-12-31 is before the firm's opening date 2025-01-01 "
        f"(Account Settings > Opening date); {RANGE}"
    )
    assert not OutboxItem.objects.exists()
    # the same deposit dated today is recorded, and its trust receipt queued
    deposit_on(cfirm, cadmin, case, accepted, TODAY)
    assert OutboxItem.objects.get().payload["received_on"] == "2026-12-06"


def test_a_deposit_dated_tomorrow_is_refused(cfirm, cadmin, case, accepted, opened):
    with refused(ValidationFailed, code="validation_error") as info:
        deposit_on(cfirm, cadmin, case, accepted, TODAY + dt.timedelta(days=1))
    assert info.value.field == "deposited_on"


def test_days_ahead_apply_on_the_cases_side_too(cfirm, cadmin, case, opened, settings):
    settings.CASEBRIDGE_MAX_DAYS_AHEAD = 3
    ahead = TODAY + dt.timedelta(days=3)
    assert add_cost(cfirm, cadmin, case, 12_500, cost_date=ahead).cost_date == ahead
    with refused(ValidationFailed, code="validation_error"):
        add_cost(cfirm, cadmin, case, 12_500, cost_date=ahead + dt.timedelta(days=1))


# --- the opening date ---------------------------------------------------------------------


def test_the_opening_date_is_set_and_audited(cfirm, cadmin):
    firms.firm_opening_date_set(firm=cfirm, actor=cadmin, opening_date=OPENING)
    assert Firm.objects.get(pk=cfirm.pk).opening_date == OPENING
    event = AuditEvent.objects.get(system="cases", entity_type="firm", action="change")
    assert (event.actor_id, event.before, event.after) == (
        cadmin.pk,
        {"opening_date": None},
        {"opening_date": "2025-01-01"},
    )


def test_an_opening_date_after_the_first_cost_or_deposit_is_refused(cfirm, cadmin, case, accepted):
    deposit_on(cfirm, cadmin, case, accepted, dt.date(2026, 3, 2))
    add_cost(cfirm, cadmin, case, 12_500, cost_date=dt.date(2026, 5, 1))
    with refused(ValidationFailed, code="validation_error") as info:
        firms.firm_opening_date_set(firm=cfirm, actor=cadmin, opening_date=dt.date(2026, 3, 3))
    assert info.value.field == "opening_date"
    assert info.value.message == (
        "the firm has costs or deposits from 2026-03-02, before 2026-03-03: the opening date "
        "can be 2026-03-02 at the latest"
    )
    firms.firm_opening_date_set(firm=cfirm, actor=cadmin, opening_date=dt.date(2026, 3, 2))
    assert Firm.objects.get(pk=cfirm.pk).opening_date == dt.date(2026, 3, 2)


def test_an_opening_date_after_today_is_refused(cfirm, cadmin):
    with refused(ValidationFailed, code="validation_error") as info:
        firms.firm_opening_date_set(firm=cfirm, actor=cadmin, opening_date=dt.date(2026, 12, 7))
    assert info.value.message == "the opening date 2026-12-07 is after today (2026-12-06)"


def test_the_opening_date_needs_account_settings_access(cfirm, paralegal):
    with refused(PermissionDenied, code="permission_denied"):
        firms.firm_opening_date_set(firm=cfirm, actor=paralegal, opening_date=OPENING)


def test_the_migration_defaults_the_opening_date_to_the_first_cost_or_deposit(
    cfirm, cadmin, case, accepted, opened
):
    other = firms.firm_create(code="quiet-pi", name="Quiet Injury Law")
    add_cost(cfirm, cadmin, case, 12_500, cost_date=dt.date(2026, 5, 1))
    deposit_on(cfirm, cadmin, case, accepted, dt.date(2026, 4, 2))
    Firm.objects.filter(pk=cfirm.pk).update(opening_date=None)  # as before the migration
    migration = importlib.import_module("casebridge.cases.migrations.0004_firm_opening_date")
    migration.opening_date_from_first_record(apps, None)
    assert Firm.objects.get(pk=cfirm.pk).opening_date == dt.date(2026, 4, 2)
    assert Firm.objects.get(pk=other.pk).opening_date is None  # nothing recorded
