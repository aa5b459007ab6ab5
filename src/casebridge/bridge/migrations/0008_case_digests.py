"""Issue 12: the reconciliation at 100,000 cases reads maintained digests (ADR 0030).
``bridge_casedigest`` holds, per firm and case, the count, cents and hash of the documents
the books must hold for the case; triggers on the costs, deposits, trust items, their
links and the fee invoices keep it exact (PostgreSQL per statement from its transition
tables, SQLite per row), and what is already there is summed into it here. On SQLite the
triggers call the row hash registered on each connection
(``casebridge.core.sqlite_backend``).

On SQLite a later migration (of this app or of the cases side) that rebuilds one of those
tables drops these triggers with it: it must install them again
(tests/bridge/test_case_digests.py fails if they are missing).
"""

from django.db import migrations, models

from casebridge.bridge.digest_sources import CASE_DIGESTS
from casebridge.core.digest import install, uninstall


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    install(CASE_DIGESTS, schema_editor)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    uninstall(CASE_DIGESTS, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("bridge", "0007_connection_trust_balances_read_at"),
        ("cases", "0008_cost_tab_totals"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseDigest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("documents", models.BigIntegerField(default=0)),
                ("cents", models.BigIntegerField(default=0)),
                ("hash", models.BigIntegerField(default=0)),
                (
                    "case",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="cases.case",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="cases.firm",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("firm", "case"), name="bridge_casedigest_key")
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
