"""Two hourly runs trying the same failed reminder email again send it once (PostgreSQL).

Each run claims the reminder by a conditional UPDATE (failed -> sending) before it sends.
The claim asked "still applies" across the join to the deadline, so Django wrote
``UPDATE ... WHERE id IN (SELECT ... JOIN ...)`` with "failed" only inside the subquery:
the second run, waiting on the row the first had claimed, re-checked only ``id IN (...)``
once the first committed, and claimed (and sent) it again. The claim keeps its conditions
on the reminder's own row now (the deadline's check an ``EXISTS``).

SQLite serialises its writers: there is nothing to race there (the claim's statement is
checked on both databases in ``test_deadline_reminder_review``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, transaction
from django.test import override_settings

from casebridge.cases.models import DeadlineReminder
from casebridge.cases.services import deadlines
from casebridge.core import clock
from tests.clockwork import PATIENCE

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


class HeldMail(EmailBackend):
    """The locmem backend, refusing every message while ``down``; the first message after
    ``hold`` is set runs it first (its run's claim still uncommitted)."""

    down = True
    hold: Callable[[], None] | None = None

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        if HeldMail.down:
            raise ConnectionRefusedError("mail.lopez.test:587 refused the connection")
        hold, HeldMail.hold = HeldMail.hold, None
        if hold is not None:
            hold()
        return super().send_messages(messages)


@pytest.fixture
def held_mail() -> Iterator[type[HeldMail]]:
    HeldMail.down, HeldMail.hold = True, None
    with override_settings(EMAIL_BACKEND="tests.cases.test_reminder_claim_race.HeldMail"):
        yield HeldMail
    HeldMail.down, HeldMail.hold = True, None


def waiting_on_a_row_lock() -> int:
    """How many other sessions of this database wait on a lock (asked inside run A's
    transaction, which keeps one snapshot of the activity unless it is cleared)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_two_runs_trying_the_same_failed_email_again_send_it_once(
    held_mail, cfirm, cadmin, case, today
):
    deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        title="Answer due",
        due_date=today + dt.timedelta(days=20),
    )
    deadlines.deadline_reminders_send(today=today, now=clock.now() - 2 * dt.timedelta(hours=1))
    reminder = DeadlineReminder.objects.get()
    assert (reminder.email_status, reminder.email_attempts) == ("failed", 1)
    claimed = threading.Event()
    runs: dict[str, tuple[int, int]] = {}
    errors: list[BaseException] = []

    def until_the_other_run_waits() -> None:  # run A, its claim not yet committed
        claimed.set()
        give_up_at = time.monotonic() + PATIENCE
        while not waiting_on_a_row_lock():
            if time.monotonic() > give_up_at:
                errors.append(TimeoutError("run B never waited on the reminder's row"))
                return
            time.sleep(0.05)

    def run(name: str, atomic: bool) -> None:
        try:
            if not atomic:
                assert claimed.wait(PATIENCE)
            # run B's statements commit one by one, as the hourly task's do
            with transaction.atomic() if atomic else contextlib.nullcontext():
                runs[name] = deadlines.deadline_reminders_retry(today=today)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
            claimed.set()
        finally:
            connection.close()

    held_mail.down, held_mail.hold = False, until_the_other_run_waits
    # run A claims it and sends, committing only then; run B read it "failed" meanwhile
    # and waits on the row to claim it in turn
    a = threading.Thread(target=run, args=("a", True))
    b = threading.Thread(target=run, args=("b", False))
    a.start()
    b.start()
    a.join(PATIENCE)
    b.join(PATIENCE)
    assert not a.is_alive()
    assert not b.is_alive()
    assert errors == []
    assert runs == {"a": (1, 1), "b": (1, 0)}
    assert [m.to for m in mail.outbox] == [["sam.smith@lopez.test"]]
    reminder.refresh_from_db()
    assert (reminder.email_status, reminder.email_attempts) == ("sent", 2)
