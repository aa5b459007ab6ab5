"""Costs Management benchmark: a firm with 10,000 cases and 100,000 costs, then the time to
read (and render) the Open tab.

Usage: .venv/bin/python bench/costs_management.py [--cases 10000] [--costs 100000]
                                                   [--runs 50] [--backend sqlite|postgres|both]
                                                   [--db-prefix NAME] [--explain]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_costs``, default ``casebridge_bench_costs``, at
$BENCH_POSTGRES_URL, default the local server; both removed at the end), migrates, and
fills it with bulk inserts (the services are not what is measured): one firm,
~20 attorneys, ~2,000 payee contacts, a client per case, ``--cases`` cases and ``--costs``
costs spread over three years, the Open / Pending / Paid tabs (and a few void ones), with
amounts from $5 to $25,000. PostgreSQL gets the VACUUM ANALYZE its autovacuum runs after
such a load (statistics, and the visibility map for index-only scans); SQLite gets no
ANALYZE, since nothing runs one by itself (``--sqlite-analyze`` adds one, to compare).

It then times :func:`casebridge.cases.selectors.costs.costs_management_page` on the Open
tab, ``--runs`` times each: the first page, a filtered page (one attorney and a 90-day date
range), a deep page (the page after the 25,000th cost, by its cursor), the last page, and
the first page sorted by amount, by case and by payee; and, if the Costs Management screen is routed
(``cases:costs_management``), the whole HTML page through django.test.Client with a
signed-in session. It prints the median and the 95th percentile, and the process's peak
memory. ``--explain`` prints each page's queries with their plans (``EXPLAIN`` on
PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite). Nothing is asserted. Aim: 95th percentile
under 100 ms on both databases at 1,000,000 costs.

Speed is a ratio (bench/common.py): the load is printed beside a raw SQL insert of the same
rows, and each read beside a raw SQL read of the same page's rows (the costs with their
case, attorney, payee and cost code, by id), timed the same way in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

PASSWORD = "bench-password-1"
TODAY = dt.date(2026, 6, 30)


def prepare_database(backend: str, var_dir: str, db_name: str) -> dict[str, str]:
    env = common.bench_env(var_dir)
    env["DATABASE_URL"] = common.database_create(backend, var_dir, db_name)
    common.manage(env, "migrate")
    common.manage(env, "collectstatic", "--noinput")  # DEBUG off, as deployed
    return env


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The Costs Management screen's Open tab.")
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--costs", type=int, default=100_000)
    ap.add_argument("--payees", type=int, default=2_000)
    ap.add_argument("--attorneys", type=int, default=20)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--sqlite-analyze", action="store_true", help="ANALYZE SQLite after the load")
    ap.add_argument("--explain", action="store_true", help="print each page's query plans")
    ap.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the database afterwards (to explain or profile by hand; drop it yourself)",
    )
    ap.add_argument(
        "--reuse-db",
        action="store_true",
        help="PostgreSQL: measure the database a --keep-db run left (migrated forward first, "
        "not loaded again) and keep it",
    )
    ap.add_argument(
        "--no-load-baseline",
        action="store_true",
        help="skip the raw insert of the loaded rows (minutes at 1,000,000 costs)",
    )
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    common.add_common_arguments(ap, server=False)
    ap.add_argument(
        "--port",
        type=common.port_number,
        default=0,
        help="ignored: this bench serves nothing (accepted so every bench takes the same flags)",
    )
    return ap


def main() -> None:
    args = build_parser().parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if len(backends) > 1:
            # Each backend in its own process: Django settings are read once per process.
            cmd = [sys.executable, __file__, "--backend", backend, "--db-prefix", args.db_prefix]
            for name in ("cases", "costs", "payees", "attorneys", "runs"):
                cmd += [f"--{name}", str(getattr(args, name))]
            if args.sqlite_analyze:
                cmd.append("--sqlite-analyze")
            if args.explain:
                cmd.append("--explain")
            if args.no_load_baseline:
                cmd.append("--no-load-baseline")
            if args.keep_db:
                cmd.append("--keep-db")
            if args.reuse_db:
                cmd.append("--reuse-db")
            subprocess.run(cmd, check=True)
        else:
            run(backend, args)


def generate(n_cases: int, n_costs: int, n_payees: int, n_attorneys: int) -> tuple[int, int]:
    """Fill the database with bulk inserts; returns (firm id, a costs-management user id)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from casebridge.cases.models import (
        Case,
        CaseStatus,
        CaseType,
        Contact,
        CostCode,
        CostPriority,
        CostStatus,
        Firm,
        Settlement,
        User,
    )
    from casebridge.cases.services.firms import FIRM_COST_CODES, UTBMS_EXPENSE_CODES

    rnd = random.Random(20260630)
    batch = 5000
    now = timezone.now()
    with transaction.atomic():
        firm = Firm.objects.create(code="bench", name="Bench Injury Law", next_case_number=1)
        case_type = CaseType.objects.create(firm=firm, name="Personal Injury", is_default=True)
        CostCode.objects.bulk_create(
            [CostCode(firm=firm, code=c, name=n, is_utbms=True) for c, n in UTBMS_EXPENSE_CODES]
            + [CostCode(firm=firm, code=c, name=n) for c, n in FIRM_COST_CODES]
        )
        codes = list(CostCode.objects.filter(firm=firm).values_list("pk", flat=True))
        password = make_password(PASSWORD)
        manager = User.objects.create(
            firm=firm,
            email="costs@bench.test",
            first_name="Casey",
            last_name="Costs",
            perm_costs_management=True,
            password=password,
        )
        User.objects.bulk_create(
            [
                User(
                    firm=firm,
                    email=f"attorney{n}@bench.test",
                    first_name="Attorney",
                    last_name=f"{n:02d}",
                    is_attorney=True,
                    password=password,
                )
                for n in range(n_attorneys)
            ]
        )
        attorneys = list(
            User.objects.filter(firm=firm, is_attorney=True).values_list("pk", flat=True)
        )
        Contact.objects.bulk_create(
            [Contact(firm=firm, name=f"Payee {n:05d} Services") for n in range(n_payees)]
            + [Contact(firm=firm, name=f"Client {n:05d}") for n in range(n_cases)],
            batch_size=batch,
        )
        contacts = list(
            Contact.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True)
        )
        payees, clients = contacts[:n_payees], contacts[n_payees:]
        statuses = [CaseStatus.INTAKE, CaseStatus.OPEN, CaseStatus.SETTLED, CaseStatus.CLOSED]
        Case.objects.bulk_create(
            [
                Case(
                    firm=firm,
                    number=f"PI-{n + 1:06d}",
                    name=f"Client {n:05d} v. Defendant {n % 997}",
                    client_id=clients[n],
                    case_type=case_type,
                    responsible_attorney_id=attorneys[n % len(attorneys)],
                    status=rnd.choices(statuses, weights=[10, 60, 20, 10])[0],
                    opened_on=TODAY - dt.timedelta(days=rnd.randrange(3 * 365 + 200)),
                )
                for n in range(n_cases)
            ],
            batch_size=batch,
        )
        Firm.objects.filter(pk=firm.pk).update(next_case_number=n_cases + 1)
        case_attorneys = dict(
            Case.objects.filter(firm=firm).values_list("pk", "responsible_attorney_id")
        )
        case_ids = list(case_attorneys)
        Settlement.objects.bulk_create(
            [Settlement(firm=firm, case_id=c, fee_rate_bp=3333) for c in case_ids],
            batch_size=batch,
        )
        status_choices = [CostStatus.OPEN, CostStatus.PENDING, CostStatus.PAID, CostStatus.VOID]
        priorities = CostPriority.values
        stamp = connection.ops.adapt_datetimefield_value(now)  # what the ORM would write
        rows: list[tuple[object, ...]] = []
        for _ in range(n_costs):
            status = rnd.choices(status_choices, weights=[40, 20, 36, 4])[0]
            cost_date = TODAY - dt.timedelta(days=rnd.randrange(3 * 365))
            paid = status == CostStatus.PAID
            case_id = rnd.choice(case_ids)
            rows.append(
                (
                    firm.pk,
                    case_id,
                    case_attorneys[case_id],
                    payees[min(int(rnd.paretovariate(1.2)) - 1, n_payees - 1)]
                    if rnd.random() < 0.5
                    else rnd.choice(payees),
                    int(math.exp(rnd.uniform(math.log(500), math.log(2_500_000)))),
                    f"INV-{rnd.randrange(10**6):06d}",
                    rnd.choice(priorities),
                    rnd.choice(codes),
                    rnd.choice(["", "Records request", "Filing", "Expert retainer"]),
                    cost_date.isoformat(),
                    str(status),
                    (cost_date + dt.timedelta(days=rnd.randrange(1, 60))).isoformat()
                    if paid
                    else None,
                    "check" if paid else "",
                    str(rnd.randrange(10_000, 99_999)) if paid else "",
                    stamp if status in (CostStatus.PENDING, CostStatus.PAID) else None,
                    cost_date.isoformat() if status == CostStatus.VOID else None,
                    "",
                    stamp,
                )
            )
        bulk_load_costs(rows)
    return firm.pk, manager.pk


COST_COLUMNS = (
    "firm_id",
    "case_id",
    "attorney_id",  # what the triggers (off during the load) keep: migration 0016
    "payee_id",
    "amount_cents",
    "invoice_reference",
    "priority",
    "cost_code_id",
    "memo",
    "cost_date",
    "status",
    "paid_date",
    "payment_method",
    "payment_reference",
    "sent_at",
    "voided_on",
    "void_reason",
    "created_at",
)


def bulk_load_costs(rows: list[tuple[object, ...]]) -> None:
    """The costs in one pass: COPY on PostgreSQL, ``executemany`` on SQLite, with the
    table's secondary indexes dropped during the load and built once after it, and the
    tab-total triggers (migration 0008) off: ``cases_costtabtotal`` is then summed once
    from the loaded rows, and the payees marked (migration 0016; each cost carries its
    case's attorney from the rows), which is what the triggers would have left. The bench measures
    reads, not this load (the services' writes keep the totals through the triggers)."""
    import importlib

    from django.db import connection

    totals = importlib.import_module("casebridge.cases.migrations.0008_cost_tab_totals")
    table = "cases_cost"
    columns = ", ".join(COST_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
                "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            for statement in totals.SQLITE_DOWN:
                cursor.execute(statement)
            marks = ", ".join(["?"] * len(COST_COLUMNS))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
            cursor.cursor.executemany(sql, rows)
            for statement in totals.SQLITE:
                cursor.execute(statement)
        for _, sql in indexes:
            cursor.execute(sql)
        cursor.execute("DELETE FROM cases_costtabtotal")
        cursor.execute(totals.BACKFILL)
        payees = importlib.import_module("casebridge.cases.migrations.0016_cost_attorney_payees")
        cursor.execute(payees.BACKFILL[connection.vendor][1])


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def timed(runs: int, fn: Callable[[], object]) -> tuple[float, float]:
    fn()  # warm up (connection, statement caches)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), percentile(samples, 95)


def run(backend: str, args: argparse.Namespace) -> None:
    var_dir = tempfile.mkdtemp(prefix=f"cb-bench-costs-{backend}-")
    db_name = f"{args.db_prefix}_costs"
    reuse = args.reuse_db and backend == "postgres"
    try:
        if reuse:
            env = common.bench_env(var_dir)
            env["DATABASE_URL"] = f"{common.postgres_base()}/{db_name}"
            common.manage(env, "migrate")
            common.manage(env, "collectstatic", "--noinput")
        else:
            env = prepare_database(backend, var_dir, db_name)
        common.setup_django(env)
        measure(backend, args, reuse=reuse)
    finally:
        common.close_connections()
        if args.keep_db or reuse:
            print(f"[{backend}] kept: DATABASE_URL={env['DATABASE_URL']} (var dir {var_dir})")
        else:
            common.database_drop(backend, db_name)
            shutil.rmtree(var_dir, ignore_errors=True)


def raw_page_rows(ids: list[int]) -> Callable[[], object]:
    """The floor for a page: its rows (cost, case, attorney, payee, cost code) read by id
    with one plain SQL query."""
    from django.db import connection

    from casebridge.cases.models import Case, Contact, Cost, CostCode, User

    cost, case, user, contact, code = (
        m._meta.db_table for m in (Cost, Case, User, Contact, CostCode)
    )
    sql = (
        f"SELECT c.*, k.number, k.name, u.first_name, u.last_name, p.name, cc.code, cc.name "  # noqa: S608
        f'FROM "{cost}" c JOIN "{case}" k ON k.id = c.case_id '
        f'LEFT JOIN "{user}" u ON u.id = k.responsible_attorney_id '
        f'LEFT JOIN "{contact}" p ON p.id = c.payee_id '
        f'LEFT JOIN "{code}" cc ON cc.id = c.cost_code_id '
        f"WHERE c.id IN ({', '.join(['%s'] * len(ids))})"
    )

    def read() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, ids)
            return cursor.fetchall()

    return read


def measure(backend: str, args: argparse.Namespace, *, reuse: bool = False) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from casebridge.cases.models import Cost, CostStatus, Firm, User
    from casebridge.cases.selectors.costs import (
        LAST,
        CostFilters,
        costs_management_page,
        encode_cursor,
    )

    load_baseline = None
    t0 = time.perf_counter()
    if reuse:  # the firm a --keep-db run loaded
        firm_id = Firm.objects.get(code="bench").pk
        manager_id = User.objects.get(firm_id=firm_id, email="costs@bench.test").pk
    else:
        written = common.RowsWritten()
        firm_id, manager_id = generate(args.cases, args.costs, args.payees, args.attorneys)
        if not args.no_load_baseline:
            load_baseline = written.baseline()
    load = time.perf_counter() - t0
    if backend == "postgres" or args.sqlite_analyze:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if backend == "postgres" else "ANALYZE")
    firm = Firm.objects.get(pk=firm_id)
    rss_before_reads = rss_mb()
    open_count = Cost.objects.filter(firm=firm, status=CostStatus.OPEN).count()
    print(
        f"[{backend}] {Cost.objects.filter(firm=firm).count():,} costs ({open_count:,} open) "
        + ("reused" if reuse else f"loaded with bulk inserts in {load:.1f} s")
    )
    if load_baseline is not None:
        print(f"[{backend}] load: {load_baseline.describe(load)}")

    attorney = User.objects.filter(firm=firm, is_attorney=True).order_by("pk").first()
    assert attorney is not None
    filters = CostFilters(
        attorney_id=attorney.pk,
        date_from=TODAY - dt.timedelta(days=400),
        date_to=TODAY - dt.timedelta(days=310),
    )
    # The page after the 25,000th cost newest first (page 501 of 50 rows), by its cursor.
    depth = min(25_000, max(0, open_count - 1))
    row = (
        Cost.objects.filter(firm=firm, status=CostStatus.OPEN)
        .order_by("-cost_date", "-id")
        .values_list("cost_date", "pk")[depth]
    )
    deep = encode_cursor("date", row[0], row[1], before=False)
    cases: list[tuple[str, dict[str, object]]] = [
        ("first page", {}),
        ("filtered: attorney + 90 days", {"filters": filters}),
        (f"deep page (after row {depth:,})", {"cursor": deep}),
        ("last page", {"cursor": LAST}),
        ("sorted by amount", {"sort": "amount"}),
        ("sorted by case", {"sort": "case"}),
        ("sorted by payee", {"sort": "payee"}),
    ]
    results: list[tuple[str, float, float, int | None]] = []
    floors: dict[str, float] = {}
    for label, kwargs in cases:
        if args.explain:
            explain(label, lambda kwargs=kwargs: costs_management_page(firm=firm, **kwargs))  # type: ignore[misc]
        page = costs_management_page(firm=firm, status=CostStatus.OPEN, **kwargs)  # type: ignore[arg-type]
        median, p95 = timed(
            args.runs,
            lambda kwargs=kwargs: costs_management_page(  # type: ignore[misc]
                firm=firm, status=CostStatus.OPEN, **kwargs
            ),
        )
        floor, floor_p95 = timed(args.runs, raw_page_rows([c.pk for c in page.items]))
        floors[label] = floor
        n = len(page.items)
        results.append((f"raw SQL read of its {n} rows ({label})", floor, floor_p95, None))
        results.append((f"selector, {label}", median, p95, page.count))

    try:
        url = reverse("cases:costs_management")
    except NoReverseMatch:
        url = None
    if url is None:
        print(f"[{backend}] the Costs Management screen is not routed yet: selector only")
    else:
        client = Client()
        session = client.session
        from casebridge.cases.auth import SESSIONS
        from casebridge.cases.models import User

        session.update(SESSIONS.values(User.objects.get(pk=manager_id)))
        session.save()
        pages = [
            ("first page", {}),
            (
                "filtered: attorney + 90 days",
                {
                    "attorney": str(attorney.pk),
                    "date_from": filters.date_from.isoformat() if filters.date_from else "",
                    "date_to": filters.date_to.isoformat() if filters.date_to else "",
                },
            ),
            (f"deep page (after row {depth:,})", {"cursor": deep}),
            ("last page", {"cursor": LAST}),
            ("sorted by amount", {"sort": "amount"}),
            ("sorted by case", {"sort": "case"}),
            ("sorted by payee", {"sort": "payee"}),
        ]
        for label, params in pages:
            response = client.get(url, {"status": "open", **params})
            if response.status_code != 200:
                print(f"[{backend}] GET {url} {params} answered {response.status_code}; skipped")
                continue
            query = {"status": "open", **params}

            def get(query: dict[str, str] = query) -> object:
                return client.get(url, query)

            median, p95 = timed(args.runs, get)
            results.append((f"HTML page, {label}", median, p95, None))

    for label, median, p95, count in results:
        extra = f" ({count:,} rows)" if count is not None else ""
        _, _, what = label.partition(", ")
        if what in floors:
            extra += f"; {median / floors[what]:,.1f}x the raw read of its rows"
        print(
            f"[{backend}] {label}: median {median:.1f} ms, p95 {p95:.1f} ms "
            f"over {args.runs} runs{extra}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"[{backend}] memory: {rss_mb():.0f} MB after the reads and pages "
        f"({rss_mb() - rss_before_reads:+.0f} MB over them); peak {peak:.0f} MB with the load"
    )


def rss_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def explain(label: str, read: Callable[[], object]) -> None:
    """Print each query ``read`` makes with its plan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        read()
    prefix = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    print(f"--- {label}: {len(ctx.captured_queries)} queries")
    for query in ctx.captured_queries:
        sql = query["sql"]
        print(f"  {sql[:600]}{' ...' if len(sql) > 600 else ''}")
        with connection.cursor() as cursor:
            cursor.execute(f"{prefix} {sql}")
            for plan_row in cursor.fetchall():
                print(f"    {' | '.join(str(v) for v in plan_row)}")


if __name__ == "__main__":
    main()
