"""A trust ledger keeps the latest date of the entries posted to it (ADR 0011): the
posting path reads a ledger's dated postings only for a disbursement dated before it.

Nullable, so on SQLite the column is added with a plain ``ALTER TABLE`` (no rebuild; the
table carries no trigger anyway). Existing ledgers get it from their postings.
"""

from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery


def fill_from_postings(apps, schema_editor):
    TrustLedger = apps.get_model("books", "TrustLedger")
    Posting = apps.get_model("books", "Posting")
    latest = (
        Posting.objects.filter(trust_ledger=OuterRef("pk"))
        .order_by()
        .values("trust_ledger")
        .annotate(latest=Max("entry__date"))
        .values("latest")
    )
    TrustLedger.objects.update(latest_posting_date=Subquery(latest))


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0006_firm_opening_date"),
    ]

    operations = [
        migrations.AddField(
            model_name="trustledger",
            name="latest_posting_date",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(fill_from_postings, migrations.RunPython.noop, elidable=True),
    ]
