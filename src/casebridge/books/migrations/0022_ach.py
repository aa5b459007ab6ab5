"""ACH payments (issue 15, ADR 0046): payee bank details (the account number encrypted
with the books' data key), a bank account's ACH settings, NACHA batches and the ACH
payments marking checks paid by ACH. New tables only (Check and BankAccount unchanged)."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0021_tax_1099"),
    ]

    operations = [
        migrations.CreateModel(
            name="AchBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("effective_date", models.DateField()),
                ("file_id_modifier", models.CharField(max_length=1)),
                ("created_on", models.DateField()),
                ("file_text", models.TextField()),
                ("entry_count", models.PositiveIntegerField()),
                ("prenote_count", models.PositiveIntegerField(default=0)),
                ("total_credit_cents", models.BigIntegerField()),
                ("total_debit_cents", models.BigIntegerField()),
                ("entry_hash", models.BigIntegerField()),
                ("sent_on", models.DateField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
                (
                    "bank_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ach_batches",
                        to="books.bankaccount",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="books.user",
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
            ],
        ),
        migrations.CreateModel(
            name="AchSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("immediate_destination", models.CharField(max_length=9)),
                ("immediate_destination_name", models.CharField(max_length=23)),
                ("immediate_origin", models.CharField(max_length=10)),
                ("immediate_origin_name", models.CharField(max_length=23)),
                ("company_name", models.CharField(max_length=16)),
                ("company_id", models.CharField(max_length=10)),
                ("balanced", models.BooleanField(default=False)),
                ("updated_at", models.DateTimeField()),
                (
                    "bank_account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ach_settings",
                        to="books.bankaccount",
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
            name="PayeeBankAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("routing_number", models.CharField(max_length=9)),
                ("account_number_ciphertext", models.TextField()),
                (
                    "account_type",
                    models.CharField(
                        choices=[("checking", "Checking"), ("savings", "Savings")], max_length=10
                    ),
                ),
                (
                    "holder_kind",
                    models.CharField(
                        choices=[("person", "A person (PPD)"), ("business", "A business (CCD)")],
                        max_length=10,
                    ),
                ),
                (
                    "prenote_status",
                    models.CharField(
                        choices=[
                            ("none", "No prenote"),
                            ("pending", "Prenote to send"),
                            ("sent", "Prenote sent"),
                        ],
                        default="none",
                        max_length=10,
                    ),
                ),
                ("prenote_sent_on", models.DateField(blank=True, null=True)),
                ("is_active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField()),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payee_bank_accounts",
                        to="books.contact",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="books.user",
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
            ],
        ),
        migrations.CreateModel(
            name="AchPayment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("batched", "In a file"),
                            ("sent", "Sent"),
                            ("returned", "Returned"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("trace_number", models.CharField(blank=True, default="", max_length=15)),
                ("sent_on", models.DateField(blank=True, null=True)),
                ("returned_on", models.DateField(blank=True, null=True)),
                ("return_reason", models.CharField(blank=True, default="", max_length=255)),
                (
                    "batch",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payments",
                        to="books.achbatch",
                    ),
                ),
                (
                    "disbursement",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ach_payment",
                        to="books.check",
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
                    "payee_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payments",
                        to="books.payeebankaccount",
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="achbatch",
            constraint=models.UniqueConstraint(
                fields=("bank_account", "created_on", "file_id_modifier"),
                name="books_ach_batch_file_id_once_a_day",
            ),
        ),
        migrations.AddConstraint(
            model_name="achbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("total_credit_cents__gte", 0), ("total_debit_cents__gte", 0)),
                name="books_ach_batch_totals_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="achsettings",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.Exact(
                    django.db.models.functions.text.Length("immediate_destination"), 9
                ),
                name="books_ach_settings_destination_nine_digits",
            ),
        ),
        migrations.AddConstraint(
            model_name="achsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("company_id", ""), _negated=True),
                    models.Q(("company_name", ""), _negated=True),
                    models.Q(("immediate_origin", ""), _negated=True),
                ),
                name="books_ach_settings_company_present",
            ),
        ),
        migrations.AddConstraint(
            model_name="payeebankaccount",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_active", True)),
                fields=("contact",),
                name="books_payee_bank_one_active_per_contact",
            ),
        ),
        migrations.AddConstraint(
            model_name="payeebankaccount",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.Exact(
                    django.db.models.functions.text.Length("routing_number"), 9
                ),
                name="books_payee_bank_routing_nine_digits",
            ),
        ),
        migrations.AddConstraint(
            model_name="payeebankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("account_number_ciphertext", ""), _negated=True),
                name="books_payee_bank_account_number_present",
            ),
        ),
        migrations.AddConstraint(
            model_name="payeebankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("account_type__in", ["checking", "savings"])),
                name="books_payee_bank_account_type_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="payeebankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("holder_kind__in", ["person", "business"])),
                name="books_payee_bank_holder_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="payeebankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("prenote_sent_on__isnull", False), ("prenote_status", "sent")),
                    models.Q(
                        ("prenote_status__in", ["none", "pending"]),
                        ("prenote_sent_on__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="books_payee_bank_prenote_dated_when_sent",
            ),
        ),
        migrations.AddIndex(
            model_name="achpayment",
            index=models.Index(fields=["firm", "status", "id"], name="books_ach_queue"),
        ),
        migrations.AddConstraint(
            model_name="achpayment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status__in", ["queued", "cancelled"]), ("batch__isnull", True)),
                    models.Q(
                        ("status__in", ["batched", "sent", "returned"]), ("batch__isnull", False)
                    ),
                    _connector="OR",
                ),
                name="books_ach_payment_batched_has_batch",
            ),
        ),
        migrations.AddConstraint(
            model_name="achpayment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "returned"), _negated=True),
                    ("returned_on__isnull", False),
                    _connector="OR",
                ),
                name="books_ach_payment_returned_dated",
            ),
        ),
        migrations.AddConstraint(
            model_name="achpayment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("batch__isnull", False)),
                fields=("batch", "trace_number"),
                name="books_ach_payment_trace_once_per_batch",
            ),
        ),
    ]
