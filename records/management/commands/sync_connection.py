from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.sync import sync_connection


class Command(BaseCommand):
    help = "Sync one connection now, in this process (the worker does the same through Celery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection_id", type=int)
        parser.add_argument("--full", action="store_true", help="Ask for everything again, ignoring the cursors.")

    def handle(self, *args: Any, **options: Any) -> None:
        run = sync_connection(options["connection_id"], full=options["full"])
        if run is None:
            raise CommandError("Another sync of this connection is under way.")
        self.stdout.write(
            f"{run.status}: {run.new} new, {run.changed} changed, {run.unchanged} unchanged, "
            f"{run.failed} failed{' (' + run.error + ')' if run.error else ''}"
        )
