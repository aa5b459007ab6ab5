"""The cases side's lists exported from their Export menus in real Chromium, on a phone
and on a desktop (issue 15): Client Trust Management's Staged tab and a case's Activity
tab (whose menu sits in its card's header) downloaded as XLSX and read back with openpyxl,
the fee's amount the figure the screen shows and the activity the rows the screen lists.
Each page with its menu open fits the window, the menu inside it, and passes axe
(tests/browser/screens.py)."""

from __future__ import annotations

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from casebridge.cases.services import settlement
from tests.browser import test_cases_settlement as settlement_walk
from tests.browser.screens import Walk
from tests.cases.helpers import add_cost, contact

pytestmark = pytest.mark.browser

lopez = settlement_walk.lopez


def export_menu(page: Page, walk: Walk, step: str) -> None:
    """Open the page's Export menu: every item inside the window, whichever side of it
    the button sits on (on a phone the page head's buttons wrap under its heading)."""
    button = page.get_by_role("button", name="Export")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    menu = page.get_by_role("menu", name="Export")
    expect(menu.get_by_role("menuitem", name="Excel (XLSX)")).to_be_visible()
    box = menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0, (step, box)
    assert box["x"] + box["width"] <= walk.width, (step, box)
    walk.step(step)


def download(page: Page, tmp_path, name: str):
    with page.expect_download() as info:
        page.get_by_role("menuitem", name=name).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_client_trust_and_a_cases_activity_to_xlsx(live_server, walk: Walk, lopez, tmp_path):
    firm, attorney, case = lopez["firm"], lopez["attorney"], lopez["case"]
    add_cost(firm, attorney, case, 30_001, payee="Records Inc")
    offer = settlement.negotiation_record(
        firm=firm,
        actor=attorney,
        case_id=case.pk,
        kind="offer",
        party_id=contact(firm, "Acme Insurance").pk,
        amount_cents=10_000_000,
    )
    settlement.offer_accept(firm=firm, actor=attorney, negotiation_id=offer.pk)
    settlement.deposit_record(
        firm=firm,
        actor=attorney,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=10_000_000,
        check_number="5501",
    )
    settlement.trust_item_stage(firm=firm, actor=attorney, case_id=case.pk, kind="fee")
    page, base = walk.page, live_server.url
    settlement_walk.sign_in(page, base, "sam.smith@lopez.test")

    page.goto(f"{base}/cases/client-trust/")
    fee_row = page.locator("[data-trust-item]").filter(has_text="Attorney fee")
    on_screen = fee_row.locator("td.num").inner_text()
    assert on_screen == "$33,330.00"
    export_menu(page, walk, "client-trust-export")
    path = download(page, tmp_path, "Excel (XLSX)")
    assert path.name.startswith("client-trust-staged-")
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert [(r[0], r[4], r[12]) for r in rows[1:]] == [(case.number, "Attorney fee", 33330)]
    assert f"${rows[1][12]:,.2f}" == on_screen

    page.goto(f"{base}/cases/{case.pk}/audit/")
    listed = page.locator("[data-audit-row]")
    expect(listed.first).to_be_visible()
    summaries = [s.inner_text() for s in listed.locator("td:nth-child(3) .small").all()]
    export_menu(page, walk, "activity-export")
    path = download(page, tmp_path, "Excel (XLSX)")
    assert path.name.startswith(f"audit-trail-case-{case.number}-")
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == ("When", "Who", "Action", "Record", "Summary", "Before and after")
    assert [r[4] for r in rows[1:]] == summaries
    assert f"Case {case.number}: Attorney fee of $33,330.00 staged" in " ".join(summaries)
    walk.done()
