"""Demo messaging: Riverside's care teams, pharmacies and reply templates; Nurse Jordan's pool has waiting
threads (one overdue), an answered one and a refill request from Rosa's record. Idempotent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, Patient, User
from messaging.models import (
    Holiday,
    Message,
    MessagingPolicy,
    Pharmacy,
    Pool,
    QuickReply,
    RefillRequest,
    Thread,
    ThreadRead,
    ThreadStatus,
    Topic,
)
from messaging.turnaround import reply_due

if TYPE_CHECKING:
    from records.models import FhirResource

NURSE = "nurse@riverside.demo.test"
ADMIN = "admin@riverside.demo.test"
LAKESIDE_NURSE = "nurse@lakeside.demo.test"
LAKESIDE_ADMIN = "admin@lakeside.demo.test"
PATIENT = "patient@demo.test"
CAREGIVER = "caregiver@demo.test"

QUICK_REPLIES = {
    "Results are normal": "Your results are within the usual range. No change is needed; we will see you at "
    "your next visit.",
    "Please book a visit": "This is best looked at in person. Please book a visit online or call us, and bring "
    "your medicines with you.",
    "Refill sent": "Your refill was sent to your pharmacy. It is usually ready within a day.",
}


def _pool(organization: Organization, name: str, *, description: str, lead: User, members: list[User]) -> Pool:
    pool, _ = Pool.objects.get_or_create(
        organization=organization,
        name=name,
        defaults={"description": description, "lead": lead, "handles_refills": name == "Diabetes care team"},
    )
    pool.members.add(*members)
    return pool


def _thread(
    pool: Pool,
    patient: Patient,
    author: User,
    *,
    subject: str,
    body: str,
    topic: str = Topic.CARE,
    days_ago: int,
    on_behalf: bool,
) -> tuple[Thread, bool]:
    existing = Thread.objects.filter(pool=pool, patient=patient, subject=subject).first()
    if existing is not None:
        return existing, False
    sent = timezone.now() - timedelta(days=days_ago, hours=3)
    thread = Thread.objects.create(
        organization=pool.organization,
        pool=pool,
        patient=patient,
        topic=topic,
        subject=subject,
        started_by=author,
        status=ThreadStatus.WAITING_ON_STAFF,
        created_at=sent,
        last_message_at=sent,
        last_patient_message_at=sent,
        reply_due_at=reply_due(pool.organization, sent),
    )
    Message.objects.create(
        thread=thread,
        author=author,
        author_name=author.full_name,
        on_behalf_of_name=patient.display_name if on_behalf else "",
        body=body,
        created_at=sent,
    )
    ThreadRead.objects.create(thread=thread, user=author, read_at=sent)
    return thread, True


def _staff_reply(thread: Thread, nurse: User, body: str, *, hours_later: int, close: bool = False) -> None:
    when = thread.created_at + timedelta(hours=hours_later)
    Message.objects.create(
        thread=thread, author=nurse, from_staff=True, author_name=nurse.full_name, body=body, created_at=when
    )
    Thread.objects.filter(pk=thread.pk).update(
        status=ThreadStatus.CLOSED if close else ThreadStatus.WAITING_ON_PATIENT,
        assigned_to=nurse,
        last_message_at=when,
        last_staff_message_at=when,
        reply_due_at=None,
        closed_at=when if close else None,
    )


@transaction.atomic
def seed_messaging_demo(*, patients: dict[str, Patient], users: dict[str, User]) -> None:
    riverside = Organization.objects.get(slug="riverside")
    lakeside = Organization.objects.get(slug="lakeside")
    MessagingPolicy.objects.get_or_create(organization=riverside, defaults={"turnaround_business_days": 2})
    MessagingPolicy.objects.get_or_create(organization=lakeside, defaults={"turnaround_business_days": 1})
    today = timezone.localdate()
    christmas = today.replace(month=12, day=25) if today <= today.replace(month=12, day=25) else None
    if christmas is not None:
        Holiday.objects.get_or_create(organization=riverside, day=christmas, defaults={"name": "Christmas Day"})
    nurse, admin = users[NURSE], users[ADMIN]
    diabetes = _pool(
        riverside,
        "Diabetes care team",
        description="Blood sugar, medicines, refills and diet questions.",
        lead=admin,
        members=[nurse],
    )
    _pool(
        riverside, "Front desk", description="Forms, letters, billing and other questions.", lead=admin, members=[admin]
    )
    _pool(
        lakeside,
        "Pediatric nurses",
        description="Questions about your child's care.",
        lead=users[LAKESIDE_ADMIN],
        members=[users[LAKESIDE_NURSE]],
    )
    for name, address in (
        ("Riverside Pharmacy", "120 Main Street, Riverside"),
        ("Oak Street Pharmacy", "45 Oak Street, Riverside"),
    ):
        Pharmacy.objects.get_or_create(organization=riverside, name=name, defaults={"address": address})
    for title, body in QUICK_REPLIES.items():
        QuickReply.objects.get_or_create(organization=riverside, title=title, defaults={"body": body})

    alex, maria = users[PATIENT], users[CAREGIVER]
    _thread(
        diabetes,
        patients["alex"],
        alex,
        subject="Question about my metformin dose",
        body="Should I still take the evening dose if I skip dinner?",
        days_ago=0,
        on_behalf=False,
    )
    # Overdue: sent a week ago and not yet answered (first in Jordan's inbox).
    _thread(
        diabetes,
        patients["rosa"],
        maria,
        subject="Swollen ankles since Tuesday",
        body="My mother's ankles have been swollen for three days. Could it be her new medicine?",
        days_ago=7,
        on_behalf=True,
    )
    answered, created = _thread(
        diabetes,
        patients["rosa"],
        maria,
        subject="Home blood pressure readings",
        body="Her readings this week were around 150/90 in the mornings. Is that too high?",
        topic=Topic.RESULTS,
        days_ago=3,
        on_behalf=True,
    )
    if created:
        _staff_reply(
            answered,
            nurse,
            "Thank you for sending these. Please keep measuring each morning this week; Dr. Patel will review "
            "them on Friday. If she has a headache or chest pain, call us at once.",
            hours_later=20,
        )
    closed, created = _thread(
        diabetes,
        patients["alex"],
        alex,
        subject="Flu shot",
        body="Can I get my flu shot at my next visit?",
        topic=Topic.OTHER,
        days_ago=20,
        on_behalf=False,
    )
    if created:
        _staff_reply(closed, nurse, "Yes, we will give it at your visit.", hours_later=5, close=True)


def seed_refill_demo(
    *, rosa: Patient, medication_name: str, medication_key: str, medication: FhirResource | None = None
) -> None:
    """A waiting refill request from Rosa's record, asked by Maria (run after her records are imported)."""
    riverside = Organization.objects.get(slug="riverside")
    if RefillRequest.objects.filter(patient=rosa, organization=riverside, medication_key=medication_key).exists():
        return
    maria = User.objects.get(email=CAREGIVER)
    pool = Pool.objects.get(organization=riverside, name="Diabetes care team")
    pharmacy = Pharmacy.objects.get(organization=riverside, name="Riverside Pharmacy")
    with transaction.atomic():
        thread, _created = _thread(
            pool,
            rosa,
            maria,
            subject=f"Refill: {medication_name}"[:150],
            body="Please renew this prescription; she has about a week left.",
            topic=Topic.REFILL,
            days_ago=1,
            on_behalf=True,
        )
        RefillRequest.objects.create(
            thread=thread,
            patient=rosa,
            organization=riverside,
            medication=medication,
            medication_name=medication_name,
            medication_key=medication_key,
            pharmacy=pharmacy,
            requested_by=maria,
            requested_at=thread.created_at,
        )
