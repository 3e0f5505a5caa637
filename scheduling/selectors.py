"""Reads of the scheduling data: an organization's booking policy and the free slots of its providers.

Slots are worked out (scheduling.slots) from what a few queries read, whatever the number of providers and
days: the providers with their windows and locations, their exceptions and held appointments in the range,
the organization's closed days.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

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
from scheduling.slots import Busy, Slot, Window, provider_slots

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
    time free (moving it to a nearby time). Five queries.
    """
    organization = visit_type.organization
    policy = policy or policy_of(organization)
    notice = timedelta(0) if waive_notice else timedelta(minutes=policy.min_notice_minutes)
    earliest = max(start, now + notice)
    latest = min(end, now + timedelta(days=policy.booking_horizon_days))
    if earliest >= latest or not visit_type.is_active:
        return []
    providers = (
        visit_type.providers.filter(is_active=True, organization=organization)
        .select_related("organization")
        .prefetch_related(
            Prefetch("availability", queryset=WeeklyAvailability.objects.select_related("location__organization"))
        )
    )
    if provider is not None:
        providers = providers.filter(pk=provider.pk)
    chosen = list(providers)
    ids = [p.pk for p in chosen]
    busy: dict[int, list[Busy]] = defaultdict(list)
    for provider_id, starts_at, ends_at in AvailabilityException.objects.filter(
        provider_id__in=ids, starts_at__lt=latest, ends_at__gt=earliest
    ).values_list("provider_id", "starts_at", "ends_at"):
        busy[provider_id].append(Busy(starts_at, ends_at))
    held = Appointment.objects.filter(
        provider_id__in=ids, status__in=HOLDING_STATUSES, starts_at__lt=latest, ends_at__gt=earliest
    )
    if ignoring is not None:
        held = held.exclude(pk=ignoring.pk)
    for provider_id, starts_at, ends_at in held.values_list("provider_id", "starts_at", "ends_at"):
        busy[provider_id].append(Busy(starts_at, ends_at))
    closed = frozenset(
        ClosedDay.objects.filter(
            organization=organization,
            day__gte=earliest.date() - timedelta(days=1),
            day__lte=latest.date() + timedelta(days=1),
        ).values_list("day", flat=True)
    )
    allowed_modes = frozenset(visit_type.modes)
    length = timedelta(minutes=visit_type.duration_minutes)
    slots: list[Slot] = []
    for each in chosen:
        windows = [_window(row, organization.time_zone, allowed_modes) for row in each.availability.all()]
        slots.extend(
            provider_slots(
                provider_id=each.pk,
                windows=[w for w in windows if w.modes],
                length=length,
                earliest=earliest,
                latest=latest,
                busy=busy.get(each.pk, ()),
                closed_days=closed,
                mode=mode,
                location_id=location_id,
                limit=limit,
            )
        )
    slots.sort(key=lambda slot: (slot.starts_at, slot.provider_id))
    return slots[:limit] if limit is not None else slots


def _window(row: WeeklyAvailability, default_zone: str, allowed_modes: frozenset[str]) -> Window:
    zone = row.location.zone_name if row.location is not None else default_zone
    return Window(
        weekday=row.weekday,
        starts=row.starts,
        ends=row.ends,
        zone=zone,
        location_id=row.location_id,
        modes=frozenset(row.modes) & allowed_modes,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def nearby_slots(visit_type: VisitType, around: datetime, *, now: datetime, count: int = 3) -> list[Slot]:
    """A few free times near a wanted one (what to offer when it was just taken): the soonest after it."""
    return open_slots(visit_type, start=around, end=around + timedelta(days=14), now=now, limit=count)


# "First available": a week is read first, then the next three, then the rest of the horizon, so that a busy
# schedule costs more reads only when the first weeks have nothing.
FIRST_AVAILABLE_SPANS = (timedelta(days=7), timedelta(days=28), None)


def first_available(
    visit_type: VisitType,
    *,
    now: datetime,
    count: int,
    provider: Provider | None = None,
    location_id: int | None = None,
    mode: str | None = None,
) -> list[Slot]:
    """The soonest `count` free slots for the visit type (any provider, or one), searched a span at a time."""
    policy = policy_of(visit_type.organization)
    horizon = now + timedelta(days=policy.booking_horizon_days)
    found: list[Slot] = []
    start = now
    for span in FIRST_AVAILABLE_SPANS:
        end = horizon if span is None else min(now + span, horizon)
        if start < end:
            found += open_slots(
                visit_type,
                start=start,
                end=end,
                now=now,
                provider=provider,
                location_id=location_id,
                mode=mode,
                limit=count - len(found),
                policy=policy,
            )
        if len(found) >= count or end >= horizon:
            break
        start = end
    return found


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
    organization = staff.organization
    zone = ZoneInfo(organization.time_zone)
    starts = datetime.combine(day, time.min).replace(tzinfo=zone)
    ends = datetime.combine(day + timedelta(days=1), time.min).replace(tzinfo=zone)
    mrn = Subquery(scoped(staff, Enrollment).filter(patient_id=OuterRef("patient_id")).values("mrn")[:1])
    return list(
        scoped(staff, Appointment)
        .filter(starts_at__gte=starts, starts_at__lt=ends)
        .select_related("patient", "provider", "visit_type", "location", "check_in")
        .prefetch_related("form_responses")
        .annotate(mrn=mrn)
        .order_by("provider__display_name", "provider_id", "starts_at")
    )


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
