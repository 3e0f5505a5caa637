"""Waitlist offers: people who would take an earlier time are offered a freed one by email, in the order they
joined; the first to take it gets it (the booking's own constraint decides), the others are told it is gone.

A freed time (a visit cancelled or moved) is offered right after its transaction commits, to at most
OFFERS_PER_TIME people whose wish it fits (the kind of visit, the provider or anyone, before their day),
each with a link of their own (its secret kept only as a digest) valid for OFFER_VALID or until the time's
notice runs out. A link opened again, late, or after someone else took the time changes nothing and says why.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from accounts.models import Patient, User
from scheduling.actions import (
    Booking,
    BookingError,
    SlotTakenError,
    book_appointment,
    move_appointment,
    on_time_freed,
)
from scheduling.models import (
    Appointment,
    OfferStatus,
    Provider,
    VisitType,
    WaitlistEntry,
    WaitlistOffer,
)
from scheduling.offers import digest_of
from scheduling.selectors import open_slots, policy_of
from scheduling.slots import Slot
from scheduling.times import when_text, zone_of

logger = logging.getLogger(__name__)
OFFERS_PER_TIME = 5
OFFER_VALID = timedelta(hours=2)


def join_waitlist(
    *,
    actor: Actor,
    patient: Patient,
    visit_type: VisitType,
    provider: Provider | None,
    appointment: Appointment | None,
    wanted_before: datetime,
    request: HttpRequest | None = None,
) -> WaitlistEntry:
    """Puts the person on the list (once per kind of visit: joining again replaces the wish)."""
    if appointment is not None:
        wanted_before = appointment.starts_at
    if wanted_before <= timezone.now():
        raise BookingError(_("Choose a day still to come."))
    with transaction.atomic():
        WaitlistEntry.objects.filter(patient=patient, visit_type=visit_type, ended_at__isnull=True).update(
            ended_at=timezone.now()
        )
        entry = WaitlistEntry.objects.create(
            organization=visit_type.organization,
            patient=patient,
            visit_type=visit_type,
            provider=provider,
            appointment=appointment,
            wanted_before=wanted_before,
            created_by=actor.user,
        )
        record_audit_event(
            action=AuditAction.WAITLIST_JOINED,
            actor=actor,
            request=request,
            subject=patient,
            object_type="waitlistentry",
            object_id=entry.pk,
        )
    return entry


def leave_waitlist(*, actor: Actor, appointment: Appointment) -> None:
    WaitlistEntry.objects.filter(appointment=appointment, ended_at__isnull=True).update(ended_at=timezone.now())


def _recipients(entry: WaitlistEntry) -> list[User]:
    people: list[User] = []
    for user in (entry.patient.user, entry.created_by):
        if user is not None and user.is_active and all(user.pk != other.pk for other in people):
            people.append(user)
    return people


def _email(users: list[User], subject: str, body: str) -> None:
    for user in users:
        try:
            send_mail(
                subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
                message=body,
                from_email=None,
                recipient_list=[user.email],
            )
        except (SMTPException, OSError):
            logger.warning("A waitlist email could not be sent.")


def offer_freed_time(*, provider: Provider, starts_at: datetime, ends_at: datetime, now: datetime | None = None) -> int:
    """Offers a freed time to those waiting for it, in order; returns how many offers went out."""
    moment = now or timezone.now()
    organization = provider.organization
    policy = policy_of(organization)
    expires = min(moment + OFFER_VALID, starts_at - timedelta(minutes=policy.min_notice_minutes))
    if expires <= moment:
        return 0
    entries = (
        WaitlistEntry.objects.filter(
            organization=organization,
            ended_at__isnull=True,
            wanted_before__gt=starts_at,
            visit_type__providers=provider,
        )
        .filter(Q(provider__isnull=True) | Q(provider=provider))
        .select_related("patient__user", "created_by", "visit_type__organization", "appointment")
        .order_by("created_at", "pk")
    )
    sent = 0
    fitting: dict[int, Slot | None] = {}
    for entry in entries:
        if sent >= OFFERS_PER_TIME:
            break
        if entry.visit_type_id not in fitting:  # the same kind of visit is checked once, not once per person
            free = open_slots(
                entry.visit_type, start=starts_at, end=starts_at + timedelta(minutes=1), now=moment, provider=provider
            )
            fitting[entry.visit_type_id] = next((slot for slot in free if slot.starts_at == starts_at), None)
        slot = fitting[entry.visit_type_id]
        if slot is None:  # the freed time does not fit this kind of visit
            continue
        secret = secrets.token_urlsafe(32)
        possible = [m for m in entry.visit_type.modes if m in slot.modes]
        if not possible:
            continue
        mode = (
            entry.appointment.mode
            if entry.appointment is not None and entry.appointment.mode in possible
            else possible[0]
        )
        offer, created = WaitlistOffer.objects.get_or_create(
            entry=entry,
            provider=provider,
            starts_at=slot.starts_at,
            defaults={
                "ends_at": slot.ends_at,
                "location_id": slot.location_id if mode == "in_person" else None,
                "mode": mode,
                "digest": digest_of(secret),
                "expires_at": expires,
            },
        )
        if not created:
            continue
        link = settings.PORTAL_URL + reverse("scheduling:offer", kwargs={"offer_id": secret})
        for user in _recipients(entry):
            with translation.override(user.language or settings.LANGUAGE_CODE):
                when = when_text(slot.starts_at, zone_of(entry.visit_type, offer.location))
                _email(
                    [user],
                    _("An earlier visit time is free"),
                    _(
                        "An earlier time is free at %(clinic)s: %(when)s. It goes to the first person to take it; "
                        "this link works for two hours: %(link)s"
                    )
                    % {"clinic": organization.name, "when": when, "link": link},
                )
        sent += 1
    return sent


class OfferGoneError(BookingError):
    """The offered time went to someone else, the offer expired, or it was already taken."""


def accept_offer(*, actor: Actor, offer: WaitlistOffer, request: HttpRequest | None = None) -> Appointment:
    """Books (or moves the waiting visit to) the offered time, if it is still free; tells the others it is gone."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            WaitlistOffer.objects.select_for_update().select_related("entry__visit_type__organization").get(pk=offer.pk)
        )
        if current.status == OfferStatus.ACCEPTED:
            raise OfferGoneError(_("This offer was already taken."))
        if current.status == OfferStatus.GONE:
            raise OfferGoneError(_("Someone else took this time first."))
        if current.expires_at <= now:
            raise OfferGoneError(_("This offer has expired."))
        entry = current.entry
        booking = Booking(
            visit_type=entry.visit_type,
            provider=current.provider,
            starts_at=current.starts_at,
            mode=current.mode,
            location=current.location,
        )
        try:
            if entry.appointment is not None and entry.appointment.holds_time:
                appointment = move_appointment(actor=actor, appointment=entry.appointment, to=booking, request=request)
            else:
                appointment = book_appointment(actor=actor, patient=entry.patient, booking=booking, request=request)
        except SlotTakenError:
            WaitlistOffer.objects.filter(pk=current.pk).update(status=OfferStatus.GONE)
            raise OfferGoneError(_("Someone else took this time first.")) from None
        WaitlistOffer.objects.filter(pk=current.pk).update(status=OfferStatus.ACCEPTED)
        WaitlistEntry.objects.filter(pk=entry.pk).update(ended_at=now)
        others = list(
            WaitlistOffer.objects.filter(
                provider=current.provider, starts_at=current.starts_at, status=OfferStatus.OFFERED
            ).select_related("entry__patient__user", "entry__created_by")
        )
        WaitlistOffer.objects.filter(pk__in=[other.pk for other in others]).update(status=OfferStatus.GONE)
    for other in others:
        for user in _recipients(other.entry):
            with translation.override(user.language or settings.LANGUAGE_CODE):
                _email(
                    [user],
                    _("The earlier time was taken"),
                    _("The earlier visit time offered to you was taken by someone else. You stay on the waiting list."),
                )
    offer.status = OfferStatus.ACCEPTED
    return appointment


@on_time_freed
def offer_after_commit(appointment: Appointment) -> None:
    """When the surrounding transaction commits, offer the visit's freed time to those waiting (never failing
    the cancellation or move that freed it)."""
    provider, starts_at, ends_at = appointment.provider, appointment.starts_at, appointment.ends_at

    def offer() -> None:
        try:
            offer_freed_time(provider=provider, starts_at=starts_at, ends_at=ends_at)
        except Exception:
            logger.exception("A freed time could not be offered to the waiting list.")

    transaction.on_commit(offer)
