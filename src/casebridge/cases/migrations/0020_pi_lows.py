"""Issue 16's lows (ADR 0052).

- ``DeadlineReminder.email_claimed_at``: when the sending run claimed a reminder, so that a
  send going out now is told from one cut off long ago (a late hourly run's retry was
  shown "cut off" while it was being sent). Reminders "sending" today take the moment the
  screen judged them by before (their retry time, else their creation).
- ``DeadlineReminderRead``: read marks per person. One administrator's "mark read" of a
  reminder addressed to the administrators as a group marked it read for all of them.
  Existing reads are kept: a reminder's own reader keeps the mark; a group reminder read
  before stays read for each of the firm's administrators (as each of them saw it), and
  the single ``read_at`` column goes.
- ``LimitationRule`` orders a rule open to any earlier incident date first on both
  databases (no SQL: the model's default ordering).

Adding a nullable column and dropping one without an index are ``ALTER TABLE`` on both
databases; ``cases_deadlinereminder`` carries no trigger.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.functions import Coalesce

BATCH = 2000


def reads_per_person(apps, schema_editor):  # type: ignore[no-untyped-def]
    reminder = apps.get_model("cases", "DeadlineReminder")
    read = apps.get_model("cases", "DeadlineReminderRead")
    user = apps.get_model("cases", "User")
    admins: dict[int, list[int]] = {}
    for firm_id, user_id in user.objects.filter(is_firm_admin=True).values_list("firm_id", "pk"):
        admins.setdefault(firm_id, []).append(user_id)
    rows = []
    for pk, firm_id, user_id, read_at in (
        reminder.objects.filter(read_at__isnull=False)
        .order_by("pk")
        .values_list("pk", "firm_id", "user_id", "read_at")
        .iterator(chunk_size=BATCH)
    ):
        readers = [user_id] if user_id is not None else admins.get(firm_id, [])
        rows += [read(reminder_id=pk, user_id=u, read_at=read_at) for u in readers]
        if len(rows) >= BATCH:
            read.objects.bulk_create(rows)
            rows = []
    read.objects.bulk_create(rows)
    reminder.objects.filter(email_status="sending").update(
        email_claimed_at=Coalesce("email_next_attempt_at", "created_at")
    )


def reads_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Back to one ``read_at`` per reminder: the first read of anyone it was addressed to."""
    reminder = apps.get_model("cases", "DeadlineReminder")
    read = apps.get_model("cases", "DeadlineReminderRead")
    reminder.objects.update(
        read_at=models.Subquery(
            read.objects.filter(reminder_id=models.OuterRef("pk"))
            .order_by("read_at")
            .values("read_at")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0019_pi_depth_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="deadlinereminder",
            name="email_claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="DeadlineReminderRead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("read_at", models.DateTimeField()),
                (
                    "reminder",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reads",
                        to="cases.deadlinereminder",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reminder_reads",
                        db_index=False,
                        to="cases.user",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "reminder"), name="cases_reminder_read_once"
                    )
                ],
            },
        ),
        migrations.RunPython(reads_per_person, reads_back),
        migrations.RemoveIndex(
            model_name="deadlinereminder",
            name="cases_reminder_unread",
        ),
        migrations.RemoveField(
            model_name="deadlinereminder",
            name="read_at",
        ),
        migrations.AlterModelOptions(
            name="limitationrule",
            options={
                "ordering": [
                    "state",
                    "claim_type",
                    "rule_type",
                    models.OrderBy(models.F("effective_from"), nulls_first=True),
                    "id",
                ]
            },
        ),
    ]
