"""Files: the list and search, a new file, a file's trust ledger, deposits and checks."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    Check,
    Contact,
    File,
    JournalEntry,
    TrustLedger,
    TrustReceipt,
)
from casebridge.books.services import files as file_services
from casebridge.core.models import AuditEvent
from tests.conftest import account

from .conftest import HX, text
from .test_auth_screens import field_error


def make_files(firm, admin, count):
    client, _ = file_services.contact_find_or_create(firm=firm, actor=admin, name="Bulk Client")
    for n in range(count):
        file_services.file_find_or_create(
            firm=firm, actor=admin, name=f"Matter {n:03d}", client=client, number=f"B-{n:03d}"
        )


def test_files_are_listed_and_searchable(admin_client, client_file, firm, admin):
    make_files(firm, admin, 3)
    html = text(admin_client.get(reverse("books:files")))
    assert "Lopez v. Acme Trucking" in html
    assert "Matter 002" in html
    for q in ("lopez", client_file.number, "Maria"):
        html = text(admin_client.get(reverse("books:files"), {"q": q}))
        assert "Lopez v. Acme Trucking" in html, q
        assert "Matter 002" not in html, q
    html = text(admin_client.get(reverse("books:files"), {"q": "nothing-like-it"}))
    assert "No file matches" in html


def test_the_search_box_updates_just_the_results(admin_client, client_file):
    response = admin_client.get(
        reverse("books:files"), {"q": "lopez"}, HTTP_HX_TARGET="file-results", **HX
    )
    html = text(response)
    assert html.lstrip().startswith('<section class="card">')
    assert "Lopez v. Acme Trucking" in html


def test_the_file_list_is_paginated_by_fifty(admin_client, firm, admin):
    make_files(firm, admin, 51)
    first = text(admin_client.get(reverse("books:files")))
    assert first.count("/books/files/") > 50
    assert "Page 1 of 2" in first
    assert "Matter 000" not in first  # newest first
    second = text(admin_client.get(reverse("books:files"), {"page": "2"}))
    assert "Matter 000" in second
    assert "Page 2 of 2" in second
    junk = admin_client.get(reverse("books:files"), {"page": "lots"})
    assert junk.status_code == 200
    assert "Page 1 of 2" in text(junk)
    beyond = admin_client.get(reverse("books:files"), {"page": "99999999999999999999"})
    assert beyond.status_code == 200
    assert "Page 2 of 2" in text(beyond)


def test_opening_a_new_file(admin_client, firm, attorney):
    response = admin_client.post(
        reverse("books:file_new"),
        {
            "client_name": "Jane Roe",
            "client_email": "jane@example.com",
            "name": "Roe v. City Bus",
            "number": "PI-100",
            "responsible_attorney": attorney.pk,
            "opened_on": "2026-03-01",
        },
        **HX,
    )
    file = File.objects.get(firm=firm, number="PI-100")
    assert response["HX-Redirect"] == reverse("books:file_detail", args=[file.pk])
    assert (file.name, file.client.name, file.client.email) == (
        "Roe v. City Bus",
        "Jane Roe",
        "jane@example.com",
    )
    assert file.responsible_attorney == attorney
    assert file.opened_on == dt.date(2026, 3, 1)


def test_a_taken_file_number_writes_nothing(admin_client, firm, client_file):
    contacts = Contact.objects.count()
    response = admin_client.post(
        reverse("books:file_new"),
        {"client_name": "Someone New", "name": "Another", "number": client_file.number},
        **HX,
    )
    assert response.status_code == 422
    assert "is taken" in field_error(text(response), "number")
    assert Contact.objects.count() == contacts  # the contact was rolled back with the file
    assert File.objects.count() == 1


def test_the_file_page_shows_the_trust_ledger_with_a_running_balance(
    admin_client, firm, admin, trust, funded_file
):
    admin_client.post(
        reverse("books:file_check", args=[funded_file.pk]),
        {
            "bank_account": trust.pk,
            "payee": "Dr. Bones",
            "amount": "250.00",
            "request_date": "2026-02-03",
        },
    )
    html = text(admin_client.get(reverse("books:file_detail", args=[funded_file.pk])))
    start = html.index("Client trust ledger · Client Trust (IOLTA)")
    ledger = html[start : html.index("</section>", start)]
    rows = ledger.split("<tr")[2:]  # after the header row
    assert "Trust deposit from Acme Insurance" in rows[0]
    assert "<strong>$1,000.00</strong>" in rows[0]
    assert "Check to Dr. Bones" in rows[1]
    assert "<strong>$750.00</strong>" in rows[1]
    assert "Balance <strong>$750.00</strong>" in ledger
    assert "Record trust deposit" in html
    assert "Request check" in html


def test_recording_a_trust_deposit(admin_client, firm, trust, client_file):
    response = admin_client.post(
        reverse("books:file_deposit", args=[client_file.pk]),
        {
            "bank_account": trust.pk,
            "payer": "Acme Insurance",
            "amount": "$250,000.00",
            "received_on": "2026-03-02",
            "reference": "88123",
        },
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:file_detail", args=[client_file.pk])
    receipt = TrustReceipt.objects.get(file=client_file)
    assert (receipt.amount_cents, receipt.received_on, receipt.reference) == (
        25_000_000,
        dt.date(2026, 3, 2),
        "88123",
    )
    assert TrustLedger.objects.get(file=client_file).balance_cents == 25_000_000
    page = text(admin_client.get(reverse("books:file_detail", args=[client_file.pk])))
    assert "Deposit of $250,000.00 from Acme Insurance recorded." in page


def test_a_bad_amount_is_refused_next_to_the_amount(admin_client, trust, client_file):
    for amount, message in [
        ("12.345", "more than two decimal places"),
        ("ten dollars", "Enter an amount such as 1,234.56."),
        (".", "is not a number"),
        ("-5", "Enter a positive amount."),
        ("0", "must be greater than zero"),
        ("", "This field is required."),
        ("9" * 30, "Enter an amount such as 1,234.56."),
    ]:
        response = admin_client.post(
            reverse("books:file_deposit", args=[client_file.pk]),
            {"bank_account": trust.pk, "payer": "X", "amount": amount, "received_on": "2026-03-02"},
            **HX,
        )
        assert response.status_code == 422, amount
        assert message in field_error(text(response), "amount"), amount
    assert not TrustReceipt.objects.exists()
    assert not JournalEntry.objects.exists()


def test_a_deposit_only_goes_to_a_trust_account(admin_client, operating, client_file):
    response = admin_client.post(
        reverse("books:file_deposit", args=[client_file.pk]),
        {"bank_account": operating.pk, "payer": "X", "amount": "5", "received_on": "2026-03-02"},
    )
    assert "Select a valid choice" in field_error(text(response), "bank_account")
    assert not TrustReceipt.objects.exists()


def test_requesting_a_trust_check(admin_client, trust, funded_file):
    response = admin_client.post(
        reverse("books:file_check", args=[funded_file.pk]),
        {
            "bank_account": trust.pk,
            "payee": "Maria Lopez",
            "amount": "400",
            "memo": "Client advance",
            "request_date": "2026-02-05",
        },
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:file_detail", args=[funded_file.pk])
    check = Check.objects.get()
    assert (check.payee, check.amount_cents, check.status, check.file) == (
        "Maria Lopez",
        40_000,
        "queued",
        funded_file,
    )
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 60_000


def test_an_overdraw_is_shown_next_to_the_amount_and_writes_nothing(
    admin_client, trust, funded_file
):
    entries, events = JournalEntry.objects.count(), AuditEvent.objects.count()
    response = admin_client.post(
        reverse("books:file_check", args=[funded_file.pk]),
        {
            "bank_account": trust.pk,
            "payee": "Lien Holder",
            "amount": "1000.01",
            "request_date": "2026-02-05",
        },
        **HX,
    )
    assert response.status_code == 422
    error = field_error(text(response), "amount")
    assert "has $1,000.00 available in trust; $1,000.01 was requested" in error
    assert not Check.objects.exists()
    assert JournalEntry.objects.count() == entries
    assert AuditEvent.objects.count() == events
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 100_000


def test_an_operating_check_needs_an_activity_code(admin_client, firm, operating, client_file):
    data = {
        "bank_account": operating.pk,
        "payee": "Records Inc",
        "amount": "85.00",
        "request_date": "2026-02-05",
    }
    response = admin_client.post(reverse("books:file_check", args=[client_file.pk]), data, **HX)
    assert "An activity code is required for an operating check" in field_error(
        text(response), "activity_code"
    )
    assert not Check.objects.exists()
    code = ActivityCode.objects.get(firm=firm, code="E101")
    admin_client.post(
        reverse("books:file_check", args=[client_file.pk]), {**data, "activity_code": code.pk}
    )
    check = Check.objects.get()
    assert check.activity_code == code
    assert account(firm, AccountRole.ADVANCED_COSTS).balance_cents == 8_500


def test_voiding_a_deposit(admin_client, funded_file):
    receipt = TrustReceipt.objects.get(file=funded_file)
    response = admin_client.post(
        reverse("books:receipt_void", args=[receipt.pk]),
        {"void_date": "2026-02-10", "reason": "Check bounced"},
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:file_detail", args=[funded_file.pk])
    receipt.refresh_from_db()
    assert (receipt.status, receipt.voided_on) == ("voided", dt.date(2026, 2, 10))
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 0


def test_a_deposit_already_spent_cannot_be_voided(admin_client, trust, funded_file):
    admin_client.post(
        reverse("books:file_check", args=[funded_file.pk]),
        {"bank_account": trust.pk, "payee": "X", "amount": "600", "request_date": "2026-02-05"},
    )
    receipt = TrustReceipt.objects.get(file=funded_file)
    response = admin_client.post(
        reverse("books:receipt_void", args=[receipt.pk]),
        {"void_date": "2026-02-10", "reason": "Bounced"},
        **HX,
    )
    assert response.status_code == 422
    assert "available in trust" in text(response)
    receipt.refresh_from_db()
    assert receipt.status == "posted"
    assert TrustLedger.objects.get(file=funded_file).balance_cents == 40_000
