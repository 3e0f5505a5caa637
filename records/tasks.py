from __future__ import annotations

import random

from celery import shared_task
from django.conf import settings

from records.imports import run_queued_upload
from records.models import Connection, ConnectionStatus, ImportRun
from records.reproject import reproject
from records.sync import sync_connection


def _summary(run: ImportRun | None) -> dict[str, object] | None:
    """What a run's task returns (for logs and eager tests): its status and counts."""
    if run is None:
        return None
    return {
        "status": run.status,
        "new": run.new,
        "changed": run.changed,
        "unchanged": run.unchanged,
        "failed": run.failed,
    }


@shared_task(
    name="records.sync_connection",
    acks_late=True,
    # At the soft limit the run is recorded as stopped and the lock let go (records.sync); the hard one kills.
    soft_time_limit=settings.RECORDS_SYNC_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.RECORDS_SYNC_TIME_LIMIT_SECONDS,
)
def sync_connection_task(connection_id: int, full: bool = False) -> dict[str, object] | None:
    """One connection, now. Idempotent: a re-run after a crash only finds unchanged pages."""
    return _summary(sync_connection(connection_id, full=full))


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


@shared_task(name="records.import_upload", acks_late=True)
def import_upload_task(run_id: int) -> dict[str, object] | None:
    """One uploaded file's import. Idempotent: a finished run is left alone, a run cut short carries on."""
    return _summary(run_queued_upload(run_id))


@shared_task(name="records.reproject")
def reproject_task(all_rows: bool = False, batch_size: int = 500) -> dict[str, int]:
    """Re-derives the projections older than projections.PROJECTION_VERSION (or all) from the raw JSON."""
    return reproject(all_rows=all_rows, batch_size=batch_size).as_dict()
