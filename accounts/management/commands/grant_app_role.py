"""Give the running application's database role exactly what it needs, and no more on the audit log.

Run by the tables' owner (the role `migrate` runs as) after every migration:
every table of the schema becomes readable and writable for the app role,
except the audit tables, which it may only read and append to. So the running
application can neither rewrite nor remove audit rows, nor TRUNCATE them, nor
switch their triggers off (only an owner may). Safe to re-run: each table's
grants are set afresh, in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from accounts.models import AuditEvent, AuditSeal

APPEND_ONLY_TABLES = (AuditEvent._meta.db_table, AuditSeal._meta.db_table)
TABLE_KINDS = ("r", "p", "f")  # tables, partitioned tables, foreign tables
VIEW_KINDS = ("v", "m")
SEQUENCE_KIND = "S"
# What the app role must never hold on an append-only table, by any route (PUBLIC, a group role).
REFUSED_ON_APPEND_ONLY = ("UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Command(BaseCommand):
    help = (
        "Grant the application's database role SELECT, INSERT, UPDATE, DELETE on every table of the schema "
        "but only SELECT, INSERT on the audit tables (and USAGE, SELECT on sequences). Run as the tables' "
        "owner after every migrate; safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="The role the web server and the workers connect as, e.g. portal_app.")

    def handle(self, *args: Any, **options: Any) -> None:
        role: str = options["role"]
        if connection.vendor != "postgresql":
            self.stdout.write(f"Database roles are a Postgres matter; nothing to grant on {connection.vendor}.")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            self._refuse_a_role_that_could_rewrite_the_log(cursor, role)
            cursor.execute("SELECT current_schema()")
            schema = cursor.fetchone()[0]
            cursor.execute(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = ANY(%s) ORDER BY c.relname",
                [schema, [*TABLE_KINDS, *VIEW_KINDS, SEQUENCE_KIND]],
            )
            relations: list[tuple[str, str]] = cursor.fetchall()
            missing = set(APPEND_ONLY_TABLES) - {name for name, _kind in relations}
            if missing:
                raise CommandError(f"No table {', '.join(sorted(missing))} in schema {schema}: run migrate first.")
            grantee = quoted(role)
            cursor.execute(f"GRANT USAGE ON SCHEMA {quoted(schema)} TO {grantee}")
            counts = {"tables": 0, "views": 0, "sequences": 0}
            for name, kind in relations:
                target = f"{quoted(schema)}.{quoted(name)}"
                if kind == SEQUENCE_KIND:
                    privileges, bucket = "USAGE, SELECT", "sequences"
                elif kind in VIEW_KINDS:
                    privileges, bucket = "SELECT", "views"
                elif name in APPEND_ONLY_TABLES:
                    privileges, bucket = "SELECT, INSERT", ""
                else:
                    privileges, bucket = "SELECT, INSERT, UPDATE, DELETE", "tables"
                # Start from nothing, so that a re-run also takes back anything granted by hand since.
                cursor.execute(
                    f"REVOKE ALL ON {'SEQUENCE' if kind == SEQUENCE_KIND else 'TABLE'} {target} FROM {grantee}"
                )
                cursor.execute(f"GRANT {privileges} ON {target} TO {grantee}")
                if bucket:
                    counts[bucket] += 1
            self._confirm_append_only(cursor, role, schema)
        self.stdout.write(
            self.style.SUCCESS(f"Granted {role} in schema {schema}:")
            + f" read and write on {counts['tables']} tables, read on {counts['views']} views, "
            f"use of {counts['sequences']} sequences; read and insert only on {', '.join(APPEND_ONLY_TABLES)}."
        )

    def _refuse_a_role_that_could_rewrite_the_log(self, cursor: CursorWrapper, role: str) -> None:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            raise CommandError(
                f"There is no database role {role!r}. Create it first (CREATE ROLE {role} LOGIN PASSWORD '…'; "
                "docker-compose's Postgres does this on first start)."
            )
        if found[0]:
            raise CommandError(f"{role} is a superuser, which no privilege binds: give the application another role.")
        for table in APPEND_ONLY_TABLES:
            cursor.execute(
                "SELECT pg_get_userbyid(c.relowner), pg_has_role(%s, c.relowner, 'MEMBER'),"
                " pg_has_role(current_user, c.relowner, 'USAGE')"
                " OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
                " FROM pg_class c WHERE c.oid = to_regclass(%s)",
                [role, table],
            )
            row = cursor.fetchone()
            if row is None:
                continue  # reported below: run migrate first
            owner, role_is_owner, we_may_grant = row
            if role_is_owner:
                raise CommandError(
                    f"{role} is, or may act as, {owner}, the owner of {table}: an owner can switch the audit "
                    "log's triggers off. Run migrations as the owner and the application as another role."
                )
            if not we_may_grant:
                # Postgres would only warn and grant nothing.
                raise CommandError(f"Run this as {owner}, the owner of the tables (the role migrations run as).")

    def _confirm_append_only(self, cursor: CursorWrapper, role: str, schema: str) -> None:
        # REVOKE reaches only direct grants; a privilege held through PUBLIC or a group role would remain.
        for table in APPEND_ONLY_TABLES:
            for privilege in REFUSED_ON_APPEND_ONLY:
                cursor.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", [role, f"{quoted(schema)}.{quoted(table)}", privilege]
                )
                if cursor.fetchone()[0]:
                    raise CommandError(
                        f"{role} still holds {privilege} on {table} (through PUBLIC or another role it belongs "
                        "to). Revoke it there; nothing was changed."
                    )
