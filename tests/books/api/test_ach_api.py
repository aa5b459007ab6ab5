"""The ACH endpoints (ADR 0046): the bridge's check request paid by ACH, refused 422 when
the payee has no bank details; a NACHA file made once and downloaded byte for byte."""

from __future__ import annotations

from casebridge.books.banking_days import banking_day_on_or_after
from casebridge.books.models import AchPayment, Contact
from tests.books.api.conftest import row_counts

DETAILS = {
    "routing_number": "026009593",
    "account_number": "123456789",
    "account_type": "checking",
    "holder_kind": "person",
}
SETTINGS = {
    "immediate_destination": "021000021",
    "immediate_destination_name": "JPMorgan Chase",
    "immediate_origin": "1234567890",
    "immediate_origin_name": "Smith Personal Injury",
    "company_name": "Smith PI LLP",
    "company_id": "1234567890",
    "balanced": False,
}


def _request(trust, funded_file, contact, **extra):
    return {
        "bank_account_id": trust.pk,
        "payee": contact.name,
        "amount": "250.00",
        "file_id": funded_file.pk,
        "request_date": "2026-03-02",
        "method": "ach",
        "payee_contact_id": contact.pk,
        "external_ref": "cases-trust-7",
        **extra,
    }


def test_an_ach_request_for_a_payee_without_bank_details_is_422_writing_nothing(
    api, firm, trust, funded_file
):
    maria = Contact.objects.get(firm=firm, name="Maria Lopez")
    before = row_counts()
    reply = api.post("/checks", _request(trust, funded_file, maria))
    assert reply.status == 422
    assert reply.body["error"]["field"] == "payee_contact"
    assert reply.body["error"]["message"] == (
        "Maria Lopez has no bank details for ACH: add them on the contact, or pay by check"
    )
    assert row_counts() == before


def test_the_bridge_requests_an_ach_payment_and_a_file_is_made_once(
    api, firm, trust, funded_file, today
):
    maria = Contact.objects.get(firm=firm, name="Maria Lopez")
    put = api.put(f"/contacts/{maria.pk}/bank-details", DETAILS)
    assert put.status == 200
    assert (put.body["account_number_masked"], put.body["sec_code"]) == ("•••••6789", "PPD")
    assert api.put(f"/bank-accounts/{trust.pk}/ach-settings", SETTINGS).status == 200

    made = api.post("/checks", _request(trust, funded_file, maria))
    assert (made.status, made.body["status"], made.body["check_number"]) == (201, "queued", None)
    again = api.post("/checks", _request(trust, funded_file, maria))
    assert (again.status, again.body["id"]) == (200, made.body["id"])
    as_check = api.post("/checks", _request(trust, funded_file, maria, method="check"))
    assert as_check.status == 409
    assert as_check.body["error"]["details"]["differing"] == ["method"]

    payment = AchPayment.objects.get(disbursement_id=made.body["id"])
    queued = api.get("/ach-payments", {"status": "queued"}).body["items"]
    assert [(p["id"], p["amount"], p["sec_code"]) for p in queued] == [
        (payment.pk, "250.00", "PPD")
    ]
    body = {
        "bank_account_id": trust.pk,
        "payment_ids": [payment.pk],
        "effective_date": banking_day_on_or_after(today).isoformat(),
    }
    batch = api.post("/ach-batches", body)
    assert batch.status == 201
    assert (batch.body["entry_count"], batch.body["total_credit"], batch.body["entry_hash"]) == (
        1,
        "250.00",
        2_600_959,
    )
    twice = api.post("/ach-batches", body)
    assert twice.status == 409
    assert twice.body["error"]["field"] == "payment_ids"

    first = api.client.get(
        f"/books/api/v1/ach-batches/{batch.body['id']}/file",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    second = api.client.get(
        f"/books/api/v1/ach-batches/{batch.body['id']}/file",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert first.status_code == 200
    assert first.content == second.content
    lines = first.content.decode("ascii").splitlines()
    assert [len(line) for line in lines] == [94] * 10
    assert lines[4][31:43] == "000000000000"  # file control: no debits
    assert lines[4][43:55] == "000000025000"  # file control: the credit

    sent = api.post(f"/ach-batches/{batch.body['id']}/sent")
    assert (sent.status, sent.body["sent_on"]) == (200, today.isoformat())
    returned = api.post(f"/ach-payments/{payment.pk}/return", {"reason": "R01"})
    assert (returned.status, returned.body["status"]) == (200, "returned")
    assert api.get(f"/checks/{made.body['id']}").body["status"] == "voided"


def _staff_api(client, firm):
    from casebridge.books.models import Role
    from casebridge.books.services import auth
    from tests.books.api.conftest import ApiClient, issue_token
    from tests.conftest import PASSWORD

    user = auth.user_create(firm=firm, email="stu@smith.test", password=PASSWORD, role=Role.STAFF)
    auth.security_question_enroll(user=user, question="First pet?", answer="Rex")
    return ApiClient(client, issue_token(firm.code, user.email))


def test_staff_get_403_making_downloading_or_sending_a_file_writing_nothing(
    api, client, firm, trust, funded_file, today
):
    from casebridge.books.models import AchBatch
    from casebridge.core.models import AuditEvent

    maria = Contact.objects.get(firm=firm, name="Maria Lopez")
    api.put(f"/contacts/{maria.pk}/bank-details", DETAILS)
    api.put(f"/bank-accounts/{trust.pk}/ach-settings", SETTINGS)
    made = api.post("/checks", _request(trust, funded_file, maria))
    payment = AchPayment.objects.get(disbursement_id=made.body["id"])
    body = {
        "bank_account_id": trust.pk,
        "payment_ids": [payment.pk],
        "effective_date": banking_day_on_or_after(today).isoformat(),
    }
    staff = _staff_api(client, firm)
    before = row_counts()
    refused = staff.post("/ach-batches", body)
    assert (refused.status, refused.body["error"]["code"]) == (403, "role_required")
    assert row_counts() == before

    batch = api.post("/ach-batches", body).body
    before, audits = row_counts(), AuditEvent.objects.count()
    download = staff.client.get(
        f"/books/api/v1/ach-batches/{batch['id']}/file",
        headers={"Authorization": f"Bearer {staff.token}"},
    )
    assert download.status_code == 403
    assert staff.post(f"/ach-batches/{batch['id']}/sent").status == 403
    assert (row_counts(), AuditEvent.objects.count()) == (before, audits)
    assert AchBatch.objects.get(pk=batch["id"]).sent_on is None

    mine = api.client.get(
        f"/books/api/v1/ach-batches/{batch['id']}/file",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert mine.status_code == 200
    assert (
        AuditEvent.objects.filter(
            entity_type="ach_batch", entity_id=str(batch["id"]), action="download"
        ).count()
        == 1
    )


def test_an_ach_amount_over_ten_digits_is_422_on_amount_writing_nothing(
    api, firm, trust, funded_file
):
    maria = Contact.objects.get(firm=firm, name="Maria Lopez")
    api.put(f"/contacts/{maria.pk}/bank-details", DETAILS)
    before = row_counts()
    reply = api.post("/checks", _request(trust, funded_file, maria, amount="100000000.00"))
    assert reply.status == 422
    assert reply.body["error"]["field"] == "amount"
    assert row_counts() == before
