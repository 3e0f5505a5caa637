"""First available: the same soonest free times as checking every possible slot over the whole horizon, from a
handful of queries however many providers, days and bookings there are."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Patient
from scheduling.models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    ClosedDay,
    Location,
    Mode,
    Provider,
    SchedulingPolicy,
    VisitType,
    WeeklyAvailability,
)
from scheduling.selectors import first_available, open_slots
from scheduling.slots import Slot, local_moment
from tests.factories import OrganizationFactory, PatientFactory
from tests.scheduling.clinic import NOW, chicago, make_clinic

pytestmark = pytest.mark.django_db

SlotFields = tuple[datetime, int, datetime, int | None, frozenset[str]]


def fields(slots: list[Slot]) -> list[SlotFields]:
    return [(s.starts_at, s.provider_id, s.ends_at, s.location_id, s.modes) for s in slots]


def every_free_slot(
    visit_type: VisitType,
    *,
    now: datetime,
    provider: Provider | None = None,
    mode: str | None = None,
    location_id: int | None = None,
) -> list[SlotFields]:
    """Brute force, straight from the rows: every wall-clock step of every window on every day of the horizon,
    each checked against every held appointment and exception; soonest first, then by provider."""
    organization = visit_type.organization
    policy = SchedulingPolicy.objects.get(organization=organization)
    earliest = now + timedelta(minutes=policy.min_notice_minutes)
    latest = now + timedelta(days=policy.booking_horizon_days)
    length = timedelta(minutes=visit_type.duration_minutes)
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    for provider_id, busy_starts, busy_ends in [
        *Appointment.objects.filter(status__in=HOLDING_STATUSES).values_list("provider_id", "starts_at", "ends_at"),
        *AvailabilityException.objects.values_list("provider_id", "starts_at", "ends_at"),
    ]:
        busy.setdefault(provider_id, []).append((busy_starts, busy_ends))
    closed = set(ClosedDay.objects.filter(organization=organization).values_list("day", flat=True))
    found: dict[tuple[int, datetime], SlotFields] = {}
    for each in visit_type.providers.filter(is_active=True, organization=organization):
        if provider is not None and each != provider:
            continue
        windows = list(each.availability.select_related("location__organization").order_by("pk"))
        day = earliest.date() - timedelta(days=2)
        while day <= latest.date() + timedelta(days=2):
            for row in windows:
                zone = ZoneInfo(row.location.zone_name if row.location is not None else organization.time_zone)
                modes = frozenset(row.modes) & frozenset(visit_type.modes)
                if (
                    not modes
                    or (mode is not None and mode not in modes)
                    or (location_id is not None and row.location_id != location_id)
                    or day.isoweekday() != row.weekday
                    or (row.valid_from is not None and day < row.valid_from)
                    or (row.valid_until is not None and day > row.valid_until)
                    or day in closed
                ):
                    continue
                window_end = local_moment(day, row.ends, zone) or (
                    datetime.combine(day, row.ends).replace(tzinfo=zone, fold=1).astimezone(UTC)
                )
                wall = datetime.combine(day, row.starts)
                while wall + length <= datetime.combine(day, row.ends):
                    starts = local_moment(day, wall.time(), zone)
                    wall += length
                    if starts is None or starts + length > window_end or not earliest <= starts < latest:
                        continue
                    if any(b < starts + length and e > starts for b, e in busy.get(each.pk, ())):
                        continue
                    found.setdefault((each.pk, starts), (starts, each.pk, starts + length, row.location_id, modes))
            day += timedelta(days=1)
    return sorted(found.values(), key=lambda slot: (slot[0], slot[1]))


@dataclass
class SeededClinic:
    visit_type: VisitType
    now: datetime
    providers: list[Provider]
    far_location: Location


def seeded_clinic(seed: int, *, booked_share: float = 0.5, solid_for_days: int = 0) -> SeededClinic:
    """A clinic drawn at random: windows in two clocks (some over the night the clocks change, some for a few
    weeks only), an inactive provider, vacations, closed days, and about `booked_share` of the free times held
    by visits of other lengths and statuses; everyone away for the first `solid_for_days` days when given."""
    rng = random.Random(seed)
    organization = OrganizationFactory(time_zone="America/Chicago")
    SchedulingPolicy.objects.create(
        organization=organization,
        booking_horizon_days=rng.choice([21, 45, 90]),
        min_notice_minutes=rng.choice([0, 90, 240]),
    )
    here = Location.objects.create(organization=organization, name="Main Street")
    far = Location.objects.create(
        organization=organization, name="Far office", time_zone=rng.choice(["America/New_York", "Europe/Madrid"])
    )
    visit = VisitType.objects.create(
        organization=organization,
        name="Visit",
        duration_minutes=rng.choice([15, 20, 30, 45]),
        modes=[Mode.IN_PERSON, Mode.VIDEO],
    )
    providers = [Provider.objects.create(organization=organization, display_name=f"Provider {n}") for n in range(4)]
    retired = Provider.objects.create(organization=organization, display_name="Retired", is_active=False)
    visit.providers.set([*providers, retired])
    # Around a change of the clocks: Chicago's and Madrid's in March, Chicago's in November.
    now = chicago(rng.choice(["2026-02-27T07:00", "2026-03-20T13:10", "2026-10-22T16:45"])) + timedelta(
        minutes=rng.randrange(0, 10 * 24 * 60, 5)
    )
    for provider in [*providers, retired]:
        WeeklyAvailability.objects.create(
            provider=provider, weekday=7, starts=time(0, 30), ends=time(4), location=here, modes=[Mode.IN_PERSON]
        )
        for _ in range(rng.randint(2, 5)):
            starts = rng.randrange(0, 22 * 60, 5)
            ends = min(starts + rng.randrange(30, 6 * 60, 5), 23 * 60 + 55)
            valid_from = (now + timedelta(days=rng.randint(-5, 20))).date() if rng.random() < 0.2 else None
            WeeklyAvailability.objects.create(
                provider=provider,
                weekday=rng.randint(1, 7),
                starts=time(starts // 60, starts % 60),
                ends=time(ends // 60, ends % 60),
                location=rng.choice([here, far, None]),
                modes=rng.choice([[Mode.IN_PERSON], [Mode.VIDEO], [Mode.IN_PERSON, Mode.VIDEO], [Mode.PHONE]]),
                valid_from=valid_from,
                valid_until=(valid_from or now.date()) + timedelta(days=rng.randint(7, 30))
                if rng.random() < 0.2
                else None,
            )
    ClosedDay.objects.bulk_create(
        ClosedDay(organization=organization, day=(now + timedelta(days=rng.randint(0, 30))).date()) for _ in range(2)
    )
    away = [
        AvailabilityException(
            provider=provider, starts_at=starts, ends_at=starts + timedelta(hours=rng.choice([1, 6, 72, 300]))
        )
        for provider in providers
        for starts in (now + timedelta(minutes=rng.randrange(-3000, 60 * 24 * 60, 5)) for _ in range(rng.randint(0, 3)))
    ]
    if solid_for_days:
        away += [
            AvailabilityException(
                provider=provider, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=solid_for_days)
            )
            for provider in providers
        ]
    AvailabilityException.objects.bulk_create(away)
    book_some(visit, now, rng, booked_share, PatientFactory())
    return SeededClinic(visit, now, providers, far)


def book_some(visit: VisitType, now: datetime, rng: random.Random, share: float, patient: Patient) -> None:
    """Visits at about `share` of the free times, some a little late or longer than a slot, some no longer holding
    (those may overlap); held ones never overlap each other, as Postgres requires."""
    held_until: dict[int, datetime] = {}
    visits: list[Appointment] = []
    for starts, provider_id, _, location_id, _ in every_free_slot(visit, now=now - timedelta(days=1)):
        if rng.random() >= share:
            continue
        starts += timedelta(minutes=rng.choice([0, 0, 0, 5, -5]))
        ends = starts + timedelta(minutes=rng.choice([10, 20, 30, 60]))
        status = rng.choice([*[AppointmentStatus.BOOKED] * 4, AppointmentStatus.REQUESTED, AppointmentStatus.CANCELLED])
        if status in HOLDING_STATUSES:
            if starts < held_until.get(provider_id, starts):
                continue
            held_until[provider_id] = ends
        visits.append(
            Appointment(
                organization=visit.organization,
                provider_id=provider_id,
                patient=patient,
                visit_type=visit,
                location_id=location_id,
                mode=Mode.IN_PERSON,
                starts_at=starts,
                ends_at=ends,
                status=status,
            )
        )
    Appointment.objects.bulk_create(visits)


@pytest.mark.parametrize("seed", range(8))
def test_first_available_is_the_start_of_every_free_slot_over_the_horizon(seed: int) -> None:
    clinic = seeded_clinic(seed)
    visit, now = clinic.visit_type, clinic.now
    horizon = now + timedelta(days=SchedulingPolicy.objects.get(organization=visit.organization).booking_horizon_days)
    filters: list[dict[str, Any]] = [
        {},
        {"provider": clinic.providers[seed % 4]},
        {"mode": Mode.VIDEO},
        {"location_id": clinic.far_location.pk},
    ]
    for chosen in filters:
        every = every_free_slot(visit, now=now, **chosen)
        assert fields(open_slots(visit, start=now, end=horizon, now=now, **chosen)) == every
        for count in (1, 3, 12, 40):
            assert fields(first_available(visit, now=now, count=count, **chosen)) == every[:count], (chosen, count)


@pytest.mark.parametrize("seed", range(3))
def test_first_available_reads_further_when_everyone_is_away_for_weeks(seed: int) -> None:
    clinic = seeded_clinic(seed, booked_share=0.8, solid_for_days=12)
    every = every_free_slot(clinic.visit_type, now=clinic.now)
    with CaptureQueriesContext(connection) as context:
        soonest = first_available(clinic.visit_type, now=clinic.now, count=12)
    assert fields(soonest) == every[:12]
    assert len(context.captured_queries) <= 6  # the policy, windows, closed days; busy time in at most 3 reads


def test_a_slot_reaching_past_the_busy_time_read_so_far_waits_for_the_next_read() -> None:
    """Staggered providers, every slot of the first three days held by a short visit starting ten minutes into it:
    wherever a read of busy time stops, the next slot (of the other provider) ends after that point, and is held by
    a visit starting exactly there."""
    clinic = make_clinic()
    WeeklyAvailability.objects.filter(provider=clinic.nurse).update(starts=time(9, 10), ends=time(12, 10))
    thursday = chicago("2026-03-05T00:00")
    Appointment.objects.bulk_create(
        Appointment(
            organization=clinic.organization,
            provider_id=provider_id,
            patient=clinic.patient,
            visit_type=clinic.checkup,
            mode=Mode.VIDEO,
            starts_at=starts + timedelta(minutes=10),
            ends_at=starts + timedelta(minutes=15),
        )
        for starts, provider_id, *_ in every_free_slot(clinic.checkup, now=NOW)
        if starts < thursday
    )
    every = every_free_slot(clinic.checkup, now=NOW)
    assert every[0][0] >= thursday
    for count in range(1, 13):
        assert fields(first_available(clinic.checkup, now=NOW, count=count)) == every[:count], count


def test_a_slot_ending_after_the_range_is_checked_against_visits_starting_after_it() -> None:
    """Asking whether 09:20 is free (the range up to 09:21, as booking does): a visit from 09:30 overlaps it."""
    clinic = make_clinic()
    Appointment.objects.create(
        organization=clinic.organization,
        provider=clinic.doctor,
        patient=clinic.patient,
        visit_type=clinic.checkup,
        mode=Mode.VIDEO,
        starts_at=chicago("2026-03-03T09:30"),
        ends_at=chicago("2026-03-03T09:45"),
    )
    asked = {"start": chicago("2026-03-03T09:20"), "end": chicago("2026-03-03T09:21"), "now": NOW}
    assert open_slots(clinic.checkup, **asked, provider=clinic.doctor) == []
    assert [slot.provider_id for slot in open_slots(clinic.checkup, **asked)] == [clinic.nurse.pk]


def queries_of(search: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as context:
        search()
    return [query["sql"] for query in context.captured_queries]


def test_first_available_with_anyone_makes_four_queries_however_many_providers_and_bookings() -> None:
    clinic = make_clinic()
    SchedulingPolicy.objects.filter(organization=clinic.organization).update(booking_horizon_days=21)
    search = lambda: first_available(clinic.checkup, now=NOW, count=12)  # noqa: E731
    assert len(queries := queries_of(search)) == 4, queries
    rng = random.Random(5)
    for n in range(20):
        provider = Provider.objects.create(organization=clinic.organization, display_name=f"Extra {n}")
        clinic.checkup.providers.add(provider)
        WeeklyAvailability.objects.bulk_create(
            WeeklyAvailability(
                provider=provider,
                weekday=weekday,
                starts=time(8),
                ends=time(17),
                location=clinic.location,
                modes=[Mode.IN_PERSON],
            )
            for weekday in range(1, 6)
        )
        AvailabilityException.objects.create(
            provider=provider, starts_at=NOW + timedelta(days=n), ends_at=NOW + timedelta(days=n + 3)
        )
    ClosedDay.objects.create(organization=clinic.organization, day=date(2026, 3, 4))
    book_some(clinic.checkup, NOW, rng, 0.6, clinic.patient)
    assert len(queries := queries_of(search)) == 4, queries
    assert fields(search()) == every_free_slot(clinic.checkup, now=NOW)[:12]
