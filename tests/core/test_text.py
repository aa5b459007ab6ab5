"""Names that read the same everywhere: characters that hide or reorder text, or break a
line, are refused with the field and the character named; CSV cells never start a formula."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebridge.core.errors import ValidationFailed
from casebridge.core.text import csv_cell, hidden_character, plain_line, plain_text

#: Every character the issue names, and others of the same kinds.
DIRECTION_OR_INVISIBLE = [
    "\u202a",  # left-to-right embedding
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2067",
    "\u2068",
    "\u2069",  # pop directional isolate
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u061c",  # Arabic letter mark
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\U000e0041",  # tag latin capital letter A
]
CONTROL = ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", DIRECTION_OR_INVISIBLE)
def test_a_character_that_hides_or_reorders_text_is_refused_by_name(char):
    with pytest.raises(ValidationFailed) as info:
        plain_line(f"Acme{char}Medical", field="payee")
    assert info.value.message == (
        f"payee contains an invisible or direction-changing character (U+{ord(char):04X})"
    )
    assert info.value.field == "payee"
    assert info.value.code == "validation_error"
    with pytest.raises(ValidationFailed):
        plain_text(f"1 Main St\n{char}Springfield", field="address")


@pytest.mark.parametrize("char", CONTROL)
def test_a_control_character_or_line_break_is_refused_in_a_name(char):
    with pytest.raises(ValidationFailed) as info:
        plain_line(f"Acme{char}Medical", field="client_name", label="client")
    assert info.value.message == f"client contains a control character (U+{ord(char):04X})"
    assert info.value.field == "client_name"


def test_the_field_names_the_refusal_unless_a_label_is_given():
    with pytest.raises(ValidationFailed, match=r"^payee name contains .*\(U\+202E\)$"):
        plain_line("x\u202ey", field="payee_name")


def test_an_address_keeps_its_line_breaks_but_no_other_control():
    assert plain_text("1 Main St\r\nSpringfield", field="address") == "1 Main St\r\nSpringfield"
    with pytest.raises(ValidationFailed, match=r"address contains a control character \(U\+0009\)"):
        plain_text("1 Main St\tSpringfield", field="address")


@pytest.mark.parametrize(
    "name",
    [
        "Maria López",
        "Zoë O'Brien-Smith",
        "José Ñúñez & Hijos, S.A.",
        "محمد عبد الله",  # Arabic reads right to left by itself, no override needed
        "שרה כהן",
        "山田 太郎",
        "Łódź Medical Sp. z o.o.",
        "Dr. Anne\u00a0Marie",  # a no-break space is a space
        "Café 😀",
    ],
)
def test_names_in_every_script_pass(name):
    assert plain_line(name, field="name") == name
    assert hidden_character(name) is None


def test_the_first_offending_character_is_named():
    assert hidden_character("a\u200bb\u202ec") == "\u200b"
    assert hidden_character("line\nbreak", multiline=True) is None


@given(st.text())
def test_the_check_agrees_with_the_unicode_categories(value):
    refused = {c for c in value if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"}}
    found = hidden_character(value)
    assert (found is None) == (not refused)
    if found is not None:
        assert found == next(c for c in value if c in refused)


# --- CSV cells -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1+1", "'  =1+1"),  # leading spaces a spreadsheet may skip
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        ("Valley Records", "Valley Records"),
        ("", ""),
        (None, ""),
        ("a=b", "a=b"),
    ],
)
def test_a_csv_cell_never_starts_a_formula(value, cell):
    assert csv_cell(value) == cell
