"""Two-factor sign-in in a real browser (issue 13): the books' administrator types the code
of the authenticator app after the password; on the cases side a firm administrator who
has none sets it up (the QR code and the key on the page) before reaching any page, and
keeps the recovery codes shown once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from casebridge.cases.models import User as CasesUser
from casebridge.cases.services import firms
from casebridge.core import twofactor
from tests.browser.conftest import second_factor
from tests.cases.conftest import PASSWORD as CASES_PASSWORD
from tests.conftest import PASSWORD
from tests.twofactor import code_at

pytestmark = pytest.mark.browser


def test_the_books_ask_for_the_code_after_the_password(live_server, page: Page, firm, admin):
    base = live_server.url
    page.goto(f"{base}/books/files/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/books/login/"))
    page.get_by_label("Firm ID").fill("smith-pi")
    page.get_by_label("Email").fill("admin@smith.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/books/login/code/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()

    page.get_by_label("Code", exact=True).fill("12345x")
    page.get_by_role("button", name="Verify and sign in").click()
    expect(
        page.get_by_text(
            "That code is not right; type the 6-digit code your authenticator app shows now"
        )
    ).to_be_visible()

    second_factor(page, base, "books", "smith-pi", "admin@smith.test")
    expect(page).to_have_url(f"{base}/books/files/")
    page.get_by_role("link", name="My account").click()
    expect(page.locator("#two-factor-state")).to_contain_text("On")


def test_a_cases_administrator_sets_up_two_factor_sign_in_first(live_server, page: Page, db):
    firm = firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")
    firms.user_create(
        firm=firm,
        actor=None,
        email="admin@lopez.test",
        password=CASES_PASSWORD,
        first_name="Ana",
        last_name="Admin",
        is_firm_admin=True,
    )
    base = live_server.url
    page.goto(f"{base}/cases/login/")
    page.get_by_label("Firm ID").fill("lopez-pi")
    page.get_by_label("Email").fill("admin@lopez.test")
    page.get_by_label("Password", exact=True).fill(CASES_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/cases/two-factor/setup/")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)

    # nothing else opens before the second factor is set up
    page.goto(f"{base}/cases/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/cases/login/"))
    page.goto(f"{base}/cases/two-factor/setup/")
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == secret

    page.get_by_label("Code", exact=True).fill(code_at(key=secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(twofactor.RECOVERY_CODE_COUNT)
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page).to_have_url(f"{base}/cases/")
    assert CasesUser.objects.get(email="admin@lopez.test").has_totp
