"""The per-file digest of the documents an integration sent, as both sides compute it in
SQL (issue 12: the bridge's reconciliation compares digests, and reads documents only
where they differ).

A digest is (count, sum of cents, hash) over a group's rows, one row per document::

    <kind>:<length of ref>:<ref>:<cents>:<status>:<length of number>:<number>

``kind`` is ``C`` (a check), ``R`` (a trust receipt) or ``I`` (an invoice); ``number`` is a
printed check's number, else empty. The free-text fields carry their length, so one text
can be read back into its rows only one way. The hash is the MD5 (hex) of the rows sorted
by code point and joined by newlines: ``md5(string_agg(row, chr(10) ORDER BY row COLLATE
"C"))`` on PostgreSQL (bytewise UTF-8 order is code point order), and on SQLite, which has
neither MD5 nor an ordered ``group_concat`` before 3.44, an aggregate registered on the
connection (:func:`digest_aggregate`) that sorts and hashes the same way
(:func:`digest_of`), deterministic on both.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from django.db import connection

#: Name of the aggregate registered on SQLite connections.
_SQLITE_AGGREGATE = "casebridge_digest"


def digest_of(rows: Iterable[str]) -> str:
    """The hash of a group's rows (the reference both databases agree with)."""
    return hashlib.md5("\n".join(sorted(rows)).encode("utf-8"), usedforsecurity=False).hexdigest()


def digest_row(kind: str, ref: str, cents: int, status: str, number: str = "") -> str:
    """One document's row (as :func:`row_sql` builds it in SQL)."""
    return f"{kind}:{len(ref)}:{ref}:{cents}:{status}:{len(number)}:{number}"


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


class _Digest:
    """SQLite aggregate: the rows of a group, sorted and hashed as :func:`digest_of`."""

    def __init__(self) -> None:
        self.rows: list[str] = []

    def step(self, row: str | None) -> None:
        if row is not None:
            self.rows.append(row)

    def finalize(self) -> str | None:
        return digest_of(self.rows) if self.rows else None


def digest_aggregate(row: str) -> str:
    """SQL aggregating ``row`` (an SQL expression) into the group's hash, for the database
    in use; on SQLite the aggregate is registered on the connection first."""
    if connection.vendor == "postgresql":
        return f'MD5(STRING_AGG({row}, CHR(10) ORDER BY {row} COLLATE "C"))'
    connection.ensure_connection()
    raw = cast(sqlite3.Connection, connection.connection)
    # (typeshed's protocol says an aggregate finalizes to an int; SQLite takes text too)
    factory: Callable[[], Any] = _Digest
    raw.create_aggregate(_SQLITE_AGGREGATE, 1, factory)
    return f"{_SQLITE_AGGREGATE}({row})"


def select_sql(columns: Sequence[str], source: str, where: str = "", group_by: str = "") -> str:
    """``SELECT columns FROM source [WHERE where] [GROUP BY group_by]``. The digest queries
    are built from their parts: table names from the models' metadata, literals from the
    code's own choices, every value a bound parameter."""
    parts = ["SELECT", ", ".join(columns), "FROM", source]
    if where:
        parts += ["WHERE", where]
    if group_by:
        parts += ["GROUP BY", group_by]
    return " ".join(parts)
