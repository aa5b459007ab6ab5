"""What the browser tests check of a screen, at a size (issue 14), shared by the screen-by-screen
visit (test_screens_fit.py) and the walks of the seed and of a settlement at each size.

* the page never scrolls sideways: ``document.documentElement.scrollWidth`` is at most the
  viewport's width (wide tables scroll inside their card, rows stack as cards on a phone);
  on a phone no card scrolls sideways either;
* no id is used twice (a label's ``for`` would name the wrong control);
* an open pop-up fits the window, or scrolls inside it (its foot is never out of reach);
* axe-core (vendored by the pinned ``axe-playwright-python``, see requirements/dev.txt)
  finds no violation of impact serious or critical;
* screenshots are kept as test artifacts under ``$CASEBRIDGE_VAR_DIR/screenshots/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import Page

SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
#: The impacts the check refuses (axe's four are minor, moderate, serious, critical).
REFUSED_IMPACTS = {"serious", "critical"}
AXE = Axe()
#: The outermost elements past the window's right edge (not inside a scrolling box), to
#: name what makes a page too wide.
STICKING_OUT = """(width) => {
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right <= width + 0.5 || box.width === 0) continue;
    let clipped = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") { clipped = true; break; }
    }
    const parent = el.parentElement.getBoundingClientRect();
    if (!clipped && parent.right <= width + 0.5) {
      out.push(`${el.tagName.toLowerCase()}.${el.className} (${Math.round(box.right)} px)`);
    }
  }
  return out.slice(0, 6);
}"""
#: Cards whose content is wider than they are (named by their heading).
WIDE_CARDS = """() => [...document.querySelectorAll("main .card")]
  .filter((card) => card.scrollWidth > card.clientWidth + 1)
  .map((card) => `${(card.querySelector("h2, h3") || card).textContent.trim().slice(0, 40)}`
    + ` (${card.scrollWidth} px in ${card.clientWidth} px)`)"""
#: Ids used more than once on the page (a label's ``for`` then names the wrong control).
DUPLICATE_IDS = """() => {
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) || 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}"""
#: Open pop-ups that do not fit the window and cannot be scrolled to their foot, or wider
#: than the window (named by their title).
POPUPS_OUT_OF_REACH = """() => [...document.querySelectorAll("dialog[open]")].flatMap((d) => {
  const box = d.getBoundingClientRect();
  const name = (d.querySelector("h2") || d).textContent.trim().slice(0, 50);
  const out = [];
  const scrolls = ["auto", "scroll"].includes(getComputedStyle(d).overflowY);
  const outside = box.top < -0.5 || box.bottom > innerHeight + 0.5;
  if (outside || (!scrolls && d.scrollHeight > d.clientHeight + 1))
    out.push(`pop-up "${name}" is ${Math.round(box.height)} px tall in a ${innerHeight} px window`
      + ` and its foot cannot be scrolled to`);
  if (box.left < -0.5 || box.right > innerWidth + 0.5 || d.scrollWidth > d.clientWidth + 1)
    out.push(`pop-up "${name}" is wider than the ${innerWidth} px window`);
  return out;
})"""


def screenshots_dir() -> Path:
    var_dir = Path(os.environ.get("CASEBRIDGE_VAR_DIR") or settings.BASE_DIR / "var")
    return var_dir / "screenshots"


def shoot(page: Page, relative: str) -> Path:
    """A full-page screenshot kept under ``screenshots/<relative>``."""
    target = screenshots_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


def fit_problems(page: Page, name: str, size: str) -> list[str]:
    """What makes the page not fit ``size``: sideways scroll, a card scrolling sideways on a
    phone, an id used twice, a pop-up out of reach."""
    width = SIZES[size][0]
    wrong = [f"{size} {name}: id {i} used twice" for i in page.evaluate(DUPLICATE_IDS)]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wrong.append(
            f"{size} {name}: the page is {scroll_width} px wide in a {width} px window; "
            f"sticking out: {page.evaluate(STICKING_OUT, width)}"
        )
    if size == "phone":
        # Rows stack as cards: on a phone no card needs to scroll sideways either.
        for card in page.evaluate(WIDE_CARDS):
            wrong.append(f"{size} {name}: {card} scrolls sideways inside its card")
    wrong += [f"{size} {name}: {p}" for p in page.evaluate(POPUPS_OUT_OF_REACH)]
    return wrong


def axe_problems(page: Page, name: str, size: str) -> list[str]:
    """axe-core's violations of impact serious or critical."""
    wrong = []
    for violation in AXE.run(page).response["violations"]:
        if violation["impact"] in REFUSED_IMPACTS:
            targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
            wrong.append(
                f"{size} {name}: axe {violation['id']} ({violation['impact']}): "
                f"{violation['help']} at {targets}"
            )
    return wrong


def check_page(page: Page, name: str, size: str) -> list[str]:
    """Screenshot ``<size>/<name>.png``; what is wrong with the page (nothing when it fits
    and passes axe)."""
    shoot(page, f"{size}/{name}.png")
    return fit_problems(page, name, size) + axe_problems(page, name, size)


_STEP = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class Walk:
    """A person's walk through the screens at one size. Each :meth:`step` keeps a screenshot
    ``walk-<size>/<NN>-<walk>-<step>.png`` and checks the page fits; axe runs once on each
    new page or pop-up (its address and open pop-up's title). What is wrong is gathered,
    so one run names every step that does not fit; :meth:`done` asserts there is nothing."""

    def __init__(self, page: Page, size: str, name: str) -> None:
        self.page = page
        self.size = size
        self.name = name
        self.steps: list[str] = []
        self.problems: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    @property
    def width(self) -> int:
        return SIZES[self.size][0]

    @property
    def phone(self) -> bool:
        return self.size == "phone"

    def step(self, step: str) -> None:
        assert _STEP.fullmatch(step), step
        label = f"{len(self.steps) + 1:02d}-{self.name}-{step}"
        self.steps.append(label)
        shoot(self.page, f"walk-{self.size}/{label}.png")
        self.problems += fit_problems(self.page, label, self.size)
        titles = self.page.locator("dialog[open] h2")
        popup = (titles.first.text_content() or "") if titles.count() else ""
        key = (self.page.url, popup)
        if key not in self._seen:
            self._seen.add(key)
            self.problems += axe_problems(self.page, label, self.size)

    def done(self) -> None:
        assert self.problems == [], "\n".join(self.problems)
        kept = sorted(p.name for p in (screenshots_dir() / f"walk-{self.size}").glob("*.png"))
        mine = [f"{label}.png" for label in self.steps]
        assert set(mine) <= set(kept), sorted(set(mine) - set(kept))
