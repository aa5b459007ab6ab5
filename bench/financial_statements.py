"""Financial statements benchmark (issue 15, ADR 0042): the time of each statement on a
large ledger, the cost of a general ledger page at the start, middle and end of a large
account, and the peak memory of walking the whole ledger detail page by page.

Usage: .venv/bin/python bench/financial_statements.py [--postings 1000000] [--files 1000]
                                                      [--backend sqlite|postgres|both]
                                                      [--db-prefix NAME]

For each backend: a fresh database (PostgreSQL ``<--db-prefix>_finstate``), migrated, and
the ledger of bench/export_beancount.py (``fill``: trust deposits and checks, cost
advances from operating, fees; about a quarter of the postings on the operating account).
Then, in a process of its own (so its peak RSS is its own): the balance sheet, the profit
and loss by month compared with the period before, cost advances by file, the operating
account's ledger detail pages (first, after 50%, last) and the whole ledger detail walked
through ``general_ledger_table`` (1000 postings a page). Figures are printed; nothing is
asserted. The database and temp dir are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.export_beancount import FIRM, fill, peak_rss_mb

T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Financial statements on a large ledger.")
    ap.add_argument("--postings", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--phase", choices=["fill", "measure"], help=argparse.SUPPRESS)
    common.add_common_arguments(ap, server=False)
    return ap


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def phase_measure() -> dict[str, object]:
    from django.db import connection

    from casebridge.books.models import AccountRole, Firm, GLAccount, Posting
    from casebridge.books.selectors import financial
    from casebridge.core import clock

    with connection.cursor() as cursor:  # as autovacuum (PostgreSQL), the nightly job (SQLite)
        cursor.execute("ANALYZE")
    firm = Firm.objects.get(code=FIRM)
    operating = GLAccount.objects.get(firm=firm, role=AccountRole.OPERATING_BANK)
    today = clock.today()
    start = today.replace(year=today.year - 1)
    out: dict[str, object] = {
        "postings": Posting.objects.filter(account__firm=firm).count(),
        "operating_postings": Posting.objects.filter(account=operating).count(),
    }
    _, out["balance_sheet_s"] = _timed(lambda: financial.balance_sheet(firm=firm))
    _, out["profit_and_loss_s"] = _timed(
        lambda: financial.profit_and_loss(
            firm=firm, start=start, end=today, by_month=True, comparison="previous_period"
        )
    )
    _, out["cost_advances_s"] = _timed(lambda: financial.cost_advances_by_file(firm=firm))

    def page(cursor: str | None) -> financial.GeneralLedgerPage:
        return financial.general_ledger(
            firm=firm, start=start, end=today, account_id=operating.pk, cursor=cursor, limit=500
        )

    first, out["gl_first_page_s"] = _timed(lambda: page(None))
    # walk to the middle and the end of the operating account, timing the pages there
    pages, current, t_walk = 1, first, time.perf_counter()
    half = Posting.objects.filter(account=operating).count() // 1000
    middle_s = last_s = 0.0
    while current.next_cursor:
        cursor = current.next_cursor
        current, seconds = _timed(lambda c=cursor: page(c))  # type: ignore[misc]
        pages += 1
        if pages == half:
            middle_s = seconds
        last_s = seconds
    out["gl_operating_pages"] = pages
    out["gl_operating_walk_s"] = time.perf_counter() - t_walk
    out["gl_middle_page_s"] = middle_s
    out["gl_last_page_s"] = last_s
    rows = 0
    t = time.perf_counter()
    for _ in financial.general_ledger_table(firm=firm, start=start, end=today)[1]:
        rows += 1
    out["gl_all_rows"] = rows
    out["gl_all_s"] = time.perf_counter() - t
    out["rss_mb"] = peak_rss_mb()
    return out


def run_phase(env: dict[str, str], phase: str, args: argparse.Namespace) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--postings",
            str(args.postings),
            "--files",
            str(args.files),
        ],
        env=common.child_env(env),
        cwd=common.ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    args = build_parser().parse_args()
    if args.phase:
        import django

        for path in (str(common.ROOT / "src"), str(common.ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)
        django.setup()
        if args.phase == "fill":
            print(json.dumps({"postings": fill(args.postings, args.files)}))
        else:
            print(json.dumps(phase_measure()))
        return
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        db_name = f"{args.db_prefix}_finstate"
        var_dir = tempfile.mkdtemp(prefix=f"cb-bench-finstate-{backend}-")
        try:
            env = common.bench_env(var_dir)
            env["DATABASE_URL"] = common.database_create(backend, var_dir, db_name)
            common.manage(env, "migrate")
            t = time.perf_counter()
            run_phase(env, "fill", args)
            print(f"[{backend}] ledger filled in {time.perf_counter() - t:.0f} s")
            m = run_phase(env, "measure", args)
            print(
                f"[{backend}] {m['postings']:,} postings ({m['operating_postings']:,} on "
                f"operating): balance sheet {m['balance_sheet_s']:.2f} s, P&L by month "
                f"compared {m['profit_and_loss_s']:.2f} s, cost advances "
                f"{m['cost_advances_s']:.2f} s"
            )
            print(
                f"[{backend}] operating ledger detail, 500 a page: first page "
                f"{m['gl_first_page_s']:.3f} s, middle {m['gl_middle_page_s']:.3f} s, last "
                f"{m['gl_last_page_s']:.3f} s; {m['gl_operating_pages']} pages walked in "
                f"{m['gl_operating_walk_s']:.1f} s"
            )
            print(
                f"[{backend}] whole ledger detail: {m['gl_all_rows']:,} rows in "
                f"{m['gl_all_s']:.1f} s; peak RSS of the measuring process {m['rss_mb']:.0f} MB"
            )
        finally:
            common.database_drop(backend, db_name)
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
