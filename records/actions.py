"""Writes for records: importing files into a person's record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import Patient, User
from records.ingest import Counts, PageResult, chunks, read_fhir_file, record_page, write_page
from records.models import (
    Connection,
    ConnectionStatus,
    HealthSystem,
    ImportRun,
    RecordSource,
    RunKind,
    RunStatus,
    SourceKind,
)
from records.smart import Tokens
from records.tasks import sync_connection_task

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.actors import Actor

DEFAULT_UPLOAD_LABEL = "Uploaded files"


def upload_source(*, patient: Patient, label: str = DEFAULT_UPLOAD_LABEL, user: User | None = None) -> RecordSource:
    source, _ = RecordSource.objects.get_or_create(
        patient=patient,
        kind=SourceKind.UPLOAD,
        label=label.strip()[:200] or DEFAULT_UPLOAD_LABEL,
        defaults={"created_by": user},
    )
    return source


def import_fhir_file(
    *,
    patient: Patient,
    data: bytes,
    filename: str = "",
    label: str = DEFAULT_UPLOAD_LABEL,
    actor: Actor | None = None,
    user: User | None = None,
    request: HttpRequest | None = None,
) -> ImportRun:
    """Imports one file (JSON resource, Bundle or NDJSON) into the patient's uploads, page by page.

    Raises FileRejectedError when the file as a whole is not FHIR JSON; then nothing is stored.
    """
    resources, problems = read_fhir_file(data, name=filename)
    user = user or (actor.user if actor is not None else None)
    source = upload_source(patient=patient, label=label, user=user)
    run = ImportRun.objects.create(source=source, kind=RunKind.UPLOAD)
    if problems:  # parts of the file that were not resources at all
        record_page(run, PageResult(counts=Counts(failed=len(problems)), problems=list(problems)))
    for page in chunks(resources):
        with transaction.atomic():
            result = write_page(source, page)
        record_page(run, result)
    run.status = RunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    record_audit_event(
        action=AuditAction.RECORDS_IMPORTED,
        actor=actor,
        user=user,
        subject=patient,
        request=request,
        basis=actor.basis if actor is not None else "system",
        object_type="import_run",
        object_id=run.pk,
        detail={"new": run.new, "changed": run.changed, "unchanged": run.unchanged, "failed": run.failed},
    )
    return run


def save_connection(
    *,
    actor: Actor,
    patient: Patient,
    system: HealthSystem,
    tokens: Tokens,
    token_endpoint: str,
    request: HttpRequest | None = None,
) -> Connection:
    """Stores (or renews) the connection after a successful sign-in at the health system."""
    with transaction.atomic():
        source, _ = RecordSource.objects.get_or_create(
            patient=patient,
            kind=SourceKind.CONNECTION,
            health_system=system,
            defaults={"label": system.name[:200], "created_by": actor.user},
        )
        connection, created = Connection.objects.update_or_create(
            source=source,
            defaults={
                "health_system": system,
                "fhir_patient_id": tokens.patient_id,
                "scope": tokens.scope,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "token_expires_at": tokens.expires_at,
                "token_endpoint": token_endpoint,
                "status": ConnectionStatus.ACTIVE,
                "status_detail": "",
                "connected_by": actor.user,
            },
        )
        transaction.on_commit(lambda: sync_connection_task.delay(connection.pk))
        record_audit_event(
            action=AuditAction.RECORDS_CONNECTED if created else AuditAction.RECORDS_REAUTHORIZED,
            actor=actor,
            subject=patient,
            request=request,
            object_type="connection",
            object_id=connection.pk,
            detail={"health_system": system.pk},
        )
    return connection


def request_sync(*, actor: Actor, connection: Connection, request: HttpRequest | None = None) -> None:
    """ "Sync now": queued for the worker at once (after this request's transaction commits)."""
    with transaction.atomic():
        record_audit_event(
            action=AuditAction.RECORDS_SYNC_REQUESTED,
            actor=actor,
            subject=connection.source.patient,
            request=request,
            object_type="connection",
            object_id=connection.pk,
        )
        transaction.on_commit(lambda: sync_connection_task.delay(connection.pk))


def disconnect(*, actor: Actor, connection: Connection, keep_records: bool, request: HttpRequest | None = None) -> None:
    """Forgets the tokens; the source's records stay (kept as history) unless the person asks to delete them."""
    with transaction.atomic():
        patient = connection.source.patient
        connection.status = ConnectionStatus.DISCONNECTED
        connection.access_token = ""
        connection.refresh_token = ""
        connection.token_expires_at = None
        connection.save(update_fields=["status", "access_token", "refresh_token", "token_expires_at"])
        deleted = 0
        if not keep_records:
            deleted, _ = connection.source.resources.all().delete()
        record_audit_event(
            action=AuditAction.RECORDS_DISCONNECTED,
            actor=actor,
            subject=patient,
            request=request,
            object_type="connection",
            object_id=connection.pk,
            detail={"kept_records": keep_records, "deleted": deleted},
        )
