"""A check paid by ACH answers its method and how the payment stands, what the bridge
reads (ADR 0055): queued, in a file (its effective date and trace number), sent, returned;
a printed check answers method "check" and no ACH state (fields added, none changed)."""

from __future__ import annotations

import datetime as dt

from tests.books.api.test_ach_api import DETAILS, SETTINGS, _request
from tests.books.api.test_ach_calendar_api import _queued


def test_a_check_paid_by_ach_answers_how_the_payment_stands(api, trust, funded_file, maria, on):
    on(dt.date(2026, 12, 21))
    api.put(f"/contacts/{maria.pk}/bank-details", DETAILS)
    api.put(f"/bank-accounts/{trust.pk}/ach-settings", SETTINGS)
    payment = _queued(api, trust, funded_file, maria)
    check_id = payment.disbursement_id

    def state():
        body = api.get("/checks", {"ids": str(check_id)}).body["items"][0]
        return body["status"], body["method"], body["ach"]

    assert state() == (
        "queued",
        "ach",
        {
            "payment_id": payment.pk,
            "status": "queued",
            "batch_id": None,
            "effective_date": None,
            "trace_number": "",
            "sent_on": None,
            "returned_on": None,
            "return_reason": "",
        },
    )
    batch = api.post("/ach-batches", {"bank_account_id": trust.pk, "payment_ids": [payment.pk]})
    assert state()[2] | {"payment_id": 0} == {
        "payment_id": 0,
        "status": "batched",
        "batch_id": batch.body["id"],
        "effective_date": "2026-12-22",
        "trace_number": "021000020000001",
        "sent_on": None,
        "returned_on": None,
        "return_reason": "",
    }
    api.post(f"/ach-batches/{batch.body['id']}/sent")
    assert (state()[0], state()[2]["status"], state()[2]["sent_on"]) == (
        "queued",
        "sent",
        "2026-12-21",
    )
    api.post(f"/ach-payments/{payment.pk}/return", {"reason": "R03 no account"})
    status, method, ach = state()
    assert (status, method, ach["status"], ach["returned_on"], ach["return_reason"]) == (
        "voided",
        "ach",
        "returned",
        "2026-12-21",
        "R03 no account",
    )


def test_a_printed_check_answers_method_check_and_no_ach(api, trust, funded_file, maria):
    made = api.post("/checks", _request(trust, funded_file, maria, method="check"))
    assert made.status == 201
    assert (made.body["method"], made.body["ach"]) == ("check", None)
    batch = api.post(
        "/checks/batch",
        {"items": [_request(trust, funded_file, maria, method="check", external_ref="x-2")]},
    )
    assert [(i["method"], i["ach"]) for i in batch.body["items"]] == [("check", None)]
