"""CSV exports: every bank's columns differ, so a bank account keeps one column mapping
(:class:`CsvLayout`, stored as ``CsvColumnMapping``) chosen the first time and used for
every later file. Columns are numbered from 1 as a spreadsheet shows them.

A CSV states no account number and no balances; the period is the first and last date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from casebridge.books.statements.parsed import (
    ParsedLine,
    ParsedStatement,
    StatementRefused,
    text_cents,
)

DATE_FORMATS = {
    "%m/%d/%Y": "MM/DD/YYYY",
    "%m/%d/%y": "MM/DD/YY",
    "%d/%m/%Y": "DD/MM/YYYY",
    "%Y-%m-%d": "YYYY-MM-DD",
    "%d.%m.%Y": "DD.MM.YYYY",
}


@dataclass(frozen=True)
class CsvLayout:
    """Which column holds what. Either ``amount_column`` (signed, credit positive) or both
    ``debit_column`` and ``credit_column`` (each unsigned)."""

    date_column: int = 1
    amount_column: int | None = 2
    debit_column: int | None = None
    credit_column: int | None = None
    description_column: int | None = 3
    reference_column: int | None = None
    check_number_column: int | None = None
    txn_id_column: int | None = None
    date_format: str = "%m/%d/%Y"
    decimal_separator: str = "."
    delimiter: str = ","
    skip_rows: int = 1

    def problems(self) -> dict[str, str]:
        """What makes this layout unusable, by field name (empty when it is fine)."""
        found: dict[str, str] = {}
        if self.amount_column is None and (self.debit_column is None or self.credit_column is None):
            found["amount_column"] = "give an amount column, or both a debit and a credit column"
        if self.amount_column is not None and (self.debit_column or self.credit_column):
            found["amount_column"] = "give an amount column or a debit/credit pair, not both"
        if self.date_format not in DATE_FORMATS:
            found["date_format"] = "choose one of " + ", ".join(DATE_FORMATS.values())
        if self.decimal_separator not in (".", ","):
            found["decimal_separator"] = "must be '.' or ','"
        if self.delimiter not in (",", ";", "\t", "|"):
            found["delimiter"] = "must be a comma, semicolon, tab or bar"
        if self.decimal_separator == "," and self.delimiter == ",":
            found["delimiter"] = "a comma decimal separator needs another delimiter"
        return found


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementRefused("the file is not text", where="line 1")  # pragma: no cover


def parse(data: bytes, layout: CsvLayout) -> ParsedStatement:
    problems = layout.problems()
    if problems:
        name, reason = next(iter(problems.items()))
        raise StatementRefused(f"the CSV column mapping is incomplete: {name}: {reason}")
    reader = csv.reader(io.StringIO(_decode(data), newline=""), delimiter=layout.delimiter)
    lines: list[ParsedLine] = []
    try:
        for row in reader:
            number = reader.line_num
            if number <= layout.skip_rows or not any(cell.strip() for cell in row):
                continue
            lines.append(_line(row, number, layout, len(lines) + 1))
    except csv.Error as exc:
        raise StatementRefused(str(exc), where=f"line {reader.line_num}") from None
    if not lines:
        raise StatementRefused("the file has no transactions", where="line 1")
    dates = [line.posted_on for line in lines]
    return ParsedStatement(
        format="csv",
        account=None,
        currency="USD",
        period_start=min(dates),
        period_end=max(dates),
        opening_cents=None,
        closing_cents=None,
        lines=lines,
    )


def _cell(row: list[str], column: int | None, number: int, what: str) -> str:
    if column is None:
        return ""
    if column > len(row):
        raise StatementRefused(
            f"has {len(row)} columns; the {what} is in column {column}", where=f"line {number}"
        )
    return row[column - 1].strip()


def _line(row: list[str], number: int, layout: CsvLayout, position: int) -> ParsedLine:
    where = f"line {number}"
    raw_date = _cell(row, layout.date_column, number, "date")
    try:
        posted = dt.datetime.strptime(raw_date, layout.date_format).date()  # noqa: DTZ007
    except ValueError:
        raise StatementRefused(
            f"date {raw_date!r} does not read as {DATE_FORMATS[layout.date_format]}", where=where
        ) from None
    sep = layout.decimal_separator
    if layout.amount_column is not None:
        amount = text_cents(
            _cell(row, layout.amount_column, number, "amount"), where=where, decimal_separator=sep
        )
    else:
        debit = _cell(row, layout.debit_column, number, "debit")
        credit = _cell(row, layout.credit_column, number, "credit")
        if bool(debit) == bool(credit):
            raise StatementRefused(
                "needs an amount in exactly one of debit and credit", where=where
            )
        if debit:
            amount = -abs(text_cents(debit, where=where, decimal_separator=sep))
        else:
            amount = abs(text_cents(credit, where=where, decimal_separator=sep))
    check = _cell(row, layout.check_number_column, number, "check number")
    txn_id = _cell(row, layout.txn_id_column, number, "transaction id")
    return ParsedLine(
        posted_on=posted,
        amount_cents=amount,
        bank_txn_id=txn_id or None,
        type="",
        check_number=check or None,
        reference=_cell(row, layout.reference_column, number, "reference"),
        description=_cell(row, layout.description_column, number, "description"),
        position=position,
    )
