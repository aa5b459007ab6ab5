"""NACHA files (ADR 0046): ACH credits laid out as the ACH network's fixed-width records.

Every record is 94 characters (record size ``094``); ten records make a block (blocking
factor ``10``) and the file is padded to whole blocks with records of nines. The layout:

- **1 file header**: priority ``01``, immediate destination (a blank and the bank's
  routing number), immediate origin (10), creation date YYMMDD and time HHMM, file ID
  modifier (A-Z, 0-9: the files of one day told apart), ``094``, ``10``, format ``1``,
  the destination and origin names (23 each), reference code (8).
- **5 batch header** per SEC code (PPD for people, CCD for businesses): service class
  ``220`` (credits only) or ``200`` (credits and debits: a balanced file), company name
  (16), discretionary data (20), company ID (10), SEC code, entry description (10),
  descriptive date (6), effective entry date YYMMDD, settlement date (3, blank: the
  operator's), originator status ``1``, originating DFI (8), batch number (7).
- **6 entry detail**: transaction code (22/32 a checking/savings credit, 23/33 their
  prenotes, 27/37 a debit: the balanced file's offset), receiving DFI (the routing
  number's first 8 digits) and its check digit, DFI account number (17, left-justified),
  amount (10, cents), identification number (15), name (22), discretionary data (2),
  addenda indicator ``0``, trace number (the originating DFI's 8 digits and a 7-digit
  sequence, unique in the file).
- **8 batch control**: service class, entry/addenda count (6), entry hash (10: the sum of
  the entries' receiving DFI numbers, its last ten digits), total debits and credits
  (12 each, cents), company ID, message authentication code (19, blank), reserved (6),
  originating DFI, batch number.
- **9 file control**: batch count (6), block count (6), entry/addenda count (8), entry
  hash (10), total debits and credits (12 each), reserved (39).

Pure: plain data in, the text and its figures out; no database.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

RECORD_SIZE = 94
BLOCKING_FACTOR = 10

CREDIT_CODES = {"checking": 22, "savings": 32}
PRENOTE_CODES = {"checking": 23, "savings": 33}
DEBIT_CODES = {"checking": 27, "savings": 37}
DEBITS = {27, 37, 28, 38}

#: The file ID modifiers in order: the first file of a day is A.
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class NachaError(ValueError):
    """The data cannot be laid out (a field too long for its place, an amount too big)."""


@dataclass(frozen=True)
class Origin:
    """The originating side: the bank's settings for this bank account."""

    immediate_destination: str  # 9 digits: the bank's routing number
    immediate_destination_name: str
    immediate_origin: str  # 9 or 10 characters as the bank assigns
    immediate_origin_name: str
    company_name: str
    company_id: str
    originating_dfi: str  # 8 digits: the first eight of the ODFI's routing number
    entry_description: str = "PAYMENT"


@dataclass(frozen=True)
class Entry:
    """One entry detail record before its trace number. ``key`` ties it back to what it
    pays (an ACH payment's id), None for a prenote or an offset."""

    transaction_code: int
    routing_number: str  # 9 digits
    account_number: str
    amount_cents: int
    identification: str
    name: str
    key: Hashable | None = None

    @property
    def is_debit(self) -> bool:
        return self.transaction_code in DEBITS


@dataclass(frozen=True)
class Batch:
    sec_code: str  # PPD or CCD
    entries: Sequence[Entry]


@dataclass(frozen=True)
class Offset:
    """The firm's own account, debited in each batch of a balanced file."""

    routing_number: str
    account_number: str
    account_type: str = "checking"
    name: str = ""


@dataclass
class NachaFile:
    text: str
    batch_count: int
    block_count: int
    entry_count: int
    entry_hash: int
    total_debit_cents: int
    total_credit_cents: int
    #: the trace number of each entry that has a key, by key
    traces: dict[Hashable, str] = field(default_factory=dict)


def ascii_text(value: str) -> str:
    """Upper-case printable ASCII: accents dropped (José -> JOSE), anything else a space."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if " " <= c <= "~" else " " for c in plain).upper()


def alpha(value: str, width: int) -> str:
    """An alphanumeric field: left-justified, blank-filled, cut to ``width``."""
    return ascii_text(value)[:width].ljust(width)


def num(value: int, width: int, what: str) -> str:
    """A numeric field: right-justified, zero-filled; refused if it does not fit."""
    if value < 0:
        raise NachaError(f"{what} cannot be negative")
    text = str(value)
    if len(text) > width:
        raise NachaError(f"{what} {value} does not fit {width} digits")
    return text.zfill(width)


def _record(*parts: str) -> str:
    line = "".join(parts)
    if len(line) != RECORD_SIZE:  # a bug in this module, never the data's
        raise AssertionError(f"record of {len(line)} characters: {line!r}")
    return line


def entry_hash(routing_numbers: Sequence[str]) -> int:
    """The sum of the receiving DFI numbers (the routing numbers' first 8 digits), kept to
    its last ten digits."""
    return sum(int(r[:8]) for r in routing_numbers) % 10**10


def _immediate(value: str) -> str:
    return value.rjust(10)[:10]


def build(
    *,
    origin: Origin,
    batches: Sequence[Batch],
    effective_date: dt.date,
    created_at: dt.datetime,
    file_id_modifier: str,
    offset: Offset | None = None,
    first_trace: int = 1,
) -> NachaFile:
    """The NACHA file of ``batches`` (each one SEC code). With ``offset`` (a balanced
    file) every batch with credits ends with a debit of their total to the firm's own
    account, and its service class is 200; else 220. Trace numbers run ``first_trace``,
    the next... through the file after the originating DFI's eight digits (unique per ODFI
    per day across the firm's files, ADR 0050)."""
    if file_id_modifier not in FILE_ID_MODIFIERS:
        raise NachaError(f"file ID modifier {file_id_modifier!r} is not A-Z or 0-9")
    odfi = origin.originating_dfi
    records = [
        _record(
            "1",
            "01",
            _immediate(" " + origin.immediate_destination),
            _immediate(origin.immediate_origin),
            created_at.strftime("%y%m%d"),
            created_at.strftime("%H%M"),
            file_id_modifier,
            "094",
            "10",
            "1",
            alpha(origin.immediate_destination_name, 23),
            alpha(origin.immediate_origin_name, 23),
            alpha("", 8),
        )
    ]
    traces: dict[Hashable, str] = {}
    sequence = first_trace - 1
    file_hash = file_debit = file_credit = file_entries = 0
    for number, batch in enumerate(batches, start=1):
        entries = list(batch.entries)
        credit = sum(e.amount_cents for e in entries if not e.is_debit)
        if offset is not None and credit:
            entries.append(
                Entry(
                    transaction_code=DEBIT_CODES[offset.account_type],
                    routing_number=offset.routing_number,
                    account_number=offset.account_number,
                    amount_cents=credit,
                    identification="OFFSET",
                    name=offset.name or origin.company_name,
                )
            )
        service_class = "200" if offset is not None else "220"
        records.append(
            _record(
                "5",
                service_class,
                alpha(origin.company_name, 16),
                alpha("", 20),
                alpha(origin.company_id, 10),
                alpha(batch.sec_code, 3),
                alpha(origin.entry_description, 10),
                alpha("", 6),
                effective_date.strftime("%y%m%d"),
                alpha("", 3),
                "1",
                num(int(odfi), 8, "originating DFI"),
                num(number, 7, "batch number"),
            )
        )
        for entry in entries:
            sequence += 1
            trace = odfi + num(sequence, 7, "trace sequence")
            if entry.key is not None:
                traces[entry.key] = trace
            records.append(
                _record(
                    "6",
                    num(entry.transaction_code, 2, "transaction code"),
                    entry.routing_number[:8],
                    entry.routing_number[8],
                    alpha(entry.account_number, 17),
                    num(entry.amount_cents, 10, "amount in cents"),
                    alpha(entry.identification, 15),
                    alpha(entry.name, 22),
                    alpha("", 2),
                    "0",
                    trace,
                )
            )
        debit = sum(e.amount_cents for e in entries if e.is_debit)
        batch_hash = entry_hash([e.routing_number for e in entries])
        records.append(
            _record(
                "8",
                service_class,
                num(len(entries), 6, "entry count"),
                num(batch_hash, 10, "entry hash"),
                num(debit, 12, "total debits"),
                num(credit, 12, "total credits"),
                alpha(origin.company_id, 10),
                alpha("", 19),
                alpha("", 6),
                num(int(odfi), 8, "originating DFI"),
                num(number, 7, "batch number"),
            )
        )
        file_hash += batch_hash
        file_debit += debit
        file_credit += credit
        file_entries += len(entries)
    file_hash %= 10**10
    count = len(records) + 1
    blocks = -(-count // BLOCKING_FACTOR)
    records.append(
        _record(
            "9",
            num(len(batches), 6, "batch count"),
            num(blocks, 6, "block count"),
            num(file_entries, 8, "entry count"),
            num(file_hash, 10, "entry hash"),
            num(file_debit, 12, "total debits"),
            num(file_credit, 12, "total credits"),
            alpha("", 39),
        )
    )
    records += ["9" * RECORD_SIZE] * (blocks * BLOCKING_FACTOR - count)
    return NachaFile(
        text="\n".join(records) + "\n",
        batch_count=len(batches),
        block_count=blocks,
        entry_count=file_entries,
        entry_hash=file_hash,
        total_debit_cents=file_debit,
        total_credit_cents=file_credit,
        traces=traces,
    )
