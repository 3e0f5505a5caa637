"""A small clinic on the platform for the scheduling tests: one location, two providers, two kinds of visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from accounts.actors import Actor, actor_for
from accounts.models import Organization, Patient
from scheduling.actions import Booking
from scheduling.models import Location, Mode, Provider, SchedulingPolicy, VisitType, WeeklyAvailability
from tests.factories import EnrollmentFactory, OrganizationFactory, PatientFactory, UserFactory

CHICAGO = ZoneInfo("America/Chicago")


def chicago(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


# A Monday morning: the week's slots are all ahead, and within the default 90-day horizon.
NOW = chicago("2026-03-02T08:00")


@dataclass
class Clinic:
    organization: Organization
    location: Location
    doctor: Provider
    nurse: Provider
    checkup: VisitType  # 20 minutes, in person or video, both providers
    patient: Patient
    actor: Actor  # the patient, signed in

    def booking(self, when: str, *, provider: Provider | None = None, mode: str = Mode.IN_PERSON) -> Booking:
        return Booking(
            visit_type=self.checkup,
            provider=provider or self.doctor,
            starts_at=chicago(when),
            mode=mode,
            location=self.location if mode == Mode.IN_PERSON else None,
            reason="Cough for two weeks",
        )

    def another_patient(self) -> tuple[Patient, Actor]:
        user = UserFactory()
        patient: Patient = PatientFactory(user=user)
        EnrollmentFactory(patient=patient, organization=self.organization)
        return patient, actor_for(user)


def make_clinic() -> Clinic:
    organization = OrganizationFactory(name="Riverside Family Clinic", time_zone="America/Chicago")
    SchedulingPolicy.objects.create(organization=organization, phone="555-0100")
    location = Location.objects.create(organization=organization, name="Riverside Main Street")
    doctor = Provider.objects.create(organization=organization, display_name="Dr. Casey Nguyen")
    nurse = Provider.objects.create(organization=organization, display_name="Pat Kim, NP")
    checkup = VisitType.objects.create(
        organization=organization, name="Checkup", duration_minutes=20, modes=[Mode.IN_PERSON, Mode.VIDEO]
    )
    checkup.providers.set([doctor, nurse])
    for provider in (doctor, nurse):
        provider.locations.add(location)
        for weekday in range(1, 6):
            WeeklyAvailability.objects.create(
                provider=provider,
                weekday=weekday,
                starts=time(9),
                ends=time(12),
                location=location,
                modes=[Mode.IN_PERSON, Mode.VIDEO],
            )
    user = UserFactory(full_name="Alex Rivera")
    patient: Patient = PatientFactory(user=user, given_name="Alex", family_name="Rivera")
    EnrollmentFactory(patient=patient, organization=organization)
    return Clinic(organization, location, doctor, nurse, checkup, patient, actor_for(user))
