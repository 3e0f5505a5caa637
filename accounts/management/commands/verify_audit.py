from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.actions.audit import seal_pending_events
from accounts.selectors import verify_audit_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and name the first broken row, if any."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seal", action="store_true", help="Seal pending events into the chain first.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal"]:
            sealed = seal_pending_events()
            self.stdout.write(f"Sealed {sealed} pending events.")
        report = verify_audit_chain()
        if not report.intact:
            raise CommandError(
                f"Audit chain BROKEN at seal {report.broken_seq} (audit event id {report.broken_event_id}): "
                f"{report.reason}. {report.sealed} seals before it verified."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.sealed} sealed events verified")
            + f"; {report.unsealed} not yet sealed."
        )
