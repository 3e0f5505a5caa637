"""On Postgres, TRUNCATE of the audit tables is refused too (row triggers never see it).

A statement-level BEFORE TRUNCATE trigger raises, whoever runs it; only the
tables' owner could drop or disable it, and the running application is not
the owner (see README, "The audit log").
"""

from django.db import migrations

TABLES = ("accounts_auditevent", "accounts_auditseal")


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_refuse_change();"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_organization_age_policy")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
