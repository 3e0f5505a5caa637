"""The patient's side of appointments through the API: what may be booked, the soonest times, booking, the list
and cancelling; junk in a body is a field error and changes nothing."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from scheduling.models import Appointment
from tests.scheduling.clinic import NOW, Clinic, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


def test_visit_types_slots_booking_list_and_cancel(client: Client, clinic: Clinic) -> None:
    client.force_login(clinic.actor.user)
    patient = {"patient_id": clinic.patient.pk}
    with time_machine.travel(NOW, tick=False):
        (kind,) = client.get(reverse("api-appointment-visit-types", kwargs=patient)).json()
        assert (kind["name"], kind["duration_minutes"], len(kind["providers"])) == ("Checkup", 20, 2)
        slots = client.get(reverse("api-appointment-slots", kwargs=patient), {"visit_type": kind["id"]}).json()
        assert len(slots) == 12
        first = slots[0]
        assert first["starts"] == "2026-03-02T10:00:00-06:00"  # after the two hours of notice
        body = {
            "visit_type": kind["id"],
            "provider": first["provider"],
            "starts": first["starts"],
            "mode": "video",
            "reason": "Follow-up",
        }
        booked = client.post(reverse("api-appointments", kwargs=patient), body, content_type="application/json")
        assert booked.status_code == 201, booked.content
        assert (booked.json()["mode"], booked.json()["location"], booked.json()["status"]) == ("video", None, "booked")
        again = client.post(reverse("api-appointments", kwargs=patient), body, content_type="application/json")
        assert again.status_code == 409
        assert again.json()["alternatives"][0]["provider"] != first["provider"]  # the other provider, same time
        listing = client.get(reverse("api-appointments", kwargs=patient)).json()
        assert [row["id"] for row in listing["results"]] == [booked.json()["id"]]
        cancel = reverse("api-appointment-cancel", kwargs={**patient, "appointment_id": booked.json()["id"]})
        assert client.post(cancel, content_type="application/json").status_code == 400  # today: past the cutoff
    assert Appointment.objects.get().status == "booked"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"visit_type": 99999}, "visit_type"), ({"provider": 99999}, "provider"), ({"starts": "soon"}, "starts")],
)
def test_junk_in_a_booking_is_a_field_error(client: Client, clinic: Clinic, change: dict, field: str) -> None:
    client.force_login(clinic.actor.user)
    body = {
        "visit_type": clinic.checkup.pk,
        "provider": clinic.doctor.pk,
        "starts": "2026-03-03T15:00:00+00:00",
        "mode": "in_person",
        **change,
    }
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            reverse("api-appointments", kwargs={"patient_id": clinic.patient.pk}), body, content_type="application/json"
        )
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Appointment.objects.exists()
