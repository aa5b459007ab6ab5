"""LEDES 1998B: fee invoices as the pipe-delimited file insurers' and corporate clients'
e-billing systems read (issue 15, ADR 0044). Pure: plain data in, text out; no database.

The file: the first line ``LEDES1998B[]``; the second the 24 field names (:data:`FIELDS`)
joined by ``|`` and ending ``[]``; then one line per invoice line item, its 24 fields in
the same order, ending ``[]``. Lines end with CR LF (the format is ASCII text from DOS-era
tools; every reader takes CR LF). Several invoices may share one file.

The field rules this module holds (the specification's, see ADR 0044 for the sources):

- dates ``YYYYMMDD``; amounts with two decimals, a minus sign when negative, no currency
  symbol and no thousands separator; units with two to four decimals;
- ``EXP/FEE/INV_ADJ_TYPE``: ``F`` a fee, ``E`` an expense, ``IF`` / ``IE`` an
  invoice-level adjustment of the fees / the expenses;
- a fee has a UTBMS task code (a letter and three digits, e.g. ``L110``), an activity
  code (``A101``...) and its timekeeper (id, ``Last, First`` name and classification
  ``PT`` / ``AS`` / ``OC`` / ``LA`` / ``OT``), and no expense code; an expense has an
  expense code (``E101``...);
- ``LINE_ITEM_TOTAL`` = units x unit cost + ``LINE_ITEM_ADJUSTMENT_AMOUNT``, exactly; an
  IF/IE line's total is its adjustment (no units or unit cost);
- ``INVOICE_TOTAL`` is the sum of the invoice's line totals, exactly;
- the identifiers (invoice number, client id, law firm matter id, law firm id, client
  matter id, timekeeper id) are at most 20 characters of printable ASCII without ``|``,
  ``[`` or ``]``: one that is not is refused (:class:`LedesRefused`, naming the invoice,
  the line and the field), never altered, since the receiver routes by them;
- descriptions and names are free text: they are made to fit (:func:`text_field`): accents
  folded to ASCII, line breaks, tabs and other controls a space, ``|`` a ``/``, ``[]`` a
  ``()``, runs of spaces one space.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from casebridge.core.errors import ValidationFailed

FORMAT_LINE = "LEDES1998B[]"
#: The 24 fields of a LEDES 1998B line, in order.
FIELDS: tuple[str, ...] = (
    "INVOICE_DATE",
    "INVOICE_NUMBER",
    "CLIENT_ID",
    "LAW_FIRM_MATTER_ID",
    "INVOICE_TOTAL",
    "BILLING_START_DATE",
    "BILLING_END_DATE",
    "INVOICE_DESCRIPTION",
    "LINE_ITEM_NUMBER",
    "EXP/FEE/INV_ADJ_TYPE",
    "LINE_ITEM_NUMBER_OF_UNITS",
    "LINE_ITEM_ADJUSTMENT_AMOUNT",
    "LINE_ITEM_TOTAL",
    "LINE_ITEM_DATE",
    "LINE_ITEM_TASK_CODE",
    "LINE_ITEM_EXPENSE_CODE",
    "LINE_ITEM_ACTIVITY_CODE",
    "TIMEKEEPER_ID",
    "LINE_ITEM_DESCRIPTION",
    "LAW_FIRM_ID",
    "LINE_ITEM_UNIT_COST",
    "TIMEKEEPER_NAME",
    "TIMEKEEPER_CLASSIFICATION",
    "CLIENT_MATTER_ID",
)
HEADER_LINE = "|".join(FIELDS) + "[]"
TERMINATOR = "[]"
EOL = "\r\n"

FEE = "F"
EXPENSE = "E"
FEE_ADJUSTMENT = "IF"
EXPENSE_ADJUSTMENT = "IE"
TYPES = (FEE, EXPENSE, FEE_ADJUSTMENT, EXPENSE_ADJUSTMENT)

#: The timekeeper classifications of LEDES 1998B.
CLASSIFICATIONS: dict[str, str] = {
    "PT": "Partner",
    "AS": "Associate",
    "OC": "Of counsel",
    "LA": "Legal assistant (paralegal)",
    "OT": "Other timekeeper",
}
#: An identifier's longest (Character * 20 in the specification).
ID_LENGTH = 20
TASK_CODE = re.compile(r"[B-DF-Z][0-9]{3}")  # not an activity (A) or expense (E) code
ACTIVITY_CODE = re.compile(r"A[0-9]{3}")
EXPENSE_CODE = re.compile(r"E[0-9]{3}")
_ID_CHARS = re.compile(r"[\x21-\x5a\x5c\x5e-\x7b\x7d\x7e ]*")  # printable ASCII but | [ ]
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r" {2,}")


class LedesRefused(ValidationFailed):
    """An invoice that cannot be written as LEDES 1998B; the message names the invoice,
    the line (when it is one) and the field."""

    code = "ledes_refused"


@dataclass(frozen=True)
class LedesLine:
    """One line item. ``units`` x ``unit_cost_cents`` must come to whole cents; the line's
    total is that plus ``adjustment_cents``. An IF/IE line has only ``adjustment_cents``."""

    type: str
    date: dt.date
    description: str
    units: Decimal | None = None
    unit_cost_cents: int | None = None
    adjustment_cents: int = 0
    task_code: str = ""
    expense_code: str = ""
    activity_code: str = ""
    timekeeper_id: str = ""
    timekeeper_name: str = ""
    timekeeper_classification: str = ""
    #: how a refusal names the line to a person, e.g. ``line 2 (Filing fee)``
    label: str = ""

    @property
    def total_cents(self) -> int:
        if self.type in (FEE_ADJUSTMENT, EXPENSE_ADJUSTMENT):
            return self.adjustment_cents
        extended = (self.units or Decimal(0)) * (self.unit_cost_cents or 0)
        return int(extended) + self.adjustment_cents


@dataclass(frozen=True)
class LedesInvoice:
    """One invoice: its header fields, repeated on each of its lines."""

    number: str
    date: dt.date
    client_id: str
    law_firm_matter_id: str
    law_firm_id: str
    total_cents: int
    billing_start: dt.date
    billing_end: dt.date
    description: str = ""
    client_matter_id: str = ""
    lines: Sequence[LedesLine] = field(default_factory=tuple)


# --- formatting -----------------------------------------------------------------------


def date_field(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def amount_field(cents: int) -> str:
    """``-1234.50``: two decimals, a minus sign when negative, nothing else."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def units_field(units: Decimal) -> str:
    """Two decimals, or up to four when the units need them: ``7.50``, ``0.125`` ->
    ``0.125``."""
    text = f"{units:.4f}".rstrip("0")
    whole, _, part = text.partition(".")
    return f"{whole}.{part.ljust(2, '0')}"


def text_field(value: str) -> str:
    """Free text made safe for a LEDES field: accents folded to ASCII (``Peña`` ->
    ``Pena``; another character a ``?``), line breaks, tabs and other controls a space,
    ``|`` a ``/``, ``[]`` a ``()``, runs of spaces one space, no space at either end."""
    folded = "".join(
        ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch)
    )
    text = _CONTROLS.sub(" ", folded).encode("ascii", "replace").decode("ascii")
    text = text.replace("|", "/").replace("[]", "()")
    return _SPACES.sub(" ", text).strip()


# --- validation -----------------------------------------------------------------------


def _where(invoice: LedesInvoice, line: LedesLine | None, n: int | None) -> str:
    where = f"Invoice {invoice.number or '(no number)'}"
    if line is not None:
        where += f", {line.label or f'line {n}'}"
    return where


def identifier_problem(value: str, name: str, *, length: int = ID_LENGTH) -> str | None:
    """What is wrong with ``value`` as the identifier field ``name``, or None."""
    if len(value) > length:
        return f"{name} {value!r} is longer than {length} characters"
    if not _ID_CHARS.fullmatch(value):
        return f"{name} {value!r} may hold only printable ASCII without |, [ or ]"
    return None


def _identifier(value: str, name: str, where: str, *, required: bool) -> str:
    if not value:
        if required:
            raise LedesRefused(f"{where}: {name} is required and empty", field=name)
        return ""
    problem = identifier_problem(value, name)
    if problem:
        raise LedesRefused(f"{where}: {problem}", field=name)
    return value


def _code(value: str, name: str, pattern: re.Pattern[str], example: str, where: str) -> str:
    if not pattern.fullmatch(value):
        shown = repr(value) if value else "empty"
        raise LedesRefused(
            f"{where}: {name} is {shown}, not a UTBMS code such as {example}", field=name
        )
    return value


def _line_fields(invoice: LedesInvoice, line: LedesLine, n: int) -> dict[str, str]:
    where = _where(invoice, line, n)
    if line.type not in TYPES:
        raise LedesRefused(
            f"{where}: EXP/FEE/INV_ADJ_TYPE is {line.type!r}, not F, E, IF or IE",
            field="EXP/FEE/INV_ADJ_TYPE",
        )
    out = {
        "LINE_ITEM_NUMBER": str(n),
        "EXP/FEE/INV_ADJ_TYPE": line.type,
        "LINE_ITEM_DATE": date_field(line.date),
        "LINE_ITEM_DESCRIPTION": text_field(line.description),
        "LINE_ITEM_ADJUSTMENT_AMOUNT": amount_field(line.adjustment_cents),
        "LINE_ITEM_TOTAL": amount_field(line.total_cents),
        "LINE_ITEM_NUMBER_OF_UNITS": "",
        "LINE_ITEM_UNIT_COST": "",
        "LINE_ITEM_TASK_CODE": "",
        "LINE_ITEM_EXPENSE_CODE": "",
        "LINE_ITEM_ACTIVITY_CODE": "",
        "TIMEKEEPER_ID": "",
        "TIMEKEEPER_NAME": "",
        "TIMEKEEPER_CLASSIFICATION": "",
    }
    if line.type in (FEE_ADJUSTMENT, EXPENSE_ADJUSTMENT):
        return out
    if line.units is None or line.unit_cost_cents is None:
        raise LedesRefused(
            f"{where}: LINE_ITEM_NUMBER_OF_UNITS and LINE_ITEM_UNIT_COST are required",
            field="LINE_ITEM_NUMBER_OF_UNITS",
        )
    if line.units <= 0 or line.units != line.units.quantize(Decimal("0.0001")):
        raise LedesRefused(
            f"{where}: LINE_ITEM_NUMBER_OF_UNITS {line.units} is not a positive number "
            "of at most four decimals",
            field="LINE_ITEM_NUMBER_OF_UNITS",
        )
    extended = line.units * line.unit_cost_cents
    if extended != extended.to_integral_value():
        raise LedesRefused(
            f"{where}: {units_field(line.units)} units at {amount_field(line.unit_cost_cents)} "
            "do not come to whole cents",
            field="LINE_ITEM_UNIT_COST",
        )
    out["LINE_ITEM_NUMBER_OF_UNITS"] = units_field(line.units)
    out["LINE_ITEM_UNIT_COST"] = amount_field(line.unit_cost_cents)
    if line.type == FEE:
        if line.expense_code:
            raise LedesRefused(
                f"{where}: a fee has no LINE_ITEM_EXPENSE_CODE", field="LINE_ITEM_EXPENSE_CODE"
            )
        out["LINE_ITEM_TASK_CODE"] = _code(
            line.task_code, "LINE_ITEM_TASK_CODE", TASK_CODE, "L110", where
        )
        out["LINE_ITEM_ACTIVITY_CODE"] = _code(
            line.activity_code, "LINE_ITEM_ACTIVITY_CODE", ACTIVITY_CODE, "A101", where
        )
        out["TIMEKEEPER_ID"] = _identifier(
            line.timekeeper_id, "TIMEKEEPER_ID", where, required=True
        )
        name = text_field(line.timekeeper_name)
        if not name:
            raise LedesRefused(
                f"{where}: TIMEKEEPER_NAME is required and empty", field="TIMEKEEPER_NAME"
            )
        out["TIMEKEEPER_NAME"] = name
        if line.timekeeper_classification not in CLASSIFICATIONS:
            shown = repr(line.timekeeper_classification) or "empty"
            raise LedesRefused(
                f"{where}: TIMEKEEPER_CLASSIFICATION is {shown}, not one of "
                f"{', '.join(CLASSIFICATIONS)}",
                field="TIMEKEEPER_CLASSIFICATION",
            )
        out["TIMEKEEPER_CLASSIFICATION"] = line.timekeeper_classification
    else:
        out["LINE_ITEM_EXPENSE_CODE"] = _code(
            line.expense_code, "LINE_ITEM_EXPENSE_CODE", EXPENSE_CODE, "E101", where
        )
        if line.task_code:
            out["LINE_ITEM_TASK_CODE"] = _code(
                line.task_code, "LINE_ITEM_TASK_CODE", TASK_CODE, "L110", where
            )
        out["TIMEKEEPER_ID"] = _identifier(
            line.timekeeper_id, "TIMEKEEPER_ID", where, required=False
        )
        out["TIMEKEEPER_NAME"] = text_field(line.timekeeper_name)
    return out


def invoice_lines(invoice: LedesInvoice) -> list[str]:
    """The invoice's line items as LEDES lines (each ending ``[]``, without the line
    break), after checking every field rule; a refusal names the invoice, line and field."""
    where = _where(invoice, None, None)
    if not invoice.lines:
        raise LedesRefused(f"{where} has no line items", field="LINE_ITEM_NUMBER")
    if invoice.billing_start > invoice.billing_end:
        raise LedesRefused(
            f"{where}: BILLING_START_DATE {date_field(invoice.billing_start)} is after "
            f"BILLING_END_DATE {date_field(invoice.billing_end)}",
            field="BILLING_START_DATE",
        )
    head = {
        "INVOICE_DATE": date_field(invoice.date),
        "INVOICE_NUMBER": _identifier(invoice.number, "INVOICE_NUMBER", where, required=True),
        "CLIENT_ID": _identifier(invoice.client_id, "CLIENT_ID", where, required=True),
        "LAW_FIRM_MATTER_ID": _identifier(
            invoice.law_firm_matter_id, "LAW_FIRM_MATTER_ID", where, required=True
        ),
        "INVOICE_TOTAL": amount_field(invoice.total_cents),
        "BILLING_START_DATE": date_field(invoice.billing_start),
        "BILLING_END_DATE": date_field(invoice.billing_end),
        "INVOICE_DESCRIPTION": text_field(invoice.description),
        "LAW_FIRM_ID": _identifier(invoice.law_firm_id, "LAW_FIRM_ID", where, required=True),
        "CLIENT_MATTER_ID": _identifier(
            invoice.client_matter_id, "CLIENT_MATTER_ID", where, required=False
        ),
    }
    rows = [{**head, **_line_fields(invoice, line, n)} for n, line in enumerate(invoice.lines, 1)]
    lines_total = sum(line.total_cents for line in invoice.lines)
    if lines_total != invoice.total_cents:
        raise LedesRefused(
            f"{where}: INVOICE_TOTAL {amount_field(invoice.total_cents)} is not the sum of "
            f"its line totals, {amount_field(lines_total)}",
            field="INVOICE_TOTAL",
        )
    return ["|".join(row[name] for name in FIELDS) + TERMINATOR for row in rows]


def ledes_1998b(invoices: Iterable[LedesInvoice]) -> str:
    """One LEDES 1998B file holding ``invoices`` (at least one), each line ending CR LF."""
    body: list[str] = []
    numbers: set[str] = set()
    for invoice in invoices:
        if invoice.number in numbers:
            raise LedesRefused(
                f"Invoice {invoice.number} is in the file twice", field="INVOICE_NUMBER"
            )
        numbers.add(invoice.number)
        body.extend(invoice_lines(invoice))
    if not body:
        raise LedesRefused("No invoice to export", field="invoices")
    return EOL.join([FORMAT_LINE, HEADER_LINE, *body]) + EOL


def parse(text: str) -> list[dict[str, str]]:
    """The line items of a LEDES 1998B file as field-name -> value (a reader for tests
    and for checking what was written): refuses a file that breaks the line rules."""
    lines = text.split(EOL)
    if lines[-1] != "":
        raise ValueError("the file does not end with a line break")
    lines = lines[:-1]
    if len(lines) < 3 or lines[0] != FORMAT_LINE or lines[1] != HEADER_LINE:
        raise ValueError("not a LEDES 1998B file (first line, header line)")
    rows = []
    for n, line in enumerate(lines[2:], 3):
        if not line.endswith(TERMINATOR) or TERMINATOR in line[: -len(TERMINATOR)]:
            raise ValueError(f"line {n} does not end with exactly one []")
        values = line[: -len(TERMINATOR)].split("|")
        if len(values) != len(FIELDS):
            raise ValueError(f"line {n} has {len(values)} fields, not {len(FIELDS)}")
        rows.append(dict(zip(FIELDS, values, strict=True)))
    return rows
