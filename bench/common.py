"""What every benchmark needs, so each starts on a fresh environment and two can run side
by side (see bench/README.md, "Running a bench").

- :func:`add_common_arguments`: ``--db-prefix`` (the PostgreSQL database is
  ``<prefix>_<bench>``) and, for a bench that serves the books, ``--port``;
- :func:`bench_env`: the environment a bench's processes run with: its own var dir,
  ``CASEBRIDGE_ENV=development`` (plain HTTP on loopback) with DEBUG off, a throwaway secret
  key and a throwaway Fernet key for the bridge; :func:`child_env` and
  :func:`setup_django` drop the caller's ``CASEBRIDGE_*``, ``DATABASE_URL`` and ``HUEY_*`` first;
- :func:`database_create` / :func:`database_drop`: a fresh database per run;
- :func:`start_gunicorn`: the books on a loopback port, waited for until it answers;
- :class:`RowsWritten` and :func:`raw_insert_baseline`: speed is a ratio. Every row a timed
  path wrote (any table with an integer key) is inserted again, with plain SQL in one
  transaction, into empty copies of its tables (same columns and indexes), in the same run:
  the path's time beside the database's own time for the same rows says how much of it is
  ours, whatever the machine's load that day.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PREFIX = "casebridge_bench"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,40}")


# --- Arguments --------------------------------------------------------------------------------


def db_prefix(value: str) -> str:
    """argparse type: a prefix that makes a safe PostgreSQL database name."""
    if not _IDENTIFIER.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r}: use lower-case letters, digits and underscores (at most 41), "
            "starting with a letter or an underscore"
        )
    return value


def port_number(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value}: a port is 0 to 65535 (0: any free port)")
    return port


def add_common_arguments(ap: argparse.ArgumentParser, *, server: bool) -> None:
    ap.add_argument(
        "--db-prefix",
        type=db_prefix,
        default=DEFAULT_DB_PREFIX,
        help=f"PostgreSQL database name prefix (default {DEFAULT_DB_PREFIX}): "
        "a bench beside another needs its own",
    )
    if server:
        ap.add_argument(
            "--port",
            type=port_number,
            default=0,
            help="loopback port the books are served on (default 0: any free port)",
        )


def common_argv(args: argparse.Namespace) -> list[str]:
    """The common flags again, for the per-backend child process."""
    argv = ["--db-prefix", args.db_prefix]
    if getattr(args, "port", None):
        argv += ["--port", str(args.port)]
    return argv


# --- Environment and database -----------------------------------------------------------------

#: The caller's variables a bench never inherits: the project's own settings.
_PROJECT_VARIABLES = ("CASEBRIDGE_", "DATABASE_URL", "HUEY_")


def child_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for a bench's process: the caller's, less the project's settings,
    then the bench's own."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(_PROJECT_VARIABLES)}
    return {**inherited, **env}


def bench_env(var_dir: str, **extra: str) -> dict[str, str]:
    """Everything the bench's processes need, generated for this run."""
    from cryptography.fernet import Fernet

    env = {
        "CASEBRIDGE_VAR_DIR": var_dir,
        # development, said explicitly (production is the default and would redirect the
        # bench's plain-HTTP requests to HTTPS), with DEBUG off as deployed
        "CASEBRIDGE_ENV": "development",
        "CASEBRIDGE_DEBUG": "0",
        "CASEBRIDGE_FAST_HASHER": "1",
        "CASEBRIDGE_SECRET_KEY": f"bench-only-{os.urandom(24).hex()}",
        "CASEBRIDGE_BRIDGE_KEYS": Fernet.generate_key().decode(),
        "CASEBRIDGE_DATA_KEYS": Fernet.generate_key().decode(),
        "CASEBRIDGE_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        # the books on a loopback port of this machine (issue 13: refused unless allowed)
        "CASEBRIDGE_ALLOW_LOOPBACK_BOOKS": "1",
        "CASEBRIDGE_CONN_MAX_AGE": "60",
        "CASEBRIDGE_LOG_LEVEL": os.environ.get("CASEBRIDGE_LOG_LEVEL", "WARNING"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }
    env.update(extra)
    return env


def postgres_base() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def database_create(backend: str, var_dir: str, name: str) -> str:
    """A fresh, empty database for this run; returns its DATABASE_URL. SQLite: a file in
    the run's own var dir. PostgreSQL: ``name``, dropped first if a previous run left it."""
    if backend == "sqlite":
        return f"sqlite:///{var_dir}/{name}.sqlite3"
    import psycopg

    with psycopg.connect(f"{postgres_base()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_base()}/{name}"


def database_drop(backend: str, name: str) -> None:
    if backend != "postgres":
        return  # the file goes with the var dir
    import psycopg

    with psycopg.connect(f"{postgres_base()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def manage(env: dict[str, str], *command: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *command, "-v0"],
        check=True,
        env=child_env(env),
    )


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, with the bench's settings only (its children inherit them)."""
    for name in [k for k in os.environ if k.startswith(_PROJECT_VARIABLES)]:
        del os.environ[name]
    os.environ.update(env)
    for path in (str(ROOT / "src"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


def close_connections() -> None:
    """This process's database connections, if Django was set up (before a DROP DATABASE)."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()


# --- The books on a port ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(
    env: dict[str, str], port: int, *, workers: int = 2, extra: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn serving the project on ``127.0.0.1:port`` (0: a free port), returned once it
    answers HTTP. Refuses a port another process already listens on."""
    port = port or free_port()
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use: give another --port (or 0 for any)")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--timeout",
            "600",
            *(extra or []),
        ],
        cwd=ROOT,
        env=child_env(env),
    )
    deadline = time.monotonic() + 300  # a bound for a broken start-up, not a wait
    while True:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before answering")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/books/api/v1/openapi.json", timeout=60)
            break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise SystemExit(f"gunicorn did not answer on port {port}") from None
            time.sleep(0.1)
    return server, port


def stop(server: subprocess.Popen[bytes] | None) -> None:
    if server is None:
        return
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- Speed is a ratio: the same rows inserted with raw SQL ------------------------------------


def _tables() -> dict[str, str]:
    """Every table with an integer primary key: table -> its key column."""
    from django.apps import apps
    from django.db import models

    out = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.managed and not meta.proxy and isinstance(meta.pk, models.AutoField):
            out[meta.db_table] = meta.pk.column
    return out


def _high_water_marks() -> dict[str, int]:
    from django.db import connection

    marks = {}
    with connection.cursor() as cursor:
        for table, key in _tables().items():
            cursor.execute(f'SELECT MAX("{key}") FROM "{table}"')  # noqa: S608 - model tables
            marks[table] = int(cursor.fetchone()[0] or 0)
    return marks


@dataclass
class Baseline:
    rows: int
    seconds: float
    per_table: dict[str, int] = field(default_factory=dict)

    def describe(self, path_seconds: float) -> str:
        tables = ", ".join(
            f"{t} {n:,}" for t, n in sorted(self.per_table.items(), key=lambda kv: -kv[1])
        )
        ratio = f"{path_seconds / self.seconds:,.1f}x" if self.seconds else "-"
        rate = f"{self.rows / self.seconds:,.0f} rows/s" if self.seconds else "-"
        return (
            f"raw SQL insert of the same {self.rows:,} rows in one transaction: "
            f"{self.seconds:.2f} s, {rate} ({tables}); the path took {path_seconds:.2f} s, "
            f"{ratio} the raw insert"
        )


class RowsWritten:
    """``written = RowsWritten()`` before the timed path, ``written.baseline()`` after it:
    the raw insert of every row the path added."""

    def __init__(self) -> None:
        self.before = _high_water_marks()

    def baseline(self) -> Baseline:
        return raw_insert_baseline(self.before)


def _copy_table(cursor: Any, vendor: str, table: str, copy: str) -> None:
    """An empty table ``copy`` with ``table``'s columns, constraints and indexes."""
    if vendor == "postgresql":
        cursor.execute(
            f'CREATE TABLE "{copy}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
            "INCLUDING INDEXES)"
        )
        return
    cursor.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
        "AND type IN ('table', 'index') ORDER BY type = 'index'",
        [table],
    )
    for kind, name, sql in cursor.fetchall():
        if kind == "table":
            sql = sql.replace(f'"{table}"', f'"{copy}"', 1)
        else:
            sql = sql.replace(f'"{name}"', f'"bench_raw_{name}"', 1).replace(
                f'ON "{table}"', f'ON "{copy}"', 1
            )
        cursor.execute(sql)


def raw_insert_baseline(before: dict[str, int]) -> Baseline:
    """Insert every row added since ``before`` (table -> highest key then) again, with
    ``executemany`` of plain INSERTs in one transaction, into empty copies of the tables;
    time that transaction; drop the copies."""
    from django.db import connection, transaction

    vendor = connection.vendor
    keys = _tables()
    data: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with connection.cursor() as cursor:
        for table, key in keys.items():
            cursor.execute(
                f'SELECT * FROM "{table}" WHERE "{key}" > %s ORDER BY "{key}"',  # noqa: S608
                [before.get(table, 0)],
            )
            rows = cursor.fetchall()
            if rows:
                columns = [c[0] for c in cursor.description]
                data[table] = (columns, [tuple(_param(v, vendor) for v in r) for r in rows])
    copies = {table: f"bench_raw_{table}" for table in data}
    with connection.cursor() as cursor:
        for table, copy in copies.items():
            cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
            _copy_table(cursor, vendor, table, copy)
    try:
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for table, (columns, rows) in data.items():
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f'INSERT INTO "{copies[table]}" ({names}) VALUES ({marks})',  # noqa: S608
                    rows,
                )
        seconds = time.perf_counter() - t
    finally:
        with connection.cursor() as cursor:
            for copy in copies.values():
                cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
    return Baseline(
        rows=sum(len(rows) for _, rows in data.values()),
        seconds=seconds,
        per_table={table: len(rows) for table, (_, rows) in data.items()},
    )


def _param(value: Any, vendor: str) -> Any:
    """A value read back, as a parameter for the same column (JSON comes back decoded)."""
    if isinstance(value, dict | list):
        if vendor == "postgresql":
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        return json.dumps(value)
    return value
