"""Booking, moving and cancelling appointments (actions: objects already checked, one transaction, audited).

The database has the last word on a provider's time: two bookings racing for one slot both pass the check
that it is free, and the constraint lets one of them in (appointment_no_overlap on Postgres; the unique start
everywhere). The other is told the time was just taken, with nearby free times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from accounts.models import Enrollment, Patient
from scheduling.models import Appointment, AppointmentStatus, Location, Mode, Provider, VisitType
from scheduling.selectors import (
    held_between,
    is_established,
    may_book_visit_type,
    nearby_slots,
    open_slots,
    policy_of,
)
from scheduling.slots import Slot
from scheduling.video import new_room

# Who hears that a visit's time was freed (a cancellation, a move), once its transaction commits: the waiting
# list (scheduling.waitlist registers itself, as the family view's cards do).
TIME_FREED: list[Callable[[Appointment], None]] = []


def on_time_freed(listener: Callable[[Appointment], None]) -> Callable[[Appointment], None]:
    TIME_FREED.append(listener)
    return listener


def _time_freed(appointment: Appointment) -> None:
    for listener in TIME_FREED:
        listener(appointment)


class BookingError(ValueError):
    """A booking, move or cancellation that cannot be done; the message says why, in the reader's words."""


@dataclass
class SlotTakenError(BookingError):
    """The time is no longer free (taken a moment ago, or never offered); `alternatives` are free times near it."""

    message: str
    alternatives: list[Slot] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class TooLateError(BookingError):
    """Past the organization's online cancellation cutoff: the message says the rule and whom to call."""


@dataclass(frozen=True)
class Booking:
    """What a person asks for."""

    visit_type: VisitType
    provider: Provider
    starts_at: datetime
    mode: str
    location: Location | None = None
    reason: str = ""
    questions: str = ""


def _checked_slot(
    booking: Booking, patient: Patient, *, now: datetime, by_staff: bool, moving: Appointment | None
) -> Slot:
    visit_type = booking.visit_type
    organization = visit_type.organization
    if booking.provider.organization_id != organization.pk:
        raise BookingError(_("This provider does not offer that visit."))
    if not Enrollment.objects.filter(patient=patient, organization=organization).exists():
        raise BookingError(_("Visits can only be booked where the person is a patient."))
    if not (visit_type.is_active and (visit_type.bookable_online or by_staff)):
        raise BookingError(_("This kind of visit cannot be booked online. Please call the clinic."))
    if not may_book_visit_type(visit_type, established=is_established(patient, organization, now=now)):
        raise BookingError(_("This kind of visit is for new patients only, or for patients already seen here."))
    if booking.mode not in visit_type.modes:
        raise BookingError(_("This kind of visit is not offered that way."))
    if booking.starts_at <= now:
        raise BookingError(_("That time has already passed. Please choose another."))
    found = open_slots(
        visit_type,
        start=booking.starts_at,
        end=booking.starts_at + timedelta(minutes=1),
        now=now,
        provider=booking.provider,
        location_id=booking.location.pk if booking.location is not None else None,
        mode=booking.mode,
        waive_notice=by_staff,
        ignoring=moving,
    )
    slot = next((slot for slot in found if slot.starts_at == booking.starts_at), None)
    if slot is None:
        length = timedelta(minutes=visit_type.duration_minutes)
        taken = held_between(booking.provider, booking.starts_at, booking.starts_at + length, ignoring=moving)
        raise SlotTakenError(
            _("That time was just taken. Here are the nearest free times.")
            if taken
            else _("That time is not available. Here are the nearest free times."),
            nearby_slots(visit_type, booking.starts_at, now=now),
        )
    return slot


def _first_status(visit_type: VisitType, *, by_staff: bool) -> str:
    """Requested (staff confirm it) for a visit type that needs approval, unless staff book it themselves."""
    return AppointmentStatus.REQUESTED if visit_type.needs_approval and not by_staff else AppointmentStatus.BOOKED


def _create(
    actor: Actor,
    patient: Patient,
    booking: Booking,
    slot: Slot,
    *,
    by_staff: bool,
    moment: datetime,
    keeping: Appointment | None = None,
) -> Appointment:
    """The appointment row of a booking (a move keeps the old visit's reason and questions unless given anew)."""
    user = actor.user
    return Appointment.objects.create(
        organization=booking.visit_type.organization,
        provider=booking.provider,
        patient=patient,
        visit_type=booking.visit_type,
        location=booking.location,
        mode=booking.mode,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        status=_first_status(booking.visit_type, by_staff=by_staff),
        reason=booking.reason.strip()[:500] or (keeping.reason if keeping else ""),
        questions=booking.questions.strip()[:4000] or (keeping.questions if keeping else ""),
        booked_by=user,
        booked_by_name=(user.full_name or user.email) if user else "",
        booked_by_staff=by_staff,
        created_at=moment,
        video_room=new_room() if booking.mode == Mode.VIDEO else "",
    )


def audit_visit(
    action: AuditAction,
    *,
    actor: Actor,
    appointment: Appointment,
    request: HttpRequest | None,
    detail: dict[str, str] | None = None,
) -> None:
    """An audit row about one visit, in its patient's access history."""
    record_audit_event(
        action=action,
        actor=actor,
        request=request,
        subject=appointment.patient,
        object_type="appointment",
        object_id=appointment.pk,
        detail=detail,
    )


def book_appointment(
    *,
    actor: Actor,
    patient: Patient,
    booking: Booking,
    by_staff: bool = False,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Books the visit for `patient` (checked by the caller: the actor's subject, or a patient at the staff
    member's desk). A visit type that needs approval is requested, not booked, unless staff book it."""
    moment = now or timezone.now()
    slot = _checked_slot(booking, patient, now=moment, by_staff=by_staff, moving=None)
    try:
        with transaction.atomic():
            appointment = _create(actor, patient, booking, slot, by_staff=by_staff, moment=moment)
            requested = appointment.status == AppointmentStatus.REQUESTED
            action = AuditAction.APPOINTMENT_REQUESTED if requested else AuditAction.APPOINTMENT_BOOKED
            audit_visit(action, actor=actor, appointment=appointment, request=request)
    except IntegrityError as error:
        raise SlotTakenError(
            _("That time was just taken. Here are the nearest free times."),
            nearby_slots(booking.visit_type, booking.starts_at, now=moment),
        ) from error
    return appointment


def _may_change_online(appointment: Appointment, *, now: datetime) -> None:
    policy = policy_of(appointment.organization)
    if appointment.starts_at - now < timedelta(minutes=policy.cancel_cutoff_minutes):
        hours = max(1, policy.cancel_cutoff_minutes // 60)
        if policy.phone:
            message = _(
                "Visits can be changed online until %(hours)s hours before they start. Please call %(phone)s."
            ) % {"hours": hours, "phone": policy.phone}
        else:
            message = _(
                "Visits can be changed online until %(hours)s hours before they start. Please call the clinic."
            ) % {"hours": hours}
        raise TooLateError(message)


def _locked_to_change(appointment: Appointment, *, by_staff: bool, moment: datetime, refused: str) -> Appointment:
    """The visit, locked, if it may still be cancelled or moved (online: before the organization's cutoff)."""
    current = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not current.holds_time or current.starts_at <= moment:
        raise BookingError(refused)
    if not by_staff:
        _may_change_online(current, now=moment)
    return current


def _release(current: Appointment, moment: datetime) -> None:
    """Cancels the visit and tells those who wait for its time (after the commit)."""
    current.status = AppointmentStatus.CANCELLED
    current.cancelled_at = moment
    current.save(update_fields=["status", "cancelled_at"])
    _time_freed(current)


def cancel_appointment(
    *,
    actor: Actor,
    appointment: Appointment,
    by_staff: bool = False,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> None:
    """Cancels a visit that still holds its time; online (not staff) only before the organization's cutoff."""
    moment = now or timezone.now()
    with transaction.atomic():
        current = _locked_to_change(
            appointment, by_staff=by_staff, moment=moment, refused=_("This visit can no longer be cancelled.")
        )
        _release(current, moment)
        audit_visit(AuditAction.APPOINTMENT_CANCELLED, actor=actor, appointment=current, request=request)
    appointment.status, appointment.cancelled_at = current.status, current.cancelled_at


def move_appointment(
    *,
    actor: Actor,
    appointment: Appointment,
    to: Booking,
    by_staff: bool = False,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Moves a visit to another free time: the new one is booked and the old one cancelled together, or neither
    (when the new time is taken, the visit keeps its old time)."""
    moment = now or timezone.now()
    if to.visit_type.organization_id != appointment.organization_id:
        raise BookingError(_("A visit can only move to another time at the same clinic."))
    try:
        with transaction.atomic():
            current = _locked_to_change(
                appointment, by_staff=by_staff, moment=moment, refused=_("This visit can no longer be moved.")
            )
            slot = _checked_slot(to, current.patient, now=moment, by_staff=by_staff, moving=current)
            _release(current, moment)
            moved = _create(actor, current.patient, to, slot, by_staff=by_staff, moment=moment, keeping=current)
            audit_visit(
                AuditAction.APPOINTMENT_MOVED,
                actor=actor,
                appointment=moved,
                request=request,
                detail={"from": str(current.pk)},
            )
    except IntegrityError as error:
        raise SlotTakenError(
            _("That time was just taken. Here are the nearest free times."),
            nearby_slots(to.visit_type, to.starts_at, now=moment),
        ) from error
    return moved


ARRIVAL_WINDOW = timedelta(hours=12)  # "the day of the visit", whatever the clinic's hours


class StaffMark:
    """What staff mark on a visit, and from which statuses (a visit over is over; arriving is for its day)."""

    CONFIRM = "confirm"  # a requested visit, booked
    ARRIVED = "arrived"
    COMPLETED = "completed"
    NO_SHOW = "no_show"

    ALL = (CONFIRM, ARRIVED, COMPLETED, NO_SHOW)


def mark_appointment(
    *,
    staff: Actor,
    appointment: Appointment,
    mark: str,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> None:
    """Staff at the visit's organization mark it; two marking at once: the second sees the first's mark and is told."""
    moment = now or timezone.now()
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        status = current.status
        if mark == StaffMark.CONFIRM and status == AppointmentStatus.REQUESTED:
            new = AppointmentStatus.BOOKED
        elif mark == StaffMark.ARRIVED and status in (AppointmentStatus.BOOKED, AppointmentStatus.REQUESTED):
            if abs(current.starts_at - moment) > ARRIVAL_WINDOW:
                raise BookingError(_("A patient can only arrive on the day of their visit."))
            new = AppointmentStatus.ARRIVED
        elif mark == StaffMark.COMPLETED and status in (AppointmentStatus.ARRIVED, AppointmentStatus.BOOKED):
            if current.starts_at > moment:
                raise BookingError(_("A visit can be marked as seen once it has started."))
            new = AppointmentStatus.COMPLETED
        elif mark == StaffMark.NO_SHOW and status in (AppointmentStatus.BOOKED, AppointmentStatus.REQUESTED):
            if current.starts_at > moment:
                raise BookingError(_("A visit can be marked as missed once its time has come."))
            new = AppointmentStatus.NO_SHOW
        else:
            raise BookingError(
                _("This visit is already marked “%(status)s”; the page was out of date.")
                % {"status": current.get_status_display()}
            )
        current.status = new
        current.save(update_fields=["status"])
        audit_visit(
            AuditAction.APPOINTMENT_STATUS_CHANGED,
            actor=staff,
            appointment=current,
            request=request,
            detail={"status": new},
        )
    appointment.status = new
