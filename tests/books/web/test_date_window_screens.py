"""Dates have a window on the screens too (ADR 0007): Settings -> Opening date, where an
administrator sets the firm's opening date, and a refused date shown under its field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.books.models import Firm, JournalEntry, TrustReceipt
from casebridge.core import clock
from casebridge.core.models import AuditEvent

from .conftest import HX, text
from .test_auth_screens import field_error

TODAY = dt.date(2026, 12, 6)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def url() -> str:
    return reverse("books:settings_opening_date")


def test_the_opening_date_tab_says_what_stands_for_it_while_none_is_set(admin_client, funded_file):
    html = text(admin_client.get(url()))
    assert 'aria-current="page">Opening date</a>' in html
    assert "No opening date is set: the first entry, dated 2026-02-01, stands for it." in html


def test_an_administrator_sets_the_opening_date(admin_client, firm, admin, funded_file):
    response = admin_client.post(url(), {"opening_date": "2026-01-01"})
    assert response.status_code == 302
    assert response["Location"] == url()
    assert Firm.objects.get(pk=firm.pk).opening_date == dt.date(2026, 1, 1)
    html = text(admin_client.get(url()))
    assert "Opening date saved: nothing can be dated before 2026-01-01." in html
    event = AuditEvent.objects.get(entity_type="firm", action="change")
    assert (event.actor_id, event.after) == (admin.pk, {"opening_date": "2026-01-01"})


def test_an_opening_date_after_the_first_entry_is_refused_under_the_field(
    admin_client, firm, funded_file
):
    response = admin_client.post(url(), {"opening_date": "2026-02-02"})
    assert response.status_code == 422
    assert (
        "The books hold entries from 2026-02-01, before 2026-02-02: the opening date can be "
        "2026-02-01 at the latest" in field_error(text(response), "opening_date")
    )
    assert Firm.objects.get(pk=firm.pk).opening_date is None
    assert not AuditEvent.objects.filter(entity_type="firm", action="change").exists()


def test_a_deposit_dated_ahead_is_refused_under_its_field(admin_client, trust, client_file):
    response = admin_client.post(
        reverse("books:file_deposit", args=[client_file.pk]),
        {
            "bank_account": trust.pk,
            "payer": "Acme Insurance",
            "amount": "250.00",
            "received_on": "2028-01-05",
        },
        **HX,
    )
    assert response.status_code == 422
    assert "Received_on 2028-01-05 is after today (2026-12-06)" in field_error(
        text(response), "received_on"
    )
    assert not TrustReceipt.objects.exists()
    assert not JournalEntry.objects.exists()
