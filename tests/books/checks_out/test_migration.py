"""Migration 0009 adds two NOT NULL columns with a default to ``books_bankaccount``, which
SQLite does by rebuilding the table: every trigger of the ledger and the audit log is still
there after it, and the new columns read as blank on the firm's bank accounts."""

from __future__ import annotations

from django.db import connection

from casebridge.books.models import BankAccount

TRIGGERS = {
    "books_journalentry_immutable",
    "books_posting_immutable",
    "books_posting_period_open",
    "core_auditevent_append_only",
}


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


def test_the_ledger_and_audit_triggers_survive_the_migration(db):
    assert _triggers() >= TRIGGERS
    if connection.vendor == "postgresql":
        assert "books_posting_balanced" in _triggers()


def test_the_bank_account_table_keeps_no_trigger_of_its_own(db):
    assert not {name for name in _triggers() if "bankaccount" in name}


def test_a_bank_account_starts_with_no_routing_or_account_number(firm):
    assert set(
        BankAccount.objects.filter(firm=firm).values_list("routing_number", "account_number")
    ) == {("", "")}
