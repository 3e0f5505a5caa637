"""The Postgres backend for tests: the flush between transactional tests may empty the audit tables.

The audit tables refuse TRUNCATE with a trigger (accounts migration 0004),
which would also stop Django's flush after every transactional test (live
server, a second process). The flush runs as the tables' owner, so it can do
what an owner can: switch those triggers off for its own transaction. Nothing
else changes; tests still see the triggers refuse TRUNCATE.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations

AUDIT_TABLES = ("accounts_auditevent", "accounts_auditseal")


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False
    ) -> list[str]:
        statements = super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if not statements:
            return statements
        # A CASCADE can reach the audit tables through their foreign keys even when they are not listed.
        switch = [f"ALTER TABLE IF EXISTS {table} {{}} TRIGGER {table}_no_truncate;" for table in AUDIT_TABLES]
        return (
            [statement.format("DISABLE") for statement in switch]
            + statements
            + [statement.format("ENABLE") for statement in switch]
        )


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
