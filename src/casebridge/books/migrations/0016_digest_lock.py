"""ADR 0032: a TRUNCATE of one of the file digests' source tables makes every digest its
recomputation. The triggers are installed again (the digests with them: the hash is
unchanged); the per-firm lock this migration first installed was withdrawn, and the
triggers are whatever ``install`` makes. SQLite's row triggers are unchanged.

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
