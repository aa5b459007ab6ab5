"""Issue 16's lows, the deadlines side (ADR 0052):

- a reminder email being tried again right now shows "Sending now", not "Cut off while
  sending", however late the hourly run that claimed it; one claimed long ago and never
  finished is still shown cut off;
- a failed reminder of a deadline moved or satisfied since is superseded: it leaves the
  "not delivered" list and is never tried again;
- the rule in effect, and the rules' list, order an open-ended start the same on both
  databases (a rule with a start date beats one open to any earlier date);
- "mark read" is each person's: an administrator reading a reminder addressed to the
  administrators leaves it unread for the others;
- the deadlines screen reads the attorneys of its filter once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import re
from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casebridge.cases.models import Deadline, DeadlineReminder, LimitationRule
from casebridge.cases.selectors import deadlines as deadline_selectors
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines, firms
from casebridge.core import clock
from tests.cases.web.conftest import sign_in, text

HOUR = dt.timedelta(hours=1)
REFUSED = "mail.lopez.test:587 refused the connection"


class FlakyMail(EmailBackend):
    """The locmem backend: refuses every message while ``down``; otherwise runs ``during``
    (what a person sees while the message is on its way) before it delivers."""

    down = True
    during: list = []  # type: ignore[type-arg]

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        if FlakyMail.down:
            raise ConnectionRefusedError(REFUSED)
        for look in FlakyMail.during:
            look()
        return super().send_messages(messages)


class WorkerKilled(BaseException):
    """The worker's process killed mid-send: not an exception the send may catch."""


@pytest.fixture
def flaky_mail() -> Iterator[type[FlakyMail]]:
    FlakyMail.down, FlakyMail.during = True, []
    with override_settings(EMAIL_BACKEND="tests.cases.test_deadline_lows.FlakyMail"):
        yield FlakyMail
    FlakyMail.down, FlakyMail.during = True, []


@pytest.fixture
def answer_due(cfirm, cadmin, case, today) -> Deadline:
    return deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        title="Answer due",
        due_date=today + dt.timedelta(days=20),
    )


def undelivered_cell(page: str) -> str:
    """The "Delivery" cell of the one row of "Reminder emails not delivered", as read."""
    cells = re.findall(r'<td data-label="Delivery">(.*?)</td>', page, re.S)
    assert len(cells) == 1, cells
    return " ".join(re.sub(r"<[^>]+>", " ", cells[0]).split())


# --- Sending now, or cut off -------------------------------------------------------------


def test_a_retry_sent_by_a_late_hourly_run_shows_sending_now_not_cut_off(
    flaky_mail, answer_due, cfirm, cadmin, today
):
    started = clock.now()
    # the first attempt failed four hours ago: due again three hours ago, and the hourly
    # run that tries it again only comes now (the worker was down meanwhile)
    deadlines.deadline_reminders_send(today=today, now=started - 4 * HOUR)
    reminder = DeadlineReminder.objects.get()
    assert (reminder.email_status, reminder.email_attempts) == ("failed", 1)
    assert reminder.email_next_attempt_at == started - 3 * HOUR
    admin = sign_in(Client(), cadmin)
    seen: list[tuple[object, ...]] = []

    def look() -> None:
        seen.append(undelivered_cell(text(admin.get(reverse("cases:deadlines")))))
        count, rows = deadline_selectors.reminder_email_problems(cfirm, clock.now())
        seen.append((count, [(r.delivery, r.attempts, r.email_to) for r in rows]))

    flaky_mail.down, flaky_mail.during = False, [look]
    assert deadlines.deadline_reminders_retry(today=today) == (1, 1)
    assert seen == [
        f"Sending now : attempt 2 {REFUSED}",
        (1, [("sending", 2, "sam.smith@lopez.test")]),
    ]
    # gone: off the list
    assert deadline_selectors.reminder_email_problems(cfirm, clock.now()) == (0, [])
    assert [m.to for m in mail.outbox] == [["sam.smith@lopez.test"]]


def test_a_send_cut_off_long_ago_is_shown_cut_off_and_a_first_send_going_out_is_not_listed(
    flaky_mail, answer_due, cfirm, cadmin, today
):
    def killed() -> None:
        raise WorkerKilled

    flaky_mail.down, flaky_mail.during = False, [killed]
    with pytest.raises(WorkerKilled):  # claimed 20 minutes ago, never finished
        deadlines.deadline_reminders_send(today=today, now=clock.now() - 20 * 60 * HOUR / 3600)
    reminder = DeadlineReminder.objects.get()
    assert (reminder.email_status, reminder.email_attempts) == ("sending", 1)
    count, rows = deadline_selectors.reminder_email_problems(cfirm, clock.now())
    assert (count, [(r.pk, r.delivery, r.attempts) for r in rows]) == (
        1,
        [(reminder.pk, "cut_off", 1)],
    )
    page = text(sign_in(Client(), cadmin).get(reverse("cases:deadlines")))
    assert undelivered_cell(page) == "Cut off while sending : it may not have gone"
    # a first send claimed a moment ago is on its way: nothing has failed yet
    assert deadline_selectors.reminder_email_problems(
        cfirm, reminder.email_claimed_at + 14 * 60 * HOUR / 3600
    ) == (0, [])


# --- A reminder superseded --------------------------------------------------------------


def test_a_failed_reminder_leaves_the_list_and_is_not_retried_once_its_deadline_moves(
    flaky_mail, answer_due, cfirm, cadmin, today
):
    started = clock.now()
    deadlines.deadline_reminders_send(today=today, now=started - 2 * HOUR)
    assert deadline_selectors.reminder_email_problems(cfirm, started)[0] == 1
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=answer_due.pk,
        due_date=today + dt.timedelta(days=45),
        reason="Stipulated extension",
    )
    assert deadline_selectors.reminder_email_problems(cfirm, started) == (0, [])
    page = text(sign_in(Client(), cadmin).get(reverse("cases:deadlines")))
    assert "Reminder emails not delivered" not in page
    flaky_mail.down = False
    assert deadlines.deadline_reminders_retry(today=today, now=started) == (0, 0)
    assert mail.outbox == []
    # moved back to the date it reminded of, it applies again: listed, and tried again
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=answer_due.pk,
        due_date=today + dt.timedelta(days=20),
        reason="Extension withdrawn",
    )
    assert deadline_selectors.reminder_email_problems(cfirm, started)[0] == 1
    assert deadlines.deadline_reminders_retry(today=today, now=started) == (1, 1)


def test_a_given_up_or_cut_off_reminder_leaves_the_list_once_its_deadline_is_satisfied(
    flaky_mail, cfirm, cadmin, case, today
):
    given_up, cut_off = (
        deadlines.deadline_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            title=title,
            due_date=today + dt.timedelta(days=days),
        )
        for title, days in (("Answer due", 20), ("Expert disclosure", 5))
    )
    long_ago = clock.now() - 3 * HOUR
    deadlines.deadline_reminders_send(today=today, now=long_ago)
    DeadlineReminder.objects.filter(deadline=given_up).update(
        email_status="gave_up", email_attempts=6, email_next_attempt_at=None
    )
    DeadlineReminder.objects.filter(deadline=cut_off).update(
        email_status="sending", email_claimed_at=long_ago
    )
    count, rows = deadline_selectors.reminder_email_problems(cfirm, clock.now())
    assert (count, sorted((r.deadline_title, r.delivery) for r in rows)) == (
        2,
        [("Answer due", "gave_up"), ("Expert disclosure", "cut_off")],
    )
    for deadline in (given_up, cut_off):
        deadlines.deadline_satisfy(firm=cfirm, actor=cadmin, deadline_id=deadline.pk)
    assert deadline_selectors.reminder_email_problems(cfirm, clock.now()) == (0, [])


# --- The rule in effect, on both databases ------------------------------------------------


#: The overlap triggers of migration 0018, as SQLite creates them.
OVERLAP_TRIGGERS = importlib.import_module("casebridge.cases.migrations.0018_deadline_fixes")


@contextlib.contextmanager
def overlapping_rules_allowed() -> Iterator[None]:
    """Two active rules covering the same incident date, as a firm's table could hold them
    before the overlap triggers (migration 0018): the triggers are set aside while the rules
    are written, inside the test's transaction (rolled back with it, on both databases).
    PostgreSQL alters a table only with no deferred check pending: the foreign keys are
    checked first, and deferred again after."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            toggle = "ALTER TABLE cases_limitationrule {} TRIGGER cases_limitationrule_no_overlap"
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(toggle.format("DISABLE"))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            yield
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(toggle.format("ENABLE"))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for statement in OVERLAP_TRIGGERS.SQLITE_DOWN:
                cursor.execute(statement)
            yield
            for statement in OVERLAP_TRIGGERS.SQLITE:
                cursor.execute(statement)


def a_rule(cfirm, period: int, effective_from: dt.date | None, citation: str) -> LimitationRule:
    now = clock.now()
    return LimitationRule.objects.create(
        firm=cfirm,
        state="TX",
        claim_type="negligence",
        rule_type="statute",
        period_count=period,
        period_unit="years",
        effective_from=effective_from,
        citation=citation,
        created_at=now,
        updated_at=now,
    )


def test_a_rule_with_a_start_date_beats_an_open_ended_one_on_either_database(
    cfirm, cadmin, client_contact
):
    with overlapping_rules_allowed():
        open_ended = a_rule(cfirm, 3, None, "Tex. Civ. Prac. & Rem. Code § 16.003 (old table)")
        dated = a_rule(cfirm, 2, dt.date(2020, 1, 1), "Tex. Civ. Prac. & Rem. Code § 16.003")
    incident = dt.date(2024, 5, 6)
    assert (
        deadline_selectors.rule_in_effect(
            firm_id=cfirm.pk, state="TX", claim_type="negligence", rule_type="statute", on=incident
        )
        == dated
    )
    # before the dated rule starts, only the open-ended one covers the incident
    assert (
        deadline_selectors.rule_in_effect(
            firm_id=cfirm.pk,
            state="TX",
            claim_type="negligence",
            rule_type="statute",
            on=dt.date(2019, 12, 31),
        )
        == open_ended
    )
    case = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Ortiz v. Lone Star Haulers",
        client_id=client_contact.pk,
        incident_date=incident,
        jurisdiction_state="TX",
        claim_type="negligence",
    )
    statute = Deadline.objects.get(case=case, kind="statute")
    assert (statute.rule_id, statute.due_date) == (dated.pk, dt.date(2026, 5, 6))
    # the rules' list: the open-ended one first (it starts earliest), then by start date
    texas = [r for r in deadline_selectors.limitation_rules(cfirm) if r.state == "TX"]
    assert texas == [open_ended, dated]
    assert [r for r in LimitationRule.objects.filter(firm=cfirm, state="TX")] == texas
    # a rule added for Texas negligence recomputes its cases set-based (rules sorted in
    # Python there): the dated rule still gives the statute
    deadlines.limitation_rule_create(
        firm=cfirm,
        actor=cadmin,
        state="TX",
        claim_type="negligence",
        rule_type="government_notice",
        period_count=6,
        period_unit="months",
        citation="Tex. Civ. Prac. & Rem. Code § 101.101(a)",
    )
    statute.refresh_from_db()
    assert (statute.rule_id, statute.due_date) == (dated.pk, dt.date(2026, 5, 6))
    notice = Deadline.objects.get(case=case, kind="notice")
    assert notice.due_date == dt.date(2024, 11, 6)


# --- Read, each for oneself ------------------------------------------------------------


@pytest.fixture
def zoe(cfirm):
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="zoe.admin@lopez.test",
        password="x-Very-long-passphrase-42",
        first_name="Zoe",
        last_name="Admin",
        is_firm_admin=True,
    )


def test_each_administrator_marks_a_reminder_to_the_administrators_read_for_themselves(
    cfirm, cadmin, cattorney, zoe, client_contact, case, today
):
    orphan = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Doe v. Roe", client_id=client_contact.pk
    )
    for on, title in ((orphan, "Reply due"), (case, "Answer due")):
        deadlines.deadline_create(
            firm=cfirm,
            actor=cadmin,
            case_id=on.pk,
            title=title,
            due_date=today + dt.timedelta(days=5),
        )
    deadlines.deadline_reminders_send(today=today)

    def unread(user) -> tuple[int, list[str]]:
        count, rows = deadline_selectors.unread_reminders(user)
        return count, [r.deadline.title for r in rows]

    assert unread(cadmin) == unread(zoe) == (1, ["Reply due"])
    assert unread(cattorney) == (1, ["Answer due"])
    home = reverse("cases:dashboard")
    ana = sign_in(Client(), cadmin)
    response = ana.post(reverse("cases:reminders_read"), {"next": home})
    assert (response.status_code, response["Location"]) == (302, home)
    assert unread(cadmin) == (0, [])
    assert unread(zoe) == (1, ["Reply due"])  # still unread for Zoe
    assert unread(cattorney) == (1, ["Answer due"])
    assert "Your deadline reminders (1 unread)" in text(sign_in(Client(), zoe).get(home))
    assert "Your deadline reminders" not in text(ana.get(home))
    # Zoe reads it in turn; reading twice marks nothing more
    assert deadlines.reminders_mark_read(user=zoe) == 1
    assert deadlines.reminders_mark_read(user=zoe) == 0
    assert unread(zoe) == (0, [])
    assert deadlines.reminders_mark_read(user=cattorney) == 1
    reads = DeadlineReminder.objects.order_by("deadline__title").values_list(
        "deadline__title", "reads__user__email"
    )
    assert sorted(reads) == [
        ("Answer due", "sam.smith@lopez.test"),
        ("Reply due", "admin@lopez.test"),
        ("Reply due", "zoe.admin@lopez.test"),
    ]


# --- The deadlines screen's reads -----------------------------------------------------


def test_the_deadlines_screen_filtered_by_attorney_reads_the_attorneys_once(
    cfirm, cadmin, cattorney, case, today
):
    deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        title="Answer due",
        due_date=today + dt.timedelta(days=5),
    )
    admin = sign_in(Client(), cadmin)
    with CaptureQueriesContext(connection) as queries:
        response = admin.get(reverse("cases:deadlines"), {"attorney": cattorney.pk})
    page = text(response)
    assert re.findall(r'<td data-label="Attorney">([^<]*)</td>', page) == ["Sam Smith"]
    assert f'<option value="{cattorney.pk}" selected>Sam Smith</option>' in page
    attorneys = [
        q["sql"]
        for q in queries.captured_queries
        if '"is_attorney"' in q["sql"].partition(" WHERE ")[2]
    ]
    assert len(attorneys) == 1, attorneys
