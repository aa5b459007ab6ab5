"""The API twins of ADR 0055: a NACHA file's effective date defaults to the next banking
day and a non-banking day is 422 on ``effective_date``; a payee waiting for its prenote
is 409 naming the payment and the day it may go, and the bank details and the queue say
so."""

from __future__ import annotations

import datetime as dt

from casebridge.books.models import AchPayment
from tests.books.api.conftest import row_counts
from tests.books.api.test_ach_api import DETAILS, SETTINGS, _request


def _queued(api, trust, funded_file, maria, ref="cases-trust-7") -> AchPayment:
    made = api.post("/checks", _request(trust, funded_file, maria, external_ref=ref))
    assert made.status == 201
    return AchPayment.objects.get(disbursement_id=made.body["id"])


def test_a_file_defaults_to_the_next_banking_day_and_refuses_a_holiday(
    api, trust, funded_file, maria, on
):
    on(dt.date(2026, 12, 24))
    assert api.put(f"/contacts/{maria.pk}/bank-details", DETAILS).status == 200
    assert api.put(f"/bank-accounts/{trust.pk}/ach-settings", SETTINGS).status == 200
    payment = _queued(api, trust, funded_file, maria)

    before = row_counts()
    refused = api.post(
        "/ach-batches",
        {"bank_account_id": trust.pk, "payment_ids": [payment.pk], "effective_date": "2026-12-25"},
    )
    assert refused.status == 422
    assert refused.body["error"] == {
        "code": "validation_error",
        "message": "the effective entry date 2026-12-25 is not a banking day (Christmas Day): "
        "the next banking day is 2026-12-28",
        "field": "effective_date",
        "details": {"next_banking_day": "2026-12-28"},
    }
    assert row_counts() == before

    made = api.post("/ach-batches", {"bank_account_id": trust.pk, "payment_ids": [payment.pk]})
    assert (made.status, made.body["effective_date"]) == (201, "2026-12-28")


def test_a_payee_waiting_for_its_prenote_is_409_with_the_day_it_may_go(
    api, trust, funded_file, maria, on
):
    on(dt.date(2026, 12, 21))
    put = api.put(f"/contacts/{maria.pk}/bank-details", {**DETAILS, "prenote": True})
    assert (put.status, put.body["prenote_status"], put.body["live_entries_from"]) == (
        200,
        "pending",
        None,
    )
    api.put(f"/bank-accounts/{trust.pk}/ach-settings", SETTINGS)
    payment = _queued(api, trust, funded_file, maria)
    prenotes = api.post(
        "/ach-batches", {"bank_account_id": trust.pk, "payment_ids": [], "include_prenotes": True}
    )
    assert (prenotes.status, prenotes.body["prenote_count"]) == (201, 1)
    assert api.post(f"/ach-batches/{prenotes.body['id']}/sent").status == 200

    on(dt.date(2026, 12, 23))
    details = api.get(f"/contacts/{maria.pk}/bank-details").body
    assert (
        details["prenote_status"],
        details["prenote_settles_on"],
        details["live_entries_from"],
        details["prenote_note"],
    ) == (
        "sent",
        "2026-12-22",
        "2026-12-28",
        "Prenote settles 2026-12-22: live entries from 2026-12-28",
    )
    [queued] = api.get("/ach-payments", {"status": "queued"}).body["items"]
    assert queued["prenote_wait"] == {
        "reason": "its prenote settles on 2026-12-22: a live entry may follow from the third "
        "banking day after it settles, 2026-12-28",
        "possible_on": "2026-12-28",
    }
    before = row_counts()
    refused = api.post("/ach-batches", {"bank_account_id": trust.pk, "payment_ids": [payment.pk]})
    assert refused.status == 409
    assert refused.body["error"]["field"] == "payment_ids"
    assert refused.body["error"]["details"] == {"index": 0, "possible_on": "2026-12-28"}
    assert refused.body["error"]["message"].startswith(
        f"ACH payment {payment.pk} to Maria Lopez must wait for the prenote"
    )
    assert row_counts() == before

    on(dt.date(2026, 12, 28))
    [queued] = api.get("/ach-payments", {"status": "queued"}).body["items"]
    assert queued["prenote_wait"] is None
    made = api.post("/ach-batches", {"bank_account_id": trust.pk, "payment_ids": [payment.pk]})
    assert (made.status, made.body["effective_date"]) == (201, "2026-12-29")
