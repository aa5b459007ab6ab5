"""The prenote's file (ADR 0055): a payee's bank details remember the NACHA file that
carried their prenote, whose effective entry date starts the wait before a live entry.

Prenotes sent before this migration are traced to their file: the first of the firm's
files made on the prenote's day that carried prenotes and was made once the bank details
were there (a file takes every prenote still to send, so that first file carried it; a
later one of the day carried another payee's). The column is nullable, so SQLite adds it
without rebuilding the table.
"""

import django.db.models.deletion
from django.db import migrations, models


def trace_prenote_files(apps, schema_editor):  # type: ignore[no-untyped-def]
    PayeeBankAccount = apps.get_model("books", "PayeeBankAccount")
    AchBatch = apps.get_model("books", "AchBatch")
    sent = PayeeBankAccount.objects.filter(prenote_status="sent", prenote_batch__isnull=True)
    for account in sent.order_by("pk"):
        batch = (
            AchBatch.objects.filter(
                firm_id=account.firm_id,
                created_on=account.prenote_sent_on,
                prenote_count__gt=0,
                created_at__gte=account.created_at,
            )
            .order_by("created_at", "pk")
            .first()
        )
        if batch is not None:
            PayeeBankAccount.objects.filter(pk=account.pk).update(prenote_batch=batch)


class Migration(migrations.Migration):
    dependencies = [("books", "0028_export_job_fixes")]

    operations = [
        migrations.AddField(
            model_name="payeebankaccount",
            name="prenote_batch",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="prenotes",
                to="books.achbatch",
            ),
        ),
        migrations.AddConstraint(
            model_name="payeebankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("prenote_batch__isnull", True), ("prenote_status", "sent"), _connector="OR"
                ),
                name="books_payee_bank_prenote_file_when_sent",
            ),
        ),
        migrations.RunPython(trace_prenote_files, migrations.RunPython.noop),
    ]
