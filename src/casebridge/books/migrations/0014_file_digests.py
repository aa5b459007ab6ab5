"""Issue 12: the reconciliation at 100,000 cases reads maintained digests (ADR 0030).
``books_filedigest`` holds, per firm, reference namespace and file, the count, cents and
hash of the checks, trust receipts and invoices there; triggers on the three tables keep
it exact (PostgreSQL per statement from its transition tables, SQLite per row), and the
documents already there are summed into it here. On SQLite the triggers call the row hash
registered on each connection (``casebridge.core.sqlite_backend``).

On SQLite a later migration that rebuilds one of the three tables drops these triggers
with it: it must install them again (tests/bridge/test_case_digests.py fails if missing).
"""

import django.db.models.deletion
from django.db import migrations, models

from casebridge.books.digest_sources import file_digests
from casebridge.core.digest import install, uninstall


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    install(file_digests(schema_editor.connection.vendor), schema_editor)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    uninstall(file_digests(schema_editor.connection.vendor), schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0013_firm_time_zone"),
    ]

    operations = [
        migrations.CreateModel(
            name="FileDigest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("namespace", models.CharField(max_length=120)),
                ("file_key", models.BigIntegerField()),
                ("documents", models.BigIntegerField(default=0)),
                ("cents", models.BigIntegerField(default=0)),
                ("hash", models.BigIntegerField(default=0)),
                (
                    "firm",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="books.firm",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("firm", "namespace", "file_key"), name="books_filedigest_key"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
