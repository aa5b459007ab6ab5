"""ADR 0044: LEDES e-billing. Three new tables (no column is added to an existing one, so
no SQLite table is rebuilt and no trigger dropped): the firm's LEDES settings (law firm
ID, fee task and activity codes), a file's LEDES IDs and a timekeeper's LEDES identity."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0019_digest_deltas"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedesMatter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("client_id", models.CharField(blank=True, max_length=20)),
                ("client_matter_id", models.CharField(blank=True, max_length=20)),
                ("updated_at", models.DateTimeField()),
                (
                    "file",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledes",
                        to="books.file",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="books.firm",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="books.user",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="LedesSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("law_firm_id", models.CharField(max_length=20)),
                ("fee_task_code", models.CharField(max_length=4)),
                ("fee_activity_code", models.CharField(max_length=4)),
                ("updated_at", models.DateTimeField()),
                (
                    "firm",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledes_settings",
                        to="books.firm",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="books.user",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("law_firm_id", ""), _negated=True),
                        name="books_ledes_law_firm_id_set",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="LedesTimekeeper",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("timekeeper_id", models.CharField(blank=True, max_length=20)),
                (
                    "classification",
                    models.CharField(
                        choices=[
                            ("PT", "Partner"),
                            ("AS", "Associate"),
                            ("OC", "Of counsel"),
                            ("LA", "Legal assistant (paralegal)"),
                            ("OT", "Other timekeeper"),
                        ],
                        max_length=2,
                    ),
                ),
                ("updated_at", models.DateTimeField()),
                (
                    "firm",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="books.firm",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="books.user",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledes",
                        to="books.user",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("classification__in", ["PT", "AS", "OC", "LA", "OT"])),
                        name="books_ledes_classification_known",
                    )
                ],
            },
        ),
    ]
