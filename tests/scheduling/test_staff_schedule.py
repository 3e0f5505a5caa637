"""The staff side: the day's schedule at the desk's organization, and marking visits arrived, seen or missed."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Role
from scheduling.actions import BookingError, StaffMark, book_appointment, mark_appointment
from scheduling.models import Appointment, AppointmentStatus
from tests.factories import MembershipFactory, TOTPDeviceFactory, UserFactory
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


@pytest.fixture
def front_desk(client: Client, clinic: Clinic) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY

    user = UserFactory(full_name="Jo Desk")
    MembershipFactory(user=user, organization=clinic.organization, role=Role.FRONT_DESK)
    device = TOTPDeviceFactory(user=user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_the_day_lists_every_providers_visits_and_audits_each(front_desk: Client, clinic: Clinic) -> None:
    with time_machine.travel(NOW, tick=False):
        book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"))
        other, other_actor = clinic.another_patient()
        book_appointment(
            actor=other_actor, patient=other, booking=clinic.booking("2026-03-03T10:00", provider=clinic.nurse)
        )
        book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-04T10:00"))
        url = reverse("scheduling:staff_schedule", kwargs={"org_slug": clinic.organization.slug})
        page = front_desk.get(url, {"day": "2026-03-03"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Rivera, Alex" in text
    assert text.count("<tr>") == 3  # the header and the day's two visits
    assert AuditEvent.objects.filter(action="appointments.schedule_viewed").count() == 2


def test_marking_a_visit_follows_its_day_and_two_marks_at_once_do_not_clash(clinic: Clinic) -> None:
    staff_user = UserFactory()
    MembershipFactory(user=staff_user, organization=clinic.organization, role=Role.NURSE)
    from accounts.actors import actor_for

    staff = actor_for(staff_user)
    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-04T09:00"))
    with pytest.raises(BookingError, match="day of their visit"):
        mark_appointment(staff=staff, appointment=visit, mark=StaffMark.ARRIVED, now=NOW)
    with pytest.raises(BookingError, match="once its time has come"):
        mark_appointment(staff=staff, appointment=visit, mark=StaffMark.NO_SHOW, now=NOW)
    on_the_day = chicago("2026-03-04T08:50")
    mark_appointment(staff=staff, appointment=visit, mark=StaffMark.ARRIVED, now=on_the_day)
    stale = Appointment.objects.get(pk=visit.pk)
    stale.status = AppointmentStatus.BOOKED  # a colleague's page, from before the arrival
    with pytest.raises(BookingError, match="already marked"):
        mark_appointment(staff=staff, appointment=stale, mark=StaffMark.NO_SHOW, now=chicago("2026-03-04T09:30"))
    mark_appointment(staff=staff, appointment=visit, mark=StaffMark.COMPLETED, now=chicago("2026-03-04T09:30"))
    assert Appointment.objects.get(pk=visit.pk).status == AppointmentStatus.COMPLETED
    assert AuditEvent.objects.filter(action="appointments.status_changed").count() == 2
