"""The export writers (issue 15, ADR 0043): spreadsheet-safe CSV with or without a BOM,
XLSX with money as numbers in a currency format and dates as dates (read back with
openpyxl), and a landscape PDF whose header comes back on each page with the totals at
the end (read back with pdftotext)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import openpyxl
import pytest

from casebridge.core.tabular import (
    Column,
    Format,
    Kind,
    Table,
    csv_chunks,
    pdf_bytes,
    write_file,
    xlsx_bytes,
)

COLUMNS = [
    Column("Payee"),
    Column("Date", Kind.DATE),
    Column("Amount", Kind.CENTS, total=True),
    Column("Checks", Kind.COUNT),
]
ROWS = [
    ('=HYPERLINK("http://evil")', dt.date(2026, 3, 2), -12_345, 3),
    ("+1 800 555 0100", dt.date(2026, 3, 3), 250_000_00, 1),
    ("-lien", None, 0, None),
    ("@SUM(A1)", dt.date(2026, 3, 4), 1, 0),
    ("\tTabbed", dt.date(2026, 3, 5), 99, 2),
    ("\rReturn", dt.date(2026, 3, 6), 100, 2),
    ("Łukasz Żółć", dt.date(2026, 3, 7), 5, 1),
]


def csv_text(rows=ROWS, **kwargs) -> str:
    return b"".join(csv_chunks(COLUMNS, rows, **kwargs)).decode("utf-8")


def test_text_that_starts_like_a_formula_is_neutralised_but_negative_amounts_stay_numbers():
    lines = csv_text().split("\r\n")
    assert lines[0] == "Payee,Date,Amount,Checks"
    assert lines[1] == '"\'=HYPERLINK(""http://evil"")",2026-03-02,-123.45,3'
    assert lines[2] == "'+1 800 555 0100,2026-03-03,250000.00,1"
    assert lines[3] == "'-lien,,0.00,"
    assert lines[4] == "'@SUM(A1),2026-03-04,0.01,0"
    assert lines[5] == "'\tTabbed,2026-03-05,0.99,2"
    assert lines[6] == '"\'\rReturn",2026-03-06,1.00,2'
    assert lines[7] == "Łukasz Żółć,2026-03-07,0.05,1"
    assert lines[8] == ""


def test_the_byte_order_mark_only_when_asked():
    with_bom = b"".join(csv_chunks(COLUMNS, ROWS[:1], bom=True))
    without = b"".join(csv_chunks(COLUMNS, ROWS[:1]))
    assert with_bom.startswith(b"\xef\xbb\xbfPayee,")
    assert without.startswith(b"Payee,")
    assert with_bom[3:] == without


def test_csv_comes_in_chunks_and_reports_its_progress():
    rows = [("x" * 50, dt.date(2026, 1, 1), n, n) for n in range(25_000)]
    seen: list[int] = []
    chunks = list(csv_chunks(COLUMNS, rows, chunk=4096, progress=seen.append))
    assert len(chunks) > 100
    assert all(len(c) < 4096 + 200 for c in chunks)
    assert seen == [10_000, 20_000, 25_000]
    assert b"".join(chunks).count(b"\r\n") == 25_001


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="a row has 2 values for 4 columns"):
        list(csv_chunks(COLUMNS, [("only", "two")]))
    with pytest.raises(ValueError, match="a row has 2 values for 4 columns"):
        xlsx_bytes(Table("T", COLUMNS, [("only", "two")], "t"))


def test_xlsx_holds_numbers_dates_and_strings_with_their_formats():
    book = openpyxl.load_workbook(
        io.BytesIO(xlsx_bytes(Table("Checks: printed", COLUMNS, ROWS, "c")))
    )
    sheet = book.active
    assert sheet.title == "Checks  printed"
    assert [c.value for c in sheet[1]] == ["Payee", "Date", "Amount", "Checks"]
    payee, date, amount, count = sheet[2]
    assert payee.value == '=HYPERLINK("http://evil")'
    assert payee.data_type == "s"  # a string, never a formula
    assert date.value.date() == dt.date(2026, 3, 2)  # Excel dates have no zone
    assert date.is_date
    assert date.number_format == "yyyy-mm-dd"
    assert amount.value == -123.45
    assert amount.data_type == "n"
    assert amount.number_format == '"$"#,##0.00;-"$"#,##0.00'
    assert count.value == 3
    assert sheet["C3"].value == 250_000
    assert sheet["B4"].value is None
    assert sheet["D4"].value is None
    assert sheet["A8"].value == "Łukasz Żółć"
    # the totals line: the money column summed from the cents
    # (-123.45 + 250,000.00 + 0.00 + 0.01 + 0.99 + 1.00 + 0.05)
    assert [c.value for c in sheet[9]] == ["Total", None, 249_878.60, None]
    assert sheet["C9"].font.b


def test_xlsx_file_written_in_constant_memory_mode(tmp_path):
    rows = ((f"row {n}", dt.date(2026, 1, 1), n, n) for n in range(3000))
    seen: list[int] = []
    path = tmp_path / "big.xlsx"
    assert (
        write_file(path, Table("Big", COLUMNS, rows, "big"), Format.XLSX, progress=seen.append)
        == 3000
    )
    sheet = openpyxl.load_workbook(path, read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 3002  # header, rows, total
    assert values[3000][0] == "row 2999"
    assert values[3000][1].date() == dt.date(2026, 1, 1)
    assert values[3000][2:] == (29.99, 2999)
    assert seen[-1] == 3000


needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "t.pdf"
    path.write_bytes(data)
    return subprocess.run(  # noqa: S603 - a fixed command on a file the test wrote
        ["pdftotext", "-layout", str(path), "-"],  # noqa: S607 - skipped without it
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@needs_pdftotext
def test_pdf_repeats_the_header_on_each_page_and_ends_with_the_totals(tmp_path):
    rows = [(f"Payee {n}", dt.date(2026, 4, 1), 100 * n, n) for n in range(1, 121)]
    data = pdf_bytes(
        Table("Trust account journal", COLUMNS, rows, "t", subtitle="As of 2026-04-30")
    )
    assert data.startswith(b"%PDF-")
    pages = pdf_text(data, tmp_path).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 3
    assert "Trust account journal" in pages[0]
    assert "As of 2026-04-30" in pages[0]
    for number, page in enumerate(pages, start=1):
        header = next(line for line in page.splitlines() if line.strip())
        if number > 1:
            assert header.split() == ["Payee", "Date", "Amount", "Checks"]
        assert f"Page {number} of {len(pages)}" in page
    last = pages[-1].splitlines()
    total = next(line for line in last if line.strip().startswith("Total"))
    assert total.split() == ["Total", "$7,260.00"]  # 100 * (1 + ... + 120) cents
    assert "Payee 120" in pages[-1]


def test_a_long_pdf_cell_is_cut_from_an_estimate_not_a_character_at_a_time(monkeypatch):
    from casebridge.core import tabular as tab

    table = tab.Table(title="T", subtitle="", columns=[tab.Column("Memo")], rows=[], filename="t")
    pdf = tab._TablePDF(table)
    pdf.set_font(pdf.family, "", 8)
    measured: list[str] = []
    width_of = pdf.get_string_width
    monkeypatch.setattr(
        pdf, "get_string_width", lambda s, *a, **k: measured.append(s) or width_of(s, *a, **k)
    )
    cut = pdf._fit("x" * 100_000, 40)
    assert cut.endswith("…")
    assert pdf.get_string_width(cut) <= 38
    assert width_of(cut[:-1] + "x…") > 38  # as long as fits
    assert len(measured) < 10
