"""The screens while the worker does what needs the books (ADR 0008), in real Chromium.

No Huey immediate mode here: as with `make run`, what the pages ask of the books waits for
the worker, and the pages show it pending and poll (htmx). The test plays the worker
(``work``) at the moment of its choosing, then waits for the page to show the answer (a
condition Playwright polls, never a sleep): pop-up 1 going on to pop-up 2, Run checks now,
and the check-status sync on the Integrations card.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from casebridge.bridge.models import Connection, InvoiceRelease
from tests.bridge import conftest as bridge_setup
from tests.bridge.conftest import INTEGRATION_EMAIL, PASSWORD, Books, Cases, work
from tests.browser.test_seed_bridge import cases_sign_in, dialog, open_integrations, toast

pytestmark = pytest.mark.browser

books = bridge_setup.books
cases = bridge_setup.cases


def test_the_pop_ups_readiness_and_sync_wait_for_the_worker_and_show_its_answer(
    live_server, page: Page, books: Books, cases: Cases
):
    base = live_server.url
    cases_sign_in(page, base, "admin@lopez.test")
    card = open_integrations(page)
    card.get_by_role("link", name="Activate the books integration", exact=True).click()
    box = dialog(page, "Activate the books integration")
    box.get_by_label("Books address").fill(f"{base}/books/api/v1")
    box.get_by_label("Books firm ID").fill("lopez-pi")
    box.get_by_label("Username").fill(INTEGRATION_EMAIL)
    box.get_by_label("Password", exact=True).fill(PASSWORD)
    box.get_by_role("button", name="Save").click()
    # the request answered at once: the sign-in waits for the worker
    expect(box.get_by_role("status")).to_have_text(
        f"Signing in to the books as {INTEGRATION_EMAIL}…"
    )
    assert not Connection.objects.exists()
    work(cases.firm.pk)
    # the pop-up, polling, goes on to pop-up 2 by itself
    box = dialog(page, "Books integration defaults")
    expect(box.get_by_role("status")).to_contain_text(
        f"Signed in to the books as {INTEGRATION_EMAIL}"
    )
    box.get_by_label("Default operating account").select_option(label=books.operating.name)
    box.get_by_label("Default client trust account").select_option(label=books.trust.name)
    box.get_by_label("Reviewed in the books").check()
    box.get_by_role("button", name="Save").click()
    toast(page, "The books are connected.")
    conn = Connection.objects.get(firm=cases.firm)
    assert (conn.status, conn.invoice_release) == ("connected", InvoiceRelease.REVIEW)

    # Run checks now: "checking…" until the worker has run them, then the results
    work(cases.firm.pk)  # the readiness of the defaults just chosen
    page.goto(f"{base}/cases/integrations/books/readiness/")
    page.get_by_role("button", name="Run checks now").click()
    checking = page.locator("[data-readiness-refreshing]")
    expect(checking).to_be_visible()
    work(cases.firm.pk)
    expect(checking).to_have_count(0)
    expect(page.locator("[data-readiness-summary]")).to_contain_text("Every check passes")
    expect(page.locator("[data-verdict=fail]")).to_have_count(0)
    expect(page.locator("[data-verdict=pass]")).to_have_count(
        page.locator("#readiness-table [data-check]").count()
    )

    # Sync check status: started, running on the card, then its result
    card = open_integrations(page)
    card.get_by_role("button", name="Sync check status").click()
    toast(page, "Check status sync started")
    last_sync = page.locator("#books-integration-card [data-field=last-sync]")
    expect(last_sync).to_contain_text("running: the worker is asking the books…")
    work(cases.firm.pk)
    expect(last_sync).to_contain_text("0 paid, 0 voided, 0 problems")
