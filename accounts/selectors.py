"""Reads for accounts: audit history, chain verification, people and tenants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEvent, AuditSeal, Membership, Organization
from accounts.models.audit import GENESIS_HASH, chain_hash


def access_history_for(
    actor: Actor,
    *,
    since: date | None = None,
    until: date | None = None,
    action: str | None = None,
) -> QuerySet[AuditEvent]:
    """Who did what to the actor's own record, newest first."""
    if actor.subject is None:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(subject_patient=actor.subject)
    zone = timezone.get_current_timezone()
    if since:
        events = events.filter(occurred_at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until:
        events = events.filter(occurred_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone))
    if action:
        events = events.filter(action=action)
    return events.order_by("-occurred_at", "-id")


def actions_in_history(actor: Actor) -> list[str]:
    if actor.subject is None:
        return []
    return list(
        AuditEvent.objects.filter(subject_patient=actor.subject)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class ChainReport:
    sealed: int
    unsealed: int
    broken_seq: int | None = None
    broken_event_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_seq is None


def _seals_in_order(batch_size: int) -> Iterator[AuditSeal]:
    last_seq = 0
    while True:
        batch = list(AuditSeal.objects.filter(seq__gt=last_seq).select_related("event").order_by("seq")[:batch_size])
        if not batch:
            return
        yield from batch
        last_seq = batch[-1].seq


def verify_audit_chain(*, batch_size: int = 5000) -> ChainReport:
    """Recompute every sealed hash in order and name the first row that does not fit."""
    expected_seq = 0
    prev_hash = GENESIS_HASH
    for seal in _seals_in_order(batch_size):
        expected_seq += 1
        problem = ""
        if seal.seq != expected_seq:
            problem = f"seal {expected_seq} is missing (found {seal.seq} next)"
        elif seal.prev_hash != prev_hash:
            problem = "the seal does not link to the seal before it"
        elif chain_hash(prev_hash, seal.event) != seal.hash:
            problem = "the event's content no longer matches its sealed hash"
        if problem:
            return ChainReport(
                sealed=expected_seq - 1,
                unsealed=AuditEvent.objects.filter(seal__isnull=True).count(),
                broken_seq=expected_seq,
                broken_event_id=seal.event_id,
                reason=problem,
            )
        prev_hash = seal.hash
    return ChainReport(sealed=expected_seq, unsealed=AuditEvent.objects.filter(seal__isnull=True).count())


def organizations_with_members(actor: Actor, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__full_name", "user__email", "role")
    )
