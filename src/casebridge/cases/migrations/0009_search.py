"""The global search's text indexes (issue 14, ADR 0031): cases by number and caption,
contacts by name, e-mail and phone, costs by memo, check or card number and invoice
reference. PostgreSQL: ``pg_trgm`` and one trigram GIN index per table (none if the role
may not create the extension: the search then scans). SQLite: an FTS5 table per table,
kept by triggers.

On SQLite a later migration that rebuilds one of these tables drops its triggers with the
old table: it must create them again (``casebridge.core.search.index_sql``);
tests/cases/test_search.py fails if they are missing.
"""

from django.db import migrations

from casebridge.core.search import TextIndex, create_indexes, drop_indexes

# Spelled out here (not imported from the selector) so that this migration keeps meaning
# what it meant when it ran.
INDEXES = (
    TextIndex("cases_case", ("number", "name")),
    TextIndex("cases_contact", ("name", "email", "phone")),
    TextIndex("cases_cost", ("memo", "payment_reference", "invoice_reference")),
)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    create_indexes(schema_editor, INDEXES)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    drop_indexes(schema_editor, INDEXES)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_cost_tab_totals"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
