"""The demo's schedules: Riverside's providers free on weekdays for months ahead, and Leo's visit at Lakeside
on the coming Thursday (booked by Lakeside's front desk)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, Patient, User
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Location,
    Mode,
    PatientStatus,
    Provider,
    SchedulingPolicy,
    VisitType,
    WeeklyAvailability,
)

LAKESIDE_ADMIN = "admin@lakeside.demo.test"
WEEKDAY_HOURS = ((time(9), time(12)), (time(13), time(16, 30)))


def _provider(organization: Organization, name: str, title: str, location: Location) -> Provider:
    provider, created = Provider.objects.get_or_create(
        organization=organization, display_name=name, defaults={"title": title}
    )
    provider.locations.add(location)
    if created:
        for weekday in range(1, 6):
            for starts, ends in WEEKDAY_HOURS:
                WeeklyAvailability.objects.create(
                    provider=provider,
                    weekday=weekday,
                    starts=starts,
                    ends=ends,
                    location=location,
                    modes=[Mode.IN_PERSON, Mode.VIDEO, Mode.PHONE],
                )
    return provider


def _visit_type(organization: Organization, name: str, providers: list[Provider], **fields: object) -> VisitType:
    visit_type, _created = VisitType.objects.get_or_create(organization=organization, name=name, defaults=fields)
    visit_type.providers.add(*providers)
    return visit_type


@transaction.atomic
def seed_scheduling_demo(*, patients: dict[str, Patient], users: dict[str, User]) -> None:
    riverside = Organization.objects.get(slug="riverside")
    lakeside = Organization.objects.get(slug="lakeside")
    for organization, phone in ((riverside, "(555) 010-0100"), (lakeside, "(555) 010-0200")):
        SchedulingPolicy.objects.get_or_create(organization=organization, defaults={"phone": phone})
    main_street, _created = Location.objects.get_or_create(
        organization=riverside, name="Riverside Family Clinic", defaults={"address": "200 River Road, Riverside"}
    )
    doctors = [
        _provider(riverside, "Dr. Casey Nguyen", "Family medicine", main_street),
        _provider(riverside, "Pat Kim, NP", "Nurse practitioner", main_street),
    ]
    _visit_type(riverside, "Checkup", doctors, duration_minutes=20, modes=[Mode.IN_PERSON, Mode.VIDEO])
    _visit_type(
        riverside,
        "New patient visit",
        doctors[:1],
        duration_minutes=40,
        modes=[Mode.IN_PERSON],
        patients=PatientStatus.NEW,
    )
    _visit_type(riverside, "Phone follow-up", doctors, duration_minutes=15, modes=[Mode.PHONE])

    harbor, _created = Location.objects.get_or_create(
        organization=lakeside, name="Lakeside Pediatrics", defaults={"address": "9 Harbor Lane, Lakeside"}
    )
    pediatrician = _provider(lakeside, "Dr. Sam Park", "Pediatrics", harbor)
    # Leo's visit comes with a form to fill before it (by him or by his mother, who books for him).
    well_child = _visit_type(
        lakeside, "Well-child visit", [pediatrician], duration_minutes=30, modes=[Mode.IN_PERSON], forms=["gad-7"]
    )
    # Leo's visit: the coming Thursday at 15:30, Lakeside's time.
    zone = ZoneInfo(lakeside.time_zone)
    today = timezone.now().astimezone(zone).date()
    thursday = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
    starts = datetime.combine(thursday, time(15, 30)).replace(tzinfo=zone)
    front_desk = users[LAKESIDE_ADMIN]
    Appointment.objects.get_or_create(
        patient=patients["leo"],
        provider=pediatrician,
        starts_at=starts,
        defaults={
            "organization": lakeside,
            "visit_type": well_child,
            "location": harbor,
            "mode": Mode.IN_PERSON,
            "ends_at": starts + timedelta(minutes=well_child.duration_minutes),
            "status": AppointmentStatus.BOOKED,
            "reason": "Yearly checkup and sports form",
            "booked_by": front_desk,
            "booked_by_name": front_desk.full_name,
            "booked_by_staff": True,
        },
    )
