"""Global search benchmark (issue 14): a firm with 100,000 cases, their clients, 2,000
payees and 200,000 costs, then the time the search selectors take to answer.

Usage: .venv/bin/python bench/search.py [--cases 100000] [--costs 200000] [--runs 50]
                                        [--backend sqlite|postgres|both] [--db-prefix NAME]
                                        [--explain]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_search``, both removed at the end), migrates (the
search indexes of migrations cases 0009_search / books 0015_search: ``pg_trgm`` GIN on
PostgreSQL, FTS5 kept by triggers on SQLite) and fills it with bulk inserts, as
bench/costs_management.py does (its generator: clients named from common surnames here,
so a prefix such as "lop" matches thousands of rows, as in a real firm). PostgreSQL gets
the VACUUM ANALYZE its autovacuum would run.

It then times :func:`casebridge.cases.selectors.search.search_cases_side` (every kind:
cases, contacts, payees, costs; a Costs management user) for a few queries, ``--runs``
times each, and prints the median and the 95th percentile beside a raw SQL baseline: one
plain indexed-free read of the same number of cases rows by id (the floor any search
pays to fetch its answer). ``--explain`` prints each query's plan. Nothing is asserted.
Aim: 95th percentile under 100 ms at 100,000 cases.
"""

from __future__ import annotations

import argparse
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
from bench.costs_management import explain, generate, prepare_database, rss_mb, timed

SURNAMES = [
    "Lopez",
    "Garcia",
    "Martinez",
    "Rodriguez",
    "Hernandez",
    "Gonzalez",
    "Perez",
    "Sanchez",
    "Ramirez",
    "Torres",
    "Flores",
    "Rivera",
    "Gomez",
    "Diaz",
    "Cruz",
    "Morales",
    "Reyes",
    "Gutierrez",
    "Ortiz",
    "Chavez",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Peterson",
    "Cooper",
    "Reed",
    "Bailey",
    "Bell",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "James",
    "Hughes",
    "Price",
    "Sanders",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Nguyen",
    "Kim",
    "Patel",
    "Singh",
    "Cohen",
    "Muller",
    "Rossi",
]
FIRST = [
    "Maria",
    "Jose",
    "Ana",
    "Luis",
    "Carmen",
    "James",
    "Mary",
    "John",
    "Linda",
    "David",
    "Sarah",
    "Wei",
    "Priya",
    "Omar",
]
QUERIES = (
    ("a common prefix", "lop"),
    ("two words", "lopez mar"),
    ("a case number", "PI-004217"),
    ("a case number's digits", "0042"),
    ("a payee", "payee 0004"),
    ("a check number", "54321"),
    ("a memo word", "expert"),
    ("nothing matches", "zyxw"),
    ("one letter (left out: the answer asks for more)", "m"),
    ("two letters, common", "lo"),
    ("two letters, rare", "zq"),
    ("two short words", "pi 00"),
)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The global search at 100,000 cases.")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--costs", type=int, default=200_000)
    ap.add_argument("--payees", type=int, default=2_000)
    ap.add_argument("--attorneys", type=int, default=20)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--explain", action="store_true", help="print each query's plan")
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
            if args.explain:
                cmd.append("--explain")
            subprocess.run(cmd, check=True)
        else:
            run(backend, args)


def run(backend: str, args: argparse.Namespace) -> None:
    var_dir = tempfile.mkdtemp(prefix=f"cb-bench-search-{backend}-")
    db_name = f"{args.db_prefix}_search"
    try:
        env = prepare_database(backend, var_dir, db_name)
        common.setup_django(env)
        measure(backend, args)
    finally:
        common.close_connections()
        common.database_drop(backend, db_name)
        shutil.rmtree(var_dir, ignore_errors=True)


def rename_people(firm_id: int) -> None:
    """Clients named from common surnames (and their cases' captions), one UPDATE per
    name, so the triggers keep the SQLite index as any rename would."""
    from django.db import transaction

    from casebridge.cases.models import Case, Contact

    rnd = random.Random(14)
    with transaction.atomic():
        clients = list(
            Contact.objects.filter(firm_id=firm_id, name__startswith="Client ").values_list(
                "pk", flat=True
            )
        )
        names = {pk: f"{rnd.choice(FIRST)} {rnd.choice(SURNAMES)}" for pk in clients}
        for surname in SURNAMES:
            ids = [pk for pk, name in names.items() if name.endswith(f" {surname}")]
            for first in FIRST:
                chosen = [pk for pk in ids if names[pk] == f"{first} {surname}"]
                Contact.objects.filter(pk__in=chosen).update(name=f"{first} {surname}")
                Case.objects.filter(client_id__in=chosen).update(
                    name=f"{surname} v. Defendant {len(chosen)}"
                )


def raw_rows(ids: list[int]) -> Callable[[], object]:
    """The floor: ``len(ids)`` cases rows read by id with one plain SQL query."""
    from django.db import connection

    sql = (
        "SELECT id, number, name, status, client_id FROM cases_case "  # noqa: S608
        f"WHERE id IN ({', '.join(['%s'] * len(ids))})"
    )

    def read() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, ids)
            return cursor.fetchall()

    return read


def measure(backend: str, args: argparse.Namespace) -> None:
    from django.db import connection

    from casebridge.cases.models import Case, User
    from casebridge.cases.selectors.search import search_cases_side

    t0 = time.perf_counter()
    firm_id, manager_id = generate(args.cases, args.costs, args.payees, args.attorneys)
    rename_people(firm_id)
    load = time.perf_counter() - t0
    if backend == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    user = User.objects.select_related("firm").get(pk=manager_id)
    print(
        f"[{backend}] {args.cases:,} cases, {args.costs:,} costs loaded in {load:.1f} s; "
        f"memory {rss_mb():.0f} MB"
    )
    floor_ids = list(Case.objects.filter(firm_id=firm_id).values_list("pk", flat=True)[:10])
    floor, floor_p95 = timed(args.runs, raw_rows(floor_ids))
    print(
        f"[{backend}] raw SQL read of 10 cases rows by id: median {floor:.2f} ms, "
        f"p95 {floor_p95:.2f} ms"
    )
    for label, query in QUERIES:
        if args.explain:
            explain(f"{label}: {query!r}", lambda q=query: search_cases_side(user, q))  # type: ignore[misc]
        results = search_cases_side(user, query)
        found = ", ".join(f"{g.kind} {len(g.hits)}" for g in results.groups)
        median, p95 = timed(args.runs, lambda q=query: search_cases_side(user, q))  # type: ignore[misc]
        print(
            f"[{backend}] {label} {query!r}: median {median:.1f} ms, p95 {p95:.1f} ms over "
            f"{args.runs} runs ({found}); {median / floor:,.0f}x the raw read"
        )


if __name__ == "__main__":
    main()
