"""Posting to the general ledger: the single path by which money moves in the books.

Every other service (checks, receipts, invoices) builds :class:`Line` objects and calls
:func:`journal_entry_post`. Here, in one transaction:

1. the lines are validated (two or more, non-negative, one side each, balanced, every
   account in the firm, every client-trust posting naming a file);
2. the client trust ledgers touched are locked in id order and checked never to go below
   zero, on the entry's date or any later one (:class:`TrustByDate`, ADR 0011; a refusal
   raises :class:`TrustOverdraw` with the amount available);
3. the entry and postings are inserted, and the maintained balances of the GL accounts and
   trust ledgers are moved by the same amounts, in id order (so concurrent posters never
   deadlock).

The one lock order of every posting path (ADR 0012):

1. the document's own row (a check, receipt or invoice being printed or voided: FOR
   UPDATE, since no posting names it by a foreign key) and its counter row, FOR NO KEY
   UPDATE so that other transactions' foreign-key checks on it still pass: the firm
   (invoice and file numbers) or the bank account (check numbers);
2. client trust ledgers, by id (FOR NO KEY UPDATE);
3. GL accounts, by id (FOR NO KEY UPDATE).

A request that posts several documents takes (2) and (3) up front with
:func:`ledger_rows_lock`; a single posting takes them in this order in :func:`_post_many`.

Posted entries are immutable (database triggers); :func:`journal_entry_reverse` corrects.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Sum

from casebridge.books.audit import books_audit
from casebridge.books.errors import (
    Conflict,
    EntryUnbalanced,
    IdempotencyKeyReused,
    TrustNotMatched,
    TrustOverdraw,
    ValidationFailed,
)
from casebridge.books.models import (
    BankAccount,
    BankAccountKind,
    Check,
    File,
    Firm,
    GLAccount,
    Invoice,
    JournalEntry,
    Posting,
    TrustLedger,
    TrustReceipt,
    User,
)
from casebridge.books.roles import CORRECTIONS, require_role
from casebridge.books.services.dates import window_for
from casebridge.books.services.periods import check_open
from casebridge.core import clock
from casebridge.core.db import insert_rows, inserted_instances, update_rows
from casebridge.core.money import MAX_CENTS, format_cents


@dataclass(frozen=True)
class Line:
    """One side of a posting, as the services describe it."""

    account: GLAccount
    debit_cents: int = 0
    credit_cents: int = 0
    file: File | None = None
    memo: str = ""


@dataclass(frozen=True)
class EntrySpec:
    """An entry to post; used by the batch API and the benchmark."""

    date: dt.date
    lines: Sequence[Line]
    memo: str = ""
    posting_reference: str = ""
    source: str = ""
    idempotency_key: str | None = None
    reverses: JournalEntry | None = None


def _validate(firm: Firm, spec: EntrySpec, *, where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    if len(spec.lines) < 2:
        raise ValidationFailed(
            f"{prefix}a journal entry needs at least two postings", field="lines"
        )
    debits = credits = 0
    for n, line in enumerate(spec.lines, start=1):
        if line.account.firm_id != firm.pk:
            raise ValidationFailed(f"{prefix}line {n}: account is not in this firm", field="lines")
        if line.debit_cents < 0 or line.credit_cents < 0:
            raise ValidationFailed(f"{prefix}line {n}: amounts cannot be negative", field="lines")
        if (line.debit_cents > 0) == (line.credit_cents > 0):
            raise ValidationFailed(
                f"{prefix}line {n}: exactly one of debit or credit must be positive", field="lines"
            )
        if max(line.debit_cents, line.credit_cents) > MAX_CENTS:
            raise ValidationFailed(f"{prefix}line {n}: amount is too large", field="lines")
        if line.account.is_client_trust and line.file is None:
            raise ValidationFailed(
                f"{prefix}line {n}: a client trust posting must name a file", field="lines"
            )
        if line.file is not None and line.file.firm_id != firm.pk:
            raise ValidationFailed(f"{prefix}line {n}: file is not in this firm", field="lines")
        if not line.account.is_active:
            raise ValidationFailed(
                f"{prefix}line {n}: account {line.account} is inactive", field="lines"
            )
        debits += line.debit_cents
        credits += line.credit_cents
    if debits != credits:
        raise EntryUnbalanced(
            f"{prefix}entry does not balance: debits {format_cents(debits)}, "
            f"credits {format_cents(credits)}",
            field="lines",
            debits=debits,
            credits=credits,
        )


def journal_entry_validate(firm: Firm, spec: EntrySpec) -> None:
    """Refuse ``spec`` as posting it alone would (two or more lines, one side each,
    balanced, accounts active and in the firm, client trust lines naming a file), before
    a caller that builds many entries posts them together."""
    _validate(firm, spec)


#: A client's trust sub-ledger by (file, trust bank account).
LedgerKey = tuple[int, int]
#: How an entry moves each client's trust it touches: the change (credits minus debits to
#: the client trust account; below zero, a disbursement) and the file, by ledger.
TrustMoves = dict[LedgerKey, tuple[int, File]]


def trust_moves(spec: EntrySpec, bank_by_liability: dict[int, int]) -> TrustMoves:
    """How ``spec`` moves each client's trust it touches, by (file, trust bank)."""
    moves: TrustMoves = {}
    for line in spec.lines:
        if line.account.is_client_trust and line.file is not None:
            key = (line.file.pk, bank_by_liability[line.account.pk])
            before = moves.get(key, (0, line.file))[0]
            moves[key] = (before + line.credit_cents - line.debit_cents, line.file)
    return moves


def trust_draw_dates(dated_moves: Iterable[tuple[dt.date, TrustMoves]]) -> dict[LedgerKey, dt.date]:
    """The earliest date on which entries (their date and moves) take money out of each
    client's trust."""
    draws: dict[LedgerKey, dt.date] = {}
    for date, moves in dated_moves:
        for key, (change, _) in moves.items():
            if change < 0 and (key not in draws or date < draws[key]):
                draws[key] = date
    return draws


class TrustByDate:
    """The end-of-day running balances of the client trust ledgers a batch draws on, from
    the earliest date it draws on each, for holding every disbursement to the rule that
    a client's trust is never below zero on any date (ADR 0011).

    Built under the ledgers' row locks from their balances, plus, for a ledger with a
    posting dated after the earliest draw (its ``latest_posting_date`` says so), its later
    postings' sum per date: one grouped query for every such ledger, none at all when no
    ledger has one. Then :meth:`apply` checks and moves the balances entry by entry, in
    order: each entry sees those before it, on its own date and every later one.
    """

    def __init__(
        self, ledgers: dict[LedgerKey, TrustLedger], draws: dict[LedgerKey, dt.date]
    ) -> None:
        # per ledger drawn on: the dates from its first draw on which its balance changes
        # (ascending), and its balance at the end of each of them
        self._dates: dict[LedgerKey, list[dt.date]] = {}
        self._balances: dict[LedgerKey, list[int]] = {}
        dated_after = {
            ledgers[key].pk: key
            for key, first in draws.items()
            if (latest := ledgers[key].latest_posting_date) is not None and latest > first
        }
        later: dict[LedgerKey, dict[dt.date, int]] = defaultdict(dict)
        if dated_after:
            rows = (
                Posting.objects.filter(
                    trust_ledger_id__in=dated_after.keys(),
                    entry__date__gt=min(draws[key] for key in dated_after.values()),
                )
                .order_by()
                .values("trust_ledger_id", "entry__date")
                .annotate(credits=Sum("credit_cents"), debits=Sum("debit_cents"))
            )
            for row in rows:
                key = dated_after[row["trust_ledger_id"]]
                if row["entry__date"] > draws[key]:
                    later[key][row["entry__date"]] = row["credits"] - row["debits"]
        for key, first in draws.items():
            changes = sorted(later[key].items())
            balance = ledgers[key].balance_cents - sum(change for _, change in changes)
            dates, balances = [first], [balance]
            for date, change in changes:
                balance += change
                dates.append(date)
                balances.append(balance)
            self._dates[key], self._balances[key] = dates, balances

    def apply(self, date: dt.date, moves: TrustMoves, *, where: str = "") -> None:
        """Move the balances by an entry dated ``date`` (its :func:`trust_moves`), or
        refuse it with :class:`TrustOverdraw` if it takes more from a client's trust than
        the lowest balance from its date on (``where`` names the entry in the refusal)."""
        for key, (change, file) in moves.items():
            if change >= 0:
                continue
            if key not in self._dates or date < self._dates[key][0]:
                raise ValueError(f"a draw on {key} dated {date} was not announced")
            at = self._point(key, date)
            if min(self._balances[key][at:]) + change < 0:
                raise self._refusal(key, file, at, -change, where)
        for key, (change, _) in moves.items():
            if key in self._dates:  # a ledger only paid into needs no balances
                balances = self._balances[key]
                at = self._point(key, date) if date >= self._dates[key][0] else 0
                for i in range(at, len(balances)):
                    balances[i] += change

    def _point(self, key: LedgerKey, date: dt.date) -> int:
        """The index of ``date`` in the ledger's dates, added (with the balance the day
        before it ended with) if nothing moved on it yet."""
        dates, balances = self._dates[key], self._balances[key]
        at = bisect.bisect_left(dates, date)
        if at == len(dates) or dates[at] != date:
            dates.insert(at, date)
            balances.insert(at, balances[at - 1])
        return at

    def _refusal(
        self, key: LedgerKey, file: File, at: int, requested: int, where: str
    ) -> TrustOverdraw:
        """What was available for a draw at index ``at``, and, when a date (not the
        client's current balance) is what limits it, which date and what would fit."""
        dates, balances = self._dates[key], self._balances[key]
        lowest = min(balances[at:])
        available = max(lowest, 0)  # a past already below zero (before ADR 0011) shows $0.00
        prefix = f"{where}: " if where else ""
        said = f"{prefix}file {file.number} has {format_cents(available)} available in trust"
        asked = f"{format_cents(requested)} was requested"
        if lowest == balances[-1]:  # the current balance is the limit
            return TrustOverdraw(
                f"{said}; {asked}",
                available_cents=available,
                requested_cents=requested,
                file_id=key[0],
            )
        on = dates[at].isoformat()
        low = balances.index(lowest, at)
        if low > at:  # a later day's balance is the limit
            limited_on = dates[low].isoformat()
            return TrustOverdraw(
                f"{said} on {on} (its balance falls to {format_cents(available)} on "
                f"{limited_on}); {asked}",
                available_cents=available,
                requested_cents=requested,
                file_id=key[0],
                date=on,
                limited_on=limited_on,
            )
        # the date itself is the limit: from which later date it would fit (or the most
        # that can be had, from the date the current balance stands from)
        wanted = min(requested, balances[-1])
        fits_from, floor = len(balances) - 1, balances[-1]
        for i in range(len(balances) - 2, at, -1):  # the lowest balance from day i on
            if min(floor, balances[i]) < wanted:
                break
            fits_from, floor = i, min(floor, balances[i])
        return TrustOverdraw(
            f"{said} on {on} (it has {format_cents(floor)} available from "
            f"{dates[fits_from].isoformat()}); {asked}",
            available_cents=available,
            requested_cents=requested,
            file_id=key[0],
            date=on,
        )


def _trust_ledgers_for(
    firm: Firm, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], TrustLedger]:
    """Find or create the (file, trust bank) ledgers, then lock them in id order. Missing
    ones are created in (file, bank) order, so two requests creating the same ledgers wait
    on each other's inserts in one order too."""
    if not pairs:
        return {}
    existing = {
        (tl.file_id, tl.bank_account_id): tl.pk
        for tl in TrustLedger.objects.filter(
            firm=firm, file_id__in={p[0] for p in pairs}, bank_account_id__in={p[1] for p in pairs}
        )
    }
    missing = sorted(pairs - existing.keys())
    if missing:
        # One INSERT in (file, bank) order; a ledger created concurrently is theirs (the
        # insert waits for their commit, then skips it), read back with the new ones.
        TrustLedger.objects.bulk_create(
            [TrustLedger(firm=firm, file_id=f, bank_account_id=b) for f, b in missing],
            ignore_conflicts=True,
        )
        for tl in TrustLedger.objects.filter(
            firm=firm,
            file_id__in={p[0] for p in missing},
            bank_account_id__in={p[1] for p in missing},
        ):
            existing[(tl.file_id, tl.bank_account_id)] = tl.pk
    locked = (
        TrustLedger.objects.select_for_update(no_key=True)
        .filter(pk__in=existing.values())
        .order_by("pk")
    )
    return {(tl.file_id, tl.bank_account_id): tl for tl in locked}


@transaction.atomic
def ledger_rows_lock(
    *, firm: Firm, account_ids: Iterable[int], trust_pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], TrustLedger]:
    """Lock up front, in the one global order (trust ledgers by id, then GL accounts by id,
    FOR NO KEY UPDATE; after any counter row, see the module's docstring), every row a
    multi-document request will post to. Posting document by document would
    take the locks in document order, and two such requests could deadlock; after this,
    each posting finds its rows already held by its own transaction.

    Returns the locked trust ledgers by (file, trust bank), with their balances as of the
    lock, for a caller that checks a batch against them before posting it."""
    ledgers = _trust_ledgers_for(firm, trust_pairs)
    list(
        GLAccount.objects.select_for_update(no_key=True)
        .filter(firm=firm, pk__in=set(account_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return ledgers


def _trust_bank_by_liability(firm: Firm, account_ids: Iterable[int]) -> dict[int, int]:
    rows = BankAccount.objects.filter(firm=firm, trust_liability_account_id__in=set(account_ids))
    return {b.trust_liability_account_id: b.pk for b in rows if b.trust_liability_account_id}


#: the canonical JSON of :func:`content_hash`, as ``json.dumps(..., separators=(",", ":"))``
#: writes it (one encoder for every entry, not one built per call)
_canonical = json.JSONEncoder(separators=(",", ":")).encode


def content_hash(spec: EntrySpec) -> str:
    """SHA-256 of what an entry says (date, references, lines), to tell a true repeat of
    an idempotency key from the same key sent with other content. The bytes hashed must
    never change: the hashes of entries already posted are compared with it."""
    canonical = _canonical(
        [
            spec.date.isoformat(),
            spec.memo,
            spec.posting_reference,
            [
                [ln.account.pk, ln.file.pk if ln.file else None, ln.debit_cents, ln.credit_cents]
                for ln in spec.lines
            ],
        ]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(existing: JournalEntry, spec: EntrySpec) -> JournalEntry:
    if existing.content_hash is not None and existing.content_hash != content_hash(spec):
        raise IdempotencyKeyReused(
            f"idempotency key {spec.idempotency_key!r} was already used for journal entry "
            f"{existing.pk} with other content; use a new key for a new entry",
            field="idempotency_key",
            entry_id=existing.pk,
        )
    return existing


def _check_trust_matched(firm: Firm, specs: Sequence[EntrySpec], labels: Sequence[str]) -> None:
    """In every entry, each client trust bank account moves by exactly as much as its
    clients' ledgers: money in a trust account always belongs to a client file, so it can
    neither arrive nor leave without a client's ledger saying whose it is."""
    touched = {ln.account.pk for spec in specs for ln in spec.lines}
    trust_banks = [
        b
        for b in BankAccount.objects.filter(firm=firm, kind=BankAccountKind.TRUST).select_related(
            "gl_account", "trust_liability_account"
        )
        if b.gl_account_id in touched or b.trust_liability_account_id in touched
    ]
    for spec, label in zip(specs, labels, strict=True):
        for bank in trust_banks:
            bank_moves = sum(
                ln.debit_cents - ln.credit_cents
                for ln in spec.lines
                if ln.account.pk == bank.gl_account_id
            )
            clients_move = sum(
                ln.credit_cents - ln.debit_cents
                for ln in spec.lines
                if ln.account.pk == bank.trust_liability_account_id
            )
            if bank_moves != clients_move:
                prefix = f"{label}: " if label else ""
                raise TrustNotMatched(
                    f"{prefix}{bank.gl_account} moves {format_cents(bank_moves)} but the client "
                    f"ledgers of {bank.trust_liability_account} move {format_cents(clients_move)}; "
                    "money in a trust account must be posted to a client file as well",
                    field="lines",
                )


def _lines_for_audit(spec: EntrySpec) -> list[dict[str, object]]:
    return [
        {
            "account": ln.account.number,
            "file": ln.file.number if ln.file else None,
            "debit_cents": ln.debit_cents,
            "credit_cents": ln.credit_cents,
        }
        for ln in spec.lines
    ]


#: what each entry of a batch's audit event lists, and each of its lines: a row of values
#: under these names, so a batch of thousands does not repeat every key thousands of times
_BATCH_ENTRY_COLUMNS = ["id", "date", "memo", "source", "idempotency_key", "lines"]
_BATCH_LINE_COLUMNS = ["account", "file", "debit_cents", "credit_cents"]


def _audit_posted(
    firm: Firm, actor: User | None, entries: Sequence[JournalEntry], specs: Sequence[EntrySpec]
) -> None:
    """One audit event per entry; a batch gets one event listing every entry it posted
    (same facts, one row, each entry and line a row of values: a batch of thousands stays
    fast)."""
    if len(entries) == 1:
        entry, spec = entries[0], specs[0]
        books_audit(
            actor=actor,
            firm_id=firm.pk,
            action="reverse" if spec.reverses else "post",
            entity_type="journal_entry",
            entity_id=entry.pk,
            summary=spec.memo,
            after={
                "date": spec.date,
                "posting_reference": spec.posting_reference,
                "source": spec.source,
                "idempotency_key": spec.idempotency_key,
                "reverses": spec.reverses.pk if spec.reverses else None,
                "lines": _lines_for_audit(spec),
            },
        )
        return
    books_audit(
        actor=actor,
        firm_id=firm.pk,
        action="post_batch",
        entity_type="journal_entry",
        entity_id=f"{entries[0].pk}-{entries[-1].pk}",
        summary=f"{len(entries)} journal entries posted in one batch",
        after={
            "entry_columns": _BATCH_ENTRY_COLUMNS,
            "line_columns": _BATCH_LINE_COLUMNS,
            "entries": [
                [
                    e.pk,
                    s.date.isoformat(),
                    s.memo,
                    s.source,
                    s.idempotency_key,
                    [
                        [
                            ln.account.number,
                            ln.file.number if ln.file else None,
                            ln.debit_cents,
                            ln.credit_cents,
                        ]
                        for ln in s.lines
                    ],
                ]
                for e, s in zip(entries, specs, strict=True)
            ],
        },
    )


_POSTING_COLUMNS = (
    "entry",
    "account",
    "file",
    "trust_ledger",
    "debit_cents",
    "credit_cents",
    "memo",
)


#: entry, account, file, trust ledger, debit, credit, memo
PostingRow = tuple[int, int, int | None, int | None, int, int, str]
_POSTING_CHUNK = 1000  # 7,000 parameters: within SQLite's and PostgreSQL's limits


def _column(field_name: str) -> str:
    field = Posting._meta.get_field(field_name)
    assert isinstance(field, Field)
    return str(field.column)


def _insert_postings(
    rows: list[PostingRow],
) -> None:
    """Insert postings: COPY on PostgreSQL, multi-row INSERTs of 1,000 rows on SQLite.

    The ORM's bulk_create builds a model instance per row and spends most of a large
    batch's time there; postings are plain values already validated above, so they go
    straight in. Column names come from the model, so a renamed field cannot drift."""
    if not rows:
        return
    columns = ", ".join(connection.ops.quote_name(_column(f)) for f in _POSTING_COLUMNS)
    table = connection.ops.quote_name(Posting._meta.db_table)
    one_row = "(" + ", ".join(["%s"] * len(_POSTING_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # COPY: the fastest bulk path PostgreSQL has
            # on the driver's own cursor, so its errors (a trigger's refusal) are wrapped
            # into Django's here, as the ORM's are
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        for start in range(0, len(rows), _POSTING_CHUNK):
            chunk = rows[start : start + _POSTING_CHUNK]
            values = ", ".join([one_row] * len(chunk))
            params = [value for row in chunk for value in row]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", params)  # noqa: S608


_ENTRY_FIELDS = (
    "firm",
    "date",
    "memo",
    "posting_reference",
    "source",
    "idempotency_key",
    "content_hash",
    "reverses",
    "created_by",
    "created_at",
)


def _insert_entries(
    firm: Firm, specs: Sequence[EntrySpec], actor: User | None
) -> list[JournalEntry]:
    """Insert the entries set-based (:func:`casebridge.core.db.insert_rows`: one
    statement, the rows unpacked by the database from one JSON parameter) and return them
    as instances with their ids, as the database holds them: no model is built and
    prepared per row for the INSERT."""
    now = clock.now()
    actor_id = actor.pk if actor else None
    values = [
        (
            firm.pk,
            spec.date,
            spec.memo[:500],
            spec.posting_reference[:60],
            spec.source[:60],
            spec.idempotency_key,
            content_hash(spec) if spec.idempotency_key is not None else None,
            spec.reverses.pk if spec.reverses else None,
            actor_id,
            now,
        )
        for spec in specs
    ]
    ids = insert_rows(JournalEntry, _ENTRY_FIELDS, values)
    return inserted_instances(
        JournalEntry, _ENTRY_FIELDS, values, ids, related={"firm": firm, "created_by": actor}
    )


def _post_many(
    firm: Firm,
    specs: Sequence[EntrySpec],
    actor: User | None,
    labels: Sequence[str] | None = None,
    held: dict[LedgerKey, TrustLedger] | None = None,
) -> list[JournalEntry]:
    """Validate, lock, check trust, insert and move balances for many entries at once.
    ``labels`` name each spec in refusals (default: "entry N" when there are several);
    ``held``: the trust ledgers the caller locked with :func:`ledger_rows_lock` (not read
    and locked again when they are every ledger the entries post to)."""
    if labels is None:
        labels = [f"entry {i + 1}" if len(specs) > 1 else "" for i in range(len(specs))]
    for spec, label in zip(specs, labels, strict=True):
        _validate(firm, spec, where=label)
    check_open(firm, specs, ({ln.account.pk for ln in spec.lines} for spec in specs), labels)

    trust_accounts = {
        line.account.pk for spec in specs for line in spec.lines if line.account.is_client_trust
    }
    bank_by_liability = _trust_bank_by_liability(firm, trust_accounts)
    for acct_id in trust_accounts - bank_by_liability.keys():
        raise ValidationFailed(
            f"client trust account {acct_id} is not tied to a trust bank account"
        )
    _check_trust_matched(firm, specs, labels)

    pairs = {
        (line.file.pk, bank_by_liability[line.account.pk])
        for spec in specs
        for line in spec.lines
        if line.account.is_client_trust and line.file is not None
    }
    if held is not None and pairs <= held.keys():
        ledgers = {pair: held[pair] for pair in pairs}
    else:
        ledgers = _trust_ledgers_for(firm, pairs)

    # Check every trust ledger entry by entry, in order (a batch may deposit then disburse),
    # on the entry's date and every later one.
    if ledgers:
        moves = [trust_moves(spec, bank_by_liability) for spec in specs]
        by_date = TrustByDate(
            ledgers, trust_draw_dates(zip([s.date for s in specs], moves, strict=True))
        )
        for spec, move, label in zip(specs, moves, labels, strict=True):
            by_date.apply(spec.date, move, where=label)

    entries = _insert_entries(firm, specs, actor)
    rows: list[PostingRow] = []
    account_delta: dict[int, int] = defaultdict(int)
    ledger_delta: dict[int, int] = defaultdict(int)
    ledger_latest = {tl.pk: tl.latest_posting_date for tl in ledgers.values()}
    for entry, spec in zip(entries, specs, strict=True):
        for line in spec.lines:
            ledger_id = None
            if line.account.is_client_trust and line.file is not None:
                ledger_id = ledgers[(line.file.pk, bank_by_liability[line.account.pk])].pk
                ledger_delta[ledger_id] += line.credit_cents - line.debit_cents
                latest = ledger_latest[ledger_id]
                if latest is None or spec.date > latest:
                    ledger_latest[ledger_id] = spec.date
            rows.append(
                (
                    entry.pk,
                    line.account.pk,
                    line.file.pk if line.file else None,
                    ledger_id,
                    line.debit_cents,
                    line.credit_cents,
                    line.memo[:255],
                )
            )
            account_delta[line.account.pk] += line.debit_cents - line.credit_cents
    _insert_postings(rows)
    # The ledgers are locked (in id order, by _trust_ledgers_for), so one statement moves them all.
    update_rows(
        TrustLedger,
        [("balance_cents", "bigint"), ("latest_posting_date", "date")],
        [(pk, ledger_delta[pk], ledger_latest[pk]) for pk in sorted(ledger_delta)],
        add=frozenset({"balance_cents"}),
    )
    for account_id in sorted(account_delta):
        if account_delta[account_id]:
            GLAccount.objects.filter(pk=account_id).update(
                balance_cents=F("balance_cents") + account_delta[account_id]
            )
    _audit_posted(firm, actor, entries, specs)
    return entries


@transaction.atomic
def journal_entry_post(
    *,
    firm: Firm,
    date: dt.date,
    lines: Sequence[Line],
    memo: str = "",
    posting_reference: str = "",
    source: str = "",
    idempotency_key: str | None = None,
    actor: User | None = None,
) -> JournalEntry:
    """Post one balanced entry. A repeat (same source and idempotency key, same content)
    returns the entry already posted and writes nothing; the same key with other content
    is refused (:class:`IdempotencyKeyReused`)."""
    spec = EntrySpec(
        date=date,
        lines=lines,
        memo=memo,
        posting_reference=posting_reference,
        source=source,
        idempotency_key=idempotency_key,
    )
    if idempotency_key is not None:
        existing = JournalEntry.objects.filter(
            firm=firm, source=source, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return _replayed(existing, spec)
    window_for(firm, kind="journal").check(date, field="date")
    if idempotency_key is None:
        return _post_many(firm, [spec], actor)[0]
    try:
        with transaction.atomic():
            return _post_many(firm, [spec], actor)[0]
    except IntegrityError:  # the same key posted concurrently, and committed first: replay it
        existing = JournalEntry.objects.filter(
            firm=firm, source=source, idempotency_key=idempotency_key
        ).first()
        if existing is None:
            raise
        return _replayed(existing, spec)


@transaction.atomic
def journal_entries_post_batch(
    *,
    firm: Firm,
    entries: Sequence[EntrySpec],
    actor: User | None = None,
    ledgers: dict[LedgerKey, TrustLedger] | None = None,
    _retry: bool = True,
) -> list[tuple[JournalEntry, bool]]:
    """Post many entries all-or-nothing. Returns ``(entry, created)`` per spec; an entry
    whose (source, idempotency key) is already in the books is returned, not posted again.
    ``ledgers``: what :func:`ledger_rows_lock` returned to a caller that locked up front
    (the entries' trust ledgers are then not read and locked a second time)."""
    keyed = [(s.source, s.idempotency_key) for s in entries if s.idempotency_key is not None]
    seen: set[tuple[str, str | None]] = set()
    for k in keyed:
        if k in seen:
            raise ValidationFailed(f"idempotency key {k[1]!r} appears twice in this batch")
        seen.add(k)
    existing: dict[tuple[str, str | None], JournalEntry] = {}
    if keyed:
        for e in JournalEntry.objects.filter(
            firm=firm,
            idempotency_key__in={k for _, k in keyed},
        ):
            existing[(e.source, e.idempotency_key)] = e
    positions = [
        n for n, s in enumerate(entries, start=1) if (s.source, s.idempotency_key) not in existing
    ]
    to_post = [entries[n - 1] for n in positions]
    # refusals name the entry by its place in the batch as sent, replayed entries included
    labels = [f"entry {n}" if len(entries) > 1 else "" for n in positions]
    if to_post:
        window = window_for(firm, kind="journal")
        for n, spec, label in zip(positions, to_post, labels, strict=True):
            try:
                window.check(spec.date, field="date", where=label)
            except ValidationFailed as exc:
                exc.details.setdefault("index", n - 1)
                raise
    try:
        with transaction.atomic():
            posted = (
                iter(_post_many(firm, to_post, actor, labels, ledgers)) if to_post else iter(())
            )
    except IntegrityError:
        # A concurrent batch committed some of the same keys first. Go again: the lookup
        # above now finds them, so they are replayed and only the rest is posted.
        if _retry:
            return journal_entries_post_batch(
                firm=firm, entries=entries, actor=actor, ledgers=ledgers, _retry=False
            )
        raise
    result: list[tuple[JournalEntry, bool]] = []
    for s in entries:
        found = existing.get((s.source, s.idempotency_key))
        if found is not None:
            _replayed(found, s)
        result.append((found, False) if found is not None else (next(posted), True))
    return result


@transaction.atomic
def journal_entry_reverse(
    *,
    firm: Firm,
    entry: JournalEntry,
    date: dt.date,
    memo: str = "",
    actor: User | None = None,
    document_void: bool = False,
) -> JournalEntry:
    """Post the mirror image of ``entry`` on ``date``. An entry is reversed at most once.

    The entry of a check, trust receipt or invoice is reversed only by voiding that
    document (its void service passes ``document_void=True``): reversing it alone would
    leave the document standing and its money spendable twice. Reversing a deposit whose
    money has already been disbursed is refused by the trust check like any overdraw: on
    ``date`` and every later date (ADR 0011). A correction: the accountant role or above
    (403 ``role_required``)."""
    require_role(actor, CORRECTIONS, doing="Reversing a journal entry")
    if entry.firm_id != firm.pk:
        raise ValidationFailed("entry is not in this firm")
    if not document_void:
        for model, label in (
            (Check, "check"),
            (TrustReceipt, "trust receipt"),
            (Invoice, "invoice"),
        ):
            owner = model.objects.filter(entry=entry).values_list("pk", flat=True).first()
            if owner is not None:
                raise Conflict(
                    f"journal entry {entry.pk} belongs to {label} {owner}; void the {label} "
                    "instead, so the document and its money stay together"
                )
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise ValidationFailed(f"journal entry {entry.pk} has already been reversed")
    if entry.reverses_id is not None:
        raise ValidationFailed(f"journal entry {entry.pk} is itself a reversal; post a new entry")
    if date < entry.date:
        raise ValidationFailed(
            "a reversal cannot be dated before the entry it reverses", field="date"
        )
    window_for(firm, kind="journal").check(date, field="date")
    lines = [
        Line(
            account=p.account,
            debit_cents=p.credit_cents,
            credit_cents=p.debit_cents,
            file=p.file,
            memo=p.memo,
        )
        for p in entry.postings.select_related("account", "file").order_by("pk")
    ]
    spec = EntrySpec(
        date=date,
        lines=lines,
        memo=memo or f"Reversal of JE{entry.pk}: {entry.memo}",
        posting_reference=entry.posting_reference,
        source=entry.source,
        reverses=entry,
    )
    return _post_many(firm, [spec], actor)[0]
