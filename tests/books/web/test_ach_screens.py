"""The ACH screens (ADR 0046): Pay by ACH from a file, Make ACH file from the queue and its
download, the checks queue without ACH payments, who may open what."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from casebridge.books.banking_days import banking_day_on_or_after
from casebridge.books.models import AchBatch, AchPayment, AchStatus, Contact, Role
from casebridge.books.services import ach, auth
from casebridge.books.services.checks import CheckRequest
from tests.conftest import PASSWORD

from .conftest import HX, sign_in, text

SETTINGS = {
    "immediate_destination": "021000021",
    "immediate_destination_name": "JPMorgan Chase",
    "immediate_origin": "1234567890",
    "immediate_origin_name": "Smith Personal Injury",
    "company_name": "Smith PI LLP",
    "company_id": "1234567890",
}


def _ready(firm, admin, trust) -> Contact:
    maria = Contact.objects.get(firm=firm, name="Maria Lopez")
    ach.payee_bank_account_set(
        firm=firm,
        actor=admin,
        contact_id=maria.pk,
        routing_number="026009593",
        account_number="123456789",
        account_type="checking",
        holder_kind="person",
    )
    return maria


def test_pay_by_ach_then_make_and_download_the_file(
    admin_client, firm, admin, trust, funded_file, today
):
    maria = _ready(firm, admin, trust)
    settings_url = reverse("books:bank_ach_settings", args=[trust.pk])
    refused = admin_client.post(
        settings_url, {**SETTINGS, "immediate_destination": "021000022"}, **HX
    )
    assert refused.status_code == 422
    assert "fails the ABA checksum" in text(refused)
    assert admin_client.post(settings_url, SETTINGS, **HX).status_code == 200

    response = admin_client.post(
        reverse("books:file_ach", args=[funded_file.pk]),
        {
            "bank_account": trust.pk,
            "payee_contact": maria.pk,
            "amount": "400.00",
            "request_date": "2026-03-02",
        },
        **HX,
    )
    assert response.status_code == 200, text(response)
    payment = AchPayment.objects.get()
    assert (payment.status, payment.disbursement.amount_cents) == (AchStatus.QUEUED, 40_000)
    assert f'value="{payment.disbursement_id}"' not in text(
        admin_client.get(reverse("books:checks"))
    )

    form = admin_client.get(reverse("books:ach_batch_new"), {"ids": payment.pk}, **HX)
    assert "1 payment from Client Trust (IOLTA) for $400.00" in text(form)
    made = admin_client.post(
        reverse("books:ach_batch_new"),
        {"ids": payment.pk, "effective_date": banking_day_on_or_after(today).isoformat()},
        **HX,
    )
    assert "ACH file A made: 1 entry, credits $400.00" in text(made)
    batch = AchBatch.objects.get()
    download = admin_client.get(reverse("books:ach_batch_file", args=[batch.pk]))
    assert download.content == ach.ach_batch_text(batch).encode("ascii")
    assert download["Content-Disposition"].startswith('attachment; filename="ach-')
    again = admin_client.post(
        reverse("books:ach_batch_new"),
        {"ids": payment.pk, "effective_date": banking_day_on_or_after(today).isoformat()},
        **HX,
    )
    assert again.status_code == 422
    assert "no longer queued" in text(again)
    assert AchBatch.objects.count() == 1


def test_staff_may_not_change_bank_details_and_another_firm_sees_nothing(
    firm, admin, trust, funded_file, other_client
):
    maria = _ready(firm, admin, trust)
    staff = auth.user_create(
        firm=firm,
        email="staff@smith.test",
        password=PASSWORD,
        first_name="Stu",
        last_name="Staff",
        role=Role.STAFF,
    )
    staff = auth.security_question_enroll(user=staff, question="First pet?", answer="Rex")
    staff_client = sign_in(Client(), staff)
    assert (
        staff_client.get(reverse("books:contact_bank_details", args=[maria.pk])).status_code == 403
    )
    assert (
        other_client.get(reverse("books:contact_bank_details", args=[maria.pk])).status_code == 404
    )
    theirs = other_client.get(reverse("books:ach"))
    assert theirs.status_code == 200
    assert "Maria Lopez" not in text(theirs)


def test_staff_may_not_make_download_or_send_an_ach_file(firm, admin, trust, funded_file, today):
    maria = _ready(firm, admin, trust)
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
    staff = auth.user_create(
        firm=firm, email="staff@smith.test", password=PASSWORD, role=Role.STAFF
    )
    staff = auth.security_question_enroll(user=staff, question="First pet?", answer="Rex")
    staff_client = sign_in(Client(), staff)
    made = staff_client.post(
        reverse("books:ach_batch_new"),
        {"ids": check.ach_payment.pk, "effective_date": banking_day_on_or_after(today).isoformat()},
        **HX,
    )
    assert made.status_code == 403
    assert AchBatch.objects.count() == 0

    batch = ach.ach_batch_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payment_ids=[check.ach_payment.pk],
        effective_date=banking_day_on_or_after(today),
    )
    assert staff_client.get(reverse("books:ach_batch_file", args=[batch.pk])).status_code == 403
    sent = staff_client.post(
        reverse("books:ach_batch_sent", args=[batch.pk]), {"sent_on": today.isoformat()}, **HX
    )
    assert sent.status_code == 403
    batch.refresh_from_db()
    assert batch.sent_on is None
    queue = staff_client.get(reverse("books:ach") + "?status=batched")
    assert queue.status_code == 200
    assert reverse("books:ach_batch_file", args=[batch.pk]) not in queue.content.decode()
