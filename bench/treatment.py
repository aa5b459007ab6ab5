"""Treatment tab benchmark (issue 16): a firm with 100,000 cases and 1,000,000 bills, then the
time to read a case's medical totals and to render its Treatment tab.

Usage: .venv/bin/python bench/treatment.py [--cases 100000] [--bills 1000000] [--runs 50]
                                           [--backend sqlite|postgres|both] [--db-prefix NAME]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_treatment`` at $BENCH_POSTGRES_URL, default the local
server; both removed at the end), migrates, and fills it with bulk inserts: one firm, 500
providers, a client per case, ``--cases`` cases, a treatment per case and ``--bills`` bills
spread over the cases (about ten a case; a few void, some made liens is not modelled).
PostgreSQL gets VACUUM ANALYZE. It then times, ``--runs`` times each, for a case with the
average number of bills: :func:`casebridge.cases.selectors.medical.medical_totals` (the one
aggregate), the bills' rows as the tab reads them, and the whole Treatment tab through
django.test.Client with a signed-in session; each beside a raw SQL read of the same bills
with their providers (bench/common.py's way: speed as a ratio). Median and 95th percentile
printed; nothing asserted. Aim: p95 under 100 ms on both databases.
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
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.costs_management import prepare_database, timed

PASSWORD = "bench-password-1"
TODAY = dt.date(2026, 6, 30)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="A case's Treatment tab.")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--bills", type=int, default=1_000_000)
    ap.add_argument("--providers", type=int, default=500)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    common.add_common_arguments(ap, server=False)
    return ap


def main() -> None:
    args = build_parser().parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if len(backends) > 1:
            cmd = [sys.executable, __file__, "--backend", backend, "--db-prefix", args.db_prefix]
            for name in ("cases", "bills", "providers", "runs"):
                cmd += [f"--{name}", str(getattr(args, name))]
            subprocess.run(cmd, check=True)
        else:
            run(backend, args)


def run(backend: str, args: argparse.Namespace) -> None:
    var_dir = tempfile.mkdtemp(prefix=f"cb-bench-treatment-{backend}-")
    db_name = f"{args.db_prefix}_treatment"
    try:
        env = prepare_database(backend, var_dir, db_name)
        common.setup_django(env)
        measure(backend, args)
    finally:
        common.close_connections()
        common.database_drop(backend, db_name)
        shutil.rmtree(var_dir, ignore_errors=True)


def generate(n_cases: int, n_bills: int, n_providers: int) -> tuple[int, int]:
    """Bulk inserts (the services are not what is measured); returns (firm id, user id)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from casebridge.cases.models import (
        Bill,
        Case,
        CaseType,
        Contact,
        Firm,
        Treatment,
        TreatmentStatus,
        User,
    )

    rnd = random.Random(20260630)
    batch = 5000
    now = timezone.now()
    with transaction.atomic():
        firm = Firm.objects.create(code="bench", name="Bench Injury Law", next_case_number=1)
        case_type = CaseType.objects.create(firm=firm, name="Personal Injury", is_default=True)
        user = User.objects.create(
            firm=firm, email="staff@bench.test", first_name="Sam", password=make_password(PASSWORD)
        )
        Contact.objects.bulk_create(
            [
                Contact(firm=firm, name=f"Provider {n:04d} Medical", is_medical_provider=True)
                for n in range(n_providers)
            ]
            + [Contact(firm=firm, name=f"Client {n:06d}") for n in range(n_cases)],
            batch_size=batch,
        )
        contacts = list(
            Contact.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True)
        )
        providers, clients = contacts[:n_providers], contacts[n_providers:]
        Case.objects.bulk_create(
            [
                Case(
                    firm=firm,
                    number=f"PI-{n + 1:06d}",
                    name=f"Client {n:06d} v. Defendant {n % 997}",
                    client_id=clients[n],
                    case_type=case_type,
                    status="open",
                    opened_on=TODAY - dt.timedelta(days=rnd.randrange(3 * 365)),
                )
                for n in range(n_cases)
            ],
            batch_size=batch,
        )
        cases = list(Case.objects.filter(firm=firm).order_by("pk").values_list("pk", flat=True))
        Treatment.objects.bulk_create(
            [
                Treatment(
                    firm=firm,
                    case_id=case_id,
                    provider_id=providers[i % n_providers],
                    first_visit=TODAY - dt.timedelta(days=200),
                    last_visit=TODAY - dt.timedelta(days=20),
                    status=TreatmentStatus.FINISHED,
                    created_at=now,
                )
                for i, case_id in enumerate(cases)
            ],
            batch_size=batch,
        )
        for start in range(0, n_bills, batch):
            rows = []
            for n in range(start, min(n_bills, start + batch)):
                billed = rnd.randrange(5_000, 5_000_000)
                adjust = rnd.randrange(0, billed // 3)
                paid = rnd.randrange(0, (billed - adjust) // 2)
                rows.append(
                    Bill(
                        firm=firm,
                        case_id=cases[n % n_cases],
                        provider_id=providers[(n * 7) % n_providers],
                        bill_date=TODAY - dt.timedelta(days=rnd.randrange(400)),
                        billed_cents=billed,
                        adjustments_cents=adjust,
                        paid_health_insurance_cents=paid,
                        voided_on=TODAY if n % 97 == 0 else None,
                        created_at=now,
                    )
                )
            Bill.objects.bulk_create(rows)
    return firm.pk, user.pk


def raw_bills(case_id: int) -> object:
    from django.db import connection

    from casebridge.cases.models import Bill, Contact

    bill, contact = Bill._meta.db_table, Contact._meta.db_table
    sql = (
        f'SELECT b.*, p.name FROM "{bill}" b JOIN "{contact}" p ON p.id = b.provider_id '  # noqa: S608
        "WHERE b.case_id = %s ORDER BY b.id"
    )

    def read() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, [case_id])
            return cursor.fetchall()

    return read


def measure(backend: str, args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from casebridge.cases.auth import SESSIONS
    from casebridge.cases.models import Bill, Case, User
    from casebridge.cases.selectors.medical import case_bills, medical_totals

    t0 = time.perf_counter()
    firm_id, user_id = generate(args.cases, args.bills, args.providers)
    print(
        f"[{backend}] {args.cases:,} cases and {args.bills:,} bills loaded with bulk inserts "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    if backend == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    case = Case.objects.filter(firm_id=firm_id).order_by("pk")[args.cases // 2]
    n = Bill.objects.filter(case=case).count()
    results = [
        (f"raw SQL read of the case's {n} bills", *timed(args.runs, raw_bills(case.pk))),
        ("medical_totals (one aggregate)", *timed(args.runs, lambda: medical_totals(case=case))),
        ("case_bills rows", *timed(args.runs, lambda: list(case_bills(case=case)))),
    ]
    client = Client()
    session = client.session
    session.update(SESSIONS.values(User.objects.get(pk=user_id)))
    session.save()
    url = reverse("cases:case_treatment", args=[case.pk])
    assert client.get(url).status_code == 200
    results.append(("Treatment tab HTML", *timed(args.runs, lambda: client.get(url))))
    floor = results[0][1]
    for label, median, p95 in results:
        print(
            f"[{backend}] {label}: median {median:.1f} ms, p95 {p95:.1f} ms over {args.runs} "
            f"runs ({median / floor:,.1f}x the raw read)"
        )


if __name__ == "__main__":
    main()
