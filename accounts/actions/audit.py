"""Writing the audit log and sealing it into the hash chain."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, AuditSeal, Patient, User
from accounts.models.audit import GENESIS_HASH, Basis, chain_hash

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.actors import Actor

logger = logging.getLogger(__name__)

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
