"""Positive pay: the file of issued and voided checks a firm sends its bank, so that the
bank pays only checks that match (number, amount, and for payee positive pay the payee).

One bank account and a date range give the records:

- **issue** (``I``): every check number printed in the range (``printed_on``), whatever
  became of the check later, so the file for a range reads the same whenever it is made;
- **void** (``V``): every printed check voided in the range (``voided_on``); a queued
  check voided before it had a number was never issued and is not in the file;
- a **spoiled** number (a check reprinted under the next number) was printed on paper: it
  is an issue on the day it was printed and a void on the day it was spoiled, with the
  check's amount and payee. The reprint is an issue of the new number.

Every record's date column is the day its number was printed (banks match a void to the
issue by number and issue date); the record's kind decides which range it falls in.
Records come in check number order, an issue before its void.

The layout is configurable per bank account (:class:`~casebridge.books.models.PositivePayLayout`):
the columns and their order (account number, check number, amount, issue date, payee,
issue/void flag), the date format (MM/DD/YYYY, YYYYMMDD, YYYY-MM-DD, MMDDYY), the amount
as decimal dollars (``1234.56``, no thousands separator) or whole cents (``123456``), the
two flag values and a header row. Two generic presets (:data:`PRESETS`); a named bank's
own layout is set up from its specification:

``csv_mdy_iv`` "Fixed-order CSV, MM/DD/YYYY, I/V flag" (the default)
    header row ``Account Number,Check Number,Amount,Issue Date,Payee,Issue/Void``; then
    ``123456789,1001,1234.56,03/05/2026,Maria Lopez,I``.

``cents_ymd_noheader`` "Cents, YYYYMMDD, no header"
    no header row; account, check number, amount in cents, issue date, flag, payee last
    (the one free-text column, so a reader splitting on commas finds the others in place):
    ``123456789,1001,123456,20260305,I,Maria Lopez``.

The file is CSV (RFC 4180 quoting, CRLF line ends) and spreadsheet-safe: a payee that
starts like a formula (``=``, ``+``, ``-``, ``@``) gets a leading apostrophe
(:func:`casebridge.core.text.csv_cell`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    BankAccount,
    Check,
    PositivePayAmount,
    PositivePayColumn,
    PositivePayDateFormat,
    PositivePayLayout,
    SpoiledCheckNumber,
)
from casebridge.core.money import cents_to_decimal
from casebridge.core.text import csv_cell

_STRFTIME = {
    PositivePayDateFormat.MM_DD_YYYY: "%m/%d/%Y",
    PositivePayDateFormat.YYYYMMDD: "%Y%m%d",
    PositivePayDateFormat.YYYY_MM_DD: "%Y-%m-%d",
    PositivePayDateFormat.MMDDYY: "%m%d%y",
}
HEADINGS = {
    PositivePayColumn.ACCOUNT: "Account Number",
    PositivePayColumn.CHECK_NUMBER: "Check Number",
    PositivePayColumn.AMOUNT: "Amount",
    PositivePayColumn.ISSUE_DATE: "Issue Date",
    PositivePayColumn.PAYEE: "Payee",
    PositivePayColumn.FLAG: "Issue/Void",
}
FLAG_MAX = 10


@dataclass(frozen=True)
class PositivePayFormat:
    """A positive pay layout as plain data."""

    columns: tuple[PositivePayColumn, ...]
    date_format: PositivePayDateFormat
    amount_format: PositivePayAmount
    issue_flag: str = "I"
    void_flag: str = "V"
    header: bool = True

    def problems(self) -> dict[str, str]:
        """What is wrong with this layout, by field (empty when it can be used)."""
        problems: dict[str, str] = {}
        if not self.columns:
            problems["columns"] = "choose at least one column"
        elif len(set(self.columns)) != len(self.columns):
            problems["columns"] = "a column is chosen twice"
        for name, flag in (("issue_flag", self.issue_flag), ("void_flag", self.void_flag)):
            label = name.replace("_", " ")
            if not flag or len(flag) > FLAG_MAX or not flag.isprintable() or flag != flag.strip():
                problems[name] = f"{label} must be 1 to {FLAG_MAX} printable characters"
            elif csv_cell(flag) != flag:
                problems[name] = f"{label} cannot start with = + - or @ (a spreadsheet formula)"
        if self.issue_flag == self.void_flag and "issue_flag" not in problems:
            problems["void_flag"] = "the void flag must differ from the issue flag"
        return problems


#: The two generic presets: name -> (label, layout). See the module's docstring.
PRESETS: dict[str, tuple[str, PositivePayFormat]] = {
    "csv_mdy_iv": (
        "Fixed-order CSV, MM/DD/YYYY, I/V flag",
        PositivePayFormat(
            columns=(
                PositivePayColumn.ACCOUNT,
                PositivePayColumn.CHECK_NUMBER,
                PositivePayColumn.AMOUNT,
                PositivePayColumn.ISSUE_DATE,
                PositivePayColumn.PAYEE,
                PositivePayColumn.FLAG,
            ),
            date_format=PositivePayDateFormat.MM_DD_YYYY,
            amount_format=PositivePayAmount.DOLLARS,
        ),
    ),
    "cents_ymd_noheader": (
        "Cents, YYYYMMDD, no header",
        PositivePayFormat(
            columns=(
                PositivePayColumn.ACCOUNT,
                PositivePayColumn.CHECK_NUMBER,
                PositivePayColumn.AMOUNT,
                PositivePayColumn.ISSUE_DATE,
                PositivePayColumn.FLAG,
                PositivePayColumn.PAYEE,
            ),
            date_format=PositivePayDateFormat.YYYYMMDD,
            amount_format=PositivePayAmount.CENTS,
            header=False,
        ),
    ),
}
DEFAULT_PRESET = "csv_mdy_iv"


def format_of_layout(layout: PositivePayLayout) -> PositivePayFormat:
    return PositivePayFormat(
        columns=tuple(PositivePayColumn(c) for c in layout.columns.split(",") if c),
        date_format=PositivePayDateFormat(layout.date_format),
        amount_format=PositivePayAmount(layout.amount_format),
        issue_flag=layout.issue_flag,
        void_flag=layout.void_flag,
        header=layout.header,
    )


def positive_pay_format_of(bank: BankAccount) -> tuple[PositivePayFormat, bool]:
    """The bank account's saved layout and True, else the default preset and False."""
    saved = PositivePayLayout.objects.filter(bank_account=bank).first()
    if saved is None:
        return PRESETS[DEFAULT_PRESET][1], False
    return format_of_layout(saved), True


@dataclass(frozen=True)
class PositivePayRecord:
    check_number: int
    amount_cents: int
    issue_date: dt.date
    payee: str
    void: bool


def positive_pay_records(
    *, bank: BankAccount, start: dt.date, end: dt.date
) -> list[PositivePayRecord]:
    """The bank account's issues and voids from ``start`` to ``end`` (inclusive), in check
    number order, an issue before its void (three indexed reads)."""
    records: list[PositivePayRecord] = []
    printed = Check.objects.filter(
        bank_account=bank, check_number__isnull=False, printed_on__range=(start, end)
    ).values_list("check_number", "amount_cents", "printed_on", "payee")
    records += [
        PositivePayRecord(n, cents, on, payee, False)
        for n, cents, on, payee in printed
        if n is not None and on is not None
    ]
    voided = Check.objects.filter(
        bank_account=bank, check_number__isnull=False, voided_on__range=(start, end)
    ).values_list("check_number", "amount_cents", "printed_on", "payee")
    records += [
        PositivePayRecord(n, cents, on, payee, True)
        for n, cents, on, payee in voided
        if n is not None and on is not None  # a numbered check was printed
    ]
    for spoiled in (
        SpoiledCheckNumber.objects.filter(bank_account=bank)
        .filter(printed_on__lte=end, spoiled_on__gte=start)
        .select_related("reprinted_check")
    ):
        check = spoiled.reprinted_check
        for void, on in ((False, spoiled.printed_on), (True, spoiled.spoiled_on)):
            if start <= on <= end:
                records.append(
                    PositivePayRecord(
                        spoiled.number, check.amount_cents, spoiled.printed_on, check.payee, void
                    )
                )
    return sorted(records, key=lambda r: (r.check_number, r.void))


def positive_pay_csv(
    *, bank: BankAccount, start: dt.date, end: dt.date, fmt: PositivePayFormat
) -> str:
    """The positive pay file for ``bank`` from ``start`` to ``end`` in ``fmt``. Refused
    (:class:`ValidationFailed`) when ``start`` is after ``end``, and when the layout has
    an account number column but the bank account has no account number."""
    if start > end:
        raise ValidationFailed(f"start {start} is after end {end}", field="start")
    if PositivePayColumn.ACCOUNT in fmt.columns and not bank.account_number:
        raise ValidationFailed(
            f"{bank.name} has no account number, which the positive pay file names: set it "
            "under Settings > Bank Accounts > Check printing",
            field="account_number",
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if fmt.header:
        writer.writerow([HEADINGS[c] for c in fmt.columns])
    strftime = _STRFTIME[fmt.date_format]
    for record in positive_pay_records(bank=bank, start=start, end=end):
        amount = (
            str(record.amount_cents)
            if fmt.amount_format == PositivePayAmount.CENTS
            else str(cents_to_decimal(record.amount_cents))
        )
        values = {
            PositivePayColumn.ACCOUNT: bank.account_number,
            PositivePayColumn.CHECK_NUMBER: str(record.check_number),
            PositivePayColumn.AMOUNT: amount,
            PositivePayColumn.ISSUE_DATE: record.issue_date.strftime(strftime),
            PositivePayColumn.PAYEE: csv_cell(record.payee),
            PositivePayColumn.FLAG: fmt.void_flag if record.void else fmt.issue_flag,
        }
        writer.writerow([values[c] for c in fmt.columns])
    return out.getvalue()
