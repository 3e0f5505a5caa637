"""The records cards of the family view."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from records.models import ConnectionStatus, FhirResource, RecordSource, SourceKind
from tests.conftest import World, sign_in


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
