"""A video visit's join link shows only around its time (the patient's page, the desk's day, the API), and a
booking offers the open questions of the person's journal."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from records.models import EntryKind, JournalEntry, QuestionState
from scheduling.actions import book_appointment, cancel_appointment
from scheduling.models import Mode
from scheduling.video import join_url
from tests.factories import MembershipFactory, TOTPDeviceFactory, UserFactory
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


def _patient_client(clinic: Clinic) -> Client:
    client = Client()
    assert clinic.actor.user is not None
    client.force_login(clinic.actor.user)
    return client


def test_a_video_visit_has_a_room_of_its_own_shown_from_15_minutes_before_until_30_after(
    clinic: Clinic, settings: object
) -> None:
    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T10:00", mode=Mode.VIDEO)
        )
        in_person = book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-04T10:00")
        )
    assert len(visit.video_room) >= 20
    assert in_person.video_room == ""
    assert join_url(visit, now=chicago("2026-03-03T09:44")) is None
    link = join_url(visit, now=chicago("2026-03-03T09:45"))
    assert link is not None
    assert link.endswith("/" + visit.video_room)
    assert join_url(visit, now=chicago("2026-03-03T10:50")) is not None  # 20 minutes long, 30 after
    assert join_url(visit, now=chicago("2026-03-03T10:51")) is None
    assert join_url(in_person, now=chicago("2026-03-04T10:00")) is None
    page = reverse("scheduling:appointments")
    with time_machine.travel(chicago("2026-03-03T08:00"), tick=False):
        early = _patient_client(clinic).get(page).content.decode()
    with time_machine.travel(chicago("2026-03-03T10:05"), tick=False):
        client = _patient_client(clinic)
        during = client.get(page).content.decode()  # under way: still listed as coming up, with its link
        api = client.get(reverse("api-appointments", kwargs={"patient_id": clinic.patient.pk})).json()
    assert visit.video_room not in early
    assert "appears here 15 minutes before" in early
    assert visit.video_room in during
    assert "Join the video visit" in during
    by_id = {row["id"]: row for row in api["results"]}
    assert by_id[str(visit.pk)]["join_url"] == link
    assert by_id[str(in_person.pk)]["join_url"] is None


def test_the_desk_sees_the_link_on_the_day_and_a_cancelled_visit_has_none(clinic: Clinic) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY

    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T10:00", mode=Mode.VIDEO)
        )
    nurse = UserFactory()
    MembershipFactory(user=nurse, organization=clinic.organization, role=Role.NURSE)
    device = TOTPDeviceFactory(user=nurse)
    url = reverse("scheduling:staff_schedule", kwargs={"org_slug": clinic.organization.slug})
    with time_machine.travel(chicago("2026-03-03T09:50"), tick=False):
        client = Client()
        client.force_login(nurse)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        assert visit.video_room in client.get(url, {"day": "2026-03-03"}).content.decode()
        cancel_appointment(actor=clinic.actor, appointment=visit, by_staff=True)
        assert visit.video_room not in client.get(url, {"day": "2026-03-03"}).content.decode()
    assert join_url(visit, now=chicago("2026-03-03T10:00")) is None


def test_booking_offers_the_open_questions_of_the_journal(clinic: Clinic) -> None:
    user = clinic.actor.user
    for text, state in (("Can I lower the dose?", QuestionState.OPEN), ("Old question", QuestionState.ASKED)):
        JournalEntry.objects.create(
            patient=clinic.patient, kind=EntryKind.QUESTION, text=text, question_state=state, author=user,
            author_name="Alex",
        )  # fmt: skip
    JournalEntry.objects.create(
        patient=clinic.patient, kind=EntryKind.SYMPTOM, text="Headache", author=user, author_name="Alex"
    )
    with time_machine.travel(NOW, tick=False):
        client = _patient_client(clinic)
        slot = {
            "visit_type": clinic.checkup.pk,
            "provider": clinic.doctor.pk,
            "starts": (NOW + timedelta(days=1, hours=1)).isoformat(),
            "mode": Mode.IN_PERSON,
            "location": clinic.location.pk,
        }
        page = client.get(reverse("scheduling:book"), slot).content.decode()
    assert "Can I lower the dose?" in page
    assert "open questions from your journal" in page
    assert "Old question" not in page
    assert "Headache" not in page
