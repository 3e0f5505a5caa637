"""A private calendar address: everyone's visits for whom the person holds the scheduling scope, and the health
systems' appointments where they also hold the records scope; a new address ends the old one."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from accounts.models import AuditEvent
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant
from records.ingest import write_page
from records.models import RecordSource, SourceKind
from scheduling.actions import book_appointment
from tests.factories import EnrollmentFactory, PatientFactory, UserFactory
from tests.scheduling.clinic import NOW, make_clinic

pytestmark = pytest.mark.django_db


def address_from(page: str) -> str:
    found = re.search(r'value="https?://[^/"]+(/calendar/[^"]+\.ics)"', page)
    assert found, page
    return found.group(1)


def summaries(body: bytes) -> list[str]:
    return sorted(str(event["summary"]) for event in Calendar.from_ical(body).walk("VEVENT"))


def test_the_address_lists_the_family_and_ends_when_replaced(client: Client) -> None:
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
        for person, when in ((rosa, "2026-03-04T09:00"), (sam, "2026-03-04T10:00")):
            book_appointment(actor=clinic.actor, patient=person, booking=clinic.booking(when), by_staff=True)
        # Rosa's connected health system told of an appointment too.
        source = RecordSource.objects.create(patient=rosa, kind=SourceKind.UPLOAD, label="County Hospital")
        write_page(
            source,
            [{"resourceType": "Appointment", "id": "a1", "status": "booked", "start": "2026-03-09T15:00:00Z",
              "description": "Oncology follow-up", "participant": [{"actor": {"reference": "Patient/p1"}}]}],
        )  # fmt: skip
        client.force_login(maria)
        page = client.post(reverse("scheduling:calendar_link")).content.decode()
        first = address_from(page)
        client.logout()
        feed = Client().get(first)  # a calendar program: no session
        assert feed.status_code == 200
        assert summaries(feed.content) == [
            "Appointment (from County Hospital)",
            "Appointment at Riverside Family Clinic",
        ]  # Sam's visit: no scheduling scope for him
        assert b"Oncology" not in feed.content
        assert AuditEvent.objects.filter(action="appointments.calendar_feed_read", subject_patient=rosa).count() == 1
        client.force_login(maria)
        second = address_from(client.post(reverse("scheduling:calendar_link")).content.decode())
        assert Client().get(first).status_code == 404
        assert Client().get(second).status_code == 200
        client.post(reverse("scheduling:calendar_link"), {"end": "1"})
        assert Client().get(second).status_code == 404
