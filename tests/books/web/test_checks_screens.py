"""The check queue: Queued / Printed / Voided; Print and Void pop-ups."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.books.models import BankAccount, Check, JournalEntry, TrustLedger
from casebridge.books.services import checks
from casebridge.core.models import AuditEvent

from .conftest import HX, text
from .test_auth_screens import field_error


@pytest.fixture
def queued(firm, admin, trust, funded_file):
    """Two trust checks queued for the funded file ($100.00 and $200.00)."""
    return [
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee=payee,
            amount_cents=cents,
            file_id=funded_file.pk,
            request_date=dt.date(2026, 2, 2),
        )
        for payee, cents in (("Medical Lien Co", 10_000), ("Maria Lopez", 20_000))
    ]


def test_the_queue_has_three_tabs_with_counts(admin_client, queued):
    html = text(admin_client.get(reverse("books:checks")))
    assert 'aria-current="page">Queued <span class="count">2</span>' in html
    assert 'Printed <span class="count">0</span>' in html
    assert 'Voided <span class="count">0</span>' in html
    assert "Medical Lien Co" in html
    assert "Maria Lopez" in html
    assert "Print check to Medical Lien Co for $100.00" in html
    printed = text(admin_client.get(reverse("books:checks"), {"status": "printed"}))
    assert "No printed checks." in printed
    junk = admin_client.get(reverse("books:checks"), {"status": "everything"})
    assert junk.status_code == 200
    assert "Medical Lien Co" in text(junk)


def test_a_queued_checks_print_and_void_stay_in_its_row(admin_client, queued):
    """The day's work is printing: a queued check's two actions are buttons in the row,
    not behind its overflow menu (a third, the 1099, is on the printed tab)."""
    html = text(admin_client.get(reverse("books:checks")))
    row = html[html.index(f'id="check-{queued[0].pk}"') :]
    row = row[: row.index("</tr>")]
    assert "<details" not in row
    assert ">Print</a>" in row
    assert ">Void</a>" in row
    assert ">1099</a>" not in row


def test_print_defaults_to_the_banks_next_number(admin_client, trust, queued):
    BankAccount.objects.filter(pk=trust.pk).update(next_check_number=5001)
    html = text(admin_client.get(reverse("books:check_print", args=[queued[0].pk]), **HX))
    assert 'name="check_number" value="5001"' in html
    response = admin_client.post(
        reverse("books:check_print", args=[queued[0].pk]),
        {"check_number": "5001", "printed_on": "2026-02-03"},
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:checks") + "?status=queued"
    check = Check.objects.get(pk=queued[0].pk)
    assert (check.status, check.check_number, check.printed_on) == (
        "printed",
        5001,
        dt.date(2026, 2, 3),
    )
    assert BankAccount.objects.get(pk=trust.pk).next_check_number == 5002
    html = text(admin_client.get(reverse("books:check_print", args=[queued[1].pk]), **HX))
    assert 'name="check_number" value="5002"' in html
    queue = text(admin_client.get(reverse("books:checks")))
    assert "Check 5001 to Medical Lien Co printed." in queue


def test_a_check_number_already_used_is_refused_in_the_pop_up(admin_client, trust, queued):
    checks.check_print(firm=trust.firm, actor=None, check_id=queued[0].pk, check_number=7000)
    events = AuditEvent.objects.count()
    response = admin_client.post(
        reverse("books:check_print", args=[queued[1].pk]),
        {"check_number": "7000", "printed_on": "2026-02-03"},
        **HX,
    )
    assert response.status_code == 422
    assert "Check number 7000 is already used on Client Trust (IOLTA)" in field_error(
        text(response), "check_number"
    )
    check = Check.objects.get(pk=queued[1].pk)
    assert (check.status, check.check_number) == ("queued", None)
    assert AuditEvent.objects.count() == events


def test_printing_twice_is_refused(admin_client, queued):
    url = reverse("books:check_print", args=[queued[0].pk])
    admin_client.post(url, {"check_number": "8001", "printed_on": "2026-02-03"})
    response = admin_client.post(url, {"check_number": "8002", "printed_on": "2026-02-03"}, **HX)
    assert response.status_code == 422
    assert "is printed, not queued for printing" in text(response)
    assert Check.objects.get(pk=queued[0].pk).check_number == 8001


def test_a_check_number_must_be_a_positive_whole_number(admin_client, queued):
    url = reverse("books:check_print", args=[queued[0].pk])
    for junk in ("abc", "0", "-3", "1.5", "99999999999"):
        response = admin_client.post(url, {"check_number": junk, "printed_on": "2026-02-03"})
        assert response.status_code == 422, junk
        assert field_error(text(response), "check_number"), junk
    assert Check.objects.get(pk=queued[0].pk).status == "queued"


def test_voiding_a_check_puts_the_money_back(admin_client, queued, funded_file):
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 70_000
    response = admin_client.post(
        reverse("books:check_void", args=[queued[1].pk]),
        {"void_date": "2026-02-04", "reason": "Wrong payee"},
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:checks") + "?status=queued"
    check = Check.objects.get(pk=queued[1].pk)
    assert (check.status, check.voided_on, check.void_reason) == (
        "voided",
        dt.date(2026, 2, 4),
        "Wrong payee",
    )
    assert check.void_entry.reverses_id == check.entry_id
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 90_000
    voided = text(admin_client.get(reverse("books:checks"), {"status": "voided"}))
    assert "Wrong payee" in voided


def test_a_void_needs_a_reason_and_a_date_not_before_the_check(admin_client, queued):
    url = reverse("books:check_void", args=[queued[0].pk])
    entries = JournalEntry.objects.count()
    response = admin_client.post(url, {"void_date": "2026-02-04", "reason": ""}, **HX)
    assert "This field is required." in field_error(text(response), "reason")
    response = admin_client.post(url, {"void_date": "2026-01-01", "reason": "Oops"}, **HX)
    assert response.status_code == 422
    assert "The void date cannot be before the check's date" in field_error(
        text(response), "void_date"
    )
    response = admin_client.post(url, {"void_date": "2026-13-45", "reason": "Oops"}, **HX)
    assert "Enter a valid date." in field_error(text(response), "void_date")
    assert Check.objects.get(pk=queued[0].pk).status == "queued"
    assert JournalEntry.objects.count() == entries


def test_the_queue_is_paginated(admin_client, firm, admin, trust, funded_file):
    for n in range(51):
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee=f"Payee {n:02d}",
            amount_cents=100,
            file_id=funded_file.pk,
        )
    html = text(admin_client.get(reverse("books:checks")))
    assert "Page 1 of 2" in html
    assert "Payee 00" in html
    assert "Payee 50" not in html
    html = text(admin_client.get(reverse("books:checks"), {"status": "queued", "page": "2"}))
    assert "Payee 50" in html


def test_a_printed_checks_actions_menu_is_named_by_its_number_payee_and_amount(
    admin_client, firm, admin, queued
):
    checks.check_print(firm=firm, actor=admin, check_id=queued[0].pk, check_number=5001)
    printed = text(admin_client.get(reverse("books:checks"), {"status": "printed"}))
    # PDF, Reprint and Void: three actions, in the row's overflow menu
    assert (
        '<summary class="btn btn-sm" aria-label="Actions: check 5001 to Medical Lien Co for '
        '$100.00">' in printed
    )
    assert f"check {queued[0].pk} " not in printed
