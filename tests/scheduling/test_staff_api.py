"""The staff's side of the appointments API: the schedule, free times, booking for a patient, marks, hours and
time away; the same rules and roles as the pages, and bad input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Role
from scheduling.actions import book_appointment
from scheduling.models import Appointment, AppointmentStatus, AvailabilityException, Mode, WeeklyAvailability
from tests.conftest import create_token_for
from tests.factories import EnrollmentFactory, MembershipFactory, PatientFactory, TOTPDeviceFactory, UserFactory
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


def _token_client(clinic: Clinic, role: str) -> Client:
    user = UserFactory()
    MembershipFactory(user=user, organization=clinic.organization, role=role)
    TOTPDeviceFactory(user=user)
    _row, token = create_token_for(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def front_desk(clinic: Clinic) -> Client:
    return _token_client(clinic, Role.FRONT_DESK)


def _url(name: str, clinic: Clinic, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org_slug": clinic.organization.slug, **kwargs})


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def _booking(clinic: Clinic, when: str, **more: Any) -> dict[str, Any]:
    return {
        "patient": str(clinic.patient.pk),
        "visit_type": clinic.checkup.pk,
        "provider": clinic.doctor.pk,
        "starts": chicago(when).isoformat(),
        "mode": Mode.IN_PERSON,
        "location": clinic.location.pk,
        "reason": "Called the desk",
        **more,
    }


def test_the_desk_books_inside_the_notice_and_a_second_booking_of_the_time_is_told_it_was_taken(
    clinic: Clinic, front_desk: Client
) -> None:
    url = _url("api-staff-appointments", clinic)
    with time_machine.travel(chicago("2026-03-02T08:50"), tick=False):
        slots = front_desk.get(
            _url("api-staff-appointment-slots", clinic), {"visit_type": clinic.checkup.pk, "start": "2026-03-02"}
        )
        assert slots.status_code == 200
        assert slots.json()[0]["starts"] == "2026-03-02T09:00:00-06:00"  # inside the 2 h online notice
        made = _post(front_desk, url, _booking(clinic, "2026-03-02T09:00"))
        taken = _post(front_desk, url, _booking(clinic, "2026-03-02T09:00"))
        listed = front_desk.get(url, {"start": "2026-03-02"})
    assert made.status_code == 201, made.json()
    assert made.json()["booked_by_staff"] is True
    assert made.json()["status"] == "booked"
    assert taken.status_code == 409
    assert taken.json()["alternatives"]
    assert Appointment.objects.count() == 1
    assert [row["patient"]["name"] for row in listed.json()] == ["Alex Rivera"]
    assert AuditEvent.objects.filter(action="appointments.schedule_viewed", subject_patient=clinic.patient).exists()


def test_a_patient_or_provider_of_another_clinic_is_refused_and_nothing_is_booked(
    clinic: Clinic, front_desk: Client
) -> None:
    elsewhere = make_clinic()
    stranger = PatientFactory()
    EnrollmentFactory(patient=stranger, organization=elsewhere.organization)
    url = _url("api-staff-appointments", clinic)
    with time_machine.travel(NOW, tick=False):
        for change, field in (
            ({"patient": str(stranger.pk)}, "patient"),
            ({"provider": elsewhere.doctor.pk}, "provider"),
            ({"visit_type": elsewhere.checkup.pk}, "visit_type"),
            ({"location": elsewhere.location.pk}, "location"),
        ):
            answer = _post(front_desk, url, _booking(clinic, "2026-03-03T09:00", **change))
            assert answer.status_code == 400, answer.json()
            assert field in answer.json()
        past = _post(front_desk, url, _booking(clinic, "2026-02-27T09:00"))
    assert past.status_code == 400
    assert not Appointment.objects.exists()


def test_marks_follow_the_visit_and_a_stale_mark_is_a_conflict(clinic: Clinic, front_desk: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-02T11:00"))
    url = _url("api-staff-appointment-mark", clinic, appointment_id=visit.pk)
    with time_machine.travel(chicago("2026-03-02T10:55"), tick=False):
        assert _post(front_desk, url, {"mark": "arrived"}).status_code == 200
        again = _post(front_desk, url, {"mark": "no_show"})
        junk = _post(front_desk, url, {"mark": "teleported"})
    assert again.status_code == 409
    assert "already marked" in again.json()["detail"]
    assert junk.status_code == 400
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.ARRIVED


def test_hours_and_time_away_through_the_api(clinic: Clinic, front_desk: Client) -> None:
    hours = _url("api-staff-provider-hours", clinic, provider_id=clinic.doctor.pk)
    before = WeeklyAvailability.objects.count()
    clash = _post(front_desk, hours, {"weekdays": [1], "starts": "11:00", "ends": "13:00", "modes": ["video"]})
    in_person = _post(front_desk, hours, {"weekdays": [6], "starts": "09:00", "ends": "12:00", "modes": ["in_person"]})
    assert clash.status_code == in_person.status_code == 400
    assert "location" in in_person.json()
    assert WeeklyAvailability.objects.count() == before
    made = _post(front_desk, hours, {"weekdays": [6, 7], "starts": "09:00", "ends": "12:00", "modes": ["video"]})
    assert made.status_code == 201
    assert [row["weekday"] for row in made.json()] == [6, 7]
    assert len(front_desk.get(hours).json()) == before // 2 + 2
    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-05T10:00"))
        away = _post(
            front_desk,
            _url("api-staff-provider-time-away", clinic, provider_id=clinic.doctor.pk),
            {"starts_on": "2026-03-05", "ends_on": "2026-03-05", "reason": "Course"},
        )
        backwards = _post(
            front_desk,
            _url("api-staff-provider-time-away", clinic, provider_id=clinic.doctor.pk),
            {"starts_on": "2026-03-06", "ends_on": "2026-03-05"},
        )
    assert away.status_code == 201
    assert away.json()["booked_inside"] == [str(visit.pk)]
    assert backwards.status_code == 400
    assert AvailabilityException.objects.count() == 1


def test_a_nurse_reads_the_schedule_but_not_the_hours_and_another_clinic_reads_nothing(clinic: Clinic) -> None:
    nurse = _token_client(clinic, Role.NURSE)
    assert nurse.get(_url("api-staff-appointments", clinic)).status_code == 200
    hours = _url("api-staff-provider-hours", clinic, provider_id=clinic.doctor.pk)
    assert nurse.get(hours).status_code == 404
    before = WeeklyAvailability.objects.filter(provider=clinic.doctor).count()
    body = {"weekdays": [6], "starts": "09:00", "ends": "12:00", "modes": ["video"]}
    assert _post(nurse, hours, body).status_code == 404
    elsewhere = make_clinic()
    stranger = _token_client(elsewhere, Role.ORG_ADMIN)
    assert stranger.get(_url("api-staff-appointments", clinic)).status_code == 404
    own_path = reverse(
        "api-staff-provider-hours", kwargs={"org_slug": elsewhere.organization.slug, "provider_id": clinic.doctor.pk}
    )
    assert _post(stranger, own_path, body).status_code == 404
    assert WeeklyAvailability.objects.filter(provider=clinic.doctor).count() == before


def test_the_schema_describes_the_staff_side(client: Client) -> None:
    schema = client.get(reverse("api-schema") + "?format=json").json()
    for path in (
        "/api/v1/staff/{org_slug}/appointments/",
        "/api/v1/staff/{org_slug}/appointments/slots/",
        "/api/v1/staff/{org_slug}/appointments/{appointment_id}/mark/",
        "/api/v1/staff/{org_slug}/providers/{provider_id}/hours/",
        "/api/v1/staff/{org_slug}/providers/{provider_id}/time-away/",
    ):
        assert path in schema["paths"], path
