from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from records.directory import load_configured_systems, load_endpoint_lists


class Command(BaseCommand):
    help = "Fill the health-system directory from settings and from public FHIR endpoint lists (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--endpoints",
            type=Path,
            default=settings.HEALTH_SYSTEM_ENDPOINT_LISTS,
            help="A folder of ONC Lantern *EndpointSources.json files.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        configured = load_configured_systems()
        self.stdout.write(f"{configured} configured health systems.")
        folder: Path | None = options["endpoints"]
        if folder and Path(folder).is_dir():
            added = load_endpoint_lists(Path(folder))
            self.stdout.write(f"{added} health systems added from {folder}.")
        else:
            self.stdout.write("No endpoint lists found; the directory holds the configured systems only.")
