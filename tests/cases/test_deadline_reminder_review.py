"""Deadline reminders, a further review of ADR 0052's code:

- the retry's claim keeps all its conditions on the reminder's own row (the deadline's
  check an ``EXISTS``), so PostgreSQL re-checks "still failed" on a row a racing run just
  claimed (the race itself: ``test_reminder_claim_race``);
- each retry is claimed, and a failure's next attempt counted, at the moment it happens,
  not at the run's start: a run held up by a slow mail server shows its late sends as
  "Sending now", never "Cut off while sending";
- the unread reminders leave out those of a deadline satisfied or moved since, and an
  administrator is not handed the reminders to the administrators made before they became
  one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from casebridge.cases.models import Deadline, DeadlineReminder
from casebridge.cases.selectors import deadlines as deadline_selectors
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines, firms
from casebridge.core import clock

HOUR = dt.timedelta(hours=1)
#: What a blackholed mail server costs each message: the whole SMTP timeout.
SMTP_TIMEOUT = dt.timedelta(seconds=30)
REFUSED = "mail.lopez.test:587 timed out"


class Clock:
    """``clock.now()`` as the test moves it."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


class SlowMail(EmailBackend):
    """The locmem backend behind a slow mail server: each message waits out the SMTP
    timeout, then is refused while ``down``, else delivered. ``during`` runs as a message
    goes out (what a person sees at that moment)."""

    down = True
    clock: Clock | None = None
    during: list = []  # type: ignore[type-arg]

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        for look in SlowMail.during:
            look()
        assert SlowMail.clock is not None
        SlowMail.clock.at += SMTP_TIMEOUT
        if SlowMail.down:
            raise TimeoutError(REFUSED)
        return super().send_messages(messages)


@pytest.fixture
def ticking(monkeypatch) -> Clock:
    now = Clock(clock.now())
    monkeypatch.setattr(clock, "now", now)
    return now


@pytest.fixture
def slow_mail(ticking) -> Iterator[type[SlowMail]]:
    SlowMail.down, SlowMail.clock, SlowMail.during = True, ticking, []
    with override_settings(EMAIL_BACKEND="tests.cases.test_deadline_reminder_review.SlowMail"):
        yield SlowMail
    SlowMail.down, SlowMail.clock, SlowMail.during = True, None, []


def due_in(cfirm, cadmin, case, today, days: int, title: str) -> Deadline:
    return deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        title=title,
        due_date=today + dt.timedelta(days=days),
    )


def failed_four_hours_ago(slow_mail, ticking, today) -> dt.datetime:
    """The reminders made and their first emails refused four hours ago; the clock back at
    the hourly run that tries them again (due three hours ago)."""
    started = ticking.at
    ticking.at = started - 4 * HOUR
    deadlines.deadline_reminders_send(today=today)
    ticking.at = started
    assert set(DeadlineReminder.objects.values_list("email_status", "email_attempts")) == {
        ("failed", 1)
    }
    return started


# --- The claim, on the reminder's own row -----------------------------------------------


def test_a_retry_is_claimed_with_every_condition_on_the_reminder_s_row(
    slow_mail, ticking, cfirm, cadmin, case, today
):
    due_in(cfirm, cadmin, case, today, 20, "Answer due")
    failed_four_hours_ago(slow_mail, ticking, today)
    slow_mail.down = False
    with CaptureQueriesContext(connection) as queries:
        assert deadlines.deadline_reminders_retry(today=today) == (1, 1)
    claims = [q["sql"] for q in queries.captured_queries if "'sending'" in q["sql"]]
    assert len(claims) == 1, claims
    where = claims[0].partition(" WHERE ")[2]
    # not "id IN (SELECT ... JOIN cases_deadline ...)", whose outer WHERE is only the id
    assert " IN (SELECT" not in where
    deadline_check = re.search(r"EXISTS\(SELECT .*? LIMIT 1\)", where)
    assert deadline_check is not None, where
    assert "U0.\"status\" = 'open'" in deadline_check.group(0)
    own = where.replace(deadline_check.group(0), "")
    assert '"cases_deadlinereminder"."email_status" = \'failed\'' in own
    assert '"cases_deadlinereminder"."email_next_attempt_at" <= ' in own
    assert [m.to for m in mail.outbox] == [["sam.smith@lopez.test"]]


# --- Each retry stamped when it happens ---------------------------------------------------


def test_the_last_retries_of_a_run_held_up_by_a_slow_mail_server_show_sending_now(
    slow_mail, ticking, cfirm, cadmin, case, today
):
    for k in range(32):
        due_in(cfirm, cadmin, case, today, 20, f"Disclosure {k:02d}")
    started = failed_four_hours_ago(slow_mail, ticking, today)
    seen: list[list[str]] = []

    def look() -> None:  # the deadlines screen's list, as the message goes out
        _, rows = deadline_selectors.reminder_email_problems(cfirm, clock.now())
        seen.append([r.delivery for r in rows if r.delivery != "failed"])

    slow_mail.down, slow_mail.during = False, [look]
    assert deadlines.deadline_reminders_retry(today=today) == (32, 32)
    # the 32nd goes out 15.5 minutes after the run started (claimed then, not at the start)
    assert seen == [["sending"]] * 32
    claimed = DeadlineReminder.objects.order_by("email_claimed_at").values_list(
        "email_claimed_at", flat=True
    )
    assert list(claimed) == [started + k * SMTP_TIMEOUT for k in range(32)]
    assert len(mail.outbox) == 32
    assert deadline_selectors.reminder_email_problems(cfirm, clock.now()) == (0, [])


def test_a_retry_refused_late_in_a_run_is_tried_again_counted_from_its_refusal(
    slow_mail, ticking, cfirm, cadmin, case, today
):
    for title in ("Answer due", "Expert disclosure", "Mediation statement"):
        due_in(cfirm, cadmin, case, today, 20, title)
    started = failed_four_hours_ago(slow_mail, ticking, today)
    assert deadlines.deadline_reminders_retry(today=today) == (3, 0)
    rows = DeadlineReminder.objects.order_by("pk").values_list(
        "email_attempts", "email_claimed_at", "email_next_attempt_at"
    )
    # each claimed as its turn came, and tried again two hours after its own refusal
    assert list(rows) == [
        (2, started + k * SMTP_TIMEOUT, started + (k + 1) * SMTP_TIMEOUT + 2 * HOUR)
        for k in range(3)
    ]
    # the run's start still says which are due: not one of them again before its time
    ticking.at = started + 2 * HOUR + SMTP_TIMEOUT
    assert deadlines.deadline_reminders_retry(today=today) == (1, 0)


# --- Unread: what still applies, since one became an administrator ------------------------


def titles(user) -> tuple[int, list[str]]:
    count, rows = deadline_selectors.unread_reminders(user)
    return count, sorted(r.deadline.title for r in rows)


def test_a_reminder_of_a_deadline_satisfied_or_moved_since_is_no_longer_unread(
    cfirm, cadmin, cattorney, case, today
):
    _, expert, mediation = (
        due_in(cfirm, cadmin, case, today, days, title)
        for days, title in ((20, "Answer due"), (5, "Expert disclosure"), (60, "Mediation"))
    )
    deadlines.deadline_reminders_send(today=today)
    assert titles(cattorney) == (3, ["Answer due", "Expert disclosure", "Mediation"])
    deadlines.deadline_satisfy(firm=cfirm, actor=cadmin, deadline_id=expert.pk)
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=mediation.pk,
        due_date=today + dt.timedelta(days=75),
        reason="Mediator unavailable",
    )
    assert titles(cattorney) == (1, ["Answer due"])
    # "Mark all read" marks what is listed, nothing superseded
    assert deadlines.reminders_mark_read(user=cattorney) == 1
    assert titles(cattorney) == (0, [])
    # moved back to the date it reminded of, its reminder applies again
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=mediation.pk,
        due_date=today + dt.timedelta(days=60),
        reason="Mediator available after all",
    )
    assert titles(cattorney) == (1, ["Mediation"])


def test_a_new_administrator_is_not_handed_the_administrators_earlier_reminders(
    ticking, cfirm, cadmin, paralegal, client_contact, today
):
    orphan = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Doe v. Roe", client_id=client_contact.pk
    )
    reply = due_in(cfirm, cadmin, orphan, today, 80, "Reply due")
    due_in(cfirm, cadmin, orphan, today, 5, "Answer due")
    deadlines.deadline_reminders_send(today=today)
    assert titles(cadmin) == (2, ["Answer due", "Reply due"])
    ticking.at += 24 * HOUR
    firms.user_update(user=paralegal, actor=cadmin, is_firm_admin=True)
    zoe = firms.user_create(
        firm=cfirm,
        actor=cadmin,
        email="zoe.admin@lopez.test",
        password="x-Very-long-passphrase-42",
        is_firm_admin=True,
    )
    paralegal.refresh_from_db()
    assert titles(paralegal) == titles(zoe) == (0, [])
    assert deadlines.reminders_mark_read(user=paralegal) == 0
    # a reminder made since is theirs as much as Ana's: 60 days before the reply is due
    # (the answer overdue by then)
    ticking.at += HOUR
    deadlines.deadline_reminders_send(today=reply.due_date - dt.timedelta(days=60))
    assert titles(paralegal) == titles(zoe) == (1, ["Reply due"])
    assert titles(cadmin) == (3, ["Answer due", "Reply due", "Reply due"])
    # an administrator again after a spell without the role: counted from the latest
    firms.user_update(user=paralegal, actor=cadmin, is_firm_admin=False)
    ticking.at += HOUR
    firms.user_update(user=paralegal, actor=cadmin, is_firm_admin=True)
    paralegal.refresh_from_db()
    assert titles(paralegal) == (0, [])
    assert titles(zoe) == (1, ["Reply due"])
