"""Bank statements in: import a statement file for a bank account, and remember each bank
account's CSV column mapping (issue 11, ADR 0014).

An import parses the whole file first (``casebridge.books.statements``). A file that does
not parse, states another account or another currency is **refused**: the only row
written is the :class:`StatementImport` that says where and why (the import log shows
refusals). A file that parses is written in one transaction: its
:class:`BankStatement` (once per file: unique per bank account and SHA-256) and its lines,
each stored once per bank account under its ``dedupe_key`` (a database unique
constraint, inserted with ON CONFLICT DO NOTHING), so the same file twice, overlapping
files, or two uploads racing add every line once. The import counts what was new and what
was already known.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import DateField, DateTimeField, Field, Model

from casebridge.books import statements
from casebridge.books.audit import books_audit
from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    BankAccount,
    BankStatement,
    CsvColumnMapping,
    Firm,
    StatementImport,
    StatementImportStatus,
    StatementLine,
    StatementLineStatus,
    User,
)
from casebridge.books.statements import CsvLayout, ParsedLine, ParsedStatement, StatementRefused
from casebridge.core import clock
from casebridge.core.money import MAX_CENTS, format_cents
from casebridge.core.text import hidden_character

#: The largest statement file accepted (a year of daily BAI2 for a busy account is far less).
MAX_FILE_BYTES = 20 * 1024 * 1024
#: The books keep one currency.
CURRENCY = "USD"
_KEY_MAX = 100


def bank_account_get(*, firm: Firm, bank_account_id: int) -> BankAccount:
    bank = BankAccount.objects.filter(firm=firm, pk=bank_account_id).first()
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    return bank


def csv_layout_of(bank: BankAccount) -> CsvLayout | None:
    """The bank account's remembered CSV column mapping, or None if none was chosen."""
    mapping = CsvColumnMapping.objects.filter(bank_account=bank).first()
    if mapping is None:
        return None
    return CsvLayout(**{name: getattr(mapping, name) for name in LAYOUT_FIELDS})


LAYOUT_FIELDS = tuple(CsvLayout.__dataclass_fields__)


def csv_mapping_save(
    *, firm: Firm, actor: User | None, bank_account_id: int, layout: CsvLayout
) -> CsvColumnMapping:
    """Choose (or change) the bank account's CSV column mapping; audited."""
    problems = layout.problems()
    if problems:
        name, reason = next(iter(problems.items()))
        raise ValidationFailed(reason, field=name)
    with transaction.atomic():
        bank = bank_account_get(firm=firm, bank_account_id=bank_account_id)
        before = csv_layout_of(bank)
        mapping, _ = CsvColumnMapping.objects.update_or_create(
            bank_account=bank,
            defaults={
                **asdict(layout),
                "firm": firm,
                "updated_by": actor,
                "updated_at": clock.now(),
            },
        )
        books_audit(
            firm_id=firm.pk,
            actor=actor,
            action="csv_mapping_saved",
            entity_type="bank_account",
            entity_id=bank.pk,
            summary=f"CSV column mapping of {bank.name} saved",
            before=asdict(before) if before else None,
            after=asdict(layout),
        )
    return mapping


def dedupe_keys(lines: list[ParsedLine]) -> list[str]:
    """Each line's key: ``id:`` and the bank's transaction id when the file gives one (and
    gives it to that line only);
    otherwise ``h:`` and the SHA-256 of date, amount, reference, check number and the
    line's rank among the lines of the file with those same four (so two identical $12.50
    fees on one day are two lines, and the same day in an overlapping file gives the same
    two keys)."""
    seen: dict[tuple[str, ...], int] = {}
    ids = Counter(line.bank_txn_id for line in lines if line.bank_txn_id)
    keys = []
    for line in lines:
        # a bank that gives two lines of one file the same id has not named them: they
        # are told apart as lines without an id are
        if line.bank_txn_id and ids[line.bank_txn_id] == 1:
            key = "id:" + line.bank_txn_id
            if len(key) > _KEY_MAX:
                key = "idh:" + hashlib.sha256(line.bank_txn_id.encode()).hexdigest()
            keys.append(key)
            continue
        twin = (
            line.posted_on.isoformat(),
            str(line.amount_cents),
            line.reference,
            line.check_number or "",
        )
        seen[twin] = rank = seen.get(twin, 0) + 1
        keys.append("h:" + hashlib.sha256("|".join((*twin, str(rank))).encode()).hexdigest())
    return keys


def _plain(value: str, limit: int) -> str:
    """Bank text as a line that prints as read: controls and invisible characters become
    spaces; cut to the column's length."""
    if not value:
        return ""
    if hidden_character(value) is not None:
        value = "".join(" " if hidden_character(c) else c for c in value)
    return " ".join(value.split())[:limit]


def _check_account(bank: BankAccount, parsed: ParsedStatement) -> None:
    stated = "".join(c for c in (parsed.account or "") if c.isalnum())
    last4 = bank.account_number_last4.strip()
    if stated and last4 and not stated.endswith(last4):
        raise StatementRefused(
            f"the file is for account ending {stated[-4:]}; {bank.name} ends {last4}",
            where="account",
        )
    if parsed.currency != CURRENCY:
        raise StatementRefused(
            f"the statement is in {parsed.currency}; the books keep {CURRENCY}",
            where="currency",
        )


def statement_import(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    data: bytes,
    file_name: str = "",
    fmt: str | None = None,
) -> StatementImport:
    """Import one statement file into a bank account; returns the import's record, whose
    ``status`` says imported (with ``new_count`` and ``known_count``) or refused (with
    ``reason`` and ``where``, and nothing else written)."""
    bank = bank_account_get(firm=firm, bank_account_id=bank_account_id)
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", field="file"
        )
    if fmt is not None and fmt not in statements.FORMATS:
        raise ValidationFailed(
            f"format must be one of {', '.join(statements.FORMATS)}", field="format"
        )
    digest = hashlib.sha256(data).hexdigest()
    record = StatementImport(
        firm=firm,
        bank_account=bank,
        file_name=_plain(file_name, 255),
        file_sha256=digest,
        file_size=len(data),
        imported_by=actor,
        source_format=fmt or "",
    )
    try:
        if not data.strip():
            raise StatementRefused("the file is empty")
        record.source_format = fmt = fmt or statements.detect(data)
        parsed = statements.parse(
            data, fmt, layout=csv_layout_of(bank), account_hint=bank.account_number_last4
        )
        _check_account(bank, parsed)
        _check_amounts(parsed)
    except StatementRefused as refusal:
        return _refuse(firm, actor, record, refusal)
    return _write(firm, actor, bank, record, parsed)


def _check_amounts(parsed: ParsedStatement) -> None:
    """Every amount fits the books' columns (a parser's own bound aside: BAI2 and CSV
    amounts are whole digits of any length)."""
    for what, cents in (
        ("opening balance", parsed.opening_cents),
        ("closing balance", parsed.closing_cents),
    ):
        if cents is not None and abs(cents) > MAX_CENTS:
            raise StatementRefused(f"the {what} is larger than the books can hold")
    for n, line in enumerate(parsed.lines, start=1):
        if abs(line.amount_cents) > MAX_CENTS:
            raise StatementRefused(
                f"amount {format_cents(line.amount_cents)} is larger than the books can hold",
                where=f"transaction {n} of the statement",
            )


def _refuse(
    firm: Firm, actor: User | None, record: StatementImport, refusal: StatementRefused
) -> StatementImport:
    record.status = StatementImportStatus.REFUSED
    record.reason = _plain(refusal.reason, 500)
    record.where = _plain(refusal.where, 120)
    record.created_at = clock.now()
    with transaction.atomic():
        record.save()
        books_audit(
            firm_id=firm.pk,
            actor=actor,
            action="statement_import_refused",
            entity_type="statement_import",
            entity_id=record.pk,
            summary=f"Statement file {record.file_name or '(unnamed)'} refused: {refusal.message}"[
                :500
            ],
            after={"bank_account_id": record.bank_account_id, "where": record.where},
        )
    return record


#: The columns an import writes; ``proposals`` and ``note`` start empty (NULL).
_LINE_FIELDS = (
    "firm",
    "bank_account",
    "statement",
    "posted_on",
    "amount_cents",
    "bank_txn_id",
    "dedupe_key",
    "type",
    "check_number",
    "reference",
    "description",
    "position",
    "status",
)
_STAGING_TABLE = "books_rows_in"
#: Parameters per INSERT on SQLite (as the journal's: within every SQLite's limit).
_SQLITE_PARAMETERS = 7000


def _columns(
    model: type[Model], fields: Sequence[str]
) -> tuple[list[str], list[Callable[[Any], Any] | None]]:
    """The quoted columns of ``fields`` and, per column, what turns a Python value into
    the database's (a date or time on SQLite; nothing on PostgreSQL, whose driver takes
    them as they are)."""
    names: list[str] = []
    adapt: list[Callable[[Any], Any] | None] = []
    ops = connection.ops
    for name in fields:
        model_field = model._meta.get_field(name)
        assert isinstance(model_field, Field)
        names.append(ops.quote_name(model_field.column))
        if connection.vendor == "postgresql":
            adapt.append(None)
        elif isinstance(model_field, DateTimeField):
            adapt.append(ops.adapt_datetimefield_value)
        elif isinstance(model_field, DateField):
            adapt.append(ops.adapt_datefield_value)
        else:
            adapt.append(None)
    return names, adapt


def insert_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    skip_conflicts: bool = False,
) -> int:
    """Insert plain rows (values in ``fields`` order, foreign keys as ids) into
    ``model``'s table in the order given, and return how many were inserted; with
    ``skip_conflicts`` a row that would break a unique constraint is left out (ON CONFLICT
    DO NOTHING), otherwise it raises :class:`IntegrityError`.

    The ORM's ``bulk_create`` builds a model instance per row and spends most of a large
    import's or auto-match's time there (the journal's ``_insert_postings`` says the same
    of postings). PostgreSQL: COPY, the fastest bulk path it has; COPY knows no ON
    CONFLICT, so skipped conflicts go through a temporary table dropped at the end (and
    at commit). SQLite: multi-row INSERTs of 7,000 values (two and a half times faster
    than one prepared INSERT run per row)."""
    if not rows:
        return 0
    names, adapt = _columns(model, fields)
    if any(adapt):
        # a date or time repeats from row to row (every item of an auto-match has the same
        # matched_at): each distinct value is converted once
        seen: list[dict[Any, Any]] = [{} for _ in adapt]

        def converted(value: Any, n: int) -> Any:
            to_db = adapt[n]
            if to_db is None or value is None:
                return value
            done = seen[n].get(value)
            if done is None:
                done = seen[n][value] = to_db(value)
            return done

        rows = [tuple(converted(v, n) for n, v in enumerate(row)) for row in rows]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(names)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            one_row = "(" + ", ".join(["%s"] * len(names)) + ")"
            conflict = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
            size = _SQLITE_PARAMETERS // len(names)
            inserted = 0
            for start in range(0, len(rows), size):
                chunk = rows[start : start + size]
                values = ", ".join([one_row] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES {values}{conflict}",  # noqa: S608
                    [value for row in chunk for value in row],
                )
                inserted += int(cursor.rowcount)
            return inserted
        if not skip_conflicts:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        # a temporary table lives until commit even inside a savepoint: dropped here
        assert connection.in_atomic_block, "a staged insert runs in a transaction"
        staging = connection.ops.quote_name(_STAGING_TABLE)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT 0::bigint AS _n, {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} (_n, {columns}) FROM STDIN") as copy:
            for n, row in enumerate(rows):
                copy.write_row((n, *row))
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "  # noqa: S608
            "ORDER BY _n ON CONFLICT DO NOTHING"
        )
        inserted = int(cursor.rowcount)
        cursor.execute(f"DROP TABLE {staging}")
        return inserted


def _write(
    firm: Firm,
    actor: User | None,
    bank: BankAccount,
    record: StatementImport,
    parsed: ParsedStatement,
) -> StatementImport:
    now = clock.now()
    keys = dedupe_keys(parsed.lines)
    with transaction.atomic():
        try:
            with transaction.atomic():
                statement = BankStatement.objects.create(
                    firm=firm,
                    bank_account=bank,
                    source_format=parsed.format,
                    file_name=record.file_name,
                    file_sha256=record.file_sha256,
                    stated_account=_plain(parsed.account or "", 64),
                    currency=parsed.currency,
                    period_start=parsed.period_start,
                    period_end=parsed.period_end,
                    opening_balance_cents=parsed.opening_cents,
                    closing_balance_cents=parsed.closing_cents,
                    line_count=len(parsed.lines),
                    imported_by=actor,
                    imported_at=now,
                )
            created = True
        except IntegrityError:  # this very file was imported before (or just now)
            statement = BankStatement.objects.get(bank_account=bank, file_sha256=record.file_sha256)
            created = False
        new = 0
        if created:
            new = insert_rows(
                StatementLine,
                _LINE_FIELDS,
                [
                    (
                        firm.pk,
                        bank.pk,
                        statement.pk,
                        line.posted_on,
                        line.amount_cents,
                        _plain(line.bank_txn_id, 100) if line.bank_txn_id else None,
                        key,
                        _plain(line.type, 20),
                        _plain(line.check_number, 20) if line.check_number else None,
                        _plain(line.reference, 140),
                        _plain(line.description, 500),
                        line.position,
                        StatementLineStatus.UNMATCHED.value,
                    )
                    for line, key in zip(parsed.lines, keys, strict=True)
                ],
                skip_conflicts=True,
            )
        record.statement = statement
        record.status = StatementImportStatus.IMPORTED
        record.new_count = new
        record.known_count = len(parsed.lines) - new
        record.created_at = now
        record.save()
        after: dict[str, Any] = {
            "bank_account_id": bank.pk,
            "statement_id": statement.pk,
            "format": parsed.format,
            "new": record.new_count,
            "known": record.known_count,
        }
        books_audit(
            firm_id=firm.pk,
            actor=actor,
            action="statement_imported",
            entity_type="statement_import",
            entity_id=record.pk,
            summary=(
                f"Statement for {bank.name} imported: {record.new_count} new lines, "
                f"{record.known_count} already known"
            ),
            after=after,
        )
    return record
