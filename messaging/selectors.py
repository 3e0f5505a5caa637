"""Reads of the messaging app: the patient's side lists, the staff inbox, unread markers, counts.

Subject-side reads start from messaging.access (threads_visible_to); staff reads from accounts.scoping
(scoped(staff, Thread)). Lists are a fixed number of queries whatever their length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from accounts.actors import Actor, Scope
from accounts.models import Enrollment, Membership, Patient, User
from accounts.scoping import scoped
from messaging.access import CLINICAL_ROLES, INBOX_ROLES, organizations_to_write_to, threads_visible_to
from messaging.models import (
    Message,
    MessageKind,
    NotificationChoice,
    Pool,
    QuickReply,
    RefillRequest,
    RefillStatus,
    Thread,
    ThreadRead,
    ThreadStatus,
    Topic,
)
from records.models import FhirResource
from records.selectors import UPCOMING, organization_items

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


SEARCH_LIMIT = 100


SEARCH_PATIENTS = 500  # patients a search may name at once (by name or MRN); subjects are searched beside them


def _search(staff: Actor, words: str) -> Q:
    """The patient's name (every word in the given or family name) or MRN at this organization, or the subject.

    The patients are looked up first among the desk's enrollments (one query: another organization's MRN
    never matches, and a patient enrolled at several organizations is still one row per thread); the threads
    are then those patients' (their index) or those whose subject holds the words (a trigram index on Postgres).
    """
    names = Q()
    for word in words.split()[:5]:
        names &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
    # Each patient the name matches is checked against the desk's enrollments by its own key (a subquery the
    # planner cannot turn into a join): as a join, it read every enrollment of the organization to keep a few.
    enrolled_here = scoped(staff, Enrollment).filter(patient_id=OuterRef("pk")).values("pk")[:1]
    by_name = (
        Patient.objects.alias(enrolled_here=Subquery(enrolled_here))
        .filter(names, enrolled_here__isnull=False)
        .values_list("pk", flat=True)
    )
    # The MRN as typed or in capitals: read from the organization's unique index of MRNs.
    by_mrn = scoped(staff, Enrollment).filter(mrn__in={words, words.upper()}).values_list("patient_id", flat=True)
    patients = list(by_name.union(by_mrn)[:SEARCH_PATIENTS])
    return Q(patient_id__in=patients) | Q(subject__icontains=words)


def inbox(
    staff: Actor, *, pool_id: int | None, view: str, search: str = "", now: datetime | None = None
) -> QuerySet[Thread]:
    """A staff inbox: the desk's threads (one pool, or all), filtered; overdue first, then oldest due, then newest.

    Search matches the patient's name or MRN at this organization, or the subject. Each row carries `mrn` (the
    patient's MRN at the desk's organization) and `unread` (the patient's side wrote since the staff member last
    read it). Ordered on indexed columns only, so that a page of a large inbox reads no more than the page.
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
    words = " ".join(search.split())[:SEARCH_LIMIT]
    if words:
        rows = rows.filter(_search(staff, words))
    mrn = Subquery(
        scoped(staff, Enrollment)
        .filter(patient_id=OuterRef("patient_id"), organization_id=OuterRef("organization_id"))
        .values("mrn")[:1]
    )
    # The page's patients are read by their keys (a query of their own): joining the patients' table to find the
    # page would have the planner hash the whole table on a search.
    ordered = (
        rows.select_related("pool", "assigned_to")
        .prefetch_related("patient")
        .annotate(mrn=mrn, unread=_unread_for(staff.user, staff_side=True))
    )
    due: F | ExpressionWrapper = F("reply_due_at")
    recent: F | ExpressionWrapper = F("last_message_at")
    if words:
        # A search has few matches: found through the patients' and the subjects' indexes, then sorted. Ordering
        # on the bare columns would walk the whole inbox in index order looking for them.
        due = ExpressionWrapper(F("reply_due_at") + Value(timedelta(0)), output_field=DateTimeField())
        recent = ExpressionWrapper(F("last_message_at") + Value(timedelta(0)), output_field=DateTimeField())
    if view in (InboxFilter.CLOSED, InboxFilter.WAITING_ON_PATIENT):
        return ordered.order_by(recent.desc(), "-pk")
    return ordered.order_by(due.asc(nulls_last=True), "pk")


@dataclass
class InboxPage:
    """A page of the inbox without counting the whole inbox (pagination_open.html: previous and next)."""

    object_list: list[Thread]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    def __iter__(self) -> Iterator[Thread]:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


MAX_PAGE = 2_000


def inbox_page(rows: QuerySet[Thread], number: object, size: int = 50) -> InboxPage:
    """Page `number` of an inbox in one query (one row more than the page says whether another follows).

    A number that is not one gives the first page; past the end gives an empty page with a way back.
    """
    try:
        wanted = min(max(int(str(number)), 1), MAX_PAGE)
    except ValueError:
        wanted = 1
    start = (wanted - 1) * size
    found = list(rows[start : start + size + 1])
    return InboxPage(object_list=found[:size], number=wanted, has_next=len(found) > size)


@dataclass(frozen=True)
class InboxCounts:
    waiting: int  # waiting on the care team
    overdue: int
    refills: int  # refill requests not yet decided


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


def inbox_organization_ids(actor: Actor) -> list[int]:
    """The organizations where the actor works the inbox (a role in INBOX_ROLES), from their memberships."""
    return sorted({m.organization_id for m in actor.memberships if m.role in INBOX_ROLES})


def inbox_counts_by_organization(
    organization_ids: Iterable[int], *, now: datetime | None = None
) -> dict[int, InboxCounts]:
    """The same numbers for several organizations at once, in two queries whatever their number.

    The caller names organizations the person works at (inbox_organization_ids for the staff home, a
    member's organizations for the daily digest): this reads no desk, so it is never handed ids from a request.
    """
    ids = list(organization_ids)
    if not ids:
        return {}
    moment = now or timezone.now()
    threads: dict[int, dict[str, int]] = {
        row["organization_id"]: {"waiting": row["waiting"], "overdue": row["overdue"]}
        for row in Thread.objects.filter(organization_id__in=ids, status=ThreadStatus.WAITING_ON_STAFF)
        .values("organization_id")
        .annotate(waiting=Count("pk"), overdue=Count("pk", filter=Q(reply_due_at__lt=moment)))
        .order_by()
    }
    refills = dict(
        RefillRequest.objects.filter(organization_id__in=ids, status=RefillStatus.SENT)
        .values("organization_id")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("organization_id", "count")
    )
    return {
        organization_id: InboxCounts(
            waiting=threads.get(organization_id, {}).get("waiting", 0),
            overdue=threads.get(organization_id, {}).get("overdue", 0),
            refills=refills.get(organization_id, 0),
        )
        for organization_id in ids
    }


def workplace_inbox_counts(actor: Actor, *, now: datetime | None = None) -> dict[int, InboxCounts]:
    """The staff home's numbers: for each organization where the actor works the inbox, in two queries."""
    return inbox_counts_by_organization(inbox_organization_ids(actor), now=now)


def digest_organization_ids(user: User) -> list[int]:
    """The organizations whose inbox a person works: an inbox role there, or a seat in one of its active pools."""
    by_role = Membership.objects.filter(user=user, role__in=INBOX_ROLES).values_list("organization_id", flat=True)
    by_pool = Pool.objects.filter(members=user, is_active=True).values_list("organization_id", flat=True)
    return sorted(set(by_role) | set(by_pool))


def desk_pools(staff: Actor) -> list[Pool]:
    """The desk's care teams, for the inbox's pool choice."""
    return list(scoped(staff, Pool).filter(is_active=True).order_by("name", "pk"))


SIDE_PANEL_ITEMS = 5
APPOINTMENT_KINDS = ("appointment",)
RESULT_KINDS = ("lab", "vital", "observation")


@dataclass(frozen=True)
class PatientPanel:
    """Beside a thread: who the patient is at this organization, and this organization's own records of them."""

    patient: Patient
    mrn: str
    appointments: list[FhirResource]
    results: list[FhirResource]
    sensitive_shown: bool  # clinical roles see the organization's sensitive items too


def patient_panel(staff: Actor, thread: Thread, *, now: datetime | None = None) -> PatientPanel:
    """The side panel of a staff thread (from access_staff_thread_by_id): three queries.

    Records from this organization only (records.selectors.organization_items): the organization's staff may
    see what their own organization recorded; nothing from the patient's other health systems, uploads or
    journal. Sensitive and confidential items only for clinicians and nurses (CLINICAL_ROLES).
    """
    organization = staff.organization
    clinical = bool(staff.roles_at(organization.pk) & CLINICAL_ROLES)
    mrn = scoped(staff, Enrollment).filter(patient_id=thread.patient_id).values_list("mrn", flat=True).first()
    return PatientPanel(
        patient=thread.patient,
        mrn=mrn or "",
        appointments=organization_items(
            organization,
            thread.patient,
            kinds=APPOINTMENT_KINDS,
            limit=SIDE_PANEL_ITEMS,
            order=UPCOMING,
            include_sensitive=clinical,
            now=now,
        ),
        results=organization_items(
            organization, thread.patient, kinds=RESULT_KINDS, limit=SIDE_PANEL_ITEMS, include_sensitive=clinical
        ),
        sensitive_shown=clinical,
    )


def quick_replies(staff: Actor) -> list[QuickReply]:
    """The desk's organization's reply templates, by title."""
    return list(scoped(staff, QuickReply).order_by("title", "pk"))
