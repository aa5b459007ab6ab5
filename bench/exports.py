"""Exports benchmark (issue 15, ADR 0043): the general ledger's postings exported as CSV,
XLSX and Beancount, each in a process of its own (rows/s and peak RSS), beside a raw
``COPY (SELECT ...) TO STDOUT`` of the same rows in the same run (the ratio).

Usage: .venv/bin/python bench/exports.py [--postings 1000000] [--files 1000]
                                         [--xlsx | --no-xlsx] [--db-prefix NAME]

PostgreSQL only (``<--db-prefix>_exports``): a fresh database, migrated, its ledger filled
as bench/export_beancount.py fills it (``journal_entries_post_batch``, 5,000 entries a
call); then the phases, each a child process so its peak RSS (VmHWM) is its own:
- csv: ``books.exports.tables.gl_postings`` through ``core.tabular.write_file`` (what an
  export job writes);
- xlsx (``--xlsx``, default on): the same to XLSX in constant-memory mode;
- beancount: ``beancount_export`` to a file;
- copy: the same postings joined to their entries, accounts and files, in the same order,
  through ``COPY ... TO STDOUT (FORMAT csv)`` read and dropped (the floor).
Figures are printed; nothing is asserted. The database and temp dir are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench import export_beancount as beancount_bench


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The ledger's postings exported, streamed.")
    ap.add_argument("--postings", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--xlsx", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--phase", choices=["csv", "xlsx", "beancount", "copy"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    common.add_common_arguments(ap, server=False)
    return ap


def phase_table(path: str, fmt_name: str) -> dict[str, float]:
    from casebridge.books.exports.tables import gl_postings
    from casebridge.books.models import Firm
    from casebridge.core.tabular import Format, write_file

    firm = Firm.objects.get(code=beancount_bench.FIRM)
    t = time.perf_counter()
    rows = write_file(Path(path), gl_postings(firm, {}), Format(fmt_name))
    return {"seconds": time.perf_counter() - t, "rows": rows, "rss": beancount_bench.peak_rss_mb()}


def phase_copy() -> dict[str, float]:
    from django.db import connection

    from casebridge.books.models import Firm, GLAccount, JournalEntry, Posting

    firm = Firm.objects.get(code=beancount_bench.FIRM)
    p, e, a = Posting._meta.db_table, JournalEntry._meta.db_table, GLAccount._meta.db_table
    f = "books_file"
    sql = (
        f"COPY (SELECT e.date, e.id, a.number, a.name, f.number, e.memo, p.memo, "  # noqa: S608 - table names from the models
        f"p.debit_cents, p.credit_cents FROM {p} p JOIN {e} e ON e.id = p.entry_id "
        f"JOIN {a} a ON a.id = p.account_id LEFT JOIN {f} f ON f.id = p.file_id "
        f"WHERE e.firm_id = {int(firm.pk)} ORDER BY e.date, e.id, p.id) TO STDOUT (FORMAT csv)"
    )
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    t = time.perf_counter()
    rows = 0
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            rows += bytes(block).count(b"\n")
    return {"seconds": time.perf_counter() - t, "rows": rows, "rss": beancount_bench.peak_rss_mb()}


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


def run(env: dict[str, str], args: argparse.Namespace) -> None:
    common.setup_django(env)
    total = beancount_bench.fill(args.postings, args.files)
    common.close_connections()
    var = Path(env["CASEBRIDGE_VAR_DIR"])
    copy = run_phase(env, "copy", "")
    print(
        f"COPY ... TO STDOUT: {copy['rows']:,} rows in {copy['seconds']:.1f} s = "
        f"{copy['rows'] / copy['seconds']:,.0f} rows/s; peak RSS {copy['rss']:.0f} MB"
    )
    phases = ["csv", "xlsx", "beancount"] if args.xlsx else ["csv", "beancount"]
    for phase in phases:
        path = str(var / f"postings.{phase}")
        got = run_phase(env, phase, path)
        rows = got.get("rows", total)
        size = Path(path).stat().st_size / 1e6
        print(
            f"{phase}: {total:,} postings in {got['seconds']:.1f} s = "
            f"{total / got['seconds']:,.0f} postings/s, {size:.1f} MB, {rows:,} "
            f"{'lines' if phase == 'beancount' else 'rows'}; peak RSS {got['rss']:.0f} MB; "
            f"{got['seconds'] / copy['seconds']:.1f}x the COPY"
        )
        Path(path).unlink()


def main() -> None:
    args = build_parser().parse_args()
    if args.phase:
        import django

        for path in (str(common.ROOT / "src"), str(common.ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)
        django.setup()
        if args.phase == "copy":
            print(json.dumps(phase_copy()))
        elif args.phase == "beancount":
            got = beancount_bench.phase_export(args.file)
            print(json.dumps({**got, "rows": got["lines"]}))
        else:
            print(json.dumps(phase_table(args.file, args.phase)))
        return
    db_name = f"{args.db_prefix}_exports"
    var_dir = tempfile.mkdtemp(prefix="cb-bench-exports-")
    try:
        env = common.bench_env(var_dir)
        env["DATABASE_URL"] = common.database_create("postgres", var_dir, db_name)
        common.manage(env, "migrate")
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; sys.argv = sys.argv[1:]; from bench import exports as b; b._child()",
                __file__,
                str(args.postings),
                str(args.files),
                str(int(args.xlsx)),
            ],
            env=common.child_env(env),
            cwd=common.ROOT,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(proc.returncode)
    finally:
        common.database_drop("postgres", db_name)
        shutil.rmtree(var_dir, ignore_errors=True)


def _child() -> None:
    """The run, in a process of its own (its environment set by the parent)."""
    import os

    _, postings, files, xlsx = sys.argv
    args = argparse.Namespace(postings=int(postings), files=int(files), xlsx=bool(int(xlsx)))
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("CASEBRIDGE_", "DATABASE_URL", "DJANGO_", "PYTHONPATH"))
    }
    run(env, args)


if __name__ == "__main__":
    main()
