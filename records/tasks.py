from __future__ import annotations

import random

from celery import shared_task
from django.conf import settings

from records.models import Connection, ConnectionStatus
from records.sync import sync_connection


@shared_task(name="records.sync_connection", acks_late=True)
def sync_connection_task(connection_id: int, full: bool = False) -> dict[str, object] | None:
    """One connection, now. Idempotent: a re-run after a crash only finds unchanged pages."""
    run = sync_connection(connection_id, full=full)
    if run is None:
        return None
    return {
        "status": run.status,
        "new": run.new,
        "changed": run.changed,
        "unchanged": run.unchanged,
        "failed": run.failed,
    }


@shared_task(name="records.sync_all_connections")
def sync_all_connections() -> int:
    """Periodic: every active connection, spread over the jitter window so health systems are not hit at once."""
    ids = list(Connection.objects.filter(status=ConnectionStatus.ACTIVE).values_list("pk", flat=True))
    for connection_id in ids:
        sync_connection_task.apply_async(
            (connection_id,),
            countdown=random.uniform(0, settings.RECORDS_SYNC_JITTER_SECONDS),  # noqa: S311
        )
    return len(ids)
