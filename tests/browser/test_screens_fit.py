"""Every main screen on a phone (390 x 844) and on a desktop (1366 x 900), in real Chromium.

Both sides on pytest-django's live server, after the seed and a settlement (the fixture of
tests/browser/test_settlement_bridge.py: the integration activated, two costs sent to the
books as checks, a settlement accepted and deposited, two liens accepted), one of the
checks printed. On each screen at each size, the checks of tests/browser/screens.py (no
sideways scroll, no id twice, a pop-up within reach, no axe violation serious or critical),
and a full-page screenshot kept as a test artifact under
``$CASEBRIDGE_VAR_DIR/screenshots/<size>/<screen>.png``.

All failures of a walk are gathered and reported together, so one run names every screen
that does not fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from casebridge.books.models import Check, JournalEntry
from casebridge.books.services import checks as check_services
from casebridge.cases.models import Case, Cost
from tests.bridge.conftest import Books
from tests.browser import test_settlement_bridge as settlement_browser
from tests.browser.conftest import PATIENCE_MS
from tests.browser.screens import SIZES, check_page, screenshots_dir
from tests.browser.test_seed_bridge import books_sign_in, cases_sign_in
from tests.twofactor import enrol

pytestmark = pytest.mark.browser

books = settlement_browser.books
cases = settlement_browser.cases
huey_immediate = settlement_browser.huey_immediate
settled = settlement_browser.settled


def books_screens(books: Books) -> list[tuple[str, str]]:
    trust, operating = books.trust.pk, books.operating.pk
    file_pk = Check.objects.filter(firm=books.firm).exclude(file=None).first().file_id  # type: ignore[union-attr]
    entry_pk = JournalEntry.objects.filter(firm=books.firm).order_by("pk").first().pk  # type: ignore[union-attr]
    return [
        ("books-dashboard", "/books/"),
        ("books-search", "/books/search/?q=lop"),
        ("books-checks-queued", "/books/checks/?status=queued"),
        ("books-checks-printed", "/books/checks/?status=printed"),
        ("books-invoices", "/books/invoices/"),
        ("books-trust-journal", "/books/reports/trust-journal/"),
        ("books-trust-journal-account", f"/books/reports/trust-journal/?bank_account={trust}"),
        ("books-trial-balance", "/books/reports/trial-balance/"),
        ("books-files", "/books/files/"),
        ("books-file", f"/books/files/{file_pk}/"),
        ("books-reconcile", f"/books/bank-accounts/{operating}/reconcile/"),
        ("books-reconciliation", f"/books/bank-accounts/{trust}/reconciliation/"),
        ("books-statements", f"/books/bank-accounts/{trust}/statements/"),
        ("books-settings-features", "/books/settings/features/"),
        ("books-settings-bank-accounts", "/books/settings/bank-accounts/"),
        ("books-settings-users", "/books/settings/users/"),
        ("books-settings-closed-periods", "/books/settings/closed-periods/"),
        ("books-settings-activity-codes", "/books/settings/rates-codes/activity-codes/"),
        ("books-settings-accounts", "/books/settings/accounts/"),
        ("books-settings-ledes", "/books/settings/ledes/"),
        ("books-settings-fiscal-year", "/books/settings/fiscal-year/"),
        ("books-reports", "/books/reports/"),
        ("books-beancount-export", "/books/reports/beancount/"),
        (
            "books-profit-and-loss",
            "/books/reports/profit-and-loss/?by_month=on&comparison=previous_year",
        ),
        ("books-balance-sheet", "/books/reports/balance-sheet/"),
        ("books-balance-sheet-compared", "/books/reports/balance-sheet/?comparison=year_earlier"),
        ("books-general-ledger", "/books/reports/general-ledger/"),
        ("books-cost-advances", "/books/reports/cost-advances/"),
        ("books-journal", "/books/journal/"),
        ("books-journal-entry", f"/books/journal/{entry_pk}/"),
        ("books-journal-new", "/books/journal/new/"),
        ("books-invoice-new", "/books/invoices/new/"),
    ]


def cases_screens(case: Case) -> list[tuple[str, str]]:
    return [
        ("cases-home", "/cases/home/"),
        ("cases-search", "/cases/search/?q=lop"),
        ("cases-list", "/cases/"),
        ("cases-case", f"/cases/{case.pk}/"),
        ("cases-costs", f"/cases/{case.pk}/costs/"),
        ("cases-settlement", f"/cases/{case.pk}/settlement/"),
        ("cases-costs-management", "/cases/costs-management/"),
        ("cases-costs-management-pending", "/cases/costs-management/?status=pending"),
        ("cases-client-trust", "/cases/client-trust/"),
        ("cases-settings-users", "/cases/settings/users/"),
        ("cases-settings-cost-codes", "/cases/settings/cost-codes/"),
        ("cases-audit", "/cases/audit/"),
        ("cases-case-audit", f"/cases/{case.pk}/audit/"),
        ("cases-deadlines", "/cases/deadlines/"),
        ("cases-case-deadlines", f"/cases/{case.pk}/deadlines/"),
        ("cases-settings-limitation-rules", "/cases/settings/limitation-rules/"),
        ("bridge-integration", "/cases/settings/integrations/"),
        ("bridge-readiness", "/cases/integrations/books/readiness/"),
        ("bridge-queue", "/cases/integrations/books/queue/"),
        ("bridge-mappings", "/cases/integrations/books/mappings/"),
        ("bridge-reconciliation", "/cases/integrations/books/reconciliation/"),
    ]


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Two contexts (one signed in to each side); a script error, a console error or a
    failed resource fails the test, as the ``page`` fixture does."""
    made: list[BrowserContext] = []
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    def new() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
        context.set_default_timeout(PATIENCE_MS)
        context.set_default_navigation_timeout(PATIENCE_MS)
        context.on("console", on_console)
        context.on("weberror", lambda error: problems.append(f"page error: {error.error}"))
        made.append(context)
        return context

    yield [new(), new()]
    for context in made:
        context.close()
    assert not problems, problems


#: Pop-ups opened over a list, whose forms must not repeat an id of the page: (the
#: screen, its button, the dialog's name).
POPUPS = {
    "cases-list": ("New case", "New case"),
    "cases-costs": ("Add cost", "Add cost"),
    "books-files": ("New file", "New file"),
}


def check_screen(page: Page, base: str, name: str, path: str, size: str) -> list[str]:
    """Visit ``path`` at ``size``; return what is wrong with it (nothing when it fits)."""
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    response = page.goto(f"{base}{path}")
    assert response is not None, (name, path)
    assert response.status == 200, (name, path, response.status)
    expect(page.locator("main")).to_be_visible()
    wrong = check_page(page, name, size)
    if name in POPUPS:
        button, title = POPUPS[name]
        page.get_by_role("link", name=button, exact=True).first.click()
        expect(page.get_by_role("dialog", name=title)).to_be_visible()
        wrong += check_page(page, f"{name}-popup", size)
    return wrong


def test_every_main_screen_fits_a_phone_and_a_desktop_and_passes_axe(
    live_server, contexts: list[BrowserContext], books: Books, settled
):
    """The seed and a settlement, walked at 390 px and at 1366 px."""
    base = live_server.url
    queued = Check.objects.filter(firm=books.firm, bank_account=books.operating).order_by("pk")
    check_services.check_print(firm=books.firm, actor=books.admin, check_id=queued[0].pk)

    enrol(books.admin)  # an administrator signs in with the second factor
    books_page = contexts[0].new_page()
    books_sign_in(books_page, base, books.admin.email, settlement_browser.PASSWORD)
    expect(books_page).to_have_url(f"{base}/books/")
    cases_page = contexts[1].new_page()
    cases_sign_in(cases_page, base, settled.admin.email)

    wrong: list[str] = []
    for size in SIZES:
        for name, path in books_screens(books):
            wrong += check_screen(books_page, base, name, path, size)
        for name, path in cases_screens(settled.case):
            wrong += check_screen(cases_page, base, name, path, size)
    assert wrong == [], "\n".join(wrong)
    keyboard(cases_page, base, settled.case)
    search_by_keyboard(cases_page, base, settled.case)
    kept = screenshots_dir()
    shots = sorted(p.relative_to(kept).as_posix() for s in SIZES for p in kept.glob(f"{s}/*.png"))
    screens = len(books_screens(books)) + len(cases_screens(settled.case)) + len(POPUPS)
    assert len(shots) == 2 * screens
    assert all(re.fullmatch(r"(phone|desktop)/[a-z-]+\.png", s) for s in shots), shots


def search_by_keyboard(page: Page, base: str, case: Case) -> None:
    """The top bar's search box: results under it as you type, Down into them, Escape
    closes them and gives the focus back, Enter opens the results page."""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/cases/home/")
    box = page.locator("#top-search-q")
    word = case.name.split()[0][:3].lower()
    box.fill(word)
    hit = page.locator(f'#search-live a[href="/cases/{case.pk}/"]')
    expect(hit).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#search-live a").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_be_focused()
    expect(page.locator("#search-live a")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/cases/search/?q={word}")
    expect(page.locator(f'main a[href="/cases/{case.pk}/"]')).to_be_visible()


def ring(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
          return {style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor,
                  offset: s.outlineOffset, label: document.activeElement.textContent.trim()}; }"""
    )


def keyboard(page: Page, base: str, case: Case) -> None:
    """By keyboard at desktop size: a dark button shows a 3 px focus ring 2 px off it; a row's
    overflow menu opens with Enter, its actions are reachable with Tab, Escape closes it and
    gives the focus back to its button."""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/cases/")
    new_case = page.get_by_role("link", name="New case", exact=True)
    new_case.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(new_case).to_be_focused()
    assert ring(page) == {
        "style": "solid",
        "width": "3px",
        "color": "rgb(26, 95, 208)",
        "offset": "2px",
        "label": "New case",
    }

    page.goto(f"{base}/cases/{case.pk}/costs/")
    costs = sorted(Cost.objects.filter(case=case).values_list("pk", "payee__name"))
    assert [name for _, name in costs] == ["Records Inc", "Dr. Wu"]
    menu = page.locator(f"#cost-{costs[1][0]} details.row-menu")
    summary = menu.locator("summary")
    expect(summary).to_have_attribute(
        "aria-label", "Actions: cost of 2026-11-02 to Dr. Wu for $3,500.00"
    )
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(menu.locator(".row-menu-list > :first-child")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
