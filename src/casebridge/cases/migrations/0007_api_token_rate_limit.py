"""A cases API token may carry its own rate limit (issue 13); null keeps the default.
(Numbered 0007 to stay clear of the parallel 0005/0006; the lead renumbers on merge.)"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_firm_time_zone")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="rate_limit_per_minute",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
