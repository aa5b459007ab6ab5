"""The checks' PDF: its pages in both layouts, what each check says, and the MICR line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from casebridge.books.errors import Conflict, NotFound, ValidationFailed
from casebridge.books.models import ActivityCode, BankAccount
from casebridge.books.printing.checks_pdf import CheckLayout, figures, render_checks_pdf
from casebridge.books.printing.micr import (
    AMOUNT,
    DASH,
    GLYPHS,
    HEIGHT,
    ON_US,
    TRANSIT,
    glyph_rects,
    micr_line,
)
from casebridge.books.selectors.checks import PrintableCheck, printed_checks_for_pdf
from casebridge.books.services import checks
from tests.books.ledger_helpers import D, books_open, deposit, operating_check, trust_check

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext (Debian package poppler-utils) is not installed: the PDF's text "
    "cannot be read back (scripts/install-test-packages.sh)",
)


def pages(pdf: bytes) -> int:
    count = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert re.search(rb"/Count\s+" + str(count).encode(), pdf)
    return count


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "checks.pdf"
    path.write_bytes(pdf)
    return subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        ["pdftotext", "-layout", str(path), "-"],  # noqa: S607 - skipped without it
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def printable(n: int, **change: object) -> PrintableCheck:
    values: dict[str, object] = {
        "check_id": n,
        "check_number": 1000 + n,
        "printed_on": dt.date(2026, 3, 5),
        "payee": f"Payee {n}",
        "amount_cents": 123_456,
        "memo": "Records",
        "firm_name": "Smith Personal Injury LLP",
        "bank_account_name": "Operating",
        "bank_name": "First National Bank",
        "routing_number": "021000021",
        "account_number": "123456789",
        "is_trust": False,
        "file_number": "2026-00001",
        "file_name": "Lopez v. Acme Trucking",
        "request_date": dt.date(2026, 3, 2),
    }
    values.update(change)
    return PrintableCheck(**values)  # type: ignore[arg-type]


# --- the MICR line ---------------------------------------------------------------------------


def test_the_micr_line_puts_each_field_in_its_positions():
    line = micr_line(check_number=1001, routing_number="021000021", account_number="123456789")
    assert line.text == (
        f"{ON_US}001001{ON_US} {TRANSIT}021000021{TRANSIT}         123456789{ON_US}"
    )
    assert line.as_letters == "C001001C A021000021A         123456789C"
    assert line.positions[14] == ON_US  # the on-us field ends at 14
    assert (line.positions[43], line.positions[33]) == (TRANSIT, TRANSIT)
    assert line.positions[45] == ON_US  # the auxiliary on-us field ends at 45
    assert 44 not in line.positions
    assert not set(range(1, 14)) & set(line.positions)  # the amount field stays blank


@pytest.mark.parametrize(
    ("routing", "account", "number", "problem"),
    [
        ("02100002", "1", 1, "routing number is 9 digits"),
        ("02100002X", "1", 1, "routing number is 9 digits"),
        ("021000021", "", 1, "account number is 1 to 17 digits"),
        ("021000021", "1" * 18, 1, "account number is 1 to 17 digits"),
        ("021000021", "1", 0, "check number is positive"),
    ],
)
def test_the_micr_line_needs_a_routing_and_an_account_number(routing, account, number, problem):
    with pytest.raises(ValueError, match=problem):
        micr_line(check_number=number, routing_number=routing, account_number=account)


def test_the_fourteen_e13b_characters_are_drawn_on_the_grid():
    assert set(GLYPHS) == {*"0123456789", TRANSIT, AMOUNT, ON_US, DASH}
    shapes = set()
    for char, rows in GLYPHS.items():
        assert len(rows) == HEIGHT, char
        assert len({len(row) for row in rows}) == 1, char
        assert len(rows[0]) <= 7, char  # at most 0.091 inch wide
        ink = {(x, y) for y, row in enumerate(rows) for x, c in enumerate(row) if c == "#"}
        covered = {
            (x + dx, y + dy)
            for x, y, w, h in glyph_rects(char)
            for dx in range(w)
            for dy in range(h)
        }
        assert covered == ink, char  # the rectangles draw exactly the ink
        assert sum(w * h for _, _, w, h in glyph_rects(char)) == len(ink), char  # no overlap
        shapes.add(rows)
    assert len(shapes) == 14  # no two alike


# --- the PDF from plain data ---------------------------------------------------------------


def test_check_on_top_is_one_page_per_check():
    for n in (1, 2, 5):
        pdf = render_checks_pdf([printable(i) for i in range(n)], CheckLayout.CHECK_ON_TOP)
        assert pdf.startswith(b"%PDF-")
        assert pages(pdf) == n


def test_three_per_page_takes_a_third_of_the_pages():
    for n, expected in ((1, 1), (3, 1), (4, 2), (6, 2), (7, 3)):
        pdf = render_checks_pdf([printable(i) for i in range(n)], CheckLayout.THREE_PER_PAGE)
        assert pages(pdf) == expected, n


def test_the_amount_in_figures_is_asterisk_filled():
    assert figures(123_456) == "$******1,234.56"
    assert figures(1) == "$**********0.01"
    assert figures(999_999_999_99) == "$999,999,999.99"


@needs_pdftotext
def test_each_check_says_who_what_when_and_its_number(tmp_path):
    pdf = render_checks_pdf(
        [
            printable(1, payee="Valley Medical Center", memo="Lien payoff", is_trust=True),
            printable(2, payee="Zoë Łukasiewicz", amount_cents=999_999_999_99),
        ],
        CheckLayout.THREE_PER_PAGE,
    )
    text = pdf_text(pdf, tmp_path)
    for expected in [
        "Smith Personal Injury LLP",
        "CLIENT TRUST ACCOUNT",
        "First National Bank",
        "1001",
        "03/05/2026",
        "Valley Medical Center",
        "$******1,234.56",
        "One thousand two hundred thirty-four and 56/100 dollars",
        "Lien payoff",
        "AUTHORIZED SIGNATURE",
        "C001001C A021000021A",
        "123456789C",
        "1002",
        "Zoë Lukasiewicz",  # a core font shows Latin-1 (ë): the rest is transliterated (Ł)
        "$999,999,999.99",
        "Nine hundred ninety-nine million nine hundred ninety-nine thousand nine hundred "
        "ninety-nine and 99/100 dollars",
        "C001002C",
    ]:
        assert expected in text, expected


@needs_pdftotext
def test_the_stubs_repeat_the_payment(tmp_path):
    text = pdf_text(render_checks_pdf([printable(1)], CheckLayout.CHECK_ON_TOP), tmp_path)
    assert "REMITTANCE - DETACH AND RETAIN" in text
    assert "FILE COPY" in text
    assert text.count("One thousand two hundred thirty-four and 56/100 dollars") == 3
    assert text.count("2026-00001 Lopez v. Acme Trucking") == 2


@needs_pdftotext
def test_a_bank_account_without_numbers_prints_no_micr_line(tmp_path):
    plain = printable(1, routing_number="", account_number="")
    assert not plain.has_micr
    pdf = render_checks_pdf([plain], CheckLayout.CHECK_ON_TOP)
    text = pdf_text(pdf, tmp_path)
    assert "Payee 1" in text
    assert "A021000021A" not in text
    assert "C001001C" not in text


# --- the printed checks of the firm, read for the PDF ------------------------------------------


@pytest.fixture
def printed(firm, admin, operating, trust, client_file):
    books_open(firm, admin)
    court = ActivityCode.objects.get(firm=firm, code="E112")
    BankAccount.objects.filter(pk=operating.pk).update(
        routing_number="021000021", account_number="123456789", bank_name="First National Bank"
    )
    rows = [
        operating_check(firm, admin, operating, client_file, cents, court, payee=payee)
        for payee, cents in (("Superior Court", 43_500), ("Records Inc", 12_345))
    ]
    checks.checks_print_batch(
        firm=firm, actor=admin, check_ids=[r.pk for r in rows], bank_account_id=operating.pk
    )
    return rows


def test_the_firms_printed_checks_are_read_in_the_order_asked(firm, printed, client_file):
    court, records = printed
    rows = printed_checks_for_pdf(firm=firm, check_ids=[records.pk, court.pk])
    assert [(r.check_number, r.payee, r.amount_cents) for r in rows] == [
        (1002, "Records Inc", 12_345),
        (1001, "Superior Court", 43_500),
    ]
    first = rows[0]
    assert (first.firm_name, first.bank_name, first.routing_number, first.account_number) == (
        "Smith Personal Injury LLP",
        "First National Bank",
        "021000021",
        "123456789",
    )
    assert (first.file_number, first.file_name, first.is_trust) == (
        client_file.number,
        "Lopez v. Acme Trucking",
        False,
    )


def test_only_printed_checks_of_the_firm_go_to_paper(
    firm, other_firm, admin, trust, client_file, printed
):
    deposit(firm, admin, trust, client_file, 10_000)
    queued = trust_check(firm, admin, trust, client_file, 1_000)
    voided = trust_check(firm, admin, trust, client_file, 1_000)
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=D)
    cases = [
        ([], ValidationFailed, "ids: name at least one printed check"),
        ([printed[0].pk, 999_999], NotFound, "ids: check 999999 not found"),
        ([queued.pk], Conflict, f"ids: check {queued.pk} is queued: only a printed check"),
        ([voided.pk], Conflict, f"ids: check {voided.pk} is voided: only a printed check"),
        (list(range(1, 502)), ValidationFailed, "ids: at most 500 checks in one PDF, not 501"),
    ]
    for ids, error, message in cases:
        with pytest.raises(error) as info:
            printed_checks_for_pdf(firm=firm, check_ids=ids)
        assert info.value.message.startswith(message), info.value.message
        assert info.value.field == "ids"
    with pytest.raises(NotFound):
        printed_checks_for_pdf(firm=other_firm, check_ids=[printed[0].pk])
