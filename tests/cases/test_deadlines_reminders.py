"""Deadline reminders at 90/60/30/7 days: made once per deadline, due date and threshold
however often the job runs, for the case's responsible attorney, emailed where mail is
configured."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings

from casebridge.cases import tasks
from casebridge.cases.models import DeadlineReminder
from casebridge.cases.selectors import deadlines as deadline_selectors
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines


@pytest.fixture
def case_with_deadlines(cfirm, cadmin, case, today):
    """Deadlines 100, 75, 45, 20 and 5 days away, one overdue and one due today."""
    made = {}
    for days in (100, 75, 45, 20, 5, 0, -1):
        made[days] = deadlines.deadline_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            title=f"Deadline in {days} days",
            due_date=today + dt.timedelta(days=days),
        )
    return made


def reminders() -> list[tuple[str, int, str]]:
    return sorted(
        DeadlineReminder.objects.values_list("deadline__title", "threshold_days", "user__email")
    )


def test_the_nearest_threshold_reached_is_reminded_once(case_with_deadlines, today):
    first = deadlines.deadline_reminders_send(today=today)
    second = deadlines.deadline_reminders_send(today=today)
    assert (first.made, second.made) == (5, 0)
    assert reminders() == [
        ("Deadline in 0 days", 7, "sam.smith@lopez.test"),
        ("Deadline in 20 days", 30, "sam.smith@lopez.test"),
        ("Deadline in 45 days", 60, "sam.smith@lopez.test"),
        ("Deadline in 5 days", 7, "sam.smith@lopez.test"),
        ("Deadline in 75 days", 90, "sam.smith@lopez.test"),
    ]


def test_the_task_run_twice_makes_each_reminder_and_email_once(case_with_deadlines, today):
    tasks.deadline_reminders_hourly.call_local()
    tasks.deadline_reminders_hourly.call_local()
    assert DeadlineReminder.objects.count() == 5
    assert len(mail.outbox) == 5
    message = next(m for m in mail.outbox if "in 20 days" in m.subject)
    assert message.to == ["sam.smith@lopez.test"]
    assert message.subject.startswith("Deadline in 20 days: case PI-")
    assert "Deadline in 20 days" in message.body
    assert set(DeadlineReminder.objects.values_list("email_status", flat=True)) == {"sent"}


def test_days_later_the_next_threshold_is_reminded(case_with_deadlines, today):
    deadlines.deadline_reminders_send(today=today)
    later = today + dt.timedelta(days=15)  # 100 -> 85 days, 75 -> 60, 45 -> 30, 20 -> 5
    run = deadlines.deadline_reminders_send(today=later)
    assert run.made == 4
    assert sorted(DeadlineReminder.objects.values_list("deadline__title", "threshold_days")) == (
        sorted(
            [
                ("Deadline in 100 days", 90),
                ("Deadline in 0 days", 7),
                ("Deadline in 20 days", 7),
                ("Deadline in 20 days", 30),
                ("Deadline in 45 days", 30),
                ("Deadline in 45 days", 60),
                ("Deadline in 5 days", 7),
                ("Deadline in 75 days", 60),
                ("Deadline in 75 days", 90),
            ]
        )
    )


def test_a_satisfied_deadline_gets_no_reminder(cfirm, cadmin, case_with_deadlines, today):
    deadlines.deadline_satisfy(firm=cfirm, actor=cadmin, deadline_id=case_with_deadlines[5].pk)
    deadlines.deadline_reminders_send(today=today)
    assert not DeadlineReminder.objects.filter(deadline=case_with_deadlines[5]).exists()


def test_a_moved_due_date_is_reminded_again(cfirm, cadmin, case_with_deadlines, today):
    deadlines.deadline_reminders_send(today=today)
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=case_with_deadlines[5].pk,
        due_date=today + dt.timedelta(days=6),
        reason="Court moved the hearing",
    )
    assert deadlines.deadline_reminders_send(today=today).made == 1
    assert DeadlineReminder.objects.filter(deadline=case_with_deadlines[5]).count() == 2


@override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
def test_without_mail_the_reminders_are_in_app_only(case_with_deadlines, today):
    run = deadlines.deadline_reminders_send(today=today)
    assert (run.made, run.emailed) == (5, 0)
    assert mail.outbox == []
    assert set(DeadlineReminder.objects.values_list("email_status", flat=True)) == {
        "no_mail_configured"
    }


def test_a_case_without_an_attorney_reminds_the_firm_administrator(
    cfirm, cadmin, client_contact, today
):
    case = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Doe v. Roe", client_id=client_contact.pk
    )
    deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        title="Answer due",
        due_date=today + dt.timedelta(days=3),
    )
    deadlines.deadline_reminders_send(today=today)
    reminder = DeadlineReminder.objects.get()
    assert (reminder.user, reminder.email_status) == (None, "sent")
    assert [m.to for m in mail.outbox] == [["admin@lopez.test"]]


def test_the_attorney_sees_unread_reminders_until_read(cattorney, case_with_deadlines, today):
    deadlines.deadline_reminders_send(today=today)
    count, rows = deadline_selectors.unread_reminders(cattorney)
    assert count == 5
    assert len(rows) == 5
    assert deadlines.reminders_mark_read(user=cattorney) == 5
    assert deadline_selectors.unread_reminders(cattorney) == (0, [])


def test_the_home_card_counts_the_next_90_days_and_the_overdue(cfirm, case_with_deadlines, today):
    assert deadline_selectors.due_within(cfirm, today) == (5, 1)
