from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.actions.audit import seal_pending_events, write_audit_checkpoint


class Command(BaseCommand):
    help = (
        "Seal pending audit events into the hash chain and checkpoint its head "
        "(the worker does both every few seconds)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Sealed {seal_pending_events()} events.")
        checkpoint = write_audit_checkpoint()
        if checkpoint is not None:
            self.stdout.write(f"Checkpointed the chain at seal {checkpoint.seq}.")
