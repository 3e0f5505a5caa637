from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.actions.audit import seal_pending_events


class Command(BaseCommand):
    help = "Seal pending audit events into the hash chain (the worker does this every few seconds)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Sealed {seal_pending_events()} events.")
