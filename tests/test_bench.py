"""The benchmarks start on a fresh environment and run side by side (bench/README.md). No
bench is run here and nothing is timed: only what each needs to start."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

import pytest
from bench import common

BENCHES = [
    "ledger",
    "costs_management",
    "bridge_costs",
    "bridge_settlement",
    "search",
    "deadlines",
    "pi_depth",
]


@pytest.mark.parametrize("name", BENCHES)
def test_every_bench_takes_its_own_port_and_database_prefix(name):
    parser = importlib.import_module(f"bench.{name}").build_parser()
    args = parser.parse_args(["--port", "8123", "--db-prefix", "alice_2"])
    assert (args.port, args.db_prefix) == (8123, "alice_2")
    defaults = parser.parse_args([])
    assert (defaults.port, defaults.db_prefix) == (0, "casebridge_bench")  # 0: any free port


@pytest.mark.parametrize("prefix", ["", "Alice", "bench-2", "x; DROP DATABASE postgres", "9x"])
def test_a_database_prefix_is_a_plain_identifier(prefix):
    with pytest.raises(argparse.ArgumentTypeError):
        common.db_prefix(prefix)


def test_a_bench_environment_starts_with_debug_off_and_nothing_inherited(tmp_path):
    """What `make bench-ledger` lacked on a fresh machine: the bench makes a throwaway key
    (and all else), and says CASEBRIDGE_ENV=development itself (production, the default,
    would redirect its plain-HTTP requests to HTTPS), with DEBUG off as deployed."""
    env = {"PATH": os.environ["PATH"], **common.bench_env(str(tmp_path))}
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "from casebridge.bridge.crypto import encrypt_token, decrypt_token; "
        "print(settings.CASEBRIDGE_ENV, settings.DEBUG, settings.VAR_DIR, "
        "decrypt_token(encrypt_token('t')))"
    )
    proc = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], env=env, cwd=common.ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["development", "False", str(tmp_path), "t"]
    assert common.bench_env("a")["CASEBRIDGE_BRIDGE_KEYS"] != env["CASEBRIDGE_BRIDGE_KEYS"]


def test_the_pi_depth_bench_loads_and_reads_a_small_firm_on_sqlite(tmp_path):
    """bench/pi_depth.py end to end at a toy size (SQLite, one run each): the load, then
    every read and page it measures answers; the figures are printed, not checked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEBRIDGE_", "DATABASE_URL"))}
    proc = subprocess.run(  # noqa: S603 - this interpreter, the bench
        [
            sys.executable,
            str(common.ROOT / "bench" / "pi_depth.py"),
            "--backend",
            "sqlite",
            "--cases",
            "40",
            "--bills",
            "400",
            "--big-case-bills",
            "120",
            "--runs",
            "1",
        ],
        env=env,
        cwd=common.ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("[sqlite] 40 cases, 138 treatments, 400 bills, 44 deadlines; loaded")
    measured = [line for line in lines if " median " in line]
    assert len(measured) == 16  # 5 deadlines pages and 3 Treatment tabs, selector and HTML
    assert all("raw SQL of the same rows median" in line for line in measured)
    assert lines[-1].startswith("[sqlite] worst p95: ")


def test_the_exports_bench_takes_its_database_prefix_and_size():
    parser = importlib.import_module("bench.exports").build_parser()
    args = parser.parse_args(["--db-prefix", "alice_2", "--postings", "5000", "--no-xlsx"])
    assert (args.db_prefix, args.postings, args.xlsx) == ("alice_2", 5000, False)
    assert parser.parse_args([]).postings == 1_000_000
