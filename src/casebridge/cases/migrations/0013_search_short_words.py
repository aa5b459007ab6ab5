"""The global search's short words on PostgreSQL (issue 14, ADR 0031's follow-up): a word
of one or two letters gives the trigram index nothing to narrow with, so each searched
table gets a GIN index of the first one and two letters of its words
(``casebridge_word_starts``). Nothing on SQLite, whose FTS5 tables answer short prefixes.
"""

from django.db import migrations

from casebridge.core.search import TextIndex, create_starts_indexes, drop_starts_indexes

# Spelled out here (not imported from the selector) so that this migration keeps meaning
# what it meant when it ran.
INDEXES = (
    TextIndex("cases_case", ("number", "name")),
    TextIndex("cases_contact", ("name", "email", "phone")),
    TextIndex("cases_cost", ("memo", "payment_reference", "invoice_reference")),
)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    create_starts_indexes(schema_editor, INDEXES)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    drop_starts_indexes(schema_editor, INDEXES)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_search"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
