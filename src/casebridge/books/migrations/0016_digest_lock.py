"""ADR 0032: the file digests' PostgreSQL triggers take a lock per firm (in firm order)
before they write, so two transactions writing disjoint documents of one firm never
deadlock on the digest rows; and a TRUNCATE of a checks, receipts or invoices table makes
every digest its recomputation. The triggers are installed again (the digests with them:
the hash is unchanged). SQLite's row triggers are unchanged (installed again all the same).

Backwards leaves the new triggers (they keep the same digests)."""

from django.db import migrations

from casebridge.books.digest_sources import file_digests
from casebridge.core.digest import install, uninstall


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    target = file_digests(schema_editor.connection.vendor)
    uninstall(target, schema_editor)
    install(target, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0015_search"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
