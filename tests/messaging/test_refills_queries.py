"""The refill pages and calls make the same number of queries however many medicines and requests they list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from messaging.models import Pharmacy, RefillRequest, RefillStatus, Thread, Topic
from tests.conftest import World, sign_in
from tests.factories import EnrollmentFactory, PatientFactory, UserFactory
from tests.messaging.refill_data import clinic_source, dispense, order, store, upload_source
from tests.query_counts import count_queries


def more_medicines(world: World, start: int = 0, count: int = 5) -> None:
    rosa = world.people["rosa"]
    riverside = clinic_source(rosa, world.org_here)
    for n in range(start, start + count):
        medicine = (f"90{n}", f"Medicine {n}")
        store(riverside, order(f"rx-{n}", medicine), dispense(f"fill-{n}", medicine, handed_over=date(2026, 3, n + 1)))
        store(world.rosa_connection.source, order(f"outside-{n}", (f"80{n}", f"Outside medicine {n}")))
        store(upload_source(rosa), order(f"upload-{n}", ("", f"Uploaded medicine {n}")))


def request_for(world: World, patient: Patient, n: int, status: str = RefillStatus.SENT) -> RefillRequest:
    thread = Thread.objects.create(
        organization=world.org_here, pool=world.pools["here"], patient=patient, topic=Topic.REFILL, subject="Refill"
    )
    decided = status != RefillStatus.SENT
    return RefillRequest.objects.create(
        thread=thread,
        patient=patient,
        organization=world.org_here,
        medication_name=f"Medicine {n}",
        medication_key=f"rxnorm:90{n}",
        pharmacy=Pharmacy.objects.get_or_create(organization=world.org_here, name=f"Pharmacy {n % 2}")[0],
        requested_by=world.user("caregiver_full"),
        status=status,
        quantity=30 if status == RefillStatus.APPROVED else None,
        reason="" if status == RefillStatus.APPROVED else "A reason",
        decided_by=world.user("staff_here") if decided else None,
        decided_at=timezone.now() - timedelta(hours=n) if decided else None,
    )


def more_requests(world: World, start: int = 0, count: int = 5) -> None:
    rosa = world.people["rosa"]
    for n in range(start, start + count):
        request_for(world, rosa, n, RefillStatus.APPROVED if n % 2 else RefillStatus.DENIED)


def more_of_everything(world: World) -> None:
    more_medicines(world, 1)
    more_requests(world, 1)


def more_at_the_desk(world: World) -> None:
    for n in range(5):
        patient = PatientFactory(user=UserFactory())
        EnrollmentFactory(patient=patient, organization=world.org_here)
        request_for(world, patient, n)
        request_for(world, patient, n + 10, RefillStatus.APPROVED)


CASES: list[tuple[str, str, Callable[[World], dict[str, object]], Callable[[World], None]]] = [
    ("caregiver_full", "messaging:refills", lambda w: {}, more_of_everything),
    ("caregiver_full", "api-refills", lambda w: {"patient_id": w.people["rosa"].pk}, more_of_everything),
    ("staff_here", "messaging:staff_refills", lambda w: {"org_slug": "riverside"}, more_at_the_desk),
    ("staff_here", "api-staff-refills", lambda w: {"org_slug": "riverside"}, more_at_the_desk),
]


@pytest.mark.parametrize(("persona", "url_name", "kwargs", "add_rows"), CASES, ids=[c[1] for c in CASES])
def test_refill_lists_make_a_fixed_number_of_queries(
    client: Client,
    world: World,
    persona: str,
    url_name: str,
    kwargs: Callable[[World], dict[str, object]],
    add_rows: Callable[[World], None],
) -> None:
    # One of each first: an empty list skips the queries that read its rows.
    more_medicines(world, 0, 1)
    more_requests(world, 0, 1)
    request_for(world, world.patient_record, 99, RefillStatus.APPROVED)
    sign_in(client, world, persona)
    url = reverse(url_name, kwargs=kwargs(world))
    before = count_queries(client, url)
    add_rows(world)
    assert count_queries(client, url) == before
