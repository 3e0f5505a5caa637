"""Who may open which thread, message file, pool or refill request: one place for both sides.

Patients and caregivers: the threads of the person they act for, with the messaging scope; a private
thread only to the patient acting for themselves (no caregiver, a parent of an adolescent above all, ever
sees one). Refill requests with the refills scope. Staff: their desk's organization only (messaging.scoping).
"Missing" and "not yours" are the same 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from accounts.access import access_subject, parse_int_id
from accounts.actors import Actor, Scope
from accounts.models import Membership, Organization, User
from accounts.scoping import scoped
from messaging.models import (
    Attachment,
    MessageKind,
    Pharmacy,
    Pool,
    QuickReply,
    RefillRequest,
    Thread,
    Topic,
)

if TYPE_CHECKING:
    from records.models import FhirResource

INBOX_ROLES = frozenset({"clinician", "nurse", "front_desk", "org_admin"})
# Who may decide a refill: those who prescribe or work under standing orders, not the front desk.
REFILL_DECIDERS = frozenset({"clinician", "nurse"})
# Who sees the sensitive and confidential items of the organization's own records beside a thread.
CLINICAL_ROLES = frozenset({"clinician", "nurse"})


def threads_visible_to(actor: Actor) -> QuerySet[Thread]:
    """The threads of the person the actor acts for (none without the messaging scope)."""
    if actor.subject is None or Scope.MESSAGING not in actor.scopes:
        return Thread.objects.none()
    rows = Thread.objects.filter(patient=actor.subject)
    if not actor.acts_for_self:
        rows = rows.filter(private=False)
    if Scope.REFILLS not in actor.scopes:
        # A refill request's conversation names a medicine: for those who hold the refills scope only.
        rows = rows.exclude(topic=Topic.REFILL)
    return rows


def access_thread_by_id(actor: Actor, thread_id: object) -> Thread:
    thread = (
        threads_visible_to(actor)
        .select_related("organization", "pool", "patient")
        .filter(pk=parse_int_id(thread_id))
        .first()
    )
    if thread is None:
        raise Http404
    return thread


def access_attachment_by_id(actor: Actor, attachment_id: object, *, thread: Thread) -> Attachment:
    found = (
        Attachment.objects.filter(pk=parse_int_id(attachment_id), message__thread=thread)
        .exclude(message__kind=MessageKind.NOTE)
        .first()
    )
    if found is None:
        raise Http404
    return found


def organizations_to_write_to(actor: Actor) -> QuerySet[Organization]:
    """Where the person the actor acts for is enrolled and a care team takes messages."""
    patient = access_subject(actor, Scope.MESSAGING)
    return (
        Organization.objects.filter(enrollments__patient=patient, message_pools__is_active=True)
        .distinct()
        .order_by("name")
    )


def access_pool_to_write_to(actor: Actor, pool_id: object) -> Pool:
    """A care team of an organization where the subject is enrolled."""
    patient = access_subject(actor, Scope.MESSAGING)
    pool = (
        Pool.objects.select_related("organization")
        .filter(pk=parse_int_id(pool_id), is_active=True, organization__enrollments__patient=patient)
        .first()
    )
    if pool is None:
        raise Http404
    return pool


def refills_visible_to(actor: Actor) -> QuerySet[RefillRequest]:
    if actor.subject is None or Scope.REFILLS not in actor.scopes:
        return RefillRequest.objects.none()
    rows = RefillRequest.objects.filter(patient=actor.subject)
    if not actor.acts_for_self:
        rows = rows.filter(thread__private=False)
    return rows


def access_pharmacy_by_id(actor: Actor, pharmacy_id: object) -> Pharmacy:
    """A pharmacy of an organization where the subject is enrolled (to request a refill to, or to keep)."""
    patient = access_subject(actor, Scope.REFILLS)
    found = (
        Pharmacy.objects.filter(
            pk=parse_int_id(pharmacy_id), is_active=True, organization__enrollments__patient=patient
        )
        .select_related("organization")
        .first()
    )
    if found is None:
        raise Http404
    return found


# The staff side: rows of the desk's organization only.


def access_pool_by_id(staff: Actor, pool_id: object) -> Pool:
    found = scoped(staff, Pool).filter(pk=parse_int_id(pool_id)).first()
    if found is None:
        raise Http404
    return found


def access_staff_thread_by_id(staff: Actor, thread_id: object) -> Thread:
    found = (
        scoped(staff, Thread)
        .select_related("organization", "pool", "patient", "assigned_to", "result")
        .filter(pk=parse_int_id(thread_id))
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_staff_attachment_by_id(staff: Actor, attachment_id: object, *, thread: Thread) -> Attachment:
    found = scoped(staff, Attachment).filter(pk=parse_int_id(attachment_id), message__thread=thread).first()
    if found is None:
        raise Http404
    return found


def access_staff_refill_by_id(staff: Actor, refill_id: object) -> RefillRequest:
    found = (
        scoped(staff, RefillRequest)
        .select_related("thread", "pharmacy", "patient")
        .filter(pk=parse_int_id(refill_id))
        .first()
    )
    if found is None:
        raise Http404
    return found


def colleagues_at_desk(staff: Actor) -> QuerySet[User]:
    """Who a thread at the desk may go to: active members of the desk's organization in an inbox role."""
    if staff.desk is None or staff.desk.organization is None:
        return User.objects.none()
    members = scoped(staff, Membership).filter(role__in=INBOX_ROLES, user__is_active=True)
    return User.objects.filter(pk__in=members.values("user_id")).order_by("full_name", "email")


def access_colleague_by_id(staff: Actor, user_id: object) -> User:
    """A colleague at the desk to give a thread to (404 for anyone else, whoever they are)."""
    found = colleagues_at_desk(staff).filter(pk=parse_int_id(user_id)).first()
    if found is None:
        raise Http404
    return found


def access_quick_reply_by_id(staff: Actor, quick_reply_id: object) -> QuickReply:
    """One of the desk's organization's reply templates."""
    found = scoped(staff, QuickReply).filter(pk=parse_int_id(quick_reply_id)).first()
    if found is None:
        raise Http404
    return found


# Refills: the medicine asked for, by the id of one of its current orders in the record.


def access_medication_by_id(actor: Actor, medication_id: object) -> FhirResource:
    """A current medication order of the person the actor acts for, as the refills page lists it (refills scope).

    Refillable or not: the page for a read-only one says where to ask instead. With the refills scope alone,
    only the refillable ones are listed (messaging.refills); sensitive orders stay hidden as on the record.
    """
    from messaging.refills import medicine_by_order

    access_subject(actor, Scope.REFILLS)
    medicine = medicine_by_order(actor, parse_int_id(medication_id))
    if medicine is None:
        raise Http404
    return medicine.order
