"""Word-prefix text search that both databases answer from an index (ADR 0031).

A query is cut into words (letters and digits; case and, on SQLite, accents folded); a row
matches when every word begins a word of its searchable columns: "lop" finds "Lopez v.
Acme", "2024 00" finds "CB-2024-0017". The same rule on both databases:

- PostgreSQL: one ``pg_trgm`` GIN index per table over its searchable columns joined by a
  space, and per word a case-insensitive regular expression ``\\m<word>`` (``\\m``: the
  start of a word) on that same expression, which the trigram index answers;
- SQLite: an FTS5 table per source table (external content, ``unicode61`` with
  diacritics removed) kept by triggers, and ``"<word>"*`` prefix queries.

The indexes are created by each side's search migration from :func:`index_sql`; a
PostgreSQL role that may not create ``pg_trgm`` gets no index and the same answers from a
sequential scan (correct, slower). Callers put :func:`matches` in an ORM ``filter``.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, F, Func, Q
from django.db.models.expressions import RawSQL

#: At most this many words of a query are used (the rest are ignored).
MAX_WORDS = 6
#: At most this many characters of each word.
MAX_WORD_CHARS = 40
#: Shorter words are left out of a query.
MIN_WORD_CHARS = 2
_WORD = re.compile(r"[^\W_]+")
#: At most this many matches of a kind (the firm's newest) are ordered, on both databases.
SQLITE_CANDIDATES = 1000
#: PostgreSQL: a word this long or longer is found through the trigram index; a shorter
#: one (initials, "PI", a check number under 100) through the word-starts index.
TRIGRAM = 3
#: PostgreSQL: the first one and two letters of each word of a text, lower-cased (what a
#: word shorter than :data:`TRIGRAM` is looked up in). Immutable, so that an index can hold it.
WORD_STARTS_FUNCTION = """
CREATE OR REPLACE FUNCTION casebridge_word_starts(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(DISTINCT s), '{}') FROM (
    SELECT left(w, n) AS s
    FROM regexp_split_to_table(lower(t), '[^[:alnum:]]+') AS w, (VALUES (1), (2)) AS k(n)
    WHERE length(w) >= n
  ) AS starts
$$"""
#: At most this many results of each kind.
PER_KIND = 10


@dataclass(frozen=True)
class Hit:
    """One result: what it is, a line of detail, and where it opens."""

    label: str
    detail: str
    url: str


@dataclass(frozen=True)
class Group:
    """The results of one kind (e.g. "Cases"), at most :data:`PER_KIND`."""

    kind: str
    title: str
    hits: list[Hit]


@dataclass(frozen=True)
class Results:
    query: str
    groups: list[Group]

    @property
    def count(self) -> int:
        return sum(len(g.hits) for g in self.groups)

    @property
    def too_short(self) -> bool:
        """Something was typed, but no word of two letters or digits."""
        return bool(self.query.strip()) and not words(self.query)


@dataclass(frozen=True)
class TextIndex:
    """A table's searchable columns (the rows' primary key is ``id``)."""

    table: str
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.table}_search"

    @property
    def starts_name(self) -> str:
        return f"{self.table}_search_starts"

    def expression(self) -> str:
        """The columns joined by spaces (what the first PostgreSQL index held)."""
        return " || ' ' || ".join(f"coalesce({c}::text, '')" for c in self.columns)

    def folded_expression(self) -> str:
        """The text the PostgreSQL indexes hold: :meth:`expression` without accents (the
        expression :func:`matches` builds, so that the planner uses the index)."""
        return f"casebridge_unaccent({self.expression()})"


@functools.lru_cache(maxsize=512)
def _folded_postgresql(query_words: tuple[str, ...]) -> tuple[str, ...]:
    """The words as ``casebridge_unaccent`` folds the stored text ("muñoz" -> "munoz",
    "straße" -> "strasse"): asked of the database, so that both sides fold alike; once per
    process for a query (a search asks it for each kind)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array(SELECT casebridge_unaccent(w) FROM unnest(%s::text[]) AS w)",
            [list(query_words)],
        )
        row = cursor.fetchone()
    return tuple(str(w) for w in row[0]) if row else query_words


def words(query: str) -> list[str]:
    """The words of ``query``, lower-cased: letters and digits, at least
    :data:`MIN_WORD_CHARS` and at most :data:`MAX_WORDS` of them."""
    # lower(), not casefold(): casefold makes "Straße" "strasse", which begins no stored word.
    # "İ".lower() is "i" and a combining dot above, which is no letter: it split "İzmir" in
    # two. The dot goes (both databases fold "İ" to "i" when they compare).
    lowered = query.lower().replace("i\u0307", "i")
    # A single letter or digit begins a word of most records: it narrows nothing, and on
    # PostgreSQL a table with no word starting with it was read whole (235 ms at 200,000
    # costs). It is left out; a query of nothing else asks for more (Results.too_short).
    found = [w[:MAX_WORD_CHARS] for w in _WORD.findall(lowered) if len(w) >= MIN_WORD_CHARS]
    return found[:MAX_WORDS]


def matches(index: TextIndex, query_words: list[str], firm_id: int) -> Q:
    """A condition for ``QuerySet.filter`` on ``index.table``'s model: the firm's rows
    where every word of ``query_words`` (from :func:`words`; not empty) begins a word of
    the row's columns: ``pk`` among the ids a self-contained subquery of the table reads
    (so that it holds whatever alias the outer query gives the table).

    On both databases the index answers for the firm alone, newest rows first, and stops
    at :data:`SQLITE_CANDIDATES`: a word that matches half the table costs what a rare
    one does, and the kinds' orders sort at most that many. On SQLite the firm is a column
    of the FTS5 table; on PostgreSQL see :func:`_matches_postgresql`."""
    if not query_words:
        raise ValueError("a search needs at least one word")
    if connection.vendor == "postgresql":
        return _matches_postgresql(index, list(_folded_postgresql(tuple(query_words))), firm_id)
    # Names are constants of the code; the words (no quote: [^\W_]+) and the firm's id
    # (an int) go in one parameter.
    phrase = " AND ".join(f'"{w}"*' for w in query_words)
    fts = f"firm_id : {int(firm_id)} AND {{{' '.join(index.columns)}}} : ({phrase})"
    sql = (
        f"SELECT rowid FROM {index.name} WHERE {index.name} MATCH %s "  # noqa: S608
        f"ORDER BY rowid DESC LIMIT {SQLITE_CANDIDATES}"
    )
    # The firm is in the index's answer: no firm_id test here, which would let SQLite walk
    # a (firm, ...) index in the kind's order probing the candidates, instead of reading
    # the candidates and sorting them.
    return Q(pk__in=RawSQL(sql, [fts]))  # noqa: S611


def _word_start(word: str) -> str:
    """PostgreSQL's regular expression for a word that begins a word of the text."""
    # folding can bring a non-letter in ("½" is "1/2"): escaped, it is literal; and ~* does
    # not take "İ" for "i" (lower() does), for a database without unaccent
    literal = "".join(c if c.isalnum() else "\\" + c for c in word)
    return r"\m" + literal.replace("i", "[iİ]")


def _matches_postgresql(index: TextIndex, query_words: list[str], firm_id: int) -> Q:
    """The firm's newest :data:`SQLITE_CANDIDATES` rows whose folded text has every word
    at the start of one of its words, as on SQLite: a word in a quarter of the table
    ("expert" in 50,000 costs) no longer has every match read and sorted (the newest rows
    are read in order until a thousand match), a rare one is read from the index.

    A word of :data:`TRIGRAM` letters or more is found through the trigram index. Shorter
    words give trigrams nothing to narrow with (a rare two-letter word scanned the whole
    table): a query of such words only is also looked up in the word-starts index. The
    regular expressions come first, so that the word-starts function, when the planner
    reads the newest rows in order, runs only on their matches."""
    text = index.folded_expression()
    conditions = [f"({text}) ~* %s" for _ in query_words]
    params: list[object] = [firm_id, *(_word_start(w) for w in query_words)]
    if all(len(w) < TRIGRAM for w in query_words):
        conditions.append(f"casebridge_word_starts({text}) @> %s")
        params.append(list(query_words))
    sql = (
        f"SELECT id FROM {index.table} WHERE firm_id = %s AND "  # noqa: S608
        f"{' AND '.join(conditions)} ORDER BY id DESC LIMIT {SQLITE_CANDIDATES}"
    )
    # id = ANY(ARRAY(...)), not id IN (...): the array is read first and its ids looked up
    # by the primary key. IN let the planner hash the thousand ids and scan the whole
    # table for them (a 100,000-row scan per kind: 'lop' 86 ms, now a few).
    return Q(_AnyOf(F("pk"), RawSQL(sql, params)))  # noqa: S611


class _AnyOf(Func):
    """``(column = ANY(ARRAY(subquery)))`` on PostgreSQL."""

    arg_joiner = " = ANY(ARRAY("
    template = "(%(expressions)s)))"
    output_field = BooleanField()


def index_sql(index: TextIndex, vendor: str) -> list[str]:
    """The statements that create ``index`` (one per call; SQLite's FTS5 table is filled
    from the rows already there)."""
    if vendor == "postgresql":
        return [
            f"CREATE INDEX IF NOT EXISTS {index.name} ON {index.table} "
            f"USING gin (({index.expression()}) gin_trgm_ops)"
        ]
    columns = ("firm_id", *index.columns)  # the firm too: the index answers per firm
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    name, table = index.name, index.table
    # Names of tables and columns, constants of the code (no input reaches them).
    delete = f"INSERT INTO {name}({name}, rowid, {cols}) VALUES ('delete', old.id, {old});"  # noqa: S608
    insert = f"INSERT INTO {name}(rowid, {cols}) VALUES (new.id, {new});"  # noqa: S608
    return [
        f"CREATE VIRTUAL TABLE {name} USING fts5({cols}, content='{table}', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
        f"INSERT INTO {name}({name}) VALUES ('rebuild')",  # noqa: S608
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {cols} ON {table} "
        f"BEGIN {delete} {insert} END",
    ]


#: PostgreSQL: the stored text without accents, for the indexes (``unaccent`` itself is
#: not immutable: its dictionary could change; the wrapper names it, as its documentation
#: suggests), in the schema the extension is in. Without the extension, the text as it is.
UNACCENT_FUNCTION = """
CREATE OR REPLACE FUNCTION casebridge_unaccent(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, t) $$"""
UNACCENT_MISSING_FUNCTION = """
CREATE OR REPLACE FUNCTION casebridge_unaccent(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT t $$"""


def _extension_schema(schema_editor, name: str) -> str | None:  # type: ignore[no-untyped-def]
    """The (quoted) schema PostgreSQL's extension ``name`` is in, or None without it."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(n.nspname) FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s",
            [name],
        )
        row = cursor.fetchone()
    return str(row[0]) if row else None


def _drop_search_indexes(schema_editor, index: TextIndex) -> None:  # type: ignore[no-untyped-def]
    schema_editor.execute(f"DROP INDEX IF EXISTS {index.name}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {index.starts_name}")


def fold_accents(schema_editor, indexes: tuple[TextIndex, ...]) -> None:  # type: ignore[no-untyped-def]
    """A migration's forward step, PostgreSQL only (SQLite's FTS5 tables fold accents and
    answer short prefixes themselves): ``unaccent`` (if the role may create it; else
    accents stay as typed, as before), ``casebridge_unaccent``,
    ``casebridge_word_starts``, and per table the trigram index made again over the
    folded text (where ``pg_trgm`` exists) and the word-starts index."""
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.db import DatabaseError, transaction

    schema_editor.execute(WORD_STARTS_FUNCTION)
    alias = schema_editor.connection.alias
    try:
        with transaction.atomic(using=alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
            # where it is (a managed database may keep extensions in a schema of their own)
            schema = _extension_schema(schema_editor, "unaccent")
            if schema is None:  # pragma: no cover - CREATE EXTENSION made it
                raise DatabaseError("unaccent is not installed")
            schema_editor.execute(UNACCENT_FUNCTION.format(schema=schema))
    except DatabaseError as exc:
        logging.getLogger(__name__).warning(
            "unaccent could not be created (%s): the global search on PostgreSQL does not "
            "fold accents. Create the extension as a superuser before migrating "
            "(scripts/db/roles.sql does)",
            str(exc).splitlines()[0],
        )
        schema_editor.execute(UNACCENT_MISSING_FUNCTION)
    trigrams = _extension_schema(schema_editor, "pg_trgm") is not None
    for index in indexes:
        _drop_search_indexes(schema_editor, index)
        if trigrams:
            schema_editor.execute(
                f"CREATE INDEX {index.name} ON {index.table} "
                f"USING gin (({index.folded_expression()}) gin_trgm_ops)"
            )
        schema_editor.execute(
            f"CREATE INDEX {index.starts_name} ON {index.table} "
            f"USING gin (casebridge_word_starts({index.folded_expression()}))"
        )


def unfold_accents(schema_editor, indexes: tuple[TextIndex, ...]) -> None:  # type: ignore[no-untyped-def]
    """Back to the trigram indexes over the text as it is, without word-starts indexes
    (the functions stay: the other side's indexes may use them)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    trigrams = _extension_schema(schema_editor, "pg_trgm") is not None
    for index in indexes:
        _drop_search_indexes(schema_editor, index)
        if trigrams:
            for statement in index_sql(index, "postgresql"):
                schema_editor.execute(statement)


def drop_sql(index: TextIndex, vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP INDEX IF EXISTS {index.name}"]
    return [
        *(
            f"DROP TRIGGER IF EXISTS {index.name}_{event}"
            for event in ("insert", "delete", "update")
        ),
        f"DROP TABLE IF EXISTS {index.name}",
    ]


def create_indexes(schema_editor, indexes: tuple[TextIndex, ...]) -> None:  # type: ignore[no-untyped-def]
    """A migration's forward step: ``pg_trgm`` (if the role may create it; else no index,
    the same answers by scanning) and each index."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        from django.db import DatabaseError, transaction

        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as exc:
            logging.getLogger(__name__).warning(
                "pg_trgm could not be created (%s): the global search answers without its "
                "trigram indexes, by scanning. Create the extension as a superuser before "
                "migrating (scripts/db/roles.sql does)",
                str(exc).splitlines()[0],
            )
            return
    for index in indexes:
        for statement in index_sql(index, vendor):
            schema_editor.execute(statement)


def drop_indexes(schema_editor, indexes: tuple[TextIndex, ...]) -> None:  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for index in indexes:
        for statement in drop_sql(index, vendor):
            schema_editor.execute(statement)
