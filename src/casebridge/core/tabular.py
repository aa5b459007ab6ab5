"""Tables as files (issue 15, ADR 0043): CSV, XLSX and PDF from one description.

A report or list that can be exported offers :class:`Column` s and an iterable of row
tuples (one value per column: ``str`` for text, ``datetime.date`` for dates, ``int``
cents for money, ``int`` for counts; ``None`` is an empty cell). The writers read the
rows once, in order, and hold none of them, so memory stays flat however many there are:

- :func:`csv_chunks` yields ``bytes`` chunks (for a ``StreamingHttpResponse`` or a file):
  UTF-8, optionally with a byte-order mark (Excel on Windows then reads the accents);
  text cells that start like a formula (``= + - @``, tab, CR, LF, after leading spaces)
  get a leading apostrophe as OWASP recommends (``core.text.csv_cell``); money and counts
  are written as plain numbers (``-1234.56``), so a negative amount stays a number;
- :func:`xlsx_write` writes a workbook with XlsxWriter in ``constant_memory`` mode (rows
  flushed to a temporary file as they are written): money as numbers in a currency
  format, dates as dates, text as strings (never formulas); a sheet that fills Excel's
  1,048,576 rows goes on in a new sheet with the header again;
- :func:`pdf_bytes` draws a landscape table in DejaVu Sans (``core.pdf``), the header
  repeated on each page, totals of the money columns marked ``total`` at the end, and
  "Page n of m" under each page: for the reports an auditor reads (a few thousand rows).

Every writer takes ``progress``: called with the rows written so far every
``PROGRESS_EVERY`` rows and at the end (a background export job records it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from fpdf import FPDF

from casebridge.core.money import cents_to_decimal, format_cents
from casebridge.core.pdf import add_unicode_fonts, unicode_text
from casebridge.core.text import csv_cell

#: Rows between two calls of a writer's ``progress``.
PROGRESS_EVERY = 10_000
#: Bytes gathered before a CSV chunk is yielded.
CSV_CHUNK = 64 * 1024
#: Rows an Excel sheet holds, the header included.
XLSX_MAX_ROWS = 1_048_576
BOM = "\ufeff"

Row = Sequence[object]
Progress = Callable[[int], None]


class Kind(StrEnum):
    TEXT = "text"
    DATE = "date"
    CENTS = "cents"
    COUNT = "count"


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT
    #: a money column summed on the PDF's and the XLSX's totals line
    total: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.CENTS, Kind.COUNT)


@dataclass(frozen=True)
class Table:
    """What an export writes: a title (the PDF's heading, the XLSX sheet's name), a line
    under it (the as-of date, the filters), the columns, the rows (read once), the file
    name without its extension, and optionally how many rows there will be (for a job's
    progress)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Row]
    filename: str
    subtitle: str = ""
    count: Callable[[], int] | None = None


# --- CSV ---------------------------------------------------------------------------------


def _csv_value(column: Column, value: object) -> object:
    if value is None:
        return ""
    if column.kind is Kind.CENTS:
        return str(cents_to_decimal(int(value)))  # type: ignore[call-overload]
    if column.kind is Kind.COUNT:
        return int(value)  # type: ignore[call-overload]
    if column.kind is Kind.DATE:
        return value.isoformat() if isinstance(value, dt.date) else csv_cell(value)
    return csv_cell(value)


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        return len(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode("utf-8")
        self.parts.clear()
        self.size = 0
        return data


def csv_chunks(
    columns: Sequence[Column],
    rows: Iterable[Row],
    *,
    bom: bool = False,
    progress: Progress | None = None,
    chunk: int = CSV_CHUNK,
) -> Iterator[bytes]:
    """The table as CSV (RFC 4180 quoting, CRLF line ends), in UTF-8 chunks of about
    ``chunk`` bytes; the first chunk starts with a BOM when ``bom``."""
    buffer = _Buffer()
    writer = csv.writer(buffer)
    if bom:
        buffer.write(BOM)
    writer.writerow([csv_cell(c.title) for c in columns])
    done = 0
    for row in rows_checked(columns, rows):
        writer.writerow([_csv_value(c, v) for c, v in zip(columns, row, strict=True)])
        done += 1
        if buffer.size >= chunk:
            yield buffer.take()
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    if progress is not None:
        progress(done)
    yield buffer.take()


# --- XLSX --------------------------------------------------------------------------------


def _sheet_name(title: str, number: int) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    name = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip() or "Export"
    suffix = f" ({number})" if number > 1 else ""
    return name[: 31 - len(suffix)].rstrip() + suffix


def xlsx_write(
    target: str | Path | IO[bytes],
    table: Table,
    *,
    progress: Progress | None = None,
    tmpdir: str | Path | None = None,
) -> int:
    """Write ``table`` as a workbook to ``target`` (a path or a binary file); returns the
    rows written. Money: the cents as a number of dollars (``cents / 100``, the double
    nearest the exact amount, which is what Excel stores for an amount typed in) shown
    ``$#,##0.00``; dates: Excel dates shown ``yyyy-mm-dd``."""
    import xlsxwriter  # imported where used: the web process loads it on the first export

    options: dict[str, Any] = {"constant_memory": True, "in_memory": False}
    if tmpdir is not None:
        options["tmpdir"] = str(tmpdir)
    workbook = xlsxwriter.Workbook(target, options)
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": '"$"#,##0.00;-"$"#,##0.00'})
    money_total = workbook.add_format({"num_format": '"$"#,##0.00;-"$"#,##0.00', "bold": True})
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    columns = list(table.columns)
    totals = [0] * len(columns)
    sheets = 0

    def new_sheet() -> Any:
        nonlocal sheets
        sheets += 1
        sheet = workbook.add_worksheet(_sheet_name(table.title, sheets))
        for i, c in enumerate(columns):
            sheet.set_column(i, i, 14 if c.numeric or c.kind is Kind.DATE else 30)
            sheet.write_string(0, i, c.title, bold)
        sheet.freeze_panes(1, 0)
        return sheet

    sheet = new_sheet()
    line = 0
    done = 0
    for row in rows_checked(columns, table.rows):
        line += 1
        if line >= XLSX_MAX_ROWS:
            sheet = new_sheet()
            line = 1
        for i, (c, value) in enumerate(zip(columns, row, strict=True)):
            if value is None:
                continue
            if c.kind is Kind.CENTS:
                cents = int(value)  # type: ignore[call-overload]
                if c.total:
                    totals[i] += cents
                sheet.write_number(line, i, cents / 100, money)
            elif c.kind is Kind.COUNT:
                sheet.write_number(line, i, int(value), None)  # type: ignore[call-overload]
            elif c.kind is Kind.DATE and isinstance(value, dt.date):
                sheet.write_datetime(line, i, value, date)
            else:
                sheet.write_string(line, i, str(value))
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    if any(c.total for c in columns):
        line += 1
        if line >= XLSX_MAX_ROWS:
            sheet = new_sheet()
            line = 1
        sheet.write_string(line, 0, "Total", bold)
        for i, c in enumerate(columns):
            if c.total:
                sheet.write_number(line, i, totals[i] / 100, money_total)
    workbook.close()
    if progress is not None:
        progress(done)
    return done


def xlsx_bytes(table: Table) -> bytes:
    """The workbook in memory: for small tables and tests."""
    out = io.BytesIO()
    xlsx_write(out, table)
    return out.getvalue()


def rows_checked(columns: Sequence[Column], rows: Iterable[Row]) -> Iterator[Row]:
    """``rows``, each refused (``ValueError``) unless it has one value per column."""
    width = len(columns)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} values for {width} columns")
        yield row


# --- PDF ---------------------------------------------------------------------------------


def _pdf_value(column: Column, value: object) -> str:
    if value is None:
        return ""
    if column.kind is Kind.CENTS:
        return format_cents(int(value))  # type: ignore[call-overload]
    if column.kind is Kind.COUNT:
        return f"{int(value):,}"  # type: ignore[call-overload]
    if isinstance(value, dt.date):
        return value.isoformat()
    return unicode_text(str(value))


class _TablePDF(FPDF):
    def __init__(self, table: Table) -> None:
        super().__init__(orientation="L", unit="mm", format="Letter")
        self.family = add_unicode_fonts(self)
        self.report = table
        self.set_title(unicode_text(table.title))
        self.set_creator("Casebridge")
        self.set_auto_page_break(auto=False)
        self.set_margins(12, 12, 12)
        self.alias_nb_pages()
        usable = self.w - self.l_margin - self.r_margin
        weights = [1.0 if c.numeric else 1.0 if c.kind is Kind.DATE else 2.2 for c in table.columns]
        scale = usable / sum(weights)
        self.widths = [w * scale for w in weights]

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.family, "", 8)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def head(self) -> None:
        self.add_page()
        if self.page_no() == 1:
            self.set_font(self.family, "B", 14)
            self.cell(0, 8, unicode_text(self.report.title), new_x="LMARGIN", new_y="NEXT")
            if self.report.subtitle:
                self.set_font(self.family, "", 9)
                self.cell(0, 6, unicode_text(self.report.subtitle), new_x="LMARGIN", new_y="NEXT")
            self.ln(2)
        self.set_font(self.family, "B", 8)
        for c, width in zip(self.report.columns, self.widths, strict=True):
            self.cell(
                width, 6, self._fit(c.title, width), border="B", align="R" if c.numeric else "L"
            )
        self.ln(6)
        self.set_font(self.family, "", 8)

    def _fit(self, text: str, width: float) -> str:
        """``text`` cut to ``width`` with an ellipsis: first sliced to an estimate (the
        width of its characters on average), then a character at a time (a few)."""
        room = width - 2
        full = self.get_string_width(text)
        if full <= room:
            return text
        text = text[: int(len(text) * room / full) + 1]
        while text and self.get_string_width(text + "…") > room:
            text = text[:-1]
        return text + "…"

    def row(self, values: Sequence[str], *, bold: bool = False) -> None:
        if self.get_y() + 5 > self.h - 16:
            self.head()
        if bold:
            self.set_font(self.family, "B", 8)
        for c, value, width in zip(self.report.columns, values, self.widths, strict=True):
            self.cell(width, 5, self._fit(value, width), align="R" if c.numeric else "L")
        self.ln(5)
        if bold:
            self.set_font(self.family, "", 8)


def pdf_bytes(table: Table, *, progress: Progress | None = None) -> bytes:
    """The table as a landscape Letter PDF."""
    columns = list(table.columns)
    pdf = _TablePDF(table)
    pdf.head()
    totals = [0] * len(columns)
    done = 0
    for row in rows_checked(columns, table.rows):
        for i, c in enumerate(columns):
            if c.total and row[i] is not None:
                totals[i] += int(row[i])  # type: ignore[call-overload]
        pdf.row([_pdf_value(c, v) for c, v in zip(columns, row, strict=True)])
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    if done == 0:
        pdf.row(["No rows."] + [""] * (len(columns) - 1))
    if any(c.total for c in columns):
        pdf.row(
            [
                "Total" if i == 0 else format_cents(totals[i]) if c.total else ""
                for i, c in enumerate(columns)
            ],
            bold=True,
        )
    if progress is not None:
        progress(done)
    return bytes(pdf.output())


# --- formats -----------------------------------------------------------------------------


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


CONTENT_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.PDF: "application/pdf",
}


def write_file(
    path: Path, table: Table, fmt: Format, *, bom: bool = False, progress: Progress | None = None
) -> int:
    """Write ``table`` to ``path`` in ``fmt``; returns the rows written (for a job)."""
    done = 0

    def counted(n: int) -> None:
        nonlocal done
        done = n
        if progress is not None:
            progress(n)

    if fmt is Format.CSV:
        with path.open("wb") as out:
            for data in csv_chunks(table.columns, table.rows, bom=bom, progress=counted):
                out.write(data)
    elif fmt is Format.XLSX:
        xlsx_write(path, table, progress=counted, tmpdir=path.parent)
    else:
        path.write_bytes(pdf_bytes(table, progress=counted))
    return done
