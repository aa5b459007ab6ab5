""" "Today" is the firm's: a firm in Kiritimati (UTC+14) may date a receipt on the day its
own clock shows while a firm on the server's Los Angeles time is still on the day before;
the zone is the token's firm's, and the next request (another firm's, or none) is back on
the server's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from casebridge.books.models import TrustReceipt
from casebridge.books.services import setup
from casebridge.core import clock

#: 2026-12-06 12:00 UTC: 04:00 on the 6th in Los Angeles, 02:00 on the 7th in Kiritimati.
NOON_UTC = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def noon_utc(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOON_UTC)


@pytest.fixture
def receipt(trust, client_file) -> dict[str, object]:
    return {
        "bank_account_id": trust.pk,
        "file_id": client_file.pk,
        "payer": "Acme Insurance",
        "amount": "1000.00",
        "reference": "88123",
        "received_on": "2026-12-07",
    }


def test_on_the_servers_time_the_7th_is_tomorrow(api, receipt):
    reply = api.post("/trust-receipts", receipt)
    assert reply.status == 422
    assert reply.error["message"].startswith("received_on 2026-12-07 is after today (2026-12-06)")
    assert not TrustReceipt.objects.exists()


def test_a_firm_in_kiritimati_is_already_on_the_7th(api, receipt, firm, admin):
    setup.firm_time_zone_set(firm=firm, actor=admin, time_zone="Pacific/Kiritimati")
    reply = api.post("/trust-receipts", receipt)
    assert reply.status == 201, reply.body
    assert TrustReceipt.objects.get().received_on == dt.date(2026, 12, 7)
    # the request is over: the thread is back on the server's zone
    assert clock.today() == dt.date(2026, 12, 6)
