"""ADR 0045: 1099 payees. A contact's 1099 data (TaxPayee: the TIN encrypted with the
books' data key), a check's 1099 form/box (PaymentTaxReport, a table beside Check: no
column added to it) and the yearly reporting thresholds (TaxThreshold), seeded here for
tax years 2025 and 2026 (sources in ``THRESHOLDS``; verify with your tax adviser)."""

import django.db.models.deletion
from django.db import migrations, models

#: (year, box, cents, source). Through 2025: $600 (Instructions for Forms 1099-MISC and
#: 1099-NEC: "at least $600" in rents, other income, medical and health care payments and
#: payments to an attorney; $600 of nonemployee compensation). From payments made after
#: 31 December 2025: $2,000 for what IRC 6041(a)/6041A report (P.L. 119-21, the One Big
#: Beautiful Bill Act, sec. 70433): NEC box 1 and MISC boxes 1, 3 and 6. MISC box 10 (gross
#: proceeds paid to an attorney) is reported under IRC 6045(f), which that section does not
#: amend: kept at $600 (reporting more is never the error). Verify with your tax adviser.
_OLD = (
    "IRS Instructions for Forms 1099-MISC and 1099-NEC (2025): $600; verify with your tax adviser"
)
_OBBBA = (
    "P.L. 119-21 (OBBBA) sec. 70433, IRC 6041(a): $2,000 for payments after 2025-12-31; "
    "verify with your tax adviser"
)
_BOX10 = "IRC 6045(f) (not amended by OBBBA sec. 70433): $600 kept; verify with your tax adviser"
THRESHOLDS = [
    *((2025, box, 60000, _OLD) for box in ("NEC-1", "MISC-1", "MISC-3", "MISC-6", "MISC-10")),
    *((2026, box, 200000, _OBBBA) for box in ("NEC-1", "MISC-1", "MISC-3", "MISC-6")),
    (2026, "MISC-10", 60000, _BOX10),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    TaxThreshold = apps.get_model("books", "TaxThreshold")
    TaxThreshold.objects.bulk_create(
        TaxThreshold(year=year, box=box, threshold_cents=cents, source=source)
        for year, box, cents, source in THRESHOLDS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0020_ledes"),
    ]

    operations = [
        migrations.CreateModel(
            name="TaxThreshold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("year", models.PositiveSmallIntegerField()),
                (
                    "box",
                    models.CharField(
                        choices=[
                            ("NEC-1", "1099-NEC box 1: nonemployee compensation"),
                            ("MISC-1", "1099-MISC box 1: rents"),
                            ("MISC-3", "1099-MISC box 3: other income"),
                            ("MISC-6", "1099-MISC box 6: medical and health care payments"),
                            ("MISC-10", "1099-MISC box 10: gross proceeds paid to an attorney"),
                        ],
                        max_length=8,
                    ),
                ),
                ("threshold_cents", models.BigIntegerField()),
                ("source", models.CharField(blank=True, max_length=255)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("year", "box"), name="books_taxthreshold_unique"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("box__in", ["NEC-1", "MISC-1", "MISC-3", "MISC-6", "MISC-10"])
                        ),
                        name="books_taxthreshold_box_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("threshold_cents__gte", 0)),
                        name="books_taxthreshold_not_negative",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="PaymentTaxReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "box",
                    models.CharField(
                        choices=[
                            ("NEC-1", "1099-NEC box 1: nonemployee compensation"),
                            ("MISC-1", "1099-MISC box 1: rents"),
                            ("MISC-3", "1099-MISC box 3: other income"),
                            ("MISC-6", "1099-MISC box 6: medical and health care payments"),
                            ("MISC-10", "1099-MISC box 10: gross proceeds paid to an attorney"),
                        ],
                        max_length=8,
                    ),
                ),
                ("updated_at", models.DateTimeField()),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tax_reports",
                        to="books.contact",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="books.firm",
                    ),
                ),
                (
                    "payment",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tax_report",
                        to="books.check",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="books.user",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["firm", "contact"], name="books_paymenttax_contact")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("box__in", ["NEC-1", "MISC-1", "MISC-3", "MISC-6", "MISC-10"])
                        ),
                        name="books_paymenttax_box_known",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="TaxPayee",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("is_1099", models.BooleanField(default=True)),
                (
                    "tin_type",
                    models.CharField(
                        blank=True,
                        choices=[("SSN", "SSN (individual)"), ("EIN", "EIN (business)")],
                        max_length=3,
                    ),
                ),
                ("tin_ciphertext", models.TextField(blank=True, default="")),
                ("tin_last4", models.CharField(blank=True, max_length=4)),
                (
                    "default_box",
                    models.CharField(
                        choices=[
                            ("NEC-1", "1099-NEC box 1: nonemployee compensation"),
                            ("MISC-1", "1099-MISC box 1: rents"),
                            ("MISC-3", "1099-MISC box 3: other income"),
                            ("MISC-6", "1099-MISC box 6: medical and health care payments"),
                            ("MISC-10", "1099-MISC box 10: gross proceeds paid to an attorney"),
                        ],
                        default="NEC-1",
                        max_length=8,
                    ),
                ),
                ("address_line1", models.CharField(blank=True, max_length=120)),
                ("address_line2", models.CharField(blank=True, max_length=120)),
                ("city", models.CharField(blank=True, max_length=60)),
                ("state", models.CharField(blank=True, max_length=2)),
                ("zip_code", models.CharField(blank=True, max_length=10)),
                ("updated_at", models.DateTimeField()),
                (
                    "contact",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tax_payee",
                        to="books.contact",
                    ),
                ),
                (
                    "firm",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="books.firm",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="books.user",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("default_box__in", ["NEC-1", "MISC-1", "MISC-3", "MISC-6", "MISC-10"])
                        ),
                        name="books_taxpayee_box_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("tin_type", ""), ("tin_ciphertext", ""), ("tin_last4", "")),
                            models.Q(
                                ("tin_type__in", ["SSN", "EIN"]),
                                models.Q(("tin_ciphertext", ""), _negated=True),
                                models.Q(("tin_last4", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="books_taxpayee_tin_whole",
                    ),
                ],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
