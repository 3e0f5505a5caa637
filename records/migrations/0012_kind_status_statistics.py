"""Statistics on how a row's kind and status go together (Postgres only).

Without them the planner multiplies the two filters' shares as if they were independent: "current problems"
(kind 'problem', status 'active' and the like, rare among all rows, which are mostly final results) came out
at a few rows where a large record has hundreds, so it sorted all of them before keeping the summary's 36
instead of reading the kind's index in order and stopping. With the statistics of the pairs, it stops.
"""

from typing import Any

from django.db import migrations

NAME = "fhirresource_kind_status_stats"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("records", "FhirResource")._meta.db_table)
    schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {NAME} (mcv) ON kind, status FROM {table}")
    schema_editor.execute(f"ANALYZE {table}")


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0011_record_page_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
