"""The records cards of the family view."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models.audit import Basis
from records.models import ConnectionStatus, FhirResource, RecordSource, SourceKind
from tests.conftest import World, sign_in
from tests.factories import EnrollmentFactory, PatientFactory, ProxyGrantFactory
from tests.query_counts import count_queries
from tests.records.record_data import lab, source_for, store


def add_record(source: RecordSource, rid: str, *, sensitivity: str = "normal") -> None:
    FhirResource.objects.create(
        source=source,
        patient=source.patient,
        resource_type="Observation",
        resource_id=rid,
        content_hash=rid,
        raw={"resourceType": "Observation", "id": rid},
        kind="lab",
        sensitivity=sensitivity,
    )


def test_a_connection_that_needs_signing_in_shows_on_the_family_view(client: Client, world: World) -> None:
    world.rosa_connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    world.rosa_connection.save()
    sign_in(client, world, "caregiver_full")
    html = client.get(reverse("family")).content.decode()
    assert "Outside Hospital needs you to sign in again" in html


def test_new_records_since_the_last_visit_hide_what_a_parent_may_not_see(client: Client, world: World) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        record_audit_event(action=AuditAction.LOGIN, user=world.user("parent_of_teen"))  # the last visit
    source = RecordSource.objects.create(patient=world.people["teen"], kind=SourceKind.UPLOAD, label="Files")
    for n in range(3):
        add_record(source, f"obs-{n}")
    add_record(source, "secret", sensitivity="confidential")
    sign_in(client, world, "parent_of_teen")  # this visit
    html = client.get(reverse("family")).content.decode()
    assert "3 new records since your last visit." in html  # the confidential one is not counted for a parent


def test_new_records_are_counted_for_the_whole_family_in_one_query(client: Client, world: World) -> None:
    """Maria's family view: her own record, Rosa (full access) and Theo (13: limited), then more children."""
    caregiver = world.user("caregiver")

    def look_after(patient: object, basis: str, *, sensitivity: str) -> None:
        ProxyGrantFactory(grantee=caregiver, patient=patient, legal_basis=basis)
        source = RecordSource.objects.create(patient=patient, kind=SourceKind.UPLOAD, label="Files")
        add_record(source, "first")
        add_record(source, "second", sensitivity=sensitivity)

    with time_machine.travel(timezone.now() - timedelta(days=3)):
        record_audit_event(action=AuditAction.LOGIN, user=caregiver)
    record_audit_event(action=AuditAction.LOGIN, user=caregiver)
    look_after(world.people["rosa"], Basis.POWER_OF_ATTORNEY, sensitivity="normal")
    look_after(world.people["teen"], Basis.PARENT_OF_MINOR, sensitivity="sensitive")
    sign_in(client, world, "caregiver")
    url = reverse("family")
    html = client.get(url).content.decode()
    assert "2 new records since your last visit." in html  # Rosa's two
    assert "1 new record since your last visit." in html  # Theo's first; his sensitive one is not counted
    baseline = count_queries(client, url)
    for _ in range(3):
        child = PatientFactory()
        EnrollmentFactory(patient=child, organization=world.org_here)
        look_after(child, Basis.PARENT_OF_MINOR, sensitivity="sensitive")
    assert count_queries(client, url) == baseline


def test_new_results_outside_the_usual_range_are_counted_apart(client: Client, world: World) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        record_audit_event(action=AuditAction.LOGIN, user=world.user("caregiver_full"))  # the last visit
    source = source_for(world.people["rosa"], "Riverside Family Clinic")
    store(source, lab("high-1"), lab("high-2", code="2345-7", display="Glucose"), lab("fine", interpretation="N"))
    sign_in(client, world, "caregiver_full")
    html = client.get(reverse("family")).content.decode()
    assert "3 new records since your last visit." in html
    assert "2 new results outside the usual range." in html


def test_a_card_for_someone_else_opens_its_page_acting_for_them(client: Client, world: World) -> None:
    ProxyGrantFactory(grantee=world.user("patient"), patient=world.people["rosa"])
    world.rosa_connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    world.rosa_connection.save()
    sign_in(client, world, "patient")  # acting for himself
    html = client.get(reverse("family")).content.decode()
    target = reverse("records:connection", args=[world.rosa_connection.pk])
    assert f'name="next" value="{target}"' in html
    response = client.post(reverse("proxy:switch_subject"), {"subject": str(world.people["rosa"].pk), "next": target})
    assert response.status_code == 302
    assert response["Location"] == target
    assert "Outside Hospital" in client.get(target).content.decode()
    # Another site is never a destination.
    away = client.post(reverse("proxy:switch_subject"), {"subject": "self", "next": "https://evil.example/"})
    assert away["Location"] == reverse("home")
