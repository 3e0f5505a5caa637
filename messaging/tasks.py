"""The messaging app's background jobs: deliver the outbox, escalate overdue threads, the staff digest."""

from __future__ import annotations

from celery import shared_task

from messaging import actions
from messaging.notices import deliver_pending


@shared_task(name="messaging.deliver_notices")
def deliver_notices() -> int:
    """Send what waits in the outbox (after a commit, and on every sweep; safe to run concurrently)."""
    return deliver_pending()


@shared_task(name="messaging.escalate_overdue_threads")
def escalate_overdue_threads() -> int:
    return actions.escalate_overdue()


@shared_task(name="messaging.send_staff_digest")
def send_staff_digest() -> int:
    """The daily digest for everyone who works an inbox (once a day each: the outbox's key says so)."""
    return actions.queue_staff_digests()


@shared_task(name="messaging.send_refill_reminders")
def send_refill_reminders() -> int:
    """Once a day: reminders before a medicine runs out (each supply once per person)."""
    from messaging.reminders import send_refill_reminders as send

    return send()
