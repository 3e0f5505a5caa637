"""A connection's page tells people how the source is doing, in words they use (issue: hostile servers, point 13).

Signed in through the sandbox the way a person does: what was shared and for how long, the kinds of
records the health system does not share, the last complete update, the health system's own words
when it asks for a new sign-in (with "Sign in again", which keeps the records), and "Sync again"
after an update that did not finish.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from fhir_sandbox.server import RunningSandbox, start
from records.kinds import RESOURCE_TYPE_LABELS
from records.models import Connection, ConnectionStatus
from records.sync import REFERENCE_TYPES, SUPPORTED_TYPES, sync_connection
from tests.conftest import World, sign_in
from tests.records.clinic import write_data
from tests.records.smart_sign_in import CALLBACK, clinic_system
from tests.records.smart_sign_in import sign_in as sign_in_at

DAY = 24 * 3600


@pytest.fixture
def sandbox(tmp_path: Path, settings: Any) -> Iterator[RunningSandbox]:
    settings.FHIR_PAGE_SIZE = 50
    settings.FHIR_RETRY_ATTEMPTS = 2
    settings.FHIR_RETRY_BASE_SECONDS = 0.01
    write_data(tmp_path / "clinic")
    running = start(
        {
            "systems": [
                {
                    "prefix": "clinic",
                    "name": "Test Clinic EHR",
                    "data": str(tmp_path / "clinic"),
                    "clients": [{"client_id": "portal-test", "redirect_uris": [CALLBACK]}],
                    "refresh_token_seconds": 90 * DAY,  # the person chose three months at sign-in
                }
            ]
        }
    )
    yield running
    running.stop()


@pytest.fixture
def alex(client: Client, world: World) -> Client:
    return sign_in(client, world, "patient")


def alex_user_zone(world: World) -> str:
    return world.user("patient").time_zone or settings.DEFAULT_USER_TIME_ZONE


def page(client: Client, connection: Connection) -> str:
    response = client.get(reverse("records:connection", args=[connection.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def connected(alex: Client, world: World, sandbox: RunningSandbox) -> Connection:
    sign_in_at(alex, clinic_system(sandbox))
    return Connection.objects.get(source__patient=world.patient_record)


def test_every_kind_the_sync_reads_has_a_plain_name() -> None:
    assert set(SUPPORTED_TYPES) | set(REFERENCE_TYPES) <= set(RESOURCE_TYPE_LABELS)


def test_the_page_says_how_long_access_lasts_and_what_is_not_shared(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    sandbox.switches("clinic", granted_scope="patient/Patient.rs patient/Condition.rs patient/Observation.rs")
    connection = connected(alex, world, sandbox)
    sandbox.switches("clinic", forbidden_types=["Observation"])
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded", run.error
    connection.refresh_from_db()
    assert connection.access_granted_until is not None
    days = (connection.access_granted_until - timezone.now()).total_seconds() / DAY
    assert 89 < days <= 90

    shown = page(alex, connection)
    zone = ZoneInfo(alex_user_zone(world))  # the page speaks in the person's time zone
    until = formats.date_format(timezone.localtime(connection.access_granted_until, zone), "DATE_FORMAT")
    assert f"Until {until}, as you chose at the health system." in shown
    assert "Not shared by this health system" in shown
    # Outside what was shared at sign-in, in plain words; and a kind the health system refused.
    assert "Vaccines · not included in what was shared at sign-in" in shown
    assert "Test results and measurements · the health system does not share them" in shown
    assert "Health problems ·" not in shown  # shared, and it came
    assert "Last complete update" in shown
    assert "Not yet" not in shown.split("Last complete update", 1)[1][:200]


def test_a_renewal_does_not_extend_the_access_the_person_gave(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    connection = connected(alex, world, sandbox)
    before = connection.access_granted_until
    sandbox.switches("clinic", expire_tokens=True)
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded", run.error
    connection.refresh_from_db()
    assert before is not None
    assert connection.access_granted_until is not None
    assert abs((connection.access_granted_until - before).total_seconds()) < 5


def test_a_refused_renewal_shows_the_health_systems_words_and_a_sign_in_that_keeps_the_records(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    connection = connected(alex, world, sandbox)
    sync_connection(connection.pk)
    sandbox.switches("clinic", revoke_refresh_tokens=True, expire_tokens=True)
    sync_connection(connection.pk)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION

    shown = page(alex, connection)
    assert "Sign in again to keep records coming" in shown
    assert "The health system asks you to sign in again." in shown
    assert "What the health system said:" in shown
    assert connection.refusal_description in shown
    assert "The records already here stay." in shown
    assert reverse("records:connect", args=[connection.health_system_id]) in shown
    assert reverse("records:sync_now", args=[connection.pk]) not in shown  # nothing to sync without access


def test_after_an_update_that_did_not_finish_the_page_offers_to_sync_again(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    connection = connected(alex, world, sandbox)
    sandbox.switches("clinic", status_5xx_every=1)
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "failed"

    shown = page(alex, connection)
    assert "The last update did not finish" in shown
    assert run.error in shown
    assert "Sync again" in shown
    assert reverse("records:sync_now", args=[connection.pk]) in shown
