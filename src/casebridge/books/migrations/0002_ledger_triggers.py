"""Ledger invariants in the database itself.

- Journal entries and postings are immutable: UPDATE is refused on both databases, DELETE
  on PostgreSQL (SQLite's test flush deletes rows; the services never delete).
- PostgreSQL: a deferred constraint trigger checks at commit that every entry touched has
  two or more postings and that its debits equal its credits.
"""

from django.db import migrations

PG = """
CREATE TRIGGER books_journalentry_immutable BEFORE UPDATE OR DELETE ON books_journalentry
  FOR EACH ROW EXECUTE FUNCTION casebridge_refuse_change();
CREATE TRIGGER books_posting_immutable BEFORE UPDATE OR DELETE ON books_posting
  FOR EACH ROW EXECUTE FUNCTION casebridge_refuse_change();

CREATE OR REPLACE FUNCTION books_check_entry_balanced() RETURNS trigger AS $$
DECLARE d bigint; c bigint; n integer;
BEGIN
  SELECT coalesce(sum(debit_cents), 0), coalesce(sum(credit_cents), 0), count(*)
    INTO d, c, n FROM books_posting WHERE entry_id = NEW.entry_id;
  IF d <> c OR n < 2 THEN
    RAISE EXCEPTION 'journal entry % does not balance: debits %, credits %, % postings',
      NEW.entry_id, d, c, n USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER books_posting_balanced AFTER INSERT ON books_posting
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION books_check_entry_balanced();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS books_posting_balanced ON books_posting;
DROP FUNCTION IF EXISTS books_check_entry_balanced();
DROP TRIGGER IF EXISTS books_posting_immutable ON books_posting;
DROP TRIGGER IF EXISTS books_journalentry_immutable ON books_journalentry;
"""

SQLITE = """
CREATE TRIGGER books_journalentry_immutable BEFORE UPDATE ON books_journalentry
BEGIN SELECT RAISE(ABORT, 'books_journalentry rows are append-only: UPDATE refused'); END;
CREATE TRIGGER books_posting_immutable BEFORE UPDATE ON books_posting
BEGIN SELECT RAISE(ABORT, 'books_posting rows are append-only: UPDATE refused'); END;
"""
SQLITE_DOWN = """
DROP TRIGGER IF EXISTS books_posting_immutable;
DROP TRIGGER IF EXISTS books_journalentry_immutable;
"""


def _run(schema_editor, sql):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
            cursor.execute(sql)
    else:  # SQLite runs one statement per call; its trigger bodies end in "END;"
        for stmt in sql.split("END;"):
            if stmt.strip():
                schema_editor.execute(stmt.strip() + (" END;" if "BEGIN" in stmt else ""))


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, PG if schema_editor.connection.vendor == "postgresql" else SQLITE)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, PG_DOWN if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("books", "0001_initial"), ("core", "0002_audit_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
