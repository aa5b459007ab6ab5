"""The books meet the bank (issue 11): import a year of bank statements for a client trust
account and auto-match 100,000 statement lines against 100,000 open books items, then the
monthly reconciliation of a month with 10,000 files holding money.

Usage: .venv/bin/python bench/bank_match.py [--lines 100000] [--files 10000]
                                            [--backend postgres|sqlite|both]
                                            [--ambiguous 0.01] [--profile]
                                            [--db-prefix NAME | --db-name NAME]

Set-up (not timed, printed): a fresh database (PostgreSQL ``<prefix>_bank``, default
``casebridge_bench_bank``, or ``--db-name``; SQLite in a temp dir), one firm, ``--files``
files, and on the trust account half of ``--lines`` trust receipts (journal batch path +
receipt rows) and half printed trust checks (``check_requests_find_or_create`` in batches,
then numbered with one SQL UPDATE as printing would), spread over the last twelve full
months. Every check clears by number, every receipt by its amount and date; ``--ambiguous``
of the receipts come in pairs of one amount on one day, which auto-match must propose and
never apply. The bank's side is written as twelve monthly ISO 20022 camt.053 files with
their opening and closing balances (``tests/books/bank/statement_files.py``; each file is
well under the 20 MB import limit).

Timed, in a fresh process (so its peak RSS is the measured path's, not the set-up's):

(a) ``statement_import`` of the twelve files, then one ``statement_auto_match`` of the
    account: lines/s for each and for both; the parser's share (the same files parsed
    again, timed apart) and the statements and commits the path ran (the slowest shown);
    beside (1) the raw insert of every row the path wrote (``common.raw_insert_baseline``:
    executemany, as every bench) and (2) the database alone: the same statement lines and
    cleared items put again by ``INSERT ... SELECT`` into empty copies of their tables with
    the same indexes and deferred foreign keys, the copied lines marked matched, committed
    (the foreign-key checks run at the commit);
(b) the proposed lines resolved by hand (not timed), then the reconciliation of the
    second-last month (every file holds money): ``bank_reconciliation`` and
    ``reconciliation_prepare`` (3 runs each, median), beside the raw SQL aggregates of the
    same postings (journal balance, outstanding items, each file's ledger, the liability).

Peak memory is the measuring process's ``ru_maxrss``. Aim (issue 11, on a quiet 2-core
machine): import + match >= 20,000 lines/s; the month's reconciliation < 2 s.
"""

from __future__ import annotations

import argparse
import calendar
import cProfile
import datetime as dt
import json
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

PASSWORD = "bench-password-1"
BATCH = 5_000


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Statements in and auto-matched; the month's rec.")
    ap.add_argument("--lines", type=int, default=100_000, help="statement lines (= books items)")
    ap.add_argument("--files", type=int, default=10_000, help="client files holding the money")
    ap.add_argument(
        "--ambiguous",
        type=float,
        default=0.01,
        help="share of receipts in same-amount, same-day pairs (proposed, never applied)",
    )
    ap.add_argument("--runs", type=int, default=3, help="runs of each reconciliation read")
    ap.add_argument("--profile", action="store_true", help="cProfile the timed paths")
    ap.add_argument("--top-queries", type=int, default=4, help="slowest statements shown")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="postgres")
    ap.add_argument(
        "--db-name",
        type=common.db_prefix,
        default=None,
        help="the PostgreSQL database's whole name (instead of <prefix>_bank)",
    )
    ap.add_argument(
        "--phase", choices=["all", "setup", "measure"], default="all", help=argparse.SUPPRESS
    )
    ap.add_argument("--plan", default="", help=argparse.SUPPRESS)
    common.add_common_arguments(ap, server=False)
    return ap


def main() -> None:
    args = build_parser().parse_args()
    if args.phase != "all":  # a child process, with the bench's environment
        for path in (str(common.ROOT / "src"), str(common.ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)
        import django

        django.setup()
        if args.phase == "setup":
            set_up(args)
        else:
            measure(args)
        return
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if len(backends) > 1:  # each backend in its own process: settings are read once
            argv = ["--lines", str(args.lines), "--files", str(args.files)]
            argv += ["--ambiguous", str(args.ambiguous), "--runs", str(args.runs)]
            argv += ["--top-queries", str(args.top_queries), "--backend", backend]
            argv += ["--db-name", args.db_name] if args.db_name else []
            argv += ["--profile"] if args.profile else []
            subprocess.run([sys.executable, __file__, *argv, *common.common_argv(args)], check=True)
            continue
        db_name = args.db_name or f"{args.db_prefix}_bank"
        var_dir = tempfile.mkdtemp(prefix=f"cb-bench-bank-{backend}-")
        try:
            env = common.bench_env(var_dir)
            env["DATABASE_URL"] = common.database_create(backend, var_dir, db_name)
            common.manage(env, "migrate")
            # The set-up and the measuring each in a process of its own, started from this
            # small one: a process's ru_maxrss counts the process it was forked from.
            plan = ["--plan", str(Path(var_dir) / "plan.json"), "--backend", backend]
            setup_cmd = [sys.executable, __file__, "--phase", "setup", *plan]
            setup_cmd += ["--lines", str(args.lines), "--files", str(args.files)]
            setup_cmd += ["--ambiguous", str(args.ambiguous)]
            subprocess.run(setup_cmd, check=True, env=common.child_env(env))
            cmd = [sys.executable, __file__, "--phase", "measure", *plan]
            cmd += ["--runs", str(args.runs), "--top-queries", str(args.top_queries)]
            if args.profile:
                cmd.append("--profile")
            subprocess.run(cmd, check=True, env=common.child_env(env))
        finally:
            common.close_connections()
            common.database_drop(backend, db_name)
            shutil.rmtree(var_dir, ignore_errors=True)


# --- Set-up: the books' items and the bank's files -----------------------------------------------


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def set_up(args: argparse.Namespace) -> None:
    from django.db import connection, transaction
    from tests.books.bank.statement_files import Row, camt053

    from casebridge.books.models import BankAccount, Check, File, TrustReceipt
    from casebridge.books.services import auth, files, setup
    from casebridge.books.services.checks import CheckRequest, check_requests_find_or_create
    from casebridge.books.services.journal import EntrySpec, Line, journal_entries_post_batch
    from casebridge.core import clock

    backend, var_dir = args.backend, Path(args.plan).parent
    tag = f"[{backend}]"
    t_setup = time.perf_counter()
    n_receipts = args.lines // 2
    n_files = min(args.files, n_receipts)
    today = clock.today()
    last_end = today.replace(day=1) - dt.timedelta(days=1)  # the last full month
    first = last_end.replace(day=1)
    for _ in range(11):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    # every item dated so that its line (a receipt 0-3 days later, a check 2-15) is in the year
    span = (last_end - dt.timedelta(days=16) - first).days

    firm = setup.firm_create(code="bench", name="Bench Firm")
    admin = auth.user_create(
        firm=firm,
        email="admin@bench.test",
        password=PASSWORD,
        first_name="Ada",
        last_name="Admin",
        is_admin=True,
        is_attorney=True,
    )
    setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=first)
    trust = BankAccount.objects.select_related("gl_account", "trust_liability_account").get(
        firm=firm, kind="trust"
    )
    assert trust.trust_liability_account is not None
    made = files.files_find_or_create(
        firm=firm,
        actor=admin,
        requests=[
            files.FileRequest(
                name=f"Client {n} v. Insurer",
                client=files.ClientRequest(name=f"Client {n}", external_ref=f"bench-client-{n}"),
                external_ref=f"bench-file-{n}",
                opened_on=first,
            )
            for n in range(n_files)
        ],
    )
    file_objs: list[File] = [f for f, _ in made]

    # Event e: a receipt into file e % n_files, and a trust check from it a few days later
    # for two thirds of it: no client is ever below zero on any date.
    pair_every = round(1 / args.ambiguous) * 2 if args.ambiguous > 0 else 0

    def receipt_of(e: int) -> tuple[dt.date, int]:
        if pair_every and e % pair_every == 1:  # the twin of the receipt before it
            return receipt_of(e - 1)
        return first + dt.timedelta(days=(e * span) // n_receipts), 100_000 + 7 * e

    def check_of(e: int) -> tuple[dt.date, int]:
        on, cents = receipt_of(e)
        return on + dt.timedelta(days=1 + e % 5), cents * 2 // 3

    t = time.perf_counter()
    for start in range(0, n_receipts, BATCH):
        events = range(start, min(start + BATCH, n_receipts))
        with transaction.atomic():
            specs = []
            for e in events:
                on, cents = receipt_of(e)
                file = file_objs[e % n_files]
                payer = f"Insurer {e % 97}"
                specs.append(
                    EntrySpec(
                        date=on,
                        memo=f"Trust deposit from {payer}",
                        source="trust_receipt",
                        lines=[
                            Line(trust.gl_account, debit_cents=cents, file=file, memo=payer),
                            Line(
                                trust.trust_liability_account,
                                credit_cents=cents,
                                file=file,
                                memo=payer,
                            ),
                        ],
                    )
                )
            posted = journal_entries_post_batch(firm=firm, entries=specs, actor=admin)
            now = clock.now()
            TrustReceipt.objects.bulk_create(
                [
                    TrustReceipt(
                        firm=firm,
                        bank_account=trust,
                        file=file_objs[e % n_files],
                        payer=f"Insurer {e % 97}",
                        amount_cents=spec.lines[0].debit_cents,
                        received_on=spec.date,
                        entry=entry,
                        created_by=admin,
                        created_at=now,
                    )
                    for e, spec, (entry, _) in zip(events, specs, posted, strict=True)
                ],
                batch_size=2000,
            )
        check_requests_find_or_create(
            firm=firm,
            actor=admin,
            requests=[
                CheckRequest(
                    bank_account_id=trust.pk,
                    payee=f"Provider {e % 89}",
                    amount_cents=check_of(e)[1],
                    file_id=file_objs[e % n_files].pk,
                    request_date=check_of(e)[0],
                )
                for e in events
            ],
        )
    posted_s = time.perf_counter() - t
    # Printed: numbered from 1001 in the order requested, as a print run would (one UPDATE).
    check_table = Check._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {check_table} SET status = 'printed', printed_on = request_date,
                check_number = 1000 + n.rn
                FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM {check_table}
                      WHERE bank_account_id = %s) AS n
                WHERE {check_table}.id = n.id""",  # noqa: S608 - model table names
            [trust.pk],
        )
        BankAccount.objects.filter(pk=trust.pk).update(next_check_number=1001 + n_receipts)
    numbers = list(
        Check.objects.filter(bank_account=trust)
        .order_by("pk")
        .values_list("check_number", flat=True)
    )
    assert numbers == list(range(1001, 1001 + n_receipts))
    if backend == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does after such a load
    print(
        f"{tag} set-up: {n_files:,} files; {n_receipts:,} trust receipts and {n_receipts:,} "
        f"printed trust checks posted in {posted_s:.1f} s, dated {first} to "
        f"{first + dt.timedelta(days=span + 5)}"
    )

    # The bank's side: each line on its day, a statement a month with its balances.
    rows: list[Row] = []
    for e in range(n_receipts):
        on, cents = receipt_of(e)
        rows.append(Row(on + dt.timedelta(days=e % 4), cents, text=f"DEPOSIT {e % 97}"))
        check_on, check_cents = check_of(e)
        rows.append(
            Row(
                check_on + dt.timedelta(days=1 + e % 10),
                -check_cents,
                check=str(numbers[e]),
                text="CHECK PAID",
            )
        )
    rows.sort(key=lambda r: r.on)
    statement_files = []
    balance = 0
    month = first
    while month <= last_end:
        end = month_end(month)
        these = [r for r in rows if month <= r.on <= end]
        closing = balance + sum(r.cents for r in these)
        data = camt053(these, start=month, end=end, opening=balance, closing=closing)
        path = var_dir / f"statement-{month:%Y-%m}.xml"
        path.write_bytes(data)
        statement_files.append((str(path), len(these), len(data)))
        balance = closing
        month = end + dt.timedelta(days=1)
    assert sum(n for _, n, _ in statement_files) == 2 * n_receipts
    sizes = [size for *_, size in statement_files]
    print(
        f"{tag} bank side: {len(statement_files)} monthly camt.053 files, "
        f"{2 * n_receipts:,} lines, {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB each "
        f"(set-up {time.perf_counter() - t_setup:.0f} s in all)"
    )
    reconcile = last_end.replace(day=1) - dt.timedelta(days=1)  # the second-last month
    Path(args.plan).write_text(
        json.dumps(
            {
                "firm_id": firm.pk,
                "admin_id": admin.pk,
                "bank_account_id": trust.pk,
                "files": statement_files,
                "n_files": n_files,
                "n_items": 2 * n_receipts,
                "reconcile_month": reconcile.isoformat(),
            }
        )
    )


# --- Measured, in a fresh process --------------------------------------------------------------


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(args: argparse.Namespace) -> None:
    from casebridge.books.models import BankAccount, Firm, StatementLine, User
    from casebridge.books.selectors.bank import bank_reconciliation
    from casebridge.books.services import matching, reconciliations, statements
    from casebridge.books.statements import parse as statements_parse

    plan = json.loads(Path(args.plan).read_text())
    tag = f"[{args.backend}]"
    firm = Firm.objects.get(pk=plan["firm_id"])
    admin = User.objects.get(pk=plan["admin_id"])
    bank_id = plan["bank_account_id"]
    datas = [(Path(p).name, Path(p).read_bytes(), n) for p, n, _ in plan["files"]]
    n_lines = sum(n for *_, n in datas)
    print(f"{tag} measuring process before the timed path: peak RSS {maxrss_mb():.0f} MB")

    profiler = cProfile.Profile() if args.profile else None

    # (a) import + auto-match
    floor_marks = _marks()
    written = common.RowsWritten()
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    new = 0
    with queries_timed() as import_queries:
        for name, data, _ in datas:
            record = statements.statement_import(
                firm=firm, actor=admin, bank_account_id=bank_id, data=data, file_name=name
            )
            assert record.status == "imported", record.reason
            new += record.new_count
    t1 = time.perf_counter()
    with queries_timed() as match_queries:
        result = matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=bank_id)
    t2 = time.perf_counter()
    if profiler:
        profiler.disable()
    rss_a = maxrss_mb()
    assert new == n_lines, (new, n_lines)
    import_s, match_s = t1 - t0, t2 - t1
    print(
        f"{tag} (a) import of {len(datas)} camt.053 files, {n_lines:,} lines: {import_s:.2f} s, "
        f"{n_lines / import_s:,.0f} lines/s"
    )
    print(
        f"{tag} (a) auto-match of {result.lines_considered:,} lines against "
        f"{plan['n_items']:,} open items: {match_s:.2f} s, {n_lines / match_s:,.0f} lines/s "
        f"({result.lines_matched:,} matched, {result.items_cleared:,} items cleared, "
        f"{result.lines_proposed:,} proposed, {result.lines_left:,} left)"
    )
    print(
        f"{tag} (a) import + match: {import_s + match_s:.2f} s, "
        f"**{n_lines / (import_s + match_s):,.0f} lines/s** (aim >= 20,000)"
    )
    # the parser's share, timed apart afterwards (statement_import parses before it writes)
    t = time.perf_counter()
    for _, data, _ in datas:
        statements_parse(data, "camt053")
    parse_s = time.perf_counter() - t
    print(
        f"{tag} (a) of the import, parsing the files (camt.053 parser, timed apart): "
        f"{parse_s:.2f} s; the rest of the import {import_s - parse_s:.2f} s; "
        f"import + match without parsing {n_lines / (import_s + match_s - parse_s):,.0f} lines/s"
    )
    print(f"{tag} (a) the import's SQL: {describe_queries(import_queries, args.top_queries)}")
    print(f"{tag} (a) the match's SQL: {describe_queries(match_queries, args.top_queries)}")
    baseline = written.baseline()
    print(f"{tag} (a) {baseline.describe(import_s + match_s)}")
    floor = _insert_select_floor(floor_marks)
    path_s = import_s + match_s
    print(
        f"{tag} (a) the database alone, the same {floor.lines:,} statement lines and "
        f"{floor.cleared:,} cleared items (INSERT ... SELECT into empty copies with the same "
        f"indexes and foreign keys, the lines then marked matched), one transaction: "
        f"{floor.seconds:.2f} s (inserts {floor.insert_s:.2f}, update {floor.update_s:.2f}, "
        f"commit {floor.commit_s:.2f}); the path took {path_s / floor.seconds:,.1f}x that, "
        f"{(path_s - parse_s) / floor.seconds:,.1f}x without the parser"
    )
    print(f"{tag} (a) peak RSS of the measuring process: {rss_a:.0f} MB")

    # (b) the month's reconciliation, every line up to it matched
    resolved = _resolve_proposed(firm, admin, bank_id)
    if args.backend == "postgres":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does within a minute of such a load
    month = dt.date.fromisoformat(plan["reconcile_month"])
    left = StatementLine.objects.filter(
        bank_account_id=bank_id, posted_on__lte=month, status__in=["unmatched", "proposed"]
    ).count()
    print(f"{tag} (b) {resolved:,} proposed lines matched by hand (not timed); {left} left")
    if profiler:
        profiler.enable()
    rec_times, prep_times = [], []
    rec = None
    for _ in range(args.runs):
        t = time.perf_counter()
        with queries_timed() as rec_queries:
            rec = bank_reconciliation(firm=firm, bank_account_id=bank_id, period_end=month)
        rec_times.append(time.perf_counter() - t)
    for _ in range(args.runs):
        t = time.perf_counter()
        saved = reconciliations.reconciliation_prepare(
            firm=firm, actor=admin, bank_account_id=bank_id, month=month
        )
        prep_times.append(time.perf_counter() - t)
    if profiler:
        profiler.disable()
    assert rec is not None
    ledgers = rec.client_ledgers or []
    print(
        f"{tag} (b) the month to {month}: {len(ledgers):,} files with balances, "
        f"{len(rec.outstanding_checks):,} outstanding checks, {len(rec.deposits_in_transit):,} "
        f"deposits in transit; adjusted bank {rec.adjusted_bank_balance_cents / 100:,.2f} = "
        f"journal {rec.journal_balance_cents / 100:,.2f} = ledgers "
        f"{(rec.client_ledgers_total_cents or 0) / 100:,.2f}; differences {rec.differences}"
    )
    assert saved.difference_cents == rec.difference_cents
    print(f"{tag} (b) bank_reconciliation's SQL: {describe_queries(rec_queries, args.top_queries)}")
    raw = _raw_reconciliation(BankAccount.objects.get(pk=bank_id), month, args.runs)
    rec_med, prep_med, raw_med = (statistics.median(x) for x in (rec_times, prep_times, raw[0]))
    print(
        f"{tag} (b) bank_reconciliation median {rec_med:.3f} s "
        f"({', '.join(f'{x:.3f}' for x in rec_times)}); reconciliation_prepare median "
        f"**{prep_med:.3f} s** ({', '.join(f'{x:.3f}' for x in prep_times)}) (aim < 2 s)"
    )
    print(
        f"{tag} (b) raw SQL of the same figures (journal, outstanding items, {raw[1]:,} ledger "
        f"sums, liability) median {raw_med:.3f} s; bank_reconciliation {rec_med / raw_med:.1f}x, "
        f"reconciliation_prepare {prep_med / raw_med:.1f}x that"
    )
    print(
        f"{tag} peak RSS of the measuring process at the end: {maxrss_mb():.0f} MB (the raw "
        "insert baseline of (a) holds every row written in memory)"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


@contextmanager
def queries_timed() -> Iterator[list[tuple[float, str]]]:
    """(seconds, SQL) of every statement this process runs inside the block, and of every
    commit (``"COMMIT"``). A COPY's rows go through the driver's copy object: only the
    statements around them count."""
    from django.db import connection

    seen: list[tuple[float, str]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((time.perf_counter() - t, " ".join(sql.split())))

    original = connection._commit

    def commit() -> Any:
        t = time.perf_counter()
        try:
            return original()
        finally:
            seen.append((time.perf_counter() - t, "COMMIT"))

    connection._commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(timed):
            yield seen
    finally:
        del connection._commit


def describe_queries(seen: list[tuple[float, str]], top: int) -> str:
    commits = sum(t for t, sql in seen if sql == "COMMIT")
    total = sum(t for t, sql in seen if sql != "COMMIT")
    slowest = sorted(seen, reverse=True)[:top]
    lines = [
        f"{len(seen)} statements {total:.2f} s; commits (the deferred foreign-key checks) "
        f"{commits:.2f} s"
    ]
    lines += [f"      {t:6.3f} s  {sql[:150]}" for t, sql in slowest]
    return "\n".join(lines)


def _marks() -> dict[str, int]:
    from django.db.models import Max

    from casebridge.books.models import ClearedItem, StatementLine

    return {
        m._meta.db_table: m.objects.aggregate(m=Max("pk"))["m"] or 0
        for m in (StatementLine, ClearedItem)
    }


@dataclass
class Floor:
    lines: int
    cleared: int
    insert_s: float
    update_s: float
    commit_s: float

    @property
    def seconds(self) -> float:
        return self.insert_s + self.update_s + self.commit_s


def _insert_select_floor(marks: dict[str, int]) -> Floor:
    """What the database alone takes for the rows the path wrote: the same statement lines
    and cleared items inserted again (``INSERT ... SELECT``) into empty copies of their
    tables with the same columns, indexes, checks and (PostgreSQL: added here, as ``LIKE``
    copies none) deferred foreign keys, the copied lines then marked matched (one
    UPDATE), in one transaction whose commit runs the foreign-key checks."""
    from django.db import connection, transaction

    from casebridge.books.models import ClearedItem, StatementLine

    lines, cleared = StatementLine._meta.db_table, ClearedItem._meta.db_table
    copies = {t: f"bench_floor_{t}" for t in (lines, cleared)}
    with connection.cursor() as cursor:
        for table, copy in copies.items():
            cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
            common._copy_table(cursor, connection.vendor, table, copy)
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(
                        f'ALTER TABLE "{copy}" ADD CONSTRAINT "bench_{name}" {definition}'
                    )
    counts = []
    try:
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for table, copy in copies.items():
                cursor.execute(
                    f'INSERT INTO "{copy}" SELECT * FROM "{table}" WHERE id > %s',  # noqa: S608
                    [marks[table]],
                )
                counts.append(cursor.rowcount)
            t_update = time.perf_counter()
            cursor.execute(
                f"UPDATE \"{copies[lines]}\" SET status = 'matched', proposals = NULL "  # noqa: S608
                f'WHERE id IN (SELECT line_id FROM "{copies[cleared]}")'
            )
            t_commit = time.perf_counter()
        done = time.perf_counter()
    finally:
        with connection.cursor() as cursor:
            for copy in reversed(copies.values()):
                cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
    return Floor(counts[0], counts[1], t_update - t, t_commit - t_update, done - t_commit)


def _resolve_proposed(firm: Any, admin: Any, bank_id: int) -> int:
    """Each proposed line matched by hand to the first of its candidates still open (the
    twins of a pair take one receipt each), as a person would."""
    from casebridge.books.models import ClearedItem, StatementLine
    from casebridge.books.services import matching

    done = 0
    for line_id, proposals in (
        StatementLine.objects.filter(bank_account_id=bank_id, status="proposed")
        .order_by("posted_on", "pk")
        .values_list("pk", "proposals")
    ):
        taken = set(
            ClearedItem.objects.filter(
                posting_id__in=[p for s in proposals for p in s]
            ).values_list("posting_id", flat=True)
        )
        choice = next((s for s in proposals if not taken & set(s)), None)
        if choice is not None:
            matching.line_match(firm=firm, actor=admin, line_id=line_id, posting_ids=choice)
            done += 1
    return done


def _raw_reconciliation(bank: Any, day: dt.date, runs: int) -> tuple[list[float], int]:
    """The reconciliation's figures from the same postings in plain SQL: the bank's
    journal balance, its outstanding items, each file's ledger, the liability account."""
    from django.db import connection

    from casebridge.books.models import ClearedItem, JournalEntry, Posting, TrustLedger

    p, e = Posting._meta.db_table, JournalEntry._meta.db_table
    c, tl = ClearedItem._meta.db_table, TrustLedger._meta.db_table
    # table names from the models' metadata; every value is a bound parameter
    queries = [
        (
            f"SELECT SUM(p.debit_cents) - SUM(p.credit_cents) FROM {p} p JOIN {e} e "  # noqa: S608
            "ON e.id = p.entry_id WHERE p.account_id = %s AND e.date <= %s",
            [bank.gl_account_id, day],
        ),
        (
            f"SELECT p.id, e.date, p.debit_cents - p.credit_cents FROM {p} p JOIN {e} e "  # noqa: S608
            "ON e.id = p.entry_id WHERE p.account_id = %s AND e.date <= %s AND NOT EXISTS "
            f"(SELECT 1 FROM {c} c WHERE c.posting_id = p.id AND c.cleared_on <= %s)",
            [bank.gl_account_id, day, day],
        ),
        (
            f"SELECT tl.file_id, SUM(p.credit_cents) - SUM(p.debit_cents) FROM {p} p "  # noqa: S608
            f"JOIN {e} e ON e.id = p.entry_id JOIN {tl} tl ON tl.id = p.trust_ledger_id "
            "WHERE tl.bank_account_id = %s AND e.date <= %s GROUP BY tl.file_id",
            [bank.pk, day],
        ),
        (
            f"SELECT SUM(p.credit_cents) - SUM(p.debit_cents) FROM {p} p JOIN {e} e "  # noqa: S608
            "ON e.id = p.entry_id WHERE p.account_id = %s AND e.date <= %s",
            [bank.trust_liability_account_id, day],
        ),
    ]
    times = []
    n_ledgers = 0
    for _ in range(runs):
        t = time.perf_counter()
        with connection.cursor() as cursor:
            for n, (sql, params) in enumerate(queries):
                cursor.execute(sql, params)
                rows = cursor.fetchall()
                if n == 2:
                    n_ledgers = len(rows)
        times.append(time.perf_counter() - t)
    return times, n_ledgers


if __name__ == "__main__":
    main()
