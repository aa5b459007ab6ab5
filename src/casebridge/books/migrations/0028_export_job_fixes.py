"""Export job review fixes: a job counts the workers that took it (``attempt``: only the
current one writes to the row) and records when it last made progress (``progress_at``:
the sweep fails a job that made none for six hours, not one that started six hours ago).
The jobs running now are given their start as their last progress, and the jobs queued
or running lose the expiry an earlier failure left them (the sweep would delete them)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0026_fee_line_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="exportjob",
            name="attempt",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="exportjob",
            name="progress_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            "UPDATE books_exportjob SET progress_at = started_at, attempt = 1 "
            "WHERE status = 'running'",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE books_exportjob SET expires_at = NULL WHERE status IN ('queued', 'running')",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
