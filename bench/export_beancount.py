"""Beancount export benchmark (issue 15): rows/s and peak memory of streaming a large
ledger as Beancount, beside a raw SQL read of the same postings in the same run.

Usage: .venv/bin/python bench/export_beancount.py [--postings 100000] [--files 1000]
                                                  [--backend sqlite|postgres|both]
                                                  [--db-prefix NAME] [--check | --no-check]

For each backend: a fresh database (PostgreSQL ``<--db-prefix>_beancount``), migrated; a
firm whose ledger is filled in-process with ``journal_entries_post_batch`` (as
bench/ledger.py tops its ledger up) to ``--postings`` postings over a year, in date order:
trust deposits into ``--files`` files, trust checks of half of them, cost advances from
operating, fees to operating. Then, each in its own process so its peak RSS is its own:
- the export (``beancount_export`` as ``manage.py books_export_beancount`` runs it) to a
  file: postings/s, MB written, peak RSS;
- the raw read: the same postings joined to their entries, in the same order, through a
  server-side cursor (PostgreSQL) or fetchmany (SQLite), nothing formatted: rows/s, peak
  RSS (the floor of what any export can do);
- with ``--check`` (default up to 200,000 postings): Beancount's own loader on the file:
  errors (should be 0), seconds, its peak RSS.
Figures are printed; nothing is asserted. The database and temp dir are removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

FIRM = "bench"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The books exported as Beancount, streamed.")
    ap.add_argument("--postings", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--check", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--phase", choices=["export", "raw", "check"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    common.add_common_arguments(ap, server=False)
    return ap


def peak_rss_mb() -> float:
    """This program's peak RSS: VmHWM of its own memory map. (``ru_maxrss`` keeps the
    forking parent's peak across exec on Linux, so a phase would report the bench's.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # an upper bound


# --- the phases, each in its own process --------------------------------------------------


def phase_export(path: str) -> dict[str, float]:
    from casebridge.books.exports.beancount import beancount_export
    from casebridge.books.models import Firm

    firm = Firm.objects.get(code=FIRM)
    t = time.perf_counter()
    lines = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in beancount_export(firm=firm, actor=None):
            out.write(line)
            lines += 1
    return {"seconds": time.perf_counter() - t, "lines": lines, "rss": peak_rss_mb()}


def phase_raw() -> dict[str, float]:
    from django.db import connection, transaction

    from casebridge.books.models import Firm, JournalEntry, Posting

    firm = Firm.objects.get(code=FIRM)
    p, e = Posting._meta.db_table, JournalEntry._meta.db_table
    sql = (
        f"SELECT p.entry_id, e.date, e.memo, p.account_id, p.trust_ledger_id, p.file_id, "  # noqa: S608 - table names from the models
        f"p.debit_cents, p.credit_cents FROM {p} p JOIN {e} e ON e.id = p.entry_id "
        f"WHERE e.firm_id = %s ORDER BY e.date, e.id, p.id"
    )
    t = time.perf_counter()
    rows = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            raw = connection.connection
            assert raw is not None
            with raw.cursor(name="bench_raw") as cursor:
                cursor.itersize = 2000
                cursor.execute(sql, [firm.pk])
                for _ in cursor:
                    rows += 1
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, [firm.pk])
                while chunk := cursor.fetchmany(2000):
                    rows += len(chunk)
    return {"seconds": time.perf_counter() - t, "rows": rows, "rss": peak_rss_mb()}


def phase_check(path: str) -> dict[str, float]:
    from beancount import loader

    t = time.perf_counter()
    entries, errors, _ = loader.load_file(path)
    return {
        "seconds": time.perf_counter() - t,
        "entries": len(entries),
        "errors": len(errors),
        "rss": peak_rss_mb(),
    }


def run_phase(env: dict[str, str], phase: str, path: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--file", path],
        env=common.child_env(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --- filling the ledger --------------------------------------------------------------------


def fill(n_postings: int, n_files: int) -> int:
    from casebridge.books.models import AccountRole, GLAccount, Posting
    from casebridge.books.services import auth, files, setup
    from casebridge.books.services.journal import EntrySpec, Line, journal_entries_post_batch
    from casebridge.core import clock

    firm = setup.firm_create(code=FIRM, name="Bench Firm")
    user = auth.user_create(
        firm=firm, email="bench@bench.test", password="bench-pass-1", is_admin=True
    )
    start = clock.today() - dt.timedelta(days=366)
    setup.firm_opening_date_set(firm=firm, actor=user, opening_date=start)
    client, _ = files.contact_find_or_create(firm=firm, actor=user, name="Bench Client")
    file_list = [
        files.file_find_or_create(
            firm=firm, actor=user, name=f"Bench File {k}", client=client, number=f"B-{k:05d}"
        )[0]
        for k in range(n_files)
    ]
    acct = {a.role: a for a in GLAccount.objects.filter(firm=firm).exclude(role="")}
    operating, trust = acct[AccountRole.OPERATING_BANK], acct[AccountRole.TRUST_BANK]
    liability, costs = acct[AccountRole.CLIENT_TRUST_LIABILITY], acct[AccountRole.ADVANCED_COSTS]
    income = acct[AccountRole.FEE_INCOME]
    n_entries = n_postings // 2
    t = time.perf_counter()
    k = 0
    while k < n_entries:
        specs = []
        for n in range(k, min(k + 5000, n_entries)):
            day = start + dt.timedelta(days=n * 365 // n_entries)
            file = file_list[(n // 4) % n_files]
            kind = n % 4
            cents = 10_000 + (n % 997) * 100
            if kind == 0:  # settlement money in
                lines = [
                    Line(account=trust, debit_cents=4 * cents, file=file),
                    Line(account=liability, credit_cents=4 * cents, file=file),
                ]
            elif kind == 1:  # a trust check out: half of it
                lines = [
                    Line(account=liability, debit_cents=2 * cents, file=file),
                    Line(account=trust, credit_cents=2 * cents, file=file),
                ]
            elif kind == 2:  # a cost advanced
                lines = [
                    Line(account=costs, debit_cents=cents, file=file),
                    Line(account=operating, credit_cents=cents),
                ]
            else:  # a fee earned
                lines = [
                    Line(account=operating, debit_cents=cents),
                    Line(account=income, credit_cents=cents),
                ]
            specs.append(EntrySpec(date=day, memo=f"bench {n}", lines=lines))
        journal_entries_post_batch(firm=firm, entries=specs, actor=None)
        k += len(specs)
    seconds = time.perf_counter() - t
    total = Posting.objects.filter(account__firm=firm).count()
    print(f"  ledger filled: {total:,} postings in {seconds:.1f} s ({n_files:,} trust files)")
    return int(total)


def run(backend: str, env: dict[str, str], args: argparse.Namespace) -> None:
    common.setup_django(env)
    total = fill(args.postings, args.files)
    common.close_connections()
    path = str(Path(env["CASEBRIDGE_VAR_DIR"]) / "books.beancount")
    exported = run_phase(env, "export", path)
    raw = run_phase(env, "raw", path)
    size = Path(path).stat().st_size / 1e6
    print(
        f"[{backend}] export: {total:,} postings in {exported['seconds']:.1f} s = "
        f"{total / exported['seconds']:,.0f} postings/s, {exported['lines']:,} lines, "
        f"{size:.1f} MB; peak RSS {exported['rss']:.0f} MB"
    )
    print(
        f"[{backend}] raw SQL read of the same postings: {raw['rows']:,} rows in "
        f"{raw['seconds']:.2f} s = {raw['rows'] / raw['seconds']:,.0f} rows/s; peak RSS "
        f"{raw['rss']:.0f} MB; the export takes {exported['seconds'] / raw['seconds']:.1f}x"
    )
    check = args.check if args.check is not None else args.postings <= 200_000
    if check:
        checked = run_phase(env, "check", path)
        print(
            f"[{backend}] Beancount's loader: {checked['entries']:,} directives, "
            f"{checked['errors']} errors, {checked['seconds']:.1f} s, peak RSS "
            f"{checked['rss']:.0f} MB"
        )


def main() -> None:
    args = build_parser().parse_args()
    if args.phase:
        import django

        for path in (str(common.ROOT / "src"), str(common.ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)
        django.setup()
        phases = {
            "export": lambda: phase_export(args.file),
            "raw": phase_raw,
            "check": lambda: phase_check(args.file),
        }
        print(json.dumps(phases[args.phase]()))
        return
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        db_name = f"{args.db_prefix}_beancount"
        var_dir = tempfile.mkdtemp(prefix=f"cb-bench-beancount-{backend}-")
        try:
            env = common.bench_env(var_dir)
            env["DATABASE_URL"] = common.database_create(backend, var_dir, db_name)
            common.manage(env, "migrate")
            # each backend in its own process: Django's settings are read once per process
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys; sys.argv = sys.argv[1:]; "
                    "from bench import export_beancount as b; b._child()",
                    __file__,
                    backend,
                    str(args.postings),
                    str(args.files),
                    "" if args.check is None else str(int(args.check)),
                ],
                env=common.child_env(env),
                cwd=common.ROOT,
                check=False,
            )
            if proc.returncode != 0:
                raise SystemExit(proc.returncode)
        finally:
            common.database_drop(backend, db_name)
            shutil.rmtree(var_dir, ignore_errors=True)


def _child() -> None:
    """One backend's run, in a process of its own (its environment set by the parent)."""
    import os

    _, backend, postings, files, check = sys.argv
    args = argparse.Namespace(
        postings=int(postings), files=int(files), check=None if check == "" else bool(int(check))
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("CASEBRIDGE_", "DATABASE_URL", "DJANGO_", "PYTHONPATH"))
    }
    run(backend, env, args)


if __name__ == "__main__":
    main()
