"""Writes of the refills: asking for one, favourite pharmacies, reminders per medicine, and the staff's decision.

As in messaging.actions: keyword arguments, objects already checked (messaging.access), the acting `Actor`,
one transaction with the audit row and the notices (the outbox). A refusal of who asks raises
NotAllowedError (403, nothing changed); a change that cannot be made raises MessagingError.

A refill request is a thread of the topic "refill" in the organization's pool that handles refills (else its
first active pool), with the request beside it; its decision is an update in that thread (shown to the
patient's side), closes the thread and tells the patient and the caregivers who chose refill emails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.actions.audit import record_audit_event, record_audit_events
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from accounts.models import Enrollment, User
from messaging.access import REFILL_DECIDERS
from messaging.actions import MessagingError, patient_side_recipients, queue_notice
from messaging.models import (
    FavoritePharmacy,
    Message,
    MessageKind,
    NoticeKind,
    Pharmacy,
    Pool,
    RefillReminderChoice,
    RefillRequest,
    RefillStatus,
    Thread,
    ThreadRead,
    ThreadStatus,
    Topic,
)
from messaging.refills import Medicine, medicine_by_key, medicine_by_order
from messaging.turnaround import reply_due
from proxy.actions import NotAllowedError
from records.models import Sensitivity

if TYPE_CHECKING:
    from django.http import HttpRequest

    from records.models import FhirResource

NOTE_LIMIT = 1000
REASON_LIMIT = 500
MAX_QUANTITY = 10_000
MAX_REFILLS = 99


class AlreadyDecidedError(MessagingError):
    """Someone else decided the request first: nothing changed (answered 409)."""


def _name(user: User) -> str:
    return user.full_name or user.email


def _asker(actor: Actor) -> User:
    if actor.user is None or actor.subject is None or Scope.REFILLS not in actor.scopes:
        raise NotAllowedError(_("You may not ask for refills for this person."))
    return actor.user


def refill_pool(organization_id: int) -> Pool | None:
    """Where an organization's refill requests go: its pool that handles refills, else its first active pool."""
    return (
        Pool.objects.filter(organization_id=organization_id, is_active=True)
        .order_by("-handles_refills", "pk")
        .select_related("organization")
        .first()
    )


def _waiting_message(medicine: Medicine) -> str:
    waiting = medicine.waiting
    if waiting is None:
        return _("A refill of this medicine was already asked for and is waiting for an answer.")
    return _("A refill of this medicine was asked for on %(day)s and is waiting for an answer.") % {
        "day": date_format(timezone.localtime(waiting.requested_at), "DATE_FORMAT")
    }


@dataclass(frozen=True)
class Requested:
    refill: RefillRequest
    thread: Thread


def request_refill(
    *,
    actor: Actor,
    medication: FhirResource,
    pharmacy: Pharmacy,
    note: str = "",
    keep_favorite: bool = False,
    private: bool = False,
    request: HttpRequest | None = None,
) -> Requested:
    """Ask the prescribing organization's care team to renew a medicine (`medication` from
    access_medication_by_id, `pharmacy` from access_pharmacy_by_id).

    A second request for the same medicine while one is waiting is refused with a clear message. The
    request is private (the patient's alone) when the patient asks so themselves, and always when the order is
    sensitive and the patient asks themselves: a parent never sees an adolescent's private request.
    """
    author = _asker(actor)
    patient = actor.subject
    assert patient is not None
    if private and not actor.acts_for_self:
        raise NotAllowedError(_("Only the patient can ask privately."))
    medicine = medicine_by_order(actor, medication.pk)
    if medicine is None:
        raise NotAllowedError(_("That medicine is not in this person's record."))
    if medicine.organization is None:
        raise MessagingError(_("This medicine cannot be refilled here.") + " " + medicine.ask_instead)
    if medicine.waiting is not None:
        raise MessagingError(_waiting_message(medicine))
    organization = medicine.organization
    if pharmacy.organization_id != organization.pk or not pharmacy.is_active:
        raise MessagingError(_("Choose one of %(name)s's pharmacies.") % {"name": organization.name})
    text = (note or "").replace("\r\n", "\n").strip()
    if len(text) > NOTE_LIMIT:
        raise MessagingError(_("A note can be at most %(limit)s characters.") % {"limit": NOTE_LIMIT})
    private = actor.acts_for_self and (private or medicine.order.sensitivity != Sensitivity.NORMAL)
    pool = refill_pool(organization.pk)
    if pool is None:
        raise MessagingError(_("%(name)s does not take refill requests here yet.") % {"name": organization.name})
    now = timezone.now()
    body = _("Please refill %(medicine)s, to %(pharmacy)s.") % {"medicine": medicine.name, "pharmacy": pharmacy.name}
    if text:
        body += "\n\n" + text
    try:
        with transaction.atomic():
            if not Enrollment.objects.filter(patient=patient, organization=organization).exists():
                raise NotAllowedError(_("This person is not a patient of that organization."))
            thread = Thread.objects.create(
                organization=organization,
                pool=pool,
                patient=patient,
                topic=Topic.REFILL,
                subject=(_("Refill: %(medicine)s") % {"medicine": medicine.name})[:150],
                started_by=author,
                private=private,
                status=ThreadStatus.WAITING_ON_STAFF,
                created_at=now,
                last_message_at=now,
                last_patient_message_at=now,
                reply_due_at=reply_due(organization, now),
            )
            Message.objects.create(
                thread=thread,
                author=author,
                author_name=_name(author),
                on_behalf_of_name="" if actor.acts_for_self else patient.display_name,
                body=body,
                created_at=now,
            )
            ThreadRead.objects.create(thread=thread, user=author, read_at=now)
            refill = RefillRequest.objects.create(
                thread=thread,
                patient=patient,
                organization=organization,
                medication=medicine.order,
                medication_name=medicine.name[:300],
                medication_key=medicine.key,
                pharmacy=pharmacy,
                requested_by=author,
                requested_at=now,
            )
            if keep_favorite:
                FavoritePharmacy.objects.get_or_create(patient=patient, pharmacy=pharmacy)
            record_audit_event(
                action=AuditAction.REFILL_REQUESTED,
                actor=actor,
                request=request,
                object_type="refillrequest",
                object_id=refill.pk,
            )
    except IntegrityError as error:
        # Asked twice at once (two clicks, two caregivers): the other request is the one waiting.
        if RefillRequest.objects.filter(
            patient=patient, organization=organization, medication_key=medicine.key, status=RefillStatus.SENT
        ).exists():
            raise MessagingError(_waiting_message(medicine)) from error
        raise
    return Requested(refill=refill, thread=thread)


def mark_decisions_seen(*, user: User, refills: list[RefillRequest]) -> None:
    """The person saw these decisions (on the refills page): their threads count as read (one statement).

    `refills` from messaging.refills.refill_history (annotated with `seen`).
    """
    now = timezone.now()
    unseen = [r for r in refills if r.decided_at is not None and not getattr(r, "seen", False)]
    if not unseen:
        return
    ThreadRead.objects.bulk_create(
        [ThreadRead(thread_id=r.thread_id, user=user, read_at=now) for r in unseen],
        update_conflicts=True,
        unique_fields=["thread", "user"],
        update_fields=["read_at"],
    )


def set_favorite_pharmacy(
    *, actor: Actor, pharmacy: Pharmacy, favorite: bool, request: HttpRequest | None = None
) -> None:
    """Keep a pharmacy (from access_pharmacy_by_id) among the person's favourites, or stop keeping it."""
    _asker(actor)
    patient = actor.subject
    with transaction.atomic():
        if favorite:
            FavoritePharmacy.objects.get_or_create(patient=patient, pharmacy=pharmacy)
        else:
            FavoritePharmacy.objects.filter(patient=patient, pharmacy=pharmacy).delete()
        record_audit_event(
            action=AuditAction.FAVORITE_PHARMACY_CHANGED,
            actor=actor,
            request=request,
            object_type="pharmacy",
            object_id=pharmacy.pk,
        )


def set_reminders(*, actor: Actor, key: str, on: bool, request: HttpRequest | None = None) -> Medicine:
    """Turn refill reminders off (or back on) for one medicine the actor may see on the refills page."""
    author = _asker(actor)
    patient = actor.subject
    medicine = medicine_by_key(actor, key)
    if medicine is None:
        raise MessagingError(_("That medicine is not on the list any more."))
    with transaction.atomic():
        RefillReminderChoice.objects.update_or_create(
            patient=patient,
            medication_key=medicine.key,
            defaults={"reminders_on": on, "changed_by": author, "changed_at": timezone.now()},
        )
        record_audit_event(action=AuditAction.REFILL_REMINDERS_CHANGED, actor=actor, request=request)
    medicine.reminders_on = on
    return medicine


# The staff side


class Decision:
    APPROVE = "approve"
    DENY = "deny"
    VISIT = "visit"

    ALL = (APPROVE, DENY, VISIT)


STATUS_OF = {
    Decision.APPROVE: RefillStatus.APPROVED,
    Decision.DENY: RefillStatus.DENIED,
    Decision.VISIT: RefillStatus.VISIT_NEEDED,
}
AUDIT_OF = {
    Decision.APPROVE: AuditAction.REFILL_APPROVED,
    Decision.DENY: AuditAction.REFILL_DENIED,
    Decision.VISIT: AuditAction.REFILL_VISIT_NEEDED,
}


def _unit(refill: RefillRequest) -> str:
    """What the quantity counts (tablets, mL), as the order says, if it does."""
    order = refill.medication
    raw = order.raw if order is not None and isinstance(order.raw, dict) else {}
    dispense = raw.get("dispenseRequest")
    quantity = dispense.get("quantity") if isinstance(dispense, dict) else None
    unit = quantity.get("unit") if isinstance(quantity, dict) else None
    return str(unit)[:40] if isinstance(unit, str) else ""


def decision_text(refill: RefillRequest) -> str:
    """The update the patient's side reads in the thread (and on the refills page)."""
    if refill.status == RefillStatus.APPROVED:
        refills = refill.refills or 0
        unit = _unit(refill)
        return _("Refill approved: %(quantity)s, %(refills)s.") % {
            "quantity": f"{refill.quantity} {unit}" if unit else str(refill.quantity),
            "refills": ngettext("%(count)s refill", "%(count)s refills", refills) % {"count": refills},
        }
    if refill.status == RefillStatus.DENIED:
        return _("Refill denied: %(reason)s") % {"reason": refill.reason}
    if refill.status == RefillStatus.VISIT_NEEDED:
        return _("A visit is needed before this refill: %(reason)s") % {"reason": refill.reason}
    return _("Refill request sent.")


def _check_decider(staff: Actor, refill: RefillRequest) -> User:
    """A clinician or nurse at the request's organization (front desk and admins see the queue, never decide)."""
    if staff.user is None or staff.desk is None or staff.desk.organization is None:
        raise NotAllowedError(_("Only the care team can do this."))
    if refill.organization_id != staff.desk.organization.pk:
        raise NotAllowedError(_("Only the care team can do this."))
    if not staff.roles_at(refill.organization_id) & REFILL_DECIDERS:
        raise NotAllowedError(_("Only a clinician or a nurse can decide a refill."))
    return staff.user


def _checked_decision(decision: str, quantity: int | None, refills: int | None, reason: str) -> dict[str, Any]:
    if decision not in Decision.ALL:
        raise MessagingError(_("Choose approve, deny or ask for a visit."))
    text = " ".join((reason or "").split())
    if len(text) > REASON_LIMIT:
        raise MessagingError(_("A reason can be at most %(limit)s characters.") % {"limit": REASON_LIMIT})
    if decision == Decision.APPROVE:
        if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            raise MessagingError(_("Give the quantity to dispense (1 to %(max)s).") % {"max": MAX_QUANTITY})
        if refills is not None and not 0 <= refills <= MAX_REFILLS:
            raise MessagingError(_("Refills can be 0 to %(max)s.") % {"max": MAX_REFILLS})
        return {"quantity": quantity, "refills": refills or 0, "reason": text}
    if not text:
        raise MessagingError(
            _("Give the reason: the patient reads it.")
            if decision == Decision.DENY
            else _("Say what the visit is for: the patient reads it.")
        )
    return {"quantity": None, "refills": None, "reason": text}


def decide_refill(
    *,
    staff: Actor,
    refill: RefillRequest,
    decision: str,
    quantity: int | None = None,
    refills: int | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> RefillRequest:
    """Approve (quantity, refills), deny (with the reason) or ask for a visit (what for): `refill` from
    access_staff_refill_by_id. Two people deciding at once: the first wins; the other is told who decided,
    and nothing changes (AlreadyDecidedError)."""
    user = _check_decider(staff, refill)
    values = _checked_decision(decision, quantity, refills, reason)
    now = timezone.now()
    with transaction.atomic():
        won = RefillRequest.objects.filter(pk=refill.pk, status=RefillStatus.SENT).update(
            status=STATUS_OF[decision], decided_by=user, decided_at=now, **values
        )
        if not won:
            holder = RefillRequest.objects.filter(pk=refill.pk).values_list(
                "decided_by__full_name", "decided_by__email"
            )
            name = next((full or email for full, email in holder), "") or _("someone else")
            raise AlreadyDecidedError(_("This request was already decided by %(name)s.") % {"name": name})
        refill.refresh_from_db()
        thread = Thread.objects.select_related("patient__user").get(pk=refill.thread_id)
        message = Message.objects.create(
            thread=thread,
            kind=MessageKind.EVENT,
            author=user,
            from_staff=True,
            author_name=_name(user),
            body=decision_text(refill),
            created_at=now,
        )
        Thread.objects.filter(pk=thread.pk).update(
            status=ThreadStatus.CLOSED,
            closed_at=now,
            reply_due_at=None,
            assigned_to=thread.assigned_to_id or user.pk,
            last_message_at=now,
            last_staff_message_at=now,
        )
        ThreadRead.objects.update_or_create(thread=thread, user=user, defaults={"read_at": now})
        record_audit_event(
            action=AUDIT_OF[decision],
            actor=staff,
            subject=refill.patient,
            request=request,
            object_type="refillrequest",
            object_id=refill.pk,
        )
        for recipient in patient_side_recipients(thread):
            queue_notice(
                kind=NoticeKind.REFILL_UPDATE,
                recipient=recipient,
                thread=thread,
                message=message,
                dedupe=f"{message.pk}:{recipient.pk}",
            )
    return refill


def record_queue_read(*, staff: Actor, refills: list[RefillRequest], request: HttpRequest) -> None:
    """A staff member saw the refill queue: one audit row per request shown, in one statement."""
    record_audit_events(
        action=AuditAction.REFILLS_VIEWED,
        actor=staff,
        request=request,
        rows=[(refill.patient, "refillrequest", refill.pk) for refill in refills],
    )
