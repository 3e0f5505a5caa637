"""The patient's side in the browser's terms: find the soonest times, book one, see it, cancel it."""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from scheduling.actions import book_appointment
from scheduling.models import Appointment, AppointmentStatus
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


@pytest.fixture
def signed_in(client: Client, clinic: Clinic) -> Client:
    assert clinic.actor.user is not None
    client.force_login(clinic.actor.user)
    return client


def test_the_soonest_times_lead_to_a_booking_that_shows_on_the_list(signed_in: Client, clinic: Clinic) -> None:
    with time_machine.travel(NOW, tick=False):
        page = signed_in.get(reverse("scheduling:find"), {"visit_type": clinic.checkup.pk})
        assert page.status_code == 200
        text = page.content.decode()
        assert "Mon 2 Mar, 10:00 CST" in text  # after the two hours' notice, the clinic's clock
        first = page.context["choices"][0]
        query = {key: values[0] for key, values in parse_qs(urlparse(first.url).query).items()}
        confirm = signed_in.get(reverse("scheduling:book"), query)
        assert confirm.status_code == 200
        assert "Dr. Casey Nguyen" in confirm.content.decode()
        done = signed_in.post(reverse("scheduling:book"), {**query, "reason": "Cough", "questions": "Is it asthma?"})
        assert done.status_code == 302
        appointment = Appointment.objects.get()
        assert (appointment.starts_at, appointment.reason, appointment.questions) == (
            chicago("2026-03-02T10:00"),
            "Cough",
            "Is it asthma?",
        )
        listing = signed_in.get(reverse("scheduling:appointments")).content.decode()
        assert "Booked: Mon 2 Mar, 10:00 CST with Dr. Casey Nguyen." in listing
        assert "Coming up" in listing


def test_a_time_taken_meanwhile_keeps_what_was_written_and_offers_others(signed_in: Client, clinic: Clinic) -> None:
    other, other_actor = clinic.another_patient()
    with time_machine.travel(NOW, tick=False):
        book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-03T09:00"), now=NOW)
        body = {
            "visit_type": clinic.checkup.pk,
            "provider": clinic.doctor.pk,
            "starts": chicago("2026-03-03T09:00").astimezone(UTC).isoformat(),
            "mode": "in_person",
            "location": clinic.location.pk,
            "reason": "Knee pain since Sunday",
        }
        page = signed_in.post(reverse("scheduling:book"), body)
    assert page.status_code == 409
    text = page.content.decode()
    assert "That time was just taken" in text
    assert "Knee pain since Sunday" in text
    assert len(page.context["alternatives"]) == 3
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"starts": "tomorrow"},
        {"starts": "2026-03-03T09:00:00"},  # no zone: which 09:00?
        {"visit_type": "999999"},
        {"provider": "abc"},
    ],
)
def test_junk_slots_are_not_found_and_change_nothing(signed_in: Client, clinic: Clinic, change: dict[str, str]) -> None:
    body = {
        "visit_type": clinic.checkup.pk,
        "provider": clinic.doctor.pk,
        "starts": chicago("2026-03-03T09:00").astimezone(UTC).isoformat(),
        "mode": "in_person",
        **change,
    }
    with time_machine.travel(NOW, tick=False):
        assert signed_in.post(reverse("scheduling:book"), body).status_code == 404
    assert not Appointment.objects.exists()


def test_cancelling_in_time_and_too_late(signed_in: Client, clinic: Clinic) -> None:
    with time_machine.travel(NOW, tick=False):
        later = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-05T09:00"))
        soon = book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-02T11:00"), by_staff=True
        )
        assert signed_in.post(reverse("scheduling:cancel", args=[later.pk])).status_code == 302
        page = signed_in.post(reverse("scheduling:cancel", args=[soon.pk]), follow=True).content.decode()
    assert "Please call 555-0100" in page
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {later.pk: AppointmentStatus.CANCELLED, soon.pk: AppointmentStatus.BOOKED}
    assert AuditEvent.objects.filter(action="appointments.cancelled").count() == 1


def test_someone_elses_visit_is_not_found(signed_in: Client, clinic: Clinic) -> None:
    other, other_actor = clinic.another_patient()
    with time_machine.travel(NOW, tick=False):
        theirs = book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-05T09:00"))
        assert signed_in.post(reverse("scheduling:cancel", args=[theirs.pk])).status_code == 404
    assert Appointment.objects.get(pk=theirs.pk).status == AppointmentStatus.BOOKED
    assert timedelta(0) < theirs.ends_at - theirs.starts_at


def test_moving_a_visit_from_the_list(signed_in: Client, clinic: Clinic) -> None:
    with time_machine.travel(NOW, tick=False):
        first = book_appointment(
            actor=clinic.actor,
            patient=clinic.patient,
            booking=clinic.booking("2026-03-05T09:00", provider=clinic.nurse),
        )
        listing = signed_in.get(reverse("scheduling:appointments")).content.decode()
        assert f"?move={first.pk}" in listing
        page = signed_in.get(reverse("scheduling:find"), {"move": str(first.pk)})
        assert "Choose a new time for the visit of Thu 5 Mar, 09:00 CST" in page.content.decode()
        choice = page.context["choices"][0]
        query = {key: values[0] for key, values in parse_qs(urlparse(choice.url).query).items()}
        assert query["move"] == str(first.pk)
        confirm = signed_in.get(reverse("scheduling:book"), query)
        assert "From Thu 5 Mar, 09:00 CST to:" in confirm.content.decode()
        assert confirm.context["form"].initial["reason"] == "Cough for two weeks"
        done = signed_in.post(reverse("scheduling:book"), {**query, "reason": "Cough for two weeks"})
    assert done.status_code == 302
    first.refresh_from_db()
    moved = Appointment.objects.exclude(pk=first.pk).get()
    assert (first.status, moved.status, moved.starts_at) == ("cancelled", "booked", chicago("2026-03-02T10:00"))


def test_a_visit_as_a_calendar_file_names_no_health_details(signed_in: Client, clinic: Clinic) -> None:
    from icalendar import Calendar

    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-05T09:00"))
        response = signed_in.get(reverse("scheduling:appointment_file", args=[visit.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart") == chicago("2026-03-05T09:00")
    assert event.decoded("dtend") == chicago("2026-03-05T09:20")
    assert str(event["summary"]) == "Appointment at Riverside Family Clinic"
    assert str(event["location"]) == "Riverside Main Street"
    assert str(event["status"]) == "CONFIRMED"
    text = response.content.decode()
    assert "Cough" not in text
    assert "Checkup" not in text


def test_the_family_view_shows_each_persons_next_visit_to_those_with_the_scope(client: Client) -> None:
    """Maria holds the scheduling scope for her mother Rosa, and only records for her neighbour Sam."""
    from accounts.actors import actor_for
    from accounts.models.audit import Basis
    from proxy.access import subjects_for
    from proxy.models import GrantStatus, ProxyGrant
    from scheduling.attention import next_visits
    from tests.factories import EnrollmentFactory, PatientFactory, UserFactory

    with time_machine.travel(NOW, tick=False):
        clinic = make_clinic()
        maria = UserFactory(full_name="Maria Lopez")
        rosa, sam = PatientFactory(given_name="Rosa"), PatientFactory(given_name="Sam")
        for person, scopes in ((rosa, ["scheduling", "records"]), (sam, ["records"])):
            EnrollmentFactory(patient=person, organization=clinic.organization)
            ProxyGrant.objects.create(
                grantee=maria,
                patient=person,
                legal_basis=Basis.PATIENT_CONSENT,
                scopes=scopes,
                status=GrantStatus.ACTIVE,
            )
        for person, when in ((rosa, "2026-03-04T09:00"), (rosa, "2026-03-05T09:00"), (sam, "2026-03-04T10:00")):
            book_appointment(actor=clinic.actor, patient=person, booking=clinic.booking(when), by_staff=True)
        actor = actor_for(maria)
        cards = next_visits(actor, subjects_for(actor))
        assert set(cards) == {rosa.pk}
        (item,) = cards[rosa.pk]
        assert item.text == "Next visit: Wed 4 Mar, 09:00 CST at Riverside Family Clinic. 1 more after it."
        client.force_login(maria)
        assert item.text in client.get(reverse("family")).content.decode()
        clinic.checkup.forms = ["phq-9", "gad-7"]
        clinic.checkup.save()
        (with_forms,) = next_visits(actor, subjects_for(actor))[rosa.pk]
        assert "2 forms to fill before it." in with_forms.text
        assert with_forms.url.endswith("/check-in/")
