"""The firm's fiscal year (issue 15, ADR 0053): the month it starts on, 1 (January) for
every firm until an administrator changes it, held to 1-12 by a CHECK.

On SQLite a NOT NULL column with a default and a CHECK rebuild ``books_firm``, whose name
migration 0010's trigger ``books_posting_period_open`` holds in its body: SQLite would
refuse the rebuild's rename ("no such table"), so the trigger is dropped first and made
again after, as it was (its text is copied here: a migration keeps the SQL of its day).
PostgreSQL adds the column and the CHECK in place; its trigger is a function that names
the table at run time, so it stays.
"""

from django.db import migrations, models

SQLITE_PERIOD_TRIGGER = """
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


def drop_period_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS books_posting_period_open;")


def make_period_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_PERIOD_TRIGGER.strip())


class Migration(migrations.Migration):
    dependencies = [("books", "0027_ach_calendar")]

    operations = [
        migrations.RunPython(drop_period_trigger, make_period_trigger),
        migrations.AddField(
            model_name="firm",
            name="fiscal_year_start_month",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddConstraint(
            model_name="firm",
            constraint=models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="books_firm_fiscal_year_start_month_valid",
            ),
        ),
        migrations.RunPython(make_period_trigger, drop_period_trigger),
    ]
