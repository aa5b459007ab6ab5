"""Journal entries on the screens (issue 14, the twins of /journal-entries): the list and
an entry's postings, a manual entry posted by an administrator (refused, with nothing
written, when it does not balance or names no file on a client trust line), and a reversal
by the accountant role or above."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse

from casebridge.books.models import GLAccount, JournalEntry, Posting, Role
from casebridge.books.services import auth
from tests.conftest import PASSWORD

from .conftest import HX, sign_in, text
from .test_auth_screens import field_error

D = dt.date(2026, 2, 10)


def _entry_form(**rows: dict[str, str]) -> dict[str, str]:
    data = {"date": D.isoformat(), "memo": "Office supplies paid twice"}
    for n, row in rows.items():
        for key, value in row.items():
            data[f"{key}_{n[-1]}"] = value
    return data


def _accounts(firm) -> tuple[GLAccount, GLAccount]:
    return (
        GLAccount.objects.get(firm=firm, number="5200"),  # Office Expenses
        GLAccount.objects.get(firm=firm, number="5000"),  # Bank Charges
    )


def test_an_administrator_posts_a_balanced_manual_entry(admin_client, firm, admin):
    office, charges = _accounts(firm)
    response = admin_client.post(
        reverse("books:journal_entry_new"),
        _entry_form(
            row1={"account": str(office.pk), "debit": "1,234.56", "line_memo": "moved"},
            row2={"account": str(charges.pk), "credit": "1234.56"},
        ),
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:journal"), text(response)
    entry = JournalEntry.objects.get(firm=firm, source="manual")
    assert (entry.date, entry.memo, entry.created_by_id) == (
        D,
        "Office supplies paid twice",
        admin.pk,
    )
    assert sorted(
        Posting.objects.filter(entry=entry).values_list(
            "account__number", "debit_cents", "credit_cents", "memo"
        )
    ) == [("5000", 0, 123_456, ""), ("5200", 123_456, 0, "moved")]
    listing = text(admin_client.get(reverse("books:journal")))
    assert f"Journal entry JE{entry.pk} posted." in listing
    assert f'href="{reverse("books:journal_entry", args=[entry.pk])}"' in listing
    assert "$1,234.56" in listing
    detail = text(admin_client.get(reverse("books:journal_entry", args=[entry.pk])))
    assert "5200 Office Expenses" in detail
    assert "moved" in detail


def test_an_unbalanced_entry_is_refused_and_nothing_is_written(admin_client, firm):
    office, charges = _accounts(firm)
    before = (JournalEntry.objects.count(), Posting.objects.count())
    response = admin_client.post(
        reverse("books:journal_entry_new"),
        _entry_form(
            row1={"account": str(office.pk), "debit": "100.00"},
            row2={"account": str(charges.pk), "credit": "99.99"},
        ),
        **HX,
    )
    assert response.status_code == 422
    assert "Entry does not balance: debits $100.00, credits $99.99" in text(response)
    assert (JournalEntry.objects.count(), Posting.objects.count()) == before


def test_a_client_trust_line_needs_a_known_file(admin_client, firm, funded_file):
    liability = GLAccount.objects.get(firm=firm, is_client_trust=True)
    office, _ = _accounts(firm)
    before = JournalEntry.objects.count()
    unknown = admin_client.post(
        reverse("books:journal_entry_new"),
        _entry_form(
            row1={"account": str(liability.pk), "debit": "10.00", "file": "NOPE-1"},
            row2={"account": str(office.pk), "credit": "10.00"},
        ),
        **HX,
    )
    assert unknown.status_code == 422
    assert "No file numbered NOPE-1" in field_error(text(unknown), "file_1")
    missing = admin_client.post(
        reverse("books:journal_entry_new"),
        _entry_form(
            row1={"account": str(liability.pk), "debit": "10.00"},
            row2={"account": str(office.pk), "credit": "10.00"},
        ),
        **HX,
    )
    assert missing.status_code == 422
    assert "Line 1: a client trust posting must name a file" in text(missing)
    assert JournalEntry.objects.count() == before


def test_only_an_administrator_posts_a_manual_entry(clerk_client, firm):
    office, charges = _accounts(firm)
    response = clerk_client.post(
        reverse("books:journal_entry_new"),
        _entry_form(
            row1={"account": str(office.pk), "debit": "1.00"},
            row2={"account": str(charges.pk), "credit": "1.00"},
        ),
    )
    assert response.status_code == 403
    assert not JournalEntry.objects.filter(source="manual").exists()
    assert "New journal entry" not in text(clerk_client.get(reverse("books:journal")))


def test_an_accountant_reverses_a_manual_entry_but_staff_may_not(admin_client, clerk_client, firm):
    office, charges = _accounts(firm)
    admin_client.post(
        reverse("books:journal_entry_new"),
        _entry_form(
            row1={"account": str(office.pk), "debit": "50.00"},
            row2={"account": str(charges.pk), "credit": "50.00"},
        ),
    )
    entry = JournalEntry.objects.get(source="manual")
    staff = auth.user_create(firm=firm, email="stan@smith.test", password=PASSWORD, role=Role.STAFF)
    auth.security_question_enroll(user=staff, question="First pet?", answer="Rex")
    staff_client = sign_in(Client(), staff)
    url = reverse("books:journal_entry_reverse", args=[entry.pk])
    assert staff_client.post(url, {"date": D.isoformat()}).status_code == 403
    assert "Reverse</a>" not in text(
        staff_client.get(reverse("books:journal_entry", args=[entry.pk]))
    )

    response = clerk_client.post(url, {"date": D.isoformat(), "memo": "posted twice"}, **HX)
    assert response["HX-Redirect"] == reverse("books:journal_entry", args=[entry.pk])
    reversal = JournalEntry.objects.get(reverses=entry)
    assert sorted(
        Posting.objects.filter(entry=reversal).values_list(
            "account__number", "debit_cents", "credit_cents"
        )
    ) == [("5000", 5_000, 0), ("5200", 0, 5_000)]
    detail = text(clerk_client.get(reverse("books:journal_entry", args=[entry.pk])))
    assert f"JE{reversal.pk}" in detail
    assert "Reverse</a>" not in detail
    again = clerk_client.post(url, {"date": D.isoformat()}, **HX)
    assert again.status_code == 422
    assert f"Journal entry {entry.pk} has already been reversed" in text(again)
    assert JournalEntry.objects.filter(reverses=entry).count() == 1


def test_a_deposits_entry_is_reversed_by_voiding_the_receipt(admin_client, funded_file):
    entry = JournalEntry.objects.get(postings__file=funded_file, postings__debit_cents=100_000)
    detail = text(admin_client.get(reverse("books:journal_entry", args=[entry.pk])))
    assert "The trust receipt" in detail
    assert "void it to reverse this entry" in detail
    assert "Reverse</a>" not in detail


def test_a_refused_line_is_named_by_the_row_it_was_typed_in(admin_client, firm, funded_file):
    liability = GLAccount.objects.get(firm=firm, is_client_trust=True)
    office, _ = _accounts(firm)
    response = admin_client.post(
        reverse("books:journal_entry_new"),
        _entry_form(
            row2={"account": str(office.pk), "credit": "10.00"},
            row4={"account": str(liability.pk), "debit": "10.00"},
        ),
        **HX,
    )
    assert response.status_code == 422
    assert "Line 4: a client trust posting must name a file" in field_error(
        text(response), "account_4"
    )
    assert not JournalEntry.objects.filter(source="manual").exists()
