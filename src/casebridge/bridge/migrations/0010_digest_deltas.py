"""ADR 0035: the case digests' deltas. On PostgreSQL the triggers append one delta per case
a statement moves instead of updating the kept row, so transactions of several statements
never deadlock over the digests; reads sum the kept row and its deltas; a periodic
compaction folds them. The triggers are installed again (drop, create, recompute; the
deltas start empty). SQLite's row triggers are unchanged (reinstalled all the same).

Forward only (irreversible): the triggers it installs write into the delta table, and
going back would drop the table under them (every write of a source table would fail) and
lose the deltas not yet compacted; a rollback is a restore (docs/operations.md), ADR 0035."""

import django.db.models.deletion
from django.db import migrations, models

from casebridge.bridge.digest_sources import CASE_DIGESTS
from casebridge.core.digest import install, uninstall


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    uninstall(CASE_DIGESTS, schema_editor)
    install(CASE_DIGESTS, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("bridge", "0009_digest_lock"),
        ("cases", "0010_cost_sort_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseDigestDelta",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("documents", models.BigIntegerField()),
                ("cents", models.BigIntegerField()),
                ("hash", models.BigIntegerField()),
                (
                    "case",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="cases.case",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="cases.firm",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["firm", "case"], name="bridge_casedigestdelta_key")
                ],
            },
        ),
        migrations.RunPython(forwards),  # forward only: see the docstring
    ]
