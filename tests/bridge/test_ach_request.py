"""The bridge asks the books for an ACH payment (ADR 0046): the same check request with
``method="ach"`` and the payee's books contact; refused with a clear 4xx when the payee has
no bank details, paid by ACH (never printed) when it has."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import AchPayment, AchStatus, Check
from casebridge.books.services import ach
from casebridge.books.services import checks as books_checks
from casebridge.bridge.client import BooksRejected, CheckRequest, FileRequest
from casebridge.bridge.services import connection as conn_services


@pytest.fixture
def patient(settings):
    """A fresh live server's first answers may be slow on a busy machine."""
    settings.BRIDGE_HTTP_TIMEOUT = 60.0
    return settings


def test_an_ach_request_needs_the_payees_bank_details(patient, books, cases, connected):
    client = conn_services.client_for(connected)
    try:
        (file,) = client.files_find_or_create(
            [
                FileRequest(
                    external_ref="cases-case-1",
                    name="Lopez v. Acme",
                    client_external_ref="cases-contact-1",
                    client_name="Maria Lopez",
                )
            ],
            idempotency_key="ach-files",
        )
        books_checks.trust_receipt_record(
            firm=books.firm,
            actor=books.admin,
            bank_account_id=books.trust.pk,
            file_id=file.id,
            payer="Acme Insurance",
            amount_cents=100_000,
            received_on=dt.date(2026, 3, 2),
        )
        request = CheckRequest(
            external_ref="cases-trust-1",
            bank_account_id=books.trust.pk,
            payee="Maria Lopez",
            amount_cents=60_000,
            file_id=file.id,
            activity_code_id=None,
            request_date=dt.date(2026, 3, 3),
            method="ach",
            payee_contact_id=file.client_id,
        )
        with pytest.raises(BooksRejected) as refused:
            client.checks_request([request], idempotency_key="ach-1")
        assert (refused.value.status, refused.value.field) == (422, "items[0].payee_contact")
        assert "Maria Lopez has no bank details for ACH" in refused.value.message
        assert Check.objects.filter(firm=books.firm).count() == 0

        ach.payee_bank_account_set(
            firm=books.firm,
            actor=books.admin,
            contact_id=file.client_id,
            routing_number="026009593",
            account_number="123456789",
            account_type="checking",
            holder_kind="person",
        )
        (sent,) = client.checks_request([request], idempotency_key="ach-2")
    finally:
        client.close()
    assert (sent.status, sent.check_number, sent.amount_cents) == ("queued", None, 60_000)
    payment = AchPayment.objects.get(disbursement_id=sent.id)
    assert payment.status == AchStatus.QUEUED
