"""API tokens expire. Tokens made before this get 90 days from the migration (the default, computed once)."""

from django.db import migrations, models

import accounts.models.tokens


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit_truncate_trigger")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(default=accounts.models.tokens.default_token_expiry),
        ),
    ]
