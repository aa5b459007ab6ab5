"""Bank statements in (issue 11), in real Chromium: upload a camt.053 statement from the
dashboard's link, see the result and the statement's balance and lines; the pages fit a
phone's width."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from casebridge.books.models import StatementLine
from tests.books.statements.test_parsers import FIXTURES
from tests.browser.test_seed_books_setup import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_upload_a_statement_and_see_its_lines(live_server, page: Page, firm, admin, trust):
    sign_in(page, live_server.url, "admin@smith.test", PASSWORD)
    trust_row = page.get_by_role("row").filter(has_text=trust.name)
    trust_row.get_by_role("link", name="Statements").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("bank statements")

    page.get_by_label("Statement file").set_input_files(str(FIXTURES / "trust_march.camt053.xml"))
    page.get_by_role("button", name="Import").click()

    expect(page.locator("#import-result")).to_contain_text("imported: 3 new lines, 0 already known")
    page.get_by_role("link", name="See the statement").click()
    expect(page.locator("#closing-balance")).to_have_text("$97,487.50")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("-$2,500.00")
    assert StatementLine.objects.filter(bank_account=trust).count() == 3

    page.set_viewport_size({"width": 390, "height": 844})
    bank_page = f"{live_server.url}/books/bank-accounts/{trust.pk}/statements/"
    for url in (page.url, bank_page, f"{live_server.url}/books/"):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)


def test_a_refused_file_is_shown_with_where(live_server, page: Page, firm, admin, trust):
    sign_in(page, live_server.url, "admin@smith.test", PASSWORD)
    page.goto(f"{live_server.url}/books/bank-accounts/{trust.pk}/statements/")

    page.get_by_label("Statement file").set_input_files(str(FIXTURES / "malformed_truncated.ofx"))
    page.get_by_role("button", name="Import").click()

    expect(page.locator("#import-result")).to_contain_text("was refused at line 59")
    assert StatementLine.objects.count() == 0
