"""Books users get a role (administrator, accountant, staff) and API tokens an optional
rate limit of their own (issue 13).

Existing users: administrators (``is_admin``) stay administrators; everyone else becomes
an accountant, so nobody loses what they could do the day before (voids and reversals
were open to every user; the integration user voids checks and receipts for the bridge).
An administrator demotes whoever should be staff on the Users screen.

``is_admin`` stays (many checks read it) and is true exactly when the role is
administrator: a CHECK holds the two together. On SQLite the new column and the CHECKs
rebuild ``books_user`` only, which no trigger names (migration 0010's trigger names
``books_bankaccount``, ``books_firm`` and ``books_journalentry``).
"""

from django.db import migrations, models


def roles_from_admin_flag(apps, schema_editor):  # type: ignore[no-untyped-def]
    User = apps.get_model("books", "User")
    User.objects.filter(is_admin=True).update(role="administrator")
    User.objects.filter(is_admin=False).update(role="accountant")


class Migration(migrations.Migration):
    dependencies = [("books", "0011_two_factor")]

    operations = [
        migrations.AddField(
            model_name="integrationtoken",
            name="rate_limit_per_minute",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="role",
            field=models.CharField(
                choices=[
                    ("administrator", "Administrator"),
                    ("accountant", "Accountant"),
                    ("staff", "Staff"),
                ],
                default="accountant",
                max_length=20,
            ),
        ),
        migrations.RunPython(roles_from_admin_flag, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(role__in=["administrator", "accountant", "staff"]),
                name="books_user_role_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(is_admin=True, role="administrator")
                | (models.Q(is_admin=False) & ~models.Q(role="administrator")),
                name="books_user_admin_is_administrator",
            ),
        ),
    ]
