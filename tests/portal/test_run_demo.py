"""`make run`: the ports it is given reach every process, and a SIGTERM stops every process it started.

The slow tests run scripts/run-demo.sh for real (migrate, seed_demo, the FHIR sandbox, the web server, a
Celery worker with its pool and beat) on free ports, against a SQLite file and a filesystem queue of
their own under tmp_path, with a sync in flight when the signal arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from records.directory import load_configured_systems
from records.models import HealthSystem

ROOT = Path(__file__).resolve().parents[2]
TEST_KEY = "dGVzdC1rZXktb25lLWZvci10aGUtdGVzdC1zdWl0ZSE="
START_SECONDS = 180.0  # the most the demo may take to answer (migrations and demo data on a new database)
STOP_SECONDS = 12.0  # the script's own deadline is 10 s; a clean stop takes 5 to 9
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def sandbox_systems(base: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "fhir_base_url": f"{base}/{prefix}/fhir",
            "client_id": "portal-dev",
            "vendor": "FHIR sandbox (development)",
            "is_sandbox": True,
        }
        for name, prefix in (("Riverside Family Clinic", "riverside"), ("Lakeside Pediatrics", "lakeside"))
    ]


def test_a_sandbox_on_another_port_repoints_its_systems_without_duplicates(db: object, settings: Any) -> None:
    # A real health system that happens to use the same path is not the sandbox's to move.
    real = HealthSystem.objects.create(
        name="Riverside (real)", fhir_base_url="https://ehr.example.org/riverside/fhir", client_id="x"
    )
    settings.HEALTH_SYSTEMS = sandbox_systems("http://127.0.0.1:8900")
    load_configured_systems()
    before = dict(HealthSystem.objects.filter(is_sandbox=True).values_list("name", "pk"))

    settings.HEALTH_SYSTEMS = sandbox_systems("http://127.0.0.1:9123")
    load_configured_systems()
    load_configured_systems()  # idempotent

    after = {row.name: row for row in HealthSystem.objects.filter(is_sandbox=True)}
    assert {name: row.pk for name, row in after.items()} == before
    assert after["Riverside Family Clinic"].fhir_base_url == "http://127.0.0.1:9123/riverside/fhir"
    assert after["Lakeside Pediatrics"].fhir_base_url == "http://127.0.0.1:9123/lakeside/fhir"
    real.refresh_from_db()
    assert real.fhir_base_url == "https://ehr.example.org/riverside/fhir"
    assert HealthSystem.objects.count() == 3


def test_seed_demo_follows_the_sandbox_url(db: object, settings: Any) -> None:
    settings.DEBUG = True
    settings.HEALTH_SYSTEMS = sandbox_systems("http://127.0.0.1:8900")
    call_command("seed_demo", stdout=StringIO())
    settings.HEALTH_SYSTEMS = sandbox_systems("http://127.0.0.1:8911")
    call_command("seed_demo", stdout=StringIO())
    assert sorted(HealthSystem.objects.values_list("fhir_base_url", flat=True)) == [
        "http://127.0.0.1:8911/lakeside/fhir",
        "http://127.0.0.1:8911/riverside/fhir",
    ]


def settings_value(expression: str, env: dict[str, str]) -> str:
    clean = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    clean.update({"DEBUG": "true", "PORTAL_ENV_FILE": "/nonexistent/.env", **env})
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    clean["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_the_sandbox_url_follows_fhir_sandbox_port_unless_given() -> None:
    urls = "[s['fhir_base_url'] for s in settings.HEALTH_SYSTEMS]"
    assert settings_value("settings.FHIR_SANDBOX_URL", {}) == "http://127.0.0.1:8900"
    assert "http://127.0.0.1:9123/riverside/fhir" in settings_value(urls, {"FHIR_SANDBOX_PORT": "9123"})
    given = {"FHIR_SANDBOX_PORT": "9123", "FHIR_SANDBOX_URL": "http://sandbox.test:7000/"}
    assert settings_value("settings.FHIR_SANDBOX_URL", given) == "http://sandbox.test:7000"


def test_the_development_env_file_pins_no_address(tmp_path: Path) -> None:
    # Settings read .env under the environment; a port written there would outlive the next run's choice.
    path = tmp_path / ".env"
    subprocess.run([sys.executable, ROOT / "scripts" / "write_dev_env.py", path], check=True, capture_output=True)  # noqa: S603
    keys = {line.split("=", 1)[0] for line in path.read_text().splitlines() if line and not line.startswith("#")}
    assert keys == {"DEBUG", "HTTPS", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "SMART_CLIENT_PRIVATE_KEY"}


# The demo, for real -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """What a developer's shell would give `make run`, minus anything of the test run (no Postgres, no Redis)."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(
        {
            "DEBUG": "true",
            "PORTAL_ENV_FILE": "/nonexistent/.env",
            "PORTAL_VAR_DIR": str(var_dir),
            "FIELD_ENCRYPTION_KEYS": TEST_KEY,
            "HEALTH_SYSTEM_ENDPOINT_LISTS": str(var_dir / "no-endpoint-lists"),
            "PY": sys.executable,
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


def session_processes(session: int) -> dict[int, tuple[int, str]]:
    """Live processes of a session (zombies are gone already): pid -> (parent pid, command line)."""
    found: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            found[int(entry.name)] = (int(fields[1]), command)
    return found


def get_json(url: str, data: dict[str, Any] | None = None) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=5) as answer:
        return json.loads(answer.read())


def answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as answer:
        return bool(answer.status == 200)


def wait_for(check: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{what} within {seconds} s; the demo said:\n{log.read_text()[-3000:]}")


def wait_until_gone(pids: set[int], session: int, seconds: float) -> float:
    started = time.monotonic()
    while pids & set(session_processes(session)) and time.monotonic() - started < seconds:
        time.sleep(0.1)
    return time.monotonic() - started


class Demo:
    def __init__(self, tmp_path: Path) -> None:
        self.var = tmp_path / "var"
        self.log = tmp_path / "run-demo.log"
        self.portal_port, self.sandbox_port = free_port(), free_port()
        self.env = demo_env(
            self.var,
            PORTAL_HOST="127.0.0.1",
            PORTAL_PORT=str(self.portal_port),
            FHIR_SANDBOX_PORT=str(self.sandbox_port),
            PAYMENT_SANDBOX_PORT=str(free_port()),
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [ROOT / "scripts" / "run-demo.sh"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session: every process it starts can be found
            )
        portal = f"http://127.0.0.1:{self.portal_port}/healthz"
        # Bounds, not targets: the demo migrates and seeds a new database first, which took over 45 s on a slow
        # machine running the rest of the suite beside it.
        wait_for(lambda: answers(portal), START_SECONDS, "no portal", self.log)
        wait_for(lambda: bool(get_json(f"{self.sandbox}/")["systems"]), 60, "no sandbox", self.log)
        running = " | ".join(command for _, command in self.processes().values())
        for part in ("fhir_sandbox", "celery -A portal worker", "celery -A portal beat", "runserver"):
            assert part in running, running
        return self.process

    def processes(self) -> dict[int, tuple[int, str]]:
        assert self.process is not None
        return session_processes(self.process.pid)

    def sandbox_rows(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.var / "portal.sqlite3") as database:
            return sorted(
                database.execute("SELECT name, fhir_base_url FROM records_healthsystem WHERE is_sandbox").fetchall()
            )

    def start_a_slow_sync(self) -> None:
        """Alex connects Riverside, whose every answer now takes 1.5 s: a sync of about 30 s is under way."""
        token = get_json(
            f"{self.sandbox}/riverside/_sandbox/token", {"patient": "alex-rivera-rfc", "client_id": "portal-dev"}
        )
        get_json(f"{self.sandbox}/riverside/_sandbox/switches", {"latency_ms": 1500})
        code = (
            "import os\n"
            "from django.conf import settings\n"
            "from accounts.models import Patient\n"
            "from portal.celery import app\n"
            "from records.models import Connection, HealthSystem, RecordSource, SourceKind\n"
            "system = HealthSystem.objects.get(fhir_base_url=settings.FHIR_SANDBOX_URL + '/riverside/fhir')\n"
            "patient = Patient.objects.get(user__email='patient@demo.test')\n"
            "source = RecordSource.objects.create(\n"
            "    patient=patient, kind=SourceKind.CONNECTION, health_system=system, label=system.name)\n"
            "connection = Connection.objects.create(source=source, health_system=system,\n"
            "    fhir_patient_id=os.environ['FHIR_PATIENT'], access_token=os.environ['ACCESS_TOKEN'])\n"
            "app.send_task('records.sync_connection', (connection.pk,), {'full': True})\n"
        )
        env = {**self.env, "FHIR_PATIENT": token["patient"], "ACCESS_TOKEN": token["access_token"]}
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
        )

        def sync_under_way() -> bool:
            routes = get_json(f"{self.sandbox}/riverside/_sandbox/stats")["routes"]
            return routes.get("search", 0) >= 1

        wait_for(sync_under_way, 60, "the worker did not start the sync", self.log)

    def kill_leftovers(self) -> None:
        if self.process is None:
            return
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    try:
        yield running
    finally:
        running.kill_leftovers()


@linux_only
def test_the_demo_listens_on_the_given_ports_and_a_sigterm_stops_all_of_it(demo: Demo) -> None:
    # An earlier run on the default port: its three health systems must move, not be joined by three more.
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        env = {k: v for k, v in demo.env.items() if k != "FHIR_SANDBOX_PORT"}
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
    assert {url.split("/")[2] for _, url in demo.sandbox_rows()} == {"127.0.0.1:8900"}

    script = demo.start()

    rows = demo.sandbox_rows()
    assert [name for name, _ in rows] == [
        "Lakeside Pediatrics",
        "Riverside Family Clinic",
        "St. Mary's Regional Hospital",
    ]
    assert {url.split("/")[2] for _, url in rows} == {f"127.0.0.1:{demo.sandbox_port}"}
    for _, url in rows:  # what "Connect" starts from: the sandbox answers SMART discovery there
        assert get_json(f"{url}/.well-known/smart-configuration")["authorization_endpoint"].startswith(demo.sandbox)
    config = json.loads((demo.var / "sandbox" / "config.json").read_text())
    assert (
        f"http://127.0.0.1:{demo.portal_port}/records/callback/" in config["systems"][0]["clients"][0]["redirect_uris"]
    )

    demo.start_a_slow_sync()
    started = demo.processes()
    script.send_signal(signal.SIGTERM)
    took = wait_until_gone(set(started), script.pid, STOP_SECONDS + 5)

    left = {pid: command for pid, (_, command) in demo.processes().items()}
    assert not left, f"still running {took:.1f} s after SIGTERM: {left}"
    assert took < STOP_SECONDS, f"stopping took {took:.1f} s\n{demo.log.read_text()[-3000:]}"
    assert script.wait(timeout=5) == 0


@linux_only
def test_a_sigterm_to_the_worker_alone_stops_it_within_seconds(demo: Demo) -> None:
    script = demo.start()
    demo.start_a_slow_sync()
    worker = next(
        pid
        for pid, (parent, command) in demo.processes().items()
        if parent == script.pid and "celery -A portal worker" in command
    )
    pool = {pid for pid, (parent, _) in demo.processes().items() if parent == worker}
    assert pool, "the prefork pool has no children"

    os.kill(worker, signal.SIGTERM)
    took = wait_until_gone({worker, *pool}, script.pid, STOP_SECONDS + 5)
    assert took < STOP_SECONDS, f"the worker took {took:.1f} s\n{demo.log.read_text()[-3000:]}"

    # The demo stops as a whole when one of its processes ends.
    took = wait_until_gone(set(demo.processes()), script.pid, STOP_SECONDS + 5)
    assert not demo.processes(), demo.processes()
    assert took < STOP_SECONDS
