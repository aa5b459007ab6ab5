"""A link's check may be paid by ACH (ADR 0055): the check states gain the ACH payment's
(queued, in a file, sent, cleared). Only the choices change: no column is altered (Django
leaves the tables as they are on both databases)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bridge", "0010_digest_deltas"),
    ]

    operations = [
        migrations.AlterField(
            model_name="costlink",
            name="check_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("queued", "Queued for printing"),
                    ("printed", "Printed"),
                    ("void", "Void"),
                    ("missing", "Missing in the books"),
                    ("ach_queued", "ACH payment queued"),
                    ("ach_file", "ACH payment in a file"),
                    ("ach_sent", "ACH payment sent"),
                    ("ach_clear", "ACH payment cleared"),
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="trustitemlink",
            name="check_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("queued", "Queued for printing"),
                    ("printed", "Printed"),
                    ("void", "Void"),
                    ("missing", "Missing in the books"),
                    ("ach_queued", "ACH payment queued"),
                    ("ach_file", "ACH payment in a file"),
                    ("ach_sent", "ACH payment sent"),
                    ("ach_clear", "ACH payment cleared"),
                ],
                max_length=10,
            ),
        ),
    ]
