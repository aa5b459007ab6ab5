"""Maintained digests of the documents an integration sent (issue 12: the bridge's
reconciliation compares digests, and reads documents only where they differ; ADR 0030).

A digest is (count, sum of cents, hash) over a group's rows, one row per document::

    <kind>:<length of ref>:<ref>:<cents>:<status>:<length of number>:<number>

``kind`` is ``C`` (a check), ``R`` (a trust receipt) or ``I`` (an invoice); ``number`` is a
printed check's number, else empty. The free-text fields carry their length, so one text
can be read back into its rows only one way. The hash is order-independent: the sum modulo
2**60 of each row's 60-bit hash (the first 15 hex digits of the MD5 of the row, UTF-8),
:func:`digest_of`, written as 15 hex digits ("" for no rows). A sum, not an XOR: a row
counted twice moves it.

Each side keeps its digests in a table (the books per firm, reference namespace and file;
the cases side per firm and case) that triggers keep exact as the documents change: a
:class:`Source` says, in SQL over its tables, which rows a group holds; from it come the
full recomputation (:func:`recompute_sql`, the backfill and the check) and the triggers
(:func:`pg_triggers`, :func:`sqlite_triggers`) that add each inserted row's contribution
and take each deleted row's away (an update: both), joined with the source's other tables
as they are at that moment. PostgreSQL runs one statement-level trigger per statement over
its transition tables, and a TRUNCATE trigger per table (ADR 0032); SQLite one per row.

On PostgreSQL the triggers only append to a delta table (one row per group a statement
moved; ADR 0035), so no writer waits for another over a digest row; a digest is its kept
row plus its deltas (:func:`current_sql`, every read), and :func:`compact` folds the
deltas into the kept rows (a periodic task on each side). SQLite, which serialises its
writers, keeps upserting the kept rows; its reads are the same statement. :func:`rebuild`
makes one firm's digests their recomputation again.

PostgreSQL hashes with its ``MD5``; SQLite, which has no hash function in core, with
:func:`row_hash` registered on every connection Casebridge opens
(``casebridge.core.sqlite_backend``). A writer that opens the SQLite file any other way
cannot write the documents: its triggers name a function it lacks, and the write fails.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

#: The hashes are summed modulo this.
MODULUS = 1 << 60
#: Name of the row hash registered on SQLite connections.
SQLITE_HASH = "casebridge_row_hash"
_HALF = 1 << 30


def row_hash(row: str) -> int:
    """A row's 60-bit hash (the reference both databases agree with)."""
    return int(hashlib.md5(row.encode("utf-8"), usedforsecurity=False).hexdigest()[:15], 16)


def hash_text(value: int) -> str:
    return format(value % MODULUS, "015x")


def digest_of(rows: Iterable[str]) -> str:
    """The hash of a group's rows, whatever their order ("" for none)."""
    hashes = [row_hash(r) for r in rows]
    return hash_text(sum(hashes)) if hashes else ""


def digest_row(kind: str, ref: str, cents: int, status: str, number: str = "") -> str:
    """One document's row (as :func:`row_sql` builds it in SQL)."""
    return f"{kind}:{len(ref)}:{ref}:{cents}:{status}:{len(number)}:{number}"


def register_sqlite_functions(raw: sqlite3.Connection) -> None:
    """What the triggers need on an SQLite connection (every connection Django opens)."""

    def hashed(row: str | None) -> int | None:
        return None if row is None else row_hash(row)

    raw.create_function(SQLITE_HASH, 1, hashed, deterministic=True)


def row_sql(kind: str, ref: str, cents: str, status: str, number: str) -> str:
    """SQL for one row: ``kind`` a one-letter literal, the rest SQL expressions (``number``
    text, never NULL)."""
    assert len(kind) == 1
    assert kind.isalpha()
    parts = [
        f"'{kind}:'",
        f"CAST(LENGTH({ref}) AS TEXT)",
        "':'",
        ref,
        "':'",
        f"CAST({cents} AS TEXT)",
        "':'",
        status,
        "':'",
        f"CAST(LENGTH({number}) AS TEXT)",
        "':'",
        number,
    ]
    return "(" + " || ".join(parts) + ")"


def hash_sql(row: str, vendor: str) -> str:
    """SQL for a row's 60-bit hash (:func:`row_hash`)."""
    if vendor == "postgresql":
        return f"(('x' || SUBSTR(MD5({row}), 1, 15))::bit(60)::bigint)"
    return f"{SQLITE_HASH}({row})"


def hash_sum_sql(hashes: str) -> str:
    """SQL summing non-negative hashes modulo 2**60 without overflowing a 64-bit integer
    (SQLite's ``SUM`` refuses to): the high and low 30 bits summed apart."""
    return (
        f"(((SUM({hashes} / {_HALF}) % {_HALF}) * {_HALF} + SUM({hashes} % {_HALF})) % {MODULUS})"
    )


def select_sql(columns: Sequence[str], source: str, where: str = "", group_by: str = "") -> str:
    """``SELECT columns FROM source [WHERE where] [GROUP BY group_by]``. The digest queries
    are built from their parts: table names from the models' metadata, literals from the
    code's own choices, never a value from outside."""
    parts = ["SELECT", ", ".join(columns), "FROM", source]
    if where:
        parts += ["WHERE", where]
    if group_by:
        parts += ["GROUP BY", group_by]
    return " ".join(parts)


@dataclass(frozen=True)
class Table:
    """A table of a source: its name, its alias in the source's SQL, and the columns the
    source reads of it (a row trigger copies these from ``NEW``/``OLD``)."""

    name: str
    alias: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    """One kind of document of a digest: ``SELECT keys, cents, row FROM tables WHERE
    where`` (the tables joined by ``where``), every expression over the aliases."""

    tables: tuple[Table, ...]
    keys: tuple[str, ...]
    cents: str
    row: str
    where: str

    def select(self, vendor: str, sign: int = 1, replace: dict[str, str] | None = None) -> str:
        """``keys..., n, cents, hash`` for each row; ``sign`` -1 for a row taken away (its
        hash as ``2**60 - hash``, so sums stay non-negative); ``replace`` puts another
        relation (a transition table, ``NEW``'s values) in the place of an alias."""
        replace = replace or {}
        h = hash_sql(self.row, vendor)
        columns = [
            *(f"{k} AS k{i}" for i, k in enumerate(self.keys)),
            f"{sign} AS n",
            f"{'-' if sign < 0 else ''}{self.cents} AS cents",
            f"({MODULUS} - {h}) AS h" if sign < 0 else f"{h} AS h",
        ]
        source = ", ".join(f"{replace.get(t.alias, t.name)} {t.alias}" for t in self.tables)
        return select_sql(columns, source, self.where)


@dataclass(frozen=True)
class Target:
    """A maintained digest table: its name and key columns (then ``documents``, ``cents``,
    ``hash``), its sources, and its delta table (``id``, the same keys and columns: what
    each statement moved, not yet folded into the kept rows; ADR 0035)."""

    table: str
    keys: tuple[str, ...]
    sources: tuple[Source, ...]
    deltas: str

    def tables(self) -> list[str]:
        names: list[str] = []
        for source in self.sources:
            names += [t.name for t in source.tables if t.name not in names]
        return names


def recompute_sql(target: Target, vendor: str) -> str:
    """Every group's digest from the documents themselves: ``keys..., documents, cents,
    hash`` (the hash an integer)."""
    keys = [f"k{i}" for i in range(len(target.keys))]
    union = " UNION ALL ".join(s.select(vendor) for s in target.sources)
    return select_sql(
        [*keys, "SUM(n)", "SUM(cents)", hash_sum_sql("h")],
        f"({union}) d",
        group_by=", ".join(keys),
    )


def backfill_sql(target: Target, vendor: str) -> str:
    cols = ", ".join([*target.keys, "documents", "cents", "hash"])
    return " ".join([f"INSERT INTO {target.table} ({cols})", recompute_sql(target, vendor)])


def _name(target: Target, table: str, event: str) -> str:
    return f"{target.table}_{table}_{event}"[:63]


_EVENTS = ("insert", "update", "delete")


def _fold_sql(target: Target, rows: str) -> str:
    """One statement appending ``rows`` (``k0..., n, cents, h`` each) to the delta table,
    one row per group they move (ADR 0035). It only inserts: it never waits for another
    writer (no shared row is updated), so no transaction of several statements deadlocks
    with another over the digests. (A per-firm advisory lock was tried first and withdrawn,
    ADR 0032: taken after the statement's own row locks, it inverted the order of every
    path that writes a document and then locks other rows.)"""
    keys = [f"k{i}" for i in range(len(target.keys))]
    key_list = ", ".join(keys)
    set_keys = ", ".join(target.keys)
    return "\n".join(
        [
            f"  INSERT INTO {target.deltas} ({set_keys}, documents, cents, hash)",
            f"  SELECT {key_list}, SUM(n), SUM(cents), {hash_sum_sql('h')}",
            f"  FROM ({rows}) u",
            f"  GROUP BY {key_list}",
            f"  HAVING SUM(n) <> 0 OR SUM(cents) <> 0 OR {hash_sum_sql('h')} <> 0;",
        ]
    )


def pg_triggers(target: Target) -> tuple[str, str]:
    """(create, drop) SQL: per table and event, a statement-level trigger appending the
    rows' contributions to the deltas (:func:`_fold_sql`); per table, a TRUNCATE trigger
    appending the difference between a full recomputation and the digests (kept rows and
    deltas)."""
    create, drop = [], []

    def function(name: str, body: str) -> str:
        # (the SQL's parts kept apart: every name is the code's own, none from outside)
        return "\n".join(
            [
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$",
                "BEGIN",
                body,
                "  RETURN NULL;",
                "END $$ LANGUAGE plpgsql;",
            ]
        )

    for table in target.tables():
        for event in _EVENTS:
            parts = []
            for source in target.sources:
                for t in source.tables:
                    if t.name != table:
                        continue
                    if event != "insert":
                        parts.append(source.select("postgresql", -1, {t.alias: "old_rows"}))
                    if event != "delete":
                        parts.append(source.select("postgresql", 1, {t.alias: "new_rows"}))
            name = _name(target, table, event)
            referencing = {
                "insert": "NEW TABLE AS new_rows",
                "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                "delete": "OLD TABLE AS old_rows",
            }[event]
            lines = [
                function(name, _fold_sql(target, " UNION ALL ".join(parts))),
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table}",
                f"  REFERENCING {referencing}",
                f"  FOR EACH STATEMENT EXECUTE FUNCTION {name}();",
            ]
            create.append("\n".join(lines) + "\n")
            drop.append(
                f"DROP TRIGGER IF EXISTS {name} ON {table};\nDROP FUNCTION IF EXISTS {name}();\n"
            )
        name = _name(target, table, "truncate")
        lines = [
            function(name, _fold_sql(target, truncate_rows_sql(target))),
            f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table}",
            f"  FOR EACH STATEMENT EXECUTE FUNCTION {name}();",
        ]
        create.append("\n".join(lines) + "\n")
        drop.append(
            f"DROP TRIGGER IF EXISTS {name} ON {table};\nDROP FUNCTION IF EXISTS {name}();\n"
        )
    return "\n".join(create), "\n".join(drop)


def truncate_rows_sql(target: Target, vendor: str = "postgresql", where: str = "") -> str:
    """``k0..., n, cents, h``: every group's recomputed digest less the one it has (its
    kept row and its deltas), read in one snapshot; ``where`` (over ``k0...``) narrows the
    groups. Appended after a ``TRUNCATE`` of a source table (which says nothing of the
    rows it removed) it makes every digest its recomputation (a rebuild, :func:`rebuild`,
    does the same for one firm); a writer of another source table committing meanwhile
    adds its own rows' contributions on top, as it would to any digest."""
    keys = [f"{k} AS k{i}" for i, k in enumerate(target.keys)]
    taken_away = [*keys, "-documents AS n", "-cents AS cents", f"({MODULUS} - hash) AS h"]
    parts = [
        *(s.select(vendor) for s in target.sources),
        select_sql(taken_away, target.table),
        select_sql(taken_away, target.deltas),
    ]
    union = " UNION ALL ".join(parts)
    if not where:
        return union
    return select_sql(["*"], f"({union}) g", where)


def sqlite_triggers(target: Target) -> tuple[list[str], list[str]]:
    """(create, drop) statements: per table and event, a row trigger adding ``NEW``'s
    contribution and taking ``OLD``'s away, one upsert each."""
    set_keys = ", ".join(target.keys)
    create, drop = [], []

    def upsert(select: str) -> str:
        parts = [
            f"INSERT INTO {target.table} ({set_keys}, documents, cents, hash)",
            select,
            f"ON CONFLICT ({set_keys}) DO UPDATE",
            "SET documents = documents + excluded.documents,",
            "cents = cents + excluded.cents,",
            f"hash = (hash + excluded.hash) % {MODULUS};",
        ]
        return " ".join(parts)

    for table in target.tables():
        for event in _EVENTS:
            body, columns = [], []
            for source in target.sources:
                for t in source.tables:
                    if t.name != table:
                        continue
                    columns += [c for c in t.columns if c not in columns]

                    def values(of: str, t: Table = t) -> str:
                        return "(SELECT " + ", ".join(f"{of}.{c} AS {c}" for c in t.columns) + ")"

                    if event != "insert":
                        body.append(upsert(source.select("sqlite", -1, {t.alias: values("OLD")})))
                    if event != "delete":
                        body.append(upsert(source.select("sqlite", 1, {t.alias: values("NEW")})))
            name = _name(target, table, event)
            on = f"UPDATE OF {', '.join(columns)}" if event == "update" else event.upper()
            create.append(
                " ".join([f"CREATE TRIGGER {name} AFTER {on} ON {table}", "BEGIN", *body, "END;"])
            )
            drop.append(f"DROP TRIGGER IF EXISTS {name};")
    return create, drop


def install(target: Target, schema_editor) -> None:  # type: ignore[no-untyped-def]
    """A migration's forwards: the triggers first, then the digests of the rows already
    there, the deltas gone (on PostgreSQL creating a trigger locks out writes to its table
    until the migration commits)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
            cursor.execute(pg_triggers(target)[0])
    else:
        for statement in sqlite_triggers(target)[0]:
            schema_editor.execute(statement, params=None)
    with schema_editor.connection.cursor() as cursor:
        # (an earlier migration installs today's triggers before the delta table exists;
        # on PostgreSQL they name it only when they fire, and nothing writes in between)
        if target.deltas in schema_editor.connection.introspection.table_names(cursor):
            cursor.execute(" ".join(["DELETE", "FROM", target.deltas]))
        cursor.execute(" ".join(["DELETE", "FROM", target.table]))
        cursor.execute(backfill_sql(target, vendor))


def uninstall(target: Target, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(pg_triggers(target)[1])
    else:
        for statement in sqlite_triggers(target)[1]:
            schema_editor.execute(statement, params=None)


def current_sql(target: Target, where: str, having: str) -> str:
    """``keys..., documents, cents, hash`` of each group whose keys satisfy ``where`` (over
    the key columns) and whose sums satisfy ``having``: its kept row plus its deltas, in
    one grouped statement (ADR 0035; the hash the sum modulo 2**60)."""
    keys = ", ".join(target.keys)
    columns = [f"{keys}, documents, cents, hash"]
    union = " UNION ALL ".join(
        [select_sql(columns, target.table, where), select_sql(columns, target.deltas, where)]
    )
    sums = ["SUM(documents) AS documents", "SUM(cents) AS cents", f"{hash_sum_sql('hash')} AS hash"]
    grouped = select_sql([*target.keys, *sums], f"({union}) d", group_by=keys)
    return " ".join([grouped, "HAVING", having])


def current(target: Target, where: str, params: Sequence[int | str]) -> list[tuple[Any, ...]]:
    """The digests (``keys..., documents, cents, hash``) of the groups whose keys satisfy
    ``where`` (``%s`` placeholders for ``params``) and that hold a document: each kept row
    plus its deltas, one read."""
    # the SQL's own '%' operators escaped; the placeholders put back
    sql = current_sql(target, "\0", "SUM(documents) > 0").replace("%", "%%")
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("\0", where), [*params, *params])
        return [tuple(r) for r in cursor.fetchall()]


#: The class of the advisory lock a compaction or a rebuild takes on PostgreSQL (its
#: other half the digest table's ``hashtext``): two of them never run at once.
LOCK_CLASS = 0x64696700


def _lock(target: Target, *, wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers
    take = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(
            " ".join(["SELECT", f"{take}({LOCK_CLASS}, hashtext(%s))::text"]), [target.table]
        )
        return wait or cursor.fetchone()[0] == "true"


def _compact_sql(target: Target, deltas: str) -> str:
    """Upsert ``deltas`` (a relation of delta rows) into the kept rows, grouped, in key
    order."""
    keys = ", ".join(target.keys)
    sums = ["SUM(documents)", "SUM(cents)", hash_sum_sql("hash")]
    return " ".join(
        [
            f"INSERT INTO {target.table} AS t ({keys}, documents, cents, hash)",
            select_sql([keys, *sums], deltas, "TRUE", keys),
            f"ORDER BY {keys}",
            f"ON CONFLICT ({keys}) DO UPDATE",
            "SET documents = t.documents + excluded.documents,",
            "cents = t.cents + excluded.cents,",
            f"hash = (t.hash + excluded.hash) % {MODULUS}",
        ]
    )


def compact(target: Target, *, wait: bool = False) -> int | None:
    """Fold the deltas into the kept rows (ADR 0035), in the caller's transaction: the
    deltas read are deleted and added to their kept rows in key order, in one statement on
    PostgreSQL (``DELETE ... RETURNING``: a delta committed meanwhile stays for the next
    compaction); on SQLite by id up to the largest read. How many deltas were folded; None
    when another compaction or rebuild holds the lock and ``wait`` is False. Writers only
    insert deltas, so a compaction never waits for them, nor they for it."""
    if not _lock(target, wait=wait):
        return None
    keys = ", ".join(target.keys)
    with connection.cursor() as cursor:  # no params: '%' stays literal
        if connection.vendor == "postgresql":
            cursor.execute(
                " ".join(
                    [
                        "WITH d AS (DELETE",
                        f"FROM {target.deltas}",
                        f"RETURNING {keys}, documents, cents, hash),",
                        # (run to completion though nothing reads it)
                        f"f AS ({_compact_sql(target, 'd')})",
                        select_sql(["COUNT(*)"], "d"),
                    ]
                )
            )
            return int(cursor.fetchone()[0])
        cursor.execute(select_sql(["MAX(id)", "COUNT(*)"], target.deltas))
        top, count = cursor.fetchone()
        if top is None:
            return 0
        upto = select_sql(["*"], target.deltas, f"id <= {int(top)}")
        cursor.execute(_compact_sql(target, f"({upto}) d"))
        cursor.execute(" ".join(["DELETE FROM", target.deltas, "WHERE", f"id <= {int(top)}"]))
        return int(count)


def rebuild(target: Target, firm_id: int) -> int:
    """A firm's digests made their recomputation from the documents, in the caller's
    transaction (the repair of a drift): one statement appends, per group of the firm,
    its recomputation less what it has (kept row and deltas, one snapshot: a writer
    committing meanwhile adds its own delta on top), then the deltas are folded. Waits
    for a compaction running. How many groups were corrected."""
    firm = int(firm_id)  # written into the SQL: its '%' operators take no parameters
    _lock(target, wait=True)
    with connection.cursor() as cursor:
        cursor.execute(
            _fold_sql(target, truncate_rows_sql(target, connection.vendor, f"k0 = {firm}"))
        )
        corrected = max(int(cursor.rowcount), 0)
    compact(target, wait=True)
    return corrected


#: (keys..., documents, cents, hash) -> differences
Drift = list[tuple[tuple[object, ...], tuple[int, int, int] | None, tuple[int, int, int] | None]]


def drift(target: Target, firm_id: int) -> Drift:
    """Where a firm's maintained digests (kept rows plus deltas) differ from a full
    recomputation: (key, maintained, recomputed) for each group that differs (a group with
    no documents is as good as none). The firm is the target's first key. Both are read
    by one statement, so in one snapshot: a write committed meanwhile is in both or in
    neither."""
    n = len(target.keys)
    firm = int(firm_id)  # written into the SQL: its '%' operators take no parameters
    nonzero = f"SUM(documents) <> 0 OR SUM(cents) <> 0 OR {hash_sum_sql('hash')} <> 0"
    maintained_sql = select_sql(
        ["'m'", "*"], f"({current_sql(target, f'{target.keys[0]} = {firm}', nonzero)}) m"
    )
    recomputed_sql = select_sql(
        ["'r'", "*"], f"({recompute_sql(target, connection.vendor)}) r", f"k0 = {firm}"
    )
    found: dict[str, dict[tuple[object, ...], tuple[int, int, int]]] = {"m": {}, "r": {}}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join([maintained_sql, recomputed_sql]))
        for which, *r in cursor:
            found[which][tuple(r[:n])] = (int(r[n]), int(r[n + 1]), int(r[n + 2]))
    maintained, recomputed = found["m"], found["r"]
    return [
        (key, maintained.get(key), recomputed.get(key))
        for key in sorted(maintained.keys() | recomputed.keys(), key=repr)
        if maintained.get(key) != recomputed.get(key)
    ]
