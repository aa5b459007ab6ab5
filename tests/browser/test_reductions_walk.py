"""A lien reduction in real Chromium, on a phone and on a desktop: the worked settlement's
three medical liens, the Reduction calculator (a target net typed, the scenarios side by
side swapped in by htmx), the procurement-cost amounts requested from the three holders,
and one holder's agreement recorded in the lien's Reductions pop-up, which accepts and
locks the lien. Each step fits the window and passes axe (tests/browser/screens.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from casebridge.cases.models import Lien, LienReduction
from casebridge.cases.services import settlement
from tests.browser import test_cases_settlement as settlement_walk
from tests.browser.screens import Walk
from tests.cases.helpers import add_cost, contact

pytestmark = pytest.mark.browser

lopez = settlement_walk.lopez


def test_a_lien_reduction_from_the_calculator_to_an_agreement(live_server, walk: Walk, lopez):
    firm, attorney, case = lopez["firm"], lopez["attorney"], lopez["case"]
    add_cost(firm, attorney, case, 500_000, cost_code="E119")
    add_cost(firm, attorney, case, 350_000, cost_code="MEDREC")
    made = settlement.negotiation_record(
        firm=firm,
        actor=attorney,
        case_id=case.pk,
        kind="offer",
        party_id=contact(firm, "Acme Insurance").pk,
        amount_cents=25_000_000,
    )
    settlement.offer_accept(firm=firm, actor=attorney, negotiation_id=made.pk)
    for holder, cents in [
        ("Valley Medical", 2_000_000),
        ("Ortho Partners", 1_500_000),
        ("City Imaging", 1_000_000),
    ]:
        settlement.lien_create(
            firm=firm,
            actor=attorney,
            case_id=case.pk,
            kind="medical",
            holder_id=contact(firm, holder).pk,
            claimed_cents=cents,
        )
    page, base = walk.page, live_server.url
    settlement_walk.sign_in(page, base, "sam.smith@lopez.test")
    page.goto(f"{base}/cases/{case.pk}/settlement/")

    page.get_by_role("link", name="Reduction calculator").click()
    box = settlement_walk.dialog(page, "Reduction calculator")
    expect(box.locator("[data-figure=net-current]")).to_have_text("$113,175.00")
    expect(box.locator("[data-figure=net-procurement]")).to_have_text("$129,703.50")
    box.get_by_label("Target net to client").fill("120,000.00")
    with settlement_walk.swapped_and_settled(page):
        box.get_by_role("button", name="Calculate").click()
    expect(box.locator("[data-figure=net-target_net]")).to_have_text("$120,000.00")
    # the step (axe) after the swap: axe leaves empty style attributes that htmx's settling
    # would copy onto the swapped elements of the same ids, which the CSP refuses
    walk.step("calculator")

    page.goto(f"{base}/cases/{case.pk}/settlement/")
    page.get_by_role("link", name="Reduction calculator").click()
    box = settlement_walk.dialog(page, "Reduction calculator")
    box.get_by_role("link", name="Request the procurement cost amounts").click()
    box = settlement_walk.dialog(page, "Request these amounts")
    expect(box.locator("#requested-amounts")).to_contain_text("$12,654.00")
    walk.step("request")
    box.get_by_role("button", name="Request these amounts").click()
    settlement_walk.toast(page, "Reductions requested from 3 lien holders: $28,471.50 in all.")
    assert list(LienReduction.objects.order_by("pk").values_list("amount_cents", flat=True)) == [
        1_265_400,
        949_050,
        632_700,
    ]

    page.get_by_role("link", name="Reductions of the lien of Valley Medical").click()
    box = settlement_walk.dialog(page, "Reductions · Valley Medical")
    expect(box.locator("#reduction-history")).to_contain_text("Reduction requested")
    walk.step("reductions")
    box.get_by_label("Step").select_option("accepted")
    box.get_by_label("Amount").fill("14,500.00")
    box.get_by_role("button", name="Record step").click()
    settlement_walk.toast(page, "Lien of Valley Medical accepted at $14,500.00 and locked.")
    valley = Lien.objects.get(case=case, holder__name="Valley Medical")
    assert (valley.final_cents, valley.accepted_on is not None) == (1_450_000, True)
    walk.done()
