"""Database helpers shared by every part.

:func:`update_rows` writes a different value per row in one statement per 500 rows, for the
bulk paths (a bridge delivery of thousands of items, a check-status sync): Django's
``bulk_update`` builds a CASE per field per row, which cost seconds per thousand rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


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


#: SQLite binds at most 32,766 parameters a statement (3.32+); 6,000 leaves room to spare.
_SQLITE_PARAMS = 6000


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = True,
) -> list[int]:
    """Insert plain values as rows of ``model`` set-based, and return their new ids in the
    order of ``rows`` (``returning=False``: none are read back).

    PostgreSQL: one ``INSERT ... SELECT FROM unnest(%s::type[], ...) RETURNING id``, an
    array per column, whatever the count. SQLite: ``INSERT ... VALUES (...), (...)
    RETURNING id`` in chunks within its limit on bound parameters. One function for every
    bulk write of a service (journal entries, checks, audit events): the ORM's
    ``bulk_create`` builds and prepares a model instance per row, which was half of a
    batch's time.

    ``fields`` name the model's fields (a foreign key by its name: the value is the id);
    values are what the column holds: ints, strings, dates, aware datetimes, and for a
    JSONField the Python object (encoded here with the field's encoder). A concrete field
    not named takes what the ORM would give it, once for every row: its default (a
    callable is called once), "" for a text field, else NULL. Nothing is validated here:
    the caller has, and the database's constraints and triggers apply as to any INSERT."""
    if not rows:
        return []
    meta = model._meta
    named = [meta.get_field(name) for name in fields]
    defaults: list[tuple[models.Field[Any, Any], Any]] = []
    for field in meta.concrete_fields:
        if field.primary_key or field in named:
            continue
        defaults.append((field, field.get_db_prep_save(field.get_default(), connection)))
    columns = [f for f in named if isinstance(f, models.Field)]
    assert len(columns) == len(named), "fields must be concrete fields"
    prepared = [_prepare_column(field, [row[i] for row in rows]) for i, field in enumerate(columns)]
    table = connection.ops.quote_name(meta.db_table)
    all_fields = columns + [f for f, _ in defaults]
    names = ", ".join(connection.ops.quote_name(f.column) for f in all_fields)
    suffix = "RETURNING " + connection.ops.quote_name(meta.pk.column) if returning else ""
    ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # an array per column; JSON goes as text and is cast in the SELECT
            arrays = ", ".join(f"%s::{_array_type(f)}[]" for f in columns)
            aliases = [f"c{i}" for i in range(len(columns))]
            select = [
                f"{a}::jsonb" if isinstance(f, models.JSONField) else a
                for a, f in zip(aliases, columns, strict=True)
            ] + ["%s"] * len(defaults)
            sql = statement(
                "INSERT INTO",
                table,
                f"({names})",
                "SELECT",
                ", ".join(select),
                f"FROM unnest({arrays}) AS t({', '.join(aliases)})",
                suffix,
            )
            # the constants stand in the SELECT list, before the arrays in FROM
            cursor.execute(sql, [*(v for _, v in defaults), *prepared])
            if returning:
                ids = [row[0] for row in cursor.fetchall()]
            return ids
        width = len(all_fields)
        per_chunk = max(1, _SQLITE_PARAMS // width)
        one_row = "(" + ", ".join(["%s"] * width) + ")"
        constants = [v for _, v in defaults]
        for start in range(0, len(rows), per_chunk):
            stop = min(start + per_chunk, len(rows))
            params: list[Any] = []
            for r in range(start, stop):
                params.extend(column[r] for column in prepared)
                params.extend(constants)
            values = ", ".join([one_row] * (stop - start))
            cursor.execute(
                statement("INSERT INTO", table, f"({names})", "VALUES", values, suffix), params
            )
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


def statement(*parts: str) -> str:
    """SQL from its parts, separated by spaces. Every part is SQL text or an identifier
    from the models' metadata (quoted by the backend); values are always bound
    parameters."""
    return " ".join(p for p in parts if p)


def _array_type(field: models.Field[Any, Any]) -> str:
    if isinstance(field, models.JSONField):
        return "text"
    db_type = field.db_type(connection)  # a foreign key's is its target's
    assert db_type is not None
    return db_type


def _prepare_column(field: models.Field[Any, Any], values: list[Any]) -> list[Any]:
    """A column's values as the driver takes them: JSON encoded, dates and datetimes as the
    backend stores them (SQLite: text); everything else as given."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return [None if v is None else json.dumps(v, cls=encoder) for v in values]
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        return [adapt(v) for v in values] if connection.vendor != "postgresql" else values
    if isinstance(field, models.DateField):
        adapt_date = connection.ops.adapt_datefield_value
        return [adapt_date(v) for v in values] if connection.vendor != "postgresql" else values
    return values


def inserted_instances(
    model: type[M],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    ids: Sequence[int],
    *,
    related: dict[str, models.Model | None] | None = None,
) -> list[M]:
    """The rows :func:`insert_rows` wrote, as model instances read from the database would
    be (``_state.adding`` False), for callers that return them; ``related`` caches objects
    the rows point to (the firm, the actor), so reading them asks nothing. A field not
    named takes its default, as it did in the INSERT."""
    meta = model._meta
    by_attname: dict[str, Any] = {}
    for field in meta.concrete_fields:
        if not field.primary_key:
            by_attname[field.attname] = field.get_default()
    named = [_concrete(model, name) for name in fields]
    positions = {field.attname: i for i, field in enumerate(named)}
    attnames = [f.attname for f in meta.concrete_fields]
    out = []
    for pk, row in zip(ids, rows, strict=True):
        values = [
            pk
            if name == meta.pk.attname
            else row[positions[name]]
            if name in positions
            else by_attname.get(name)
            for name in attnames
        ]
        obj = model.from_db(connection.alias, attnames, values)
        for name, target in (related or {}).items():
            _concrete(model, name).set_cached_value(obj, target)
        out.append(obj)
    return out


def _concrete(model: type[models.Model], name: str) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{name} is not a concrete field"
    return field


# --- Expressions that differ between the two databases, for set-based INSERT ... SELECT -----
# Each returns SQL text around an expression given as SQL text (a column, never a value).


def sql_json_object() -> str:
    """The function building a JSON object from key, value, ... pairs."""
    return "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"


def sql_text(expr: str) -> str:
    return f"CAST({expr} AS text)"


def sql_money(cents: str) -> str:
    """``cents`` (a non-negative integer column) as :func:`casebridge.core.money.format_cents`
    writes it: ``$1,234.56``."""
    if connection.vendor == "postgresql":
        dollars = f"to_char({cents} / 100, 'FM999,999,999,999,990')"
        return f"'$' || {dollars} || '.' || lpad(CAST({cents} %% 100 AS text), 2, '0')"
    return f"'$' || printf('%%,d', {cents} / 100) || '.' || printf('%%02d', {cents} %% 100)"


def sql_strip(expr: str) -> str:
    """``expr`` without leading and trailing whitespace (space, tab, newlines, form feed,
    vertical tab): Python's ``str.strip`` on the text a plain-line field holds."""
    if connection.vendor == "postgresql":
        return f"btrim({expr}, E' \\t\\n\\r\\f\\x0b')"
    return f"trim({expr}, ' ' || char(9, 10, 13, 12, 11))"


def sql_new_key() -> str:
    """32 random hex digits per row (an idempotency key, as ``uuid.uuid4().hex``)."""
    if connection.vendor == "postgresql":
        return "replace(CAST(gen_random_uuid() AS text), '-', '')"
    return "lower(hex(randomblob(16)))"


def sql_lock_rows() -> str:
    """What a sub-SELECT ends with to lock its rows in its order (PostgreSQL); SQLite
    holds the whole database for a writing transaction."""
    return " FOR UPDATE" if connection.vendor == "postgresql" else ""


def sql_placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)
