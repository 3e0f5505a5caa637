from __future__ import annotations

from celery import shared_task
from django.conf import settings

from accounts.actions.audit import seal_pending_events, write_audit_checkpoint


@shared_task(name="accounts.seal_audit_events")
def seal_audit_events() -> int:
    """Seal new audit rows into the hash chain (idempotent; safe to run concurrently).

    A run that moved the head also checkpoints it, at most once per
    AUDIT_CHECKPOINT_INTERVAL_SECONDS, so that the file follows the chain closely.
    """
    sealed = seal_pending_events()
    if sealed:
        write_audit_checkpoint(min_interval_seconds=settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS)
    return sealed


@shared_task(name="accounts.checkpoint_audit_chain")
def checkpoint_audit_chain() -> int | None:
    """Checkpoint the chain's head if it moved since the last checkpoint (beat, every interval)."""
    checkpoint = write_audit_checkpoint()
    return checkpoint.seq if checkpoint else None
