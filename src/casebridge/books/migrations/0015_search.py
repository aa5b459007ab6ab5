"""The global search's text indexes (issue 14, ADR 0031): files by number and name,
contacts by name, e-mail and phone, checks by number, payee and memo, invoices by number
and description. PostgreSQL: ``pg_trgm`` and one trigram GIN index per table (none if the
role may not create the extension: the search then scans). SQLite: an FTS5 table per
table, kept by triggers.

On SQLite a later migration that rebuilds one of these tables drops its triggers with the
old table: it must create them again (``casebridge.core.search.index_sql``);
tests/books/test_search.py fails if they are missing.
"""

from django.db import migrations

from casebridge.core.search import TextIndex, create_indexes, drop_indexes

# Spelled out here (not imported from the selector) so that this migration keeps meaning
# what it meant when it ran.
INDEXES = (
    TextIndex("books_file", ("number", "name")),
    TextIndex("books_contact", ("name", "email", "phone")),
    TextIndex("books_check", ("check_number", "payee", "memo")),
    TextIndex("books_invoice", ("number", "description")),
)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    create_indexes(schema_editor, INDEXES)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    drop_indexes(schema_editor, INDEXES)


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0014_file_digests"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
