"""Bank statement files in: one parser per format, each returning a
:class:`~casebridge.books.statements.parsed.ParsedStatement` or refusing the whole file
(:class:`~casebridge.books.statements.parsed.StatementRefused`). Nothing here touches the
database; ``casebridge.books.services.statements`` imports what a parser read (ADR 0014).
"""

from __future__ import annotations

from casebridge.books.statements import bai2, camt, csvfile, ofx
from casebridge.books.statements.csvfile import CsvLayout
from casebridge.books.statements.parsed import ParsedLine, ParsedStatement, StatementRefused

__all__ = [
    "FORMATS",
    "CsvLayout",
    "ParsedLine",
    "ParsedStatement",
    "StatementRefused",
    "detect",
    "parse",
]

#: The formats a statement can be imported from, and their names on screen.
FORMATS = {
    "ofx": "OFX / QFX",
    "csv": "CSV",
    "bai2": "BAI2",
    "camt053": "ISO 20022 camt.053",
}


def detect(data: bytes) -> str:
    """The format of a file from its first bytes: an OFX header or ``<OFX>`` root, a
    camt.053 ``Document``, a BAI2 ``01,`` file header; otherwise CSV."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    upper = head.upper()
    if upper.startswith(b"OFXHEADER") or b"<OFX>" in upper or b"<?OFX" in upper:
        return "ofx"
    if head.startswith(b"<"):
        if b"camt.053" in head:
            return "camt053"
        raise StatementRefused("an XML file that is neither OFX nor camt.053", where="line 1")
    if head.startswith(b"01,"):
        return "bai2"
    return "csv"


def parse(
    data: bytes, fmt: str, *, layout: CsvLayout | None = None, account_hint: str = ""
) -> ParsedStatement:
    """Read ``data`` as ``fmt`` (one of :data:`FORMATS`); a CSV needs its ``layout``."""
    if fmt == "ofx":
        return ofx.parse(data)
    if fmt == "bai2":
        return bai2.parse(data, account_hint=account_hint)
    if fmt == "camt053":
        return camt.parse(data, account_hint=account_hint)
    if fmt == "csv":
        if layout is None:
            raise StatementRefused(
                "this bank account has no CSV column mapping yet: choose the columns first"
            )
        return csvfile.parse(data, layout)
    raise StatementRefused(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
