"""Writing the audit log and sealing it into the hash chain."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.audit_checkpoints import (
    Checkpoint,
    append_line,
    checkpoint_file,
    latest_checkpoint,
    locked_for_append,
    signed_line,
)
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, AuditSeal, Patient, User
from accounts.models.audit import GENESIS_HASH, Basis, chain_hash

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.actors import Actor

logger = logging.getLogger(__name__)
# Checkpoint lines (seq, hash, time only) go to their own logger, so that they can be shipped to a
# log store the database's administrators cannot rewrite.
checkpoint_logger = logging.getLogger("portal.audit.checkpoint")

USER_AGENT_MAX = 256


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is the peer; behind a proxy, the deployment sets it from
    # the trusted forwarded header in the web server, not here.
    return request.META.get("REMOTE_ADDR") or None


class UnknownAuditActionError(TypeError):
    """An audit action outside the AuditAction vocabulary."""


def _checked_action(action: object) -> str:
    if not isinstance(action, AuditAction):
        raise UnknownAuditActionError(f"Audit actions must be AuditAction members, not {action!r}.")
    return action.value


def record_audit_event(
    *,
    action: AuditAction,
    actor: Actor | None = None,
    user: User | None = None,
    request: HttpRequest | None = None,
    subject: Patient | None = None,
    basis: str | None = None,
    object_type: str = "",
    object_id: object = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Insert one audit row. `detail` must never hold health data."""
    action_code = _checked_action(action)
    if actor is not None:
        user = user or actor.user
        if subject is None:
            subject = actor.subject
        basis = basis or actor.basis
    if basis is None:
        basis = Basis.SELF if user else Basis.ANONYMOUS
    return AuditEvent.objects.create(
        actor_user=user,
        actor_name=(user.full_name or user.email) if user else "",
        subject_patient=subject,
        basis=basis,
        action=action_code,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        ip=client_ip(request) if request is not None else None,
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX] if request is not None else ""),
        detail=detail or {},
    )


def record_audit_events_for_patients(
    *,
    action: AuditAction,
    actor: Actor,
    patients: list[Patient],
    request: HttpRequest,
    basis: str,
    object_type: str = "",
    object_id: object = "",
) -> None:
    """One row per patient shown (a list page), written in one statement."""
    user = actor.user
    template = {
        "actor_user": user,
        "actor_name": (user.full_name or user.email) if user else "",
        "basis": basis,
        "action": _checked_action(action),
        "object_type": object_type,
        "object_id": str(object_id),
        "ip": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
    }
    AuditEvent.objects.bulk_create([AuditEvent(subject_patient=patient, **template) for patient in patients])


def record_audit_events(
    *,
    action: AuditAction,
    actor: Actor,
    request: HttpRequest | None,
    rows: list[tuple[Patient | None, str, object]],
) -> None:
    """One row per (subject, object type, object id) shown on a list, written in one statement."""
    if not rows:
        return
    user = actor.user
    template = {
        "actor_user": user,
        "actor_name": (user.full_name or user.email) if user else "",
        "basis": actor.basis,
        "action": _checked_action(action),
        "ip": client_ip(request) if request is not None else None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX] if request is not None else "",
    }
    if connection.vendor == "postgresql":
        _insert_from_arrays(template, rows)
        return
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(subject_patient=subject, object_type=object_type, object_id=str(object_id), **template)
            for subject, object_type, object_id in rows
        ]
    )


def _insert_from_arrays(template: dict[str, Any], rows: list[tuple[Patient | None, str, object]]) -> None:
    """The rows of a list page as three arrays unnested by Postgres: the same rows bulk_create writes, without
    building a model object and eleven parameters for each (a staff inbox page audits 50 threads per view)."""
    meta = AuditEvent._meta
    column_of = {field.name: field.column or field.name for field in meta.concrete_fields}
    columns = [connection.ops.quote_name(column_of[name]) for name in AUDIT_ROW_FIELDS]
    user = template["actor_user"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
            "SELECT %s, %s, %s, shown.subject, %s, %s, shown.object_type, shown.object_id, %s, %s, '{}'::jsonb "
            "FROM unnest(%s::uuid[], %s::varchar[], %s::varchar[]) AS shown(subject, object_type, object_id)",
            [
                timezone.now(),
                user.pk if user is not None else None,
                template["actor_name"],
                template["basis"],
                template["action"],
                template["ip"],
                template["user_agent"],
                [subject.pk if subject is not None else None for subject, _, _ in rows],
                [object_type for _, object_type, _ in rows],
                [str(object_id) for _, _, object_id in rows],
            ],
        )


# The columns _insert_from_arrays writes, in its SELECT's order.
AUDIT_ROW_FIELDS = (
    "occurred_at",
    "actor_user",
    "actor_name",
    "subject_patient",
    "basis",
    "action",
    "object_type",
    "object_id",
    "ip",
    "user_agent",
    "detail",
)


def seal_pending_events(*, batch_size: int = 2000) -> int:
    """Seal every unsealed event into the chain, in insertion order.

    Safe to run from several workers at once: each seal takes the next `seq`,
    so two sealers racing for the same place collide on the primary key and
    the loser rolls back its batch and stops; the winner carries on.
    """
    sealed = 0
    while True:
        try:
            with transaction.atomic():
                head = AuditSeal.objects.order_by("-seq").only("seq", "hash").first()
                seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
                pending = list(AuditEvent.objects.filter(seal__isnull=True).order_by("id")[:batch_size])
                if not pending:
                    return sealed
                seals = []
                for event in pending:
                    seq += 1
                    digest = chain_hash(prev_hash, event)
                    seals.append(AuditSeal(seq=seq, event=event, prev_hash=prev_hash, hash=digest))
                    prev_hash = digest
                AuditSeal.objects.bulk_create(seals)
        except IntegrityError:
            logger.info("Another sealer advanced the audit chain first; leaving the rest to it.")
            return sealed
        sealed += len(seals)


def write_audit_checkpoint(*, min_interval_seconds: float = 0) -> Checkpoint | None:
    """Append the chain's head, signed, to the checkpoint file and to the log.

    Nothing is written while the chain is empty, when the head is the one the
    last checkpoint already holds, or when the last checkpoint is younger than
    `min_interval_seconds`. Returns the checkpoint written, if any.
    """
    if not AuditSeal.objects.exists():
        return None
    path = checkpoint_file()
    with locked_for_append(path) as fd:  # one writer at a time, so that lines follow the chain in order
        head = AuditSeal.objects.order_by("-seq").only("seq", "hash").first()
        if head is None:
            return None
        last = latest_checkpoint(path)
        if last is not None:
            if (last.seq, last.hash) == (head.seq, head.hash) or _age_seconds(last) < min_interval_seconds:
                return None
            _warn_if_checkpoint_lost(last)
        written_at = timezone.now().astimezone(UTC).isoformat(timespec="seconds")
        append_line(fd, signed_line(head.seq, head.hash, written_at))
    checkpoint_logger.info("Audit checkpoint seq=%d hash=%s time=%s", head.seq, head.hash, written_at)
    return Checkpoint(seq=head.seq, hash=head.hash, time=written_at)


def _age_seconds(checkpoint: Checkpoint) -> float:
    try:
        written = datetime.fromisoformat(checkpoint.time)
    except ValueError:
        return float("inf")
    if written.tzinfo is None:
        return float("inf")
    return (timezone.now() - written).total_seconds()


def _warn_if_checkpoint_lost(last: Checkpoint) -> None:
    # One query per checkpoint: an early alarm between runs of verify_audit.
    still = AuditSeal.objects.filter(seq=last.seq).values_list("hash", flat=True).first()
    if still != last.hash:
        checkpoint_logger.error(
            "The audit chain no longer holds seal %d as checkpointed at %s; run `manage.py verify_audit`.",
            last.seq,
            last.time,
        )
