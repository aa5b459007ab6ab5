"""The seed's books-side set-up (S2, S5-S8), clicked through in real Chromium.

A new designated user signs in and enrolls a security question; then an administrator
turns on Records Time for the attorney, enables the release invoice stage, adds the PI
area of practice, and adds the COPP and Property Damage activity codes. Each step is
checked on the page and in the database.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from casebridge.books.models import ActivityCode, AreaOfPractice, Firm, User
from casebridge.books.services import auth
from tests.browser.conftest import row_action, second_factor
from tests.conftest import PASSWORD
from tests.twofactor import enrol

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CASEBRIDGE_SCREENSHOT_DIR", tempfile.gettempdir()))
USERS_SHOT = SHOTS / "books-user-accounting.png"
CODES_SHOT = SHOTS / "books-rates-codes.png"


@pytest.fixture
def seed_attorney(firm):
    """The attorney whose time is billed; Records Time starts off."""
    user = auth.user_create(
        firm=firm,
        email="sam.smith@smith.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
    )
    enrol(user)  # two-factor sign-in, the fixed secret
    return auth.security_question_enroll(user=user, question="City of birth?", answer="Fresno")


@pytest.fixture
def integration_user(firm):
    """The designated integration user: has a password, has never signed in."""
    return auth.user_create(
        firm=firm,
        email="integration@smith.test",
        password="integration pass 1",
        first_name="Bridge",
        last_name="Integration",
        is_integration_user=True,  # signs in with its security question, never a TOTP code
    )


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/books/login/")
    page.get_by_label("Firm ID").fill("smith-pi")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    second_factor(page, base, "books", "smith-pi", email)


def gear(page: Page, item: str) -> None:
    """Gear icon (upper right) -> a menu item."""
    button = page.get_by_role("button", name="Settings")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    page.get_by_role("menuitem", name=item, exact=True).click()


def test_the_seed_set_up_in_the_books(
    live_server, page: Page, firm, admin, seed_attorney, integration_user
):
    base = live_server.url

    # --- S2: the designated user signs in and enrolls a security question --------------
    sign_in(page, base, "integration@smith.test", "integration pass 1")
    expect(page).to_have_url(f"{base}/books/enroll/")
    expect(page.get_by_role("heading", name="Set your security question")).to_be_visible()
    page.get_by_label("Security question").select_option(
        label="What was the name of your first pet?"
    )
    expect(page.get_by_label("Your question")).to_be_hidden()  # only for a written question
    page.get_by_label("Answer", exact=True).fill("Biscuit")
    page.get_by_label("Confirm answer").fill("biscuit")
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(f"{base}/books/")
    expect(page.get_by_text("Your account is now authenticated for integrations.")).to_be_visible()
    expect(page.get_by_text(re.compile("terminated", re.I))).to_have_count(0)
    integration_user.refresh_from_db()
    assert integration_user.is_enrolled
    assert auth.security_answer_matches(user=integration_user, answer="BISCUIT")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/books/login/")

    # --- The administrator signs in -----------------------------------------------------
    sign_in(page, base, "admin@smith.test", PASSWORD)
    expect(page).to_have_url(f"{base}/books/")
    expect(page.get_by_text("Smith Personal Injury LLP").first).to_be_visible()

    # --- S5: Users -> pencil -> Accounting -> Records Time -> Save ---------------------
    gear(page, "Users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    row_action(page, "link", "Edit sam.smith@smith.test").click()
    dialog = page.get_by_role("dialog", name="Edit Sam Smith")
    expect(dialog).to_be_visible()
    dialog.get_by_role("tab", name="Accounting").click()
    expect(dialog.get_by_role("tab", name="Accounting")).to_have_attribute("aria-selected", "true")
    records_time = dialog.get_by_label("Records Time")
    expect(records_time).not_to_be_checked()
    records_time.check()
    expect(records_time).to_be_checked()
    page.screenshot(path=USERS_SHOT, animations="disabled")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("Saved sam.smith@smith.test.")).to_be_visible()
    row = page.locator(f"#user-row-{seed_attorney.pk}")
    expect(row.locator("[data-col=records-time]")).to_have_text("On")
    seed_attorney.refresh_from_db()
    assert seed_attorney.records_time is True

    # --- S6: Settings -> Features -> Enable release invoice stage in billing -> Save ---
    gear(page, "Settings")
    page.get_by_role("link", name="Features", exact=True).click()
    toggle = page.get_by_label("Enable release invoice stage in billing")
    expect(toggle).not_to_be_checked()
    toggle.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Features saved.")).to_be_visible()
    expect(page.get_by_label("Enable release invoice stage in billing")).to_be_checked()
    assert Firm.objects.get(pk=firm.pk).release_invoice_stage_enabled is True

    # --- S7: Areas of Practice -> Add (bottom left) -> PI / Personal Injury -> Save ----
    gear(page, "Areas of Practice")
    add = page.get_by_role("link", name="Add", exact=True)
    box = add.bounding_box()
    table = page.locator("table").bounding_box()
    assert box is not None
    assert table is not None
    assert box["x"] < table["x"] + 60  # bottom left of the list
    assert box["y"] > table["y"] + table["height"] - 1
    add.click()
    dialog = page.get_by_role("dialog", name="Add area of practice")
    dialog.get_by_label("Name", exact=True).fill("PI")
    dialog.get_by_label("Description").fill("Personal Injury")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Area of practice PI added.")).to_be_visible()
    expect(page.get_by_role("cell", name="Personal Injury")).to_be_visible()
    area = AreaOfPractice.objects.get(firm=firm)
    assert (area.name, area.description) == ("PI", "Personal Injury")

    # --- S8: Rates/Codes -> Activity Code -> Add COPP and Property Damage -> Save ------
    gear(page, "Rates/Codes")
    page.get_by_role("link", name="Activity Code", exact=True).click()
    expect(page.get_by_role("cell", name="COPP", exact=True)).to_have_count(0)
    for code, description, account in (
        ("COPP", "COPP charges", "4100 COPP Charges Income"),
        ("Property Damage", "Property damage fee", "4200 Property Damage Fee Income"),
    ):
        page.get_by_role("link", name="Add", exact=True).click()
        dialog = page.get_by_role("dialog", name="Add activity code")
        dialog.get_by_label("Code", exact=True).fill(code)
        dialog.get_by_label("Name", exact=True).fill(code)
        dialog.get_by_label("Description").fill(description)
        dialog.get_by_label("General Ledger Account").select_option(label=account)
        dialog.get_by_role("button", name="Save").click()
        expect(
            page.get_by_text(f"Activity code {code} added (posts to {account}).")
        ).to_be_visible()
        row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=code, exact=True))
        expect(row).to_contain_text(account)
    codes = {
        c.code: c.gl_account.number for c in ActivityCode.objects.filter(firm=firm, utbms_code="")
    }
    assert codes == {"COPP": "4100", "Property Damage": "4200"}
    assert ActivityCode.objects.get(firm=firm, code="COPP").description == "COPP charges"
    page.wait_for_load_state("load")
    page.screenshot(path=CODES_SHOT, full_page=True, animations="disabled")

    # --- The dashboard's set-up checklist is complete ------------------------------------
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("Ready", exact=True)).to_be_visible()
    assert User.objects.get(pk=seed_attorney.pk).records_time


def test_a_refused_form_shows_the_error_in_the_pop_up(live_server, page: Page, firm, admin):
    """An activity code without a GL account: the pop-up stays open with the error next
    to the field, and nothing is written."""
    before = ActivityCode.objects.filter(firm=firm).count()
    sign_in(page, live_server.url, "admin@smith.test", PASSWORD)
    gear(page, "Rates/Codes")
    page.get_by_role("link", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog", name="Add activity code")
    dialog.get_by_label("Code", exact=True).fill("COPP")
    dialog.get_by_label("Name", exact=True).fill("COPP")
    dialog.get_by_role("button", name="Save").click()
    error = dialog.locator("#id_gl_account_error")
    expect(error).to_have_text("Choose the General Ledger account this code posts to")
    expect(dialog.get_by_label("General Ledger Account")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_label("Code", exact=True)).to_have_value("COPP")
    assert ActivityCode.objects.filter(firm=firm).count() == before
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)


def test_the_gear_menu_works_from_the_keyboard(live_server, page: Page, firm, admin):
    sign_in(page, live_server.url, "admin@smith.test", PASSWORD)
    button = page.get_by_role("button", name="Settings")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Users")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Settings")).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(page.get_by_role("menu")).to_be_hidden()
