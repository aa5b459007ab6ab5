"""The PI case in depth (issue 16): a firm with 100,000 cases and 1,000,000 medical bills
(their treatments, and every case's statute of limitations), then the time to read and
render the firm-wide deadlines screen and one case's Treatment tab.

Usage: .venv/bin/python bench/pi_depth.py [--cases 100000] [--bills 1000000]
                                          [--big-case-bills 5000] [--runs 30]
                                          [--backend postgres|sqlite|both] [--db-prefix NAME]
                                          [--keep-db] [--reuse-db] [--explain]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_pi_depth``, default ``casebridge_bench_pi_depth``, at
$BENCH_POSTGRES_URL, default the local server; both removed at the end unless
``--keep-db``), migrates, and loads it the fast way (the services are not what is
measured): COPY on PostgreSQL, ``executemany`` on SQLite, each big table's secondary
indexes dropped during its load and built once after it (no table loaded here has an
insert trigger). One firm, ~20 attorneys, 500 medical providers, a client per case,
``--cases`` cases with incident dates over four years in Florida / negligence, one to
three treatments a case, ``--bills`` bills over the cases (one case, "the big case", holds
``--big-case-bills`` of them and 60 treatments; the others about ten each; one in 97 void),
and every case's computed statute of limitations deadline from the seeded Florida rule
(a fifth satisfied) plus a deadline by hand on every tenth case. PostgreSQL then gets the
VACUUM ANALYZE its autovacuum runs after such a load. ``--reuse-db`` (PostgreSQL) measures
the database a ``--keep-db`` run left, migrated forward first and not loaded again.

It then times, ``--runs`` times each (30 by default), the deadlines screen's selector
(:func:`casebridge.cases.selectors.deadlines.deadlines_page`) and its whole HTML page
through django.test.Client with a signed-in session: the first page, one attorney's next
90 days, the overdue ones, the deadlines set by hand, and a deep page (by its cursor); and
the Treatment tab's reads (a page of treatments, a page of bills, the medical totals, the
records requests) and its HTML page, for the big case (first and a deep bills page) and a
typical case. Each beside a raw SQL read of the same rows (and, for the tab, the same
sums) in the same run, printed as a ratio (bench/common.py: speed is a ratio). Median and
95th percentile printed; nothing asserted. Aim: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.costs_management import explain, prepare_database, timed

BIG_CASE_TREATMENTS = 60


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The deadlines screen and the Treatment tab.")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--bills", type=int, default=1_000_000)
    ap.add_argument("--big-case-bills", type=int, default=5_000)
    ap.add_argument("--providers", type=int, default=500)
    ap.add_argument("--attorneys", type=int, default=20)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--explain", action="store_true", help="print each read's query plans")
    ap.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the database afterwards (to explain or measure again; drop it yourself)",
    )
    ap.add_argument(
        "--reuse-db",
        action="store_true",
        help="PostgreSQL: measure the database a --keep-db run left (migrated forward first, "
        "not loaded again) and keep it",
    )
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="postgres")
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
        if len(backends) > 1:  # each backend in its own process: settings are read once
            cmd = [sys.executable, __file__, "--backend", backend, "--db-prefix", args.db_prefix]
            for name in ("cases", "bills", "big_case_bills", "providers", "attorneys", "runs"):
                cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            for flag in ("explain", "keep_db", "reuse_db"):
                if getattr(args, flag):
                    cmd.append(f"--{flag.replace('_', '-')}")
            subprocess.run(cmd, check=True)
        else:
            run(backend, args)


def run(backend: str, args: argparse.Namespace) -> None:
    var_dir = tempfile.mkdtemp(prefix=f"cb-bench-pi-depth-{backend}-")
    db_name = f"{args.db_prefix}_pi_depth"
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


# --- The load -----------------------------------------------------------------------------------


def _today() -> dt.date:
    """Today on the firm's clock (the screens' today)."""
    from casebridge.core import clock

    return clock.today()


def copy_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> int:
    """``rows`` into ``table``: COPY on PostgreSQL, ``executemany`` on SQLite, with the
    table's secondary indexes (not those behind a constraint) dropped first and built once
    after. Returns the number of rows."""
    from django.db import connection

    names = ", ".join(columns)
    n = 0
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
            # no triggers: the foreign keys' deferred checks (the rows are consistent by
            # construction) would otherwise hold the index builds below
            cursor.execute("SET LOCAL session_replication_role = replica")
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
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
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['?'] * len(columns))})"  # noqa: S608
            chunk: list[tuple[Any, ...]] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) == 20_000:
                    cursor.cursor.executemany(sql, chunk)
                    n += len(chunk)
                    chunk = []
            cursor.cursor.executemany(sql, chunk)
            n += len(chunk)
        for _, sql in indexes:
            cursor.execute(sql)
    return n


def _ids(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def generate(args: argparse.Namespace) -> tuple[int, int]:
    """Load the firm; returns (firm id, a staff user's id)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from casebridge.cases.models import CaseType, Firm, LimitationRule, User
    from casebridge.cases.services.deadlines import add_period, limitation_rules_seed

    rnd = random.Random(20261207)
    today = _today()
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    n_cases, n_providers = args.cases, args.providers
    with transaction.atomic():
        firm = Firm.objects.create(code="bench", name="Bench Injury Law", next_case_number=1)
        case_type = CaseType.objects.create(firm=firm, name="Personal Injury", is_default=True)
        limitation_rules_seed(firm=firm)
        rule = LimitationRule.objects.get(
            firm=firm, state="FL", claim_type="negligence", rule_type="statute", period_count=2
        )
        password = make_password("bench-password-1")
        staff = User.objects.create(
            firm=firm, email="staff@bench.test", first_name="Sam", password=password
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
                for n in range(args.attorneys)
            ]
        )
        attorneys = [
            r[0]
            for r in _ids(
                "SELECT id FROM cases_user WHERE firm_id = %s AND is_attorney ORDER BY id",
                [firm.pk],
            )
        ]
        contact_columns = ("firm_id", "name", "address", "phone", "email")
        contact_columns += ("is_medical_provider", "created_at")
        copy_rows(
            "cases_contact",
            contact_columns,
            (
                (firm.pk, f"Provider {n:04d} Medical", "", "", "", True, stamp)
                for n in range(n_providers)
            ),
        )
        copy_rows(
            "cases_contact",
            contact_columns,
            ((firm.pk, f"Client {n:06d}", "", "", "", False, stamp) for n in range(n_cases)),
        )
        contacts = [
            r[0]
            for r in _ids("SELECT id FROM cases_contact WHERE firm_id = %s ORDER BY id", [firm.pk])
        ]
        providers, clients = contacts[:n_providers], contacts[n_providers:]
        incidents = [today - dt.timedelta(days=rnd.randrange(4 * 365)) for _ in range(n_cases)]
        copy_rows(
            "cases_case",
            (
                "firm_id",
                "number",
                "name",
                "client_id",
                "case_type_id",
                "responsible_attorney_id",
                "incident_date",
                "jurisdiction_state",
                "claim_type",
                "tolling_notes",
                "status",
                "opened_on",
                "created_at",
            ),
            (
                (
                    firm.pk,
                    f"PI-{n + 1:06d}",
                    f"Client {n:06d} v. Defendant {n % 997}",
                    clients[n],
                    case_type.pk,
                    attorneys[n % len(attorneys)],
                    incidents[n].isoformat(),
                    "FL",
                    "negligence",
                    "",
                    "open",
                    incidents[n].isoformat(),
                    stamp,
                )
                for n in range(n_cases)
            ),
        )
        Firm.objects.filter(pk=firm.pk).update(next_case_number=n_cases + 1)
        cases = [
            r[0]
            for r in _ids("SELECT id FROM cases_case WHERE firm_id = %s ORDER BY id", [firm.pk])
        ]

        def treatments() -> Iterator[tuple[Any, ...]]:
            for i, case_id in enumerate(cases):
                for k in range(BIG_CASE_TREATMENTS if i == 0 else 1 + i % 3):
                    first = incidents[i] + dt.timedelta(days=rnd.randrange(1, 30))
                    yield (
                        firm.pk,
                        case_id,
                        providers[(i * 3 + k) % n_providers],
                        first.isoformat(),
                        (first + dt.timedelta(days=rnd.randrange(200))).isoformat(),
                        "finished",
                        "",
                        stamp,
                    )

        copy_rows(
            "cases_treatment",
            (
                "firm_id",
                "case_id",
                "provider_id",
                "first_visit",
                "last_visit",
                "status",
                "note",
                "created_at",
            ),
            treatments(),
        )
        by_case: dict[int, list[tuple[int, int]]] = {}
        for tid, case_id, provider_id in _ids(
            "SELECT id, case_id, provider_id FROM cases_treatment WHERE firm_id = %s ORDER BY id",
            [firm.pk],
        ):
            by_case.setdefault(case_id, []).append((tid, provider_id))
        big = min(args.big_case_bills, args.bills)

        def bills() -> Iterator[tuple[Any, ...]]:
            for n in range(args.bills):
                # the big case's bills first, then round the other cases (about ten each)
                case_id = cases[0] if n < big else cases[1 + (n - big) % (n_cases - 1)]
                tid, provider_id = by_case[case_id][n % len(by_case[case_id])]
                billed = rnd.randrange(5_000, 5_000_000)
                adjust = rnd.randrange(0, billed // 3)
                paid = rnd.randrange(0, (billed - adjust) // 2)
                void = n % 97 == 0
                yield (
                    firm.pk,
                    case_id,
                    tid,
                    provider_id,
                    (today - dt.timedelta(days=rnd.randrange(400))).isoformat(),
                    billed,
                    adjust,
                    paid,
                    0,
                    0,
                    0,
                    f"ACCT-{n:07d}",
                    today.isoformat() if void else None,
                    "Entered twice" if void else "",
                    stamp,
                )

        copy_rows(
            "cases_bill",
            (
                "firm_id",
                "case_id",
                "treatment_id",
                "provider_id",
                "bill_date",
                "billed_cents",
                "adjustments_cents",
                "paid_health_insurance_cents",
                "paid_medpay_cents",
                "paid_pip_cents",
                "paid_client_cents",
                "reference",
                "voided_on",
                "void_reason",
                "created_at",
            ),
            bills(),
        )

        def deadlines() -> Iterator[tuple[Any, ...]]:
            for i, case_id in enumerate(cases):
                due = add_period(incidents[i], 2, "years")
                satisfied = rnd.random() < 0.2
                yield (
                    firm.pk,
                    case_id,
                    "statute",
                    "Statute of limitations: FL negligence, 2 years",
                    due.isoformat(),
                    due.isoformat(),
                    rule.pk,
                    False,
                    True,
                    "satisfied" if satisfied else "open",
                    today.isoformat() if satisfied else None,
                    "",
                    stamp,
                )
                if i % 10 == 0:
                    due = today + dt.timedelta(days=rnd.randrange(-30, 400))
                    yield (
                        firm.pk,
                        case_id,
                        "manual",
                        "Expert disclosure",
                        due.isoformat(),
                        None,
                        None,
                        True,
                        False,
                        "open",
                        None,
                        "",
                        stamp,
                    )

        copy_rows(
            "cases_deadline",
            (
                "firm_id",
                "case_id",
                "kind",
                "title",
                "due_date",
                "computed_due_date",
                "rule_id",
                "set_by_hand",
                "verify_with_counsel",
                "status",
                "satisfied_on",
                "satisfied_note",
                "created_at",
            ),
            deadlines(),
        )
    return firm.pk, staff.pk


# --- The reads ----------------------------------------------------------------------------------


def raw_rows(sql: str, ids: list[int]) -> Callable[[], object]:
    """The floor: ``sql`` (with ``{ids}`` for the rows' ids) in one plain query."""
    from django.db import connection

    query = sql.format(ids=", ".join(["%s"] * len(ids)) or "NULL")

    def read() -> object:
        with connection.cursor() as cursor:
            cursor.execute(query, ids)
            return cursor.fetchall()

    return read


RAW_DEADLINES = (
    "SELECT d.*, k.number, k.name, u.first_name, u.last_name, r.citation "
    "FROM cases_deadline d JOIN cases_case k ON k.id = d.case_id "
    "LEFT JOIN cases_user u ON u.id = k.responsible_attorney_id "
    "LEFT JOIN cases_limitationrule r ON r.id = d.rule_id WHERE d.id IN ({ids})"
)
RAW_BILLS = (
    "SELECT b.*, p.name, t.first_visit, t.status, l.id FROM cases_bill b "
    "JOIN cases_contact p ON p.id = b.provider_id "
    "LEFT JOIN cases_treatment t ON t.id = b.treatment_id "
    "LEFT JOIN cases_lien l ON l.id = b.lien_id WHERE b.id IN ({ids})"
)
RAW_TREATMENTS = (
    "SELECT t.*, p.name FROM cases_treatment t JOIN cases_contact p ON p.id = t.provider_id "
    "WHERE t.id IN ({ids})"
)
RAW_SUMS = (
    "SELECT COUNT(*), SUM(billed_cents), SUM(adjustments_cents), "
    "SUM(paid_health_insurance_cents + paid_medpay_cents + paid_pip_cents + paid_client_cents) "
    "FROM cases_bill WHERE case_id = %s AND voided_on IS NULL"
)


def raw_tab(case_id: int, bill_ids: list[int], treatment_ids: list[int]) -> Callable[[], object]:
    """The Treatment tab's floor: the page's bills and treatments by id, and the case's sums."""
    from django.db import connection

    bills = raw_rows(RAW_BILLS, bill_ids)
    treatments = raw_rows(RAW_TREATMENTS, treatment_ids)

    def read() -> object:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SUMS, [case_id])
            cursor.fetchall()
        return bills(), treatments()

    return read


def measure(backend: str, args: argparse.Namespace, *, reuse: bool) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from casebridge.cases.auth import SESSIONS
    from casebridge.cases.models import Bill, Case, Deadline, Firm, Treatment, User
    from casebridge.cases.selectors import medical
    from casebridge.cases.selectors.deadlines import DeadlineFilters, deadlines_page

    today = _today()
    t0 = time.perf_counter()
    if reuse:
        firm_id = Firm.objects.get(code="bench").pk
        user_id = User.objects.get(firm_id=firm_id, email="staff@bench.test").pk
    else:
        firm_id, user_id = generate(args)
    load = time.perf_counter() - t0
    if backend == "postgres":
        t1 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        vacuum = time.perf_counter() - t1
    firm = Firm.objects.get(pk=firm_id)
    counts = ", ".join(
        f"{model.objects.filter(firm=firm).count():,} {name}"
        for model, name in (
            (Case, "cases"),
            (Treatment, "treatments"),
            (Bill, "bills"),
            (Deadline, "deadlines"),
        )
    )
    how = "reused" if reuse else f"loaded in {load:.1f} s (COPY / executemany)"
    if backend == "postgres":
        how += f", VACUUM ANALYZE {vacuum:.1f} s"
    print(f"[{backend}] {counts}; {how}", flush=True)

    client = Client()
    session = client.session
    session.update(SESSIONS.values(User.objects.get(pk=user_id)))
    session.save()
    results: list[tuple[str, float, float, float]] = []

    def report(label: str, median: float, p95: float, floor: float) -> None:
        ratio = f"{median / floor:,.1f}x" if floor else "-"
        print(
            f"[{backend}] {label}: median {median:.1f} ms, p95 {p95:.1f} ms over {args.runs} "
            f"runs; raw SQL of the same rows median {floor:.2f} ms ({ratio})",
            flush=True,
        )
        results.append((label, median, p95, floor))

    # The deadlines screen.
    attorney_id = (
        User.objects.filter(firm=firm, is_attorney=True).order_by("pk").values_list("pk", flat=True)
    )[0]
    deep_cursor: str | None = None
    for _ in range(min(500, args.cases // 50 // 2)):  # the 25,000th open deadline's page
        _, deep_cursor = deadlines_page(firm, DeadlineFilters(), today, cursor=deep_cursor)
    url = reverse("cases:deadlines")
    pages: list[tuple[str, DeadlineFilters, str | None, dict[str, str]]] = [
        ("first page", DeadlineFilters(), None, {}),
        (
            "one attorney, next 90 days",
            DeadlineFilters(attorney_id=attorney_id, within_days=90),
            None,
            {"attorney": str(attorney_id), "within": "90"},
        ),
        ("overdue", DeadlineFilters(overdue=True), None, {"overdue": "on"}),
        ("set by hand", DeadlineFilters(kind="manual"), None, {"kind": "manual"}),
        ("deep page (after row 25,000)", DeadlineFilters(), deep_cursor, {}),
    ]
    for label, filters, cursor, params in pages:
        if cursor:
            params = {**params, "cursor": cursor}
        if args.explain:
            explain(
                f"deadlines, {label}",
                lambda f=filters, c=cursor: deadlines_page(firm, f, today, cursor=c),
            )  # type: ignore[misc]
        rows, _ = deadlines_page(firm, filters, today, cursor=cursor)
        floor, _ = timed(args.runs, raw_rows(RAW_DEADLINES, [d.pk for d in rows]))
        median, p95 = timed(
            args.runs, lambda f=filters, c=cursor: deadlines_page(firm, f, today, cursor=c)
        )
        report(f"deadlines selector, {label} ({len(rows)} rows)", median, p95, floor)
        response = client.get(url, params)
        assert response.status_code == 200, (url, params, response.status_code)
        median, p95 = timed(args.runs, lambda p=params: client.get(url, p))
        report(f"deadlines HTML page, {label}", median, p95, floor)

    # The Treatment tab.
    big = Case.objects.filter(firm=firm).order_by("pk").first()
    assert big is not None
    typical = Case.objects.filter(firm=firm).order_by("pk")[args.cases // 2]
    deep: str | None = None
    for _ in range(min(50, args.big_case_bills // medical.BILLS_PAGE_SIZE // 2)):
        _, deep = medical.case_bills_page(case=big, cursor=deep)
    tabs = [
        (f"big case ({Bill.objects.filter(case=big).count():,} bills)", big, None),
        ("big case, a deep bills page", big, deep),
        (f"typical case ({Bill.objects.filter(case=typical).count():,} bills)", typical, None),
    ]
    for label, case, cursor in tabs:

        def reads(case: Case = case, cursor: str | None = cursor) -> object:
            return (
                medical.case_treatments_page(case=case),
                medical.case_treatment_count(case=case),
                medical.case_bills_page(case=case, cursor=cursor),
                medical.medical_totals(case=case),
                list(medical.case_medical_requests(case=case)),
            )

        if args.explain:
            explain(f"Treatment tab, {label}", reads)
        bills, _ = medical.case_bills_page(case=case, cursor=cursor)
        treatments, _ = medical.case_treatments_page(case=case)
        floor, _ = timed(
            args.runs, raw_tab(case.pk, [b.pk for b in bills], [t.pk for t in treatments])
        )
        median, p95 = timed(args.runs, reads)
        report(
            f"Treatment tab reads, {label} ({len(treatments)} treatments, {len(bills)} bills "
            "on the page)",
            median,
            p95,
            floor,
        )
        tab_url = reverse("cases:case_treatment", args=[case.pk])
        params = {"bills": cursor} if cursor else {}
        response = client.get(tab_url, params)
        assert response.status_code == 200, (tab_url, response.status_code)
        median, p95 = timed(args.runs, lambda u=tab_url, p=params: client.get(u, p))
        report(f"Treatment tab HTML page, {label}", median, p95, floor)

    worst = max(results, key=lambda r: r[2])
    print(
        f"[{backend}] worst p95: {worst[2]:.1f} ms ({worst[0]}); "
        f"{'all under' if worst[2] < 100 else 'NOT all under'} the 100 ms aim",
        flush=True,
    )


if __name__ == "__main__":
    main()
