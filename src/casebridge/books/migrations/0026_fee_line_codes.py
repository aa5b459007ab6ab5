"""ADR 0054: an invoice line's own UTBMS codes for LEDES (a fee's task and activity code,
a cost's expense code), empty for the default, each CHECKed against its code set and
against the line's kind. ``books_invoiceline`` has no trigger, so SQLite's rebuild of the
table for a NOT NULL column loses nothing."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0024_ach_fixes"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="utbms_activity_code",
            field=models.CharField(blank=True, default="", max_length=4),
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="utbms_expense_code",
            field=models.CharField(blank=True, default="", max_length=4),
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="utbms_task_code",
            field=models.CharField(blank=True, default="", max_length=4),
        ),
        migrations.AddConstraint(
            model_name="invoiceline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "utbms_task_code__in",
                        [
                            "",
                            "L110",
                            "L120",
                            "L130",
                            "L140",
                            "L150",
                            "L160",
                            "L190",
                            "L210",
                            "L220",
                            "L230",
                            "L240",
                            "L250",
                            "L260",
                            "L310",
                            "L320",
                            "L330",
                            "L340",
                            "L350",
                            "L390",
                            "L410",
                            "L420",
                            "L430",
                            "L440",
                            "L450",
                            "L460",
                            "L470",
                            "L510",
                            "L520",
                            "L530",
                        ],
                    )
                ),
                name="books_line_utbms_task_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "utbms_activity_code__in",
                        [
                            "",
                            "A101",
                            "A102",
                            "A103",
                            "A104",
                            "A105",
                            "A106",
                            "A107",
                            "A108",
                            "A109",
                            "A110",
                            "A111",
                        ],
                    )
                ),
                name="books_line_utbms_activity_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "utbms_expense_code__in",
                        [
                            "",
                            "E101",
                            "E102",
                            "E103",
                            "E104",
                            "E105",
                            "E106",
                            "E107",
                            "E108",
                            "E109",
                            "E110",
                            "E111",
                            "E112",
                            "E113",
                            "E114",
                            "E115",
                            "E116",
                            "E117",
                            "E118",
                            "E119",
                            "E120",
                            "E121",
                            "E122",
                            "E123",
                            "E124",
                        ],
                    )
                ),
                name="books_line_utbms_expense_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "fee"), ("utbms_expense_code", "")),
                    models.Q(
                        ("kind", "cost"), ("utbms_task_code", ""), ("utbms_activity_code", "")
                    ),
                    _connector="OR",
                ),
                name="books_line_utbms_by_kind",
            ),
        ),
    ]
