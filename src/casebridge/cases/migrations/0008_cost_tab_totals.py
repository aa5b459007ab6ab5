"""Costs Management at 1,000,000 costs (issue 12): the tabs' counts and totals are kept in
``cases_costtabtotal`` (one row per firm and cost status) by triggers on ``cases_cost``, so
a page reads one row instead of summing its whole tab. The triggers see every write: a
service's ``save()``, the bridge's bulk ``UPDATE`` of a Send or a paid sync, ``bulk_create``,
a raw ``UPDATE ... RETURNING``, a ``DELETE``; PostgreSQL also a ``TRUNCATE`` (it empties
the totals) and ``COPY``.

PostgreSQL keeps the totals once per statement, set-based, from its transition tables (a
bulk UPDATE of 10,000 costs moves each touched total once, in (firm, status) order);
SQLite once per row. The existing costs are summed into the table in the same migration.

The filters' indexes end with the amount, so a filtered tab's count and total are read from
the index alone (bench/README.md shows the plans).

On SQLite a later migration that rebuilds ``cases_cost`` (Django does for most column
changes there) drops these triggers with the old table: it must create them again after
(``SQLITE`` below). tests/cases/test_cost_tab_totals.py fails if they are missing.
"""

import django.db.models.deletion
from django.db import migrations, models

# A transition table exists only for the events that define it: one function per event,
# each adding its rows' (count, sum) to their (firm, status) totals in one statement.
PG = """
CREATE OR REPLACE FUNCTION cases_cost_tab_insert() RETURNS trigger AS $$
BEGIN
  INSERT INTO cases_costtabtotal AS t (firm_id, status, count, total_cents)
  SELECT d.firm_id, d.status, sum(d.n), sum(d.cents) FROM (
    SELECT firm_id, status, 1 AS n, amount_cents AS cents FROM new_costs
  ) d
  GROUP BY d.firm_id, d.status
  HAVING sum(d.n) <> 0 OR sum(d.cents) <> 0
  ORDER BY d.firm_id, d.status
  ON CONFLICT (firm_id, status) DO UPDATE
    SET count = t.count + EXCLUDED.count, total_cents = t.total_cents + EXCLUDED.total_cents;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_cost_tab_update() RETURNS trigger AS $$
BEGIN
  INSERT INTO cases_costtabtotal AS t (firm_id, status, count, total_cents)
  SELECT d.firm_id, d.status, sum(d.n), sum(d.cents) FROM (
    SELECT firm_id, status, 1 AS n, amount_cents AS cents FROM new_costs
    UNION ALL
    SELECT firm_id, status, -1 AS n, -amount_cents AS cents FROM old_costs
  ) d
  GROUP BY d.firm_id, d.status
  HAVING sum(d.n) <> 0 OR sum(d.cents) <> 0
  ORDER BY d.firm_id, d.status
  ON CONFLICT (firm_id, status) DO UPDATE
    SET count = t.count + EXCLUDED.count, total_cents = t.total_cents + EXCLUDED.total_cents;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_cost_tab_delete() RETURNS trigger AS $$
BEGIN
  INSERT INTO cases_costtabtotal AS t (firm_id, status, count, total_cents)
  SELECT d.firm_id, d.status, sum(d.n), sum(d.cents) FROM (
    SELECT firm_id, status, -1 AS n, -amount_cents AS cents FROM old_costs
  ) d
  GROUP BY d.firm_id, d.status
  HAVING sum(d.n) <> 0 OR sum(d.cents) <> 0
  ORDER BY d.firm_id, d.status
  ON CONFLICT (firm_id, status) DO UPDATE
    SET count = t.count + EXCLUDED.count, total_cents = t.total_cents + EXCLUDED.total_cents;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_cost_tab_truncate() RETURNS trigger AS $$
BEGIN
  DELETE FROM cases_costtabtotal;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER cases_cost_tab_insert AFTER INSERT ON cases_cost
  REFERENCING NEW TABLE AS new_costs
  FOR EACH STATEMENT EXECUTE FUNCTION cases_cost_tab_insert();
CREATE TRIGGER cases_cost_tab_update AFTER UPDATE ON cases_cost
  REFERENCING OLD TABLE AS old_costs NEW TABLE AS new_costs
  FOR EACH STATEMENT EXECUTE FUNCTION cases_cost_tab_update();
CREATE TRIGGER cases_cost_tab_delete AFTER DELETE ON cases_cost
  REFERENCING OLD TABLE AS old_costs
  FOR EACH STATEMENT EXECUTE FUNCTION cases_cost_tab_delete();
CREATE TRIGGER cases_cost_tab_truncate AFTER TRUNCATE ON cases_cost
  FOR EACH STATEMENT EXECUTE FUNCTION cases_cost_tab_truncate();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS cases_cost_tab_truncate ON cases_cost;
DROP TRIGGER IF EXISTS cases_cost_tab_delete ON cases_cost;
DROP TRIGGER IF EXISTS cases_cost_tab_update ON cases_cost;
DROP TRIGGER IF EXISTS cases_cost_tab_insert ON cases_cost;
DROP FUNCTION IF EXISTS cases_cost_tab_truncate();
DROP FUNCTION IF EXISTS cases_cost_tab_delete();
DROP FUNCTION IF EXISTS cases_cost_tab_update();
DROP FUNCTION IF EXISTS cases_cost_tab_insert();
"""

ADD_NEW = """
  INSERT INTO cases_costtabtotal (firm_id, status, count, total_cents)
  VALUES (NEW.firm_id, NEW.status, 1, NEW.amount_cents)
  ON CONFLICT (firm_id, status) DO UPDATE
    SET count = count + 1, total_cents = total_cents + excluded.total_cents;
"""
TAKE_OLD = """
  UPDATE cases_costtabtotal SET count = count - 1, total_cents = total_cents - OLD.amount_cents
  WHERE firm_id = OLD.firm_id AND status = OLD.status;
"""
#: One statement each (SQLite runs one per call).
SQLITE = [
    f"CREATE TRIGGER cases_cost_tab_insert AFTER INSERT ON cases_cost BEGIN {ADD_NEW} END;",
    "CREATE TRIGGER cases_cost_tab_update AFTER UPDATE OF firm_id, status, amount_cents "
    "ON cases_cost WHEN OLD.firm_id <> NEW.firm_id OR OLD.status <> NEW.status "
    f"OR OLD.amount_cents <> NEW.amount_cents BEGIN {TAKE_OLD} {ADD_NEW} END;",
    f"CREATE TRIGGER cases_cost_tab_delete AFTER DELETE ON cases_cost BEGIN {TAKE_OLD} END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS cases_cost_tab_delete;",
    "DROP TRIGGER IF EXISTS cases_cost_tab_update;",
    "DROP TRIGGER IF EXISTS cases_cost_tab_insert;",
]
BACKFILL = """
INSERT INTO cases_costtabtotal (firm_id, status, count, total_cents)
SELECT firm_id, status, count(*), sum(amount_cents) FROM cases_cost GROUP BY firm_id, status
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The triggers first, then the sum of the rows already there: on PostgreSQL creating
    # a trigger locks out writes to cases_cost until this migration commits.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
            cursor.execute(PG)
    else:
        for statement in SQLITE:
            schema_editor.execute(statement)
    schema_editor.execute(BACKFILL.strip())


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_DOWN)
    else:
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)
    schema_editor.execute("DELETE FROM cases_costtabtotal")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_api_token_rate_limit"),
    ]

    operations = [
        migrations.CreateModel(
            name="CostTabTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("pending", "Pending"),
                            ("paid", "Paid"),
                            ("void", "Void"),
                        ],
                        max_length=10,
                    ),
                ),
                ("count", models.BigIntegerField(default=0)),
                ("total_cents", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RemoveIndex(
            model_name="cost",
            name="cases_cost_tab_date",
        ),
        migrations.RemoveIndex(
            model_name="cost",
            name="cases_cost_case",
        ),
        migrations.RemoveIndex(
            model_name="cost",
            name="cases_cost_payee",
        ),
        migrations.AddIndex(
            model_name="cost",
            index=models.Index(
                fields=["firm", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_tab_date_amount",
            ),
        ),
        migrations.AddIndex(
            model_name="cost",
            index=models.Index(
                fields=["case", "status", "cost_date", "amount_cents"],
                name="cases_cost_case_date_amount",
            ),
        ),
        migrations.AddIndex(
            model_name="cost",
            index=models.Index(
                fields=["payee", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_payee_date_amount",
            ),
        ),
        migrations.AddField(
            model_name="costtabtotal",
            name="firm",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="cases.firm"
            ),
        ),
        migrations.AddConstraint(
            model_name="costtabtotal",
            constraint=models.UniqueConstraint(
                fields=("firm", "status"), name="cases_costtabtotal_tab"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
