"""Deadlines benchmark: a firm with 100,000 cases, each with its computed statute of
limitations deadline (and every tenth a deadline by hand), then the time to read (and
render) the firm-wide deadlines screen.

Usage: .venv/bin/python bench/deadlines.py [--cases 100000] [--runs 50]
                                           [--backend sqlite|postgres|both] [--db-prefix NAME]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_deadlines``, default ``casebridge_bench_deadlines``, at
$BENCH_POSTGRES_URL, default the local server; both removed at the end), migrates, and
fills it with bulk inserts: one firm, ~20 attorneys, a client per case, ``--cases`` cases
with incident dates over four years and their deadlines, a fifth of them satisfied.

It then times :func:`casebridge.cases.selectors.deadlines.deadlines_page` ``--runs`` times
each: the first page, one attorney's next 90 days, the overdue ones, and a deep page (by
its cursor), beside a raw SQL read of the same page's rows by id; and the whole HTML page
through django.test.Client with a signed-in session. It prints the median and the 95th
percentile. Nothing is asserted. Aim: 95th percentile under 100 ms on both databases.
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
from collections.abc import Callable
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.costs_management import prepare_database, timed

TODAY = dt.date(2026, 6, 30)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The firm-wide deadlines screen.")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--attorneys", type=int, default=20)
    ap.add_argument("--runs", type=int, default=50)
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
        if len(backends) > 1:  # each backend in its own process: settings are read once
            cmd = [sys.executable, __file__, "--backend", backend, "--db-prefix", args.db_prefix]
            for name in ("cases", "attorneys", "runs"):
                cmd += [f"--{name}", str(getattr(args, name))]
            subprocess.run(cmd, check=True)
        else:
            run(backend, args)


def generate(n_cases: int, n_attorneys: int) -> tuple[int, int]:
    """Bulk inserts; returns (firm id, an attorney's id)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from casebridge.cases.models import (
        Case,
        CaseType,
        Contact,
        Deadline,
        DeadlineKind,
        DeadlineStatus,
        Firm,
        LimitationRule,
        User,
    )
    from casebridge.cases.services.deadlines import add_period, limitation_rules_seed

    rnd = random.Random(20260630)
    batch = 5000
    now = timezone.now()
    with transaction.atomic():
        firm = Firm.objects.create(code="bench", name="Bench Injury Law")
        case_type = CaseType.objects.create(firm=firm, name="Personal Injury", is_default=True)
        limitation_rules_seed(firm=firm)
        rule = LimitationRule.objects.get(firm=firm, state="FL", period_count=2)
        password = make_password("bench-password-1")
        User.objects.bulk_create(
            [
                User(
                    firm=firm,
                    email=f"attorney{n}@bench.test",
                    last_name=f"{n:02d}",
                    is_attorney=True,
                    password=password,
                )
                for n in range(n_attorneys)
            ]
        )
        attorneys = list(User.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
        Contact.objects.bulk_create(
            [Contact(firm=firm, name=f"Client {n:06d}") for n in range(n_cases)], batch_size=batch
        )
        clients = list(
            Contact.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True)
        )
        incidents = [TODAY - dt.timedelta(days=rnd.randrange(4 * 365)) for _ in range(n_cases)]
        Case.objects.bulk_create(
            [
                Case(
                    firm=firm,
                    number=f"PI-{n + 1:06d}",
                    name=f"Client {n:06d} v. Defendant {n % 997}",
                    client_id=clients[n],
                    case_type=case_type,
                    responsible_attorney_id=attorneys[n % len(attorneys)],
                    incident_date=incidents[n],
                    jurisdiction_state="FL",
                    claim_type="negligence",
                    status="open",
                    opened_on=incidents[n],
                )
                for n in range(n_cases)
            ],
            batch_size=batch,
        )
        case_ids = list(Case.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
        rows = []
        for n, case_id in enumerate(case_ids):
            due = add_period(incidents[n], 2, "years")
            satisfied = rnd.random() < 0.2
            rows.append(
                Deadline(
                    firm=firm,
                    case_id=case_id,
                    kind=DeadlineKind.STATUTE,
                    title="Statute of limitations: FL negligence, 2 years",
                    due_date=due,
                    computed_due_date=due,
                    rule=rule,
                    verify_with_counsel=True,
                    status=DeadlineStatus.SATISFIED if satisfied else DeadlineStatus.OPEN,
                    satisfied_on=TODAY if satisfied else None,
                    created_at=now,
                )
            )
            if n % 10 == 0:
                rows.append(
                    Deadline(
                        firm=firm,
                        case_id=case_id,
                        kind=DeadlineKind.MANUAL,
                        title="Expert disclosure",
                        due_date=TODAY + dt.timedelta(days=rnd.randrange(-30, 400)),
                        set_by_hand=True,
                        created_at=now,
                    )
                )
        Deadline.objects.bulk_create(rows, batch_size=batch)
    return firm.pk, attorneys[0]


def raw_page_rows(ids: list[int]) -> Callable[[], object]:
    """The floor for a page: its rows (deadline, case, attorney) read by id in one query."""
    from django.db import connection

    sql = (
        "SELECT d.*, k.number, k.name, u.first_name, u.last_name "  # noqa: S608
        'FROM "cases_deadline" d JOIN "cases_case" k ON k.id = d.case_id '
        'LEFT JOIN "cases_user" u ON u.id = k.responsible_attorney_id '
        f"WHERE d.id IN ({', '.join(['%s'] * len(ids))})"
    )

    def read() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, ids)
            return cursor.fetchall()

    return read


def measure(backend: str, args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from casebridge.cases.auth import SESSIONS
    from casebridge.cases.models import Firm, User
    from casebridge.cases.selectors.deadlines import DeadlineFilters, deadlines_page

    t0 = time.perf_counter()
    firm_id, attorney_id = generate(args.cases, args.attorneys)
    print(
        f"[{backend}] {args.cases:,} cases and their deadlines loaded in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    if backend == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    firm = Firm.objects.get(pk=firm_id)
    # a deep page: the 25,000th open deadline's page, by its cursor
    deep_cursor = None
    for _ in range(min(500, args.cases // 50 // 2)):
        _, deep_cursor = deadlines_page(firm, DeadlineFilters(), TODAY, cursor=deep_cursor)
    pages = [
        ("first page", DeadlineFilters(), None),
        (
            "one attorney, next 90 days",
            DeadlineFilters(attorney_id=attorney_id, within_days=90),
            None,
        ),
        ("overdue", DeadlineFilters(overdue=True), None),
        ("deep page", DeadlineFilters(), deep_cursor),
    ]
    for label, filters, cursor in pages:
        rows, _ = deadlines_page(firm, filters, TODAY, cursor=cursor)
        median, p95 = timed(
            args.runs, lambda f=filters, c=cursor: deadlines_page(firm, f, TODAY, cursor=c)
        )
        raw_median, raw_p95 = timed(args.runs, raw_page_rows([d.pk for d in rows] or [0]))
        print(
            f"[{backend}] {label}: {len(rows)} rows, median {median:.1f} ms, p95 {p95:.1f} ms "
            f"(raw SQL of the same rows: median {raw_median:.1f} ms, p95 {raw_p95:.1f} ms)"
        )
    user = User.objects.get(pk=attorney_id)
    client = Client()
    session = client.session
    session.update(SESSIONS.values(user))
    session.save()
    url = reverse("cases:deadlines")
    status = client.get(url).status_code
    median, p95 = timed(args.runs, lambda: client.get(url))
    print(f"[{backend}] the screen (HTTP {status}): median {median:.1f} ms, p95 {p95:.1f} ms")


def run(backend: str, args: argparse.Namespace) -> None:
    var_dir = tempfile.mkdtemp(prefix=f"cb-bench-deadlines-{backend}-")
    db_name = f"{args.db_prefix}_deadlines"
    try:
        env = prepare_database(backend, var_dir, db_name)
        common.setup_django(env)
        measure(backend, args)
    finally:
        common.close_connections()
        common.database_drop(backend, db_name)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
