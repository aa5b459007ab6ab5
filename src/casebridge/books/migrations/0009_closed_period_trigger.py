"""Closed periods in the database itself (issue 11, ADR 0015): a posting is refused when
its entry is dated on or before the firm-wide close, or on or before the close of a bank
account whose GL account or client trust liability account it posts to. The services
refuse first (``services/periods.py``) with a message a person can act on; this is the
guard behind them.

PostgreSQL checks each INSERT or COPY statement once, set-based, over its new rows (a
statement-level trigger with a transition table); SQLite checks each row.
"""

from django.db import migrations

PG = """
CREATE OR REPLACE FUNCTION books_posting_period_open() RETURNS trigger AS $$
DECLARE
  bad record;
BEGIN
  -- a bank account's close: only the new postings to a closed account need their date
  SELECT e.id AS entry_id, e.date AS entry_date INTO bad
  FROM (
    SELECT p.entry_id, b.closed_through FROM new_postings p
    JOIN books_bankaccount b ON b.gl_account_id = p.account_id
    WHERE b.closed_through IS NOT NULL
    UNION ALL
    SELECT p.entry_id, b.closed_through FROM new_postings p
    JOIN books_bankaccount b ON b.trust_liability_account_id = p.account_id
    WHERE b.closed_through IS NOT NULL
  ) c
  JOIN books_journalentry e ON e.id = c.entry_id
  WHERE e.date <= c.closed_through
  LIMIT 1;
  -- the firm-wide close: only while some firm has one
  IF NOT FOUND AND EXISTS (SELECT 1 FROM books_firm WHERE closed_through IS NOT NULL) THEN
    SELECT e.id AS entry_id, e.date AS entry_date INTO bad
    FROM (SELECT DISTINCT entry_id FROM new_postings) p
    JOIN books_journalentry e ON e.id = p.entry_id
    JOIN books_firm f ON f.id = e.firm_id
    WHERE e.date <= f.closed_through
    LIMIT 1;
  END IF;
  IF bad.entry_id IS NOT NULL THEN
    RAISE EXCEPTION 'books_posting: journal entry % dated % falls in a closed period',
      bad.entry_id, bad.entry_date USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER books_posting_period_open AFTER INSERT ON books_posting
  REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION books_posting_period_open();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS books_posting_period_open ON books_posting;
DROP FUNCTION IF EXISTS books_posting_period_open();
"""
SQLITE = """
CREATE TRIGGER books_posting_period_open BEFORE INSERT ON books_posting
WHEN EXISTS (
  SELECT 1 FROM books_journalentry e JOIN books_firm f ON f.id = e.firm_id
  WHERE e.id = NEW.entry_id AND e.date <= f.closed_through)
OR EXISTS (
  SELECT 1 FROM books_journalentry e, books_bankaccount b
  WHERE e.id = NEW.entry_id
    AND (b.gl_account_id = NEW.account_id OR b.trust_liability_account_id = NEW.account_id)
    AND e.date <= b.closed_through)
BEGIN SELECT RAISE(ABORT, 'books_posting: the entry falls in a closed period'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS books_posting_period_open;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
            cursor.execute(PG)
    else:
        schema_editor.execute(SQLITE.strip())


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_DOWN)
    else:
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("books", "0008_matching_reconciliation_closed_periods")]
    operations = [migrations.RunPython(forwards, backwards)]
