"""Costs Management at 1,000,000 costs, the two pages still over 100 ms (issue 12):

- **An attorney's costs** were read through the attorney's cases, a probe of each case's
  (case, status, ...) index: 5,000 cases at 100,000. ``cases_cost.attorney_id`` now holds
  the case's responsible attorney, kept by triggers whoever writes (set from the case on
  every insert and every change of a cost's case or attorney column, so a stale value
  written back is put right; moved with the case's attorney), and
  ``cases_cost_attorney_date`` (firm, attorney, status, -cost_date, -id, amount_cents)
  makes their tab an index range, counted and summed from the index alone.
- **Sorted by payee** walked every contact by name, clients included (100,000 probes for
  2,000 payees). ``cases_contact.is_payee`` is set by a trigger when a cost first names the
  contact as its payee and never cleared (a stale ``save()`` writing NULL back is put
  right), and the walk reads ``cases_contact_payees`` (firm, is_payee, name, id).

Both columns are nullable without a default, and the attorney has no foreign-key
constraint (the case's has; the triggers copy it), so that SQLite adds and drops them with
``ALTER TABLE ADD/DROP COLUMN``: a rebuilt table would lose its other triggers (the tab
totals, the search, the bridge's digests). The backfill goes in before the triggers, the
indexes after both.

On PostgreSQL a cost's trigger reads its case ``FOR SHARE`` (a change of the case's
attorney and a cost written meanwhile are serialised: neither keeps the old attorney), and
a change of the case's attorney locks the case's costs in id order, the Send's order.
A brand-new payee's mark locks its contact row in the transaction that writes its first
cost: two transactions each writing the first costs of the same two new payees in
opposite orders can deadlock once (PostgreSQL aborts one, whose request fails and can be
repeated).
"""

from django.db import migrations, models
from django.db.models import deletion

PG = """
CREATE OR REPLACE FUNCTION cases_cost_attorney() RETURNS trigger AS $$
BEGIN
  -- FOR SHARE: a change of the case's attorney in flight is waited for (and read after it
  -- commits), and a change starting now waits for this cost, which its UPDATE then sees.
  NEW.attorney_id := (
    SELECT responsible_attorney_id FROM cases_case WHERE id = NEW.case_id FOR SHARE
  );
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER cases_cost_attorney_insert BEFORE INSERT ON cases_cost
  FOR EACH ROW EXECUTE FUNCTION cases_cost_attorney();
CREATE TRIGGER cases_cost_attorney_update BEFORE UPDATE OF case_id, attorney_id ON cases_cost
  FOR EACH ROW
  WHEN (OLD.case_id IS DISTINCT FROM NEW.case_id
        OR OLD.attorney_id IS DISTINCT FROM NEW.attorney_id)
  EXECUTE FUNCTION cases_cost_attorney();

CREATE OR REPLACE FUNCTION cases_case_attorney() RETURNS trigger AS $$
BEGIN
  -- the case's costs locked in id order first, the order the Send and the syncs lock in
  PERFORM 1 FROM cases_cost WHERE case_id = NEW.id ORDER BY id FOR UPDATE;
  UPDATE cases_cost SET attorney_id = NEW.responsible_attorney_id
   WHERE case_id = NEW.id AND attorney_id IS DISTINCT FROM NEW.responsible_attorney_id;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER cases_case_attorney AFTER UPDATE OF responsible_attorney_id ON cases_case
  FOR EACH ROW WHEN (OLD.responsible_attorney_id IS DISTINCT FROM NEW.responsible_attorney_id)
  EXECUTE FUNCTION cases_case_attorney();

CREATE OR REPLACE FUNCTION cases_cost_payee() RETURNS trigger AS $$
BEGIN
  UPDATE cases_contact SET is_payee = TRUE WHERE id = NEW.payee_id AND is_payee IS NOT TRUE;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER cases_cost_payee AFTER INSERT OR UPDATE OF payee_id ON cases_cost
  FOR EACH ROW EXECUTE FUNCTION cases_cost_payee();

CREATE OR REPLACE FUNCTION cases_contact_payee_kept() RETURNS trigger AS $$
BEGIN
  NEW.is_payee := TRUE;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER cases_contact_payee_kept BEFORE UPDATE OF is_payee ON cases_contact
  FOR EACH ROW WHEN (OLD.is_payee AND NEW.is_payee IS NOT TRUE)
  EXECUTE FUNCTION cases_contact_payee_kept();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS cases_contact_payee_kept ON cases_contact;
DROP TRIGGER IF EXISTS cases_cost_payee ON cases_cost;
DROP TRIGGER IF EXISTS cases_case_attorney ON cases_case;
DROP TRIGGER IF EXISTS cases_cost_attorney_update ON cases_cost;
DROP TRIGGER IF EXISTS cases_cost_attorney_insert ON cases_cost;
DROP FUNCTION IF EXISTS cases_contact_payee_kept();
DROP FUNCTION IF EXISTS cases_cost_payee();
DROP FUNCTION IF EXISTS cases_case_attorney();
DROP FUNCTION IF EXISTS cases_cost_attorney();
"""

CASE_ATTORNEY = "(SELECT responsible_attorney_id FROM cases_case WHERE id = NEW.case_id)"
SET_ATTORNEY = (  # constants of the code (no input reaches them)
    f"UPDATE cases_cost SET attorney_id = {CASE_ATTORNEY} "  # noqa: S608
    f"WHERE id = NEW.id AND attorney_id IS NOT {CASE_ATTORNEY};"
)
MARK_PAYEE = "UPDATE cases_contact SET is_payee = 1 WHERE id = NEW.payee_id AND is_payee IS NOT 1;"
#: One statement each (SQLite runs one per call). SQLite cannot change NEW: the row is
#: written again after its insert (a no-op when the application gave the right attorney).
SQLITE = [
    "CREATE TRIGGER cases_cost_attorney_insert AFTER INSERT ON cases_cost "
    f"BEGIN {SET_ATTORNEY} END;",
    "CREATE TRIGGER cases_cost_attorney_update AFTER UPDATE OF case_id, attorney_id ON cases_cost "
    f"BEGIN {SET_ATTORNEY} END;",
    "CREATE TRIGGER cases_case_attorney AFTER UPDATE OF responsible_attorney_id ON cases_case "
    "WHEN OLD.responsible_attorney_id IS NOT NEW.responsible_attorney_id BEGIN "
    "UPDATE cases_cost SET attorney_id = NEW.responsible_attorney_id WHERE case_id = NEW.id; END;",
    f"CREATE TRIGGER cases_cost_payee_insert AFTER INSERT ON cases_cost BEGIN {MARK_PAYEE} END;",
    "CREATE TRIGGER cases_cost_payee_update AFTER UPDATE OF payee_id ON cases_cost "
    f"BEGIN {MARK_PAYEE} END;",
    "CREATE TRIGGER cases_contact_payee_kept AFTER UPDATE OF is_payee ON cases_contact "
    "WHEN OLD.is_payee = 1 AND NEW.is_payee IS NOT 1 BEGIN "
    "UPDATE cases_contact SET is_payee = 1 WHERE id = NEW.id; END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS cases_contact_payee_kept;",
    "DROP TRIGGER IF EXISTS cases_cost_payee_update;",
    "DROP TRIGGER IF EXISTS cases_cost_payee_insert;",
    "DROP TRIGGER IF EXISTS cases_case_attorney;",
    "DROP TRIGGER IF EXISTS cases_cost_attorney_update;",
    "DROP TRIGGER IF EXISTS cases_cost_attorney_insert;",
]
BACKFILL = {
    "postgresql": [
        "UPDATE cases_cost c SET attorney_id = k.responsible_attorney_id FROM cases_case k "
        "WHERE k.id = c.case_id AND c.attorney_id IS DISTINCT FROM k.responsible_attorney_id",
        "UPDATE cases_contact SET is_payee = TRUE "
        "WHERE id IN (SELECT payee_id FROM cases_cost) AND is_payee IS NOT TRUE",
    ],
    "sqlite": [
        "UPDATE cases_cost SET attorney_id = (SELECT responsible_attorney_id FROM cases_case "
        "WHERE cases_case.id = cases_cost.case_id)",
        "UPDATE cases_contact SET is_payee = 1 WHERE id IN (SELECT payee_id FROM cases_cost)",
    ],
}


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The backfill first (AddField holds the table's exclusive lock until the migration
    # commits on PostgreSQL, and SQLite has one writer: nothing writes in between), so
    # that its rows do not each run the triggers.
    vendor = schema_editor.connection.vendor
    for statement in BACKFILL[vendor]:
        schema_editor.execute(statement)
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
            cursor.execute(PG)
    else:
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_DOWN)
    else:
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_deadlines"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="is_payee",
            field=models.BooleanField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="cost",
            name="attorney",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=deletion.PROTECT,
                related_name="+",
                to="cases.user",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                fields=["firm", "is_payee", "name", "id"], name="cases_contact_payees"
            ),
        ),
        migrations.AddIndex(
            model_name="cost",
            index=models.Index(
                fields=["firm", "attorney", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_attorney_date",
            ),
        ),
    ]
