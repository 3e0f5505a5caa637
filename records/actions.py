"""Writes for records: importing files into a person's record, and connections to health systems."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import Patient, User
from records.imports import import_resources
from records.ingest import delete_source_records, read_fhir_file
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
from records.tasks import import_upload_task, sync_connection_task

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.actors import Actor

DEFAULT_UPLOAD_LABEL = "Uploaded files"
UPLOAD_FOLDER = "records-uploads"


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
    """Imports one file (JSON resource, Bundle or NDJSON) into the patient's uploads now, page by page.

    For `manage.py import_fhir` and tests; the upload page queues the file instead (queue_fhir_upload).
    Raises FileRejectedError when the file as a whole is not FHIR JSON; then nothing is stored.
    """
    resources, problems = read_fhir_file(data, name=filename)
    user = user or (actor.user if actor is not None else None)
    source = upload_source(patient=patient, label=label, user=user)
    run = ImportRun.objects.create(
        source=source,
        kind=RunKind.UPLOAD,
        status=RunStatus.RUNNING,
        requested_by=user,
        basis=actor.basis if actor is not None else "system",
    )
    return import_resources(run, resources, problems, request=request)


def queue_fhir_upload(
    *,
    actor: Actor,
    patient: Patient,
    data: bytes,
    filename: str,
    label: str,
    idempotency_key: uuid.UUID,
) -> ImportRun:
    """Keeps an uploaded file (already checked: see records.forms) for the worker and queues its import.

    The file goes under MEDIA_ROOT with a random name (its own name may say something about the person's
    health), and is deleted when the import ends. A second request with the same idempotency key (a
    refresh, a double click) gets the run of the first and stores nothing.
    """
    existing = ImportRun.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    extension = "ndjson" if filename.lower().endswith((".ndjson", ".jsonl")) else "json"  # the reader's hint
    stored_name = default_storage.save(f"{UPLOAD_FOLDER}/{uuid.uuid4().hex}.{extension}", ContentFile(data))
    try:
        with transaction.atomic():
            source = upload_source(patient=patient, label=label, user=actor.user)
            run = ImportRun.objects.create(
                source=source,
                kind=RunKind.UPLOAD,
                status=RunStatus.QUEUED,
                requested_by=actor.user,
                basis=actor.basis,
                idempotency_key=idempotency_key,
                upload=stored_name,
            )
            transaction.on_commit(lambda: import_upload_task.delay(run.pk))
    except IntegrityError:  # the same key from a request that raced this one: that one's run stands
        default_storage.delete(stored_name)
        return ImportRun.objects.get(idempotency_key=idempotency_key)
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
        deleted = 0 if keep_records else delete_source_records(connection.source)
        record_audit_event(
            action=AuditAction.RECORDS_DISCONNECTED,
            actor=actor,
            subject=patient,
            request=request,
            object_type="connection",
            object_id=connection.pk,
            detail={"kept_records": keep_records, "deleted": deleted},
        )
