"""OFX 1.x (SGML), OFX 2.x (XML) and Quicken's QFX (OFX with Intuit's private tags), read
with ``ofxtools``: a bank statement (``STMTRS``) or a card statement (``CCSTMTRS``).

Dates are the bank's own calendar dates: the first eight digits of ``DTPOSTED`` as
written (ofxtools converts to UTC, which can move a late-evening posting to the next
day). OFX states the ledger balance at the end (``LEDGERBAL``), not an opening balance.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from xml.etree import ElementTree

from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError
from ofxtools.Types import OFXSpecError

from casebridge.books.statements.parsed import (
    ParsedLine,
    ParsedStatement,
    StatementRefused,
    decimal_cents,
)


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _date(text: str | None, where: str) -> dt.date | None:
    if not text:
        return None
    digits = text.strip()[:8]
    try:
        return dt.datetime.strptime(digits, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise StatementRefused(f"{text.strip()!r} is not an OFX date", where=where) from None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _without_private_tags(root: ElementTree.Element) -> None:
    """Take out Intuit's private tags (``INTU.BID``, ``INTU.USERID``: what makes OFX a
    QFX), as ofxtools' conversion would skip them, but without its PrivateTagWarning
    for each. The warning was silenced by ``warnings.catch_warnings()`` around the
    parse, which swaps the process's one list of filters in and out and is not
    thread-safe: two threads parsing at once restored each other's lists and the
    warning escaped. Nothing to silence now, in any thread."""
    for parent in list(root.iter()):
        for child in [child for child in parent if "." in child.tag]:
            parent.remove(child)


def parse(data: bytes) -> ParsedStatement:
    if b"</OFX>" not in data.upper():
        raise StatementRefused(
            "the file ends before </OFX>: it is truncated or not an OFX file",
            where=f"line {_line_count(data)}",
        )
    tree = OFXTree()
    try:
        _without_private_tags(tree.parse(io.BytesIO(data)))
        ofx = tree.convert()
    except (OFXHeaderError, ParseError) as exc:
        raise StatementRefused(f"not a readable OFX file ({exc})", where="OFX header") from None
    except (OFXSpecError, ValueError, ArithmeticError, TypeError, IndexError, KeyError) as exc:
        raise StatementRefused(str(exc), where="element " + _element_of(exc)) from None
    statements = list(getattr(ofx, "statements", None) or [])
    if len(statements) != 1:
        raise StatementRefused(
            f"the file holds {len(statements)} statements; import one account's at a time",
            where="element STMTRS",
        )
    stmt = statements[0]
    root = tree.getroot()
    raw_txns = list(root.iter("STMTTRN")) if root is not None else []
    tranlist = stmt.banktranlist
    if tranlist is None:
        raise StatementRefused("no transaction list", where="element BANKTRANLIST")
    lines: list[ParsedLine] = []
    for i, txn in enumerate(tranlist, start=1):
        where = f"element STMTTRN[{i}]"
        raw = raw_txns[i - 1] if i <= len(raw_txns) else None
        posted = _date(raw.findtext("DTPOSTED") if raw is not None else None, where)
        if posted is None:
            posted = txn.dtposted.date()
        name, memo = _text(txn.name), _text(txn.memo)
        lines.append(
            ParsedLine(
                posted_on=posted,
                amount_cents=decimal_cents(txn.trnamt, where=f"{where}/TRNAMT"),
                bank_txn_id=_text(txn.fitid) or None,
                type=_text(txn.trntype),
                check_number=_text(txn.checknum) or None,
                reference=_text(txn.refnum),
                description=" - ".join(part for part in (name, memo) if part),
                position=i,
            )
        )
    raw_list = root.find(".//BANKTRANLIST") if root is not None else None
    account = stmt.account
    ledger = stmt.ledgerbal
    return ParsedStatement(
        format="ofx",
        account=_text(getattr(account, "acctid", None)) or None,
        currency=_text(stmt.curdef).upper() or "USD",
        period_start=_date(
            raw_list.findtext("DTSTART") if raw_list is not None else None, "DTSTART"
        ),
        period_end=_date(raw_list.findtext("DTEND") if raw_list is not None else None, "DTEND"),
        opening_cents=None,
        closing_cents=(
            decimal_cents(ledger.balamt, where="element LEDGERBAL/BALAMT")
            if ledger is not None and ledger.balamt is not None
            else None
        ),
        lines=lines,
    )


def _element_of(exc: Exception) -> str:
    """ofxtools names the element in its message ("Can't set STMTTRN.trntype ...")."""
    text = str(exc)
    for word in text.replace("(", " ").split():
        if "." in word and word.split(".")[0].isupper():
            return word.split(".")[0]
    return "OFX"
