"""Reads for accounts: audit history, chain verification, people and tenants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone

from accounts.actors import Actor
from accounts.audit_checkpoints import Checkpoint, CheckpointProblem, checkpoint_file, read_checkpoints
from accounts.audit_labels import AuditAction
from accounts.models import ApiToken, AuditEvent, AuditSeal, Membership, User
from accounts.models.audit import GENESIS_HASH, chain_hash
from accounts.scoping import scoped


def previous_sign_in(user: User | None) -> datetime | None:
    """When the person signed in before this visit (their latest sign-in is this one); None on a first visit."""
    if user is None:
        return None
    logins = list(
        AuditEvent.objects.filter(actor_user=user, action=AuditAction.LOGIN)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)[:2]
    )
    return logins[1] if len(logins) == 2 else None


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
    """What verification found. `intact` only when the chain holds together and matches every checkpoint."""

    sealed: int
    unsealed: int
    broken_seq: int | None = None
    broken_event_id: int | None = None
    reason: str = ""
    checkpoint_file: str = ""
    checkpoint_file_missing: bool = False
    checkpoints_matched: int = 0
    latest_checkpoint: Checkpoint | None = None
    checkpoint_problems: tuple[str, ...] = ()

    @property
    def chain_consistent(self) -> bool:
        """Every sealed hash recomputes (says nothing about a chain rehashed or cut as a whole)."""
        return self.broken_seq is None

    @property
    def intact(self) -> bool:
        return self.chain_consistent and not self.checkpoint_problems


def _seals_in_order(batch_size: int) -> Iterator[AuditSeal]:
    last_seq = 0
    while True:
        batch = list(AuditSeal.objects.filter(seq__gt=last_seq).select_related("event").order_by("seq")[:batch_size])
        if not batch:
            return
        yield from batch
        last_seq = batch[-1].seq


def _where(checkpoint: Checkpoint) -> str:
    return f"the checkpoint of {checkpoint.time} (line {checkpoint.line})"


def verify_audit_chain(*, batch_size: int = 5000, checkpoints_path: Path | None = None) -> ChainReport:
    """Recompute every sealed hash in order, then hold the chain to its signed checkpoints.

    The recomputation names the first row that does not fit. The checkpoints
    catch what recomputation cannot: a chain whose later seals were recomputed
    after a change, a chain cut short, emptied tables. Every checkpointed seal
    must still be in the chain with the checkpointed hash.
    """
    path = checkpoints_path or checkpoint_file()
    problems: list[str] = []
    by_seq: dict[int, list[Checkpoint]] = defaultdict(list)
    latest: Checkpoint | None = None
    missing = False
    try:
        lines = read_checkpoints(path)
    except FileNotFoundError:
        missing = True
        lines = []
    for found in lines:
        if isinstance(found, CheckpointProblem):
            problems.append(f"checkpoint file line {found.line}: {found.reason}")
        else:
            by_seq[found.seq].append(found)
            if latest is None or found.seq >= latest.seq:
                latest = found

    expected_seq = 0
    prev_hash = GENESIS_HASH
    matched = 0
    broken: tuple[int, int, str] | None = None
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
            broken = (expected_seq, seal.event_id, problem)
            break
        for checkpoint in by_seq.get(seal.seq, ()):
            if checkpoint.hash == seal.hash:
                matched += 1
            else:
                problems.append(
                    f"seal {seal.seq} no longer has the hash recorded by {_where(checkpoint)}: "
                    f"the chain was rewritten at or before seal {seal.seq} and its seals recomputed"
                )
        prev_hash = seal.hash

    broken_seq: int | None = None
    broken_event_id: int | None = None
    reason = ""
    if broken is None:
        sealed = expected_seq
        problems.extend(_cut_off(by_seq, head=sealed))
    else:
        broken_seq, broken_event_id, reason = broken
        sealed = broken_seq - 1
    return ChainReport(
        sealed=sealed,
        unsealed=AuditEvent.objects.filter(seal__isnull=True).count(),
        broken_seq=broken_seq,
        broken_event_id=broken_event_id,
        reason=reason,
        checkpoint_file=str(path),
        checkpoint_file_missing=missing,
        checkpoints_matched=matched,
        latest_checkpoint=latest,
        checkpoint_problems=tuple(problems),
    )


def _cut_off(by_seq: dict[int, list[Checkpoint]], *, head: int) -> list[str]:
    """A checkpoint beyond the chain's head: seals were removed from its end."""
    beyond = [checkpoint for seq, found in by_seq.items() if seq > head for checkpoint in found]
    if not beyond:
        return []
    furthest = max(beyond, key=lambda checkpoint: checkpoint.seq)
    ends = f"the chain ends at seal {head}" if head else "the chain is empty"
    return [
        f"{ends} but {_where(furthest)} recorded seal {furthest.seq}: seals {head + 1} to {furthest.seq} "
        "were removed (the end of the chain cut off, or the tables emptied)"
    ]


def organizations_with_members(staff: Actor) -> QuerySet[Membership]:
    """The members of the staff member's organization (its desk's scope)."""
    return scoped(staff, Membership).select_related("user").order_by("user__full_name", "user__email", "role")


def api_tokens_of(actor: Actor) -> QuerySet[ApiToken]:
    """The signed-in person's own API tokens, newest first."""
    if actor.user is None:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=actor.user).order_by("-created_at")
