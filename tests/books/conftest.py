"""Fixtures the books' ACH tests share (tests/books/test_ach.py, test_ach_fixes.py,
test_ach_calendar.py and their API and screen twins): Maria Lopez, the client of the file,
with bank details, the trust account set up for ACH, and ``on(day)``, the books' today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from casebridge.books.models import Contact, PayeeBankAccount
from casebridge.books.services import ach
from casebridge.core import clock


@pytest.fixture
def maria(firm, client_file) -> Contact:
    return Contact.objects.get(firm=firm, name="Maria Lopez")


@pytest.fixture
def maria_bank(firm, admin, maria, client_file) -> PayeeBankAccount:
    return ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="026009593",
        account_number="0012 3456-789",
        account_type="checking",
        holder_kind="person",
    )


@pytest.fixture
def ach_ready(firm, admin, trust):
    from casebridge.books.services.bank_accounts import bank_account_check_printing_set

    bank_account_check_printing_set(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        bank_name="JPMorgan Chase",
        routing_number="021000021",
        account_number="987654321",
    )
    return ach.ach_settings_set(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        immediate_destination="021000021",
        immediate_destination_name="JPMorgan Chase",
        immediate_origin="1234567890",
        immediate_origin_name="Smith Personal Injury",
        company_name="Smith PI LLP",
        company_id="1234567890",
        balanced=False,
    )


@pytest.fixture
def on(monkeypatch) -> Callable[[dt.date], dt.date]:
    """``on(day)``: the books' today is ``day`` from here on (banking days, prenote waits)."""

    def set_today(day: dt.date) -> dt.date:
        monkeypatch.setattr(clock, "today", lambda: day)
        return day

    return set_today
