"""Review of issue 16, deadline reminders: an email that failed is tried again with
backoff by the hourly task and shown to the firm's administrators until it goes; one that
went is never sent again; a case without a responsible attorney has its reminders sent to
the administrators (and shown to them), not to nobody."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import override_settings

from casebridge.cases.models import DeadlineReminder
from casebridge.cases.selectors import deadlines as deadline_selectors
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines, firms

NOW = dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


class MailServerDown(EmailBackend):
    """The locmem backend, refusing every message while ``down`` is set."""

    down = True

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        if MailServerDown.down:
            raise ConnectionRefusedError("mail.lopez.test:587 refused the connection")
        return super().send_messages(messages)


@pytest.fixture
def mail_down():
    MailServerDown.down = True
    with override_settings(EMAIL_BACKEND="tests.cases.test_deadline_reminder_fixes.MailServerDown"):
        yield MailServerDown
    MailServerDown.down = True


@pytest.fixture
def answer_due(cfirm, cadmin, case, today):
    return deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        title="Answer due",
        due_date=today + dt.timedelta(days=20),
    )


def delivery(reminder: DeadlineReminder) -> tuple:
    reminder.refresh_from_db()
    return (
        reminder.email_status,
        reminder.email_attempts,
        reminder.email_next_attempt_at,
        reminder.email_last_error,
    )


def test_a_failed_email_is_tried_again_with_backoff_until_it_goes_once(
    mail_down, answer_due, today, cfirm
):
    run = deadlines.deadline_reminders_send(today=today, now=NOW)
    assert (run.made, run.emailed) == (1, 0)
    reminder = DeadlineReminder.objects.get()
    error = "mail.lopez.test:587 refused the connection"
    assert delivery(reminder) == ("failed", 1, NOW + HOUR, error)
    # not due again before its time
    early = deadlines.deadline_reminders_send(today=today, now=NOW + HOUR / 2)
    assert (early.made, early.retried) == (0, 0)
    # an hour later it fails again: the next try is two hours on
    again = deadlines.deadline_reminders_send(today=today, now=NOW + HOUR)
    assert (again.retried, again.resent) == (1, 0)
    assert delivery(reminder) == ("failed", 2, NOW + 3 * HOUR, error)
    mail_down.down = False
    went = deadlines.deadline_reminders_send(today=today, now=NOW + 3 * HOUR)
    assert (went.retried, went.resent) == (1, 1)
    assert delivery(reminder) == ("sent", 3, None, error)
    assert [m.to for m in mail.outbox] == [["sam.smith@lopez.test"]]
    assert mail.outbox[0].subject.startswith("Deadline in 20 days: case PI-")
    # sent: never again, however often the task runs
    for hours in (4, 24, 100):
        later = deadlines.deadline_reminders_send(today=today, now=NOW + hours * HOUR)
        assert (later.made, later.retried) == (0, 0)
    assert len(mail.outbox) == 1


def test_an_email_that_keeps_failing_is_given_up_after_six_attempts(mail_down, answer_due, today):
    deadlines.deadline_reminders_send(today=today, now=NOW)
    reminder = DeadlineReminder.objects.get()
    waits = []
    at = NOW
    for _ in range(5):
        at = reminder.email_next_attempt_at
        waits.append((at - NOW) / HOUR)
        deadlines.deadline_reminders_retry(today=today, now=at)
        reminder.refresh_from_db()
    assert waits == [1, 3, 7, 15, 31]
    assert delivery(reminder)[:3] == ("gave_up", 6, None)
    assert deadlines.deadline_reminders_retry(today=today, now=at + 100 * HOUR) == (0, 0)
    assert mail.outbox == []


def test_a_reminder_claimed_by_a_racing_run_is_not_sent_twice(mail_down, answer_due, today):
    deadlines.deadline_reminders_send(today=today, now=NOW)
    reminder = DeadlineReminder.objects.get()
    mail_down.down = False
    # another run claimed it a moment ago (it is "sending"): this run leaves it alone
    DeadlineReminder.objects.filter(pk=reminder.pk).update(email_status="sending")
    assert deadlines.deadline_reminders_retry(today=today, now=NOW + HOUR) == (0, 0)
    assert mail.outbox == []


def test_the_administrators_see_the_emails_that_did_not_go(mail_down, answer_due, today, cfirm):
    deadlines.deadline_reminders_send(today=today, now=NOW)
    count, rows = deadline_selectors.reminder_email_problems(cfirm, NOW)
    assert count == 1
    assert [(r.deadline_title, r.delivery, r.email_to) for r in rows] == [
        ("Answer due", "failed", "sam.smith@lopez.test")
    ]
    mail_down.down = False
    deadlines.deadline_reminders_retry(today=today, now=NOW + HOUR)
    assert deadline_selectors.reminder_email_problems(cfirm, NOW + HOUR) == (0, [])


def test_a_satisfied_deadline_s_failed_email_is_not_tried_again(
    mail_down, answer_due, today, cfirm, cadmin
):
    deadlines.deadline_reminders_send(today=today, now=NOW)
    deadlines.deadline_satisfy(firm=cfirm, actor=cadmin, deadline_id=answer_due.pk)
    mail_down.down = False
    assert deadlines.deadline_reminders_retry(today=today, now=NOW + HOUR) == (0, 0)
    assert mail.outbox == []


def test_a_case_without_an_attorney_reminds_the_administrators(
    cfirm, cadmin, cattorney, client_contact, today
):
    second_admin = firms.user_create(
        firm=cfirm,
        actor=None,
        email="zoe.admin@lopez.test",
        password="x-Very-long-passphrase-42",
        first_name="Zoe",
        last_name="Admin",
        is_firm_admin=True,
    )
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
    run = deadlines.deadline_reminders_send(today=today, now=NOW)
    assert (run.made, run.emailed) == (1, 1)
    reminder = DeadlineReminder.objects.get()
    assert (reminder.user, reminder.email_status, reminder.email_to) == (
        None,
        "sent",
        "admin@lopez.test, zoe.admin@lopez.test",
    )
    assert [m.to for m in mail.outbox] == [["admin@lopez.test", "zoe.admin@lopez.test"]]
    assert "The case has no responsible attorney: assign one." in mail.outbox[0].body
    # in the app: every administrator sees it, the attorney (not on the case) does not;
    # each administrator reads it for themselves (issue 16's lows)
    assert deadline_selectors.unread_reminders(cadmin)[0] == 1
    assert deadline_selectors.unread_reminders(second_admin)[0] == 1
    assert deadline_selectors.unread_reminders(cattorney) == (0, [])
    assert deadlines.reminders_mark_read(user=second_admin) == 1
    assert deadline_selectors.unread_reminders(second_admin) == (0, [])
    assert deadline_selectors.unread_reminders(cadmin)[0] == 1


def test_the_deadlines_screen_shows_the_administrators_what_did_not_go_and_who_has_no_attorney(
    mail_down, cfirm, cadmin, cattorney, client_contact, answer_due, today
):
    from django.test import Client
    from django.urls import reverse

    from tests.cases.web.conftest import sign_in, text

    orphan = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Doe v. Roe", client_id=client_contact.pk
    )
    deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=orphan.pk,
        title="Reply due",
        due_date=today + dt.timedelta(days=40),
    )
    deadlines.deadline_reminders_send(today=today)
    page = re.sub(r"<[^>]+>", " ", text(sign_in(Client(), cadmin).get(reverse("cases:deadlines"))))
    page = " ".join(page.split())
    assert "Reminder emails not delivered (2)" in page
    assert "Failed after 1 attempt;" in page
    assert "mail.lopez.test:587 refused the connection" in page
    assert "No attorney reminders go to the administrators" in page
    # the attorney sees the deadlines, not the firm's delivery problems
    theirs = text(sign_in(Client(), cattorney).get(reverse("cases:deadlines")))
    assert "Reply due" in theirs
    assert "Reminder emails not delivered" not in theirs
