"""Database helpers shared by every part.

:func:`update_rows` writes a different value per row in one statement per 500 rows, for the
bulk paths (a bridge delivery of thousands of items, a check-status sync): Django's
``bulk_update`` builds a CASE per field per row, which cost seconds per thousand rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL

M = TypeVar("M", bound=models.Model)


def update_rows(
    model: type[models.Model],
    columns: list[tuple[str, str]],
    rows: list[tuple[Any, ...]],
    *,
    add: frozenset[str] = frozenset(),
) -> None:
    """``UPDATE table SET col = v.col ... FROM (VALUES (pk, ...), ...) v WHERE id = v.pk``:
    a different value per row in one statement per 500 rows. Django's ``bulk_update``
    builds a CASE per field per row, which cost seconds per thousand rows here.
    ``columns`` are (column, PostgreSQL type); both databases accept UPDATE ... FROM.
    A column named in ``add`` is moved by its value (``col = col + v.col``) instead of set,
    for balances that other transactions may also have moved. The statement takes its
    rows' locks in no particular order: callers lock them first (in id order) when two
    transactions may update the same rows."""
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
                f"{n} = {table}.{n} + CAST(v.{n} AS {t})"
                if name in add
                else f"{n} = CAST(v.{n} AS {t})"
                for n, (name, t) in zip(names, columns, strict=True)
            )
            source = f"(VALUES {values}) AS v(pk, {', '.join(names)})"
            match = f"{table}.id = CAST(v.pk AS bigint)"
        else:  # SQLite names the columns of VALUES column1, column2, ...
            sets = ", ".join(
                f"{n} = {table}.{n} + v.column{i + 2}" if name in add else f"{n} = v.column{i + 2}"
                for i, (n, (name, _)) in enumerate(zip(names, columns, strict=True))
            )
            source = f"(VALUES {values}) AS v"
            match = f"{table}.id = v.column1"
        with connection.cursor() as cursor:
            params = [value for row in chunk for value in row]
            cursor.execute(f"UPDATE {table} SET {sets} FROM {source} WHERE {match}", params)  # noqa: S608


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = True,
) -> list[int]:
    """Insert plain values as rows of ``model`` set-based and return their new ids in the
    order of ``rows`` (``returning=False``: none are read back).

    PostgreSQL: ``COPY ... FROM STDIN``, the rows streamed by the driver's C code; when
    the ids are wanted, they are taken from the table's sequence first (``nextval`` over
    ``generate_series``, one statement) and copied with the rows. The ``INSERT ...
    SELECT FROM unnest(%s::type[], ...)`` this replaced spent most of its time in the
    driver's Python quoting of every array element (client-side binding): 1,000 audit rows
    took 3-4 times as long. SQLite: one ``INSERT ... SELECT``, the rows travelling as one
    JSON array (one bound parameter, encoded by the C encoder) unpacked by ``json_each``,
    so no chunking within its limit on bound parameters. One function for every bulk
    write of a service (journal entries, checks, receipts, invoices, audit events): the
    ORM's ``bulk_create`` builds and prepares a model instance per row, about half of a
    batch's time.

    ``fields`` name the model's fields (a foreign key by its name: the value is the id);
    values are what the column holds: ints, strings, dates, aware datetimes, Decimals, and
    for a JSONField the Python object (encoded here with the field's encoder). A concrete
    field not named takes what the ORM would give it, once for every row: its default (a
    callable is called once), "" for a text field, else NULL. Nothing is validated here:
    the caller has, and the database's constraints and triggers apply as to any INSERT (a
    violation is raised as Django's ``IntegrityError``)."""
    if not rows:
        return []
    meta = model._meta
    columns = [_concrete(model, name) for name in fields]
    defaults: list[tuple[models.Field[Any, Any], Any]] = []
    for field in meta.concrete_fields:
        if field.primary_key or field in columns:
            continue
        defaults.append((field, field.get_db_prep_save(field.get_default(), connection)))
    prepared = [_prepare_column(field, [row[i] for row in rows]) for i, field in enumerate(columns)]
    if connection.vendor == "postgresql":
        return _copy_rows(model, columns, defaults, prepared, len(rows), returning=returning)
    q = connection.ops.quote_name
    names = ", ".join(q(f.column) for f in columns + [f for f, _ in defaults])
    # the rows as one JSON array, unpacked by json_each: one bound parameter
    values = [f"json_extract(r.value, '$[{i}]')" for i in range(len(columns))]
    values += ["%s"] * len(defaults)
    with connection.cursor() as cursor:
        cursor.execute(
            statement(
                "INSERT INTO",
                q(meta.db_table),
                f"({names}) SELECT",
                ", ".join(values),
                "FROM json_each(%s) AS r ORDER BY r.key",
                "RETURNING " + q(meta.pk.column) if returning else "",
            ),
            # the constants stand in the SELECT list, before the rows in FROM
            [
                *(v for _, v in defaults),
                json.dumps([list(v) for v in zip(*prepared, strict=True)], default=_iso),
            ],
        )
        # RETURNING's order is not promised (SQLite says "arbitrary"); the ids are handed out
        # in the order the rows go in (ORDER BY above), so the n-th smallest is the n-th row.
        return sorted(row[0] for row in cursor.fetchall()) if returning else []


def _copy_rows(
    model: type[models.Model],
    columns: list[Any],
    defaults: list[tuple[models.Field[Any, Any], Any]],
    prepared: list[list[Any]],
    count: int,
    *,
    returning: bool,
) -> list[int]:
    """:func:`insert_rows` on PostgreSQL: the ids from the table's sequence (when wanted),
    then the rows by COPY, the constants of the fields not named repeated on each."""
    meta = model._meta
    q = connection.ops.quote_name
    names = [f.column for f in columns] + [f.column for f, _ in defaults]
    constants = tuple(value for _, value in defaults)
    rows: Iterable[tuple[Any, ...]] = zip(*prepared, strict=True)
    ids: list[int] = []
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, count],
            )
            ids = sorted(row[0] for row in cursor.fetchall())  # handed out in order
            names.insert(0, meta.pk.column)
            rows = ((pk, *row) for pk, row in zip(ids, rows, strict=True))
        # on the driver's own cursor, so its errors (a constraint, a trigger's refusal) are
        # wrapped into Django's here, as the ORM's are
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(
                f"COPY {q(meta.db_table)} ({', '.join(q(n) for n in names)}) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row((*row, *constants))
    return ids


def statement(*parts: str) -> str:
    """SQL from its parts, separated by spaces. Every part is SQL text or an identifier
    from the models' metadata (quoted by the backend); values are always bound
    parameters."""
    return " ".join(p for p in parts if p)


def _iso(value: Any) -> str:
    if isinstance(value, dt.date):  # and datetimes: PostgreSQL casts ISO text
        return value.isoformat()
    if isinstance(value, Decimal):  # as SQLite's adapter writes it (str)
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value insert_rows takes")


def _prepare_column(field: models.Field[Any, Any], values: list[Any]) -> list[Any]:
    """A column's values as they travel (SQLite: in the JSON; PostgreSQL: by COPY): a
    JSONField's encoded (the database parses the text), dates and datetimes as SQLite
    stores them (Django's text); everything else as given."""
    if isinstance(field, models.JSONField):
        encode = (field.encoder or json.JSONEncoder)().encode  # as json.dumps(v, cls=...)
        return [None if v is None else encode(v) for v in values]
    if connection.vendor == "postgresql":
        return values
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        return [adapt(v) for v in values]
    if isinstance(field, models.DateField):
        adapt_date = connection.ops.adapt_datefield_value
        return [adapt_date(v) for v in values]
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
    be (``_state.adding`` False, no signals sent: these models have no receivers), for
    callers that return them; ``related`` caches objects the rows point to (the firm, the
    actor), so reading them asks nothing. A field not named takes its default, as it did
    in the INSERT (use it for models whose defaults are constants)."""
    meta = model._meta
    base: dict[str, Any] = {
        f.attname: f.get_default() for f in meta.concrete_fields if not f.primary_key
    }
    names = [_concrete(model, name).attname for name in fields]
    cache = {_concrete(model, name).name: target for name, target in (related or {}).items()}
    pk_name, alias = meta.pk.attname, connection.alias
    out = []
    for pk, row in zip(ids, rows, strict=True):
        obj = model.__new__(model)
        values = obj.__dict__
        values.update(base)
        values.update(zip(names, row, strict=True))
        values[pk_name] = pk
        state = ModelState()
        state.adding, state.db = False, alias
        if cache:
            state.fields_cache = dict(cache)
        values["_state"] = state
        out.append(obj)
    return out


def prefetched(instance: models.Model, name: str, related: list[M]) -> None:
    """Give ``instance`` its related objects ``name`` (a reverse foreign key) as
    ``prefetch_related`` would: ``instance.<name>.all()`` then answers ``related`` without
    a query. For rows a service has just inserted together with their parent."""
    manager = getattr(instance, name)
    queryset = manager.get_queryset()  # what a clone of it (.filter(), ...) will ask
    queryset._result_cache = related
    queryset._prefetch_done = True
    cache_name = manager.field.remote_field.cache_name
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[cache_name] = queryset


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


def id_set(ids: Iterable[int]) -> RawSQL:
    """A set of ids for ``field__in=``, bound as one parameter whatever its size (an IN
    list binds one per id, and a stock SQLite takes 32,766 in a statement): ``unnest`` of
    an array on PostgreSQL, ``json_each`` of a JSON array on SQLite."""
    values = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [values])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])


def sql_placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)
