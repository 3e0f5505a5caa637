"""Access helpers of the scheduling pages: objects of the subject's own clinics, or 404 (never "not yours").

A visit type, provider or location is reachable when the person the actor acts for (with the scheduling
scope) is enrolled at its organization; an appointment when it is that person's.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from accounts.access import access_subject, parse_int_id, parse_uuid
from accounts.actors import Actor, Scope
from accounts.scoping import scoped
from scheduling.models import (
    Appointment,
    AvailabilityException,
    ClosedDay,
    Location,
    Provider,
    VisitType,
    WaitlistOffer,
    WeeklyAvailability,
)
from scheduling.offers import digest_of

# Who works the scheduling desk: the day's schedule, marks and booking for a patient.
SCHEDULE_ROLES = frozenset({"clinician", "nurse", "front_desk", "org_admin"})
# The setup: the front desk and admins change hours, time away and closed days (and read the rest) ...
HOURS_ROLES = frozenset({"front_desk", "org_admin"})
# ... and only admins change the rules, locations, providers and kinds of visit.
OFFER_ROLES = frozenset({"org_admin"})


def access_visit_type_by_id(actor: Actor, visit_type_id: object) -> VisitType:
    """A visit type patients may book online, at an organization where the subject is enrolled."""
    patient = access_subject(actor, Scope.SCHEDULING)
    found = (
        VisitType.objects.filter(
            pk=parse_int_id(visit_type_id),
            is_active=True,
            bookable_online=True,
            organization__enrollments__patient=patient,
        )
        .select_related("organization")
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_provider_by_id(actor: Actor, provider_id: object, *, visit_type: VisitType) -> Provider:
    """An active provider who offers the visit type (already checked for the subject)."""
    found = visit_type.providers.filter(pk=parse_int_id(provider_id), is_active=True).first()
    if found is None:
        raise Http404
    return found


def access_location_by_id(actor: Actor, location_id: object, *, visit_type: VisitType) -> Location:
    found = Location.objects.filter(
        pk=parse_int_id(location_id), organization_id=visit_type.organization_id, is_active=True
    ).first()
    if found is None:
        raise Http404
    return found


def access_appointment_by_id(actor: Actor, appointment_id: object) -> Appointment:
    """One of the subject's appointments."""
    patient = access_subject(actor, Scope.SCHEDULING)
    found = (
        Appointment.objects.filter(pk=parse_uuid(appointment_id), patient=patient)
        .select_related("organization", "provider", "visit_type", "location")
        .first()
    )
    if found is None:
        raise Http404
    return found


# The staff side: rows of the desk's organization only.


def access_staff_appointment_by_id(staff: Actor, appointment_id: object) -> Appointment:
    found = (
        scoped(staff, Appointment)
        .filter(pk=parse_uuid(appointment_id))
        .select_related("organization", "patient", "provider", "visit_type")
        .first()
    )
    if found is None:
        raise Http404
    return found


def _desk_row(staff: Actor, model: type[Any], raw_id: object, **more: object) -> Any:
    found = scoped(staff, model).filter(pk=parse_int_id(raw_id), **more).first()
    if found is None:
        raise Http404
    return found


def access_staff_provider_by_id(staff: Actor, provider_id: object) -> Provider:
    return _desk_row(staff, Provider, provider_id)


def access_staff_location_by_id(staff: Actor, location_id: object) -> Location:
    return _desk_row(staff, Location, location_id)


def access_staff_visit_type_by_id(staff: Actor, visit_type_id: object) -> VisitType:
    return _desk_row(staff, VisitType, visit_type_id)


def access_staff_closed_day_by_id(staff: Actor, closed_day_id: object) -> ClosedDay:
    return _desk_row(staff, ClosedDay, closed_day_id)


def access_staff_hours_by_id(staff: Actor, hours_id: object, *, provider: Provider) -> WeeklyAvailability:
    """One of the provider's recurring hours (the provider already checked for the desk)."""
    return _desk_row(staff, WeeklyAvailability, hours_id, provider=provider)


def access_staff_time_away_by_id(staff: Actor, time_away_id: object, *, provider: Provider) -> AvailabilityException:
    return _desk_row(staff, AvailabilityException, time_away_id, provider=provider)


def access_offer_by_id(actor: Actor, offer_id: object) -> WaitlistOffer:
    """A waiting-list offer from its link (the id in it is the offer's secret, matched by its digest), for someone
    acting for its person with the scheduling scope (anyone else: 404, as for a link that does not exist)."""
    patient = access_subject(actor, Scope.SCHEDULING)
    found = (
        WaitlistOffer.objects.filter(digest=digest_of(str(offer_id)), entry__patient=patient)
        .select_related("entry__visit_type__organization", "provider", "location__organization")
        .first()
    )
    if found is None:
        raise Http404
    return found
