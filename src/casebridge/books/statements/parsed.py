"""What every statement parser returns: plain dataclasses, amounts in integer cents.

A parser never touches the database. It reads the whole file or refuses it with
:class:`StatementRefused`, naming where (``line 7``, ``element Ntry[3]/Amt``) and why, so
an import can parse everything first and write all or nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from casebridge.core.errors import ValidationFailed
from casebridge.core.money import MAX_CENTS


class StatementRefused(ValidationFailed):
    """The file is not a statement this format's parser can read in full."""

    code = "statement_refused"

    def __init__(self, reason: str, *, where: str = "") -> None:
        message = f"{where}: {reason}" if where else reason
        super().__init__(message, field="file", where=where, reason=reason)
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class ParsedLine:
    """One bank transaction as the file states it. ``amount_cents`` is signed: a credit
    (money in) is positive, a debit negative. ``position`` is where it stood in the file
    (1-based, in the file's own order), for messages and to keep the file's order."""

    posted_on: dt.date
    amount_cents: int
    bank_txn_id: str | None = None
    type: str = ""
    check_number: str | None = None
    reference: str = ""
    description: str = ""
    position: int = 0


@dataclass(frozen=True)
class ParsedStatement:
    """A statement as the file states it: the account as written there (or ``None``),
    the currency, the period and balances (``None`` where the format or file has none)."""

    format: str
    account: str | None
    currency: str
    period_start: dt.date | None
    period_end: dt.date | None
    opening_cents: int | None
    closing_cents: int | None
    lines: list[ParsedLine] = field(default_factory=list)


def decimal_cents(value: Decimal, *, where: str) -> int:
    """A Decimal amount in integer cents; more than two decimal places, a value that is not
    a finite number, and one beyond what the books hold are refused."""
    if not value.is_finite():
        raise StatementRefused(f"amount {value} is not a number", where=where)
    if abs(value) > Decimal(MAX_CENTS) / 100:
        raise StatementRefused(f"amount {value} is larger than the books can hold", where=where)
    cents = value * 100
    if cents != cents.to_integral_value():
        raise StatementRefused(f"amount {value} has more than two decimal places", where=where)
    return int(cents)


def text_cents(text: str, *, where: str, decimal_separator: str = ".") -> int:
    """Parse an amount written as text ("-1,234.56", "(12.00)", "1.234,56" with a comma
    separator) into integer cents, through Decimal only."""
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1]
    if raw.endswith("-"):
        negative, raw = not negative, raw[:-1]
    raw = raw.lstrip("$")
    if raw.startswith("-"):
        negative, raw = not negative, raw[1:]
    elif raw.startswith("+"):
        raw = raw[1:]
    raw = raw.lstrip("$")
    thousands = "," if decimal_separator == "." else "."
    raw = raw.replace(thousands, "")
    if decimal_separator != ".":
        raw = raw.replace(decimal_separator, ".")
    if not raw or not all(c.isdigit() or c == "." for c in raw) or raw.count(".") > 1:
        raise StatementRefused(f"amount {text.strip()!r} is not a number", where=where)
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the character check comes first
        raise StatementRefused(f"amount {text.strip()!r} is not a number", where=where) from None
    cents = decimal_cents(value, where=where)
    return -cents if negative else cents
