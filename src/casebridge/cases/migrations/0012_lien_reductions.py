"""Lien reductions (issue 16): each step of a lien's reduction negotiation (requested,
countered, accepted, withdrawn, refused) as an append-only row. A trigger refuses UPDATE
(both databases) and DELETE (PostgreSQL; on SQLite Django's test flush deletes rows), as
for the audit log (core 0002, whose ``casebridge_refuse_change`` PostgreSQL uses)."""

import django.db.models.deletion
from django.db import migrations, models

PG = """
CREATE TRIGGER cases_lienreduction_append_only BEFORE UPDATE OR DELETE ON cases_lienreduction
  FOR EACH ROW EXECUTE FUNCTION casebridge_refuse_change();
"""
PG_DOWN = "DROP TRIGGER IF EXISTS cases_lienreduction_append_only ON cases_lienreduction;"
SQLITE = """CREATE TRIGGER cases_lienreduction_append_only BEFORE UPDATE ON cases_lienreduction
BEGIN SELECT RAISE(ABORT, 'cases_lienreduction rows are append-only: UPDATE refused'); END;"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS cases_lienreduction_append_only;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(PG if postgres else SQLITE)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(PG_DOWN if postgres else SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_medical"),
        ("core", "0002_audit_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="LienReduction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "step",
                    models.CharField(
                        choices=[
                            ("requested", "Reduction requested"),
                            ("countered", "Holder countered"),
                            ("accepted", "Accepted"),
                            ("withdrawn", "Request withdrawn"),
                            ("refused", "Holder refused"),
                        ],
                        max_length=20,
                    ),
                ),
                ("amount_cents", models.BigIntegerField(blank=True, null=True)),
                ("made_on", models.DateField()),
                ("note", models.CharField(blank=True, max_length=255)),
                ("recorded_at", models.DateTimeField()),
                (
                    "firm",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="cases.firm"),
                ),
                (
                    "lien",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reductions",
                        to="cases.lien",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.user",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
                "indexes": [models.Index(fields=["lien", "id"], name="cases_lienreduction_lien")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "step__in",
                                ["requested", "countered", "accepted", "withdrawn", "refused"],
                            )
                        ),
                        name="cases_lienreduction_step_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("amount_cents__isnull", True),
                            ("amount_cents__gte", 0),
                            _connector="OR",
                        ),
                        name="cases_lienreduction_amount_gte_0",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("step__in", ["requested", "countered", "accepted"]),
                                ("amount_cents__isnull", False),
                            ),
                            models.Q(
                                ("step__in", ["withdrawn", "refused"]),
                                ("amount_cents__isnull", True),
                            ),
                            _connector="OR",
                        ),
                        name="cases_lienreduction_amount_per_step",
                    ),
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
