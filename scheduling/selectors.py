"""Reads of the scheduling data: an organization's booking policy and the free slots of its providers.

Slots are worked out (scheduling.slots) from what a few queries read, whatever the number of providers and
days: the providers' windows with their locations' clocks, the organization's closed days, and their exceptions
and held appointments, read only as far ahead as the search needs.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from accounts.actors import Actor
from accounts.models import Enrollment, Organization, Patient
from accounts.scoping import scoped
from scheduling.models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    CheckIn,
    ClosedDay,
    FormResponse,
    Location,
    PatientStatus,
    Provider,
    SchedulingPolicy,
    VisitType,
    WaitlistEntry,
    WeeklyAvailability,
)
from scheduling.slots import Slot, Window, soonest_slots
from scheduling.times import day_bounds

# A patient seen at the organization within this time is "established" there (the usual three years).
ESTABLISHED_WITHIN = timedelta(days=3 * 365)


def policy_of(organization: Organization) -> SchedulingPolicy:
    """The organization's booking rules; the defaults when it set none."""
    policy = SchedulingPolicy.objects.filter(organization=organization).first()
    return policy if policy is not None else SchedulingPolicy(organization=organization)


def is_established(patient: Patient, organization: Organization, *, now: datetime) -> bool:
    """Whether the patient was seen at the organization (a visit they came to) within three years."""
    return Appointment.objects.filter(
        patient=patient,
        organization=organization,
        status__in=(AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED),
        starts_at__gte=now - ESTABLISHED_WITHIN,
        starts_at__lte=now,
    ).exists()


def held_between(provider: Provider, starts: datetime, ends: datetime, *, ignoring: Appointment | None = None) -> bool:
    """Whether an appointment holds some of the provider's time between the two instants."""
    held = Appointment.objects.filter(
        provider=provider, status__in=HOLDING_STATUSES, starts_at__lt=ends, ends_at__gt=starts
    )
    if ignoring is not None:
        held = held.exclude(pk=ignoring.pk)
    return held.exists()


def may_book_visit_type(visit_type: VisitType, *, established: bool) -> bool:
    if visit_type.patients == PatientStatus.NEW:
        return not established
    if visit_type.patients == PatientStatus.ESTABLISHED:
        return established
    return True


def open_slots(
    visit_type: VisitType,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    provider: Provider | None = None,
    location_id: int | None = None,
    mode: str | None = None,
    limit: int | None = None,
    waive_notice: bool = False,
    ignoring: Appointment | None = None,
    policy: SchedulingPolicy | None = None,
) -> list[Slot]:
    """Free slots for `visit_type` from `start` to `end`, soonest first, across its providers (or one).

    The organization's policy bounds them: from now plus the minimum notice (now itself when `waive_notice`,
    for staff booking by phone) up to now plus the booking horizon. `ignoring` leaves one appointment's own
    time free (moving it to a nearby time). Three queries besides the policy's, whatever the providers and
    days: the windows, the closed days, the busy time; with a `limit`, busy time is read only as far as the
    soonest free slots need (up to two more reads when they are far off).
    """
    organization = visit_type.organization
    policy = policy or policy_of(organization)
    notice = timedelta(0) if waive_notice else timedelta(minutes=policy.min_notice_minutes)
    earliest = max(start, now + notice)
    latest = min(end, now + timedelta(days=policy.booking_horizon_days))
    if earliest >= latest or not visit_type.is_active or (limit is not None and limit <= 0):
        return []
    windows = _windows_by_provider(visit_type, provider, frozenset(visit_type.modes))
    if not windows:
        return []
    closed = frozenset(
        ClosedDay.objects.filter(
            organization=organization,
            day__gte=earliest.date() - timedelta(days=1),
            day__lte=latest.date() + timedelta(days=1),
        ).values_list("day", flat=True)
    )
    provider_ids = list(windows)

    def read_busy(since: datetime | None, until: datetime) -> list[tuple[int, datetime, datetime]]:
        """Exceptions and held appointments starting before `until` (and from `since`), in one query."""
        held = Appointment.objects.filter(
            provider_id__in=provider_ids, status__in=HOLDING_STATUSES, starts_at__lt=until, ends_at__gt=earliest
        )
        away = AvailabilityException.objects.filter(
            provider_id__in=provider_ids, starts_at__lt=until, ends_at__gt=earliest
        )
        if since is not None:
            held, away = held.filter(starts_at__gte=since), away.filter(starts_at__gte=since)
        if ignoring is not None:
            held = held.exclude(pk=ignoring.pk)
        fields = ("provider_id", "starts_at", "ends_at")
        return list(held.values_list(*fields).union(away.values_list(*fields), all=True))

    return soonest_slots(
        windows=windows,
        length=timedelta(minutes=visit_type.duration_minutes),
        earliest=earliest,
        latest=latest,
        read_busy=read_busy,
        closed_days=closed,
        mode=mode,
        location_id=location_id,
        limit=limit,
    )


def _windows_by_provider(
    visit_type: VisitType, provider: Provider | None, allowed_modes: frozenset[str]
) -> dict[int, list[Window]]:
    """The weekly windows of the visit type's active providers (or one), in one query, keeping the modes the
    visit type allows (a window left with none is dropped). A window's clock is its location's, else the
    organization's. Providers mostly share hours, so each distinct row (modes read as text) is made once."""
    organization = visit_type.organization
    providers = visit_type.providers.filter(is_active=True, organization=organization)
    if provider is not None:
        providers = providers.filter(pk=provider.pk)
    rows = (
        WeeklyAvailability.objects.filter(provider__in=providers)
        .annotate(modes_text=Cast("modes", output_field=TextField()))
        .order_by("provider_id", "pk")
        .values_list(
            "provider_id",
            "weekday",
            "starts",
            "ends",
            "location_id",
            "location__time_zone",
            "location__organization__time_zone",
            "modes_text",
            "valid_from",
            "valid_until",
        )
    )
    windows: dict[int, list[Window]] = {}
    made: dict[tuple[Any, ...], Window | None] = {}
    for provider_id, *rest in rows:
        row = tuple(rest)
        if row not in made:
            made[row] = _window(row, organization.time_zone, allowed_modes)
        if (window := made[row]) is not None:
            windows.setdefault(provider_id, []).append(window)
    return windows


def _window(row: tuple[Any, ...], default_zone: str, allowed_modes: frozenset[str]) -> Window | None:
    weekday, starts, ends, location_id, location_zone, organization_zone, modes, valid_from, valid_until = row
    offered = frozenset(json.loads(modes)) & allowed_modes
    if not offered:
        return None
    zone = (location_zone or organization_zone) if location_id is not None else default_zone
    return Window(weekday, starts, ends, zone, location_id, offered, valid_from, valid_until)


def nearby_slots(visit_type: VisitType, around: datetime, *, now: datetime, count: int = 3) -> list[Slot]:
    """A few free times near a wanted one (what to offer when it was just taken): the soonest after it."""
    return open_slots(visit_type, start=around, end=around + timedelta(days=14), now=now, limit=count)


def first_available(
    visit_type: VisitType,
    *,
    now: datetime,
    count: int,
    provider: Provider | None = None,
    location_id: int | None = None,
    mode: str | None = None,
) -> list[Slot]:
    """The soonest `count` free slots for the visit type (any provider, or one) up to the booking horizon: the
    search stops once they are known, so a busy schedule costs more only when the first free times are far."""
    policy = policy_of(visit_type.organization)
    return open_slots(
        visit_type,
        start=now,
        end=now + timedelta(days=policy.booking_horizon_days),
        now=now,
        provider=provider,
        location_id=location_id,
        mode=mode,
        limit=count,
        policy=policy,
    )


# The patient's and caregiver's side ---------------------------------------------------------------------


def appointments_of(patient: Patient) -> QuerySet[Appointment]:
    """Every appointment of the person (checked by the page's declaration), newest first."""
    return (
        Appointment.objects.filter(patient=patient)
        .select_related("organization", "provider", "visit_type__organization", "location__organization")
        .order_by("-starts_at")
    )


def bookable_visit_types(patient: Patient) -> list[VisitType]:
    """The visits the person may book online, at every organization where they are enrolled, with providers."""
    return list(
        VisitType.objects.filter(is_active=True, bookable_online=True, organization__enrollments__patient=patient)
        .select_related("organization")
        .prefetch_related(
            Prefetch("providers", queryset=Provider.objects.filter(is_active=True).order_by("display_name"))
        )
        .order_by("organization__name", "name")
    )


def providers_by_id(ids: set[int]) -> dict[int, Provider]:
    return {provider.pk: provider for provider in Provider.objects.filter(pk__in=ids)}


def locations_by_id(ids: set[int]) -> dict[int, Location]:
    return {location.pk: location for location in Location.objects.filter(pk__in=ids)}


# The staff side (rows of the desk's organization only) ------------------------------------------------------


def day_schedule(staff: Actor, day: date) -> list[Appointment]:
    """Every visit at the desk's organization on a day of its clock, by provider then time, with the patient's
    MRN there (`mrn`)."""
    starts, ends = day_bounds(day, ZoneInfo(staff.organization.time_zone))
    return list(
        scoped(staff, Appointment)
        .filter(starts_at__gte=starts, starts_at__lt=ends)
        .select_related("patient", "provider", "visit_type", "location", "check_in")
        .prefetch_related("form_responses")
        .annotate(mrn=mrn_at_desk(staff))
        .order_by("provider__display_name", "provider_id", "starts_at")
    )


def mrn_at_desk(staff: Actor) -> Subquery:
    """Each listed visit's patient's MRN at the desk's organization (an annotation)."""
    return Subquery(scoped(staff, Enrollment).filter(patient_id=OuterRef("patient_id")).values("mrn")[:1])


def desk_providers(staff: Actor) -> list[Provider]:
    return list(scoped(staff, Provider).filter(is_active=True).order_by("display_name"))


UPCOMING_CAP = 50  # visits read for the family view's cards (the next one of each person, and a count)


def upcoming_for_patients(patient_ids: list[UUID], *, now: datetime) -> list[Appointment]:
    """The coming visits that hold their time, of several people at once, soonest first."""
    return list(
        Appointment.objects.filter(patient_id__in=patient_ids, status__in=HOLDING_STATUSES, starts_at__gt=now)
        .select_related("organization", "location__organization", "visit_type")
        .order_by("starts_at")[:UPCOMING_CAP]
    )


def waiting_appointment_ids(patient: Patient) -> set[object]:
    """The person's visits that wait for an earlier time."""
    return set(
        WaitlistEntry.objects.filter(patient=patient, ended_at__isnull=True, appointment__isnull=False).values_list(
            "appointment_id", flat=True
        )
    )


FEED_PAST = timedelta(days=90)  # how far back a calendar feed lists visits
FEED_CAP = 500


def appointments_for_feed(patient_ids: list[UUID], *, now: datetime) -> list[Appointment]:
    """Everyone's visits from three months ago on, for a calendar feed (the cancelled ones too: the calendar
    program then strikes them out)."""
    return list(
        Appointment.objects.filter(patient_id__in=patient_ids, starts_at__gte=now - FEED_PAST)
        .select_related("organization", "provider", "location")
        .order_by("starts_at")[:FEED_CAP]
    )


def check_in_of(appointment: Appointment) -> CheckIn | None:
    return CheckIn.objects.filter(appointment=appointment).first()


def forms_sent(appointment: Appointment) -> set[str]:
    return set(FormResponse.objects.filter(appointment=appointment).values_list("form", flat=True))


def forms_sent_for(appointment_ids: list[UUID]) -> set[tuple[UUID, str]]:
    """(visit, form) pairs already filled, for several visits at once."""
    if not appointment_ids:
        return set()
    return set(FormResponse.objects.filter(appointment_id__in=appointment_ids).values_list("appointment_id", "form"))
