"""The checks a walk makes at each step (tests/browser/screens.py) name what a person on a
phone would run into: a page wider than the window, a pop-up whose foot is out of reach, an
axe violation; a page that fits passes. Real Chromium on pages answered by the test itself
(Playwright's routing: no request leaves the browser)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route

from tests.browser.screens import Walk, screenshots_dir

pytestmark = pytest.mark.browser

FITS = """<!doctype html><html lang="en"><head><title>Fits</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Fits</h1><p>A short page.</p></main></body></html>"""
TOO_WIDE = """<!doctype html><html lang="en"><head><title>Too wide</title></head>
<body><main><h1>Too wide</h1><div class="wide" style="width: 600px">x</div>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="1" height="1"></main></body></html>"""
TALL_POPUP = """<!doctype html><html lang="en"><head><title>Tall pop-up</title></head>
<body><main><h1>Tall pop-up</h1></main>
<dialog open aria-labelledby="t" style="overflow: visible; max-height: none; margin: 0;
  padding: 0; border: 0"><h2 id="t" style="height: 40px; margin: 0">Too tall</h2>
<div style="height: 1200px"></div><button style="display: block; height: 40px">Save</button>
</dialog></body></html>"""


PAGES = {"/fits": FITS, "/too-wide": TOO_WIDE, "/tall-popup": TALL_POPUP}


def test_a_walk_names_a_page_too_wide_a_popup_out_of_reach_and_an_axe_violation(page: Page):
    def answer(route: Route) -> None:
        path = route.request.url.removeprefix("http://walk.test")
        route.fulfill(status=200, content_type="text/html", body=PAGES[path])

    page.route("http://walk.test/**", answer)
    page.set_viewport_size({"width": 390, "height": 844})
    walk = Walk(page, "phone", "check")
    page.goto("http://walk.test/fits")
    walk.step("fits")
    assert walk.problems == []

    page.goto("http://walk.test/too-wide")
    walk.step("too-wide")
    assert walk.problems[0] == (
        "phone 02-check-too-wide: the page is 608 px wide in a 390 px window; "
        "sticking out: ['div.wide (608 px)']"
    )
    assert walk.problems[1].startswith(
        "phone 02-check-too-wide: axe image-alt (critical): Images must have alternative text"
    )
    assert len(walk.problems) == 2

    walk.step("too-wide-again")  # the same page: axe does not run again
    assert len(walk.problems) == 3

    page.goto("http://walk.test/tall-popup")
    walk.step("tall-popup")
    assert walk.problems[3:] == [
        'phone 04-check-tall-popup: pop-up "Too tall" is 1280 px tall in a 844 px window and '
        "its foot cannot be scrolled to"
    ]
    assert walk.steps == [
        "01-check-fits",
        "02-check-too-wide",
        "03-check-too-wide-again",
        "04-check-tall-popup",
    ]
    kept = screenshots_dir() / "walk-phone"
    assert all((kept / f"{step}.png").is_file() for step in walk.steps)
    with pytest.raises(AssertionError, match="sticking out"):
        walk.done()
