"""The MICR line of a US check in the E-13B character set, drawn as filled shapes.

No E-13B font with a free licence is carried by a package registry, so the 14 characters
(the digits 0-9 and the four symbols: transit ⑆, amount ⑇, on-us ⑈, dash ⑉) are drawn
here as filled rectangles on the standard's grid: a module of 0.013 inch, characters 9
modules (0.117 inch) high and at most 7 (0.091 inch) wide, one character per 0.125-inch
position (8 characters per inch). The shapes approximate the standard's (ANSI
X9.100-160-1 / ISO 1004-1): the same strokes and heavy areas in the same places, not
its exact outlines and curves.

**Banks read the line magnetically: it must be printed with MICR toner or ink**, at 100%
scale (no "fit to page"), and a firm should have its bank test a printed check before
use. Printed with ordinary toner the line is still legible to a person and to an image
reader, but a reader-sorter will reject the check and it is processed by hand.

Where the fields go (positions counted from the check's right edge, position 1's right
side 5/16 inch from it; the characters' bottom 3/16 inch above the check's bottom edge,
in the 5/8-inch clear band), for a business check::

    ⑈001234⑈ ⑆021000021⑆ 123456789⑈            (amount field: left to the bank)
    aux on-us  transit     on-us

- positions 1-12: the amount field, blank (the bank of first deposit encodes it); 13 blank;
- 14-31: the on-us field, the account number then ⑈, right-justified to position 14;
- 33-43: the transit field, ⑆ routing number ⑆; 44 blank;
- 45 and on: the auxiliary on-us field, ⑈ check number ⑈, right-justified to 45.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpdf import FPDF

TRANSIT, AMOUNT, ON_US, DASH = "\u2446", "\u2447", "\u2448", "\u2449"

#: A module of the E-13B grid, in inches.
MODULE = 0.013
#: One character position, in inches (8 per inch).
PITCH = 0.125
#: The right side of position 1 from the check's right edge, in inches.
FIRST_POSITION_FROM_RIGHT = 5 / 16
#: The characters' bottom above the check's bottom edge, in inches.
BASELINE_FROM_BOTTOM = 3 / 16
#: Character height in modules.
HEIGHT = 9

#: Each character on the grid, top row first ("#" is ink). Widths are 7 modules, the one
#: 6; the heavy lower parts are where E-13B puts more ink.
GLYPHS: dict[str, tuple[str, ...]] = {
    "0": (
        " ##### ",
        "##   ##",
        "##   ##",
        "##   ##",
        "##   ##",
        "##   ##",
        "##   ##",
        "##   ##",
        " ##### ",
    ),
    "1": (
        "  ##  ",
        "  ##  ",
        "  ##  ",
        "  ##  ",
        "  ##  ",
        "  ##  ",
        "######",
        "######",
        "######",
    ),
    "2": (
        "###### ",
        "     ##",
        "     ##",
        "     ##",
        " ######",
        "##     ",
        "###    ",
        "###    ",
        "#######",
    ),
    "3": (
        "###### ",
        "     ##",
        "     ##",
        "  #####",
        "     ##",
        "    ###",
        "    ###",
        "    ###",
        "#######",
    ),
    "4": (
        "##     ",
        "##     ",
        "##     ",
        "##  ## ",
        "##  ## ",
        "#######",
        "    ###",
        "    ###",
        "    ###",
    ),
    "5": (
        "#######",
        "##     ",
        "##     ",
        "###### ",
        "    ###",
        "    ###",
        "    ###",
        "    ###",
        "###### ",
    ),
    "6": (
        "###### ",
        "##     ",
        "##     ",
        "##     ",
        "#######",
        "##   ##",
        "##  ###",
        "##  ###",
        "#######",
    ),
    "7": (
        "#######",
        "##   ##",
        "     ##",
        "     ##",
        "    ###",
        "    ###",
        "    ###",
        "    ###",
        "    ###",
    ),
    "8": (
        " ##### ",
        " ## ## ",
        " ## ## ",
        " ##### ",
        "#######",
        "##   ##",
        "###  ##",
        "###  ##",
        "#######",
    ),
    "9": (
        "#######",
        "##   ##",
        "##   ##",
        "##   ##",
        "#######",
        "    ###",
        "    ###",
        "    ###",
        "    ###",
    ),
    # transit: a full bar, two blocks beside it at the top and the bottom
    TRANSIT: (
        "##  ###",
        "##  ###",
        "##  ###",
        "##     ",
        "##     ",
        "##     ",
        "##  ###",
        "##  ###",
        "##  ###",
    ),
    # amount: a block high on the left, a full bar, a block low on the right
    AMOUNT: (
        "##     ",
        "## ##  ",
        "## ##  ",
        "   ##  ",
        "   ##  ",
        "   ##  ",
        "   ## #",
        "   ## #",
        "      #",
    ),
    # on-us: two bars over the upper two thirds, a block low on the right
    ON_US: (
        "## ##  ",
        "## ##  ",
        "## ##  ",
        "## ##  ",
        "## ##  ",
        "## ##  ",
        "     ##",
        "     ##",
        "     ##",
    ),
    # dash: two short bars across the middle
    DASH: (
        "       ",
        "       ",
        "       ",
        "### ###",
        "### ###",
        "       ",
        "       ",
        "       ",
        "       ",
    ),
}

#: How each character reads in a text layer (the usual MICR-font letters for the symbols).
AS_TEXT = {TRANSIT: "A", AMOUNT: "B", ON_US: "C", DASH: "D"}


def glyph_rects(char: str) -> list[tuple[int, int, int, int]]:
    """``char``'s ink as rectangles (x, y, width, height) in modules from its top left:
    each row's runs of ink, a run repeated on the rows below merged into one rectangle."""
    rows = GLYPHS[char]
    rects: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], int] = {}
    for y, row in enumerate((*rows, "")):
        runs = set()
        x = 0
        while x < len(row):
            if row[x] == "#":
                start = x
                while x < len(row) and row[x] == "#":
                    x += 1
                runs.add((start, x))
            else:
                x += 1
        for run, top in list(open_runs.items()):
            if run not in runs:
                rects.append((run[0], top, run[1] - run[0], y - top))
                del open_runs[run]
        for run in runs:
            open_runs.setdefault(run, y)
    return sorted(rects, key=lambda r: (r[1], r[0]))


@dataclass(frozen=True)
class MicrLine:
    """The characters of a MICR line by position (1 = rightmost)."""

    positions: dict[int, str]

    @property
    def text(self) -> str:
        """The line as text, leftmost position first, a blank position a space (symbols
        as their Unicode characters), without the blank amount field."""
        top = max(self.positions)
        return "".join(self.positions.get(p, " ") for p in range(top, 0, -1)).rstrip()

    @property
    def as_letters(self) -> str:
        """:attr:`text` with the symbols as letters (A transit, B amount, C on-us, D dash),
        for a text layer a core font can hold."""
        return "".join(AS_TEXT.get(c, c) for c in self.text)


def _right_justified(text: str, rightmost: int) -> dict[int, str]:
    return {rightmost + i: ch for i, ch in enumerate(reversed(text))}


def micr_line(*, check_number: int, routing_number: str, account_number: str) -> MicrLine:
    """A business check's line: ⑈check number⑈ ⑆routing⑆ account⑈ (see the module's
    docstring for the positions). The check number is printed with at least 6 digits."""
    if not (len(routing_number) == 9 and routing_number.isdigit()):
        raise ValueError("a routing number is 9 digits")
    if not (1 <= len(account_number) <= 17 and account_number.isdigit()):
        raise ValueError("an account number is 1 to 17 digits")
    if check_number <= 0:
        raise ValueError("a check number is positive")
    positions = {
        **_right_justified(account_number + ON_US, 14),
        **_right_justified(TRANSIT + routing_number + TRANSIT, 33),
        **_right_justified(f"{ON_US}{check_number:06d}{ON_US}", 45),
    }
    return MicrLine(positions)


def draw_micr_line(pdf: FPDF, line: MicrLine, *, right: float, bottom: float) -> None:
    """Draw ``line`` on ``pdf`` (its unit inches) for a check whose right edge is at
    ``right`` and bottom edge at ``bottom``: filled black shapes, and the same line as
    invisible text (:attr:`MicrLine.as_letters`) so it can be searched and read back."""
    base = bottom - BASELINE_FROM_BOTTOM
    top = base - HEIGHT * MODULE
    pdf.set_fill_color(0, 0, 0)
    for position, char in line.positions.items():
        if char == " ":
            continue
        width = len(GLYPHS[char][0]) * MODULE
        box_right = right - FIRST_POSITION_FROM_RIGHT - (position - 1) * PITCH
        left = box_right - PITCH + (PITCH - width) / 2
        for x, y, w, h in glyph_rects(char):
            pdf.rect(left + x * MODULE, top + y * MODULE, w * MODULE, h * MODULE, style="F")
    # the text layer: invisible, spanning the drawn line
    leftmost = max(line.positions)
    start = right - FIRST_POSITION_FROM_RIGHT - leftmost * PITCH
    with pdf.local_context(text_mode="INVISIBLE"):
        pdf.set_font("Courier", "", 9)
        pdf.set_xy(start, top)
        pdf.cell(leftmost * PITCH, HEIGHT * MODULE, line.as_letters)
