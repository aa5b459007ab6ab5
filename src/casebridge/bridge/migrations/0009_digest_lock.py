"""ADR 0032: a TRUNCATE of one of the case digests' source tables makes every digest its
recomputation. The triggers are installed again (the digests with them: the hash is
unchanged); the per-firm lock this migration first installed was withdrawn, and the
triggers are whatever ``install`` makes. SQLite's row triggers are unchanged.

Backwards leaves the new triggers (they keep the same digests)."""

from django.db import migrations

from casebridge.bridge.digest_sources import CASE_DIGESTS
from casebridge.core.digest import install, uninstall


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    uninstall(CASE_DIGESTS, schema_editor)
    install(CASE_DIGESTS, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("bridge", "0008_case_digests"),
        ("cases", "0009_search"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
