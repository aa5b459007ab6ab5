"""The audit log is append-only: triggers refuse UPDATE (both databases) and DELETE
(PostgreSQL; on SQLite, Django's test flush deletes rows, so only UPDATE is refused)."""

from django.db import migrations

PG = """
CREATE OR REPLACE FUNCTION casebridge_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent
  FOR EACH ROW EXECUTE FUNCTION casebridge_refuse_change();
"""
PG_DOWN = "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;"

SQLITE = """
CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE ON core_auditevent
BEGIN SELECT RAISE(ABORT, 'core_auditevent rows are append-only: UPDATE refused'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS core_auditevent_append_only;"


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
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
