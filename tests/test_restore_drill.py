"""The restore drill of docs/operations.md, on PostgreSQL: a small committed ledger is
dumped with ``pg_dump -Fc``, restored with ``pg_restore`` into a new database, and the
restored books are checked by the same commands an operator runs (``manage.py
ledger_check --trial-balance`` and the trust account's three-way reconciliation), in a
separate process pointed at the restored database: they must print what the original
prints. The restored database keeps the ledger's triggers (a posting still refuses an
UPDATE). The restored database is dropped at the end."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from casebridge.books.models import GLAccount
from casebridge.books.services.journal import Line, journal_entry_post
from tests.books.ledger_helpers import D, books_open, deposit, trust_check

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="pg_dump and pg_restore are PostgreSQL's"
    ),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="needs pg_dump and pg_restore",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent

#: The trust account's three-way reconciliation, printed by a separate process.
THREE_WAY = """
from casebridge.books.models import BankAccount, Firm
from casebridge.books.selectors.reports import three_way_reconciliation
firm = Firm.objects.get(code="smith-pi")
bank = BankAccount.objects.get(firm=firm, kind="trust")
r = three_way_reconciliation(
    firm=firm, bank_account_id=bank.pk, statement_balance_cents=250000,
    deposits_in_transit_cents=0,
)
print("adjusted bank", r.adjusted_bank_balance_cents)
print("trust journal", r.trust_journal_balance_cents)
print("client ledgers", r.client_ledgers_total_cents, r.client_ledgers_recomputed_cents)
print("trust liability", r.trust_liability_balance_cents)
print("outstanding checks", r.outstanding_checks_cents)
print("reconciled", r.is_reconciled, r.differences)
"""


def _pg_env() -> dict[str, str]:
    s = connection.settings_dict
    env = {**os.environ, "PGHOST": s["HOST"] or "127.0.0.1", "PGPORT": str(s["PORT"] or 5432)}
    env["PGUSER"] = s["USER"] or "postgres"
    if s["PASSWORD"]:
        env["PGPASSWORD"] = s["PASSWORD"]
    return env


def _url(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _manage(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": _url(database), "CASEBRIDGE_LOG_FORMAT": "plain"}
    return subprocess.run(  # noqa: S603 - this interpreter, this checkout's manage.py
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _pg(*args: str) -> subprocess.CompletedProcess[str]:
    # the PostgreSQL client tools, with arguments the test wrote
    return subprocess.run(  # noqa: S603
        list(args), env=_pg_env(), capture_output=True, text=True, check=False
    )


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored"
    _pg("dropdb", "--if-exists", name)
    yield name
    dropped = _pg("dropdb", "--if-exists", "--force", name)
    assert dropped.returncode == 0, dropped.stderr


def test_a_dumped_and_restored_ledger_checks_out_the_same(
    firm, admin, trust, client_file, restored_name, tmp_path
):
    books_open(firm, admin)
    bank = GLAccount.objects.get(firm=firm, number="1000")
    journal_entry_post(
        firm=firm,
        date=D,
        memo="Capital",
        lines=[
            Line(account=bank, debit_cents=500_000),
            Line(account=GLAccount.objects.get(firm=firm, number="3000"), credit_cents=500_000),
        ],
    )
    journal_entry_post(
        firm=firm,
        date=D + dt.timedelta(days=1),
        memo="Rent",
        lines=[
            Line(account=GLAccount.objects.get(firm=firm, number="5200"), debit_cents=12_550),
            Line(account=bank, credit_cents=12_550),
        ],
    )
    deposit(firm, admin, trust, client_file, 250_000)
    trust_check(firm, admin, trust, client_file, 40_000, on=D + dt.timedelta(days=2))

    original = connection.settings_dict["NAME"]
    dump = tmp_path / "casebridge.dump"
    dumped = _pg("pg_dump", "-Fc", "--no-owner", "-f", str(dump), original)
    assert dumped.returncode == 0, dumped.stderr
    created = _pg("createdb", restored_name)
    assert created.returncode == 0, created.stderr
    restored = _pg("pg_restore", "--no-owner", "--exit-on-error", "-d", restored_name, str(dump))
    assert restored.returncode == 0, restored.stderr

    before = _manage(original, "ledger_check", "--trial-balance")
    after = _manage(restored_name, "ledger_check", "--trial-balance")
    assert (before.returncode, after.returncode) == (0, 0), (before.stderr, after.stderr)
    assert after.stdout == before.stdout
    assert after.stdout.splitlines()[0] == "smith-pi: OK"
    assert after.stdout.splitlines()[-1] == "  total: Dr $7,100.00 Cr $7,100.00"

    three_way_before = _manage(original, "shell", "--no-imports", "-c", THREE_WAY)
    three_way_after = _manage(restored_name, "shell", "--no-imports", "-c", THREE_WAY)
    assert three_way_after.returncode == 0, three_way_after.stderr
    assert three_way_after.stdout == three_way_before.stdout
    assert three_way_after.stdout.splitlines() == [
        "adjusted bank 210000",
        "trust journal 210000",
        "client ledgers 210000 210000",
        "trust liability 210000",
        "outstanding checks 40000",
        "reconciled True []",
    ]

    # the ledger's triggers came back with it: a posting still refuses to change
    refused = _pg(
        "psql",
        "-d",
        restored_name,
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        "UPDATE books_posting SET memo = 'changed' WHERE id = (SELECT min(id) FROM books_posting)",
    )
    assert refused.returncode != 0
    assert "books_posting" in refused.stderr
