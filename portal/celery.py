"""The Celery app: every background job of the portal runs here."""

from __future__ import annotations

import os
import threading
import time

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_shutting_down

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Sealing and checkpointing the audit log have a queue of their own, so that workers busy with long syncs
# (a health system may take minutes) never hold them up. Every worker must consume both queues, or a
# worker of its own must consume this one (docker-compose.yml: audit-worker; the demo: one worker, both).
AUDIT_QUEUE = "audit"
app.conf.task_routes = {
    "accounts.seal_audit_events": {"queue": AUDIT_QUEUE},
    "accounts.checkpoint_audit_chain": {"queue": AUDIT_QUEUE},
}
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.AUDIT_SEAL_INTERVAL_SECONDS),
        sender.signature("accounts.seal_audit_events"),
        name="seal the audit log",
    )
    sender.add_periodic_task(
        float(settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS),
        sender.signature("accounts.checkpoint_audit_chain"),
        name="checkpoint the audit chain's head outside the database",
    )
    sender.add_periodic_task(
        crontab(hour=settings.PROXY_TRANSITIONS_HOUR_UTC, minute=5),
        sender.signature("proxy.apply_grant_transitions"),
        name="apply proxy age and expiry rules",
    )
    sender.add_periodic_task(
        float(settings.RECORDS_SYNC_INTERVAL_SECONDS),
        sender.signature("records.sync_all_connections"),
        name="sync every connected health system",
    )
    sender.add_periodic_task(
        float(settings.NOTICE_SWEEP_SECONDS),
        sender.signature("messaging.deliver_notices"),
        name="send the notices waiting in the outbox",
    )
    sender.add_periodic_task(
        float(settings.ESCALATION_INTERVAL_SECONDS),
        sender.signature("messaging.escalate_overdue_threads"),
        name="escalate threads past their reply date to the pool's lead",
    )
    sender.add_periodic_task(
        crontab(hour=settings.STAFF_DIGEST_HOUR_UTC, minute=0),
        sender.signature("messaging.send_staff_digest"),
        name="email each inbox member the day's counts",
    )
    sender.add_periodic_task(
        crontab(hour=settings.REFILL_REMINDERS_HOUR_UTC, minute=15),
        sender.signature("messaging.send_refill_reminders"),
        name="remind people before a medicine runs out",
    )
    sender.add_periodic_task(
        float(settings.APPOINTMENT_REMINDER_SWEEP_SECONDS),
        sender.signature("scheduling.send_appointment_reminders"),
        name="remind people of their visits at the organization's offsets",
    )
    sender.add_periodic_task(
        crontab(hour=settings.BILLING_HOUR_UTC, minute=30),
        sender.signature("billing.run_daily_billing"),
        name="charge plan instalments, send their notices and remind of bills due",
    )


@worker_shutting_down.connect
def _exit_by_the_deadline(sig: str, how: str, exitcode: int, **kwargs: object) -> None:
    """Ends the worker process at the deadline even if its pool hangs on the way out.

    At a cold shutdown billiard's exit handler can wait forever on a queue lock that a killed pool child
    held; a worker asked to stop must stop. Tasks are acknowledged late, so one cut short runs again.
    """
    from django.conf import settings

    deadline = float(settings.WORKER_EXIT_DEADLINE_SECONDS)

    def exit_at_the_deadline() -> None:
        time.sleep(deadline)
        os._exit(exitcode or 1)

    threading.Thread(target=exit_at_the_deadline, name="exit-deadline", daemon=True).start()
