"""Bridge benchmark: send 10,000 Open costs to the books in one click and time the outbox
until every check request is in the books, over real HTTP.

Usage: .venv/bin/python bench/bridge_costs.py [--cases 1000] [--costs-per-case 10]
                                              [--backend sqlite|postgres|both]
                                              [--worker script|huey] [--bridge-batch N]
                                              [--no-sync] [--profile]
                                              [--port N] [--db-prefix NAME]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_bridge``, default ``casebridge_bench_bridge``, at
$BENCH_POSTGRES_URL, default the local server; both removed at the end), migrates, and sets
up both sides:

- the books firm as the seed asks (the same set-up as ``tests/bridge/conftest.py``): an
  administrator, the enrolled integration user, an attorney who records time, the release
  invoice stage, the "PI" area of practice and the COPP and Property Damage activity codes;
- a cases firm whose one attorney has the books attorney's email, ``--cases`` open cases
  (a client each) and ``--costs-per-case`` Open costs per case, loaded with bulk inserts.

It serves the books with gunicorn (2 sync workers) on ``--port`` (default a free loopback
port), activates the
bridge against that address (both pop-ups: ``connection_activate`` and
``connection_defaults_save``), starts the delivery worker (it is up before the click, as in
production) and times, end to end:

1. the bulk Send: ``costs_send`` of every cost at once (the worker's last readiness report,
   Open -> Pending, one outbox item each);
2. the drain, in the worker's own process, from the click to the last check in the books
   (the drain starts as soon as items are queued: as the Send's chunks commit, once it
   commits in chunks): ``--worker script`` (default) runs ``outbox_deliver(firm_id=...)``
   in a fresh Python process whenever items are queued (what the Send's enqueue asks of the
   task engine) and reports its time, its HTTP requests (count and seconds per path, the
   two lanes' requests overlapping), the database queries of all its threads and its peak
   RSS (``ru_maxrss``); ``--worker huey`` starts ``manage.py run_huey`` instead (it picks up
   the delivery task the Send enqueued) and polls the outbox until every item is sent,
   reading the consumer's peak RSS from ``/proc/<pid>/status`` (VmHWM);
3. the check-status sync after every check was printed in the books (printed with one SQL
   UPDATE, which is not what is measured): ``check_status_sync`` turns every cost Paid.

It then verifies: one books check per cost, each ``external_ref`` once, every outbox item
sent, every cost Pending (Paid after 3), and prints the click to the last check beside the
raw SQL insert of every row the Send and the drain wrote (bench/common.py), and their ratio
(the issue 12 aim: at least 0.5 of the raw-SQL limit). Figures are printed; only the
verification asserts. Memory: under 300 MB for the worker. ``--profile`` runs the script
worker's main thread (the claims; the lanes that send and settle run in threads of their
own, which it does not see) under cProfile and prints its top functions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

ROOT = common.ROOT
PASSWORD = "correct horse battery"
INTEGRATION_EMAIL = "integration@lopez.test"
TODAY = dt.date(2026, 11, 2)

#: The delivery worker, run in its own process and started before the Send, as in
#: production: instruments the HTTP client and the database connection, says "ready", then
#: runs a delivery whenever items are queued (what the Send's enqueue asks of the task
#: engine) until every expected item is sent, and prints a JSON report.
WORKER = r"""
import cProfile, collections, io, json, os, pstats, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/src"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
t_start = time.perf_counter()
import django
django.setup()
import httpx
from django.db import connection
from django.db.backends.signals import connection_created
from casebridge.bridge.models import OutboxItem, OutboxState
from casebridge.bridge.services.delivery import DeliveryReport, outbox_deliver

firm_id, expected = int(sys.argv[2]), int(sys.argv[4])
http = collections.defaultdict(lambda: [0, 0.0])
original_send = httpx.Client.send

def timed_send(self, request, **kwargs):
    t = time.perf_counter()
    try:
        return original_send(self, request, **kwargs)
    finally:
        key = request.method + " " + request.url.path.split("/api/v1", 1)[-1]
        http[key][0] += 1
        http[key][1] += time.perf_counter() - t

httpx.Client.send = timed_send
db = [0, 0.0]
delivering = [False]

def timed_query(execute, sql, params, many, context):
    if not delivering[0]:
        return execute(sql, params, many, context)
    t = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        db[0] += 1
        db[1] += time.perf_counter() - t

def instrument(sender, connection, **kwargs):  # every thread's connection, the lanes' too
    connection.execute_wrappers.append(timed_query)

connection_created.connect(instrument)

queued = OutboxItem.objects.filter(firm_id=firm_id, state=OutboxState.QUEUED)
sent = OutboxItem.objects.filter(firm_id=firm_id, state=OutboxState.SENT)
queued.exists()
connection.execute_wrappers.append(timed_query)
from casebridge.core.startup import start_up_objects_frozen
start_up_objects_frozen()  # as the Huey worker does on start-up (casebridge.core.tasks)
startup = time.perf_counter() - t_start
print("ready", flush=True)
profile = cProfile.Profile() if sys.argv[3] == "1" else None
lane_profiles = []
if profile:  # the lanes run in threads of their own, which a profile enabled here misses
    from casebridge.bridge.services import delivery
    lane_pass = delivery._pass

    def profiled_pass(ctx, items):
        lane = cProfile.Profile()
        lane_profiles.append(lane)
        return lane.runcall(lane_pass, ctx, items)

    delivery._pass = profiled_pass
total, runs, first = DeliveryReport(), 0, None
while True:
    if not queued.exists():
        if first is not None and sent.count() >= expected:
            break
        time.sleep(0.02)
        continue
    if first is None:
        first = time.perf_counter()
    delivering[0] = True
    if profile:
        profile.enable()
    report = outbox_deliver(firm_id=firm_id)
    if profile:
        profile.disable()
    delivering[0] = False
    runs += 1
    for name in ("sent", "failed", "retrying", "waiting", "passes"):
        setattr(total, name, getattr(total, name) + getattr(report, name))
    if report.failed or report.waiting:
        break
finished_at = time.time()
seconds = time.perf_counter() - first
if profile:
    out = io.StringIO()
    stats = pstats.Stats(profile, *lane_profiles, stream=out)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)
    sys.stderr.write(out.getvalue())
print(json.dumps({
    "seconds": seconds,
    "startup": startup,
    "finished_at": finished_at,
    "runs": runs,
    "sent": total.sent, "failed": total.failed, "retrying": total.retrying,
    "waiting": total.waiting, "passes": total.passes,
    "http": {k: v for k, v in sorted(http.items())},
    "db_queries": db[0], "db_seconds": db[1],
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def prepare_database(
    backend: str, var_dir: str, bridge_batch: int | None, db_name: str
) -> dict[str, str]:
    env = common.bench_env(var_dir)
    # the books' first answers (the activation's reads) can take seconds on a busy machine
    env["CASEBRIDGE_BRIDGE_TIMEOUT"] = "30"
    if bridge_batch:
        env["CASEBRIDGE_BRIDGE_BATCH"] = str(bridge_batch)
    env["DATABASE_URL"] = common.database_create(backend, var_dir, db_name)
    common.manage(env, "migrate")
    return env


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Costs sent to the books through the bridge.")
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--costs-per-case", type=int, default=10)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="postgres")
    ap.add_argument("--worker", choices=["script", "huey"], default="script")
    ap.add_argument(
        "--bridge-batch", type=int, default=None, help="CASEBRIDGE_BRIDGE_BATCH for the worker"
    )
    ap.add_argument("--no-sync", action="store_true", help="skip the check-status sync (3)")
    ap.add_argument(
        "--limit-request-line",
        type=int,
        default=None,
        help="gunicorn's --limit-request-line for the books (default: gunicorn's, 4094)",
    )
    ap.add_argument("--profile", action="store_true", help="cProfile the script worker")
    common.add_common_arguments(ap, server=True)
    return ap


def main() -> None:
    args = build_parser().parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if len(backends) > 1:
            # Each backend in its own process: Django settings are read once per process.
            cmd = [sys.executable, __file__, "--backend", backend, "--worker", args.worker]
            cmd += ["--cases", str(args.cases), "--costs-per-case", str(args.costs_per_case)]
            if args.bridge_batch:
                cmd += ["--bridge-batch", str(args.bridge_batch)]
            if args.limit_request_line:
                cmd += ["--limit-request-line", str(args.limit_request_line)]
            cmd += ["--no-sync"] if args.no_sync else []
            cmd += ["--profile"] if args.profile else []
            cmd += common.common_argv(args)
            subprocess.run(cmd, check=True)
        else:
            run(backend, args)


# --- Setting up both sides ------------------------------------------------------------------


def books_firm_seeded() -> dict[str, object]:
    """The books firm as the seed asks: the very set-up the bridge's tests use."""
    from tests.bridge.conftest import books_firm_seeded as seeded

    return seeded()


def cases_firm_loaded(n_cases: int, per_case: int) -> tuple[object, object, list[int]]:
    """A cases firm (through its services) whose attorney has the books attorney's email,
    then ``n_cases`` open cases and ``per_case`` Open costs each by bulk insert. Returns
    (firm, admin, cost ids)."""
    from django.db import transaction
    from django.utils import timezone

    from casebridge.cases.models import Case, CaseStatus, CaseType, Contact, Cost, CostCode
    from casebridge.cases.models import Firm as CasesFirm
    from casebridge.cases.services import firms

    firm = firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@lopez.test",
        password=PASSWORD,
        first_name="Ana",
        last_name="Admin",
        is_firm_admin=True,
        perm_costs_management=True,
    )
    attorney = firms.user_create(
        firm=firm,
        actor=None,
        email="sam.smith@lopez.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        is_attorney=True,
    )
    rnd = random.Random(20261102)
    now = timezone.now()
    case_type = CaseType.objects.get(firm=firm, is_default=True)
    codes = list(CostCode.objects.filter(firm=firm).values_list("pk", flat=True))
    with transaction.atomic():
        Contact.objects.bulk_create(
            [Contact(firm=firm, name=f"Payee {n:03d} Records Services") for n in range(200)]
            + [Contact(firm=firm, name=f"Client {n:05d}") for n in range(n_cases)],
            batch_size=5000,
        )
        contacts = list(
            Contact.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True)
        )
        payees, clients = contacts[:200], contacts[200:]
        Case.objects.bulk_create(
            [
                Case(
                    firm=firm,
                    number=f"PI-{n + 1:06d}",
                    name=f"Client {n:05d} v. Defendant {n % 997}",
                    client_id=clients[n],
                    case_type=case_type,
                    responsible_attorney=attorney,
                    status=CaseStatus.OPEN,
                    opened_on=TODAY - dt.timedelta(days=rnd.randrange(700)),
                )
                for n in range(n_cases)
            ],
            batch_size=5000,
        )
        CasesFirm.objects.filter(pk=firm.pk).update(next_case_number=n_cases + 1)
        case_ids = list(Case.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
        Cost.objects.bulk_create(
            [
                Cost(
                    firm=firm,
                    case_id=case_id,
                    payee_id=rnd.choice(payees),
                    amount_cents=rnd.randrange(500, 2_500_000),
                    invoice_reference=f"INV-{rnd.randrange(10**6):06d}",
                    cost_code_id=rnd.choice(codes),
                    memo=rnd.choice(["", "Medical records", "Filing fee", "Expert retainer"]),
                    cost_date=TODAY - dt.timedelta(days=rnd.randrange(365)),
                    created_by=admin,
                    created_at=now,
                )
                for case_id in case_ids
                for _ in range(per_case)
            ],
            batch_size=5000,
        )
    cost_ids = list(Cost.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
    return firm, admin, cost_ids


def start_books(
    env: dict[str, str], limit_request_line: int | None, port: int = 0
) -> tuple[subprocess.Popen[bytes], int]:
    extra = ["--limit-request-line", str(limit_request_line)] if limit_request_line else []
    return common.start_gunicorn(env, port, extra=extra)


# --- The run --------------------------------------------------------------------------------


def run(backend: str, args: argparse.Namespace) -> None:
    var_dir = tempfile.mkdtemp(prefix=f"cb-bench-bridge-{backend}-")
    db_name = f"{args.db_prefix}_bridge"
    server = None
    try:
        env = prepare_database(backend, var_dir, args.bridge_batch, db_name)
        common.setup_django(env)
        from django.conf import settings

        from casebridge.bridge.services import connection as conn_services
        from casebridge.bridge.services import jobs

        tag = f"[{backend}]"
        t = time.perf_counter()
        books = books_firm_seeded()
        firm, admin, cost_ids = cases_firm_loaded(args.cases, args.costs_per_case)
        n = len(cost_ids)
        print(
            f"{tag} books firm seeded; {args.cases:,} cases and {n:,} Open costs loaded "
            f"in {time.perf_counter() - t:.1f} s"
        )
        if backend == "postgres":
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

        server, port = start_books(env, args.limit_request_line, args.port)
        books_url = f"http://127.0.0.1:{port}/books/api/v1"
        conn_services.connection_activate(
            firm=firm,  # type: ignore[arg-type]
            actor=admin,  # type: ignore[arg-type]
            books_url=books_url,
            books_firm_code="lopez-pi",
            username=INTEGRATION_EMAIL,
            password=PASSWORD,
        )
        jobs.run_pending(firm_id=firm.pk)  # the worker signs in and reads the books (ADR 0008)
        conn_services.connection_defaults_save(
            firm=firm,  # type: ignore[arg-type]
            actor=admin,  # type: ignore[arg-type]
            operating_account_id=books["operating"].pk,  # type: ignore[attr-defined]
            trust_account_id=books["trust"].pk,  # type: ignore[attr-defined]
            invoice_release="review",
        )
        jobs.run_pending(firm_id=firm.pk)  # the readiness of the accounts chosen
        print(
            f"{tag} bridge activated against {books_url} (gunicorn, 2 workers, request line "
            f"limit {args.limit_request_line or 'default'}); "
            f"BRIDGE_BATCH_SIZE={settings.BRIDGE_BATCH_SIZE}, worker: {args.worker}"
        )
        measure(backend, args, env, books, firm, admin, cost_ids)
    finally:
        common.stop(server)
        common.close_connections()
        common.database_drop(backend, db_name)
        shutil.rmtree(var_dir, ignore_errors=True)


def measure(
    backend: str,
    args: argparse.Namespace,
    env: dict[str, str],
    books: dict[str, object],
    firm: object,
    admin: object,
    cost_ids: list[int],
) -> None:
    from django.db.models import Count, F

    from casebridge.books.models import Check, CheckStatus
    from casebridge.bridge.models import CostLink, OutboxItem, OutboxState
    from casebridge.bridge.services import outbox
    from casebridge.bridge.services.status_sync import check_status_sync
    from casebridge.cases.models import Cost, CostStatus

    tag = f"[{backend}]"
    n = len(cost_ids)

    # The worker is up before the click, as in production: the drain starts as soon as
    # items are queued (as the Send's chunks commit, once it commits in chunks).
    worker_env = {**os.environ, **env}
    if args.worker == "script":
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(ROOT),
                str(firm.pk),  # type: ignore[attr-defined]
                "1" if args.profile else "0",
                str(n),
            ],
            env=worker_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        ready = proc.stdout.readline().strip()
        assert ready == "ready", (ready, proc.stderr.read() if proc.stderr else "")
    else:
        consumer, started = start_huey(worker_env)

    # (1) the bulk Send (the click)
    written = common.RowsWritten()
    click = time.time()
    t0 = time.perf_counter()
    result = outbox.costs_send(firm=firm, actor=admin, cost_ids=cost_ids)  # type: ignore[arg-type]
    send_seconds = time.perf_counter() - t0
    assert result.count == n, result
    print(
        f"{tag} (1) Send of {n:,} costs: {send_seconds:.2f} s, {n / send_seconds:,.0f} costs/s "
        f"to Pending ({OutboxItem.objects.filter(state=OutboxState.QUEUED).count():,} items "
        "still queued when it returned)"
    )

    # (2) the drain, in the worker's process, until every item is sent
    if args.worker == "script":
        out, err = proc.communicate()
        if args.profile or proc.returncode:
            sys.stdout.write(err)
        assert proc.returncode == 0, err[-3000:]
        report = json.loads(out.strip().splitlines()[-1])
        total = report["finished_at"] - click
        rss_mb = report["maxrss_kb"] / 1024
        drain = report["seconds"]
        print(
            f"{tag} (2) drain (outbox_deliver in the worker's process, started before the "
            f"click, {report['startup']:.2f} s of Django start-up not counted): {drain:.2f} s "
            f"from its first item in {report['runs']} run(s), {report['passes']} passes; sent "
            f"{report['sent']:,}, failed {report['failed']}, retrying {report['retrying']}, "
            f"waiting {report['waiting']}"
        )
        http_total = sum(v[1] for v in report["http"].values())
        for path, (count, seconds) in report["http"].items():
            print(
                f"{tag}     HTTP {path}: {count} requests, {seconds:.2f} s "
                f"({seconds / count * 1000:.0f} ms each; requests overlap)"
            )
        print(
            f"{tag}     worker time: waiting on the books {http_total:.2f} s "
            f"({http_total / drain:.0%}, summed over the lanes), own database "
            f"{report['db_queries']:,} queries {report['db_seconds']:.2f} s "
            f"({report['db_seconds'] / drain:.0%})"
        )
    else:
        total, rss_mb = drain_with_huey(consumer, started, t0, n, tag)
        drain = total
    sent = OutboxItem.objects.filter(state=OutboxState.SENT).count()
    print(
        f"{tag} (2) Send click to the last check in the books: {total:.2f} s for {sent:,} "
        f"costs: {n / total:,.0f} costs/s; worker peak RSS {rss_mb:,.0f} MB"
    )

    # verification
    checks = Check.objects.filter(firm=books["firm"])
    refs = checks.values("external_ref").annotate(k=Count("pk"))
    expected = {outbox.cost_external_ref(c) for c in cost_ids}
    found = {r["external_ref"] for r in refs}
    statuses = dict(
        Cost.objects.filter(pk__in=cost_ids)
        .values_list("status")
        .annotate(k=Count("pk"))
        .values_list("status", "k")
    )
    print(
        f"{tag} verify: {checks.count():,} books checks, {len(found):,} distinct external_refs "
        f"(max {max((r['k'] for r in refs), default=0)} each), {sent:,} of "
        f"{OutboxItem.objects.count():,} items sent, costs {statuses}"
    )
    assert checks.count() == n
    assert found == expected
    assert all(r["k"] == 1 for r in refs)
    assert sent == n
    assert statuses == {CostStatus.PENDING: n}
    assert CostLink.objects.filter(books_check_id__isnull=False).count() == n
    baseline = written.baseline()
    print(f"{tag} (1) + (2) Send + drain: {baseline.describe(total)}")
    if baseline.seconds:
        print(
            f"{tag} (1) + (2) Send click to the last check: {baseline.seconds / total:.2f} of the "
            f"raw-SQL limit ({n / baseline.seconds:,.0f} costs/s at the limit, "
            f"{n / total:,.0f} costs/s end to end)"
        )

    if args.no_sync:
        return
    # (3) every check printed in the books (one SQL UPDATE, not measured), then the sync
    checks.update(status=CheckStatus.PRINTED, check_number=F("pk") + 10_000, printed_on=TODAY)
    t2 = time.perf_counter()
    run = check_status_sync(firm=firm, actor=admin)  # type: ignore[arg-type]
    sync_seconds = time.perf_counter() - t2
    error = f", error {run.error}" if run.error else ""
    print(
        f"{tag} (3) check-status sync after printing all {n:,} checks: {sync_seconds:.2f} s, "
        f"{n / sync_seconds:,.0f} costs/s (checked {run.checked:,}, paid {run.paid:,}, "
        f"voided {run.voided}, problems {run.problems}{error})"
    )
    paid = Cost.objects.filter(pk__in=cost_ids, status=CostStatus.PAID).count()
    print(f"{tag} verify: {paid:,} of {n:,} costs Paid")
    if run.error:
        # e.g. 414 from gunicorn: GET /checks?ids=<1,000 ids> is longer than its default
        # request line (4094 bytes) once the check ids have five digits.
        print(f"{tag} (3) NOT VERIFIED: the sync failed: {run.error}")
    else:
        assert paid == n


#: How long the Huey consumer is given to start before the click (not timed).
HUEY_START_SECONDS = 5.0


def start_huey(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], float]:
    """The Huey consumer, started before the click as in production (it picks up the
    delivery task the Send enqueues)."""
    consumer = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_huey", "--quiet"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    started = time.perf_counter()
    time.sleep(HUEY_START_SECONDS)
    assert consumer.poll() is None, "the Huey consumer exited"
    return consumer, started


def drain_with_huey(
    consumer: subprocess.Popen[bytes], started: float, click: float, n: int, tag: str
) -> tuple[float, float]:
    """Poll the outbox until every item is sent; the consumer's peak RSS is read from
    /proc. Returns the seconds from the click and the peak RSS in MB."""
    from casebridge.bridge.models import OutboxItem, OutboxState

    hwm_kb = 0
    try:
        while True:
            hwm_kb = max(hwm_kb, _vm_hwm_kb(consumer.pid))
            left = OutboxItem.objects.exclude(state=OutboxState.SENT).count()
            if not left:
                break
            stuck = OutboxItem.objects.filter(
                state__in=(OutboxState.FAILED, OutboxState.WAITING)
            ).count()
            assert consumer.poll() is None, "the Huey consumer exited"
            assert not stuck, f"{stuck} items failed or wait; see the consumer's log"
            assert time.perf_counter() - click < 3600, f"{left} items still unsent after an hour"
            time.sleep(0.05)
        seconds = time.perf_counter() - click
        hwm_kb = max(hwm_kb, _vm_hwm_kb(consumer.pid))
    finally:
        consumer.send_signal(signal.SIGINT)
        try:
            consumer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait()
    print(
        f"{tag} (2) drain (manage.py run_huey, started {click - started:.1f} s before the "
        f"click): every one of {n:,} items sent {seconds:.2f} s after the click"
    )
    return seconds, hwm_kb / 1024


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()
