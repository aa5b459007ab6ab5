"""Database helpers shared by every part.

:func:`update_rows` writes a different value per row in one statement per 500 rows, for the
bulk paths (a bridge delivery of thousands of items, a check-status sync): Django's
``bulk_update`` builds a CASE per field per row, which cost seconds per thousand rows.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models


def update_rows(
    model: type[models.Model], columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]
) -> None:
    """``UPDATE table SET col = v.col ... FROM (VALUES (pk, ...), ...) v WHERE id = v.pk``:
    a different value per row in one statement per 500 rows. Django's ``bulk_update``
    builds a CASE per field per row, which cost seconds per thousand rows here.
    ``columns`` are (column, PostgreSQL type); both databases accept UPDATE ... FROM."""
    # Identifiers come from the model's metadata and the caller's fixed column list; every
    # value is a bound parameter (the same pattern as the journal's bulk INSERT).
    table = connection.ops.quote_name(model._meta.db_table)
    names = [connection.ops.quote_name(name) for name, _ in columns]
    postgres = connection.vendor == "postgresql"
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        values = ", ".join(["(" + ", ".join(["%s"] * (len(names) + 1)) + ")"] * len(chunk))
        if postgres:
            sets = ", ".join(
                f"{n} = CAST(v.{n} AS {t})" for n, (_, t) in zip(names, columns, strict=True)
            )
            source = f"(VALUES {values}) AS v(pk, {', '.join(names)})"
            match = f"{table}.id = CAST(v.pk AS bigint)"
        else:  # SQLite names the columns of VALUES column1, column2, ...
            sets = ", ".join(f"{n} = v.column{i + 2}" for i, n in enumerate(names))
            source = f"(VALUES {values}) AS v"
            match = f"{table}.id = v.column1"
        with connection.cursor() as cursor:
            params = [value for row in chunk for value in row]
            cursor.execute(f"UPDATE {table} SET {sets} FROM {source} WHERE {match}", params)  # noqa: S608
