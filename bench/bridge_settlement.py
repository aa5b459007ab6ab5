"""Bridge benchmark: settled cases carried to the books (deposit, fee invoice and
disbursement), then the reconciliation of the whole firm, over real HTTP.

Usage: .venv/bin/python bench/bridge_settlement.py [--backend sqlite|postgres|both]
                                                   [--cases 2000] [--costs-per-case 3]
                                                   [--reconcile-cases 10000]
                                                   [--reconcile-runs 3]
                                                   [--bridge-batch N] [--profile]
                                                   [--port N] [--db-prefix NAME]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_settlement``, default ``casebridge_bench_settlement``,
at $BENCH_POSTGRES_URL, default the local server; both removed at the end) and reuses
``bench/bridge_costs.py`` for the rest of the stage: the books firm as the seed asks (the
bridge tests' own set-up), a cases firm of ``--cases`` open cases with ``--costs-per-case``
Open costs each (bulk inserts), the books served by gunicorn (2 sync workers) on ``--port``
(default a free loopback port), and the delivery worker (``outbox_deliver`` in a fresh
Python process, which reports its HTTP requests, its queries and its peak RSS).

Set-up (not timed, but its duration is printed), all through the real services except the
bulk-loaded cases and costs: the bridge activated with the invoice released automatically;
every cost sent (``costs_send`` + the worker), its check printed in the books (one SQL
UPDATE) and synced back (costs Paid); then, per case, an offer recorded and accepted and
the settlement check deposited (``deposit_record``; the worked example's 250,000.00 varied
between 100,000.00 and 350,000.00 and never below what the costs need), two liens claimed,
accepted and staged, the fee and the cost reimbursement staged, Push to Client Trust and
Push to Disbursement.

Timed, each with its items and items/s, and each drain beside the raw SQL insert of every
row it wrote (bench/common.py):

1. the drain of the deposits' trust receipts (one ``POST /trust-receipts`` each);
2. the drain of the trust check requests Push to Disbursement queued (liens, client);
3. ``fee_invoices_create`` for every case at once (the click) and the drain of the
   invoices (released automatically: each posts and moves the fee and the reimbursed
   costs from trust to operating);
4. every trust check printed in the books (one SQL UPDATE, not timed), then the status
   sync (``check_status_sync``) bringing the check numbers and final invoices back;
5. ``reconciliation_run`` for the whole firm, which must be clean.

Verified with SQL aggregates: no difference and nothing in flight, the books' trust for
every file exactly 0.00 (maintained ledger balances and the sum of their postings), every
journal entry balanced with at least two postings, every payment Disbursed, every outbox
item sent.

Then the reconciliation at ``--reconcile-cases`` (10,000 by default): the firm is brought
to that many settled-and-disbursed cases by bulk inserts on both sides, each bulk-loaded
case a copy of one really settled case (case ``n`` copies real case ``n mod --cases``)
with new ids, numbers and references: on the cases side Contact, Case, Settlement,
Negotiation, Deposit, Lien, Cost (Paid), TrustItem (Disbursed, with check numbers or the
invoice), and the bridge's CaseLink, CostLink, DepositLink, TrustItemLink and FeeInvoice
(final); in the books Contact, File, TrustLedger (0.00), Check (printed), TrustReceipt,
Invoice (final) and InvoiceLine, with their journal entries and postings copied too (the
checks, receipts and invoices must point at an entry, and the verification sums every
posting), and the GL accounts' maintained balances moved by the copies' postings. Outbox
items and audit events are not copied (the reconciliation reads only unfinished items).
After the same verification, ``reconciliation_run`` of the whole firm is timed
(``--reconcile-runs`` times, 3 by default, and the median), each run split into the
books' HTTP reads (the client's calls, of which the HTTP round trips) and the comparison
on the cases side (its queries shown apart), beside the raw SQL limit of a digest
comparison: the books' maintained per-file digests and this side's per-case ones, read
directly (issue 12, ADR 0030), and both recomputed from every document (the check that
the maintained digests equal the documents; it fails the bench if they do not).
``--profile`` runs it once more under cProfile with the books served
in-process (httpx's WSGI transport), so the profile shows both sides. Aim: the
reconciliation of 100,000 cases (``--reconcile-cases 100000``) in under 5 seconds.

Figures are printed; only the verification asserts.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.bridge_costs import (  # noqa: E402
    INTEGRATION_EMAIL,
    PASSWORD,
    TODAY,
    WORKER,
    books_firm_seeded,
    cases_firm_loaded,
    prepare_database,
    start_books,
)

#: Bulk-loaded cases per transaction.
CHUNK = 500


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Settlement money through the bridge.")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--cases", type=int, default=2000, help="cases settled through the bridge")
    ap.add_argument("--costs-per-case", type=int, default=3)
    ap.add_argument(
        "--reconcile-cases",
        type=int,
        default=10_000,
        help="cases in the firm for the last reconciliation (the rest bulk-loaded)",
    )
    ap.add_argument(
        "--reconcile-runs", type=int, default=3, help="timed runs of the last reconciliation"
    )
    ap.add_argument(
        "--bridge-batch", type=int, default=None, help="CASEBRIDGE_BRIDGE_BATCH for the worker"
    )
    ap.add_argument(
        "--profile", action="store_true", help="cProfile the last reconciliation (books in-process)"
    )
    ap.add_argument(
        "--profile-drains",
        action="store_true",
        help="cProfile the delivery worker of the timed drains (1-3; its figures then include "
        "the profiler's cost)",
    )
    ap.add_argument(
        "--wait-for-quiet",
        type=float,
        default=0.0,
        metavar="LOAD",
        help="before the timed reconciliations, wait until the 1-minute load average is below "
        "LOAD (the bulk load can run on a busy machine, the timing on a quiet one)",
    )
    ap.add_argument(
        "--dump-to",
        metavar="PATH",
        help="PostgreSQL: after the bulk load, keep the firm in a pg_dump at PATH (and its "
        "keys at PATH.env) for --from-dump",
    )
    ap.add_argument(
        "--from-dump",
        metavar="PATH",
        help="PostgreSQL: time only the reconciliation of a firm kept by --dump-to (restored, "
        "migrated to this tree, its connection pointed at this run's books): the bulk load "
        "of 100,000 cases takes half an hour, a restore minutes",
    )
    common.add_common_arguments(ap, server=True)
    return ap


def main() -> None:
    args = build_parser().parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if len(backends) > 1:
            # Each backend in its own process: Django settings are read once per process.
            cmd = [sys.executable, __file__, "--backend", backend, "--cases", str(args.cases)]
            cmd += ["--costs-per-case", str(args.costs_per_case)]
            cmd += ["--reconcile-cases", str(args.reconcile_cases)]
            cmd += ["--reconcile-runs", str(args.reconcile_runs)]
            if args.bridge_batch:
                cmd += ["--bridge-batch", str(args.bridge_batch)]
            cmd += ["--profile"] if args.profile else []
            cmd += ["--profile-drains"] if args.profile_drains else []
            cmd += ["--wait-for-quiet", str(args.wait_for_quiet)]
            cmd += ["--dump-to", args.dump_to] if args.dump_to else []
            cmd += ["--from-dump", args.from_dump] if args.from_dump else []
            cmd += common.common_argv(args)
            subprocess.run(cmd, check=True)
        else:
            run(backend, args)


# --- Helpers ----------------------------------------------------------------------------------


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "-"


def drain(
    env: dict[str, str],
    firm_id: int,
    tag: str,
    label: str,
    expected: int,
    *,
    profile: bool = False,
) -> float:
    """One delivery run in its own process (bridge_costs' WORKER); prints its figures and
    returns its time (the run itself, without the process's Django start-up). ``profile``:
    under cProfile, whose statistics are printed after the figures."""
    written = common.RowsWritten()
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            WORKER,
            str(ROOT),
            str(firm_id),
            "1" if profile else "0",
            str(expected),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.stdout.write(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    seconds = float(report["seconds"])
    print(
        f"{tag} {label}: {report['sent']:,} items in {seconds:.2f} s, "
        f"{rate(report['sent'], seconds)} ({report['passes']} passes; process {wall:.2f} s with "
        f"{report['startup']:.2f} s of Django start-up); failed {report['failed']}, "
        f"retrying {report['retrying']}, waiting {report['waiting']}; "
        f"worker peak RSS {report['maxrss_kb'] / 1024:,.0f} MB"
    )
    http_total = 0.0
    for path, (count, secs) in report["http"].items():
        http_total += secs
        each = secs / count * 1000
        print(f"{tag}     HTTP {path}: {count:,} requests, {secs:.2f} s ({each:.1f} ms each)")
    print(
        f"{tag}     worker time: waiting on the books {http_total:.2f} s, own database "
        f"{report['db_queries']:,} queries {report['db_seconds']:.2f} s, rest "
        f"{seconds - http_total - report['db_seconds']:.2f} s"
    )
    assert report["sent"] == expected, f"expected {expected} items sent, got {report['sent']}"
    assert report["failed"] == report["retrying"] == report["waiting"] == 0
    print(f"{tag}     {written.baseline().describe(seconds)}")
    if profile:
        print(proc.stderr)
    return seconds


@contextmanager
def counted_queries() -> Iterator[list[float]]:
    """[queries, seconds] of this process's database work inside the block."""
    from django.db import connection

    db = [0.0, 0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db[0] += 1
            db[1] += time.perf_counter() - t

    with connection.execute_wrapper(timed):
        yield db


@contextmanager
def timed_books_client() -> Iterator[dict[str, list[float]]]:
    """Time the books client's calls (``HttpBooksClient`` methods: the HTTP round trips and
    the parsing into dataclasses) and, under ``"http"``, httpx's sends alone."""
    import httpx

    from casebridge.bridge.client import HttpBooksClient

    times: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    patched: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, key: str) -> None:
        original = getattr(owner, name)

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                times[key][0] += 1
                times[key][1] += time.perf_counter() - t

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    for name in (
        "external_digests",
        "external_documents_of_files",
        "external_documents",
        "all_trust_balances",
        "trust_balances",
        "checks_get",
    ):
        wrap(HttpBooksClient, name, name)
    wrap(httpx.Client, "send", "http")
    try:
        yield times
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


# --- The run ----------------------------------------------------------------------------------


def run(backend: str, args: argparse.Namespace) -> None:
    if (args.dump_to or args.from_dump) and backend != "postgres":
        raise SystemExit("--dump-to and --from-dump are for PostgreSQL (--backend postgres)")
    var_dir = tempfile.mkdtemp(prefix=f"cb-bench-settlement-{backend}-")
    db_name = f"{args.db_prefix}_settlement"
    server = None
    if args.from_dump:
        try:
            server = reconcile_from_dump(args, var_dir, db_name)
        finally:
            common.stop(server)
            common.close_connections()
            common.database_drop(backend, db_name)
            shutil.rmtree(var_dir, ignore_errors=True)
        return
    try:
        env = prepare_database(backend, var_dir, args.bridge_batch, db_name)
        common.setup_django(env)
        from django.conf import settings

        tag = f"[{backend}]"
        started = time.perf_counter()
        print(f"{tag} load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        t = time.perf_counter()
        books = books_firm_seeded()
        firm, admin, cost_ids = cases_firm_loaded(args.cases, args.costs_per_case)
        settlements_created(firm)
        if backend == "postgres":
            vacuum_analyze()
        server, port = start_books(env, None, args.port)
        books_url = f"http://127.0.0.1:{port}/books/api/v1"
        activate(firm, admin, books, books_url)
        print(
            f"{tag} books firm seeded, {args.cases:,} cases and {len(cost_ids):,} Open costs "
            f"bulk-loaded, bridge activated against {books_url} (invoices released "
            f"automatically; BRIDGE_BATCH_SIZE={settings.BRIDGE_BATCH_SIZE}) in "
            f"{time.perf_counter() - t:.1f} s"
        )
        settle_and_measure(backend, args, env, books, firm, admin, cost_ids)
        print(
            f"{tag} done in {time.perf_counter() - started:.0f} s; load average at the end: "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    finally:
        common.stop(server)
        common.close_connections()
        common.database_drop(backend, db_name)
        shutil.rmtree(var_dir, ignore_errors=True)


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def settlements_created(firm: Any) -> None:
    """The Settlement row ``case_create`` makes with each case (the firm's defaults), for
    the cases bridge_costs bulk-loaded without one."""
    from casebridge.cases.models import Case, Settlement
    from casebridge.cases.models import Firm as CasesFirm

    defaults = CasesFirm.objects.get(pk=firm.pk)
    Settlement.objects.bulk_create(
        [
            Settlement(
                firm=defaults,
                case_id=case_id,
                fee_rate_bp=defaults.default_fee_rate_bp,
                copp_cents=defaults.default_copp_cents,
                property_damage_fee_cents=defaults.default_property_damage_fee_cents,
            )
            for case_id in Case.objects.filter(firm=firm).values_list("pk", flat=True)
        ],
        batch_size=5000,
    )


def activate(firm: Any, admin: Any, books: dict[str, Any], books_url: str) -> None:
    from casebridge.bridge.models import InvoiceRelease
    from casebridge.bridge.services import connection as conn_services
    from casebridge.bridge.services import jobs

    conn_services.connection_activate(
        firm=firm,
        actor=admin,
        books_url=books_url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    jobs.run_pending(firm_id=firm.pk)  # the worker signs in and reads the books (ADR 0008)
    conn_services.connection_defaults_save(
        firm=firm,
        actor=admin,
        operating_account_id=books["operating"].pk,
        trust_account_id=books["trust"].pk,
        invoice_release=InvoiceRelease.AUTOMATIC,
    )
    jobs.run_pending(firm_id=firm.pk)  # the readiness of the accounts chosen


def settle_and_measure(
    backend: str,
    args: argparse.Namespace,
    env: dict[str, str],
    books: dict[str, Any],
    firm: Any,
    admin: Any,
    cost_ids: list[int],
) -> None:
    from django.db.models import F

    from casebridge.books.models import Check, CheckStatus
    from casebridge.bridge.services import outbox
    from casebridge.bridge.services import settlement as bridge_settlement
    from casebridge.bridge.services.reconciliation import reconciliation_run
    from casebridge.bridge.services.status_sync import check_status_sync
    from casebridge.cases.models import Case, Cost, CostStatus

    tag = f"[{backend}]"
    n = args.cases
    case_ids = list(Case.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))

    # --- set-up: the costs sent, their checks printed and synced back (Paid) -------------
    t = time.perf_counter()
    outbox.costs_send(firm=firm, actor=admin, cost_ids=cost_ids)
    drain(env, firm.pk, tag, "set-up: drain of the costs' check requests", len(cost_ids))
    Check.objects.filter(firm=books["firm"], bank_account=books["operating"]).update(
        status=CheckStatus.PRINTED, check_number=F("pk") + 10_000, printed_on=TODAY
    )
    sync = check_status_sync(firm=firm, actor=admin)
    assert sync.error == "", sync.error
    assert sync.paid == len(cost_ids), sync.paid
    assert Cost.objects.filter(firm=firm).exclude(status=CostStatus.PAID).count() == 0
    print(
        f"{tag} set-up: {len(cost_ids):,} costs sent, printed in the books and Paid in "
        f"{time.perf_counter() - t:.1f} s"
    )

    # --- set-up: offers accepted and settlement checks deposited (deposit_record) ----------
    t = time.perf_counter()
    plans = deposits_recorded(firm, admin, case_ids)
    print(
        f"{tag} set-up: {n:,} offers accepted and settlement checks deposited through the "
        f"services in {time.perf_counter() - t:.1f} s ({sum(p.gross for p in plans):,} cents)"
    )
    # (1) the trust receipts
    drain_receipts = drain(
        env,
        firm.pk,
        tag,
        "(1) drain of the deposits' trust receipts",
        n,
        profile=args.profile_drains,
    )

    # --- set-up: liens, fee and costs staged, Push to Client Trust, Push to Disbursement ----
    t = time.perf_counter()
    staged_and_pushed(firm, admin, plans)
    print(
        f"{tag} set-up: {2 * n:,} liens accepted, everything staged, Push to Client Trust and "
        f"Push to Disbursement through the services in {time.perf_counter() - t:.1f} s"
    )
    # (2) the trust checks
    drain_checks = drain(
        env,
        firm.pk,
        tag,
        "(2) drain of the trust check requests",
        3 * n,
        profile=args.profile_drains,
    )

    # (3) Create fee invoice for every case, and the drain
    t = time.perf_counter()
    batch = bridge_settlement.fee_invoices_create(firm=firm, actor=admin, case_ids=case_ids)
    click = time.perf_counter() - t
    assert not batch.refused, list(batch.refused.items())[:5]
    assert len(batch.created) == n
    print(
        f"{tag} (3) fee_invoices_create for {n:,} cases (the click): {click:.2f} s, "
        f"{rate(n, click)}"
    )
    drain_invoices = drain(
        env,
        firm.pk,
        tag,
        "(3) drain of the fee invoices",
        n,
        profile=args.profile_drains,
    )
    print(
        f"{tag} (3) click + drain: {click + drain_invoices:.2f} s, "
        f"{rate(n, click + drain_invoices)} invoices"
    )

    # (4) every trust check printed in the books (not timed), then the status sync
    printed = Check.objects.filter(
        firm=books["firm"], bank_account=books["trust"], status=CheckStatus.QUEUED
    ).update(status=CheckStatus.PRINTED, check_number=F("pk") + 10_000, printed_on=TODAY)
    assert printed == 3 * n, printed
    t = time.perf_counter()
    sync = check_status_sync(firm=firm, actor=admin)
    sync_seconds = time.perf_counter() - t
    assert sync.error == "", sync.error
    print(
        f"{tag} (4) status sync after printing {printed:,} trust checks: {sync_seconds:.2f} s, "
        f"{rate(sync.checked, sync_seconds)} documents (checked {sync.checked:,}: payments "
        f"disbursed {sync.disbursed:,}, invoices final {sync.invoices_final:,} (already final "
        f"on delivery), problems {sync.problems})"
    )
    assert sync.disbursed == 3 * n
    assert sync.problems == 0

    # (5) the reconciliation of the firm
    t = time.perf_counter()
    rec = reconciliation_run(firm=firm, actor=admin)
    rec_seconds = time.perf_counter() - t
    print(
        f"{tag} (5) reconciliation_run of {rec.cases_compared:,} cases: {rec_seconds:.2f} s "
        f"({rec.documents_compared:,} documents compared, {rec.differences} differences, "
        f"{rec.in_flight} in flight{', error ' + rec.error if rec.error else ''})"
    )
    verify(tag, firm, books, n, rec)
    print(
        f"{tag} summary, {n:,} cases: receipts {rate(n, drain_receipts)}, trust checks "
        f"{rate(3 * n, drain_checks)}, fee invoices (click + drain) "
        f"{rate(n, click + drain_invoices)}, sync {sync_seconds:.2f} s, "
        f"reconciliation {rec_seconds:.2f} s"
    )

    # --- the reconciliation at --reconcile-cases --------------------------------------------
    target = args.reconcile_cases
    if target > n:
        t = time.perf_counter()
        first, last = bulk_loaded(firm, books, target)
        if backend == "postgres":
            vacuum_analyze()
        print(
            f"{tag} bulk-loaded {target - n:,} settled-and-disbursed cases ({first} to {last}, "
            f"copies of the {n:,} settled above) on both sides in "
            f"{time.perf_counter() - t:.1f} s"
        )
        verify(tag, firm, books, target, None)
        copies_agree(tag, firm, admin, n)
    if args.dump_to:
        dump_kept(tag, env, args.dump_to)
    wait_for_quiet(tag, args.wait_for_quiet)
    reconcile_timed(tag, firm, admin, max(target, n), args.reconcile_runs, args.profile)


# --- A firm kept for the next run (--dump-to, --from-dump) ----------------------------------

#: What a kept firm needs besides its rows: the keys its secrets were sealed with.
KEPT_KEYS = ("CASEBRIDGE_SECRET_KEY", "CASEBRIDGE_BRIDGE_KEYS", "CASEBRIDGE_DATA_KEYS")


def dump_kept(tag: str, env: dict[str, str], path: str) -> None:
    """The whole database in a pg_dump (custom format, light compression) and the run's keys
    beside it, so another tree's --from-dump can time the reconciliation of the same firm."""
    t = time.perf_counter()
    subprocess.run(
        ["pg_dump", "-Fc", "-Z1", "-f", path, env["DATABASE_URL"]],
        check=True,
    )
    Path(f"{path}.env").write_text("".join(f"{k}={env[k]}\n" for k in KEPT_KEYS))
    print(f"{tag} kept the firm in {path} (+ .env) in {time.perf_counter() - t:.1f} s")


def reconcile_from_dump(
    args: argparse.Namespace, var_dir: str, db_name: str
) -> subprocess.Popen[bytes]:
    """Restore a kept firm, migrate it to this tree, point its connection at this run's
    books, then the timed reconciliations as after a bulk load."""
    tag = "[postgres]"
    keys = dict(
        line.split("=", 1) for line in Path(f"{args.from_dump}.env").read_text().splitlines()
    )
    env = common.bench_env(var_dir, **{k: keys[k] for k in KEPT_KEYS})
    env["CASEBRIDGE_BRIDGE_TIMEOUT"] = "30"
    env["DATABASE_URL"] = common.database_create("postgres", var_dir, db_name)
    t = time.perf_counter()
    subprocess.run(
        ["pg_restore", "-j", "2", "--no-owner", "-d", env["DATABASE_URL"], args.from_dump],
        check=True,
    )
    common.manage(env, "migrate")
    print(f"{tag} restored {args.from_dump} and migrated it in {time.perf_counter() - t:.1f} s")
    common.setup_django(env)
    from casebridge.bridge.models import Connection
    from casebridge.cases.models import Case, User
    from casebridge.cases.models import Firm as CasesFirm

    vacuum_analyze()
    server, port = start_books(env, None, args.port)
    firm = CasesFirm.objects.get(code="lopez-pi")
    admin = User.objects.get(firm=firm, email="admin@lopez.test")
    Connection.objects.filter(firm=firm).update(books_url=f"http://127.0.0.1:{port}/books/api/v1")
    n_cases = Case.objects.filter(firm=firm).count()
    print(f"{tag} load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    wait_for_quiet(tag, args.wait_for_quiet)
    reconcile_timed(tag, firm, admin, n_cases, args.reconcile_runs, args.profile)
    return server


# --- Settling through the services ----------------------------------------------------------


class Plan:
    """One case's settlement: the gross, the two liens and the offer."""

    def __init__(self, case_id: int, gross: int, liens: tuple[int, int]) -> None:
        self.case_id = case_id
        self.gross = gross
        self.liens = liens
        self.offer_id = 0


def deposits_recorded(firm: Any, admin: Any, case_ids: list[int]) -> list[Plan]:
    """Per case: an offer recorded and accepted, its whole amount deposited (each deposit
    queues its trust receipt). The worked example's 250,000.00, varied, and never less than
    what leaves the client at least a tenth after the fee (33.33%), the costs and liens of
    12% and 6%."""
    from django.db.models import Sum

    from casebridge.cases.models import Cost
    from casebridge.cases.services import cases as case_services
    from casebridge.cases.services import settlement

    rnd = random.Random(250_000_00)
    insurer = case_services.contact_create(firm=firm, actor=admin, name="Acme Insurance")
    costs = dict(
        Cost.objects.filter(firm=firm)
        .values_list("case_id")
        .annotate(s=Sum("amount_cents"))
        .values_list("case_id", "s")
    )
    plans = []
    for n, case_id in enumerate(case_ids):
        gross = max(rnd.randrange(100_000_00, 350_000_01, 100), -(-costs[case_id] * 26 // 10))
        gross = (gross + 99) // 100 * 100
        plan = Plan(case_id, gross, (gross * 12 // 100, gross * 6 // 100))
        neg = settlement.negotiation_record(
            firm=firm,
            actor=admin,
            case_id=case_id,
            kind="offer",
            party_id=insurer.pk,
            amount_cents=gross,
            made_on=TODAY,
        )
        plan.offer_id = settlement.offer_accept(
            firm=firm, actor=admin, negotiation_id=neg.pk, on=TODAY
        ).pk
        settlement.deposit_record(
            firm=firm,
            actor=admin,
            case_id=case_id,
            offer_id=plan.offer_id,
            amount_cents=gross,
            check_number=f"{880_000 + n}",
            deposited_on=TODAY,
        )
        plans.append(plan)
    return plans


def staged_and_pushed(firm: Any, admin: Any, plans: list[Plan]) -> None:
    """Per case: two liens claimed and accepted, staged with the fee and the cost
    reimbursement; Push to Client Trust (the client's check is the remainder) and Push to
    Disbursement (which queues the liens' and the client's trust checks)."""
    from casebridge.cases.services import cases as case_services
    from casebridge.cases.services import settlement

    holders = [
        case_services.contact_create(firm=firm, actor=admin, name=name).pk
        for name in ("Valley Medical", "Blue Shield")
    ]
    for plan in plans:
        for holder, cents in zip(holders, plan.liens, strict=True):
            lien = settlement.lien_create(
                firm=firm,
                actor=admin,
                case_id=plan.case_id,
                kind="medical",
                holder_id=holder,
                claimed_cents=cents + 1_000_00,
            )
            settlement.lien_accept(
                firm=firm, actor=admin, lien_id=lien.pk, final_cents=cents, on=TODAY
            )
            settlement.trust_item_stage(
                firm=firm, actor=admin, case_id=plan.case_id, kind="lien", lien_id=lien.pk
            )
        for kind in ("fee", "cost_reimbursement"):
            settlement.trust_item_stage(firm=firm, actor=admin, case_id=plan.case_id, kind=kind)
        client = settlement.push_to_client_trust(firm=firm, actor=admin, case_id=plan.case_id)
        assert client is not None
        assert client.amount_cents > 0
        assert settlement.push_to_disbursement(firm=firm, actor=admin, case_id=plan.case_id) == 5


# --- Verification -----------------------------------------------------------------------------


def verify(tag: str, firm: Any, books: dict[str, Any], n_cases: int, rec: Any) -> None:
    """SQL aggregates over both sides: every file's trust exactly 0.00 in the books (the
    maintained ledgers and the sums of their postings), every journal entry balanced with
    at least two postings, the trust GL accounts at 0.00, the trial balance balanced;
    every payment Disbursed, every fee invoice final, every outbox item sent."""
    from django.db.models import Count, F, Q, Sum

    from casebridge.books.models import (
        Check,
        GLAccount,
        Invoice,
        JournalEntry,
        Posting,
        TrustLedger,
        TrustReceipt,
    )
    from casebridge.bridge.models import FeeInvoice, OutboxItem, OutboxState
    from casebridge.cases.models import Case, TrustItem, TrustItemStatus

    bf = books["firm"]
    trust_bank = books["trust"]
    ledgers = TrustLedger.objects.filter(firm=bf)
    nonzero_ledgers = ledgers.exclude(balance_cents=0).count()
    posted_nonzero = (
        Posting.objects.filter(trust_ledger__firm=bf)
        .values("trust_ledger_id")
        .annotate(s=Sum("credit_cents") - Sum("debit_cents"))
        .exclude(s=0)
        .count()
    )
    unbalanced = (
        Posting.objects.filter(entry__firm=bf)
        .values("entry_id")
        .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
        .filter(~Q(d=F("c")))
        .count()
    )
    thin = (
        JournalEntry.objects.filter(firm=bf).annotate(k=Count("postings")).filter(k__lt=2).count()
    )
    entries = JournalEntry.objects.filter(firm=bf).count()
    gl = dict(GLAccount.objects.filter(firm=bf).values_list("pk", "balance_cents"))
    posted_gl = dict(
        Posting.objects.filter(entry__firm=bf)
        .values_list("account_id")
        .annotate(s=Sum("debit_cents") - Sum("credit_cents"))
        .values_list("account_id", "s")
    )
    drift = [pk for pk, cents in gl.items() if cents != int(posted_gl.get(pk, 0) or 0)]
    trust_gl = (trust_bank.gl_account_id, trust_bank.trust_liability_account_id)
    checks = Check.objects.filter(firm=bf, bank_account=trust_bank)
    print(
        f"{tag} verify: {ledgers.count():,} client trust ledgers, {nonzero_ledgers} not at 0.00 "
        f"(by their postings: {posted_nonzero}); {entries:,} journal entries, {unbalanced} "
        f"unbalanced, {thin} with fewer than two postings; trial balance "
        f"{sum(gl.values())} cents off; trust bank {gl[trust_gl[0]]} and client trust "
        f"{gl[trust_gl[1]]} cents; {len(drift)} GL balances differ from their postings"
    )
    assert ledgers.count() == Case.objects.filter(firm=firm).count() == n_cases
    assert nonzero_ledgers == posted_nonzero == unbalanced == thin == 0
    assert sum(gl.values()) == 0
    assert gl[trust_gl[0]] == gl[trust_gl[1]] == 0
    assert not drift, drift
    assert checks.count() == checks.filter(status="printed").count() == 3 * n_cases
    assert TrustReceipt.objects.filter(firm=bf, status="posted").count() == n_cases
    assert Invoice.objects.filter(firm=bf, stage="final").count() == n_cases
    items = TrustItem.objects.filter(firm=firm)
    assert items.count() == items.filter(status=TrustItemStatus.DISBURSED).count() == 5 * n_cases
    assert FeeInvoice.objects.filter(firm=firm, stage="final").count() == n_cases
    assert not OutboxItem.objects.filter(firm=firm).exclude(state=OutboxState.SENT).exists()
    if rec is not None:
        clean(rec, n_cases)


def clean(rec: Any, n_cases: int) -> None:
    """The reconciliation run finished without error, found nothing and compared them all."""
    assert rec.error == "", rec.error
    assert rec.differences == 0, rec.differences
    assert rec.in_flight == 0, rec.in_flight
    assert rec.cases_compared == n_cases, rec.cases_compared


def copies_agree(tag: str, firm: Any, admin: Any, real: int) -> None:
    """A few bulk-loaded cases: the cases side's settlement figures are their template's,
    and the reconciliation of that one case alone (the books read by file) is clean."""
    from casebridge.bridge.services.reconciliation import reconciliation_run
    from casebridge.cases.models import Case
    from casebridge.cases.selectors.settlement import settlement_figures

    ids = list(Case.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
    for n in (real, real + 1, len(ids) // 2, len(ids) - 1):
        copy, template = (Case.objects.get(pk=ids[k]) for k in (n, n % real))
        mine, theirs = settlement_figures(case=copy), settlement_figures(case=template)
        for name in ("gross_cents", "deposited_cents", "fee_cents", "costs_cents", "liens_cents"):
            assert getattr(mine, name) == getattr(theirs, name), (n, name)
        assert mine.staged_from_trust_cents == mine.deposited_cents, n
        assert mine.trust_remaining_cents == 0, n
        clean(reconciliation_run(firm=firm, actor=admin, case_id=copy.pk), 1)
    print(f"{tag} verify: sampled copies agree with their templates; one-case runs clean")


# --- The reconciliation, timed ----------------------------------------------------------------


def wait_for_quiet(tag: str, load: float) -> None:
    """Wait until the 1-minute load average is below ``load`` (0: do not wait)."""
    if load <= 0:
        return
    started = time.perf_counter()
    while os.getloadavg()[0] >= load:
        time.sleep(10)
    print(
        f"{tag} waited {time.perf_counter() - started:.0f} s for a load average below "
        f"{load:g}: now {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def reconcile_timed(
    tag: str, firm: Any, admin: Any, n_cases: int, runs: int, profile: bool
) -> None:
    """``runs`` timed runs of the firm's reconciliation, each split into the books' reads
    (the client's calls; of which httpx's round trips) and the comparison (of which this
    side's queries); then the median."""
    from casebridge.bridge.services.reconciliation import reconciliation_run

    times = []
    for k in range(1, runs + 1):
        with timed_books_client() as calls, counted_queries() as db:
            t = time.perf_counter()
            rec = reconciliation_run(firm=firm, actor=admin)
            seconds = time.perf_counter() - t
        clean(rec, n_cases)
        times.append(seconds)
        client_calls = {key: v for key, v in calls.items() if key != "http"}
        reads = sum(v[1] for v in client_calls.values())
        http_count, http_seconds = calls["http"]
        print(
            f"{tag} reconciliation_run of {rec.cases_compared:,} cases, run {k}: {seconds:.2f} s "
            f"({rec.documents_compared:,} documents compared, {rec.differences} differences, "
            f"{rec.in_flight} in flight)"
        )
        calls_text = ", ".join(
            f"{name} {count:.0f} calls {secs:.2f} s"
            for name, (count, secs) in sorted(client_calls.items())
        )
        print(
            f"{tag}     books' reads {reads:.2f} s ({calls_text}): HTTP {http_count:.0f} "
            f"requests {http_seconds:.2f} s, parsing into documents {reads - http_seconds:.2f} s"
        )
        print(
            f"{tag}     comparison on the cases side {seconds - reads:.2f} s, of which "
            f"{db[0]:.0f} queries {db[1]:.2f} s"
        )
    median = statistics.median(times)
    verdict = "under" if median < 5 else "OVER"
    print(
        f"{tag} reconciliation of {n_cases:,} cases: median {median:.2f} s of {runs} runs "
        f"({verdict} the 5 s aim)"
    )
    limit = digests_raw(firm)
    print(
        f"{tag}     raw SQL limit: both sides' maintained digest reads run directly (no HTTP, "
        f"no comparison): {limit:.2f} s; the path took {median / limit:.1f}x that "
        f"(ratio {limit / median:.2f})"
    )
    seconds, drifted = digests_recomputed(firm)
    print(
        f"{tag}     both sides' digests recomputed from every document (the check of the "
        f"maintained ones, what a run computed before ADR 0030): {seconds:.2f} s, "
        f"{drifted} groups differ from the maintained digests"
    )
    assert drifted == 0, "the maintained digests drifted from the documents"
    if profile:
        profiled(tag, firm, admin)


def _books_firm(firm: Any) -> Any:
    from casebridge.books.models import BankAccount, BankAccountKind
    from casebridge.books.models import Firm as BooksFirm
    from casebridge.bridge.models import Connection

    conn = Connection.objects.get(firm=firm)
    bank = BankAccount.objects.get(pk=conn.trust_account_id, kind=BankAccountKind.TRUST)
    return BooksFirm.objects.get(pk=bank.firm_id)


def digests_recomputed(firm: Any) -> tuple[float, int]:
    """Seconds of both sides' digests recomputed from every document and compared with the
    maintained ones (the integrity check), and how many groups differ."""
    from casebridge.books.selectors.digests import file_digests_drift
    from casebridge.bridge.services.reconciliation import case_digests_drift

    books_firm = _books_firm(firm)
    t = time.perf_counter()
    drifted = len(file_digests_drift(firm=books_firm)) + len(case_digests_drift(firm=firm))
    return time.perf_counter() - t, drifted


def digests_raw(firm: Any) -> float:
    """Seconds of the two reads the reconciliation rests on, run directly: the books'
    maintained per-file digests (with the trust balances) and this side's maintained
    per-case digests (the limit of a digest comparison: what is left is HTTP, JSON and the
    comparison of 2 x n tuples)."""
    from casebridge.books.models import BankAccount
    from casebridge.books.selectors.digests import external_digests_page
    from casebridge.bridge.models import Connection
    from casebridge.bridge.services.reconciliation import expected_digests

    bank = BankAccount.objects.get(pk=Connection.objects.get(firm=firm).trust_account_id)
    books_firm = _books_firm(firm)
    t = time.perf_counter()
    after: int | None = 0
    while after is not None:
        _, after = external_digests_page(
            firm=books_firm,
            prefix="cases-",
            bank_account_id=bank.pk,
            after_file_id=after,
            limit=50_000,
        )
    expected_digests(firm)
    return time.perf_counter() - t


def profiled(tag: str, firm: Any, admin: Any) -> None:
    """The reconciliation again under cProfile, the books answering in-process through
    httpx's WSGI transport (same code, no sockets), so both sides show in one profile."""
    import httpx
    from django.core.wsgi import get_wsgi_application

    from casebridge.bridge.client import HttpBooksClient
    from casebridge.bridge.services import connection as conn_services
    from casebridge.bridge.services.reconciliation import reconciliation_run

    app = get_wsgi_application()

    def in_process(
        base_url: str, token: str | None, timeout: float | None, confirmed: frozenset[Any]
    ) -> Any:
        return HttpBooksClient(
            base_url, token=token, transport=httpx.WSGITransport(app=app), confirmed=confirmed
        )

    previous = conn_services.set_client_factory(in_process)
    prof = cProfile.Profile()
    try:
        reconciliation_run(firm=firm, actor=admin)  # warm-up: the URLconf, the API's schemas
        t = time.perf_counter()
        prof.enable()
        rec = reconciliation_run(firm=firm, actor=admin)
        prof.disable()
        seconds = time.perf_counter() - t
    finally:
        conn_services.set_client_factory(previous)
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(45)
    print(
        f"{tag} profile: reconciliation_run with the books in-process under cProfile: "
        f"{seconds:.2f} s ({rec.differences} differences)"
    )
    print(out.getvalue())


# --- Bulk-loading settled cases on both sides -------------------------------------------------


def _rows(model: Any, **filters: Any) -> list[dict[str, Any]]:
    return list(model.objects.filter(**filters).order_by("pk").values())


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return out


def _copy(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "id"}
    out.update(changes)
    return out


def _created(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """bulk_create the rows; their new ids in order (both databases return them)."""
    objs = model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
    ids = [int(o.pk) for o in objs]
    assert len(ids) == len(rows)
    assert all(ids)
    return ids


class Templates:
    """Every row of the really settled cases, on both sides, grouped for copying."""

    def __init__(self, firm: Any, books_firm: Any) -> None:
        from casebridge.books import models as bm
        from casebridge.bridge import models as xm
        from casebridge.cases import models as cm

        self.cases = _rows(cm.Case, firm=firm)
        self.case_ids = [c["id"] for c in self.cases]
        self.clients = {
            r["id"]: r for r in _rows(cm.Contact, pk__in=[c["client_id"] for c in self.cases])
        }
        self.settlement = {r["case_id"]: r for r in _rows(cm.Settlement, firm=firm)}
        self.negotiations = _by(_rows(cm.Negotiation, firm=firm), "case_id")
        self.deposits = _by(_rows(cm.Deposit, firm=firm), "case_id")
        self.liens = _by(_rows(cm.Lien, firm=firm), "case_id")
        self.costs = _by(_rows(cm.Cost, firm=firm), "case_id")
        self.items = _by(_rows(cm.TrustItem, firm=firm), "case_id")
        self.case_link = {r["case_id"]: r for r in _rows(xm.CaseLink, firm=firm)}
        self.cost_link = {r["cost_id"]: r for r in _rows(xm.CostLink, firm=firm)}
        self.deposit_link = {r["deposit_id"]: r for r in _rows(xm.DepositLink, firm=firm)}
        self.item_link = {r["trust_item_id"]: r for r in _rows(xm.TrustItemLink, firm=firm)}
        self.fee_invoice = {r["case_id"]: r for r in _rows(xm.FeeInvoice, firm=firm)}
        self.files = {r["id"]: r for r in _rows(bm.File, firm=books_firm)}
        self.books_clients = {r["id"]: r for r in _rows(bm.Contact, firm=books_firm)}
        self.ledgers = _by(_rows(bm.TrustLedger, firm=books_firm), "file_id")
        self.checks = _by(_rows(bm.Check, firm=books_firm), "file_id")
        self.receipts = _by(_rows(bm.TrustReceipt, firm=books_firm), "file_id")
        self.invoices = _by(_rows(bm.Invoice, firm=books_firm), "file_id")
        self.lines = _by(_rows(bm.InvoiceLine, invoice__firm=books_firm), "invoice_id")
        self.entries = {r["id"]: r for r in _rows(bm.JournalEntry, firm=books_firm)}
        self.postings = _by(_rows(bm.Posting, entry__firm=books_firm), "entry_id")
        for case_id in self.case_ids:
            file_id = self.case_link[case_id]["books_file_id"]
            assert case_id in self.fee_invoice
            assert len(self.invoices[file_id]) == 1
            assert len(self.ledgers[file_id]) == 1
            assert len(self.receipts[file_id]) == 1


def bulk_loaded(firm: Any, books: dict[str, Any], target: int) -> tuple[str, str]:
    """Bring the firm to ``target`` settled-and-disbursed cases: case ``n`` (from the first
    after the real ones) copies real case ``n mod real``. Returns the first and last
    bulk-loaded case numbers."""
    from django.db import transaction
    from django.db.models import F, Max

    from casebridge.books import models as bm
    from casebridge.cases import models as cm

    bf = books["firm"]
    tpl = Templates(firm, bf)
    real = len(tpl.case_ids)
    counters = {
        "case": cm.Firm.objects.get(pk=firm.pk).next_case_number,
        "file": bm.Firm.objects.get(pk=bf.pk).next_file_number,
        "invoice": bm.Firm.objects.get(pk=bf.pk).next_invoice_number,
    }
    for bank in (books["operating"], books["trust"]):
        top = bm.Check.objects.filter(bank_account=bank).aggregate(m=Max("check_number"))["m"]
        counters[f"check-{bank.pk}"] = int(top or 0) + 1
    gl_delta: dict[int, int] = defaultdict(int)
    first_number = f"PI-{counters['case']:06d}"
    for start in range(real, target, CHUNK):
        copies = [(n, tpl.case_ids[n % real]) for n in range(start, min(target, start + CHUNK))]
        with transaction.atomic():
            _copy_chunk(tpl, copies, counters, gl_delta)
    with transaction.atomic():
        cm.Firm.objects.filter(pk=firm.pk).update(next_case_number=counters["case"])
        bm.Firm.objects.filter(pk=bf.pk).update(
            next_file_number=counters["file"], next_invoice_number=counters["invoice"]
        )
        for bank in (books["operating"], books["trust"]):
            bm.BankAccount.objects.filter(pk=bank.pk).update(
                next_check_number=counters[f"check-{bank.pk}"]
            )
        for account_id, cents in gl_delta.items():
            bm.GLAccount.objects.filter(pk=account_id).update(
                balance_cents=F("balance_cents") + cents
            )
    return first_number, f"PI-{counters['case'] - 1:06d}"


def _copy_chunk(
    tpl: Templates,
    copies: list[tuple[int, int]],
    counters: dict[str, int],
    gl_delta: dict[int, int],
) -> None:
    """Copy one template case per (n, template case id), level by level (a row after the
    rows it points at), with every id, number and reference renewed."""
    from casebridge.books import models as bm
    from casebridge.bridge import models as xm
    from casebridge.bridge.services.outbox import cost_external_ref, deposit_external_ref
    from casebridge.bridge.services.settlement import (
        fee_invoice_external_ref,
        trust_item_external_ref,
    )
    from casebridge.cases import models as cm

    def take(name: str) -> int:
        value = counters[name]
        counters[name] = value + 1
        return value

    cases = {c["id"]: c for c in tpl.cases}
    # new ids of the copies, by (n, template id), per model
    new: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)

    def create(
        label: str,
        model: Any,
        sources: list[tuple[int, dict[str, Any]]],
        make: Callable[[int, dict[str, Any]], dict[str, Any]],
    ) -> None:
        ids = _created(model, [make(n, row) for n, row in sources])
        for (n, row), pk in zip(sources, ids, strict=True):
            new[label][(n, row["id"])] = pk

    def file_of(case_id: int) -> int:
        return int(tpl.case_link[case_id]["books_file_id"])

    def each(
        groups: dict[Any, list[dict[str, Any]]], key: Callable[[int], Any]
    ) -> list[tuple[int, dict[str, Any]]]:
        return [(n, row) for n, case_id in copies for row in groups.get(key(case_id), [])]

    # names and numbers of the copies
    names = {n: f"Client {n:05d}" for n, _ in copies}
    numbers = {n: f"PI-{take('case'):06d}" for n, _ in copies}
    file_numbers = {n: f"{TODAY:%Y}-{take('file'):05d}" for n, _ in copies}
    check_numbers: dict[tuple[int, int], int] = {}
    for n, case_id in copies:
        for check in tpl.checks[file_of(case_id)]:
            check_numbers[(n, check["id"])] = take(f"check-{check['bank_account_id']}")
    invoice_numbers = {n: take("invoice") for n, _ in copies}

    # level 1: the clients, on both sides
    create(
        "contact",
        cm.Contact,
        [(n, tpl.clients[cases[c]["client_id"]]) for n, c in copies],
        lambda n, row: _copy(row, name=names[n], created_at=None),
    )
    client_of = {n: new["contact"][(n, cases[c]["client_id"])] for n, c in copies}
    create(
        "books_contact",
        bm.Contact,
        [(n, tpl.books_clients[tpl.files[file_of(c)]["client_id"]]) for n, c in copies],
        lambda n, row: _copy(row, name=names[n], external_ref=f"cases-contact-{client_of[n]}"),
    )
    # level 2: the cases and their files
    create(
        "case",
        cm.Case,
        [(n, cases[c]) for n, c in copies],
        lambda n, row: _copy(
            row,
            number=numbers[n],
            name=f"{names[n]} v. Defendant {n % 997}",
            client_id=client_of[n],
            created_at=None,
        ),
    )
    case_of = {n: new["case"][(n, c)] for n, c in copies}
    create(
        "file",
        bm.File,
        [(n, tpl.files[file_of(c)]) for n, c in copies],
        lambda n, row: _copy(
            row,
            number=file_numbers[n],
            name=f"{numbers[n]} {names[n]} v. Defendant {n % 997}"[:200],
            client_id=new["books_contact"][(n, row["client_id"])],
            external_ref=f"cases-case-{case_of[n]}",
        ),
    )
    file_new = {n: new["file"][(n, file_of(c))] for n, c in copies}

    # level 3: what hangs on the case or the file alone; the journal entries
    for label, model, groups in (
        ("settlement", cm.Settlement, {k: [v] for k, v in tpl.settlement.items()}),
        ("negotiation", cm.Negotiation, tpl.negotiations),
        ("lien", cm.Lien, tpl.liens),
    ):
        create(
            label, model, each(groups, lambda c: c), lambda n, row: _copy(row, case_id=case_of[n])
        )
    cost_check = {cost_id: link["books_check_id"] for cost_id, link in tpl.cost_link.items()}
    create(
        "cost",
        cm.Cost,
        each(tpl.costs, lambda c: c),
        lambda n, row: _copy(
            row,
            case_id=case_of[n],
            payment_reference=str(check_numbers[(n, cost_check[row["id"]])]),
        ),
    )
    create(
        "ledger",
        bm.TrustLedger,
        each(tpl.ledgers, file_of),
        lambda n, row: _copy(row, file_id=file_new[n]),
    )
    documents = [
        (n, doc)
        for groups in (tpl.checks, tpl.receipts, tpl.invoices)
        for n, doc in each(groups, file_of)
    ]
    create(
        "entry",
        bm.JournalEntry,
        [(n, tpl.entries[doc["entry_id"]]) for n, doc in documents],
        lambda n, row: _copy(row, idempotency_key=None, content_hash=None),
    )

    # level 4: deposits, payments, postings, checks and receipts
    create(
        "deposit",
        cm.Deposit,
        each(tpl.deposits, lambda c: c),
        lambda n, row: _copy(
            row, case_id=case_of[n], offer_id=new["negotiation"][(n, row["offer_id"])]
        ),
    )

    def item_copy(n: int, row: dict[str, Any]) -> dict[str, Any]:
        link = tpl.item_link.get(row["id"])
        return _copy(
            row,
            case_id=case_of[n],
            lien_id=new["lien"][(n, row["lien_id"])] if row["lien_id"] else None,
            check_number=str(check_numbers[(n, link["books_check_id"])]) if link else "",
            invoice_reference=f"Invoice {invoice_numbers[n]}" if row["invoice_reference"] else "",
        )

    create("item", cm.TrustItem, each(tpl.items, lambda c: c), item_copy)
    ledger_new = {
        (n, ledger["id"]): new["ledger"][(n, ledger["id"])]
        for n, c in copies
        for ledger in tpl.ledgers[file_of(c)]
    }

    def posting_copy(n: int, row: dict[str, Any]) -> dict[str, Any]:
        gl_delta[row["account_id"]] += row["debit_cents"] - row["credit_cents"]
        return _copy(
            row,
            entry_id=new["entry"][(n, row["entry_id"])],
            file_id=file_new[n] if row["file_id"] else None,
            trust_ledger_id=ledger_new[(n, row["trust_ledger_id"])]
            if row["trust_ledger_id"]
            else None,
        )

    create(
        "posting",
        bm.Posting,
        [(n, p) for n, doc in documents for p in tpl.postings[doc["entry_id"]]],
        posting_copy,
    )
    cost_of_check = {check_id: cost_id for cost_id, check_id in cost_check.items()}
    item_of_check = {link["books_check_id"]: i for i, link in tpl.item_link.items()}

    def check_copy(n: int, row: dict[str, Any]) -> dict[str, Any]:
        if row["id"] in cost_of_check:
            ref = cost_external_ref(new["cost"][(n, cost_of_check[row["id"]])])
        else:
            ref = trust_item_external_ref(new["item"][(n, item_of_check[row["id"]])])
        return _copy(
            row,
            file_id=file_new[n],
            external_ref=ref,
            check_number=check_numbers[(n, row["id"])],
            entry_id=new["entry"][(n, row["entry_id"])],
        )

    create("check", bm.Check, each(tpl.checks, file_of), check_copy)
    deposit_of_receipt = {link["books_receipt_id"]: d for d, link in tpl.deposit_link.items()}
    create(
        "receipt",
        bm.TrustReceipt,
        each(tpl.receipts, file_of),
        lambda n, row: _copy(
            row,
            file_id=file_new[n],
            external_ref=deposit_external_ref(new["deposit"][(n, deposit_of_receipt[row["id"]])]),
            entry_id=new["entry"][(n, row["entry_id"])],
        ),
    )

    # level 5: fee invoices (their external_ref is their own id) and invoices, the links
    def renamed(n: int, ref: str) -> str:
        """A line's source on the cases side, renamed to the copy's ids."""
        for prefix, label in (("cases-trust-item-", "item"), ("cases-cost-", "cost")):
            if ref.startswith(prefix):
                return f"{prefix}{new[label][(n, int(ref[len(prefix) :]))]}"
        return ref

    def fee_invoice_copy(n: int, row: dict[str, Any]) -> dict[str, Any]:
        lines = [
            {
                **line,
                "source": renamed(n, line["source"]),
                "trust_item_id": new["item"][(n, line["trust_item_id"])],
                "cost_id": new["cost"][(n, line["cost_id"])] if line.get("cost_id") else None,
            }
            for line in row["lines"]
        ]
        return _copy(
            row,
            case_id=case_of[n],
            external_ref=f"pending-copy-{n}",
            lines=lines,
            trust_item_ids=[new["item"][(n, i)] for i in row["trust_item_ids"]],
            books_invoice_id=None,
            books_invoice_number=invoice_numbers[n],
        )

    create(
        "fee_invoice",
        xm.FeeInvoice,
        [(n, tpl.fee_invoice[c]) for n, c in copies],
        fee_invoice_copy,
    )
    fee_invoice_of = {n: new["fee_invoice"][(n, tpl.fee_invoice[c]["id"])] for n, c in copies}
    create(
        "invoice",
        bm.Invoice,
        each(tpl.invoices, file_of),
        lambda n, row: _copy(
            row,
            number=invoice_numbers[n],
            file_id=file_new[n],
            external_ref=fee_invoice_external_ref(fee_invoice_of[n]),
            entry_id=new["entry"][(n, row["entry_id"])],
        ),
    )
    create(
        "line",
        bm.InvoiceLine,
        [(n, line) for n, inv in each(tpl.invoices, file_of) for line in tpl.lines[inv["id"]]],
        lambda n, row: _copy(
            row,
            invoice_id=new["invoice"][(n, row["invoice_id"])],
            external_ref=renamed(n, row["external_ref"]),
        ),
    )
    fee_invoices = []
    for n, c in copies:
        invoice = tpl.invoices[file_of(c)][0]
        fee_invoices.append(
            xm.FeeInvoice(
                pk=fee_invoice_of[n],
                external_ref=fee_invoice_external_ref(fee_invoice_of[n]),
                books_invoice_id=new["invoice"][(n, invoice["id"])],
            )
        )
    xm.FeeInvoice.objects.bulk_update(fee_invoices, ["external_ref", "books_invoice_id"])
    books_client_new = {
        n: new["books_contact"][(n, tpl.files[file_of(c)]["client_id"])] for n, c in copies
    }
    create(
        "case_link",
        xm.CaseLink,
        [(n, tpl.case_link[c]) for n, c in copies],
        lambda n, row: _copy(
            row,
            case_id=case_of[n],
            books_file_id=file_new[n],
            books_file_number=file_numbers[n],
            books_client_id=books_client_new[n],
        ),
    )
    create(
        "cost_link",
        xm.CostLink,
        [(n, tpl.cost_link[cost["id"]]) for n, cost in each(tpl.costs, lambda c: c)],
        lambda n, row: _copy(
            row,
            cost_id=new["cost"][(n, row["cost_id"])],
            external_ref=cost_external_ref(new["cost"][(n, row["cost_id"])]),
            books_check_id=new["check"][(n, row["books_check_id"])],
            check_number=check_numbers[(n, row["books_check_id"])],
        ),
    )
    create(
        "deposit_link",
        xm.DepositLink,
        [(n, tpl.deposit_link[d["id"]]) for n, d in each(tpl.deposits, lambda c: c)],
        lambda n, row: _copy(
            row,
            deposit_id=new["deposit"][(n, row["deposit_id"])],
            external_ref=deposit_external_ref(new["deposit"][(n, row["deposit_id"])]),
            books_receipt_id=new["receipt"][(n, row["books_receipt_id"])],
        ),
    )
    create(
        "item_link",
        xm.TrustItemLink,
        [
            (n, tpl.item_link[i["id"]])
            for n, i in each(tpl.items, lambda c: c)
            if i["id"] in tpl.item_link
        ],
        lambda n, row: _copy(
            row,
            trust_item_id=new["item"][(n, row["trust_item_id"])],
            external_ref=trust_item_external_ref(new["item"][(n, row["trust_item_id"])]),
            books_check_id=new["check"][(n, row["books_check_id"])],
            check_number=check_numbers[(n, row["books_check_id"])],
        ),
    )


if __name__ == "__main__":
    main()
