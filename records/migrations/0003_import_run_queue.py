# Uploaded files are imported by the worker: a run waits ("queued") with its file, who asked and on what
# basis, and the one-time key of the form that asked (unique, so a second POST finds the first run).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0002_connections"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="basis",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="importrun",
            name="idempotency_key",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="importrun",
            name="requested_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="importrun",
            name="upload",
            field=models.FileField(blank=True, editable=False, max_length=200, upload_to="records-uploads/"),
        ),
        migrations.AlterField(
            model_name="importrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Waiting"),
                    ("running", "Running"),
                    ("succeeded", "Finished"),
                    ("failed", "Failed"),
                ],
                default="running",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="importrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key__isnull", False)),
                fields=("idempotency_key",),
                name="importrun_one_per_idempotency_key",
            ),
        ),
    ]
