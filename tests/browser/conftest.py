"""Real Chromium through Playwright's sync API, against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, so Django's guard against
ORM calls from async code must be relaxed for the test's own database assertions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect, sync_playwright

from tests.browser.screens import SIZES, Walk

#: How long a step may wait for its condition (a page, an element, a text) before the test
#: calls it broken. Every wait ends as soon as its condition holds, so this only bounds a
#: failure; it must never be what a passing test runs into on a loaded machine. Playwright's
#: own defaults (30 s for actions, 5 s for ``expect``) are not: a request the live server
#: answers in seconds under load would fail an ``expect`` that is right.
PATIENCE_MS = 60_000
expect.set_options(timeout=PATIENCE_MS)

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CASEBRIDGE_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(executable):
        pytest.skip(f"no Chromium at {executable} (set CASEBRIDGE_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def _watched_page(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a fresh browser context; fails the test on a script error, a console error
    or a failed resource (other than a form refused with 422)."""
    context = browser.new_context(locale="en-US", **options)
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A refused form answers 422 on purpose (htmx swaps it in); Chromium logs it.
        if message.type == "error" and "status of 422" not in message.text:
            problems.append(f"console: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield tab
    context.close()
    assert not problems, problems


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test (1280 x 820); fails the test on a script error, a
    console error or a failed resource (other than a form refused with 422)."""
    with _watched_page(browser, viewport={"width": 1280, "height": 820}) as tab:
        yield tab


@pytest.fixture(params=list(SIZES))
def walk(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Walk]:
    """The test's walk at each size: a phone (390 x 844, a touch screen) and a desktop
    (1366 x 900), in a fresh context watched as the ``page`` fixture's is. The walk is named
    for the test's module (``test_seed_bridge`` walks ``seed``)."""
    size = request.param
    width, height = SIZES[size]
    phone = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").split("_")[0]
    with _watched_page(browser, viewport={"width": width, "height": height}, **phone) as tab:
        yield Walk(tab, size, name)


def second_factor(
    page: Page, base: str, side: str, firm_code: str, email: str, walk: Walk | None = None
) -> None:
    """After "Sign in": a user with two-factor sign-in types the code of the fixed secret
    (tests.twofactor) on the second step; anyone else is already past it. On a ``walk``,
    the second step is one of its steps."""
    from casebridge.books.models import User as BooksUser
    from casebridge.cases.models import User as CasesUser
    from tests.twofactor import fresh_code

    model = BooksUser if side == "books" else CasesUser
    user = model.objects.filter(firm__code=firm_code, email__iexact=email).first()
    if user is None or not user.has_totp:
        return
    expect(page).to_have_url(f"{base}/{side}/login/code/")
    if walk is not None:
        walk.step(f"{side}-sign-in-code")
    page.get_by_label("Code", exact=True).fill(fresh_code(user))
    page.get_by_role("button", name="Verify and sign in").click()


def row_action(scope: Page | Locator, role: str, name: str) -> Locator:
    """A row's action ``name``: when the row has more than two, it is in the row's overflow
    menu ({% row_actions %}), which is opened first, as a person would."""
    page = scope if isinstance(scope, Page) else scope.page
    closed = scope.locator("details.row-menu:not([open])").filter(
        has=page.locator(f'[aria-label="{name}"]')
    )
    if closed.count():
        closed.first.locator("summary").click()
    action = scope.get_by_role(role, name=name, exact=True)  # type: ignore[arg-type]
    expect(action).to_be_visible()
    return action
