from __future__ import annotations

from celery import shared_task

from scheduling.reminders import deliver_reminders, queue_due_reminders


@shared_task(name="scheduling.send_appointment_reminders")
def send_appointment_reminders() -> int:
    """Writes the reminders that fell due, then sends them (idempotent: each reminder is sent once)."""
    queue_due_reminders()
    return deliver_reminders()
