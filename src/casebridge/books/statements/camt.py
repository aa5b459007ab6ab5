"""ISO 20022 camt.053 (Bank-to-customer statement), versions 001.02 to 001.08, read with
``defusedxml`` (no entity expansion, no external references).

One ``Stmt`` per file is imported (several: the one whose account ends in the bank
account's number). Balances: ``OPBD`` (or ``PRCD``) opening, ``CLBD`` closing; an entry's
date is its booking date. Only booked entries (``Sts`` BOOK) are statement lines.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from casebridge.books.statements.parsed import (
    ParsedLine,
    ParsedStatement,
    StatementRefused,
    decimal_cents,
)

NAMESPACE = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0([2-8])\}Document$")


class _Doc:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, path: str) -> str:
        return "/".join(
            f"{{{self.ns}}}{part}" if part not in (".", "..") else part for part in path.split("/")
        )

    def find(self, el: Element, path: str) -> Element | None:
        return el.find(self.q(path))

    def text(self, el: Element, path: str) -> str:
        found = el.find(self.q(path))
        return (found.text or "").strip() if found is not None else ""

    def all(self, el: Element, path: str) -> list[Element]:
        return el.findall(self.q(path))


def _date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise StatementRefused(f"{text!r} is not an ISO date", where=where) from None


def _amount(doc: _Doc, el: Element, where: str) -> tuple[int, str]:
    """The signed cents of an element with ``Amt`` and ``CdtDbtInd``, and the currency."""
    amt = doc.find(el, "Amt")
    if amt is None or not (amt.text or "").strip():
        raise StatementRefused("the Amt element is missing", where=f"{where}/Amt")
    try:
        value = Decimal(amt.text.strip())  # type: ignore[union-attr]
    except InvalidOperation:
        raise StatementRefused(
            f"amount {amt.text!r} is not a number", where=f"{where}/Amt"
        ) from None
    cents = decimal_cents(value, where=f"{where}/Amt")  # refuses NaN before it is compared
    if value < 0:
        raise StatementRefused(
            "amounts are unsigned; CdtDbtInd gives the sign", where=f"{where}/Amt"
        )
    indicator = doc.text(el, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementRefused(
            f"CdtDbtInd {indicator!r} is not CRDT or DBIT", where=f"{where}/CdtDbtInd"
        )
    return (cents if indicator == "CRDT" else -cents), amt.get("Ccy", "").upper()


def _one_currency(currency: str, ccy: str, where: str) -> str:
    """The statement's currency: every amount in it is in the same one."""
    if ccy and currency and ccy != currency:
        raise StatementRefused(
            f"an amount in {ccy} in a statement in {currency}; one currency per statement",
            where=where,
        )
    return currency or ccy


def parse(data: bytes, *, account_hint: str = "") -> ParsedStatement:
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise StatementRefused(f"not well-formed XML ({exc})", where="XML") from None
    match = NAMESPACE.match(root.tag)
    if match is None:
        raise StatementRefused(
            "the root element is not a camt.053.001.02 to .08 Document", where=f"element {root.tag}"
        )
    doc = _Doc(root.tag[1:].split("}")[0])
    statements = doc.all(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise StatementRefused("no Stmt element", where="element BkToCstmrStmt")
    index, stmt = _choose(doc, statements, account_hint)
    base = f"element Stmt[{index}]"
    account = doc.text(stmt, "Acct/Id/IBAN") or doc.text(stmt, "Acct/Id/Othr/Id") or None
    currency = doc.text(stmt, "Acct/Ccy").upper()
    opening = closing = None
    for n, bal in enumerate(doc.all(stmt, "Bal"), start=1):
        kind = doc.text(bal, "Tp/CdOrPrtry/Cd")
        cents, ccy = _amount(doc, bal, f"{base}/Bal[{n}]")
        currency = _one_currency(currency, ccy, f"{base}/Bal[{n}]/Amt")
        if kind in ("OPBD", "PRCD") and opening is None:
            opening = cents
        elif kind == "CLBD":
            closing = cents
    lines: list[ParsedLine] = []
    for n, entry in enumerate(doc.all(stmt, "Ntry"), start=1):
        where = f"{base}/Ntry[{n}]"
        status = doc.text(entry, "Sts/Cd") or doc.text(entry, "Sts")
        if status and status != "BOOK":
            continue
        cents, ccy = _amount(doc, entry, where)
        currency = _one_currency(currency, ccy, f"{where}/Amt")
        booked = doc.text(entry, "BookgDt/Dt") or doc.text(entry, "BookgDt/DtTm")
        if not booked:
            raise StatementRefused("the booking date is missing", where=f"{where}/BookgDt")
        tx = doc.find(entry, "NtryDtls/TxDtls")
        reference = doc.text(entry, "NtryRef")
        cheque = ""
        parts: list[str] = []
        if tx is not None:
            reference = reference or doc.text(tx, "Refs/EndToEndId") or doc.text(tx, "Refs/InstrId")
            cheque = doc.text(tx, "Refs/ChqNb")
            for path in (
                "RltdPties/Dbtr/Nm",
                "RltdPties/Cdtr/Nm",
                "RltdPties/Dbtr/Pty/Nm",
                "RltdPties/Cdtr/Pty/Nm",
                "RmtInf/Ustrd",
            ):
                value = doc.text(tx, path)
                if value:
                    parts.append(value)
        info = doc.text(entry, "AddtlNtryInf")
        if info:
            parts.append(info)
        lines.append(
            ParsedLine(
                posted_on=_date(booked, f"{where}/BookgDt"),
                amount_cents=cents,
                bank_txn_id=doc.text(entry, "AcctSvcrRef") or None,
                type=doc.text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd")
                or doc.text(entry, "BkTxCd/Prtry/Cd"),
                check_number=cheque or None,
                reference=reference,
                description=" - ".join(parts),
                position=n,
            )
        )
    start = doc.text(stmt, "FrToDt/FrDtTm")
    end = doc.text(stmt, "FrToDt/ToDtTm")
    return ParsedStatement(
        format="camt053",
        account=account,
        currency=currency or "USD",
        period_start=_date(start, f"{base}/FrToDt") if start else None,
        period_end=_date(end, f"{base}/FrToDt") if end else None,
        opening_cents=opening,
        closing_cents=closing,
        lines=lines,
    )


def _choose(doc: _Doc, statements: list[Element], hint: str) -> tuple[int, Element]:
    if len(statements) == 1:
        return 1, statements[0]
    digits = "".join(c for c in hint if c.isdigit())
    found = [
        (i, s)
        for i, s in enumerate(statements, start=1)
        if digits
        and (doc.text(s, "Acct/Id/IBAN") or doc.text(s, "Acct/Id/Othr/Id")).endswith(digits)
    ]
    if len(found) == 1:
        return found[0]
    raise StatementRefused(
        f"the file holds {len(statements)} statements and none or several are this bank account's",
        where="element BkToCstmrStmt",
    )
