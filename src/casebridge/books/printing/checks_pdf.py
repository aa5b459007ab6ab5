"""Printed checks as a PDF for standard US check stock (Letter, 8.5 x 11 inches).

Two layouts:

- ``check_on_top``: one check per page, in the top 3.5 inches, and two stubs below it
  (3.75 inches each): the payee's remittance stub and the firm's file copy;
- ``three_per_page``: three checks per page, each 11/3 inches high.

Each check shows the firm's name (and "Client trust account" on a trust check), the bank's
name, the check number, the date it was printed, the payee, the amount in figures
(``$****1,234.56``: asterisks fill the box so nothing can be written in front) and in
words (:func:`~casebridge.books.printing.words.amount_in_words`, the rest of the line
filled with asterisks), the memo, a signature line and, when the bank account has a
routing and an account number, the MICR line at the bottom in E-13B
(:mod:`~casebridge.books.printing.micr`). **The MICR line must be printed with MICR
toner or ink, at 100% scale**, for a bank's reader-sorter to read it.

Drawn with fpdf2 in a core font (Helvetica), so nothing is installed for it; text outside
Latin-1 is transliterated (:func:`casebridge.core.text.pdf_text`). Plain data in
(:class:`~casebridge.books.selectors.checks.PrintableCheck`), bytes out.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from casebridge.books.printing.micr import draw_micr_line, micr_line
from casebridge.books.printing.words import amount_in_words
from casebridge.books.selectors.checks import PrintableCheck
from casebridge.core.money import cents_to_decimal
from casebridge.core.text import pdf_text


class CheckLayout(enum.StrEnum):
    CHECK_ON_TOP = "check_on_top"
    THREE_PER_PAGE = "three_per_page"


PAGE_WIDTH, PAGE_HEIGHT = 8.5, 11.0
#: Check on top: the check's height; the two stubs share the rest.
CHECK_ON_TOP_HEIGHT = 3.5
#: Three per page: each check's height.
THIRD = PAGE_HEIGHT / 3
#: The amount in figures: "$" and this many characters, asterisks in front.
FIGURES_WIDTH = 14

INK = (0, 0, 0)
MUTED = (90, 98, 112)
RULE = (150, 156, 168)
LEFT = 0.4
RIGHT = PAGE_WIDTH - 0.4


def figures(cents: int) -> str:
    """The amount in figures, asterisk-filled: 123456 -> "$******1,234.56"."""
    return "$" + f"{cents_to_decimal(cents):,}".rjust(FIGURES_WIDTH, "*")


def _date(check: PrintableCheck) -> str:
    return check.printed_on.strftime("%m/%d/%Y")


class _ChecksPdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="in", format="letter")
        self.set_auto_page_break(auto=False)
        self.set_margins(0, 0, 0)
        self.set_title(pdf_text(title))
        self.set_creator("Casebridge")
        self.set_line_width(0.01)

    def text_at(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float,
        style: str = "",
        color: tuple[int, int, int] = INK,
        width: float = 0,
        align: str = "L",
        font: str = "Helvetica",
    ) -> float:
        """One line of text, its top at ``y``, cut to ``width`` if given (shrinking the
        font first, down to 70%, so a long payee still fits). Returns where the text ends
        (left-aligned)."""
        self.set_font(font, style, size)
        text = pdf_text(text)
        if width:
            while self.get_string_width(text) > width and self.font_size_pt > size * 0.7:
                self.set_font_size(self.font_size_pt - 0.25)
            while text and self.get_string_width(text) > width:
                text = text[:-1]
        self.set_text_color(*color)
        self.set_xy(x, y)
        self.cell(
            width or self.get_string_width(text) + 0.02,
            size / 72 * 1.2,
            text,
            align=align,
            new_x=XPos.RIGHT,
            new_y=YPos.TOP,
        )
        self.set_text_color(*INK)
        return x + self.get_string_width(text)

    def rule(self, x1: float, y: float, x2: float) -> None:
        self.set_draw_color(*RULE)
        self.line(x1, y, x2, y)

    def check(self, c: PrintableCheck, top: float, height: float) -> None:
        """One check in the band ``top`` .. ``top + height``."""
        # heading: firm, bank, number, date
        self.text_at(LEFT, top + 0.3, c.firm_name, size=12, style="B", width=3.0)
        self.text_at(
            LEFT,
            top + 0.52,
            "CLIENT TRUST ACCOUNT" if c.is_trust else c.bank_account_name,
            size=7.5,
            color=MUTED,
            width=3.0,
        )
        self.text_at(
            3.6, top + 0.3, c.bank_name or c.bank_account_name, size=10, style="B", width=2.4
        )
        self.text_at(
            RIGHT - 1.6, top + 0.28, str(c.check_number), size=13, style="B", width=1.6, align="R"
        )
        self.text_at(RIGHT - 2.2, top + 0.72, "DATE", size=7, color=MUTED)
        self.text_at(RIGHT - 1.6, top + 0.68, _date(c), size=11, width=1.6, align="R")
        self.rule(RIGHT - 1.8, top + 0.9, RIGHT)

        # pay to the order of ... $****1,234.56
        line_y = top + 1.38
        self.text_at(LEFT, line_y - 0.3, "PAY TO THE", size=7, color=MUTED)
        self.text_at(LEFT, line_y - 0.17, "ORDER OF", size=7, color=MUTED)
        self.text_at(1.2, line_y - 0.22, c.payee, size=11, style="B", width=4.9)
        self.rule(1.15, line_y, 6.2)
        self.set_draw_color(*RULE)
        self.rect(6.35, line_y - 0.3, RIGHT - 6.35, 0.32)
        self.text_at(
            6.4,
            line_y - 0.25,
            figures(c.amount_cents),
            size=11,
            style="B",
            width=RIGHT - 6.45,
            align="R",
            font="Courier",
        )
        self.text_at(6.35, line_y + 0.05, "Void after 180 days", size=6.5, color=MUTED)

        # the amount in words, the rest of the line asterisks
        words_y = top + 1.85
        words = amount_in_words(c.amount_cents)
        end = self.text_at(LEFT, words_y - 0.2, words, size=10, width=RIGHT - LEFT - 0.3)
        self.set_font("Helvetica", "", 10)
        stars = int((RIGHT - end - 0.25) / self.get_string_width("*"))
        if stars > 0:
            self.text_at(end + 0.1, words_y - 0.2, "*" * stars, size=10)
        self.rule(LEFT, words_y, RIGHT)

        # memo and signature
        sign_y = top + height - 0.95
        self.text_at(LEFT, sign_y - 0.17, "MEMO", size=7, color=MUTED)
        self.text_at(0.85, sign_y - 0.22, c.memo, size=9, width=3.9)
        self.rule(0.8, sign_y, 4.8)
        self.rule(5.3, sign_y, RIGHT)
        self.text_at(5.3, sign_y + 0.03, "AUTHORIZED SIGNATURE", size=6.5, color=MUTED)

        if c.has_micr:
            line = micr_line(
                check_number=c.check_number,
                routing_number=c.routing_number,
                account_number=c.account_number,
            )
            draw_micr_line(self, line, right=PAGE_WIDTH, bottom=top + height)

    def stub(self, c: PrintableCheck, top: float, height: float, title: str) -> None:
        """A stub: what the check paid, for the payee or the firm's records."""
        self.set_draw_color(*RULE)
        self.set_dash_pattern(dash=0.05, gap=0.05)
        self.line(0.2, top, PAGE_WIDTH - 0.2, top)
        self.set_dash_pattern()
        y = top + 0.35
        self.text_at(LEFT, y, c.firm_name, size=10, style="B", width=4.0)
        self.text_at(RIGHT - 2.5, y, title, size=8, color=MUTED, width=2.5, align="R")
        y += 0.35
        rows = [
            ("Check number", str(c.check_number)),
            ("Date", _date(c)),
            ("Pay to", c.payee),
            ("Amount", f"${cents_to_decimal(c.amount_cents):,}"),
            ("In words", amount_in_words(c.amount_cents)),
            ("Memo", c.memo or "-"),
            ("File", f"{c.file_number} {c.file_name}".strip() or "-"),
            ("Drawn on", f"{c.bank_account_name}" + (f" at {c.bank_name}" if c.bank_name else "")),
        ]
        for label, value in rows:
            self.text_at(LEFT, y, label.upper(), size=7, color=MUTED)
            self.text_at(1.6, y - 0.02, value, size=9.5, width=RIGHT - 1.6)
            y += 0.3
            if y > top + height - 0.3:
                break


def render_checks_pdf(checks: Sequence[PrintableCheck], layout: CheckLayout) -> bytes:
    """The PDF of ``checks`` in ``layout``: one page per check (check on top), or three
    checks to a page."""
    if not checks:
        raise ValueError("no checks to print")
    numbers = [c.check_number for c in checks]
    title = (
        f"Check {numbers[0]}"
        if len(numbers) == 1
        else f"Checks {min(numbers)}-{max(numbers)} ({len(numbers)})"
    )
    pdf = _ChecksPdf(title)
    if layout == CheckLayout.CHECK_ON_TOP:
        stub_height = (PAGE_HEIGHT - CHECK_ON_TOP_HEIGHT) / 2
        for c in checks:
            pdf.add_page()
            pdf.check(c, 0, CHECK_ON_TOP_HEIGHT)
            pdf.stub(c, CHECK_ON_TOP_HEIGHT, stub_height, "REMITTANCE - DETACH AND RETAIN")
            pdf.stub(c, CHECK_ON_TOP_HEIGHT + stub_height, stub_height, "FILE COPY")
    else:
        for i, c in enumerate(checks):
            if i % 3 == 0:
                pdf.add_page()
            pdf.check(c, (i % 3) * THIRD, THIRD)
    return bytes(pdf.output())
