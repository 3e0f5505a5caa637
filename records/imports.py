"""Running an import: a file's resources written page by page into its run, safely repeatable.

An uploaded file waits under MEDIA_ROOT (never served) until the worker runs
`run_queued_upload(run_id)`; `python manage.py import_fhir` runs the same
pages at once. Each page is one transaction that claims the page on the run
(`progress_done` moves from n to n + 1 only once), writes the resources
(upserts by source, type and id, skipped when the hash is unchanged) and adds
the page's counts and issues. So a task delivered twice does nothing the
second time, a run cut short carries on from the first page not written, and
two workers on one run never count a page twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from records import ingest
from records.ingest import FileRejectedError, Problem, chunks, read_fhir_file, write_page
from records.models import ImportIssue, ImportRun, RunKind, RunStatus

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)


def run_queued_upload(run_id: int) -> ImportRun | None:
    """The worker's half of an upload (the task calls this). Idempotent: a finished run is left alone."""
    run = ImportRun.objects.select_related("source", "requested_by").filter(pk=run_id, kind=RunKind.UPLOAD).first()
    if run is None:
        return None
    if run.is_finished:
        _forget_file(run.upload.name)  # normally gone already; a re-delivery makes sure
        return run
    ImportRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING)
    run.status = RunStatus.RUNNING
    try:
        if not run.upload.name:
            raise FileNotFoundError
        with default_storage.open(run.upload.name, "rb") as stored:
            data = stored.read()
    except OSError:
        return fail_run(run, _("The uploaded file is no longer here. Please add it again."))
    try:
        resources, problems = read_fhir_file(data, name=run.upload.name)
    except FileRejectedError as error:
        return fail_run(run, str(error))
    try:
        return import_resources(run, resources, problems)
    except Exception as error:  # noqa: BLE001  (the run says it stopped; the log names only the kind of error)
        logger.error("Upload import %s stopped: %s", run.pk, type(error).__name__)  # no message: it may hold data
        return fail_run(run, _("The import stopped because of an error on our side. Please add the file again."))


def import_resources(
    run: ImportRun, resources: list[Any], problems: list[Problem], *, request: HttpRequest | None = None
) -> ImportRun:
    """Writes the pages the run has not written yet, then finishes it (with its audit row)."""
    pages = list(chunks(resources, ingest.PAGE_SIZE)) or [[]]  # at least one page: it carries the file's problems
    if run.progress_total != len(pages):
        ImportRun.objects.filter(pk=run.pk).update(progress_total=len(pages))
    for number, page in enumerate(pages):
        if number < run.progress_done:
            continue  # written by an earlier delivery of this task
        if not _write_counted_page(run, number, page, problems if number == 0 else []):
            run.refresh_from_db()
            return run  # another delivery is ahead of this one and finishes the run
    return _finish(run, request=request)


def _write_counted_page(run: ImportRun, number: int, page: list[Any], problems: list[Problem]) -> bool:
    with transaction.atomic():
        claimed = ImportRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, progress_done=number).update(
            progress_done=number + 1
        )
        if not claimed:
            return False
        result = write_page(run.source, page)
        result.problems[:0] = problems
        result.counts.failed += len(problems)
        if result.problems:
            ImportIssue.objects.bulk_create(
                ImportIssue(run=run, resource_type=p.resource_type, resource_id=p.resource_id, message=p.message[:500])
                for p in result.problems
            )
        ImportRun.objects.filter(pk=run.pk).update(
            new=F("new") + result.counts.new,
            changed=F("changed") + result.counts.changed,
            unchanged=F("unchanged") + result.counts.unchanged,
            failed=F("failed") + result.counts.failed,
        )
    run.progress_done = number + 1
    return True


def _finish(run: ImportRun, *, request: HttpRequest | None) -> ImportRun:
    stored_name = run.upload.name
    with transaction.atomic():
        finished = ImportRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.SUCCEEDED, finished_at=timezone.now(), upload=""
        )
        run.refresh_from_db()
        if finished:
            _record_import(run, request=request)
        transaction.on_commit(lambda: _forget_file(stored_name))
    return run


def fail_run(run: ImportRun, error: str) -> ImportRun:
    """Ends the run with a reason in plain words; records the audit row if it had written anything."""
    with transaction.atomic():
        failed = ImportRun.objects.filter(pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
            status=RunStatus.FAILED, error=error[:1000], finished_at=timezone.now(), upload=""
        )
        stored_name = run.upload.name
        run.refresh_from_db()
        if failed and (run.new or run.changed):
            _record_import(run, request=None)
        transaction.on_commit(lambda: _forget_file(stored_name))
    return run


def _record_import(run: ImportRun, *, request: HttpRequest | None) -> None:
    record_audit_event(
        action=AuditAction.RECORDS_IMPORTED,
        user=run.requested_by,
        subject=run.source.patient,
        request=request,
        basis=run.basis or "system",
        object_type="import_run",
        object_id=run.pk,
        detail={
            "status": run.status,
            "new": run.new,
            "changed": run.changed,
            "unchanged": run.unchanged,
            "failed": run.failed,
        },
    )


def _forget_file(name: str | None) -> None:
    if name:
        default_storage.delete(name)
