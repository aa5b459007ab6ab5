"""The deadlines screen filtered by kind at 100,000 cases (bench/pi_depth.py): an index on
the open deadlines by firm, kind and due date, so that a kind's first page is read from
the index in due-date order instead of filtering past every other kind's deadlines (ADR
0048). An index only: no table is rebuilt on SQLite (``cases_deadline`` carries the
no-delete trigger of migration 0014)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0018_deadline_fixes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deadline",
            index=models.Index(
                fields=["firm", "status", "kind", "due_date", "id"], name="cases_deadline_kind_due"
            ),
        ),
    ]
