"""Bank statements written for the tests as a bank would send them: ISO 20022 camt.053
(the format with both balances, cheque numbers and references), imported through the real
import service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from casebridge.books.models import BankAccount, BankStatement, StatementLine
from casebridge.books.services import statements

_seq = iter(range(1, 10**9))


@dataclass(frozen=True)
class Row:
    """One bank line: signed cents (money in positive)."""

    on: dt.date
    cents: int
    check: str | None = None
    ref: str | None = None
    text: str = ""
    txn_id: str | None = None


def _amount(cents: int) -> str:
    return f"{abs(cents) // 100}.{abs(cents) % 100:02d}"


def camt053(
    rows: list[Row],
    *,
    start: dt.date,
    end: dt.date,
    opening: int | None,
    closing: int | None,
) -> bytes:
    entries = []
    for row in rows:
        txn_id = row.txn_id or f"BK{next(_seq):012d}"
        refs = ""
        if row.check:
            refs = f"<Refs><ChqNb>{row.check}</ChqNb></Refs>"
        elif row.ref:
            refs = f"<Refs><EndToEndId>{row.ref}</EndToEndId></Refs>"
        text = f"<RmtInf><Ustrd>{row.text}</Ustrd></RmtInf>" if row.text else ""
        details = f"<NtryDtls><TxDtls>{refs}{text}</TxDtls></NtryDtls>" if refs or text else ""
        entries.append(
            f"""<Ntry><Amt Ccy="USD">{_amount(row.cents)}</Amt>
<CdtDbtInd>{"CRDT" if row.cents > 0 else "DBIT"}</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>{row.on.isoformat()}</Dt></BookgDt><AcctSvcrRef>{txn_id}</AcctSvcrRef>
{details}</Ntry>"""
        )
    balances = ""
    for code, cents, on in (("OPBD", opening, start), ("CLBD", closing, end)):
        if cents is not None:
            balances += f"""<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>
<Amt Ccy="USD">{_amount(cents)}</Amt><CdtDbtInd>{"CRDT" if cents >= 0 else "DBIT"}</CdtDbtInd>
<Dt><Dt>{on.isoformat()}</Dt></Dt></Bal>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>T{next(_seq)}</MsgId><CreDtTm>{end.isoformat()}T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S{next(_seq)}</Id>
<FrToDt><FrDtTm>{start.isoformat()}T00:00:00</FrDtTm><ToDtTm>{end.isoformat()}T23:59:59</ToDtTm></FrToDt>
<Acct><Id><Othr><Id>000123454321</Id></Othr></Id><Ccy>USD</Ccy></Acct>
{balances}{"".join(entries)}</Stmt></BkToCstmrStmt></Document>""".encode()


def import_statement(
    firm: Any,
    actor: Any,
    bank: BankAccount,
    rows: list[Row],
    *,
    start: dt.date,
    end: dt.date,
    opening: int | None = 0,
    closing: int | None = None,
) -> tuple[BankStatement, list[StatementLine]]:
    """Import a camt.053 statement of ``rows`` (closing balance: opening + the rows when
    not given) and return it with its lines by row."""
    if closing is None and opening is not None:
        closing = opening + sum(r.cents for r in rows)
    record = statements.statement_import(
        firm=firm,
        actor=actor,
        bank_account_id=bank.pk,
        data=camt053(rows, start=start, end=end, opening=opening, closing=closing),
        file_name="statement.xml",
    )
    assert record.status == "imported", record.reason
    assert record.statement is not None
    lines = list(StatementLine.objects.filter(statement=record.statement).order_by("position"))
    assert len(lines) == len(rows)
    return record.statement, lines
