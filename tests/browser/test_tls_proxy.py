"""Behind a proxy that terminates TLS (issue 13): the browser speaks HTTPS to the proxy
(tests/browser/tls_proxy.py, as nginx would), which speaks plain HTTP to Casebridge and
says so in ``X-Forwarded-Proto: https``, passing the browser's Host, Origin and Referer
through. With ``CASEBRIDGE_BEHIND_TLS_PROXY=1`` (SECURE_PROXY_SSL_HEADER) Django knows the
request was HTTPS: signing in and a form posted by htmx work, with the production cookies
(Secure). Without it the same sign-in is refused 403 (the origin https://... is not the
http://... Django believes it serves), the complaint that started this."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from casebridge.books.models import File
from tests.browser.conftest import PATIENCE_MS, second_factor
from tests.browser.tls_proxy import tls_proxy
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def proxy(live_server, tmp_path) -> Iterator[str]:
    with tls_proxy(live_server.url, tmp_path) as base:
        yield base


@pytest.fixture
def behind_the_proxy(settings):
    """What CASEBRIDGE_BEHIND_TLS_PROXY=1 in production sets (tests/core/test_settings.py:
    the environment gives these)."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


@pytest.fixture
def https_context(browser: Browser) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A browser context that accepts the proxy's self-signed certificate; collects
    console errors and page errors."""
    context = browser.new_context(ignore_https_errors=True, locale="en-US")
    context.set_default_timeout(PATIENCE_MS)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    context.on("console", on_console)
    context.on("weberror", lambda error: problems.append(str(error.error)))
    yield context, problems
    context.close()


def sign_in(page: Page, base: str, email: str, *, code: bool = True) -> None:
    page.goto(f"{base}/books/login/")
    page.get_by_label("Firm ID").fill("smith-pi")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if code:
        second_factor(page, base, "books", "smith-pi", email)  # an administrator types a code


def test_signing_in_and_a_form_work_behind_a_tls_proxy(
    proxy, https_context, firm, admin, behind_the_proxy
):
    context, problems = https_context
    page = context.new_page()
    sign_in(page, proxy, admin.email)
    expect(page).to_have_url(f"{proxy}/books/")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["sessionid"]["secure"] is True
    assert cookies["csrftoken"]["secure"] is True

    page.goto(f"{proxy}/books/files/")
    page.get_by_role("link", name="New file").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Client name").fill("Maria Lopez")
    dialog.get_by_label("File name").fill("Lopez v. Acme Trucking")
    dialog.get_by_role("button", name="Open file").click()
    expect(page.get_by_text("Lopez v. Acme Trucking").first).to_be_visible()
    assert list(File.objects.filter(firm=firm).values_list("name", flat=True)) == [
        "Lopez v. Acme Trucking"
    ]
    assert problems == []


def test_without_the_proxy_setting_the_same_sign_in_is_refused(proxy, https_context, firm, admin):
    context, problems = https_context
    page = context.new_page()
    sign_in(page, proxy, admin.email, code=False)  # refused before the password is read
    expect(page.get_by_role("heading", name="This form could not be accepted")).to_be_visible()
    assert page.url == f"{proxy}/books/login/"
    assert "sessionid" not in {c["name"] for c in context.cookies()}
    assert problems == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
