"""The demo: Riverside's providers have weeks of open times, and Leo has a visit at Lakeside on Thursday."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.demo import demo_patient
from scheduling.models import Appointment, AppointmentStatus, Provider, VisitType
from scheduling.selectors import open_slots


@pytest.fixture
def demo(db: object, settings: Any) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())


def test_leo_has_a_visit_on_the_coming_thursday(demo: None) -> None:
    visit = Appointment.objects.get(patient=demo_patient("leo"))
    local = visit.starts_at.astimezone(ZoneInfo(visit.organization.time_zone))
    assert (visit.organization.slug, visit.status, local.isoweekday(), local.strftime("%H:%M")) == (
        "lakeside",
        AppointmentStatus.BOOKED,
        4,
        "15:30",
    )
    assert timezone.now() < visit.starts_at <= timezone.now() + timedelta(days=8)
    assert visit.visit_type.forms == ["gad-7"]  # a form to fill before it


def test_riverside_has_a_month_of_open_times_and_seeding_twice_adds_nothing(demo: None, settings: Any) -> None:
    checkup = VisitType.objects.get(organization__slug="riverside", name="Checkup")
    now = timezone.now()
    slots = open_slots(checkup, start=now, end=now + timedelta(days=31), now=now)
    zone = ZoneInfo(checkup.organization.time_zone)
    weekdays = {slot.starts_at.astimezone(zone).date() for slot in slots}
    assert len(weekdays) >= 20  # every weekday of the coming month (a holiday aside)
    assert {slot.provider_id for slot in slots} == set(checkup.providers.values_list("pk", flat=True))
    counts = (Provider.objects.count(), Appointment.objects.count(), VisitType.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (Provider.objects.count(), Appointment.objects.count(), VisitType.objects.count()) == counts
