"""Workers on many machines share one Redis queue (``HUEY_REDIS_URL``; issue 12, "Many
machines"): two real ``manage.py run_huey`` processes, the books served by gunicorn over
real HTTP, 5,000 costs sent for each of three firms. Every cost reaches the books exactly
once, every outbox item is sent, and both workers delivered.

That both workers work is made certain, not left to chance: each worker runs one thread;
worker A starts alone and takes firm 1's delivery, whose first batch of checks waits at a
proxy in front of the books (A holds firm 1's run lease and its only thread is busy); only
then worker B starts and firms 2 and 3 are sent, and A's request goes on only once items
of firm 2 or 3 have left the queue, which only B can have done. Who delivered what is read
from each worker's own log (its line per delivery run: ``bridge delivery firm=… sent=…``).

The queue has a name of its own per run (``CASEBRIDGE_HUEY_NAME``), so parallel test
processes and other runs on the same Redis never share it; its keys are deleted at the end.
Redis is the one at ``CASEBRIDGE_TEST_REDIS_URL`` (scripts/test.sh starts one where none
runs), else the local server; without one the test is skipped, or fails in CI."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from django.db import connection as db_connection
from django.db.models import Count
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from casebridge.books.models import BankAccount, BankAccountKind, Check
from casebridge.books.services import auth as books_auth
from casebridge.books.services import setup as books_setup
from casebridge.bridge.models import Connection, OutboxItem, OutboxState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import jobs, outbox
from casebridge.cases.models import Case, CaseStatus, CaseType, Contact, Cost, CostCode, Firm, User
from casebridge.cases.services import firms
from casebridge.core.models import PeriodicLease

from .faultproxy import Fault, FaultProxy

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        db_connection.vendor != "postgresql", reason="workers in other processes: PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
OPENED = dt.date(2026, 1, 1)
D = dt.date(2026, 11, 2)
COSTS_PER_FIRM = 5_000
CASES_PER_FIRM = 500
#: Only so that a broken run cannot hang the test run; nothing here measures time.
SAFETY_NET_SECONDS = 600.0
DELIVERY_LINE = re.compile(r"bridge delivery firm=(\d+) sent=(\d+)")


@dataclass
class Side:
    """One firm on both sides, connected."""

    firm: Firm
    admin: User
    cost_ids: list[int]


def _redis_url() -> str:
    url = os.environ.get("CASEBRIDGE_TEST_REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        if os.environ.get("CASEBRIDGE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Redis is required in CI: none answers at {url} ({exc})")
        pytest.skip(f"no Redis at {url} (scripts/test.sh starts one): {exc}")
    return url


@pytest.fixture
def queue() -> Iterator[tuple[str, str]]:
    """A Redis queue of this run's own (URL, name); this process enqueues there too (a
    Send's delivery, as a web process does), and its keys go afterwards."""
    url = _redis_url()
    name = f"casebridge_test_{uuid.uuid4().hex}"
    storage = RedisStorage(name=name, url=url)
    previous = HUEY.storage
    HUEY.storage = storage
    try:
        yield url, name
    finally:
        HUEY.storage = previous
        keys = list(storage.conn.scan_iter(match=f"huey.*{name}*"))
        if keys:
            storage.conn.delete(*keys)
        storage.conn.close()


def _database_url() -> str:
    """The test database, as the other processes must reach it."""
    s = db_connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CASEBRIDGE_HUEY_IMMEDIATE": "0",
        **extra,
    }


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def books_server(transactional_db) -> Iterator[str]:
    """The books served by gunicorn (two sync workers) on a free port, on the test database."""
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            "2",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=_env(GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port}"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SAFETY_NET_SECONDS
        while True:  # until it answers (a condition, not a fixed sleep)
            assert server.poll() is None, "gunicorn exited at start"
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.1)
        yield base
    finally:
        _stop(server)


def _books_firm(code: str) -> tuple[BankAccount, BankAccount]:
    """A books firm as the seed asks for costs: an administrator, the "PI" area of
    practice, the enrolled integration user, the attorney. Returns (operating, trust)."""
    firm = books_setup.firm_create(code=code, name=f"Firm {code}")
    admin = books_auth.user_create(
        firm=firm, email=f"admin@{code}.test", password=PASSWORD, is_admin=True
    )
    admin = books_auth.security_question_enroll(user=admin, question="First pet?", answer="Rex")
    firm = books_setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=OPENED)
    books_setup.area_of_practice_create(
        firm=firm, actor=admin, name="PI", description="Personal Injury"
    )
    integration = books_auth.user_create(
        firm=firm,
        email=f"integration@{code}.test",
        password=PASSWORD,
        first_name="Case",
        last_name="Bridge",
        is_integration_user=True,
    )
    books_auth.security_question_enroll(user=integration, question="First car?", answer="Civic")
    books_auth.user_create(
        firm=firm,
        email=f"sam@{code}.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        records_time=True,
    )
    return (
        BankAccount.objects.get(firm=firm, kind=BankAccountKind.OPERATING),
        BankAccount.objects.get(firm=firm, kind=BankAccountKind.TRUST),
    )


def _cases_firm(code: str, seed: int) -> Side:
    """A cases firm whose attorney has the books attorney's email, with CASES_PER_FIRM open
    cases and COSTS_PER_FIRM Open costs loaded by bulk insert (as bench/bridge_costs.py)."""
    firm = firms.firm_create(code=code, name=f"Firm {code}")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email=f"admin@{code}.test",
        password=PASSWORD,
        first_name="Ana",
        last_name="Admin",
        is_firm_admin=True,
        perm_costs_management=True,
    )
    attorney = firms.user_create(
        firm=firm,
        actor=None,
        email=f"sam@{code}.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        is_attorney=True,
    )
    rnd = random.Random(seed)
    now = timezone.now()
    case_type = CaseType.objects.get(firm=firm, is_default=True)
    codes = list(CostCode.objects.filter(firm=firm).values_list("pk", flat=True))
    Contact.objects.bulk_create(
        [Contact(firm=firm, name=f"Payee {n:03d}") for n in range(20)]
        + [Contact(firm=firm, name=f"Client {n:05d}") for n in range(CASES_PER_FIRM)]
    )
    contacts = list(Contact.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
    payees, clients = contacts[:20], contacts[20:]
    Case.objects.bulk_create(
        Case(
            firm=firm,
            number=f"PI-{n + 1:06d}",
            name=f"Client {n:05d} v. Defendant",
            client_id=clients[n],
            case_type=case_type,
            responsible_attorney=attorney,
            status=CaseStatus.OPEN,
            opened_on=OPENED,
        )
        for n in range(CASES_PER_FIRM)
    )
    Firm.objects.filter(pk=firm.pk).update(next_case_number=CASES_PER_FIRM + 1)
    case_ids = list(Case.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
    per_case = COSTS_PER_FIRM // CASES_PER_FIRM
    Cost.objects.bulk_create(
        (
            Cost(
                firm=firm,
                case_id=case_id,
                payee_id=rnd.choice(payees),
                amount_cents=rnd.randrange(500, 2_500_000),
                invoice_reference=f"INV-{rnd.randrange(10**6):06d}",
                cost_code_id=rnd.choice(codes),
                memo="Medical records",
                cost_date=D,
                created_by=admin,
                created_at=now,
            )
            for case_id in case_ids
            for _ in range(per_case)
        ),
        batch_size=5000,
    )
    cost_ids = list(Cost.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
    return Side(firm=firm, admin=admin, cost_ids=cost_ids)


def _connect(side: Side, code: str, books_url: str, accounts: tuple[BankAccount, ...]) -> None:
    """Both pop-ups, and the worker's sign-in and readiness runs, played here."""
    conn_services.connection_activate(
        firm=side.firm,
        actor=side.admin,
        books_url=books_url,
        books_firm_code=code,
        username=f"integration@{code}.test",
        password=PASSWORD,
    )
    jobs.run_pending(firm_id=side.firm.pk)
    conn_services.connection_defaults_save(
        firm=side.firm,
        actor=side.admin,
        operating_account_id=accounts[0].pk,
        trust_account_id=accounts[1].pk,
        invoice_release="review",
    )
    jobs.run_pending(firm_id=side.firm.pk)


class Worker:
    """``manage.py run_huey`` with one worker thread on the shared Redis queue; its log
    (JSON lines) in its own file."""

    def __init__(self, name: str, queue: tuple[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"worker-{name}.log"
        env = _env(
            HUEY_REDIS_URL=queue[0],
            CASEBRIDGE_HUEY_NAME=queue[1],
            CASEBRIDGE_WORKERS="1",
            CASEBRIDGE_LOG_FORMAT="json",
            CASEBRIDGE_LOG_LEVEL="INFO",
            # A's held request must not time out, nor its lease run out, however slowly
            # B starts on a loaded machine
            CASEBRIDGE_BRIDGE_TIMEOUT="300",
            CASEBRIDGE_BRIDGE_LEASE="600",
        )
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_huey"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT)  # Huey's graceful stop

    def sent(self) -> Counter[int]:
        """Items sent per firm id, from the worker's line per delivery run."""
        counts: Counter[int] = Counter()
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                message = json.loads(line).get("message", "")
            except ValueError:
                continue  # Huey's own start-up lines
            match = DELIVERY_LINE.match(message)
            if match:
                counts[int(match[1])] += int(match[2])
        return counts


def _wait_for(condition, what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + SAFETY_NET_SECONDS
    while not condition():
        for w in workers:
            assert w.process.poll() is None, f"worker {w.name} exited; see {w.log}"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)


def test_two_workers_on_one_redis_queue_deliver_three_firms_each_check_once(
    books_server, queue, tmp_path
):
    phases = [("start", time.monotonic())]  # printed at the end (-s), never asserted
    codes = ["firm-one", "firm-two", "firm-three"]
    accounts = [_books_firm(code) for code in codes]
    sides = [_cases_firm(code, seed) for seed, code in enumerate(codes)]
    with FaultProxy(books_server, forward_timeout=300) as proxy:
        # firm 1 reaches the books through the proxy, firms 2 and 3 straight
        _connect(sides[0], codes[0], proxy.books_url, accounts[0])
        for side, code, acc in zip(sides[1:], codes[1:], accounts[1:], strict=True):
            _connect(side, code, f"{books_server}/books/api/v1", acc)
        phases.append(("set-up and connections", time.monotonic()))
        others = [sides[1].firm.pk, sides[2].firm.pk]
        a_holds = threading.Event()

        def hold_until_b_delivers() -> None:
            """A's first batch of firm 1's checks waits here until items of firm 2 or 3
            have left the queue: A's only thread is in this request, so B took them."""
            a_holds.set()
            deadline = time.monotonic() + SAFETY_NET_SECONDS
            while (
                not OutboxItem.objects.filter(firm_id__in=others)
                .exclude(state=OutboxState.QUEUED)
                .exists()
            ):
                if time.monotonic() > deadline:
                    return  # the test fails on its own wait
                time.sleep(0.05)

        proxy.add("POST", "/checks/batch", Fault.CALL_BEFORE, nth=1, callback=hold_until_b_delivers)

        workers: list[Worker] = []
        try:
            a = Worker("A", queue, tmp_path)
            workers.append(a)
            sent = outbox.costs_send(
                firm=sides[0].firm, actor=sides[0].admin, cost_ids=sides[0].cost_ids
            )
            assert sent.count == COSTS_PER_FIRM
            assert a_holds.wait(SAFETY_NET_SECONDS), "worker A never sent firm 1's checks"
            # A holds firm 1's run lease while its request waits at the proxy
            assert Connection.objects.get(firm=sides[0].firm).delivery_owner != ""
            b = Worker("B", queue, tmp_path)
            workers.append(b)
            for side in sides[1:]:
                sent = outbox.costs_send(firm=side.firm, actor=side.admin, cost_ids=side.cost_ids)
                assert sent.count == COSTS_PER_FIRM
            phases.append(("A held, B started, three Sends", time.monotonic()))
            _wait_for(
                lambda: (
                    not OutboxItem.objects.exclude(state=OutboxState.SENT).exists()
                    and not Connection.objects.exclude(delivery_owner="").exists()
                ),
                "every item sent and every run over",
                workers,
            )
            phases.append(("drain after the last Send", time.monotonic()))
        finally:
            for w in workers:
                w.stop()
        proxy.settle()

    # every cost reached the books exactly once, in its own firm
    for side, code in zip(sides, codes, strict=True):
        refs = (
            Check.objects.filter(firm__code=code)
            .values("external_ref")
            .annotate(k=Count("pk"))
            .values_list("external_ref", "k")
        )
        assert Check.objects.filter(firm__code=code).count() == COSTS_PER_FIRM
        assert dict(refs) == {outbox.cost_external_ref(c): 1 for c in side.cost_ids}
    assert OutboxItem.objects.count() == 3 * COSTS_PER_FIRM
    assert OutboxItem.objects.filter(state=OutboxState.SENT).count() == 3 * COSTS_PER_FIRM

    # both workers delivered: A firm 1 (it held its lease throughout), B firm 2 or 3 first;
    # each item was settled by one run only (the runs' counts add up to the items)
    by_a, by_b = a.sent(), b.sent()
    firm_ids = [s.firm.pk for s in sides]
    print(f"\nworker A sent {dict(by_a)}, worker B sent {dict(by_b)} (firms {firm_ids})")
    leases = Counter(PeriodicLease.objects.values_list("task", flat=True))
    print(f"periodic jobs run (once per period across both workers): {dict(leases)}")
    print(", ".join(f"{n}: {t - phases[i][1]:.1f} s" for i, (n, t) in enumerate(phases[1:])))
    assert by_a[sides[0].firm.pk] == COSTS_PER_FIRM
    assert by_b[sides[0].firm.pk] == 0
    assert sum(by_b[f] for f in others) > 0
    for side in sides:
        assert by_a[side.firm.pk] + by_b[side.firm.pk] == COSTS_PER_FIRM
