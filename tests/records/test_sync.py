"""The sync engine against the FHIR sandbox over real HTTP, with every fault switch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import connection as db_connection
from django.test import TestCase

from accounts.models import AuditEvent
from fhir_sandbox.server import RunningSandbox
from records.models import Connection, ConnectionStatus, FhirResource, HealthSystem, RecordSource, SourceKind
from records.sync import AlreadySyncingError, connection_lock, sync_connection
from tests.conftest import World
from tests.records.clinic import EXPECTED, PATIENT, TOTAL, clinic_sandbox

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(tmp_path: Path, settings: Any) -> Iterator[RunningSandbox]:
    settings.FHIR_PAGE_SIZE = 25
    settings.FHIR_RETRY_BASE_SECONDS = 0.01
    settings.FHIR_RETRY_MAX_WAIT_SECONDS = 0.2
    settings.FHIR_HTTP_TIMEOUT_SECONDS = 5
    with clinic_sandbox(tmp_path) as running:
        yield running


def connect(world: World, sandbox: RunningSandbox) -> Connection:
    system = HealthSystem.objects.create(
        name="Test Clinic", fhir_base_url=sandbox.fhir_base("clinic"), client_id="portal-test"
    )
    tokens = sandbox.systems["clinic"].mint({"patient": PATIENT, "client_id": "portal-test", "offline": True})
    return Connection.objects.create(
        source=RecordSource.objects.create(
            patient=world.patient_record, kind=SourceKind.CONNECTION, health_system=system, label=system.name
        ),
        health_system=system,
        fhir_patient_id=PATIENT,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_endpoint=f"{sandbox.url}/clinic/auth/token",
        connected_by=world.user("patient"),
    )


def stored_counts(connection: Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in FhirResource.objects.filter(source=connection.source).values_list("resource_type", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def post(sandbox: RunningSandbox, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{sandbox.url}/clinic/_sandbox/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).read()


def test_first_sync_then_incremental_then_full(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded", run.error
    assert (run.new, run.changed, run.unchanged, run.failed) == (TOTAL, 0, 0, 0)
    assert stored_counts(connection) == EXPECTED
    connection.refresh_from_db()
    assert set(connection.cursors) >= set(EXPECTED)
    assert connection.last_synced_at is not None
    assert (run.progress_done, run.progress_total) == (run.progress_total, run.progress_total)

    quiet = sync_connection(connection.pk)
    assert quiet is not None
    assert (quiet.new, quiet.changed, quiet.unchanged) == (0, 0, 0)  # nothing changed since the cursor

    post(sandbox, "touch", {"patient": PATIENT, "count": 5})  # newer lastUpdated, same content
    changed = dict(FhirResource.objects.get(resource_id="pat-1-obs-7").raw)
    changed["valueQuantity"] = {"value": 9.9, "unit": "%"}
    changed.pop("meta", None)  # the sandbox dates a replaced resource now
    post(sandbox, "resources", changed)
    touched = sync_connection(connection.pk)
    assert touched is not None
    assert touched.changed == 1
    assert touched.unchanged >= 4
    assert touched.new == 0
    assert FhirResource.objects.get(resource_id="pat-1-obs-7").value_number == 9.9

    full = sync_connection(connection.pk, full=True)
    assert full is not None
    assert (full.new, full.changed, full.unchanged) == (0, 0, TOTAL)
    assert stored_counts(connection) == EXPECTED


@pytest.mark.parametrize(
    "switches",
    [
        {"status_429_every": 3, "retry_after_seconds": 0},
        {"status_5xx_every": 4},
        {"drop_connection_every": 5},
        {"truncate_body_every": 4},
        {"latency_ms": 20, "status_5xx_next": 2},
    ],
    ids=["429", "5xx", "dropped", "truncated", "latency"],
)
def test_faults_are_retried_to_exact_counts(world: World, sandbox: RunningSandbox, switches: dict[str, Any]) -> None:
    connection = connect(world, sandbox)
    sandbox.switches("clinic", **switches)
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded", run.error
    assert (run.new, run.failed) == (TOTAL, 0)
    assert stored_counts(connection) == EXPECTED


def test_retry_after_is_honoured(world: World, sandbox: RunningSandbox, settings: Any) -> None:
    settings.FHIR_RETRY_MAX_WAIT_SECONDS = 5
    connection = connect(world, sandbox)
    sandbox.switches("clinic", status_429_every=2, retry_after_seconds=1)
    started = time.monotonic()
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded"
    assert time.monotonic() - started >= 3  # at least three 429s, each waited out for its Retry-After second


def test_an_expired_token_is_refreshed(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    old_refresh = connection.refresh_token
    sandbox.switches("clinic", expire_tokens=True)
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded", run.error
    connection.refresh_from_db()
    assert connection.refresh_token != old_refresh  # rotated
    assert connection.status == ConnectionStatus.ACTIVE


def test_a_refused_refresh_asks_the_person_to_sign_in_again(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    sandbox.switches("clinic", expire_tokens=True, revoke_refresh_tokens=True)
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "failed"
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION
    assert AuditEvent.objects.filter(action="records.needs_reauthorization").count() == 1
    assert len(mail.outbox) == 1
    assert "sign in again" in mail.outbox[0].body
    assert "HbA1c" not in mail.outbox[0].body


def test_a_malformed_resource_is_recorded_and_skipped(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    too_long = "x" * 70  # FHIR ids are at most 64 characters
    post(
        sandbox,
        "resources",
        {
            "resourceType": "Condition",
            "id": too_long,
            "subject": {"reference": "Patient/pat-1"},
            "code": {"text": "Odd"},
        },
    )
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded", run.error
    assert (run.new, run.failed) == (TOTAL, 1)
    assert run.issues.get().resource_type == "Condition"
    assert stored_counts(connection) == EXPECTED


def test_one_sync_per_connection_at_a_time(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    with connection_lock(connection.pk):
        assert sync_connection(connection.pk) is None
    assert sync_connection(connection.pk) is not None


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="a second process needs a shared database")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sync_loses_and_duplicates_nothing(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    sandbox.switches("clinic", latency_ms=150)
    database = db_connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "FHIR_PAGE_SIZE": "25",
        "DATABASE_URL": f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}",
    }
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "sync_connection", str(connection.pk)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while FhirResource.objects.filter(source=connection.source).count() < 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    partial = FhirResource.objects.filter(source=connection.source).count()
    assert 0 < partial < TOTAL, "the worker was killed part-way"
    # The server ends the killed worker's session (and its lock) only when it next
    # reads from the dead socket, a moment after the process is gone.
    wait_until_the_sync_lock_is_free(connection.pk)

    sandbox.switches("clinic", latency_ms=0)
    run = sync_connection(connection.pk)  # the killed worker's lock died with its database session
    assert run is not None
    assert run.status == "succeeded", run.error
    assert run.new == TOTAL - partial
    assert stored_counts(connection) == EXPECTED


def wait_until_the_sync_lock_is_free(connection_id: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with connection_lock(connection_id):
                return
        except AlreadySyncingError:
            time.sleep(0.05)
    pytest.fail("the killed worker's database session still holds the sync lock after 10 s")


def test_a_token_about_to_expire_is_renewed_before_the_run(world: World, sandbox: RunningSandbox) -> None:
    from datetime import timedelta

    from django.utils import timezone

    connection = connect(world, sandbox)
    connection.token_expires_at = timezone.now() + timedelta(seconds=30)
    connection.save()
    old_access = connection.access_token
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded"
    connection.refresh_from_db()
    assert connection.access_token != old_access
    assert connection.token_expires_at is not None
    assert connection.token_expires_at > timezone.now() + timedelta(seconds=60)


def test_referenced_practitioners_and_organizations_are_fetched_by_id(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    post(
        sandbox,
        "resources",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Practitioner", "id": "dr-lee", "name": [{"family": "Lee"}]}},
                {"resource": {"resourceType": "Organization", "id": "riverside", "name": "Riverside"}},
                {"resource": {"resourceType": "Organization", "id": "unrelated", "name": "Not pointed at"}},
                {
                    "resource": {
                        "resourceType": "Encounter",
                        "id": "pat-1-enc-0",
                        "status": "finished",
                        "class": {"code": "AMB"},
                        "subject": {"reference": "Patient/pat-1"},
                        "participant": [{"individual": {"reference": "Practitioner/dr-lee"}}],
                        "serviceProvider": {"reference": "Organization/riverside"},
                    }
                },
            ],
        },
    )
    run = sync_connection(connection.pk)
    assert run is not None
    assert run.status == "succeeded", run.error
    assert run.new == TOTAL + 2
    stored = set(
        FhirResource.objects.filter(
            source=connection.source, resource_type__in=["Practitioner", "Organization"]
        ).values_list("resource_id", flat=True)
    )
    assert stored == {"dr-lee", "riverside"}
    again = sync_connection(connection.pk, full=True)
    assert again is not None
    assert (again.new, again.changed, again.unchanged) == (0, 0, TOTAL + 2)
