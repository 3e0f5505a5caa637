"""Connecting through the real SMART standalone launch against the sandbox, then the first sync."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import reverse

from accounts.models import AuditEvent
from fhir_sandbox.server import RunningSandbox
from records.models import Connection, ConnectionStatus, FhirResource, HealthSystem
from tests.conftest import World, sign_in
from tests.records.clinic import EXPECTED, PATIENT, clinic_sandbox

CALLBACK = "http://testserver/records/callback/"


@pytest.fixture
def sandbox(tmp_path: Path, settings: Any) -> Iterator[RunningSandbox]:
    settings.FHIR_PAGE_SIZE = 50
    with clinic_sandbox(tmp_path, redirect_uri=CALLBACK) as running:
        yield running


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def approve_at_sandbox(authorize_url: str, patient: str, decision: str = "allow") -> str:
    """What a person does on the health system's sign-in page: choose the patient and allow."""
    opener = urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode({"patient": patient, "decision": decision}).encode()
    with pytest.raises(urllib.error.HTTPError) as answer:  # redirects are not followed: they surface as errors
        opener.open(urllib.request.Request(authorize_url, data=body, method="POST"), timeout=5)
    assert answer.value.code in (302, 303)
    return str(answer.value.headers["Location"])


def test_connect_sync_and_disconnect(client: Client, world: World, sandbox: RunningSandbox, eager_tasks: None) -> None:
    system = HealthSystem.objects.create(
        name="Test Clinic", city="Springfield", fhir_base_url=sandbox.fhir_base("clinic"), client_id="portal-test"
    )
    sign_in(client, world, "patient")
    directory = client.get(reverse("records:directory"), {"q": "Springfield"}).content.decode()
    assert "Test Clinic" in directory

    started = client.post(reverse("records:connect", args=[system.pk]))
    assert started.status_code == 200
    authorize_url = started.context["authorize_url"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
    assert query["code_challenge_method"] == "S256"
    assert query["aud"] == sandbox.fhir_base("clinic")
    assert "offline_access" in query["scope"]

    # A forged state is refused and stores nothing.
    forged = client.get(reverse("records:callback"), {"code": "x", "state": "not-ours"})
    assert forged.status_code == 302
    assert not Connection.objects.filter(source__patient=world.patient_record).exists()

    back = approve_at_sandbox(authorize_url, PATIENT)
    with TestCase.captureOnCommitCallbacks(execute=True):
        finished = client.get(back.replace("http://testserver", ""))
    assert finished.status_code == 302
    connection = Connection.objects.get(source__patient=world.patient_record)
    assert connection.fhir_patient_id == PATIENT
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.refresh_token
    assert connection.token_expires_at is not None
    assert AuditEvent.objects.filter(action="records.connected", subject_patient=world.patient_record).exists()
    # The first sync ran once the connection was committed.
    counts: dict[str, int] = {}
    for kind in FhirResource.objects.filter(source=connection.source).values_list("resource_type", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    assert counts == EXPECTED
    page = client.get(reverse("records:connection", args=[connection.pk])).content.decode()
    assert "Connected" in page
    assert str(sum(EXPECTED.values())) in page

    # The same state cannot be used twice.
    replay = client.get(back.replace("http://testserver", ""))
    assert replay.status_code == 302
    assert Connection.objects.filter(source__patient=world.patient_record).count() == 1

    client.post(reverse("records:disconnect", args=[connection.pk]), {"records": "delete"})
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.access_token == ""
    assert not FhirResource.objects.filter(source=connection.source).exists()


def test_a_refusal_at_the_health_system_is_explained(client: Client, world: World, sandbox: RunningSandbox) -> None:
    system = HealthSystem.objects.create(
        name="Test Clinic", fhir_base_url=sandbox.fhir_base("clinic"), client_id="portal-test"
    )
    sign_in(client, world, "patient")
    started = client.post(reverse("records:connect", args=[system.pk]))
    back = approve_at_sandbox(started.context["authorize_url"], PATIENT, decision="deny")
    response = client.get(back.replace("http://testserver", ""), follow=True)
    assert "cancelled or refused" in response.content.decode()
    assert not Connection.objects.filter(source__patient=world.patient_record).exists()


def test_an_unreachable_health_system_is_explained(client: Client, world: World) -> None:
    system = HealthSystem.objects.create(name="Gone", fhir_base_url="http://127.0.0.1:9/fhir", client_id="portal")
    sign_in(client, world, "patient")
    response = client.post(reverse("records:connect", args=[system.pk]), follow=True)
    assert "did not answer when we asked how to sign in there" in response.content.decode()
