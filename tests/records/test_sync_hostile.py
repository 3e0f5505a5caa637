"""The sync engine against health systems that refuse, narrow, mislead or misbehave (the sandbox's hostile switches).

Each test plays one behaviour of a real or hostile server over HTTP and checks that the sync keeps the
person's own records only, gives nothing away, and never stalls or dies: the other types go on.
"""

from __future__ import annotations

import gzip
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.db import connection as db_connection
from django.test import TestCase
from django.utils import timezone

from fhir_sandbox.server import RunningSandbox, start
from records import sync as sync_module
from records.models import Connection, ConnectionStatus, FhirResource, HealthSystem, ImportRun, RecordSource, SourceKind
from records.sync import FhirSession, PageRefusedError, granted_types, safe_next_url, sync_connection
from tests.conftest import World
from tests.records.clinic import EXPECTED, PATIENT, TOTAL, write_data
from tests.records.test_sync import post, stored_counts

REPO = Path(__file__).resolve().parents[2]


def clinic(tmp_path: Path, **system: Any) -> RunningSandbox:
    """The test clinic (tests.records.clinic) with extra system settings, e.g. access_token_seconds."""
    write_data(tmp_path / "clinic")
    config = {
        "prefix": "clinic",
        "name": "Test Clinic EHR",
        "data": str(tmp_path / "clinic"),
        "clients": [{"client_id": "portal-test", "redirect_uris": ["http://testserver/records/callback/"]}],
        **system,
    }
    return start({"systems": [config]})


@pytest.fixture
def fast(settings: Any) -> Any:
    settings.FHIR_PAGE_SIZE = 25
    settings.FHIR_RETRY_BASE_SECONDS = 0.01
    settings.FHIR_RETRY_MAX_WAIT_SECONDS = 0.2
    settings.FHIR_HTTP_TIMEOUT_SECONDS = 5
    return settings


@pytest.fixture
def sandbox(tmp_path: Path, fast: Any) -> Iterator[RunningSandbox]:
    with clinic(tmp_path) as running:
        yield running


def connect(world: World, sandbox: RunningSandbox, **mint: Any) -> Connection:
    """A connection as the callback leaves it: the tokens and the scope the health system granted."""
    system = HealthSystem.objects.create(
        name="Test Clinic", fhir_base_url=sandbox.fhir_base("clinic"), client_id="portal-test"
    )
    tokens = sandbox.systems["clinic"].mint({"patient": PATIENT, "client_id": "portal-test", "offline": True, **mint})
    return Connection.objects.create(
        source=RecordSource.objects.create(
            patient=world.patient_record, kind=SourceKind.CONNECTION, health_system=system, label=system.name
        ),
        health_system=system,
        fhir_patient_id=PATIENT,
        scope=tokens["scope"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_expires_at=timezone.now() + timedelta(seconds=tokens["expires_in"]),
        token_endpoint=f"{sandbox.url}/clinic/auth/token",
        connected_by=world.user("patient"),
    )


def run_sync(connection: Connection, **kwargs: Any) -> ImportRun:
    run = sync_connection(connection.pk, **kwargs)
    assert run is not None
    return run


def without(*kinds: str) -> dict[str, int]:
    return {kind: count for kind, count in EXPECTED.items() if kind not in kinds}


def issue_types(run: ImportRun) -> list[str]:
    return sorted(run.issues.values_list("resource_type", flat=True))


# 2. One refused type does not stop the others ------------------------------------------------------------


@pytest.mark.parametrize(("switch", "status"), [("forbidden_types", 403), ("missing_types", 404)])
def test_a_refused_type_is_not_shared_and_the_others_go_on(
    world: World, sandbox: RunningSandbox, switch: str, status: int
) -> None:
    connection = connect(world, sandbox)
    sandbox.switches("clinic", **{switch: ["Observation"]})
    run = run_sync(connection)
    assert run.status == "succeeded", run.error
    assert (run.new, run.failed) == (TOTAL - EXPECTED["Observation"], 0)
    assert stored_counts(connection) == without("Observation")
    connection.refresh_from_db()
    assert connection.types_not_shared["Observation"]["status"] == status
    assert connection.types_not_shared["Observation"]["reason"] == "refused"
    assert "Observation" not in connection.cursors
    assert set(connection.cursors) == set(EXPECTED) - {"Observation"}  # the types after it moved on
    assert connection.last_synced_at is not None

    sandbox.switches("clinic", **{switch: []})  # shared again: it comes in whole, and the note goes
    again = run_sync(connection)
    assert again.status == "succeeded", again.error
    assert again.new == EXPECTED["Observation"]
    assert stored_counts(connection) == EXPECTED
    connection.refresh_from_db()
    assert "Observation" not in connection.types_not_shared


@pytest.mark.parametrize(
    "granted", ["patient/Patient.read patient/Condition.read", "patient/Patient.rs patient/Condition.rs"]
)
def test_only_the_types_of_the_granted_scope_are_asked_for(world: World, sandbox: RunningSandbox, granted: str) -> None:
    sandbox.switches("clinic", granted_scope=granted)  # the person shared less than was asked at sign-in
    connection = connect(world, sandbox, scope="launch/patient openid fhirUser offline_access patient/*.read")
    assert set(connection.scope.split()) == {"launch/patient", "openid", "fhirUser", "offline_access", *granted.split()}
    run = run_sync(connection)
    assert run.status == "succeeded", run.error
    assert stored_counts(connection) == {"Patient": 1, "Condition": EXPECTED["Condition"]}
    assert sandbox.systems["clinic"].routes["search"] == 2  # nothing outside the scope was even asked for
    connection.refresh_from_db()
    assert connection.types_not_shared["Observation"] == {
        "reason": "scope",
        "status": None,
        "at": connection.types_not_shared["Observation"]["at"],
    }
    assert set(connection.cursors) == {"Patient", "Condition"}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("", None),
        ("launch/patient openid patient/*.read offline_access", None),
        ("patient/*.rs", None),
        ("patient/*.cruds", None),
        ("patient/*.*", None),
        ("user/*.read", None),
        ("patient/Observation.read patient/Patient.read", {"Observation", "Patient"}),
        ("patient/Observation.rs patient/Condition.cruds", {"Observation", "Condition"}),
        ("patient/Observation.rs?category=laboratory", {"Observation"}),
        ("patient/Observation.* patient/Condition.write patient/Goal.r", {"Observation"}),
        ("launch/patient openid fhirUser offline_access", set()),
        ("system/*.read", set()),
    ],
)
def test_granted_scopes_in_both_smart_versions(scope: str, expected: set[str] | None) -> None:
    assert granted_types(scope) == (None if expected is None else frozenset(expected))


# 3. Short tokens: renewed as often as needed --------------------------------------------------------------


@pytest.mark.parametrize("expiry_known", [True, False], ids=["ahead-of-expiry", "on-401"])
def test_short_tokens_are_renewed_as_often_as_a_long_sync_needs(
    world: World, tmp_path: Path, fast: Any, expiry_known: bool
) -> None:
    fast.FHIR_PAGE_SIZE = 10  # 20 requests, each 200 ms late: a sync of about 4 s with tokens of 2 s
    with clinic(tmp_path, access_token_seconds=2) as sandbox:
        connection = connect(world, sandbox)
        if not expiry_known:
            Connection.objects.filter(pk=connection.pk).update(token_expires_at=None)
        sandbox.switches("clinic", latency_ms=200)
        started = time.monotonic()
        with TestCase.captureOnCommitCallbacks(execute=True):
            run = run_sync(connection)
        assert time.monotonic() - started > 3
        assert run.status == "succeeded", run.error
        assert (run.new, run.failed) == (TOTAL, 0)
        assert stored_counts(connection) == EXPECTED
        assert sandbox.systems["clinic"].routes["token"] >= 2  # several renewals in one run
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.ACTIVE
        assert len(mail.outbox) == 0


def test_a_renewed_token_refused_at_once_means_signing_in_again(world: World, tmp_path: Path, fast: Any) -> None:
    with clinic(tmp_path, access_token_seconds=0) as sandbox:  # every token it issues has already expired
        connection = connect(world, sandbox, expires_in=0)
        with TestCase.captureOnCommitCallbacks(execute=True):
            run = run_sync(connection)
        assert run.status == "failed"
        assert sandbox.systems["clinic"].routes["token"] == 1  # one renewal, not a loop
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION
        assert len(mail.outbox) == 1


def test_renewals_past_the_cap_stop_the_run_without_asking_the_person(world: World, tmp_path: Path, fast: Any) -> None:
    fast.FHIR_PAGE_SIZE = 10
    fast.FHIR_MAX_REFRESHES_PER_RUN = 1
    with clinic(tmp_path, access_token_seconds=1) as sandbox:
        connection = connect(world, sandbox)
        sandbox.switches("clinic", latency_ms=200)
        with TestCase.captureOnCommitCallbacks(execute=True):
            run = run_sync(connection)
        assert run.status == "failed"
        assert "too often" in run.error
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.ACTIVE  # the refresh token still works: the next run goes on
        assert len(mail.outbox) == 0


# 4. The token stays on the FHIR base ------------------------------------------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    """Another origin: records every request it gets (there must be none)."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        Recorder.seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        body = b'{"resourceType": "Bundle", "type": "searchset", "entry": []}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def elsewhere() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


NEXT_LINKS = {
    "other-port": "http://{elsewhere}/clinic/fhir?_getpages=x",
    "protocol-relative": "//{elsewhere}/clinic/fhir?_getpages=x",
    "other-host-name": "http://localhost:{port}/clinic/fhir?_getpages=x",
    "other-scheme": "https://127.0.0.1:{port}/clinic/fhir?_getpages=x",
    "credentials": "http://user:secret@{elsewhere}/clinic/fhir",
    "other-base-path": "/other/fhir/Observation?page=2",
    "dot-segments": "http://127.0.0.1:{port}/clinic/fhir/../../other/fhir?_getpages=x",
    "file": "file:///etc/passwd",
    "data": "data:application/fhir+json,{{}}",
    "javascript": "javascript:alert(1)",
    "garbage": "http://[::1",
    "control-characters": "http://{elsewhere}/\r\nX-Injected: 1",
}


@pytest.mark.parametrize("link", NEXT_LINKS.values(), ids=NEXT_LINKS.keys())
def test_a_next_link_off_the_fhir_base_is_never_followed(
    world: World, sandbox: RunningSandbox, elsewhere: str, link: str
) -> None:
    connection = connect(world, sandbox)
    port = sandbox.url.rsplit(":", 1)[1]
    sandbox.switches("clinic", hostile_types=["Observation"], next_link_url=link.format(elsewhere=elsewhere, port=port))
    run = run_sync(connection)
    assert Recorder.seen == []  # not a request, let alone the token
    assert run.status == "failed"
    assert "test results and measurements" in run.error  # the kind stopped, named in plain words
    assert issue_types(run) == ["Observation"]
    assert "pointed somewhere else" in run.issues.get().message
    # The first page was the person's and is kept; the other types went on; Observation asks again next time.
    assert stored_counts(connection) == without("Observation") | {"Observation": 25}
    connection.refresh_from_db()
    assert set(connection.cursors) == set(EXPECTED) - {"Observation"}


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("?_getpages=a", "http://h:8/base/fhir/?_getpages=a"),
        ("Observation?page=2", "http://h:8/base/fhir/Observation?page=2"),
        ("http://H:8/base/fhir?_getpages=a", "http://H:8/base/fhir?_getpages=a"),
        ("http://h:8/base/fhir2?x", None),
        ("http://h:80/base/fhir?x", None),
        ("http://h/base/fhir?x", None),
    ],
)
def test_safe_next_url(link: str, expected: str | None) -> None:
    assert safe_next_url("http://h:8/base/fhir", link) == expected
    assert safe_next_url("https://h/fhir", "https://h:443/fhir/Observation?p=2") == "https://h:443/fhir/Observation?p=2"


# 5. A hostile or broken server cannot pin the worker --------------------------------------------------------


def test_a_next_link_to_the_same_page_stops_that_type(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    sandbox.switches("clinic", hostile_types=["Observation"], next_link="self")
    run = run_sync(connection)
    assert run.status == "failed"
    assert issue_types(run) == ["Observation"]
    assert "already read" in run.issues.get().message
    assert stored_counts(connection) == without("Observation") | {"Observation": 25}
    assert sandbox.systems["clinic"].routes["search"] <= len(EXPECTED) + 2


def test_endless_paging_stops_at_the_page_cap(world: World, sandbox: RunningSandbox, fast: Any) -> None:
    fast.FHIR_MAX_PAGES_PER_TYPE = 8
    connection = connect(world, sandbox)
    sandbox.switches("clinic", hostile_types=["Observation"], next_link="endless")
    run = run_sync(connection)
    assert run.status == "failed"
    assert issue_types(run) == ["Observation"]
    assert "more than 8 pages" in run.issues.get().message
    assert sandbox.systems["clinic"].routes["page"] == 7  # 8 pages in all, the first from the search
    assert stored_counts(connection) == EXPECTED  # 6 pages held every Observation; the empty ones add nothing


class AlarmError(Exception):
    pass


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fails the test (rather than hanging it) if the sync has not returned within 30 s."""

    def ring(signum: int, frame: FrameType | None) -> None:
        raise AlarmError

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_dripping_body_meets_the_request_deadline(
    world: World, sandbox: RunningSandbox, fast: Any, alarm: None
) -> None:
    fast.FHIR_REQUEST_DEADLINE_SECONDS = 1
    connection = connect(world, sandbox)
    sandbox.switches("clinic", hostile_types=["Observation"], drip_body_ms=200)  # under the 5 s socket timeout
    started = time.monotonic()
    run = run_sync(connection)
    assert time.monotonic() - started < 10
    assert run.status == "failed"
    assert issue_types(run) == ["Observation"]
    assert "too long" in run.issues.get().message
    assert stored_counts(connection) == without("Observation")


def test_the_time_limit_ends_the_run_recorded_and_unlocked(
    world: World, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Celery raises SoftTimeLimitExceeded in the task at its soft limit: the run is closed and the lock let go.

    Raised here at a fixed point (the second page): a real signal can land anywhere, even in a garbage
    collector's callback where Python drops it, which is what the hard limit is for.
    """
    connection = connect(world, sandbox)
    real = sync_module.select_resources
    calls = 0

    def time_is_up_on_the_second_page(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise SoftTimeLimitExceeded
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_module, "select_resources", time_is_up_on_the_second_page)
    run = run_sync(connection)
    assert run.status == "failed"
    assert "too long" in run.error
    monkeypatch.setattr(sync_module, "select_resources", real)
    after = run_sync(connection)  # the lock was let go
    assert after.status == "succeeded", after.error
    assert stored_counts(connection) == EXPECTED


MEASURE = """
import os, sys, django
django.setup()
from django.core.management import call_command
call_command("sync_connection", sys.argv[1])
from records.models import ImportRun
run = ImportRun.objects.filter(source__connection=sys.argv[1]).latest("pk")
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) // 1024
print(peak, run.status, "|".join(run.issues.values_list("message", flat=True)))
"""


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="a second process needs a shared database")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("switches", "refusal"),
    [({"huge_body_mb": 200}, "larger than 32 MB"), ({"big_page_entries": 100_000}, "more than 250000 values")],
    ids=["200-MB-body", "100000-entries"],
)
def test_a_huge_page_is_refused_within_the_memory_budget(
    world: World, sandbox: RunningSandbox, switches: dict[str, Any], refusal: str
) -> None:
    connection = connect(world, sandbox)
    sandbox.switches("clinic", hostile_types=["Observation"], **switches)
    database = db_connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}",
    }
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", MEASURE, str(connection.pk)], cwd=REPO, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    peak, status, issues = done.stdout.decode().strip().splitlines()[-1].split(" ", 2)
    sys.stdout.write(f"{switches}: peak RSS {peak} MB in {time.monotonic() - started:.1f} s\n")  # the figure
    assert int(peak) < 300
    assert status == "failed"
    assert refusal in issues
    assert stored_counts(connection) == without("Observation")


# 6. Only the person's own records ----------------------------------------------------------------------------


def test_resources_that_are_not_the_persons_are_left_out_and_counted(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    sandbox.switches("clinic", hostile_types=["Observation"], inject_foreign=True)
    run = run_sync(connection)
    assert run.status == "succeeded", run.error
    assert stored_counts(connection) == EXPECTED
    assert not FhirResource.objects.filter(resource_id__in=["intruder", "foreign-obs", "nested", "stray-condition"])
    assert (run.new, run.failed) == (TOTAL, 5)
    assert issue_types(run) == ["Bundle", "Condition", "Observation", "OperationOutcome", "Patient"]
    assert FhirResource.objects.get(resource_type="Patient", source=connection.source).resource_id == PATIENT


def test_reference_data_keeps_only_what_was_asked_for(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    post(
        sandbox,
        "resources",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Practitioner", "id": "dr-lee", "name": [{"family": "Lee"}]}},
                {
                    "resource": {
                        "resourceType": "Encounter",
                        "id": "pat-1-enc-0",
                        "status": "finished",
                        "class": {"code": "AMB"},
                        "subject": {"reference": f"Patient/{PATIENT}"},
                        "participant": [{"individual": {"reference": "Practitioner/dr-lee"}}],
                    }
                },
            ],
        },
    )
    sandbox.switches("clinic", hostile_types=["Practitioner"], inject_foreign=True)
    run = run_sync(connection)
    assert run.status == "succeeded", run.error
    assert stored_counts(connection) == EXPECTED | {"Practitioner": 1}
    assert run.failed == 5  # the foreign entries of the Practitioner answer, all left out
    assert issue_types(run) == ["Bundle", "Condition", "Observation", "OperationOutcome", "Patient"]


# 12. Provenance ----------------------------------------------------------------------------------------------


def test_provenance_is_synced_and_its_agents_fetched(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    post(
        sandbox,
        "resources",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Organization", "id": "lab-co", "name": "Lab Co"}},
                {
                    "resource": {
                        "resourceType": "Provenance",
                        "id": "prov-1",
                        "target": [{"reference": f"Patient/{PATIENT}"}, {"reference": "Observation/pat-1-obs-0"}],
                        "recorded": "2024-02-03T04:05:06Z",
                        "agent": [{"who": {"reference": "Organization/lab-co"}}],
                    }
                },
            ],
        },
    )
    run = run_sync(connection)
    assert run.status == "succeeded", run.error
    assert stored_counts(connection) == EXPECTED | {"Provenance": 1, "Organization": 1}
    provenance = FhirResource.objects.get(resource_type="Provenance")
    assert provenance.kind == "other"
    assert provenance.effective_at is not None
    assert provenance.effective_at.isoformat() == "2024-02-03T04:05:06+00:00"


# Queues and time limits ----------------------------------------------------------------------------------------


def test_the_audit_log_has_a_queue_of_its_own_and_syncs_have_time_limits(settings: Any) -> None:
    from portal.celery import app
    from records.tasks import sync_connection_task

    for name in ("accounts.seal_audit_events", "accounts.checkpoint_audit_chain"):
        assert app.amqp.router.route({}, name)["queue"].name == "audit"
    assert app.amqp.router.route({}, "records.sync_connection")["queue"].name == "celery"
    assert sync_connection_task.soft_time_limit == settings.RECORDS_SYNC_SOFT_TIME_LIMIT_SECONDS
    assert sync_connection_task.time_limit == settings.RECORDS_SYNC_TIME_LIMIT_SECONDS
    assert sync_connection_task.soft_time_limit < sync_connection_task.time_limit < settings.RECORDS_SYNC_LEASE_SECONDS
    # Whatever runs workers consumes the audit queue too.
    assert "--queues=celery,audit" in (REPO / "scripts" / "run-demo.sh").read_text()
    compose = (REPO / "docker-compose.yml").read_text()
    assert '"--queues=celery"' in compose
    assert '"--queues=audit"' in compose


@pytest.mark.parametrize(
    ("text", "values"),
    [
        (b'{"a": [1, 2, {"b": "x,y,[z{"}]}', 9),  # small: every comma and opening counts, in strings too
        (b"[" + b",".join([b'"a,b,c"'] * 60_000) + b"]", 60_000),  # large: those in strings are left out
        (b"[" + b",".join([b'"x\\"y,z"', b'"x\\\\"', b'",[{"'] * 30_000) + b"]", 90_000),  # escapes
        (b"[" + b",".join([b"{}"] * 60_000) + b"]", 120_000),
    ],
    ids=["small", "commas-in-strings", "escapes", "many-objects"],
)
def test_json_values_bound(text: bytes, values: int) -> None:
    from records.ingest import json_values_bound

    assert json_values_bound(text) == values
    assert json_values_bound(bytearray(text)) == values


class Gzipped(http.server.BaseHTTPRequestHandler):
    """A server that compresses its answers: a small searchset, or a bomb (40 MB of zeros in 40 KB)."""

    def do_GET(self) -> None:
        if "bomb" in self.path:
            text = b'{"resourceType": "Bundle", "note": "' + b"0" * (40 * 1024 * 1024) + b'"}'
        else:
            text = (
                b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Patient"}}]}'
            )
        body = gzip.compress(text, compresslevel=9)
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_compressed_answers_are_read_and_their_decoded_size_counts(fast: Any) -> None:
    fast.FHIR_MAX_PAGE_BYTES = 1024 * 1024
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gzipped)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    session = FhirSession(connection=Connection(access_token="t"), http=requests.Session())
    try:
        bundle, _ = session.get_page(f"{base}/Patient")
        assert bundle["entry"][0]["resource"] == {"resourceType": "Patient"}
        with pytest.raises(PageRefusedError, match="larger than 1 MB"):
            session.get_page(f"{base}/bomb")
    finally:
        server.shutdown()
        server.server_close()


def test_a_renewal_for_another_person_is_never_used(world: World, sandbox: RunningSandbox) -> None:
    """The renewal answers for someone other than the connection's patient: nothing of it is kept."""
    connection = connect(world, sandbox)
    Connection.objects.filter(pk=connection.pk).update(
        fhir_patient_id="someone-else",
        token_expires_at=timezone.now(),  # renewed before the first request
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = run_sync(connection)
    assert run.status == "failed"
    assert "another person" in run.error
    before = connection.access_token
    connection.refresh_from_db()
    assert connection.access_token == before  # the renewed token was not stored
    assert connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION
    assert not FhirResource.objects.filter(source=connection.source).exists()


def test_renewed_tokens_are_never_written_onto_a_disconnected_connection(world: World, sandbox: RunningSandbox) -> None:
    connection = connect(world, sandbox)
    session = FhirSession(connection=connection, http=requests.Session())
    Connection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.DISCONNECTED, access_token="", refresh_token=""
    )
    session.connection.access_token = "renewed-while-disconnecting"
    session.tokens_changed = True
    session.save_tokens()
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token) == ("", "")


def test_the_time_limit_is_never_taken_for_an_unreadable_resource(
    world: World, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each resource is projected under a catch-all (one bad resource is skipped); the time limit goes through it."""
    from records import ingest

    def time_is_up(resource: Any) -> Any:
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(ingest, "project", time_is_up)
    run = run_sync(connect(world, sandbox))
    assert run.status == "failed"
    assert "too long" in run.error
    assert run.failed == 0  # not one resource counted as unreadable
