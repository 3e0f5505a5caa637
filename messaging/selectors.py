"""Reads of the messaging app: the patient's side lists, the staff inbox, unread markers, counts.

Subject-side reads start from messaging.access (threads_visible_to); staff reads from accounts.scoping
(scoped(staff, Thread)). Lists are a fixed number of queries whatever their length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.actors import Actor, Scope
from accounts.models import User
from accounts.scoping import scoped
from messaging.access import organizations_to_write_to, threads_visible_to
from messaging.models import (
    Message,
    MessageKind,
    NotificationChoice,
    Pool,
    RefillRequest,
    RefillStatus,
    Thread,
    ThreadRead,
    ThreadStatus,
    Topic,
)

if TYPE_CHECKING:
    from proxy.access import Subject


def _unread_for(user: User | None, *, staff_side: bool) -> Q:
    """A thread has news for `user` when the other side wrote after the user last read it."""
    if user is None:
        return Q(pk__isnull=True)
    latest = "last_patient_message_at" if staff_side else "last_staff_message_at"
    read = ThreadRead.objects.filter(thread=OuterRef("pk"), user=user, read_at__gte=OuterRef(latest))
    return Q(**{f"{latest}__isnull": False}) & ~Q(Exists(read))


def patient_threads(actor: Actor) -> QuerySet[Thread]:
    """The threads of the person the actor acts for, newest first, each with `unread` for the actor."""
    return (
        threads_visible_to(actor)
        .select_related("organization", "pool")
        .annotate(unread=_unread_for(actor.user, staff_side=False))
        .order_by("-last_message_at", "-pk")
    )


def unread_count(actor: Actor) -> int:
    """The badge: threads of the person the actor acts for with a reply the actor has not read."""
    if actor.user is None:
        return 0
    return threads_visible_to(actor).filter(_unread_for(actor.user, staff_side=False)).count()


def thread_messages(thread: Thread, *, staff_side: bool) -> QuerySet[Message]:
    """A thread's history, oldest first, with its files; internal notes only for the staff side."""
    rows = thread.messages.prefetch_related("attachments").order_by("created_at", "pk")
    return rows if staff_side else rows.exclude(kind=MessageKind.NOTE)


class InboxFilter:
    UNASSIGNED = "unassigned"
    MINE = "mine"
    WAITING_ON_PATIENT = "waiting"
    OVERDUE = "overdue"
    CLOSED = "closed"
    OPEN = "open"  # everything not closed (the default)

    ALL = (OPEN, UNASSIGNED, MINE, OVERDUE, WAITING_ON_PATIENT, CLOSED)


def inbox(
    staff: Actor, *, pool_id: int | None, view: str, search: str = "", now: datetime | None = None
) -> QuerySet[Thread]:
    """A staff inbox: the desk's threads (one pool, or all), filtered; overdue first, then oldest due, then newest.

    Search matches the patient's name or MRN at this organization, or the subject.
    """
    moment = now or timezone.now()
    rows = scoped(staff, Thread)
    if pool_id is not None:
        rows = rows.filter(pool_id=pool_id)
    if view == InboxFilter.CLOSED:
        rows = rows.filter(status=ThreadStatus.CLOSED)
    elif view == InboxFilter.WAITING_ON_PATIENT:
        rows = rows.filter(status=ThreadStatus.WAITING_ON_PATIENT)
    elif view == InboxFilter.OVERDUE:
        rows = rows.filter(status=ThreadStatus.WAITING_ON_STAFF, reply_due_at__lt=moment)
    elif view == InboxFilter.UNASSIGNED:
        rows = rows.filter(assigned_to__isnull=True).exclude(status=ThreadStatus.CLOSED)
    elif view == InboxFilter.MINE:
        rows = rows.filter(assigned_to=staff.user).exclude(status=ThreadStatus.CLOSED)
    else:
        rows = rows.exclude(status=ThreadStatus.CLOSED)
    words = " ".join(search.split())[:100]
    if words:
        organization = staff.organization
        rows = rows.filter(
            Q(subject__icontains=words)
            | Q(patient__given_name__icontains=words)
            | Q(patient__family_name__icontains=words)
            | Q(patient__enrollments__organization=organization, patient__enrollments__mrn__iexact=words)
        )
    mrn = Subquery(
        scoped(staff, Thread)
        .filter(pk=OuterRef("pk"), patient__enrollments__organization_id=OuterRef("organization_id"))
        .values("patient__enrollments__mrn")[:1]
    )
    ordered = rows.select_related("patient", "pool", "assigned_to").annotate(
        mrn=mrn, unread=_unread_for(staff.user, staff_side=True)
    )
    if view in (InboxFilter.CLOSED, InboxFilter.WAITING_ON_PATIENT):
        return ordered.order_by("-last_message_at", "-pk")
    return ordered.order_by("reply_due_at", "pk")


@dataclass(frozen=True)
class InboxCounts:
    waiting: int  # waiting on the care team
    overdue: int
    refills: int  # refill requests not yet decided


def inbox_counts(staff: Actor, *, now: datetime | None = None) -> InboxCounts:
    """The staff home's numbers for the desk's organization, in two queries."""
    moment = now or timezone.now()
    threads = scoped(staff, Thread).aggregate(
        waiting=Count("pk", filter=Q(status=ThreadStatus.WAITING_ON_STAFF)),
        overdue=Count("pk", filter=Q(status=ThreadStatus.WAITING_ON_STAFF, reply_due_at__lt=moment)),
    )
    refills = scoped(staff, RefillRequest).filter(status=RefillStatus.SENT).count()
    return InboxCounts(waiting=threads["waiting"], overdue=threads["overdue"], refills=refills)


# The patient's side: where to write, what was read, the family view's badge, a caregiver's email choice.


def pools_to_write_to(actor: Actor) -> list[Pool]:
    """The care teams the person the actor acts for may write to (where they are enrolled), by organization."""
    return list(
        Pool.objects.filter(is_active=True, organization__in=organizations_to_write_to(actor))
        .select_related("organization")
        .order_by("organization__name", "organization_id", "name", "pk")
    )


def last_read_at(user: User | None, thread: Thread) -> datetime | None:
    """When `user` last read `thread` (None: never), to mark what is new to them."""
    if user is None:
        return None
    return ThreadRead.objects.filter(thread=thread, user=user).values_list("read_at", flat=True).first()


def unread_by_subject(actor: Actor, subjects: list[Subject]) -> dict[UUID, int]:
    """For each person the actor may message for: how many of their threads have a reply the actor has not read.

    One query for everyone, with messaging.access's rules: a private thread counts only on the person's own
    record, a refill request's only for those with the refills scope.
    """
    allowed = [subject for subject in subjects if Scope.MESSAGING in subject.scopes]
    if actor.user is None or not allowed:
        return {}
    own = [subject.patient.pk for subject in allowed if subject.is_self]
    others = [subject.patient.pk for subject in allowed if not subject.is_self and Scope.REFILLS in subject.scopes]
    without_refills = [
        subject.patient.pk for subject in allowed if not subject.is_self and Scope.REFILLS not in subject.scopes
    ]
    seen = (
        Q(patient_id__in=own)
        | Q(patient_id__in=others, private=False)
        | (Q(patient_id__in=without_refills, private=False) & ~Q(topic=Topic.REFILL))
    )
    rows = (
        Thread.objects.filter(seen)
        .filter(_unread_for(actor.user, staff_side=False))
        .values_list("patient_id")
        .annotate(found=Count("pk"))
        .order_by()
    )
    return dict(rows)


def notification_choice(actor: Actor) -> NotificationChoice | None:
    """A caregiver's choice of emails about the person they act for (None: never chosen, so off)."""
    if actor.user is None or actor.subject is None:
        return None
    return NotificationChoice.objects.filter(user=actor.user, patient=actor.subject).first()
