"""Named personas for every test: one world, built once per test, and a way to sign in as each.

Personas: anonymous, patient, caregiver, stranger, staff_here (nurse at the
organization the patient is enrolled at), staff_other (nurse elsewhere),
org_admin (admin here), platform_admin, plus two staff in the middle of the
second-factor rules: staff_unverified (has a device, has not passed it in this
session) and staff_no_mfa (has no device yet); caregivers acting for Rosa,
Theo (13) and Nora (just 18) under grants of every kind; admin_other (the
other organization's admin), admin_requester (an admin here who filed an
access request here himself) and revoked_by_token (a revoked caregiver
calling the API with a bearer token).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.actors import Scope
from accounts.models import ApiToken, Organization, Patient, Role, User
from accounts.models.audit import Basis
from accounts.models.tokens import digest_token, new_token
from billing.models import BillingAccount, LedgerEntry, Payment, PaymentPlan, PaymentStatus, PlanStatus, Statement
from billing.models import EntryKind as BillingEntryKind
from messaging.models import (
    Attachment,
    Message,
    MessageKind,
    Pharmacy,
    Pool,
    RefillRequest,
    Thread,
    ThreadStatus,
    Topic,
)
from proxy.middleware import ACTING_FOR_KEY
from proxy.models import AccessRequest, AccessRequestDocument, GrantStatus, ProxyGrant, ProxyInvitation
from records.models import Connection, HealthSystem, RecordSource, SourceKind
from scheduling.models import (
    Appointment,
    CalendarFeed,
    Location,
    Mode,
    Provider,
    VisitType,
    WaitlistEntry,
    WaitlistOffer,
    WeeklyAvailability,
)
from scheduling.offers import digest_of
from tests.factories import (
    EnrollmentFactory,
    MembershipFactory,
    OrganizationFactory,
    PatientFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from tests.hypothesis_profiles import load_profile

load_profile()  # HYPOTHESIS_PROFILE: "ci" (fixed examples, reproducible) or "dev" (tests/hypothesis_profiles.py)

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
    # Caregivers, each signed in and acting for the person their grant covers:
    "caregiver_full",  # power of attorney for Rosa (an adult), every scope
    "caregiver_records",  # Rosa's consent, records only
    "caregiver_expired",  # Rosa's consent, expired yesterday
    "caregiver_revoked",  # Rosa's consent, revoked
    "parent_of_teen",  # parent of Theo, 13
    "parent_of_new_adult",  # parent of Nora, who turned 18 yesterday
    "caregiver_manager",  # Rosa's consent, "manage who has access" only
    "admin_other",  # admin of the other organization
    "admin_requester",  # admin here, who filed world.own_request here himself
    "revoked_by_token",  # Rosa's consent, revoked; calls the API with a bearer token
    "billing_here",  # the billing office of this organization
)

PROXY_PERSONAS = {
    "caregiver_full": ("rosa", Basis.POWER_OF_ATTORNEY, sorted(Scope.ALL), "active"),
    "caregiver_records": ("rosa", Basis.PATIENT_CONSENT, [Scope.RECORDS], "active"),
    "caregiver_expired": ("rosa", Basis.PATIENT_CONSENT, sorted(Scope.ALL), "expired-yesterday"),
    "caregiver_revoked": ("rosa", Basis.PATIENT_CONSENT, sorted(Scope.ALL), "revoked"),
    "parent_of_teen": ("teen", Basis.PARENT_OF_MINOR, sorted(Scope.ALL), "active"),
    "parent_of_new_adult": ("new_adult", Basis.PARENT_OF_MINOR, sorted(Scope.ALL), "active"),
    "caregiver_manager": ("rosa", Basis.PATIENT_CONSENT, [Scope.MANAGE_PROXIES], "active"),
    "revoked_by_token": ("rosa", Basis.PATIENT_CONSENT, sorted(Scope.ALL), "revoked"),
}
TOKEN_PERSONAS = frozenset({"revoked_by_token"})


@dataclass
class World:
    org_here: Organization
    org_other: Organization
    patient_record: Patient
    caregiver_record: Patient
    users: dict[str, User] = field(default_factory=dict)
    people: dict[str, Patient] = field(default_factory=dict)  # charts without a login: rosa, teen, new_adult
    grants: dict[str, ProxyGrant] = field(default_factory=dict)  # by persona
    rosa_connection: Connection | None = None  # Rosa's records from a connected health system
    org_request: AccessRequest | None = None  # waiting for Riverside's admins
    platform_request: AccessRequest | None = None  # waiting for the platform's
    own_request: AccessRequest | None = None  # filed at Riverside by Riverside's admin_requester
    invitation: ProxyGrant | None = None  # a pending invitation to Rosa's record (no grantee yet)
    tokens: dict[str, str] = field(default_factory=dict)  # bearer tokens by persona
    # Messaging: a care team at each organization, and threads (see add_messaging_world)
    pools: dict[str, Pool] = field(default_factory=dict)  # "here" (Riverside), "other" (Lakeside)
    threads: dict[str, Thread] = field(default_factory=dict)  # "rosa", "alex", "teen", "teen_private"
    attachment: Attachment | None = None  # a PDF sent with Rosa's thread
    note: Message | None = None  # an internal note on Rosa's thread
    pharmacy: Pharmacy | None = None  # Riverside's pharmacy
    refill: RefillRequest | None = None  # Rosa's refill request at Riverside, waiting
    # Appointments: Riverside's checkup with one provider free every day, and a visit of Rosa's (add_scheduling_world)
    visit_type: VisitType | None = None
    provider: Provider | None = None
    rosa_appointment: Appointment | None = None
    # Bills: Rosa's account at Riverside, owing $60.00, with a card payment made and a plan on hold (add_billing_world)
    rosa_account: BillingAccount | None = None
    rosa_payment: Payment | None = None
    rosa_plan: PaymentPlan | None = None

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
        "admin_other": UserFactory(email="admin.other@example.test", full_name="Chris Novak"),
        "admin_requester": UserFactory(email="admin.requester@example.test", full_name="Dana Requester"),
        "billing_here": UserFactory(email="billing.here@example.test", full_name="Billie Ledger"),
    }
    MembershipFactory(user=users["staff_here"], organization=org_here, role=Role.NURSE)
    MembershipFactory(user=users["staff_other"], organization=org_other, role=Role.NURSE)
    MembershipFactory(user=users["org_admin"], organization=org_here, role=Role.ORG_ADMIN)
    MembershipFactory(user=users["staff_unverified"], organization=org_here, role=Role.NURSE)
    MembershipFactory(user=users["staff_no_mfa"], organization=org_here, role=Role.NURSE)
    MembershipFactory(user=users["admin_other"], organization=org_other, role=Role.ORG_ADMIN)
    MembershipFactory(user=users["admin_requester"], organization=org_here, role=Role.ORG_ADMIN)
    MembershipFactory(user=users["billing_here"], organization=org_here, role=Role.BILLING)
    for persona in (
        "staff_here",
        "staff_other",
        "org_admin",
        "platform_admin",
        "staff_unverified",
        "admin_other",
        "admin_requester",
        "billing_here",
    ):
        TOTPDeviceFactory(user=users[persona])
    patient_record = PatientFactory(user=users["patient"], given_name="Alex", family_name="Rivera")
    caregiver_record = PatientFactory(user=users["caregiver"], given_name="Maria", family_name="Lopez")
    EnrollmentFactory(patient=patient_record, organization=org_here)
    EnrollmentFactory(patient=caregiver_record, organization=org_other)
    world = World(
        org_here=org_here,
        org_other=org_other,
        patient_record=patient_record,
        caregiver_record=caregiver_record,
        users=users,
    )
    add_proxy_world(world)
    add_messaging_world(world)
    add_scheduling_world(world)
    add_billing_world(world)
    return world


def add_billing_world(world: World) -> None:
    """Rosa owes Riverside $60.00 on a $100.00 visit: insurance paid $30.00 and she paid $10.00 by card (its
    receipt); her monthly plan is on hold after a declined instalment."""
    account = BillingAccount.objects.create(organization=world.org_here, patient=world.people["rosa"])
    today = timezone.localdate()
    for kind, cents in ((BillingEntryKind.CHARGE, 10000), (BillingEntryKind.INSURANCE_PAYMENT, -3000)):
        LedgerEntry.objects.create(
            account=account, kind=kind, amount_cents=cents, visit_number="V-1", service_date=today, description="Visit"
        )
    Statement.objects.create(account=account, due_on=today + timedelta(days=20))
    plan = PaymentPlan.objects.create(
        account=account,
        instalment_cents=1000,
        day_of_month=5,
        status=PlanStatus.ON_HOLD,
        gateway_customer="cus_matrix",
        gateway_payment_method="pm_matrix",
        failure_message="The card was declined.",
    )
    payment = Payment.objects.create(
        account=account,
        amount_cents=1000,
        status=PaymentStatus.SUCCEEDED,
        idempotency_key="pay-matrix-rosa",
        gateway="stripe",
        gateway_reference="pi_matrix_rosa",
        receipt_number="R-MATRIX-1",
        completed_at=timezone.now(),
        plan=plan,
    )
    LedgerEntry.objects.create(
        account=account, kind=BillingEntryKind.PAYMENT, amount_cents=-1000, payment=payment, idempotency_key="p-1"
    )
    world.rosa_account, world.rosa_payment, world.rosa_plan = account, payment, plan


MATRIX_OFFER = "matrix-offer-secret-for-rosa"
MATRIX_FEED = "matrix-calendar-address-of-the-full-caregiver"


def add_scheduling_world(world: World) -> None:
    """Riverside offers a 20-minute checkup with one provider, free every day from 08:00 to 18:00; Rosa has a
    visit in five days."""
    location = Location.objects.create(organization=world.org_here, name="Riverside Main Street")
    provider = Provider.objects.create(organization=world.org_here, display_name="Dr. Casey Nguyen")
    visit_type = VisitType.objects.create(
        organization=world.org_here,
        name="Checkup",
        duration_minutes=20,
        modes=[Mode.IN_PERSON, Mode.VIDEO],
        forms=["phq-9"],
    )
    visit_type.providers.add(provider)
    for weekday in range(1, 8):
        WeeklyAvailability.objects.create(
            provider=provider, weekday=weekday, starts=time(8), ends=time(18), location=location, modes=[Mode.IN_PERSON]
        )
    starts = timezone.now().replace(second=0, microsecond=0) + timedelta(days=5)
    world.rosa_appointment = Appointment.objects.create(
        organization=world.org_here,
        provider=provider,
        patient=world.people["rosa"],
        visit_type=visit_type,
        location=location,
        mode=Mode.IN_PERSON,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=20),
    )
    world.visit_type, world.provider = visit_type, provider
    # Rosa waits for an earlier time, and one was offered to her (its link's secret: MATRIX_OFFER).
    entry = WaitlistEntry.objects.create(
        organization=world.org_here,
        patient=world.people["rosa"],
        visit_type=visit_type,
        appointment=world.rosa_appointment,
        wanted_before=starts,
    )
    from scheduling.selectors import open_slots

    now = timezone.now()
    (free,) = open_slots(visit_type, start=now + timedelta(days=3), end=now + timedelta(days=4), now=now, limit=1)
    WaitlistOffer.objects.create(
        entry=entry,
        provider=provider,
        location=location,
        mode=Mode.IN_PERSON,
        starts_at=free.starts_at,
        ends_at=free.ends_at,
        digest=digest_of(MATRIX_OFFER),
        expires_at=timezone.now() + timedelta(hours=2),
    )
    # The full caregiver's private calendar address (Rosa's visits in it).
    CalendarFeed.objects.create(user=world.user("caregiver_full"), digest=digest_of(MATRIX_FEED))


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def add_proxy_world(world: World) -> None:
    today = timezone.localdate()
    now = timezone.now()
    world.people = {
        "rosa": PatientFactory(given_name="Rosa", family_name="Lopez", birth_date=years_before(today, 78)),
        "teen": PatientFactory(
            given_name="Theo", family_name="Young", birth_date=years_before(today, 13) - timedelta(days=100)
        ),
        "new_adult": PatientFactory(
            given_name="Nora", family_name="Grown", birth_date=years_before(today - timedelta(days=1), 18)
        ),
    }
    EnrollmentFactory(patient=world.people["rosa"], organization=world.org_here)
    EnrollmentFactory(patient=world.people["teen"], organization=world.org_other)
    for persona, (person, basis, scopes, state) in PROXY_PERSONAS.items():
        user = UserFactory(email=f"{persona.replace('_', '.')}@example.test")
        world.users[persona] = user
        world.grants[persona] = ProxyGrant.objects.create(
            grantee=user,
            patient=world.people[person],
            legal_basis=basis,
            scopes=scopes,
            status=GrantStatus.REVOKED if state == "revoked" else GrantStatus.ACTIVE,
            starts_at=now - timedelta(days=30),
            expires_at=now - timedelta(days=1) if state == "expired-yesterday" else None,
        )
    system = HealthSystem.objects.create(
        name="Outside Hospital", fhir_base_url="https://fhir.outside.example/r4", client_id="portal-test"
    )
    world.rosa_connection = Connection.objects.create(
        source=RecordSource.objects.create(
            patient=world.people["rosa"], kind=SourceKind.CONNECTION, health_system=system, label=system.name
        ),
        health_system=system,
        fhir_patient_id="rosa-outside",
        access_token="token",
        refresh_token="refresh",
    )
    rosa = world.people["rosa"]
    # Rosa's power of attorney asked for at Riverside: by a stranger, and by one of Riverside's own admins.
    world.org_request = power_of_attorney_request(world.user("stranger"), world.org_here, rosa, relationship="son")
    world.own_request = power_of_attorney_request(
        world.user("admin_requester"), world.org_here, rosa, relationship="nephew"
    )
    world.platform_request = AccessRequest.objects.create(
        requester=world.user("stranger"),
        organization=None,
        patient_given_name="Ivy",
        patient_family_name="Nobody",
        patient_birth_date=date(2019, 3, 1),
        relationship="daughter",
        legal_basis=Basis.PARENT_OF_MINOR,
        requested_scopes=[Scope.RECORDS],
    )
    world.invitation = ProxyGrant.objects.create(
        patient=world.people["rosa"],
        legal_basis=Basis.PATIENT_CONSENT,
        scopes=[Scope.RECORDS],
        status=GrantStatus.PENDING,
    )
    ProxyInvitation.objects.create(
        grant=world.invitation,
        email="invited@example.test",
        nonce="0" * 64,
        link_expires_at=now + timedelta(days=7),
    )
    for persona in TOKEN_PERSONAS:
        _row, world.tokens[persona] = create_token_for(world.user(persona))
    for access_request in (world.org_request, world.platform_request, world.own_request):
        document = AccessRequestDocument(
            request=access_request, original_name="proof.pdf", content_type="application/pdf", size=len(SMALL_PDF)
        )
        document.file.save("proof.pdf", ContentFile(SMALL_PDF), save=True)


def add_messaging_world(world: World) -> None:
    """Care teams, threads on both sides of the adolescent rules, a file, a note, a pharmacy and a refill request."""
    now = timezone.now()
    here = Pool.objects.create(
        organization=world.org_here, name="Diabetes care team", lead=world.user("org_admin"), handles_refills=True
    )
    here.members.add(world.user("staff_here"))
    other = Pool.objects.create(organization=world.org_other, name="Pediatric nurses", lead=world.user("admin_other"))
    other.members.add(world.user("staff_other"))
    world.pools = {"here": here, "other": other}

    def thread(pool: Pool, patient: Patient, author: User | None, *, subject: str, private: bool = False) -> Thread:
        started = Thread.objects.create(
            organization=pool.organization,
            pool=pool,
            patient=patient,
            topic=Topic.CARE,
            subject=subject,
            started_by=author,
            private=private,
            status=ThreadStatus.WAITING_ON_STAFF,
            last_patient_message_at=now,
            reply_due_at=now + timedelta(days=2),
        )
        Message.objects.create(
            thread=started,
            author=author,
            author_name=(author.full_name or author.email) if author else patient.display_name,
            on_behalf_of_name=patient.display_name if author is not None and author != patient.user else "",
            body=f"About {subject}",
        )
        return started

    world.threads = {
        "rosa": thread(here, world.people["rosa"], world.user("caregiver_full"), subject="Swollen ankles"),
        "alex": thread(here, world.patient_record, world.user("patient"), subject="Question about my dose"),
        "teen": thread(other, world.people["teen"], world.user("parent_of_teen"), subject="School form"),
        "teen_private": thread(other, world.people["teen"], None, subject="Private question", private=True),
    }
    first = world.threads["rosa"].messages.get()
    world.attachment = Attachment(
        message=first, original_name="ankles.pdf", content_type="application/pdf", size=len(SMALL_PDF)
    )
    world.attachment.file.save("ankles.pdf", ContentFile(SMALL_PDF), save=True)
    world.note = Message.objects.create(
        thread=world.threads["rosa"],
        kind=MessageKind.NOTE,
        author=world.user("staff_here"),
        from_staff=True,
        author_name="Jordan Lee",
        body="Internal: check her last potassium",
    )
    world.pharmacy = Pharmacy.objects.create(organization=world.org_here, name="Main Street Pharmacy")
    refill_thread = Thread.objects.create(
        organization=world.org_here,
        pool=here,
        patient=world.people["rosa"],
        topic=Topic.REFILL,
        subject="Refill: Metformin 500 mg",
        started_by=world.user("caregiver_full"),
        last_patient_message_at=now,
        reply_due_at=now + timedelta(days=2),
    )
    world.refill = RefillRequest.objects.create(
        thread=refill_thread,
        patient=world.people["rosa"],
        organization=world.org_here,
        medication_name="Metformin 500 mg tablet",
        medication_key="rxnorm:861007",
        pharmacy=world.pharmacy,
        requested_by=world.user("caregiver_full"),
    )


def power_of_attorney_request(
    requester: User, organization: Organization, patient: Patient, *, relationship: str
) -> AccessRequest:
    return AccessRequest.objects.create(
        requester=requester,
        organization=organization,
        patient_given_name=patient.given_name,
        patient_family_name=patient.family_name,
        patient_birth_date=patient.birth_date,
        relationship=relationship,
        legal_basis=Basis.POWER_OF_ATTORNEY,
        requested_scopes=[Scope.RECORDS],
    )


SMALL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    # Uploaded documents go to a folder of each test's own.
    settings.MEDIA_ROOT = tmp_path / "media"


VERIFIED_PERSONAS = frozenset(
    {"staff_here", "staff_other", "org_admin", "platform_admin", "admin_other", "admin_requester", "billing_here"}
)


def create_token_for(user: User) -> tuple[ApiToken, str]:
    """A bearer token for `user`, as the API tokens page makes one."""
    token = new_token()
    row = ApiToken.objects.create(user=user, name="Test token", digest=digest_token(token))
    return row, token


def sign_in(client: Client, world: World, persona: str) -> Client:
    """Sign the client in as a persona; staff and admins also pass their second factor."""
    if persona == "anonymous":
        return client
    if persona in TOKEN_PERSONAS:
        # No session at all: the API by bearer token, acting for the person the (ended) grant was for.
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[persona]}"
        client.defaults["HTTP_ACTING_FOR"] = str(world.grants[persona].patient_id)
        return client
    user = world.user(persona)
    client.force_login(user)
    if persona in VERIFIED_PERSONAS:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    if persona in PROXY_PERSONAS:
        session = client.session
        session[ACTING_FOR_KEY] = str(world.grants[persona].patient_id)
        session.save()
    return client


@pytest.fixture
def as_persona(client: Client, world: World) -> Any:
    def _as(persona: str) -> Client:
        return sign_in(client, world, persona)

    return _as


@pytest.fixture
def eager_tasks() -> Any:
    """Queued Celery tasks run in this process at once (a worker runs them in production)."""
    from portal.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False
