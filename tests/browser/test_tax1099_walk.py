"""Reports -> 1099 payees in a browser (issue 15, ADR 0045), at 390 px and at 1366 px: the
report and its pop-ups (a payee's settings, a new payee, a check's 1099) fit and pass
axe, and no page shows a whole TIN."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.books.test_tax1099 import year_of_payments as year_of_payments
from tests.browser.conftest import _watched_page, second_factor
from tests.browser.screens import SIZES, axe_problems, fit_problems, shoot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("transactional_db")

WHOLE = ("123-45-6789", "123456789", "12-3456789", "951234567")


def checked(page, name: str, size: str) -> list[str]:
    """What is wrong with the page; its screenshot kept with the walks (``walk-<size>/``)."""
    shoot(page, f"walk-{size}/{name}.png")
    for tin in WHOLE:
        assert tin not in page.content(), name
    return fit_problems(page, name, size) + axe_problems(page, name, size)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_1099_report_and_its_popups_in_a_browser(
    live_server,
    request,
    firm,
    admin,
    year_of_payments,
    size,
):
    browser: Browser = request.getfixturevalue("browser")
    base = live_server.url
    width, height = SIZES[size]
    phone = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    wrong: list[str] = []
    with _watched_page(browser, viewport={"width": width, "height": height}, **phone) as page:
        page.goto(f"{base}/books/login/")
        page.get_by_label("Firm ID").fill(firm.code)
        page.get_by_label("Email").fill(admin.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        second_factor(page, base, "books", firm.code, admin.email)
        expect(page).to_have_url(f"{base}/books/")

        page.goto(f"{base}/books/reports/1099/?year=2026")
        expect(page.get_by_role("heading", name="Tax year 2026")).to_be_visible()
        expect(page.locator("#missing-tins")).to_contain_text("ask for a W-9")
        expect(page.locator("#tax1099-report")).to_contain_text("3 to report")
        wrong += checked(page, "tax1099-report", size)

        page.get_by_role("link", name="Edit the 1099 settings of Dr. Rivera").click()
        dialog = page.get_by_role("dialog", name="1099 settings of Dr. Rivera")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Kept: •••••6789")
        wrong += checked(page, "tax1099-payee-popup", size)
        dialog.get_by_role("button", name="Cancel").click()

        page.get_by_role("link", name="Reveal the TIN of Dr. Rivera").click()
        dialog = page.get_by_role("dialog", name="TIN of Dr. Rivera")
        expect(dialog).to_be_visible()
        wrong += checked(page, "tax1099-reveal-popup", size)
        dialog.get_by_role("button", name="Cancel").click()

        page.get_by_role("link", name="Add a payee").click()
        dialog = page.get_by_role("dialog", name="Add a 1099 payee")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Name").fill("Lake Court Reporting")
        dialog.get_by_label("TIN type").select_option("EIN")
        dialog.get_by_label("TIN", exact=True).fill("07-1234567")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_contain_text("An EIN never starts with 07")
        wrong += checked(page, "tax1099-new-payee-refused", size)
        dialog.get_by_label("TIN", exact=True).fill("27-1234567")
        dialog.get_by_role("button", name="Save").click()
        expect(page.locator("#tax-payees")).to_contain_text("Lake Court Reporting")

        check = year_of_payments["checks"][0]
        page.goto(f"{base}/books/checks/?status=printed")
        link = page.locator(f'#check-{check.pk} a[href$="/checks/{check.pk}/1099/"]')
        if not link.is_visible():  # on a phone the row's actions sit behind its menu
            page.locator(f"#check-{check.pk} summary").first.click()
        link.click()
        dialog = page.get_by_role("dialog", name="1099 of the check to Dr. Rivera")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_label("Paid to (1099 payee)")).to_have_value(
            str(year_of_payments["rivera"].contact_id)
        )
        wrong += checked(page, "tax1099-check-popup", size)
    assert wrong == [], "\n".join(wrong)
