"""Medical treatment and bills (issue 16): a contact may be a medical provider; a case's
treatments, bills (outstanding never negative, held by a CHECK) and records and bills
requests. A bill's balance becomes a lien through ``Bill.lien``.

On SQLite, adding a NOT NULL column remakes ``cases_contact`` (Django copies it into a new
table), which drops the global search's triggers on it (migration 0009): the contact's
FTS5 index is made again after the column is added, and again after it is removed when
migrating back.
"""

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models

from casebridge.core.search import TextIndex, drop_sql, index_sql

# Spelled out here (not imported from the selector) so that this migration keeps meaning
# what it meant when it ran.
CONTACT_INDEX = TextIndex("cases_contact", ("name", "email", "phone"))


def contact_search_again(apps, schema_editor):  # type: ignore[no-untyped-def]
    """SQLite only: the contact's FTS5 table and triggers made again (filled from the rows)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in drop_sql(CONTACT_INDEX, "sqlite") + index_sql(CONTACT_INDEX, "sqlite"):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_cost_sort_keys"),
    ]

    operations = [
        # backwards: after the column is removed (the operations run in reverse)
        migrations.RunPython(migrations.RunPython.noop, contact_search_again),
        migrations.AddField(
            model_name="contact",
            name="is_medical_provider",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(contact_search_again, migrations.RunPython.noop),
        migrations.CreateModel(
            name="Treatment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("first_visit", models.DateField(blank=True, null=True)),
                ("last_visit", models.DateField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("treating", "Treating"),
                            ("finished", "Finished"),
                            ("referred", "Referred"),
                            ("stopped", "Stopped"),
                        ],
                        default="treating",
                        max_length=10,
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField()),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="treatments",
                        to="cases.case",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.user",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="cases.firm"),
                ),
                (
                    "provider",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="treatments",
                        to="cases.contact",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="Bill",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("service_from", models.DateField(blank=True, null=True)),
                ("service_to", models.DateField(blank=True, null=True)),
                ("bill_date", models.DateField(blank=True, null=True)),
                ("billed_cents", models.BigIntegerField()),
                ("adjustments_cents", models.BigIntegerField(default=0)),
                ("paid_health_insurance_cents", models.BigIntegerField(default=0)),
                ("paid_medpay_cents", models.BigIntegerField(default=0)),
                ("paid_pip_cents", models.BigIntegerField(default=0)),
                ("paid_client_cents", models.BigIntegerField(default=0)),
                ("reference", models.CharField(blank=True, max_length=60)),
                ("voided_on", models.DateField(blank=True, null=True)),
                ("void_reason", models.CharField(blank=True, max_length=255)),
                ("created_at", models.DateTimeField()),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bills",
                        to="cases.case",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.user",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="cases.firm"),
                ),
                (
                    "lien",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bill",
                        to="cases.lien",
                    ),
                ),
                (
                    "provider",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bills",
                        to="cases.contact",
                    ),
                ),
                (
                    "treatment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bills",
                        to="cases.treatment",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="MedicalRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("records_requested_on", models.DateField(blank=True, null=True)),
                ("records_received_on", models.DateField(blank=True, null=True)),
                ("bills_requested_on", models.DateField(blank=True, null=True)),
                ("bills_received_on", models.DateField(blank=True, null=True)),
                ("follow_up_on", models.DateField(blank=True, null=True)),
                ("note", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField()),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="medical_requests",
                        to="cases.case",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="cases.firm"),
                ),
                (
                    "provider",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.contact",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("case", "provider"), name="cases_medical_request_one_per_provider"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("records_received_on__isnull", True),
                            ("records_requested_on__isnull", True),
                            ("records_received_on__gte", models.F("records_requested_on")),
                            _connector="OR",
                        ),
                        name="cases_medical_request_records_order",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("bills_received_on__isnull", True),
                            ("bills_requested_on__isnull", True),
                            ("bills_received_on__gte", models.F("bills_requested_on")),
                            _connector="OR",
                        ),
                        name="cases_medical_request_bills_order",
                    ),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="treatment",
            index=models.Index(fields=["case", "id"], name="cases_treatment_case"),
        ),
        migrations.AddConstraint(
            model_name="treatment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("first_visit__isnull", True),
                    ("last_visit__isnull", True),
                    ("last_visit__gte", models.F("first_visit")),
                    _connector="OR",
                ),
                name="cases_treatment_last_after_first",
            ),
        ),
        migrations.AddIndex(
            model_name="bill",
            index=models.Index(fields=["case", "id"], name="cases_bill_case"),
        ),
        migrations.AddConstraint(
            model_name="bill",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("billed_cents__gte", 0),
                    ("adjustments_cents__gte", 0),
                    ("paid_health_insurance_cents__gte", 0),
                    ("paid_medpay_cents__gte", 0),
                    ("paid_pip_cents__gte", 0),
                    ("paid_client_cents__gte", 0),
                ),
                name="cases_bill_amounts_gte_0",
            ),
        ),
        migrations.AddConstraint(
            model_name="bill",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "billed_cents__gte",
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.expressions.CombinedExpression(
                                django.db.models.expressions.CombinedExpression(
                                    django.db.models.expressions.CombinedExpression(
                                        models.F("adjustments_cents"),
                                        "+",
                                        models.F("paid_health_insurance_cents"),
                                    ),
                                    "+",
                                    models.F("paid_medpay_cents"),
                                ),
                                "+",
                                models.F("paid_pip_cents"),
                            ),
                            "+",
                            models.F("paid_client_cents"),
                        ),
                    )
                ),
                name="cases_bill_outstanding_gte_0",
            ),
        ),
        migrations.AddConstraint(
            model_name="bill",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("service_from__isnull", True),
                    ("service_to__isnull", True),
                    ("service_to__gte", models.F("service_from")),
                    _connector="OR",
                ),
                name="cases_bill_service_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="bill",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("voided_on__isnull", True), ("lien__isnull", True), _connector="OR"
                ),
                name="cases_bill_void_has_no_lien",
            ),
        ),
    ]
