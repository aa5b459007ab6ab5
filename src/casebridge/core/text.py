"""Text that is printed: names, payees and payors on screens, checks, statements and CSV.

A name must read the same everywhere it is shown, so it may not carry a character that
hides text or reorders it (ADR 0009):

- control characters (Unicode category Cc: NUL and the other C0 controls, DEL, the C1
  controls; tab, newline and carriage return too, for a name is one line of text);
- format characters (Cf), among them the bidirectional embeddings, overrides and
  isolates U+202A-U+202E and U+2066-U+2069, the marks U+200E, U+200F and U+061C, the
  zero-width space, non-joiner and joiner U+200B-U+200D, the word joiner U+2060, the byte
  order mark U+FEFF and the soft hyphen U+00AD;
- the line and paragraph separators U+2028 and U+2029 (Zl, Zp), and lone surrogates
  (Cs), which no database column stores.

Text of several lines (an address) may hold line breaks and nothing else of the above.
Both the books and the cases side refuse such text in their services, so the screens and
the APIs give the same refusal: :class:`~casebridge.core.errors.ValidationFailed` naming
the field and the character, and nothing is written.

:func:`csv_cell` is for the other way text leaves the system: a spreadsheet would run a
cell that starts like a formula; :func:`pdf_text` for a PDF drawn in a core font (the
settlement statement, checks), which shows Latin-1 only.
"""

from __future__ import annotations

import unicodedata

from casebridge.core.errors import ValidationFailed

#: Categories of characters that hide or reorder text, or break a line.
_CONTROL = frozenset({"Cc", "Zl", "Zp", "Cs"})
_FORMAT = "Cf"
#: What text of several lines may contain of the above.
_LINE_BREAKS = frozenset({"\n", "\r"})


def hidden_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character of ``value`` that hides or reorders text or breaks a line
    (line breaks are allowed when ``multiline``), or None."""
    if value.isascii() and value.isprintable():  # the common case, at C speed
        return None
    for char in value:
        if multiline and char in _LINE_BREAKS:
            continue
        category = unicodedata.category(char)
        if category == _FORMAT or category in _CONTROL:
            return char
    return None


def _refusal(char: str, field: str, label: str | None) -> ValidationFailed:
    kind = (
        "an invisible or direction-changing character"
        if unicodedata.category(char) == _FORMAT
        else "a control character"
    )
    return ValidationFailed(
        f"{label or field.replace('_', ' ')} contains {kind} (U+{ord(char):04X})", field=field
    )


def plain_line(value: str, *, field: str, label: str | None = None) -> str:
    """``value``, refused (:class:`ValidationFailed` on ``field``) if it holds a character
    that hides or reorders text, or a line break or tab. ``label`` names the field in the
    message (default: the field's name)."""
    char = hidden_character(value)
    if char is not None:
        raise _refusal(char, field, label)
    return value


def plain_text(value: str, *, field: str, label: str | None = None) -> str:
    """Like :func:`plain_line`, for text of several lines: line breaks are allowed."""
    char = hidden_character(value, multiline=True)
    if char is not None:
        raise _refusal(char, field, label)
    return value


#: What makes a spreadsheet read a cell as a formula (and their full-width forms, which
#: some spreadsheets fold to the same).
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def csv_cell(value: object) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text: a cell that starts like a
    formula (after any leading spaces, which a spreadsheet may skip) gets a leading
    apostrophe. Numbers should be written as they are, not through here."""
    text = "" if value is None else str(value)
    if text.lstrip(" ")[:1] in _FORMULA_START:
        return f"'{text}"
    return text


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


def file_name_part(text: str, *, fallback: str = "x") -> str:
    """``text`` as part of a download's file name: accents folded to ASCII, every run of
    characters other than letters, digits, ``.``, ``_`` and ``-`` a single hyphen (so no
    quote, slash or control character reaches a ``Content-Disposition`` header or a
    path), no hyphen or dot at either end; ``fallback`` when nothing is left."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out: list[str] = []
    for char in folded:
        if char.isalnum() or char in "._":
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-.") or fallback
