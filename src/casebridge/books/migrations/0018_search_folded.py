"""The global search on PostgreSQL folds accents and finds short words (issue 14, ADR
0031's follow-up): ``unaccent`` and ``casebridge_unaccent``; the trigram indexes made again
over the text without accents; and, since a word of one or two letters gives a trigram
index nothing to narrow with, per table a GIN index of the first one and two letters of
its words (``casebridge_word_starts``). Nothing on SQLite, whose FTS5 tables do both.
"""

from django.db import migrations

from casebridge.core.search import TextIndex, fold_accents, unfold_accents

# Spelled out here (not imported from the selector) so that this migration keeps meaning
# what it meant when it ran.
INDEXES = (
    TextIndex("books_file", ("number", "name")),
    TextIndex("books_contact", ("name", "email", "phone")),
    TextIndex("books_check", ("check_number", "payee", "memo")),
    TextIndex("books_invoice", ("number", "description")),
)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    fold_accents(schema_editor, INDEXES)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    unfold_accents(schema_editor, INDEXES)


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0016_digest_lock"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
