"""ADR 0035: the file digests' deltas. On PostgreSQL the triggers append one delta per file
a statement moves instead of updating the kept row, so transactions of several statements
never deadlock over the digests; reads sum the kept row and its deltas; a periodic
compaction folds them. The triggers are installed again (drop, create, recompute; the
deltas start empty). SQLite's row triggers are unchanged (reinstalled all the same).

Forward only (irreversible): the triggers it installs write into the delta table, and
going back would drop the table under them (every write of a source table would fail) and
lose the deltas not yet compacted; a rollback is a restore (docs/operations.md), ADR 0035."""

import django.db.models.deletion
from django.db import migrations, models

from casebridge.books.digest_sources import file_digests
from casebridge.core.digest import install, uninstall


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    target = file_digests(schema_editor.connection.vendor)
    uninstall(target, schema_editor)
    install(target, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0018_search_folded"),
    ]

    operations = [
        migrations.CreateModel(
            name="FileDigestDelta",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("namespace", models.CharField(max_length=120)),
                ("file_key", models.BigIntegerField()),
                ("documents", models.BigIntegerField()),
                ("cents", models.BigIntegerField()),
                ("hash", models.BigIntegerField()),
                (
                    "firm",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="books.firm",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["firm", "namespace", "file_key"], name="books_filedigestdelta_key"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards),  # forward only: see the docstring
    ]
