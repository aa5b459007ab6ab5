"""Ledger benchmark: post journal entries through the batch API over real HTTP, then time
balance lookups and trial balances with 1,000,000 postings in the ledger.

Usage: .venv/bin/python bench/ledger.py [--entries 100000] [--postings 1000000]
                                        [--backend sqlite|postgres|both]
                                        [--trust-files N] [--port N] [--db-prefix NAME]

For each backend it creates a fresh database (SQLite file in its own temp var dir;
PostgreSQL database ``<--db-prefix>_ledger``, default ``casebridge_bench_ledger``, at
$BENCH_POSTGRES_URL, default the local server), migrates, creates a firm and an enrolled
API user, starts gunicorn (2 workers) on ``--port`` (default a free loopback port), logs in
through the API and posts ``--entries`` two-line entries in batches of ``--batch`` through
POST /books/api/v1/journal-entries/batch, and prints beside it the raw SQL insert of the
same rows (bench/common.py). With ``--trust-files N`` the entries move client trust
instead: pairs of a deposit of 24.68 into one of N files and a disbursement of 12.34 from
it on the same date, the dates cycling through a year, so most disbursements are dated
before postings already on their ledger and the dated trust check reads them (ADR 0011).
It then tops the ledger up to ``--postings`` postings with the
same batch service in-process, and times:
- one account balance (GET /gl-accounts/{id}/balance over HTTP, and the selector alone),
- the trial balance from maintained balances, and as of a date (summing every posting).
Figures are printed; nothing is asserted. Targets: >= 5,000 entries/s; balance < 2 ms.
The temp dir and the PostgreSQL database are removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp
from bench import common

PASSWORD = "bench-password-1"


class Api:
    """A keep-alive HTTP/1.1 client for the books API on a loopback port."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.token: str | None = None

    def call(
        self, method: str, path: str, body: object | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body) if body is not None else None
        self.conn.request(method, f"/books/api/v1{path}", body=data, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")


def prepare_database(backend: str, var_dir: str, db_name: str) -> dict[str, str]:
    env = common.bench_env(var_dir)
    env["DATABASE_URL"] = common.database_create(backend, var_dir, db_name)
    common.manage(env, "migrate")
    return env


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The books' ledger through the batch API.")
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--postings", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2, help="concurrent API clients")
    ap.add_argument(
        "--trust-files",
        type=int,
        default=0,
        help="post client trust deposits and disbursements over this many files "
        "(default 0: cost advances, no trust)",
    )
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    common.add_common_arguments(ap, server=True)
    return ap


def main() -> None:
    args = build_parser().parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        # Each backend in its own process: Django settings are read once per process.
        cmd = [
            sys.executable,
            __file__,
            "--entries",
            str(args.entries),
            "--postings",
            str(args.postings),
            "--batch",
            str(args.batch),
            "--clients",
            str(args.clients),
            "--trust-files",
            str(args.trust_files),
            "--backend",
            backend,
            *common.common_argv(args),
        ]
        if len(backends) > 1:
            subprocess.run(cmd, check=True)
        else:
            db_name = f"{args.db_prefix}_ledger"
            var_dir = tempfile.mkdtemp(prefix=f"cb-bench-ledger-{backend}-")
            try:
                env = prepare_database(backend, var_dir, db_name)
                run(backend, env, args)
            finally:
                common.close_connections()
                common.database_drop(backend, db_name)
                shutil.rmtree(var_dir, ignore_errors=True)


def run(backend: str, env: dict[str, str], args: argparse.Namespace) -> None:
    n_entries, n_postings, batch, clients = args.entries, args.postings, args.batch, args.clients
    common.setup_django(env)
    from casebridge.books.models import AccountRole, GLAccount, IntegrationToken, Posting
    from casebridge.books.selectors.reports import account_balance_cents, trial_balance
    from casebridge.books.services import auth, files, setup
    from casebridge.books.services.journal import EntrySpec, Line, journal_entries_post_batch
    from casebridge.core import clock, twofactor

    firm = setup.firm_create(code="bench", name="Bench Firm")
    user = auth.user_create(firm=firm, email="api@bench.test", password=PASSWORD, is_admin=True)
    auth.security_question_enroll(user=user, question="Benchmark question?", answer="answer")
    # an administrator signs in with a second factor: enrolled with the demo's fixed secret
    user.totp_secret = twofactor.encrypt_secret(twofactor.DEMO_TOTP_KEY)
    user.totp_enabled_at = clock.now()
    user.save(update_fields=["totp_secret", "totp_enabled_at"])
    # A year of entries ending two days ago: nothing dated after today, so the trial
    # balance of today reads the maintained balances (ADR 0013). The clients post their
    # ranges in any order: the books open on the first day (ADR 0007).
    day = clock.today() - dt.timedelta(days=366)
    setup.firm_opening_date_set(firm=firm, actor=user, opening_date=day)
    client, _ = files.contact_find_or_create(firm=firm, actor=user, name="Bench Client")
    file, _ = files.file_find_or_create(firm=firm, actor=user, name="Bench File", client=client)
    accts = {a.role: a for a in GLAccount.objects.filter(firm=firm).exclude(role="")}
    cash, costs = accts[AccountRole.OPERATING_BANK], accts[AccountRole.ADVANCED_COSTS]
    income = accts[AccountRole.FEE_INCOME]
    trust_bank, trust_liability = (
        accts[AccountRole.TRUST_BANK],
        accts[AccountRole.CLIENT_TRUST_LIABILITY],
    )
    trust_files = [
        files.file_find_or_create(
            firm=firm, actor=user, name=f"Trust File {k}", client=client, number=f"T-{k:05d}"
        )[0].pk
        for k in range(args.trust_files)
    ]

    def lines(n: int) -> list[dict[str, object]]:
        """Entry n's lines: a cost advance, or (--trust-files) half of a trust deposit and
        disbursement pair on one file and one date."""
        if not trust_files:
            return [
                {"account_id": costs.pk, "debit": "12.34", "file_id": file.pk},
                {"account_id": cash.pk, "credit": "12.34"},
            ]
        file_id = trust_files[(n // 2) % len(trust_files)]
        deposit, amount = n % 2 == 0, "24.68" if n % 2 == 0 else "12.34"
        return [
            {
                "account_id": trust_bank.pk,
                "file_id": file_id,
                "debit" if deposit else "credit": amount,
            },
            {
                "account_id": trust_liability.pk,
                "file_id": file_id,
                "credit" if deposit else "debit": amount,
            },
        ]

    server, port = common.start_gunicorn(env, args.port)
    try:
        api = Api(port)
        status, body = api.call(
            "POST",
            "/auth/session",
            {
                "firm": "bench",
                "username": "api@bench.test",
                "password": PASSWORD,
                "totp": pyotp.TOTP(twofactor.DEMO_TOTP_KEY).now(),
            },
        )
        assert status in (200, 201), body
        api.token = body["token"]
        # the bench posts and reads as fast as the books answer: its token's own rate limit
        # (issue 13) is lifted, so a smaller --batch never meets the default 600 a minute
        IntegrationToken.objects.filter(user=user).update(rate_limit_per_minute=10_000_000)

        def post_range(start: int, stop: int) -> None:
            client = Api(port)
            client.token = api.token
            for first in range(start, stop, batch):
                entries = [
                    {
                        "date": (day + dt.timedelta(days=spread(n) % 365)).isoformat(),
                        "memo": f"bench {n}",
                        "source": "bench",
                        "idempotency_key": f"b-{n}",
                        "lines": lines(n),
                    }
                    for n in range(first, min(first + batch, stop))
                ]
                status, body = client.call("POST", "/journal-entries/batch", {"entries": entries})
                assert status in (200, 201), (status, str(body)[:500])

        def spread(n: int) -> int:
            return n // 2 if trust_files else n  # a trust pair shares its date

        share = -(-n_entries // clients)
        share += share % 2  # a trust pair never split between two clients
        threads = [
            threading.Thread(target=post_range, args=(k * share, min((k + 1) * share, n_entries)))
            for k in range(clients)
        ]
        written = common.RowsWritten()
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        api_seconds = time.perf_counter() - t0
        print(
            f"[{backend}] {n_entries:,} entries through the batch API in {api_seconds:.1f} s: "
            f"{n_entries / api_seconds:,.0f} entries/s (batches of {batch}, 2 postings each, "
            f"{clients} clients, gunicorn on port {port}"
            + (f", client trust over {len(trust_files)} files" if trust_files else "")
            + ")"
        )
        print(f"[{backend}] {written.baseline().describe(api_seconds)}")

        # Top up to the target ledger size in-process (same service, no HTTP).
        have = Posting.objects.filter(account__firm=firm).count()
        t1 = time.perf_counter()
        k = 0
        while have < n_postings:
            size = min(5000, (n_postings - have) // 2 or 1)
            specs = [
                EntrySpec(
                    date=day + dt.timedelta(days=(k + i) % 365),
                    memo="fill",
                    lines=[
                        Line(account=cash, debit_cents=10_000 + i),
                        Line(account=income, credit_cents=10_000 + i),
                    ],
                )
                for i in range(size)
            ]
            journal_entries_post_batch(firm=firm, entries=specs, actor=user)
            have += 2 * size
            k += size
        fill = time.perf_counter() - t1
        total = Posting.objects.filter(account__firm=firm).count()
        print(
            f"[{backend}] ledger filled to {total:,} postings "
            f"(in-process top-up {fill:.1f} s, {k / fill if fill else 0:,.0f} entries/s)"
        )

        lookups = []
        for _ in range(300):
            t = time.perf_counter()
            account_balance_cents(firm=firm, account_id=cash.pk)
            lookups.append((time.perf_counter() - t) * 1000)
        http_lookups = []
        for _ in range(300):
            t = time.perf_counter()
            status, body = api.call("GET", f"/gl-accounts/{cash.pk}/balance")
            http_lookups.append((time.perf_counter() - t) * 1000)
            assert status == 200, body
        print(
            f"[{backend}] account balance with {total:,} postings: selector median "
            f"{statistics.median(lookups):.3f} ms (p99 {sorted(lookups)[296]:.3f} ms); "
            f"over HTTP median {statistics.median(http_lookups):.2f} ms "
            f"(p99 {sorted(http_lookups)[296]:.2f} ms)"
        )
        t = time.perf_counter()
        tb = trial_balance(firm=firm)
        tb_now = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        # mid-year: later entries exist, so the postings up to the day are summed
        tb_asof = trial_balance(firm=firm, as_of=day + dt.timedelta(days=182))
        tb_sum = (time.perf_counter() - t) * 1000
        assert tb.is_balanced
        assert tb_asof.is_balanced
        assert tb.total_debit_cents >= tb_asof.total_debit_cents
        print(
            f"[{backend}] trial balance: from maintained balances {tb_now:.1f} ms; "
            f"as of mid-year (summing the postings up to it, of {total:,}) {tb_sum:.0f} ms; "
            f"totals {tb.total_debit_cents / 100:,.2f} = {tb.total_credit_cents / 100:,.2f}"
        )
    finally:
        common.stop(server)


if __name__ == "__main__":
    main()
