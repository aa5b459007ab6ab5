"""The trial balance exported to Excel from its screen in real Chromium (issue 15): the
Export menu of the report as of January's end, the XLSX downloaded and opened with
openpyxl, its total debit equal to the figure on the screen; the page with its menu open
fits a phone."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.browser.test_seed_books_setup import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def january(firm, admin, trust, client_file):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 1_234_567, on=dt.date(2026, 1, 10))
    trust_check(firm, admin, trust, client_file, 34_567, on=dt.date(2026, 1, 20))
    deposit(firm, admin, trust, client_file, 99_900, on=dt.date(2026, 2, 3))  # later


def test_the_trial_balance_to_xlsx_holds_the_screens_figure(
    live_server, page: Page, tmp_path, firm, admin, january
):
    base = live_server.url
    sign_in(page, base, "admin@smith.test", PASSWORD)
    page.goto(f"{base}/books/reports/trial-balance/")
    page.get_by_label("As of").fill("2026-01-31")
    page.get_by_role("button", name="Show").click()
    totals = page.locator("tfoot tr")
    expect(totals).to_contain_text("$12,000.00")
    on_screen = totals.locator("td").first.inner_text()

    menu = page.get_by_role("button", name="Export")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 820})
    with page.expect_download() as download_info:
        page.get_by_role("menuitem", name="Excel (XLSX)").click()
    download = download_info.value
    assert download.suggested_filename == "trial-balance-2026-01-31.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Account", "Name", "Type", "Debit", "Credit")
    total = rows[-1]
    assert total[0] == "Total"
    assert f"${total[3]:,.2f}" == on_screen == "$12,000.00"
    assert total[3] == total[4]
    assert sheet.cell(row=len(rows), column=4).number_format == '"$"#,##0.00;-"$"#,##0.00'
