"""The application's database role (scripts/db/roles.sql, issue 13): on PostgreSQL the
application connects as a role that owns nothing, so the database refuses it TRUNCATE,
DROP, ALTER and DISABLE TRIGGER on every table, and UPDATE and DELETE on the append-only
ones (journal entries, postings, audit events), with SQLSTATE 42501
(insufficient_privilege); what the application does (posting a journal entry through the
service, signing in, voiding a check) still works as that role, and a table a later
migration creates gets the ordinary grants by itself.

The script runs through psql, as an operator runs it, against the test database; the role
it creates has a name of its own per run (roles belong to the whole server) and is dropped
afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import errors

from casebridge.books.models import AccountRole, GLAccount, JournalEntry, Posting
from casebridge.books.services import checks, journal
from casebridge.books.services.journal import Line
from casebridge.core.models import AuditEvent
from tests.conftest import account

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "db" / "roles.sql"
APPEND_ONLY = ("books_journalentry", "books_posting", "core_auditevent")

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def _psql() -> str:
    found = shutil.which("psql")
    if found is None:
        if os.environ.get("CASEBRIDGE_REQUIRE_POSTGRES") == "1":
            pytest.fail("psql is required to run scripts/db/roles.sql (postgresql-client)")
        pytest.skip("no psql (postgresql-client) to run scripts/db/roles.sql")
    return found


def _conninfo(user: str | None = None) -> dict[str, str]:
    s = connection.settings_dict
    info = {"host": s["HOST"] or "localhost", "port": str(s["PORT"] or 5432), "dbname": s["NAME"]}
    info["user"] = user or s["USER"]
    if user is None and s["PASSWORD"]:
        info["password"] = s["PASSWORD"]
    return info


def run_script(*, owner: str, app: str) -> subprocess.CompletedProcess[str]:
    info = _conninfo()
    env = {**os.environ, "PGPASSWORD": info.get("password", "")}
    return subprocess.run(  # noqa: S603 - psql with fixed arguments on the test database
        [
            _psql(),
            "--no-psqlrc",
            "-X",
            "-q",
            "-h",
            info["host"],
            "-p",
            info["port"],
            "-U",
            info["user"],
            "-d",
            info["dbname"],
            "-v",
            f"owner={owner}",
            "-v",
            f"app={app}",
            "-f",
            str(SCRIPT),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def app_role() -> Iterator[str]:
    """The application role, made by the script in the test database (the tables' owner
    there is the test run's own user, as the owner role is in production)."""
    name = f"cb_test_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    done = run_script(owner=owner, app=name)
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr, done.stderr
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def as_app(app_role) -> Iterator[psycopg.Connection]:
    """A connection of the application's own, as that role (trust or PGPASSWORD auth)."""
    with psycopg.connect(**_conninfo(app_role), autocommit=True) as conn:
        yield conn


def refused(conn: psycopg.Connection, sql: str) -> str:
    """Runs ``sql`` and returns the refusal's message; fails unless it is 42501."""
    with pytest.raises(errors.InsufficientPrivilege) as refusal:
        conn.execute(sql)
    assert refusal.value.sqlstate == "42501"
    return str(refusal.value).splitlines()[0]


def counts() -> tuple[int, int, int]:
    return (JournalEntry.objects.count(), Posting.objects.count(), AuditEvent.objects.count())


def receipt(firm, actor, trust, client_file):
    return checks.trust_receipt_record(
        firm=firm,
        actor=actor,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=100_000,
        received_on=client_file.opened_on,
        reference="5501",
    )


@pytest.fixture
def posted(firm, admin, trust, client_file):
    """A trust receipt: a journal entry, its postings and audit events."""
    return receipt(firm, admin, trust, client_file)


def test_the_app_role_owns_nothing_and_may_not_truncate_drop_or_alter(posted, as_app):
    before = counts()
    assert refused(as_app, "TRUNCATE core_auditevent") == (
        "permission denied for table core_auditevent"
    )
    assert refused(as_app, "TRUNCATE books_posting, books_journalentry CASCADE") == (
        "permission denied for table books_posting"
    )
    for table in (*APPEND_ONLY, "books_firm", "django_session"):
        assert refused(as_app, f"ALTER TABLE {table} DISABLE TRIGGER ALL") == (
            f"must be owner of table {table}"
        )
        assert refused(as_app, f"ALTER TABLE {table} ADD COLUMN x integer") == (
            f"must be owner of table {table}"
        )
        assert refused(as_app, f"DROP TABLE {table}") == f"must be owner of table {table}"
        assert refused(as_app, f"TRUNCATE {table}") == f"permission denied for table {table}"
    assert refused(as_app, "CREATE TABLE sneaky (i integer)") == (
        "permission denied for schema public"
    )
    owned = as_app.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = current_user"
    ).fetchone()
    assert owned == (0,)
    assert counts() == before


def test_the_append_only_tables_refuse_the_app_update_and_delete(posted, as_app):
    before = counts()
    for table in APPEND_ONLY:
        delete, update = f"DELETE FROM {table}", f"UPDATE {table} SET id = id"  # noqa: S608
        assert refused(as_app, delete) == f"permission denied for table {table}"
        assert refused(as_app, update) == f"permission denied for table {table}"
    assert refused(as_app, "DELETE FROM django_migrations") == (
        "permission denied for table django_migrations"
    )
    assert counts() == before
    # ordinary tables: the app reads and deletes as it does (sessions, cache, idempotency)
    assert as_app.execute("DELETE FROM django_session WHERE false").rowcount == 0
    assert as_app.execute("SELECT count(*) FROM books_journalentry").fetchone() == (before[0],)


def test_what_the_application_does_still_works_as_the_app_role(
    firm, admin, trust, client_file, app_role
):
    """The services, on Django's own connection switched to the app role: a trust receipt,
    a trust check from it, a manual journal entry, the check voided and the receipt voided
    (reversals; each void locks its document's row), each with its audit events."""
    before = counts()
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{app_role}"')
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (app_role,)
    try:
        deposit = receipt(firm, admin, trust, client_file)
        day = deposit.entry.date
        check = checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee="Maria Lopez",
            amount_cents=12_345,
            file_id=client_file.pk,
            request_date=day,
        )
        journal.journal_entry_post(
            firm=firm,
            actor=admin,
            date=day,
            memo="office supplies",
            lines=[
                Line(account=GLAccount.objects.get(firm=firm, number="5200"), debit_cents=5_000),
                Line(account=account(firm, AccountRole.OPERATING_BANK), credit_cents=5_000),
            ],
        )
        checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=day, reason="typo")
        checks.trust_receipt_void(
            firm=firm, actor=admin, receipt_id=deposit.pk, void_date=day, reason="bounced"
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    entries, postings, events = counts()
    assert (entries - before[0], postings - before[1]) == (5, 10)
    assert events - before[2] >= 5


def test_a_table_a_later_migration_creates_gets_the_ordinary_grants(app_role, as_app):
    """Default privileges: made by the owner after the script ran, usable by the app,
    still not truncatable by it."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE core_later (id bigserial PRIMARY KEY, note text)")
    as_app.execute("INSERT INTO core_later (note) VALUES ('written by the app')")
    assert as_app.execute("SELECT note FROM core_later").fetchall() == [("written by the app",)]
    assert refused(as_app, "TRUNCATE core_later") == "permission denied for table core_later"
    assert refused(as_app, "DROP TABLE core_later") == "must be owner of table core_later"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE core_later")


def test_the_script_refuses_one_role_for_both(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    done = run_script(owner=owner, app=owner)
    assert done.returncode == 3
    assert f"the owner and the application must be two roles (both are {owner})" in done.stderr
