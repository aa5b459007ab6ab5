"""The ACH screens on banking days (ADR 0055): Make ACH file offers the next banking day and
refuses a holiday on its field; the ACH page shows each payee's prenote status and, on a
queued payment waiting for its prenote, the day it may go; the refusal says why."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from casebridge.books.models import AchBatch, AchPayment, AchStatus, Contact
from casebridge.books.services import ach
from casebridge.books.services.checks import CheckRequest

from .conftest import HX, text

SETTINGS = {
    "immediate_destination": "021000021",
    "immediate_destination_name": "JPMorgan Chase",
    "immediate_origin": "1234567890",
    "immediate_origin_name": "Smith Personal Injury",
    "company_name": "Smith PI LLP",
    "company_id": "1234567890",
}


def _queued(firm, admin, trust, funded_file, *, prenote: bool) -> AchPayment:
    maria = Contact.objects.get(firm=firm, name="Maria Lopez")
    ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="026009593",
        account_number="123456789",
        account_type="checking",
        holder_kind="person",
        prenote=prenote,
    )
    ach.ach_settings_set(
        firm=firm, actor=admin, bank_account_id=trust.pk, balanced=False, **SETTINGS
    )
    check, _ = ach.ach_payment_request(
        firm=firm,
        actor=admin,
        request=CheckRequest(
            bank_account_id=trust.pk, payee=maria.name, amount_cents=25_000, file_id=funded_file.pk
        ),
        payee_contact_id=maria.pk,
    )
    return check.ach_payment


def test_make_ach_file_offers_the_next_banking_day_and_refuses_christmas(
    admin_client, firm, admin, trust, funded_file, on
):
    on(dt.date(2026, 12, 24))
    payment = _queued(firm, admin, trust, funded_file, prenote=False)
    form = admin_client.get(reverse("books:ach_batch_new"), {"ids": payment.pk}, **HX)
    assert 'name="effective_date" value="2026-12-28"' in text(form)
    assert "A banking day: not a weekend or a Federal Reserve holiday." in text(form)

    refused = admin_client.post(
        reverse("books:ach_batch_new"), {"ids": payment.pk, "effective_date": "2026-12-25"}, **HX
    )
    assert refused.status_code == 422
    # on the field, as a sentence
    assert (
        '<div class="field-error" id="id_effective_date_error"><p>The effective entry date '
        "2026-12-25 is not a banking day (Christmas Day): the next banking day is 2026-12-28"
        "</p></div>"
    ) in text(refused)
    assert AchBatch.objects.count() == 0
    payment.refresh_from_db()
    assert payment.status == AchStatus.QUEUED


def test_the_ach_page_shows_the_prenote_and_the_day_a_payment_may_go(
    admin_client, firm, admin, trust, funded_file, on
):
    on(dt.date(2026, 12, 21))
    payment = _queued(firm, admin, trust, funded_file, prenote=True)
    page = text(admin_client.get(reverse("books:ach")))
    assert "Prenote to send: live entries wait for it" in page
    assert "Waits for its prenote: from 2026-12-28" in page

    prenotes = ach.ach_batch_create(
        firm=firm, actor=admin, bank_account_id=trust.pk, payment_ids=[], include_prenotes=True
    )
    ach.ach_batch_mark_sent(firm=firm, actor=admin, batch_id=prenotes.pk)
    on(dt.date(2026, 12, 23))
    page = text(admin_client.get(reverse("books:ach")))
    assert "Prenote settles 2026-12-22: live entries from 2026-12-28" in page
    assert "Waits for its prenote: from 2026-12-28" in page
    details = text(
        admin_client.get(
            reverse("books:contact_bank_details", args=[payment.payee_account.contact_id]), **HX
        )
    )
    assert "Prenote settles 2026-12-22: live entries from 2026-12-28." in details

    refused = admin_client.post(
        reverse("books:ach_batch_new"), {"ids": payment.pk, "effective_date": "2026-12-24"}, **HX
    )
    assert refused.status_code == 422
    assert (
        f"ACH payment {payment.pk} to Maria Lopez must wait for the prenote to these bank "
        "details: its prenote settles on 2026-12-22: a live entry may follow from the third "
        "banking day after it settles, 2026-12-28"
    ) in text(refused)
    assert AchBatch.objects.count() == 1  # the prenotes' file only

    on(dt.date(2026, 12, 28))
    page = text(admin_client.get(reverse("books:ach")))
    assert "Prenote settled 2026-12-22: live entries allowed" in page
    assert "Waits for its prenote" not in page
    made = admin_client.post(
        reverse("books:ach_batch_new"), {"ids": payment.pk, "effective_date": "2026-12-29"}, **HX
    )
    assert "ACH file A made: 1 entry, credits $250.00" in text(made)
