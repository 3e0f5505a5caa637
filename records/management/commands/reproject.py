from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.projections import PROJECTION_VERSION
from records.reproject import DEFAULT_BATCH_SIZE, ReprojectCounts, reproject


class Command(BaseCommand):
    help = (
        "Re-derive stored projections from each resource's raw JSON: the rows projected by an older "
        "projector (projections.PROJECTION_VERSION), or every row with --all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Every row, not only the ones projected earlier.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        verbosity = options["verbosity"]

        def progress(counts: ReprojectCounts) -> None:
            if verbosity > 1:
                self.stdout.write(f"  {counts.examined} rows so far")

        counts = reproject(all_rows=options["all"], batch_size=options["batch_size"], on_batch=progress)
        self.stdout.write(
            f"Projection version {PROJECTION_VERSION}: {counts.examined} rows examined, {counts.updated} updated, "
            f"{counts.unchanged} already current, {counts.failed} could not be read."
        )
