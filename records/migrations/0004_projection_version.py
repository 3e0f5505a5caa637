# Each row says which projector derived its projection; rows from before carry 0, so that
# `manage.py reproject` re-derives them once from their raw JSON.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0003_import_run_queue"),
    ]

    operations = [
        migrations.AddField(
            model_name="fhirresource",
            name="projection_version",
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
