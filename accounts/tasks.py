from __future__ import annotations

from celery import shared_task

from accounts.actions.audit import seal_pending_events


@shared_task(name="accounts.seal_audit_events")
def seal_audit_events() -> int:
    """Seal new audit rows into the hash chain (idempotent; safe to run concurrently)."""
    return seal_pending_events()
