from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.actions.audit import seal_pending_events
from accounts.selectors import ChainReport, verify_audit_chain

SHOWN_PROBLEMS = 20  # a rewritten chain fails every later checkpoint; the first few say enough


class Command(BaseCommand):
    help = (
        "Verify the audit log: recompute the hash chain (naming the first broken row, if any) and check it "
        "against the signed checkpoints of its head kept outside the database. Exits non-zero on any problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seal", action="store_true", help="Seal pending events into the chain first.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal"]:
            sealed = seal_pending_events()
            self.stdout.write(f"Sealed {sealed} pending events.")
        report = verify_audit_chain()
        failures = self._failures(report)
        if failures:
            raise CommandError("\n".join(failures))
        if report.checkpoint_file_missing:
            # An empty chain has nothing to checkpoint yet; anything else should have a file.
            self.stderr.write(self.style.WARNING(self._missing_file_warning(report)))
            if report.sealed:
                raise CommandError(
                    f"Audit chain internally consistent ({report.sealed} sealed events verified), but it could "
                    "not be checked against checkpoints: a rewritten or shortened chain would go unnoticed."
                )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.sealed} sealed events verified")
            + f"; {report.unsealed} not yet sealed."
        )
        if report.latest_checkpoint is not None:
            latest = report.latest_checkpoint
            self.stdout.write(
                f"Matches all {report.checkpoints_matched} checkpoints in {report.checkpoint_file}; the latest "
                f"covers seals 1 to {latest.seq} ({latest.time}). Seals after it rest on the chain alone."
            )
        elif not report.checkpoint_file_missing:
            self.stdout.write(f"No checkpoint yet in {report.checkpoint_file}.")

    def _failures(self, report: ChainReport) -> list[str]:
        failures = []
        if not report.chain_consistent:
            failures.append(
                f"Audit chain BROKEN at seal {report.broken_seq} (audit event id {report.broken_event_id}): "
                f"{report.reason}. {report.sealed} seals before it verified."
            )
        if report.checkpoint_problems:
            problems = report.checkpoint_problems
            failures.append(f"Audit chain does NOT match its checkpoints ({report.checkpoint_file}):")
            failures.extend(f"  - {problem}" for problem in problems[:SHOWN_PROBLEMS])
            if len(problems) > SHOWN_PROBLEMS:
                failures.append(f"  … and {len(problems) - SHOWN_PROBLEMS} more.")
        return failures

    def _missing_file_warning(self, report: ChainReport) -> str:
        return (
            f"WARNING: no audit checkpoint file at {report.checkpoint_file}. Is AUDIT_CHECKPOINT_FILE right, "
            "and is the worker writing checkpoints? Without them only changes that leave the chain "
            "inconsistent can be detected."
        )
