"""Waitlist offers: a freed time is emailed to those waiting, in order; the first to take it gets it, the others
are told it is gone; a link opened again, late, or by someone else changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from scheduling.actions import book_appointment, cancel_appointment
from scheduling.models import Appointment, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


def link_in(body: str) -> str:
    found = re.search(r"https?://[^/\s]+(/appointments/offers/[^/\s]+/)", body)
    assert found, body
    return found.group(1)


def test_a_freed_time_goes_to_the_first_who_takes_it(clinic: Clinic, django_capture_on_commit_callbacks: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        # The doctor's Tuesday morning is full; Alex and then Sam wait for something earlier than next week.
        taken = book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"), by_staff=True
        )
        later = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-10T09:00"))
        sam, sam_actor = clinic.another_patient()
        sams = book_appointment(actor=sam_actor, patient=sam, booking=clinic.booking("2026-03-10T09:20"))
        alex_client, sam_client = Client(), Client()
        alex_client.force_login(clinic.actor.user)
        sam_client.force_login(sam_actor.user)
        assert alex_client.post(reverse("scheduling:waitlist", args=[later.pk])).status_code == 302
        assert sam_client.post(reverse("scheduling:waitlist", args=[sams.pk])).status_code == 302
        assert "Waiting for an earlier time." in alex_client.get(reverse("scheduling:appointments")).content.decode()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            cancel_appointment(actor=clinic.actor, appointment=taken, by_staff=True)  # frees Tuesday 09:00
        assert WaitlistOffer.objects.count() == 2
        by_person = {message.to[0]: message for message in mail.outbox}
        alex_link = link_in(by_person[clinic.actor.user.email].body)
        sam_link = link_in(by_person[sam_actor.user.email].body)
        for message in mail.outbox:  # the time and the clinic, no kind of visit, no provider
            assert "Riverside Family Clinic" in message.body
            assert "Checkup" not in message.body
            assert "Nguyen" not in message.body
        # Sam takes it first: his visit moves to Tuesday; Alex is told it is gone, and stays on the list.
        page = sam_client.get(sam_link)
        assert page.status_code == 200
        assert "Tue 3 Mar, 09:00 CST" in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert sam_client.post(sam_link).status_code == 302
        assert Appointment.objects.get(patient=sam, status="booked").starts_at == chicago("2026-03-03T09:00")
        assert any("was taken by someone else" in m.body for m in mail.outbox if m.to == [clinic.actor.user.email])
        gone = alex_client.post(alex_link)
        assert gone.status_code == 409
        assert "Someone else took this time first." in gone.content.decode()
        assert Appointment.objects.get(pk=later.pk).status == "booked"
        # Sam's link, again: nothing changes.
        again = sam_client.post(sam_link)
        assert "This offer was already taken." in again.content.decode()
        # Sam's old time was freed by the move, but it is not earlier than Alex's visit: not offered to him.
        assert not WaitlistOffer.objects.filter(starts_at=chicago("2026-03-10T09:20")).exists()
    assert WaitlistEntry.objects.get(patient=sam).ended_at is not None


def test_a_link_is_only_for_the_person_it_was_sent_for_and_expires(
    clinic: Clinic, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(NOW, tick=False):
        taken = book_appointment(
            actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"), by_staff=True
        )
        later = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-10T09:00"))
        alex_client = Client()
        alex_client.force_login(clinic.actor.user)
        alex_client.post(reverse("scheduling:waitlist", args=[later.pk]))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            cancel_appointment(actor=clinic.actor, appointment=taken, by_staff=True)
        link = link_in(mail.outbox[0].body)
        _other, other_actor = clinic.another_patient()
        stranger = Client()
        stranger.force_login(other_actor.user)
        assert stranger.get(link).status_code == 404
        assert alex_client.get(link.replace("/offers/", "/offers/x")).status_code == 404
        # Two hours later (the session kept alive meanwhile): the link has run out.
        WaitlistOffer.objects.update(expires_at=NOW - timedelta(minutes=1))
        late = alex_client.post(link)
    assert late.status_code == 409
    assert "This offer has expired." in late.content.decode()
    assert Appointment.objects.get(pk=later.pk).status == "booked"
    assert WaitlistOffer.objects.get().status == OfferStatus.OFFERED
