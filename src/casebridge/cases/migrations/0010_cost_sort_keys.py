"""Costs Management sorted by case (issue 12): a case's costs in a tab newest first, so the
sort by case walks the cases in number order and reads each one's costs from this index
(``selectors/costs.py``, ``_walk``) instead of joining and sorting the whole tab. The
index still serves a case filter and an attorney's costs through their cases, with a
date range (read backwards when the range is oldest first) and its amounts."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_search_folded"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="cost",
            name="cases_cost_case_date_amount",
        ),
        migrations.AddIndex(
            model_name="cost",
            index=models.Index(
                fields=["case", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_case_date_amount",
            ),
        ),
    ]
