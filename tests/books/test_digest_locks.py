"""The digests' locks on PostgreSQL (ADR 0032, ADR 0035).

A statement's digest upsert locked the digest rows it moved (one per file) in key order, but
a transaction of several statements (a print run in chunks, a delivery batch, the status
sync) held the rows of its earlier statements while it wrote the next: one transaction
writing a check of file X then one of file Y, another one of Y then one of X, deadlocked
on the digest rows though they share no document. The triggers now only append deltas
(ADR 0035), which nobody waits for: the first test shows both commit, and a compaction
folding the deltas beside writers loses nothing. A per-firm advisory lock in the triggers
fixed it but made a worse one: a transaction that writes a document and then locks another
row against one that locks that row and then writes it (the status sync, an invoice's
release against a void); the second test keeps that from coming back.

SQLite serialises its writers: there is nothing to race there."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from casebridge.books.models import Check, File, FileDigestDelta
from casebridge.books.selectors.digests import file_digests_drift
from casebridge.books.services import files
from casebridge.books.services.maintenance import file_digests_compact
from tests.books.ledger_helpers import deposit, trust_check
from tests.clockwork import PATIENCE

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
    ),
    pytest.mark.django_db(transaction=True),
]


def _file(firm, admin, attorney, n: int) -> File:
    client, _ = files.contact_find_or_create(
        firm=firm, actor=admin, name=f"Client {n}", external_ref=f"case-client-{n}"
    )
    file, _ = files.file_find_or_create(
        firm=firm,
        actor=admin,
        name=f"Client {n} v. Acme",
        client=client,
        external_ref=f"case-{n}",
        responsible_attorney=attorney,
        opened_on=dt.date(2026, 1, 5),
    )
    return file


def _sent_checks(firm, admin, trust, file: File, refs: list[str]) -> list[int]:
    """Trust checks of ``file`` as the bridge sends them (``cases-`` references)."""
    deposit(firm, admin, trust, file, 100_000)
    ids = []
    for ref in refs:
        check = trust_check(firm, admin, trust, file, 1_000)
        Check.objects.filter(pk=check.pk).update(external_ref=ref)
        ids.append(check.pk)
    return ids


def _bump(check_id: int) -> None:
    """One statement moving one check's digest (its amount)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE books_check SET amount_cents = amount_cents + 1 WHERE id = %s", [check_id]
        )


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
        return bool(cursor.fetchone()[0])


def _until(condition: Callable[[], bool]) -> None:
    """Wait for another thread's condition (ended as soon as it holds)."""
    stop = threading.Event()
    for _ in range(int(PATIENCE * 100)):
        if condition():
            return
        stop.wait(0.01)
    raise AssertionError("the other transaction never got there")


def test_two_transactions_writing_files_in_opposite_orders_both_commit(
    firm, admin, attorney, trust
):
    x, y = _file(firm, admin, attorney, 1), _file(firm, admin, attorney, 2)
    x1, x2 = _sent_checks(firm, admin, trust, x, ["cases-cost-1", "cases-cost-2"])
    y1, y2 = _sent_checks(firm, admin, trust, y, ["cases-cost-3", "cases-cost-4"])
    assert file_digests_drift(firm=firm) == []

    first_done, second_started, second_first_done = (threading.Event() for _ in "abc")
    second_pid: list[int] = []
    errors: list[BaseException] = []

    def first() -> None:  # file X, then file Y
        try:
            with transaction.atomic():
                _bump(x1)
                first_done.set()
                assert second_started.wait(PATIENCE)
                # the other has written its check of Y, or waits for this one to commit
                _until(lambda: second_first_done.is_set() or _waiting_on_a_lock(second_pid[0]))
                _bump(y1)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    def second() -> None:  # file Y, then file X
        try:
            assert first_done.wait(PATIENCE)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    second_pid.append(cursor.fetchone()[0])
                second_started.set()
                _bump(y2)
                second_first_done.set()
                _bump(x2)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
            second_started.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE)
    assert not any(t.is_alive() for t in threads), "a transaction hung"

    assert errors == []
    assert (
        sorted(Check.objects.filter(firm=firm).values_list("amount_cents", flat=True))
        == [1_001] * 4
    )
    assert file_digests_drift(firm=firm) == []


def test_writing_a_document_then_locking_another_does_not_deadlock_with_the_reverse(
    firm, admin, attorney, trust
):
    """One transaction writes a check of file X (moving X's digest), then locks a check of
    file Y; another has locked that check and then writes it (moving Y's digest). With a
    per-firm lock taken by the triggers the second waited for the first's lock while the
    first waited for its row: a deadlock. The digest rows alone (two files) share nothing."""
    x, y = _file(firm, admin, attorney, 1), _file(firm, admin, attorney, 2)
    [x1] = _sent_checks(firm, admin, trust, x, ["cases-cost-1"])
    [y1] = _sent_checks(firm, admin, trust, y, ["cases-cost-3"])
    second_locked, first_bumped = threading.Event(), threading.Event()
    pids: dict[int, int] = {}
    errors: list[BaseException] = []

    def first() -> None:  # the status sync, an invoice's release: write, then lock
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pids[1] = cursor.fetchone()[0]
                assert second_locked.wait(PATIENCE)
                _bump(x1)
                first_bumped.set()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT id FROM books_check WHERE id = %s FOR UPDATE", [y1])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def second() -> None:  # a void: lock the check, then write it
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT id FROM books_check WHERE id = %s FOR UPDATE", [y1])
                second_locked.set()
                assert first_bumped.wait(PATIENCE)
                _until(lambda: _waiting_on_a_lock(pids[1]))
                _bump(y1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE * 3)
    assert errors == []
    assert file_digests_drift(firm=firm) == []


def _deltas() -> int:
    return FileDigestDelta.objects.count()


def test_compaction_beside_writers_loses_nothing_and_waits_for_none(firm, admin, attorney, trust):
    """The compaction folds what is committed while a writer's transaction is half done
    (its first delta not yet committed, so left for later), a writer writes and commits
    while a compaction's transaction is open (it waits for nothing), and a second
    compaction started meanwhile steps aside: nothing lost, nothing counted twice."""
    x, y = _file(firm, admin, attorney, 1), _file(firm, admin, attorney, 2)
    x1, x2 = _sent_checks(firm, admin, trust, x, ["cases-cost-1", "cases-cost-2"])
    [y1] = _sent_checks(firm, admin, trust, y, ["cases-cost-3"])
    assert file_digests_compact() is not None
    assert _deltas() == 0
    wrote_x, compacted = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:  # file X, a compaction in between, then file Y
        try:
            with transaction.atomic():
                _bump(x1)
                wrote_x.set()
                assert compacted.wait(PATIENCE)
                _bump(y1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert wrote_x.wait(PATIENCE)
    _bump(x2)  # committed at once: folded by the compaction
    assert file_digests_compact() == 1  # the writer's uncommitted delta is not seen
    compacted.set()
    thread.join(PATIENCE)
    assert not thread.is_alive()
    assert errors == []
    assert _deltas() == 2
    assert file_digests_drift(firm=firm) == []

    # a compaction's transaction open: a writer commits beside it, a second compactor
    # steps aside
    done: list[object] = []

    def beside() -> None:
        try:
            _bump(y1)
            done.append(file_digests_compact())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        assert file_digests_compact() == 2
        other = threading.Thread(target=beside)
        other.start()
        other.join(PATIENCE)
        assert not other.is_alive(), "a writer waited for the compaction"
    assert errors == []
    assert done == [None]
    assert _deltas() == 1
    assert file_digests_drift(firm=firm) == []
    assert file_digests_compact() == 1
    assert _deltas() == 0
    assert file_digests_drift(firm=firm) == []
    assert sorted(Check.objects.filter(firm=firm).values_list("amount_cents", flat=True)) == [
        1_001,
        1_001,
        1_002,
    ]
