"""Dates have a window on the cases side's screens (ADR 0007): a cost dated tomorrow or a
deposit before the firm's opening date is refused under its field, nothing written, and an
administrator sets the opening date in Account Settings -> Opening date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casebridge.cases.models import Firm
from casebridge.cases.services import firms, settlement
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.cases.conftest import cost_code

from .conftest import HX, nothing_written, text

TODAY = dt.date(2026, 12, 6)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def error_under(html: str, field: str) -> str:
    marker = f'id="id_{field}_error"'
    assert marker in html, html
    start = html.index(marker)
    return html[start : html.index("</div>", start)]


def test_a_cost_dated_tomorrow_is_refused_under_its_field(admin_client, cfirm, case, payee):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_new", args=[case.pk]),
            {
                "payee": "Records Inc",
                "amount": "125.00",
                "priority": "normal",
                "cost_code": cost_code(cfirm, "E101").pk,
                "cost_date": "2026-12-07",
            },
            **HX,
        )
    assert response.status_code == 422
    assert "Cost_date 2026-12-07 is after today (2026-12-06)" in error_under(
        text(response), "cost_date"
    )


def test_a_deposit_before_the_opening_date_is_refused_under_its_field(
    attorney_client, cfirm, cadmin, case, offer
):
    firms.firm_opening_date_set(firm=cfirm, actor=cadmin, opening_date=dt.date(2026, 1, 1))
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk)
    with nothing_written():
        response = attorney_client.post(
            reverse("cases:deposit_new", args=[case.pk]),
            {
                "offer": offer.pk,
                "amount": "100.00",
                "check_number": "1",
                "deposited_on": "2025-12-31",
            },
            **HX,
        )
    assert response.status_code == 422
    assert (
        "Deposited_on 2025-12-31 is before the firm&#x27;s opening date 2026-01-01 "
        "(Account Settings &gt; Opening date)"
    ) in error_under(text(response), "deposited_on")


def test_an_administrator_sets_the_opening_date(admin_client, cfirm, cadmin):
    url = reverse("cases:settings_opening_date")
    page = text(admin_client.get(url))
    assert 'aria-current="page">Opening date</a>' in page
    assert "No opening date is set" in page
    response = admin_client.post(url, {"opening_date": "2025-01-01"})
    assert response.status_code == 302
    assert Firm.objects.get(pk=cfirm.pk).opening_date == dt.date(2025, 1, 1)
    assert "Opening date saved: nothing can be dated before 2025-01-01." in text(
        admin_client.get(url)
    )
    assert AuditEvent.objects.filter(system="cases", entity_type="firm", action="change").exists()


def test_an_opening_date_after_the_first_cost_is_refused_under_its_field(admin_client, cfirm, cost):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:settings_opening_date"), {"opening_date": "2026-03-03"}
        )
    assert response.status_code == 422
    assert (
        "The firm has costs or deposits from 2026-03-02, before 2026-03-03: the opening date "
        "can be 2026-03-02 at the latest"
    ) in error_under(text(response), "opening_date")
