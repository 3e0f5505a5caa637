"""Named personas for every test: one world, built once per test, and a way to sign in as each.

Personas: anonymous, patient, caregiver, stranger, staff_here (nurse at the
organization the patient is enrolled at), staff_other (nurse elsewhere),
org_admin (admin here), platform_admin, plus two staff in the middle of the
second-factor rules: staff_unverified (has a device, has not passed it in this
session) and staff_no_mfa (has no device yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import Organization, Patient, Role, User
from tests.factories import (
    EnrollmentFactory,
    MembershipFactory,
    OrganizationFactory,
    PatientFactory,
    TOTPDeviceFactory,
    UserFactory,
)

PERSONAS = (
    "anonymous",
    "patient",
    "caregiver",
    "stranger",
    "staff_here",
    "staff_other",
    "org_admin",
    "platform_admin",
    "staff_unverified",
    "staff_no_mfa",
)


@dataclass
class World:
    org_here: Organization
    org_other: Organization
    patient_record: Patient
    caregiver_record: Patient
    users: dict[str, User] = field(default_factory=dict)

    def user(self, persona: str) -> User:
        return self.users[persona]


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Rate-limit counters live in the cache; each test starts with none.
    cache.clear()


@pytest.fixture
def world(db: Any) -> World:
    org_here = OrganizationFactory(name="Riverside Family Clinic", slug="riverside")
    org_other = OrganizationFactory(name="Lakeside Pediatrics", slug="lakeside")
    users = {
        "patient": UserFactory(email="patient@example.test", full_name="Alex Rivera"),
        "caregiver": UserFactory(email="caregiver@example.test", full_name="Maria Lopez"),
        "stranger": UserFactory(email="stranger@example.test", full_name="Sam Stranger"),
        "staff_here": UserFactory(email="nurse.here@example.test", full_name="Jordan Lee"),
        "staff_other": UserFactory(email="nurse.other@example.test", full_name="Priya Shah"),
        "org_admin": UserFactory(email="admin.here@example.test", full_name="Sam Okafor"),
        "platform_admin": UserFactory(
            email="platform@example.test",
            full_name="Taylor Brooks",
            is_platform_admin=True,
            is_staff=True,
            is_superuser=True,
        ),
        "staff_unverified": UserFactory(email="nurse.unverified@example.test", full_name="Uma Unverified"),
        "staff_no_mfa": UserFactory(email="nurse.nomfa@example.test", full_name="Noah Nomfa"),
    }
    MembershipFactory(user=users["staff_here"], organization=org_here, role=Role.NURSE)
    MembershipFactory(user=users["staff_other"], organization=org_other, role=Role.NURSE)
    MembershipFactory(user=users["org_admin"], organization=org_here, role=Role.ORG_ADMIN)
    MembershipFactory(user=users["staff_unverified"], organization=org_here, role=Role.NURSE)
    MembershipFactory(user=users["staff_no_mfa"], organization=org_here, role=Role.NURSE)
    for persona in ("staff_here", "staff_other", "org_admin", "platform_admin", "staff_unverified"):
        TOTPDeviceFactory(user=users[persona])
    patient_record = PatientFactory(user=users["patient"], given_name="Alex", family_name="Rivera")
    caregiver_record = PatientFactory(user=users["caregiver"], given_name="Maria", family_name="Lopez")
    EnrollmentFactory(patient=patient_record, organization=org_here)
    EnrollmentFactory(patient=caregiver_record, organization=org_other)
    return World(
        org_here=org_here,
        org_other=org_other,
        patient_record=patient_record,
        caregiver_record=caregiver_record,
        users=users,
    )


VERIFIED_PERSONAS = frozenset({"staff_here", "staff_other", "org_admin", "platform_admin"})


def sign_in(client: Client, world: World, persona: str) -> Client:
    """Sign the client in as a persona; staff and admins also pass their second factor."""
    if persona == "anonymous":
        return client
    user = world.user(persona)
    client.force_login(user)
    if persona in VERIFIED_PERSONAS:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    return client


@pytest.fixture
def as_persona(client: Client, world: World) -> Any:
    def _as(persona: str) -> Client:
        return sign_in(client, world, persona)

    return _as
