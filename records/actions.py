"""Writes for records: importing files into a person's record, connections to health systems, shared links."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.actors import Scope
from accounts.audit_labels import AuditAction
from accounts.models import Patient, User
from proxy.actions import NotAllowedError
from records import shlinks, smart
from records.exports import record_bundle
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
    ShareContent,
    ShareLink,
    ShareOpening,
    ShareOutcome,
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


class DifferentPersonError(Exception):
    """A sign-in again brought back someone else than the connection is for; nothing of it was kept.

    The message is fit to show; `connection` is the connection that stays as it was.
    """

    def __init__(self, message: str, connection: Connection) -> None:
        super().__init__(message)
        self.connection = connection


def _same_person(connection: Connection, tokens: Tokens) -> str | None:
    """Why a sign-in again cannot renew this connection, or None when it is the same person."""
    if not connection.fhir_patient_id:  # nothing here is anyone's yet (new, or disconnected with records deleted)
        return None
    system, person = connection.health_system.name, connection.source.patient.display_name
    if tokens.patient_id != connection.fhir_patient_id:
        return _(
            "You signed in as someone else at %(system)s; this connection is for %(person)s's records. Nothing from "
            "that sign-in was kept. Sign in again as %(person)s, or with an account allowed to see %(person)s's "
            "record there."
        ) % {"system": system, "person": person}
    if connection.fhir_user and tokens.fhir_user and tokens.fhir_user != connection.fhir_user:
        return _(
            "You signed in at %(system)s with a different account than the one this connection was made with. "
            "Nothing from that sign-in was kept. Sign in with the same account, or disconnect (the records can "
            "stay) and connect again."
        ) % {"system": system}
    return None


def save_connection(
    *,
    actor: Actor,
    patient: Patient,
    system: HealthSystem,
    tokens: Tokens,
    token_endpoint: str,
    revocation_endpoint: str = "",
    request: HttpRequest | None = None,
) -> Connection:
    """Stores (or renews) the connection after a successful sign-in at the health system.

    A sign-in again must bring back the same patient (and, where both are known, the same account):
    otherwise DifferentPersonError, the connection, its tokens and cursors stay as they were, and the
    new tokens are revoked at the health system (they are of no use to anyone).
    """
    try:
        with transaction.atomic():
            source, _created = RecordSource.objects.get_or_create(
                patient=patient,
                kind=SourceKind.CONNECTION,
                health_system=system,
                defaults={"label": system.name[:200], "created_by": actor.user},
            )
            connection = (
                Connection.objects.select_for_update()
                .select_related("health_system", "source__patient")
                .filter(source=source)
                .first()
            )
            if connection is not None:
                problem = _same_person(connection, tokens)
                if problem is not None:
                    raise DifferentPersonError(problem, connection)
            created = connection is None
            connection = connection or Connection(source=source)
            connection.health_system = system
            connection.fhir_patient_id = tokens.patient_id
            connection.fhir_user = tokens.fhir_user or connection.fhir_user
            connection.scope = tokens.scope
            connection.access_token = tokens.access_token
            connection.refresh_token = tokens.refresh_token
            connection.token_expires_at = tokens.expires_at
            connection.access_granted_until = tokens.access_until  # a new sign-in grants anew
            connection.token_endpoint = token_endpoint
            connection.revocation_endpoint = revocation_endpoint
            connection.status = ConnectionStatus.ACTIVE
            connection.status_detail = ""
            connection.refusal_error = connection.refusal_description = connection.refusal_uri = ""
            connection.connected_by = actor.user
            connection.save()
            saved = connection
            transaction.on_commit(lambda: sync_connection_task.delay(saved.pk))
            record_audit_event(
                action=AuditAction.RECORDS_CONNECTED if created else AuditAction.RECORDS_REAUTHORIZED,
                actor=actor,
                subject=patient,
                request=request,
                object_type="connection",
                object_id=connection.pk,
                detail={"health_system": system.pk},
            )
    except DifferentPersonError as refused:
        with transaction.atomic():
            record_audit_event(
                action=AuditAction.RECORDS_REAUTHORIZATION_REFUSED,
                actor=actor,
                subject=patient,
                request=request,
                object_type="connection",
                object_id=refused.connection.pk,
                detail={"health_system": system.pk},
            )
        smart.revoke(
            system=system,
            revocation_endpoint=revocation_endpoint,
            token_endpoint=token_endpoint,
            tokens=[(tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")],
        )
        raise
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


class Revocation(StrEnum):
    """What became of the tokens at the health system when a connection was disconnected."""

    REVOKED = "revoked"
    FAILED = "failed"
    NOT_OFFERED = "not_offered"  # the health system names no revocation endpoint
    NOTHING = "nothing"  # there were no tokens left to revoke


def disconnect(
    *, actor: Actor, connection: Connection, keep_records: bool, request: HttpRequest | None = None
) -> Revocation:
    """Forgets the tokens here, then asks the health system to revoke them (RFC 7009) where it offers that.

    The source's records stay (kept as history) unless the person asks to delete them; with them goes
    the connection's memory of whose records they were, so that a later connection may be someone else's.
    The tokens are forgotten whatever the health system answers; the outcome is returned for the page.
    """
    with transaction.atomic():
        locked = (
            Connection.objects.select_for_update()
            .select_related("health_system", "source__patient")
            .get(pk=connection.pk)
        )
        patient = locked.source.patient
        held = [(locked.refresh_token, "refresh_token"), (locked.access_token, "access_token")]
        held = [(token, hint) for token, hint in held if token]
        endpoint, token_endpoint = locked.revocation_endpoint, locked.token_endpoint
        locked.status = ConnectionStatus.DISCONNECTED
        locked.access_token = locked.refresh_token = ""
        locked.token_expires_at = None
        locked.fhir_user = ""  # a later connection may be made with another account for the same person
        locked.refusal_error = locked.refusal_description = locked.refusal_uri = ""
        fields = [
            "status",
            "access_token",
            "refresh_token",
            "token_expires_at",
            "fhir_user",
            "refusal_error",
            "refusal_description",
            "refusal_uri",
        ]
        deleted = 0
        if not keep_records:
            deleted = delete_source_records(locked.source)
            # Nothing of this person's stays: the next connection starts afresh, for whoever it is.
            locked.fhir_patient_id = ""
            locked.cursors = {}
            fields += ["fhir_patient_id", "cursors"]
        locked.save(update_fields=fields)
        planned = Revocation.NOTHING if not held else Revocation.REVOKED if endpoint else Revocation.NOT_OFFERED
        record_audit_event(
            action=AuditAction.RECORDS_DISCONNECTED,
            actor=actor,
            subject=patient,
            request=request,
            object_type="connection",
            object_id=locked.pk,
            detail={
                "kept_records": keep_records,
                "deleted": deleted,
                "revocation": "requested" if planned == Revocation.REVOKED else planned.value,
            },
        )
    if planned != Revocation.REVOKED:
        return planned
    revoked = smart.revoke(
        system=locked.health_system, revocation_endpoint=endpoint, token_endpoint=token_endpoint, tokens=held
    )
    return Revocation.REVOKED if revoked else Revocation.FAILED


# Sharing with a SMART Health Link ------------------------------------------------------------------------


def create_share_link(
    *,
    actor: Actor,
    label: str,
    days: int,
    passcode: str = "",
    content: str = ShareContent.WHOLE,
    start: date | None = None,
    end: date | None = None,
    request: HttpRequest | None = None,
) -> ShareLink:
    """A new link to a snapshot of what the actor may see of the record they act for, made now.

    The snapshot is the actor's own view (records.exports.record_bundle): a caregiver's link never holds
    more than that caregiver may see. It is encrypted at once under a new key; later changes to the record
    are not in it. It names the person (a Patient resource from their chart here, when the record holds
    none). Raises NotAllowedError without the records scope.
    """
    patient = actor.subject
    if patient is None or Scope.RECORDS not in actor.scopes:
        raise NotAllowedError(_("You may not share this record."))
    if content != ShareContent.DATES:
        start = end = None
    bundle = record_bundle(actor, start=start, end=end)  # the chart's Patient resource first: whose record
    key = shlinks.new_key()
    now = timezone.now()
    with transaction.atomic():
        link = ShareLink.objects.create(
            patient=patient,
            created_by=actor.user,
            basis=actor.basis,
            made_hiding_sensitive=actor.hide_sensitive,
            label=label.strip()[: shlinks.LABEL_MAX],
            token=shlinks.new_token(),
            key=key,
            payload=shlinks.encrypt_file(bundle, key),
            entries=len(bundle["entry"]),
            passcode_hash=make_password(passcode) if passcode else "",
            content=content,
            start=start,
            end=end,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        record_audit_event(
            action=AuditAction.RECORDS_SHARE_LINK_CREATED,
            actor=actor,
            subject=patient,
            request=request,
            object_type="sharelink",
            object_id=link.pk,
            detail={"days": days, "passcode": bool(passcode), "content": content, "entries": link.entries},
        )
    return link


def revoke_share_link(*, actor: Actor, link: ShareLink, request: HttpRequest | None = None) -> None:
    """Ends a link now (checked by records.access.access_share_link_by_id); ending it again changes nothing."""
    with transaction.atomic():
        locked = ShareLink.objects.select_for_update().get(pk=link.pk)
        if locked.revoked_at is not None:
            return
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor.user
        locked.save(update_fields=["revoked_at", "revoked_by"])
        record_audit_event(
            action=AuditAction.RECORDS_SHARE_LINK_REVOKED,
            actor=actor,
            subject=locked.patient,
            request=request,
            object_type="sharelink",
            object_id=locked.pk,
        )


class Opened(StrEnum):
    """What a manifest request got."""

    OPENED = "opened"
    WRONG_PASSCODE = "wrong_passcode"
    ENDED = "ended"  # expired, revoked or locked: answered as missing
    MISSING = "missing"  # no such link


@dataclass(frozen=True)
class Opening:
    result: Opened
    link: ShareLink | None = None
    remaining_attempts: int = 0


_OPENING_AUDIT = {
    ShareOutcome.OPENED: AuditAction.RECORDS_SHARE_LINK_OPENED,
    ShareOutcome.WRONG_PASSCODE: AuditAction.RECORDS_SHARE_LINK_WRONG_PASSCODE,
    ShareOutcome.REFUSED: AuditAction.RECORDS_SHARE_LINK_REFUSED,
}


def _record_opening(link: ShareLink, outcome: ShareOutcome, recipient: str, request: HttpRequest | None) -> None:
    ShareOpening.objects.create(link=link, recipient=recipient[: ShareOpening.RECIPIENT_MAX], outcome=outcome)
    # Whoever holds the link is not a user of the portal: the row is the link's, on no one's basis but the link.
    record_audit_event(
        action=_OPENING_AUDIT[outcome],
        subject=link.patient,
        request=request,
        object_type="sharelink",
        object_id=link.pk,
    )


def open_share_link(*, token: str, recipient: str, passcode: str, request: HttpRequest | None = None) -> Opening:
    """A manifest request: checks the link and its passcode, and records the opening whatever it gets.

    Ten wrong passcodes over the link's life lock it for good. An expired, revoked or locked link is
    answered as missing (and the attempt recorded as refused).
    """
    with transaction.atomic():
        link = ShareLink.objects.select_for_update().select_related("patient").filter(token=token).first()
        if link is None:
            return Opening(Opened.MISSING)
        if not link.works:
            _record_opening(link, ShareOutcome.REFUSED, recipient, request)
            return Opening(Opened.ENDED, link)
        # check_password compares in constant time; a link without a passcode takes none.
        if link.has_passcode and not (passcode and check_password(passcode, link.passcode_hash)):
            link.failed_attempts += 1
            fields = ["failed_attempts"]
            if link.failed_attempts >= ShareLink.MAX_FAILED_ATTEMPTS:
                link.locked_at = timezone.now()
                fields.append("locked_at")
            link.save(update_fields=fields)
            _record_opening(link, ShareOutcome.WRONG_PASSCODE, recipient, request)
            return Opening(Opened.WRONG_PASSCODE, link, remaining_attempts=link.remaining_attempts)
        _record_opening(link, ShareOutcome.OPENED, recipient, request)
        return Opening(Opened.OPENED, link, remaining_attempts=link.remaining_attempts)


def share_file(*, token: str, ticket: str, request: HttpRequest | None = None) -> ShareLink | None:
    """The link whose file a location URL asks for, while the ticket is fresh, unused and the link still works.

    Each ticket (made by a manifest answer that was recorded as an opening) is used once.
    """
    checked = shlinks.read_ticket(ticket)
    if checked is None:
        return None
    link = ShareLink.objects.select_related("patient").filter(token=token, pk=checked.link_id).first()
    if link is None or not link.works:
        return None
    if not cache.add(f"shlinks:ticket-used:{checked.nonce}", 1, timeout=shlinks.LOCATION_SECONDS + 60):
        return None
    with transaction.atomic():
        record_audit_event(
            action=AuditAction.RECORDS_SHARE_FILE_FETCHED,
            subject=link.patient,
            request=request,
            object_type="sharelink",
            object_id=link.pk,
        )
    return link
