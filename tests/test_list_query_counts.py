"""Every list page makes the same number of queries however many rows it lists."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.models.audit import Basis
from proxy.access import resolve_actor
from proxy.models import AccessRequest, GrantStatus, ProxyGrant
from records.actions import create_share_link
from records.models import (
    EntryKind,
    FhirResource,
    HomeMeasurement,
    JournalEntry,
    MeasurementKind,
    RecordSource,
    SensitiveShare,
    ShareOpening,
    ShareOutcome,
)
from tests.conftest import World, sign_in
from tests.factories import EnrollmentFactory, PatientFactory, UserFactory
from tests.query_counts import count_queries
from tests.records.record_data import condition, immunization, lab, medication, source_for, store


def more_grants_on_alex(world: World) -> None:
    for _ in range(5):
        ProxyGrant.objects.create(
            grantee=UserFactory(),
            patient=world.patient_record,
            legal_basis=Basis.OTHER,
            scopes=["records"],
            status=GrantStatus.ACTIVE,
        )
        ProxyGrant.objects.create(
            grantee=UserFactory(),
            patient=world.patient_record,
            legal_basis=Basis.OTHER,
            scopes=["records"],
            status=GrantStatus.REVOKED,
        )


def more_grants_at_riverside(world: World) -> None:
    for _ in range(5):
        child = PatientFactory()
        EnrollmentFactory(patient=child, organization=world.org_here)
        ProxyGrant.objects.create(
            grantee=UserFactory(),
            patient=child,
            legal_basis=Basis.PARENT_OF_MINOR,
            scopes=["records"],
            status=GrantStatus.ACTIVE,
        )


def more_requests(world: World, organization: object) -> None:
    for n in range(5):
        AccessRequest.objects.create(
            requester=UserFactory(),
            organization=organization,
            patient_given_name=f"Kid{n}",
            patient_family_name="Many",
            patient_birth_date="2018-01-01",
            relationship="son",
            legal_basis=Basis.PARENT_OF_MINOR,
            requested_scopes=["records"],
        )


def more_history(world: World) -> None:
    for _ in range(10):
        record_audit_event(
            action=AuditAction.RECORD_VIEWED,
            user=world.user("caregiver_full"),
            subject=world.people["rosa"],
            basis=Basis.POWER_OF_ATTORNEY,
        )


def more_records(world: World) -> None:
    """Rosa's record grows: results, measurements, problems, medicines, vaccines, from a second source too."""
    hospital = source_for(world.people["rosa"], "County Hospital")
    for source in (world.rosa_connection.source, hospital):
        for n in range(4):
            store(
                source,
                lab(f"a1c-{n}", value=7 + n / 10, when=f"2026-0{n + 1}-10T09:00:00Z"),
                lab(f"bp-{n}", code="8867-4", display="Heart rate", unit="/min", category="vital-signs"),
                condition(f"problem-{n}", f"Problem {n}", code=f"1000{n}"),
                medication(f"medicine-{n}", f"Medicine {n}"),
                immunization(f"flu-{n}", when=f"202{n}-10-15"),
            )


def more_share_links(world: World, links: int = 5) -> None:
    """More links to Rosa's record (five), each opened a few times."""
    actor = resolve_actor(world.user("caregiver_full"), subject_id=str(world.people["rosa"].pk))
    for n in range(links):
        link = create_share_link(actor=actor, label=f"Link {n}", days=7)
        for _ in range(3):
            ShareOpening.objects.create(link=link, recipient="Dr. Patel", outcome=ShareOutcome.OPENED)


def journal_entry(world: World, persona: str, kind: str, text: str) -> None:
    user = world.user(persona)
    JournalEntry.objects.create(
        patient=world.people["rosa"], kind=kind, text=text, author=user, author_name=user.full_name or "helper"
    )


def home_reading(world: World, persona: str, kind: str) -> None:
    user = world.user(persona)
    values: dict[str, object] = {
        MeasurementKind.BLOOD_PRESSURE: {"systolic": 130, "diastolic": 80, "unit": "mm[Hg]"},
        MeasurementKind.WEIGHT: {"value": 154, "unit": "[lb_av]"},
        MeasurementKind.GLUCOSE: {"value": 5.5, "unit": "mmol/L", "glucose_context": "fasting"},
    }[kind]
    HomeMeasurement.objects.create(
        patient=world.people["rosa"], kind=kind, author=user, author_name=user.full_name or "helper", **values
    )


def more_journal(world: World) -> None:
    """Rosa's journal grows: every kind, by two writers."""
    for n in range(4):
        for persona in ("caregiver_full", "caregiver_records"):
            for kind in EntryKind.values:
                journal_entry(world, persona, kind, f"Entry {n}")


def more_readings(world: World) -> None:
    """Rosa's home measurements grow: every kind, in other units too, by two people."""
    for _ in range(4):
        for persona in ("caregiver_full", "caregiver_records"):
            for kind in MeasurementKind.values:
                home_reading(world, persona, kind)
    HomeMeasurement.objects.create(
        patient=world.people["rosa"], kind=MeasurementKind.WEIGHT, value=70, unit="kg", author_name="Someone"
    )


def alex_privacy(world: World, helpers: int = 1) -> None:
    """Alex's privacy choices grow: helpers each shown a private item and a kind, and private results that wait."""
    Patient.objects.filter(pk=world.patient_record.pk).update(results_after_discussion=True)
    source = RecordSource.objects.filter(patient=world.patient_record).first() or source_for(
        world.patient_record, "Riverside"
    )
    for _ in range(helpers):
        n = ProxyGrant.objects.filter(patient=world.patient_record).count()
        grant = ProxyGrant.objects.create(
            grantee=UserFactory(),
            patient=world.patient_record,
            legal_basis=Basis.PATIENT_CONSENT,
            scopes=["records"],
            status=GrantStatus.ACTIVE,
        )
        store(
            source,
            condition(f"private-{n}", f"Private {n}", code=f"2000{n}", meta={"security": [{"code": "PSY"}]}),
            lab(f"hiv-{n}", code="75622-1", display="HIV test", value=None, when=f"2026-0{n % 9 + 1}-01T09:00:00Z",
                interpretation="NEG", security="HIV"),
        )  # fmt: skip
        private = FhirResource.objects.get(patient=world.patient_record, resource_id=f"private-{n}")
        SensitiveShare.objects.create(patient=world.patient_record, grant=grant, resource=private)
        SensitiveShare.objects.create(patient=world.patient_record, grant=grant, category="mental_health")


def more_threads(world: World) -> None:
    """Rosa's conversations grow: new ones, some answered by the care team, one read since."""
    from messaging.models import Message, Thread, ThreadRead, ThreadStatus, Topic

    now = timezone.now()
    for n in range(6):
        thread = Thread.objects.create(
            organization=world.org_here,
            pool=world.pools["here"],
            patient=world.people["rosa"],
            topic=Topic.CARE,
            subject=f"Question {n}",
            status=ThreadStatus.WAITING_ON_PATIENT if n % 2 else ThreadStatus.WAITING_ON_STAFF,
            last_patient_message_at=now,
            last_staff_message_at=now if n % 2 else None,
            reply_due_at=None if n % 2 else now,
        )
        Message.objects.create(thread=thread, author=world.user("caregiver_full"), author_name="Full", body="Hello")
        if n == 3:
            ThreadRead.objects.create(thread=thread, user=world.user("caregiver_full"), read_at=now)


def more_messages(world: World) -> None:
    """Rosa's conversation grows: replies both ways, each with a file, updates and internal notes between."""
    from django.core.files.base import ContentFile

    from messaging.models import Attachment, Message, MessageKind
    from tests.conftest import SMALL_PDF

    thread = world.threads["rosa"]
    for n in range(5):
        for staff in (False, True):
            message = Message.objects.create(
                thread=thread, from_staff=staff, author_name="Someone", body=f"Message {n}", on_behalf_of_name="Rosa"
            )
            attachment = Attachment(message=message, original_name=f"{n}.pdf", content_type="application/pdf", size=9)
            attachment.file.save(f"{n}.pdf", ContentFile(SMALL_PDF), save=True)
        Message.objects.create(thread=thread, kind=MessageKind.EVENT, from_staff=True, author_name="J", body="Taken")
        Message.objects.create(thread=thread, kind=MessageKind.NOTE, from_staff=True, author_name="J", body="Note")


def more_inbox_threads(world: World) -> None:
    """Riverside's inbox grows: threads of new patients in a second pool, assigned, read, overdue, closed."""
    from datetime import timedelta

    from django.utils import timezone

    from messaging.models import Pool, Thread, ThreadRead, ThreadStatus, Topic

    second = Pool.objects.create(organization=world.org_here, name=f"Team {Pool.objects.count()}")
    now = timezone.now()
    for n in range(8):
        patient = PatientFactory()
        EnrollmentFactory(patient=patient, organization=world.org_here)
        thread = Thread.objects.create(
            organization=world.org_here,
            pool=second if n % 2 else world.pools["here"],
            patient=patient,
            topic=Topic.CARE,
            subject=f"More {n}",
            status=ThreadStatus.WAITING_ON_STAFF,
            assigned_to=world.user("staff_here") if n % 3 == 0 else world.user("org_admin") if n % 3 == 1 else None,
            last_patient_message_at=now,
            reply_due_at=now + timedelta(hours=n - 4),
        )
        if n % 2:
            ThreadRead.objects.create(thread=thread, user=world.user("staff_here"))


def more_staff_messages(world: World) -> None:
    """Rosa's thread grows: messages with files, notes and updates, from both sides."""
    from django.core.files.base import ContentFile

    from messaging.models import Attachment, Message, MessageKind
    from tests.conftest import SMALL_PDF

    thread = world.threads["rosa"]
    for n in range(4):
        for kind in (MessageKind.MESSAGE, MessageKind.NOTE, MessageKind.EVENT):
            message = Message.objects.create(
                thread=thread, kind=kind, author=world.user("staff_here"), from_staff=True, author_name="Jordan Lee",
                body=f"{kind} {n}",
            )  # fmt: skip
            if kind == MessageKind.MESSAGE:
                attachment = Attachment(message=message, original_name=f"f{n}.pdf", content_type="application/pdf",
                                        size=len(SMALL_PDF))  # fmt: skip
                attachment.file.save(f"f{n}.pdf", ContentFile(SMALL_PDF), save=True)


def more_visits(world: World) -> None:
    """Rosa's visits grow: upcoming, past and cancelled ones, with other providers and kinds of visit."""
    from datetime import timedelta

    from scheduling.models import Appointment, AppointmentStatus, Location, Provider, VisitType

    now = timezone.now().replace(second=0, microsecond=0)
    for n in range(6):
        provider = Provider.objects.create(organization=world.org_here, display_name=f"Provider {n}")
        visit_type = VisitType.objects.create(organization=world.org_here, name=f"Visit {n}", modes=["in_person"])
        location = Location.objects.create(organization=world.org_here, name=f"Site {n}")
        starts = now + timedelta(days=n - 3, hours=n)
        Appointment.objects.create(
            organization=world.org_here,
            provider=provider,
            patient=world.people["rosa"],
            visit_type=visit_type,
            location=location,
            mode="in_person",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=20),
            status=AppointmentStatus.CANCELLED if n == 4 else AppointmentStatus.BOOKED,
        )


def more_day_visits(world: World, count: int = 6) -> None:
    """Today's visits at Riverside grow: other patients, providers and kinds of visit."""
    from datetime import timedelta

    from scheduling.models import Appointment, Provider, VisitType

    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    for n in range(count):
        patient = PatientFactory()
        EnrollmentFactory(patient=patient, organization=world.org_here)
        provider = Provider.objects.create(organization=world.org_here, display_name=f"Provider {start:%H%M%S} {n}")
        visit_type = VisitType.objects.create(organization=world.org_here, name=f"Visit {n}", modes=["phone"])
        Appointment.objects.create(
            organization=world.org_here,
            provider=provider,
            patient=patient,
            visit_type=visit_type,
            mode="phone",
            starts_at=start + timedelta(minutes=n),
            ends_at=start + timedelta(minutes=n + 20),
        )


def more_setup(world: World, count: int = 4) -> None:
    """Riverside's setup grows: providers with hours and places, kinds of visit with providers, closed days."""
    from datetime import time, timedelta

    from scheduling.models import ClosedDay, Location, Provider, VisitType, WeeklyAvailability

    for n in range(count):
        location = Location.objects.create(organization=world.org_here, name=f"Annex {n} {Location.objects.count()}")
        provider = Provider.objects.create(organization=world.org_here, display_name=f"Dr. {n} {location.pk}")
        provider.locations.add(location)
        for weekday in (1, 2):
            WeeklyAvailability.objects.create(
                provider=provider, weekday=weekday, starts=time(9), ends=time(12), location=location, modes=["video"]
            )
        kind = VisitType.objects.create(organization=world.org_here, name=f"Kind {location.pk}", modes=["video"])
        kind.providers.add(provider)
        ClosedDay.objects.create(organization=world.org_here, day=timezone.localdate() + timedelta(days=location.pk))


def more_of_both(world: World) -> None:
    more_journal(world)
    more_readings(world)


def more_billing(world: World) -> None:
    """More visits, payments and refunds on Rosa's Riverside bill, and more accounts at Riverside's desk."""
    from billing.models import BillingAccount, EntryKind, LedgerEntry, Payment, PaymentPlan, PaymentStatus, PlanStatus

    account = world.rosa_account
    for number in range(5):
        LedgerEntry.objects.create(
            account=account,
            kind=EntryKind.CHARGE,
            amount_cents=5000,
            visit_number=f"V-more-{number}",
            service_date=timezone.localdate(),
            description="Visit",
        )
        LedgerEntry.objects.create(
            account=account,
            kind=EntryKind.INSURANCE_PAYMENT,
            amount_cents=-1000,
            visit_number=f"V-more-{number}",
            service_date=timezone.localdate(),
        )
        payment = Payment.objects.create(
            account=account,
            amount_cents=500,
            status=PaymentStatus.SUCCEEDED,
            idempotency_key=f"more-{number}",
            gateway="stripe",
            gateway_reference=f"pi_more_{number}",
            receipt_number=f"R-{number}",
        )
        LedgerEntry.objects.create(account=account, kind=EntryKind.PAYMENT, amount_cents=-500, payment=payment)
        LedgerEntry.objects.create(
            account=account, kind=EntryKind.REFUND, amount_cents=100, payment=payment, reason="Asked"
        )
        child = PatientFactory()
        EnrollmentFactory(patient=child, organization=world.org_here)
        other = BillingAccount.objects.create(organization=world.org_here, patient=child)
        LedgerEntry.objects.create(
            account=other, kind=EntryKind.CHARGE, amount_cents=900, visit_number="V", description="Visit"
        )
        PaymentPlan.objects.create(
            account=other,
            instalment_cents=100,
            day_of_month=3,
            status=PlanStatus.ACTIVE,
            next_charge_on=timezone.localdate(),
        )


CASES: list[tuple[str, str, dict[str, str], Callable[[World], object]]] = [
    ("caregiver_full", "records:summary", {}, more_records),
    ("caregiver_full", "records:results", {}, more_records),
    ("caregiver_full", "records:timeline", {}, more_records),
    ("caregiver_full", "records:section", {"section": "medications"}, more_records),
    ("caregiver_full", "records:section", {"section": "immunizations"}, more_records),
    ("caregiver_full", "records:summary", {}, more_of_both),
    ("caregiver_full", "records:journal", {}, more_journal),
    ("caregiver_full", "records:journal_print", {}, more_journal),
    ("caregiver_full", "records:measurements", {}, more_readings),
    ("patient", "proxy:sharing", {}, more_grants_on_alex),
    ("org_admin", "proxy:org_grants", {"org_slug": "riverside"}, more_grants_at_riverside),
    ("platform_admin", "proxy:platform_grants", {}, more_grants_at_riverside),
    ("org_admin", "proxy:org_queue", {"org_slug": "riverside"}, lambda w: more_requests(w, w.org_here)),
    ("platform_admin", "proxy:platform_queue", {}, lambda w: more_requests(w, None)),
    ("stranger", "proxy:my_requests", {}, lambda w: AccessRequest.objects.update(requester=w.user("stranger"))),
    ("caregiver_full", "access_history", {}, more_history),
    ("caregiver_full", "records:share_links", {}, more_share_links),
    # The record's API, for Rosa (a `patient_id` names one of world.people: the URL is made per test).
    ("caregiver_full", "api-record-summary", {"patient_id": "rosa"}, more_records),
    ("caregiver_full", "api-record-timeline", {"patient_id": "rosa"}, more_records),
    ("caregiver_full", "api-record-results", {"patient_id": "rosa"}, more_records),
    ("caregiver_full", "api-record-section", {"patient_id": "rosa", "section": "medications"}, more_records),
    ("caregiver_full", "api-record-section", {"patient_id": "rosa", "section": "immunizations"}, more_records),
    ("caregiver_full", "api-record-preventive-care", {"patient_id": "rosa"}, more_records),
    ("caregiver_full", "api-record-sources", {"patient_id": "rosa"}, more_records),
    ("caregiver_full", "api-record-share-links", {"patient_id": "rosa"}, more_share_links),
    ("caregiver_full", "api-record-journal", {"patient_id": "rosa"}, more_journal),
    ("caregiver_full", "api-record-measurements", {"patient_id": "rosa"}, more_readings),
    ("patient", "api-record-privacy", {"patient_id": "alex"}, lambda w: alex_privacy(w, helpers=4)),
    # The staff inbox (a `thread_id` names one of world.threads: the URL is made per test).
    ("staff_here", "messaging:staff_inbox", {"org_slug": "riverside"}, more_inbox_threads),
    ("staff_here", "messaging:staff_thread", {"org_slug": "riverside", "thread_id": "rosa"}, more_staff_messages),
    ("staff_here", "api-staff-threads", {"org_slug": "riverside"}, more_inbox_threads),
    ("staff_here", "api-staff-thread", {"org_slug": "riverside", "thread_id": "rosa"}, more_staff_messages),
    # Messages, the patient's side (a `thread_id` names one of world.threads).
    ("caregiver_full", "messaging:inbox", {}, more_threads),
    ("caregiver_full", "messaging:thread", {"thread_id": "rosa"}, more_messages),
    ("caregiver_full", "api-messages", {"patient_id": "rosa"}, more_threads),
    ("caregiver_full", "api-messages-thread", {"patient_id": "rosa", "thread_id": "rosa"}, more_messages),
    # Appointments, the patient's side and the staff's day.
    ("caregiver_full", "scheduling:appointments", {}, more_visits),
    ("staff_here", "scheduling:staff_schedule", {"org_slug": "riverside"}, more_day_visits),
    ("org_admin", "scheduling:staff_setup", {"org_slug": "riverside"}, more_setup),
    # Bills: the patient's side (an `account_id` names Rosa's Riverside account) and the billing desk.
    ("caregiver_full", "billing:bills", {}, more_billing),
    ("caregiver_full", "billing:statement", {"account_id": "rosa"}, more_billing),
    ("caregiver_full", "api-bill", {"patient_id": "rosa", "account_id": "rosa"}, more_billing),
    ("org_admin", "billing:staff_home", {"org_slug": "riverside"}, more_billing),
    ("org_admin", "billing:staff_plans", {"org_slug": "riverside"}, more_billing),
    ("org_admin", "billing:staff_account", {"org_slug": "riverside", "account_id": "rosa"}, more_billing),
    ("org_admin", "api-staff-billing-accounts", {"org_slug": "riverside"}, more_billing),
    ("caregiver_full", "family", {}, more_billing),
]


@pytest.mark.parametrize(
    ("persona", "url_name", "kwargs", "add_rows"), CASES, ids=[c[1] + c[2].get("section", "") for c in CASES]
)
def test_list_page_query_count_is_constant(
    client: Client,
    world: World,
    persona: str,
    url_name: str,
    kwargs: dict[str, str],
    add_rows: Callable[[World], object],
) -> None:
    sign_in(client, world, persona)
    if url_name.startswith(("records:", "api-record-")):
        # A record with one item first: an empty page skips the query that reads its rows.
        store(world.rosa_connection.source, lab("first"), immunization("first-flu"), medication("first-medicine"))
        # And one entry and one reading of Rosa's own, for the same reason.
        journal_entry(world, "caregiver_full", EntryKind.QUESTION, "First question")
        journal_entry(world, "caregiver_full", EntryKind.SYMPTOM, "First symptom")
        for kind in MeasurementKind.values:
            home_reading(world, "caregiver_full", kind)
    if url_name == "scheduling:staff_schedule":
        more_day_visits(world, 1)  # one visit first: an empty day writes no audit rows
    if url_name == "api-record-share-links":
        more_share_links(world, 1)  # one link first: an empty page of links skips reading them
    if kwargs.get("patient_id") == "alex":
        alex_privacy(world)  # one of each first, for the same reason
        kwargs = {**kwargs, "patient_id": str(world.patient_record.pk)}
    elif "patient_id" in kwargs:
        kwargs = {**kwargs, "patient_id": str(world.people[kwargs["patient_id"]].pk)}
    if kwargs.get("account_id") == "rosa":
        kwargs = {**kwargs, "account_id": str(world.rosa_account.pk)}
    if "thread_id" in kwargs:
        kwargs = {**kwargs, "thread_id": str(world.threads[kwargs["thread_id"]].pk)}
    url = reverse(url_name, kwargs=kwargs)
    before = count_queries(client, url)
    add_rows(world)
    assert count_queries(client, url) == before
