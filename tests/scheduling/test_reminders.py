"""Appointment reminders: at the organization's offsets, once, by email and by text to those who asked, in each
person's language and time zone, skipped for cancelled visits, and with no health details."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail

from accounts.models.audit import Basis
from accounts.sms import MemoryBackend
from proxy.models import GrantStatus, ProxyGrant
from scheduling.actions import book_appointment, cancel_appointment
from scheduling.models import AppointmentReminder, SchedulingPolicy
from scheduling.reminders import deliver_reminders, queue_due_reminders
from scheduling.tasks import send_appointment_reminders
from tests.factories import UserFactory
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    MemoryBackend.outbox.clear()
    return make_clinic()


def sweep(at: Any) -> int:
    queue_due_reminders(now=at)
    return deliver_reminders(now=at)


def test_each_offset_once_in_the_readers_language_and_time_zone(clinic: Clinic) -> None:
    visit = book_appointment(
        actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-12T09:00"), now=NOW
    )
    patient = clinic.actor.user
    patient.language, patient.time_zone = "es", "America/New_York"
    patient.save()
    # Seven days of real time before 09:00 on the 12th (clocks go forward on the 8th): 08:00 on the 5th.
    assert sweep(chicago("2026-03-05T07:59")) == 0
    assert sweep(chicago("2026-03-05T08:00")) == 1
    assert sweep(chicago("2026-03-05T08:05")) == 0  # once
    (email,) = mail.outbox
    assert email.to == [patient.email]
    assert "jueves 12 marzo, 10:00 EDT" in email.body  # Spanish, New York's clock (an hour ahead, DST begun)
    assert "Riverside Family Clinic" in email.body
    for words in ("Checkup", "Cough", "Dr. Casey Nguyen"):
        assert words not in email.body + email.subject
    assert sweep(chicago("2026-03-11T09:00")) == 1  # the day before
    assert sweep(chicago("2026-03-12T07:00")) == 1  # two hours before
    assert sweep(chicago("2026-03-12T08:30")) == 0
    assert sorted(AppointmentReminder.objects.values_list("offset_minutes", flat=True)) == [120, 1440, 10080]
    assert visit.pk


def test_a_late_booking_or_a_pause_sends_one_not_a_burst(clinic: Clinic) -> None:
    book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-04T09:00"), now=NOW)
    # Booked two days ahead: the 7-day reminder's moment came before the booking; the beat paused until the eve.
    assert sweep(chicago("2026-03-03T10:00")) == 1
    assert list(AppointmentReminder.objects.values_list("offset_minutes", flat=True)) == [1440]


def test_a_cancelled_visit_is_not_reminded_and_caregivers_with_the_scope_are(clinic: Clinic) -> None:
    helper = UserFactory(full_name="Maria Lopez", reminders_by_text=True, phone="+15550142")
    ProxyGrant.objects.create(
        grantee=helper,
        patient=clinic.patient,
        legal_basis=Basis.PATIENT_CONSENT,
        scopes=["scheduling"],
        status=GrantStatus.ACTIVE,
    )
    records_only = UserFactory()
    ProxyGrant.objects.create(
        grantee=records_only, patient=clinic.patient, legal_basis=Basis.PATIENT_CONSENT, scopes=["records"],
        status=GrantStatus.ACTIVE,
    )  # fmt: skip
    visit = book_appointment(
        actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-12T09:00"), now=NOW
    )
    queue_due_reminders(now=chicago("2026-03-11T09:00"))
    assert AppointmentReminder.objects.count() == 3  # the patient's email, the helper's email and text
    cancel_appointment(actor=clinic.actor, appointment=visit, by_staff=True, now=chicago("2026-03-11T09:01"))
    assert deliver_reminders(now=chicago("2026-03-11T09:02")) == 0
    assert not mail.outbox
    assert not MemoryBackend.outbox
    assert AppointmentReminder.objects.filter(skipped_at__isnull=False).count() == 3


def test_text_messages_name_the_person_and_the_clinic_only(clinic: Clinic) -> None:
    helper = UserFactory(full_name="Maria Lopez", reminders_by_text=True, phone="+15550142")
    ProxyGrant.objects.create(
        grantee=helper, patient=clinic.patient, legal_basis=Basis.PATIENT_CONSENT, scopes=["scheduling"],
        status=GrantStatus.ACTIVE,
    )  # fmt: skip
    SchedulingPolicy.objects.filter(organization=clinic.organization).update(reminder_offsets_minutes=[60 * 24])
    book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-12T09:00"), now=NOW)
    assert sweep(chicago("2026-03-11T09:00")) == 3
    (text,) = MemoryBackend.outbox
    assert text.to == "+15550142"
    assert (
        text.body
        == "Alex has a visit at Riverside Family Clinic on Thursday 12 March, 09:00 CDT (Riverside Main Street)."
    )


def test_the_beat_task_queues_and_sends(clinic: Clinic, settings: Any) -> None:
    import time_machine

    book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"), now=NOW)
    with time_machine.travel(chicago("2026-03-03T07:00"), tick=False):
        assert send_appointment_reminders() == 1
        assert send_appointment_reminders() == 0
    assert len(mail.outbox) == 1
    assert timedelta(0) < timedelta(hours=2)
