"""The Treatment tab in a browser (issue 16), at 390 px and at 1366 px: it fits and passes
axe, with its Add bill pop-up; a bill refused beside its field, then added; its balance
made a lien in one step and shown on the Settlement tab."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser, expect

from casebridge.cases.services import medical
from casebridge.core import clock
from tests.browser.conftest import _watched_page, row_action
from tests.browser.screens import SIZES, axe_problems, fit_problems, shoot
from tests.cases.conftest import PASSWORD
from tests.cases.conftest import cadmin as cadmin
from tests.cases.conftest import case as case  # the cases side's fixtures, for this module
from tests.cases.conftest import cattorney as cattorney
from tests.cases.conftest import cfirm as cfirm
from tests.cases.conftest import client_contact as client_contact
from tests.cases.conftest import paralegal as paralegal

pytestmark = pytest.mark.usefixtures("transactional_db")


def checked(page, name: str, size: str) -> list[str]:
    """What is wrong with the page; its screenshot kept with the walks
    (``walk-<size>/``), not among the main screens test_screens_fit counts."""
    shoot(page, f"walk-{size}/{name}.png")
    return fit_problems(page, name, size) + axe_problems(page, name, size)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_treatment_tab_in_a_browser(live_server, request, cfirm, paralegal, case, size):
    browser: Browser = request.getfixturevalue("browser")
    today = clock.today()
    provider = medical.provider_for_name(firm=cfirm, actor=paralegal, name="Valley Medical")
    medical.treatment_create(
        firm=cfirm,
        actor=paralegal,
        case_id=case.pk,
        provider_id=provider.pk,
        first_visit=today - dt.timedelta(days=1),
        last_visit=today,
        status="treating",
    )
    base = live_server.url
    width, height = SIZES[size]
    phone = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    with _watched_page(browser, viewport={"width": width, "height": height}, **phone) as page:
        page.goto(f"{base}/cases/login/")
        page.get_by_label("Firm ID").fill(cfirm.code)
        page.get_by_label("Email").fill(paralegal.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{base}/cases/")

        page.goto(f"{base}/cases/{case.pk}/treatment/")
        expect(page.get_by_role("heading", name="Bills", exact=True)).to_be_visible()
        assert checked(page, "treatment-tab", size) == []

        page.get_by_role("link", name="Add bill", exact=True).click()
        dialog = page.get_by_role("dialog", name=f"Add bill · {case.number}")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Provider").fill("Valley Medical")
        dialog.get_by_label("Bill date").fill(today.isoformat())
        dialog.get_by_label("Billed").fill("1,000.00")
        dialog.get_by_label("Adjustments (write-offs)").fill("400.00")
        dialog.get_by_label("Paid by health insurance").fill("600.01")
        dialog.get_by_role("button", name="Add bill").click()
        expect(dialog.locator("#id_paid_health_insurance_error")).to_contain_text(
            "The outstanding balance cannot be negative"
        )
        # axe after the refusal: it leaves empty style attributes, which htmx's settling
        # would copy onto a swapped form (refused by the CSP)
        assert checked(page, "treatment-bill-popup", size) == []
        dialog.get_by_label("Paid by health insurance").fill("250.00")
        dialog.get_by_role("button", name="Add bill").click()
        expect(page.locator('[data-figure="outstanding"]')).to_have_text("$350.00")

        row_action(
            page.locator("#bills tbody tr").first,
            "link",
            "Make the balance of the bill of Valley Medical a lien",
        ).click()
        confirm = page.get_by_role("dialog", name="Make the balance a lien")
        expect(confirm).to_contain_text("$350.00")
        confirm.get_by_role("button", name="Make lien").click()
        expect(page.locator("#bills")).to_contain_text("Lien on the settlement")

        page.goto(f"{base}/cases/{case.pk}/settlement/")
        expect(page.locator("main")).to_contain_text("Valley Medical")
        expect(page.locator("main")).to_contain_text("$350.00")
