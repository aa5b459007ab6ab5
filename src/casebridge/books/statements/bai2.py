"""BAI2 (the BAI Cash Management Balance Reporting Specifications, version 2), written
here rather than with the ``bai2`` package: that one raises its refusals without the line
they concern and mutates its own records when it counts them (ADR 0014).

A file is records of comma-separated fields ending in ``/``; ``88`` continues the
previous record. 01 file header, 02 group header (as-of date, currency), 03 account
(number, currency, then balance summaries: 010 opening ledger, 015 closing ledger),
16 transaction detail (type code, amount, funds type [+ availability], bank reference,
customer reference, text), 49 account trailer, 98 group trailer, 99 file trailer. Every
trailer's control total (the sum of the amounts under it) and record count are checked.

Amounts carry no decimal point: their implied decimal places are the currency's (two for
USD). They are unsigned in 16 records (the type code says credit or debit) and may be
signed in 03 records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from casebridge.books.statements.parsed import ParsedLine, ParsedStatement, StatementRefused

#: ISO 4217 minor units that are not 2 (BAI2 amounts are in the currency's minor unit).
MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}
OPENING_LEDGER, CLOSING_LEDGER = "010", "015"


@dataclass
class _Record:
    code: str
    fields: list[str]
    line: int
    lines: int = 1
    ended: bool = True


@dataclass
class _Account:
    number: str
    currency: str
    line: int
    summaries: dict[str, int] = field(default_factory=dict)
    details: list[ParsedLine] = field(default_factory=list)


def _records(text: str) -> list[_Record]:
    records: list[_Record] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        code, _, rest = line.partition(",")
        if not (len(code) == 2 and code.isdigit()):
            raise StatementRefused(
                f"{code[:10]!r} is not a BAI2 record code", where=f"line {number}"
            )
        ended = rest.endswith("/")
        rest = rest[:-1] if ended else rest
        if code == "88":
            if not records:
                raise StatementRefused(
                    "a continuation (88) with nothing before it", where=f"line {number}"
                )
            prev = records[-1]
            if prev.code == "16" and not prev.ended:
                prev.fields[-1] += " " + rest
            else:
                prev.fields.extend(rest.split(","))
            prev.lines += 1
            prev.ended = ended
            continue
        records.append(_Record(code, rest.split(","), number, ended=ended))
    return records


def _int(text: str, where: str, what: str) -> int:
    raw = text.strip()
    body = raw[1:] if raw[:1] in "+-" else raw
    if not body.isdigit():
        raise StatementRefused(f"{what} {raw!r} is not a whole number", where=where)
    return int(raw)


def _date(text: str, where: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%y%m%d").date()  # noqa: DTZ007
    except ValueError:
        raise StatementRefused(f"date {text.strip()!r} is not YYMMDD", where=where) from None


def _to_cents(amount: int, currency: str) -> int:
    minor = MINOR_UNITS.get(currency, 2)
    return amount * 10 ** (2 - minor) if minor <= 2 else _exact_div(amount, 10 ** (minor - 2))


def _exact_div(amount: int, by: int) -> int:
    if amount % by:
        raise StatementRefused(f"amount {amount} is not a whole number of cents")
    return amount // by


def _availability(fields: list[str], i: int, funds: str, where: str) -> int:
    """Skip the availability fields a funds type carries; return the next index."""
    if funds == "S":
        return i + 3
    if funds == "V":
        return i + 2
    if funds == "D":
        count = _int(fields[i] if i < len(fields) else "", where, "distribution count")
        return i + 1 + 2 * count
    return i


def _detail(
    rec: _Record, account: _Account, as_of: dt.date, position: int
) -> tuple[ParsedLine, int]:
    where = f"line {rec.line}"
    f = rec.fields
    if len(f) < 3:
        raise StatementRefused(
            "a 16 record needs a type code, an amount and a funds type", where=where
        )
    type_code = f[0].strip()
    if not (len(type_code) == 3 and type_code.isdigit()):
        raise StatementRefused(f"type code {type_code!r} is not three digits", where=where)
    amount = _int(f[1], where, "amount") if f[1].strip() else 0
    if amount < 0:
        raise StatementRefused("a transaction amount is unsigned in BAI2", where=where)
    code = int(type_code)
    if 100 <= code <= 399 or 900 <= code <= 919:
        sign = 1
    elif 400 <= code <= 699 or 920 <= code <= 999:
        sign = -1
    else:
        raise StatementRefused(
            f"type code {type_code} is not a credit (100-399) or debit (400-699) detail",
            where=where,
        )
    i = _availability(f, 3, f[2].strip().upper(), where)
    bank_ref = f[i].strip() if i < len(f) else ""
    customer_ref = f[i + 1].strip() if i + 1 < len(f) else ""
    text = ",".join(f[i + 2 :]).strip() if i + 2 < len(f) else ""
    check = customer_ref if type_code in ("475", "395") and customer_ref.isdigit() else None
    line = ParsedLine(
        posted_on=as_of,
        amount_cents=sign * _to_cents(amount, account.currency),
        bank_txn_id=bank_ref or None,
        type=type_code,
        check_number=check,
        reference=customer_ref,
        description=text,
        position=position,
    )
    return line, amount


def parse(data: bytes, *, account_hint: str = "") -> ParsedStatement:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    records = _records(text)
    if not records or records[0].code != "01":
        raise StatementRefused("a BAI2 file starts with a 01 file header", where="line 1")
    header = records[0]
    if len(header.fields) >= 8 and header.fields[7].strip() not in ("2", ""):
        raise StatementRefused(
            f"BAI version {header.fields[7]!r}; only version 2 is read", where=f"line {header.line}"
        )
    accounts: list[_Account] = []
    as_of: dt.date | None = None
    currency = "USD"
    file_total = group_total = account_total = 0
    file_records = group_records = account_records = 0
    groups = group_accounts = 0
    account: _Account | None = None
    position = 0
    seen_trailer = False
    for rec in records:
        where = f"line {rec.line}"
        file_records += rec.lines
        group_records += rec.lines
        account_records += rec.lines
        if seen_trailer:
            raise StatementRefused("records after the 99 file trailer", where=where)
        if rec.code == "01":
            if rec is not header:
                raise StatementRefused("a second 01 file header", where=where)
        elif rec.code == "02":
            if len(rec.fields) < 4:
                raise StatementRefused("a 02 group header needs an as-of date", where=where)
            as_of = _date(rec.fields[3], where)
            currency = (rec.fields[5].strip().upper() if len(rec.fields) > 5 else "") or "USD"
            groups += 1
            group_total, group_records, group_accounts = 0, rec.lines, 0
        elif rec.code == "03":
            if as_of is None:
                raise StatementRefused("an 03 account record outside a group", where=where)
            account = _Account(
                number=rec.fields[0].strip(),
                currency=(rec.fields[1].strip().upper() if len(rec.fields) > 1 else "") or currency,
                line=rec.line,
            )
            account_total, account_records = 0, rec.lines
            group_accounts += 1
            rest = rec.fields[2:]
            i = 0
            while i < len(rest) and any(part.strip() for part in rest[i:]):
                type_code = rest[i].strip()
                amount_text = rest[i + 1].strip() if i + 1 < len(rest) else ""
                funds = rest[i + 3].strip().upper() if i + 3 < len(rest) else ""
                if amount_text:
                    amount = _int(amount_text, where, "amount")
                    account_total += amount
                    account.summaries[type_code] = _to_cents(amount, account.currency)
                i = _availability(rest, i + 4, funds, where)
            accounts.append(account)
        elif rec.code == "16":
            if account is None:
                raise StatementRefused("a 16 transaction outside an account", where=where)
            position += 1
            assert as_of is not None
            line, raw_amount = _detail(rec, account, as_of, position)
            account_total += raw_amount
            account.details.append(line)
        elif rec.code == "49":
            if account is None:
                raise StatementRefused("a 49 account trailer without an account", where=where)
            stated = _int(rec.fields[0], where, "account control total")
            if stated != account_total:
                raise StatementRefused(
                    f"account control total {stated} does not equal the sum of the account's "
                    f"amounts, {account_total}",
                    where=where,
                )
            _count(rec, 1, account_records, where, "account")
            group_total += account_total
            account = None
        elif rec.code == "98":
            stated = _int(rec.fields[0], where, "group control total")
            if stated != group_total:
                raise StatementRefused(
                    f"group control total {stated} does not equal the sum of its accounts, "
                    f"{group_total}",
                    where=where,
                )
            if (
                len(rec.fields) > 1
                and _int(rec.fields[1], where, "number of accounts") != group_accounts
            ):
                raise StatementRefused(
                    f"the group states {rec.fields[1].strip()} accounts; it has {group_accounts}",
                    where=where,
                )
            _count(rec, 2, group_records, where, "group")
            file_total += group_total
        elif rec.code == "99":
            stated = _int(rec.fields[0], where, "file control total")
            if stated != file_total:
                raise StatementRefused(
                    f"file control total {stated} does not equal the sum of its groups, "
                    f"{file_total}",
                    where=where,
                )
            if len(rec.fields) > 1 and _int(rec.fields[1], where, "number of groups") != groups:
                raise StatementRefused(
                    f"the file states {rec.fields[1].strip()} groups; it has {groups}", where=where
                )
            _count(rec, 2, file_records, where, "file")
            seen_trailer = True
        else:
            raise StatementRefused(f"{rec.code} is not a BAI2 record code", where=where)
    if not seen_trailer:
        last = records[-1]
        raise StatementRefused(
            "the file ends without its 99 file trailer: it is truncated", where=f"line {last.line}"
        )
    chosen = _choose(accounts, account_hint)
    assert as_of is not None
    return ParsedStatement(
        format="bai2",
        account=chosen.number or None,
        currency=chosen.currency,
        period_start=as_of,
        period_end=as_of,
        opening_cents=chosen.summaries.get(OPENING_LEDGER),
        closing_cents=chosen.summaries.get(CLOSING_LEDGER),
        lines=chosen.details,
    )


def _count(rec: _Record, index: int, counted: int, where: str, what: str) -> None:
    if len(rec.fields) > index and rec.fields[index].strip():
        stated = _int(rec.fields[index], where, "number of records")
        if stated != counted:
            raise StatementRefused(
                f"the {what} trailer states {stated} records; the {what} has {counted}", where=where
            )


def _choose(accounts: list[_Account], hint: str) -> _Account:
    if not accounts:
        raise StatementRefused("the file reports no account (no 03 record)")
    if len(accounts) == 1:
        return accounts[0]
    digits = "".join(c for c in hint if c.isdigit())
    matching = [a for a in accounts if digits and a.number.endswith(digits)]
    if len(matching) == 1:
        return matching[0]
    raise StatementRefused(
        f"the file reports {len(accounts)} accounts and none or several end in "
        f"{digits or '(no account number on this bank account)'}",
        where=f"line {accounts[0].line}",
    )
