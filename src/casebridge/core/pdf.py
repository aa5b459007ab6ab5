"""A Unicode font for the PDFs people sign and auditors read (the settlement statement,
the bank reconciliation): DejaVu Sans, vendored under ``core/fonts`` (its licence beside
it) and embedded, subset, by fpdf2, so "Łukasz Żółć" or "Дмитрий Петров" print as
written rather than transliterated, and nothing is downloaded or installed at run time.

Checks keep the core font and :func:`casebridge.core.text.pdf_text`: a check's payee
line is what a bank reads, and its MICR line has a font of its own.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF

FONTS = Path(__file__).with_name("fonts")
FAMILY = "DejaVu"
_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


def add_unicode_fonts(pdf: FPDF) -> str:
    """Register the regular and bold faces on ``pdf``; returns the family name."""
    for style, name in _FILES.items():
        pdf.add_font(FAMILY, style, str(FONTS / name))
    return FAMILY


@cache
def _glyphs() -> frozenset[int]:
    """The code points both faces can draw."""
    points = None
    for name in _FILES.values():
        font = TTFont(str(FONTS / name), lazy=True)
        cmap = set(font.getBestCmap())
        font.close()
        points = cmap if points is None else points & cmap
    return frozenset(points or ())


def unicode_text(text: str) -> str:
    """``text`` as the font can draw it: kept as written where it has the glyph, else its
    letter without the accent, else ``?`` (a CJK name, say, which DejaVu does not cover);
    control and format characters (Cc, Cf: nothing a reader should see) dropped."""
    glyphs = _glyphs()
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        if ord(ch) in glyphs:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) in glyphs for c in base) else "?")
    return "".join(out)
