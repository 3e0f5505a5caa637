"""The demo world: the people of DESIGN.md, so that `make run` shows a real family's week.

Idempotent: running it again changes nothing that exists and adds what is missing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Enrollment, Membership, Organization, Patient, Role, TOTPDevice, User

# RFC 6238's test-vector key, so that a tester can add it to any authenticator app.
DEMO_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"
DEMO_TOTP_KEY_BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
_NAMESPACE = uuid.UUID("7b0f2d9e-5d1c-4b7e-9a55-3f1e3c0d2a61")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    full_name: str
    what: str
    totp: bool = False


DEMO_LOGINS = (
    DemoLogin("patient@demo.test", "Alex Rivera", "patient managing his own care"),
    DemoLogin("caregiver@demo.test", "Maria Lopez", "caregiver for her mother Rosa and her son Leo"),
    DemoLogin("nurse@riverside.demo.test", "Jordan Lee", "nurse at Riverside Family Clinic", totp=True),
    DemoLogin("admin@riverside.demo.test", "Sam Okafor", "organization admin at Riverside Family Clinic", totp=True),
    DemoLogin("billing@riverside.demo.test", "Dana Reyes", "billing office at Riverside Family Clinic", totp=True),
    DemoLogin("nurse@lakeside.demo.test", "Priya Shah", "nurse at Lakeside Pediatrics", totp=True),
    DemoLogin("admin@lakeside.demo.test", "Chris Novak", "organization admin at Lakeside Pediatrics", totp=True),
    DemoLogin("platform@demo.test", "Taylor Brooks", "platform admin", totp=True),
)


def _years_ago(today: date, years: int, extra_days: int) -> date:
    return date(today.year - years, today.month, min(today.day, 28)) - timedelta(days=extra_days)


def _user(login: DemoLogin) -> User:
    user, created = User.objects.get_or_create(email=login.email, defaults={"full_name": login.full_name})
    if created:
        user.set_password(settings.DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=login.email, defaults={"verified": True, "primary": True})
    if login.totp and not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="Demo authenticator", key=DEMO_TOTP_KEY_HEX, confirmed=True)
    return user


def demo_patient(key: str) -> Patient:
    """A demo person's chart by their key ("rosa", "alex", "maria", "leo"), once seed_demo_people has run."""
    return Patient.objects.get(id=uuid.uuid5(_NAMESPACE, key))


def _patient(key: str, **fields: object) -> Patient:
    patient, _ = Patient.objects.get_or_create(id=uuid.uuid5(_NAMESPACE, key), defaults=fields)
    return patient


@dataclass(frozen=True)
class DemoPeople:
    users: dict[str, User]
    patients: dict[str, Patient]


@transaction.atomic
def seed_demo_people() -> DemoPeople:
    today = timezone.localdate()
    users = {login.email: _user(login) for login in DEMO_LOGINS}

    platform = users["platform@demo.test"]
    if not platform.is_platform_admin:
        platform.is_platform_admin = platform.is_staff = platform.is_superuser = True
        platform.save(update_fields=["is_platform_admin", "is_staff", "is_superuser"])

    riverside, _ = Organization.objects.get_or_create(
        slug="riverside", defaults={"name": "Riverside Family Clinic", "time_zone": "America/Chicago"}
    )
    lakeside, _ = Organization.objects.get_or_create(
        slug="lakeside", defaults={"name": "Lakeside Pediatrics", "time_zone": "America/Chicago"}
    )
    for email, organization, role in (
        ("nurse@riverside.demo.test", riverside, Role.NURSE),
        ("admin@riverside.demo.test", riverside, Role.ORG_ADMIN),
        ("billing@riverside.demo.test", riverside, Role.BILLING),
        ("nurse@lakeside.demo.test", lakeside, Role.NURSE),
        ("admin@lakeside.demo.test", lakeside, Role.ORG_ADMIN),
    ):
        Membership.objects.get_or_create(user=users[email], organization=organization, role=role)

    alex = _patient(
        "alex",
        user=users["patient@demo.test"],
        given_name="Alex",
        family_name="Rivera",
        birth_date=_years_ago(today, 34, 40),
    )
    maria = _patient(
        "maria",
        user=users["caregiver@demo.test"],
        given_name="Maria",
        family_name="Lopez",
        birth_date=_years_ago(today, 46, 200),
    )
    rosa = _patient("rosa", given_name="Rosa", family_name="Lopez", birth_date=_years_ago(today, 78, 120))
    leo = _patient("leo", given_name="Leo", family_name="Lopez", birth_date=_years_ago(today, 13, 75))

    for patient, organization, mrn in (
        (alex, riverside, "RFC-100234"),
        (maria, riverside, "RFC-100871"),
        (rosa, riverside, "RFC-100872"),
        (leo, lakeside, "LKP-200415"),
    ):
        Enrollment.objects.get_or_create(patient=patient, organization=organization, defaults={"mrn": mrn})

    return DemoPeople(users=users, patients={"alex": alex, "maria": maria, "rosa": rosa, "leo": leo})
