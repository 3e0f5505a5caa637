"""Booking, moving and cancelling: the policy, the checks, and the database keeping one visit per time."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import AuditEvent
from scheduling.actions import (
    BookingError,
    SlotTakenError,
    TooLateError,
    book_appointment,
    cancel_appointment,
    move_appointment,
)
from scheduling.models import Appointment, AppointmentStatus, AvailabilityException, ClosedDay, PatientStatus
from scheduling.selectors import first_available, open_slots
from tests.factories import PatientFactory
from tests.scheduling.clinic import CHICAGO, NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


def rows() -> list[tuple[str, str]]:
    return sorted((str(a.starts_at), a.status) for a in Appointment.objects.all())


def test_a_free_time_is_booked_for_its_length_and_audited(clinic: Clinic) -> None:
    appointment = book_appointment(
        actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:20"), now=NOW
    )
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.starts_at == chicago("2026-03-03T09:20")
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=20)
    assert (appointment.booked_by_name, appointment.reason) == ("Alex Rivera", "Cough for two weeks")
    event = AuditEvent.objects.get(action="appointments.booked")
    assert (event.subject_patient_id, event.object_id) == (clinic.patient.pk, str(appointment.pk))


def test_a_taken_time_is_refused_with_the_nearest_free_ones(clinic: Clinic) -> None:
    book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:20"), now=NOW)
    other, other_actor = clinic.another_patient()
    before = rows()
    with pytest.raises(SlotTakenError) as refused:
        book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-03T09:20"), now=NOW)
    assert rows() == before
    nearest = [slot.starts_at.astimezone(CHICAGO).strftime("%H:%M") for slot in refused.value.alternatives]
    # The nurse is free at 09:20, the doctor at 09:40: the nearest times with anyone offering the visit.
    assert nearest[:2] == ["09:20", "09:40"]
    assert refused.value.alternatives[0].provider_id == clinic.nurse.pk


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("2026-03-03T13:00", "not available"),  # outside the window
        ("2026-03-03T09:10", "not available"),  # between two slots
        ("2026-03-07T09:00", "not available"),  # a Saturday
        ("2026-03-02T07:00", "already passed"),
        ("2026-03-02T09:00", "not available"),  # today, inside the two hours' notice
        ("2026-07-01T09:00", "not available"),  # past the 90-day horizon
    ],
)
def test_a_time_not_offered_changes_nothing(clinic: Clinic, when: str, words: str) -> None:
    with pytest.raises(BookingError, match=words):
        book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking(when), now=NOW)
    assert not Appointment.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="appointments.").exists()


def test_exceptions_and_closed_days_are_never_offered(clinic: Clinic) -> None:
    AvailabilityException.objects.create(
        provider=clinic.doctor, starts_at=chicago("2026-03-03T00:00"), ends_at=chicago("2026-03-04T00:00")
    )
    ClosedDay.objects.create(organization=clinic.organization, day=chicago("2026-03-04T00:00").date())
    slots = open_slots(clinic.checkup, start=chicago("2026-03-03T00:00"), end=chicago("2026-03-06T00:00"), now=NOW)
    days = {(slot.provider_id, slot.starts_at.astimezone(CHICAGO).day) for slot in slots}
    assert days == {(clinic.nurse.pk, 3), (clinic.doctor.pk, 5), (clinic.nurse.pk, 5)}
    with pytest.raises(SlotTakenError):
        book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-04T09:00"), now=NOW
        )


def test_who_may_book_what(clinic: Clinic) -> None:
    stranger = PatientFactory()  # not a patient of this clinic
    with pytest.raises(BookingError, match="is a patient"):
        book_appointment(actor=clinic.actor, patient=stranger, booking=clinic.booking("2026-03-03T09:00"), now=NOW)
    clinic.checkup.patients = PatientStatus.ESTABLISHED
    clinic.checkup.save()
    with pytest.raises(BookingError, match="new patients only"):
        book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"), now=NOW
        )
    clinic.checkup.patients = PatientStatus.NEW
    clinic.checkup.save()
    with pytest.raises(BookingError, match="not offered that way"):
        book_appointment(
            actor=clinic.actor,
            patient=clinic.patient,
            booking=clinic.booking("2026-03-03T09:00", mode="phone"),
            now=NOW,
        )
    clinic.checkup.bookable_online = False
    clinic.checkup.save()
    with pytest.raises(BookingError, match="cannot be booked online"):
        book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"), now=NOW
        )
    assert not Appointment.objects.exists()
    # Staff book what patients may not book online, and sooner than the notice.
    booked = book_appointment(
        actor=clinic.actor,
        patient=clinic.patient,
        booking=clinic.booking("2026-03-02T09:00"),
        by_staff=True,
        now=NOW,
    )
    assert (booked.status, booked.booked_by_staff) == (AppointmentStatus.BOOKED, True)


def test_a_visit_that_needs_approval_is_requested(clinic: Clinic) -> None:
    clinic.checkup.needs_approval = True
    clinic.checkup.save()
    appointment = book_appointment(
        actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"), now=NOW
    )
    assert appointment.status == AppointmentStatus.REQUESTED
    assert AuditEvent.objects.filter(action="appointments.requested").count() == 1
    # A requested visit holds its time too.
    free = open_slots(clinic.checkup, start=NOW, end=NOW + timedelta(days=2), now=NOW, provider=clinic.doctor)
    assert appointment.starts_at not in {slot.starts_at for slot in free}


def test_cancelling_frees_the_time_until_the_cutoff(clinic: Clinic) -> None:
    soon = book_appointment(
        actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-02T11:00"), by_staff=True, now=NOW
    )
    with pytest.raises(TooLateError, match="555-0100"):
        cancel_appointment(actor=clinic.actor, appointment=soon, now=NOW)
    assert Appointment.objects.get(pk=soon.pk).status == AppointmentStatus.BOOKED
    later = book_appointment(
        actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-05T09:00"), now=NOW
    )
    cancel_appointment(actor=clinic.actor, appointment=later, now=NOW)
    assert Appointment.objects.get(pk=later.pk).status == AppointmentStatus.CANCELLED
    other, other_actor = clinic.another_patient()
    again = book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-05T09:00"), now=NOW)
    assert again.starts_at == later.starts_at
    cancel_appointment(actor=clinic.actor, appointment=soon, by_staff=True, now=NOW)  # staff may, by phone
    with pytest.raises(BookingError, match="no longer"):
        cancel_appointment(actor=clinic.actor, appointment=soon, by_staff=True, now=NOW)


def test_moving_books_the_new_time_and_frees_the_old_or_changes_nothing(clinic: Clinic) -> None:
    first = book_appointment(
        actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-04T09:00"), now=NOW
    )
    other, other_actor = clinic.another_patient()
    book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-04T10:00"), now=NOW)
    before = rows()
    with pytest.raises(SlotTakenError):
        move_appointment(actor=clinic.actor, appointment=first, to=clinic.booking("2026-03-04T10:00"), now=NOW)
    assert rows() == before
    # To a time overlapping its own: its own time is free for itself.
    moved = move_appointment(actor=clinic.actor, appointment=first, to=clinic.booking("2026-03-04T09:20"), now=NOW)
    assert Appointment.objects.get(pk=first.pk).status == AppointmentStatus.CANCELLED
    assert (moved.starts_at, moved.status, moved.reason) == (
        chicago("2026-03-04T09:20"),
        "booked",
        "Cough for two weeks",
    )
    assert AuditEvent.objects.get(action="appointments.moved").detail == {"from": str(first.pk)}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the overlap constraint is Postgres's")
def test_the_database_refuses_overlapping_visits_with_one_provider(clinic: Clinic) -> None:
    common = {
        "organization": clinic.organization,
        "provider": clinic.doctor,
        "visit_type": clinic.checkup,
        "mode": "in_person",
    }
    Appointment.objects.create(
        patient=clinic.patient, starts_at=chicago("2026-03-03T09:00"), ends_at=chicago("2026-03-03T09:30"), **common
    )
    other, _actor = clinic.another_patient()
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            patient=other, starts_at=chicago("2026-03-03T09:20"), ends_at=chicago("2026-03-03T09:40"), **common
        )
    # Back to back is fine, and a cancelled visit holds nothing.
    Appointment.objects.create(
        patient=other, starts_at=chicago("2026-03-03T09:30"), ends_at=chicago("2026-03-03T09:50"), **common
    )
    Appointment.objects.create(
        patient=other,
        starts_at=chicago("2026-03-03T09:00"),
        ends_at=chicago("2026-03-03T09:20"),
        status=AppointmentStatus.CANCELLED,
        **common,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="racing writers need Postgres")
@pytest.mark.django_db(transaction=True)
def test_racing_bookings_of_one_time_book_exactly_one() -> None:
    clinic = make_clinic()
    people = [clinic.another_patient() for _ in range(8)]
    start = threading.Barrier(len(people))
    outcomes: list[str] = []

    def book(patient, actor) -> None:  # type: ignore[no-untyped-def]
        try:
            start.wait()
            book_appointment(actor=actor, patient=patient, booking=clinic.booking("2026-03-03T09:00"), now=NOW)
            outcomes.append("booked")
        except SlotTakenError:
            outcomes.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=person) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["taken"] * (len(people) - 1)
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 1


def test_first_available_looks_further_only_when_it_must(clinic: Clinic) -> None:
    soonest = first_available(clinic.checkup, now=NOW, count=3)
    walls = [(slot.provider_id, slot.starts_at.astimezone(CHICAGO).strftime("%d %H:%M")) for slot in soonest]
    # Today's 10:00 is the first after the two hours' notice; both providers offer it.
    assert walls == [(clinic.doctor.pk, "02 10:00"), (clinic.nurse.pk, "02 10:00"), (clinic.doctor.pk, "02 10:20")]
    # The doctor away for five weeks: the first span has nothing of his, the next ones are read.
    AvailabilityException.objects.create(provider=clinic.doctor, starts_at=NOW, ends_at=NOW + timedelta(days=35))
    later = first_available(clinic.checkup, now=NOW, count=2, provider=clinic.doctor)
    assert [slot.starts_at.astimezone(CHICAGO).strftime("%m-%d %H:%M") for slot in later] == [
        "04-06 09:00",
        "04-06 09:20",
    ]
