"""Text for PDFs drawn in a core font (Helvetica): no font file is downloaded or
installed, so the text must be Latin-1."""

from __future__ import annotations

import unicodedata

_PLAIN = str.maketrans(
    {
        "\u0141": "L",
        "\u0142": "l",
        "\u0110": "D",
        "\u0111": "d",
        "\u0152": "OE",
        "\u0153": "oe",
        "\u0131": "i",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00a0": " ",
        "\u2022": "-",
    }
)


def pdf_text(text: str) -> str:
    """Text a core font can draw: Latin-1, with typographic punctuation made plain and
    other letters stripped of their accents (or replaced by ``?``)."""
    text = text.translate(_PLAIN)
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)
