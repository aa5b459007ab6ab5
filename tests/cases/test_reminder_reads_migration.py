"""Migration 0020 (issue 16's lows) moves the reminders' single ``read_at`` to read marks
per person and keeps every read: an attorney's read reminder stays read for them; a
reminder to the administrators read before stays read for each administrator (as each of
them saw it); an unread one stays unread. A reminder "sending" gets the moment the screen
judged it by as its claim; going back puts one ``read_at`` per reminder again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("cases", "0019_pi_depth_indexes")]
AFTER = [("cases", "0020_pi_lows")]
AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def migrate(targets):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_reads_are_kept_per_person():
    old = migrate(BEFORE)
    try:
        firm = old.get_model("cases", "Firm").objects.create(code="lopez-pi", name="Lopez")
        user = old.get_model("cases", "User")
        people = {
            name: user.objects.create(
                firm=firm,
                email=f"{name}@lopez.test",
                is_firm_admin=name.startswith("admin"),
                is_attorney=name == "sam",
            )
            for name in ("admin-ana", "admin-zoe", "sam", "pat")
        }
        case = old.get_model("cases", "Case").objects.create(
            firm=firm,
            number="PI-000001",
            name="Lopez v. Acme",
            client=old.get_model("cases", "Contact").objects.create(firm=firm, name="Lopez"),
            case_type=old.get_model("cases", "CaseType").objects.create(firm=firm, name="Auto"),
            opened_on=AT.date(),
        )
        deadline = old.get_model("cases", "Deadline").objects.create(
            firm=firm,
            case=case,
            kind="manual",
            title="Answer due",
            due_date=dt.date(2026, 4, 1),
            created_at=AT,
        )
        reminder = old.get_model("cases", "DeadlineReminder")

        def remind(threshold: int, to, read_at, **email):  # type: ignore[no-untyped-def]
            return reminder.objects.create(
                firm=firm,
                deadline=deadline,
                due_date=deadline.due_date,
                threshold_days=threshold,
                user=to,
                created_at=AT,
                read_at=read_at,
                **email,
            ).pk

        sams_read = remind(90, people["sam"], AT + dt.timedelta(hours=1))
        admins_read = remind(60, None, AT + dt.timedelta(hours=2))
        unread = remind(30, None, None)
        sending = remind(
            7,
            people["sam"],
            None,
            email_status="sending",
            email_attempts=2,
            email_next_attempt_at=AT + dt.timedelta(hours=3),
        )
    finally:
        new = migrate(AFTER)
    read = new.get_model("cases", "DeadlineReminderRead")
    assert sorted(read.objects.values_list("reminder_id", "user__email", "read_at")) == [
        (sams_read, "sam@lopez.test", AT + dt.timedelta(hours=1)),
        (admins_read, "admin-ana@lopez.test", AT + dt.timedelta(hours=2)),
        (admins_read, "admin-zoe@lopez.test", AT + dt.timedelta(hours=2)),
    ]
    assert not read.objects.filter(reminder_id=unread).exists()
    claimed = new.get_model("cases", "DeadlineReminder").objects.values_list(
        "pk", "email_claimed_at"
    )
    assert dict(claimed) == {
        sams_read: None,
        admins_read: None,
        unread: None,
        sending: AT + dt.timedelta(hours=3),
    }
    # and back
    old = migrate(BEFORE)
    try:
        back = old.get_model("cases", "DeadlineReminder").objects.values_list("pk", "read_at")
        assert dict(back) == {
            sams_read: AT + dt.timedelta(hours=1),
            admins_read: AT + dt.timedelta(hours=2),
            unread: None,
            sending: None,
        }
    finally:
        migrate(AFTER)
