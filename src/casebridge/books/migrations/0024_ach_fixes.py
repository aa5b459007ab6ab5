"""ACH review fixes (ADR 0050): a NACHA file's text is kept encrypted with the data key
(``file_text`` becomes ``file_ciphertext``, the files made before encrypted here), and a
file remembers its header's immediate destination and origin, its ODFI and its last trace
sequence (nullable: adding a NOT NULL column on SQLite rebuilds the table)."""

from django.db import migrations, models


def encrypt_files(apps, schema_editor):  # type: ignore[no-untyped-def]
    from casebridge.books.crypto import encrypt

    AchBatch = apps.get_model("books", "AchBatch")
    for pk, text in AchBatch.objects.order_by("pk").values_list("pk", "file_ciphertext"):
        AchBatch.objects.filter(pk=pk).update(file_ciphertext=encrypt(text))


def decrypt_files(apps, schema_editor):  # type: ignore[no-untyped-def]
    from casebridge.books.crypto import decrypt

    AchBatch = apps.get_model("books", "AchBatch")
    for pk, text in AchBatch.objects.order_by("pk").values_list("pk", "file_ciphertext"):
        AchBatch.objects.filter(pk=pk).update(file_ciphertext=decrypt(text))


class Migration(migrations.Migration):
    dependencies = [("books", "0023_export_jobs")]

    operations = [
        migrations.RenameField(
            model_name="achbatch", old_name="file_text", new_name="file_ciphertext"
        ),
        migrations.RunPython(encrypt_files, decrypt_files),
        migrations.AddField(
            model_name="achbatch",
            name="immediate_destination",
            field=models.CharField(blank=True, max_length=10, null=True),
        ),
        migrations.AddField(
            model_name="achbatch",
            name="immediate_origin",
            field=models.CharField(blank=True, max_length=10, null=True),
        ),
        migrations.AddField(
            model_name="achbatch",
            name="odfi",
            field=models.CharField(blank=True, max_length=8, null=True),
        ),
        migrations.AddField(
            model_name="achbatch",
            name="trace_last",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
