"""Reads of the staff side: what the desk's organization offers and when, its week, and the patients it may
book for (rows of the desk's organization only, through accounts.scoping)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Enrollment, Organization
from accounts.scoping import scoped
from scheduling.models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    ClosedDay,
    Location,
    Provider,
    SchedulingPolicy,
    VisitType,
    WeeklyAvailability,
)
from scheduling.selectors import mrn_at_desk, policy_of
from scheduling.times import day_bounds


def held_visits(
    provider_ids: list[int] | None, starts: datetime, ends: datetime, *, organization: Organization | None = None
) -> list[Appointment]:
    """The visits holding time between two instants, of some providers or of a whole organization."""
    visits = Appointment.objects.filter(status__in=HOLDING_STATUSES, starts_at__lt=ends, ends_at__gt=starts)
    if provider_ids is not None:
        visits = visits.filter(provider_id__in=provider_ids)
    if organization is not None:
        visits = visits.filter(organization=organization)
    return list(visits.select_related("patient", "provider").order_by("starts_at"))


@dataclass
class Offer:
    """Everything the setup page shows: the rules, the places, the people and the kinds of visit."""

    policy: SchedulingPolicy
    locations: list[Location]
    providers: list[Provider]
    visit_types: list[VisitType]
    closed_days: list[ClosedDay]


def what_the_desk_offers(staff: Actor) -> Offer:
    organization = staff.organization
    today = timezone.now().astimezone(ZoneInfo(organization.time_zone)).date()
    return Offer(
        policy=policy_of(organization),
        locations=list(scoped(staff, Location).select_related("organization").order_by("-is_active", "name")),
        providers=list(
            scoped(staff, Provider).prefetch_related("locations", "availability").order_by("-is_active", "display_name")
        ),
        visit_types=list(
            scoped(staff, VisitType)
            .prefetch_related(Prefetch("providers", queryset=Provider.objects.order_by("display_name")))
            .order_by("-is_active", "name")
        ),
        closed_days=list(scoped(staff, ClosedDay).filter(day__gte=today).order_by("day")),
    )


@dataclass
class TimeAway:
    away: AvailabilityException
    visits: list[Appointment]  # booked inside it, for staff to move


def hours_of(provider: Provider) -> list[WeeklyAvailability]:
    return list(
        WeeklyAvailability.objects.filter(provider=provider)
        .select_related("location__organization")
        .order_by("weekday", "starts", "pk")
    )


def time_away_of(provider: Provider, *, now: datetime) -> list[TimeAway]:
    """The provider's time away that has not ended, each with the visits still booked inside it."""
    rows = list(AvailabilityException.objects.filter(provider=provider, ends_at__gt=now).order_by("starts_at"))
    if not rows:
        return []
    visits = held_visits([provider.pk], rows[0].starts_at, max(row.ends_at for row in rows))
    return [
        TimeAway(row, [visit for visit in visits if visit.starts_at < row.ends_at and visit.ends_at > row.starts_at])
        for row in rows
    ]


def visits_between(staff: Actor, first: date, last: date, *, with_cancelled: bool = True) -> list[Appointment]:
    """The desk's visits from one day to another (included, the organization's clock), in time order, with each
    patient's MRN at the organization (`mrn`)."""
    zone = ZoneInfo(staff.organization.time_zone)
    starts, _ = day_bounds(first, zone)
    _, ends = day_bounds(last, zone)
    visits = scoped(staff, Appointment).filter(starts_at__gte=starts, starts_at__lt=ends)
    if not with_cancelled:
        visits = visits.exclude(status=AppointmentStatus.CANCELLED)
    return list(
        visits.select_related("patient", "provider", "visit_type")
        .annotate(mrn=mrn_at_desk(staff))
        .order_by("starts_at", "provider__display_name")
    )


def week_schedule(staff: Actor, monday: date) -> list[Appointment]:
    """Seven days of the desk's visits that were not cancelled."""
    return visits_between(staff, monday, monday + timedelta(days=6), with_cancelled=False)


PATIENT_MATCHES = 20


def patients_matching(staff: Actor, query: str) -> list[Enrollment]:
    """The desk's patients whose name or MRN matches, to book for (at most PATIENT_MATCHES)."""
    query = query.strip()[:100]
    if not query:
        return []
    # Every word in the given or family name ("rosa lopez", "lopez"), or the MRN as typed.
    names = Q()
    for word in query.split():
        names &= Q(patient__family_name__icontains=word) | Q(patient__given_name__icontains=word)
    matches = scoped(staff, Enrollment).filter(Q(mrn=query) | names)
    return list(
        matches.select_related("patient").order_by("patient__family_name", "patient__given_name")[:PATIENT_MATCHES]
    )


def desk_visit_types(staff: Actor) -> list[VisitType]:
    """Every kind of visit the desk may book, online or not, with its active providers."""
    return list(
        scoped(staff, VisitType)
        .filter(is_active=True)
        .select_related("organization")
        .prefetch_related(
            Prefetch("providers", queryset=Provider.objects.filter(is_active=True).order_by("display_name"))
        )
        .order_by("name")
    )
