from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from accounts import crypto
from accounts.fields import EncryptedTextField


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the newest key in FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, run this, then the old keys can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            assert model._meta.pk is not None
            assert model._meta.pk.column is not None
            pk_column = connection.ops.quote_name(model._meta.pk.column)
            for field in fields:
                assert field.column is not None
                column = connection.ops.quote_name(field.column)
                rotated = self._rotate_column(table, pk_column, column, batch_size)
                total += rotated
                self.stdout.write(f"{model._meta.label}.{field.name}: {rotated} values re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values now use the newest key."))

    def _rotate_column(self, table: str, pk_column: str, column: str, batch_size: int) -> int:
        # Raw tokens in, raw tokens out: values are never decrypted into Python
        # objects, so a row written meanwhile is at worst rotated twice.
        rotated = 0
        last_pk: Any = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"WHERE {column} IS NOT NULL AND {column} <> ''"
                params: list[Any] = []
                if last_pk is not None:
                    where += f" AND {pk_column} > %s"
                    params.append(last_pk)
                cursor.execute(
                    f"SELECT {pk_column}, {column} FROM {table} {where} ORDER BY {pk_column} LIMIT %s",  # noqa: S608
                    [*params, batch_size],
                )
                rows = cursor.fetchall()
                if not rows:
                    return rotated
                for pk, token in rows:
                    cursor.execute(
                        f"UPDATE {table} SET {column} = %s WHERE {pk_column} = %s",  # noqa: S608
                        [crypto.rotate(token), pk],
                    )
                rotated += len(rows)
                last_pk = rows[-1][0]
