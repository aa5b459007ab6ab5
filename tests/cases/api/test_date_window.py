"""Cost and deposit dates out of the window are refused by the cases API (ADR 0007): 422
naming the field and the range, nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.cases.services import firms
from casebridge.core import clock
from tests.cases.api.conftest import db_state, refused
from tests.cases.conftest import cost_code

TODAY = dt.date(2026, 12, 6)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def test_a_cost_dated_tomorrow_is_refused_naming_the_field(api, cfirm, case, payee):
    before = db_state()
    reply = api.post(
        "/costs",
        {
            "case_id": case.pk,
            "payee_id": payee.pk,
            "amount": "125.50",
            "cost_code_id": cost_code(cfirm, "MEDREC").pk,
            "cost_date": "2026-12-07",
        },
    )
    refused(
        reply,
        422,
        "validation_error",
        "cost_date 2026-12-07 is after today (2026-12-06); dates from 2016-12-06 to 2026-12-06 "
        "are accepted",
        field="cost_date",
        earliest="2016-12-06",
        latest="2026-12-06",
    )
    assert db_state() == before


def test_a_deposit_before_the_opening_date_is_refused_naming_the_field(
    api, cfirm, cadmin, case, accepted_offer
):
    firms.firm_opening_date_set(firm=cfirm, actor=cadmin, opening_date=dt.date(2026, 1, 1))
    before = db_state()
    reply = api.post(
        f"/cases/{case.pk}/deposits",
        {
            "offer_id": accepted_offer.pk,
            "amount": "1000.00",
            "check_number": "88123",
            "deposited_on": "2025-12-31",
        },
    )
    refused(
        reply,
        422,
        "validation_error",
        "deposited_on 2025-12-31 is before the firm's opening date 2026-01-01",
        field="deposited_on",
    )
    assert db_state() == before
