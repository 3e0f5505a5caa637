"""Messages under load with the broker down: 200 sent at once through the API, every one stored once, every
notice sent once.

What runs: a database of its own (portal_bench_outbox, made anew), a Redis of its own as the Celery broker
(port BENCH_BROKER_PORT, so the machine's Redis and cache are never touched), gunicorn (4 workers) serving
the portal, a Celery worker and beat (the outbox swept every 2 s), and email written to files.

The run: 50 caregivers, each acting for a parent who has a login of their own, send 4 messages each (200)
through POST /api/v1/patients/<id>/messages/ from 32 threads at once, each request sent twice with the same
Idempotency-Key (a client's retry). A third of the way in the broker is shut down; two thirds in it starts
again. Each message tells its patient by email ("You have a new message"), through the outbox.

Checked: 200 messages stored (one per key), 200 notices, each sent once (sent_at set), exactly 200 emails,
one per notice; no request failed. Printed as figures; the exit status is 1 when a check fails.

Run alone: DATABASE_URL=postgres://root@127.0.0.1:5432/portal_bench .venv/bin/python bench/message_outbox.py
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "portal_bench_outbox"
CAREGIVERS = 50
PER_CAREGIVER = 4
MESSAGES = CAREGIVERS * PER_CAREGIVER
CONCURRENCY = 32
BROKER_PORT = int(os.environ.get("BENCH_BROKER_PORT", "6391"))
DELIVERY_TIMEOUT = 120.0
CELERY = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-B", "--concurrency=2", "-Q", "celery,audit"]


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is needed (Debian package redis-server).")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"Timed out waiting for {what}.")


def broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", BROKER_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def start_broker() -> None:
    options = ["--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(BROKER_PORT), "--save", ""]
    subprocess.run(
        [_program("redis-server"), *options, "--appendonly", "no"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wait_for(broker_up, 10, "the broker to start")


def stop_broker() -> None:
    subprocess.run(
        [_program("redis-cli"), "-p", str(BROKER_PORT), "shutdown", "nosave"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: not broker_up(), 10, "the broker to stop")


def environment(mail_dir: Path, url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
            "FIELD_ENCRYPTION_KEYS": "Vu1Ai6fBHV4u4dh4QmJ1Wt4ZKcU9zlDqGwY2wgmr0qY=",
            "AUDIT_CHECKPOINT_KEY": "bench-only-audit-key",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": url,
            "REDIS_URL": "",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{BROKER_PORT}/0",
            "EMAIL_URL": f"filemail:///{mail_dir}",  # environ drops one slash: an absolute path needs four
            "NOTICE_SWEEP_SECONDS": "2",
            "HTTPS": "0",
            "API_THROTTLE_FLOOD": "100000/min",
            "API_THROTTLE_USER": "100000/min",
            "PORTAL_VAR_DIR": str(mail_dir.parent / "var"),
            # Required with DEBUG off; nothing here pays (the processor is never called).
            "PAYMENT_API_KEY": "sk_test_bench_only",
            "PAYMENT_WEBHOOK_SECRET": "whsec_bench_only",
        }
    )
    return env


def prepare_database(url: str) -> None:
    import psycopg2

    connection = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    connection.close()


def seed(env: dict[str, str]) -> list[dict[str, str]]:
    """The people, in a child process with the run's settings: returns each caregiver's token and patient."""
    script = f"""
import json, django
django.setup()
from datetime import timedelta
from django.utils import timezone
from accounts.actors import Scope
from accounts.models import Enrollment, Organization, Patient, User
from accounts.models.audit import Basis
from accounts.models.tokens import digest_token, new_token
from accounts.models import ApiToken
from messaging.models import Pool
from proxy.models import GrantStatus, ProxyGrant
clinic = Organization.objects.create(name="Bench Clinic", slug="bench-clinic")
pool = Pool.objects.create(organization=clinic, name="Bench care team")
people = []
for n in range({CAREGIVERS}):
    parent_user = User.objects.create_user(email=f"parent{{n}}@bench.test", password=None, full_name=f"Parent {{n}}")
    parent = Patient.objects.create(user=parent_user, given_name="Parent", family_name=str(n), birth_date="1950-01-01")
    Enrollment.objects.create(patient=parent, organization=clinic, mrn=f"B{{n:05d}}")
    helper = User.objects.create_user(email=f"helper{{n}}@bench.test", password=None, full_name=f"Helper {{n}}")
    ProxyGrant.objects.create(grantee=helper, patient=parent, legal_basis=Basis.POWER_OF_ATTORNEY,
        scopes=sorted(Scope.ALL), status=GrantStatus.ACTIVE, starts_at=timezone.now() - timedelta(days=1))
    token = new_token()
    ApiToken.objects.create(user=helper, name="bench", digest=digest_token(token))
    people.append({{"token": token, "patient": str(parent.pk), "pool": pool.pk}})
print(json.dumps(people))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


def post(base: str, person: dict[str, str], key: str, number: int) -> tuple[int, float]:
    body = json.dumps(
        {"care_team": person["pool"], "topic": "care", "subject": f"Question {number}", "body": f"Message {number}"}
    ).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/patients/{person['patient']}/messages/",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {person['token']}",
            "Acting-For": person["patient"],
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, (time.perf_counter() - started) * 1000


def count_emails(mail_dir: Path) -> list[str]:
    """The recipients of every email written (the file backend appends each message to a .log file)."""
    recipients: list[str] = []
    for path in mail_dir.glob("*.log"):
        recipients += [line[4:].strip() for line in path.read_text().splitlines() if line.startswith("To: ")]
    return recipients


def check(env: dict[str, str]) -> dict[str, Any]:
    script = """
import json, django
django.setup()
from django.db.models import Count
from messaging.models import Message, Notice
keys = Message.objects.exclude(idempotency_key=None).values("idempotency_key").annotate(n=Count("pk"))
print(json.dumps({
    "messages": Message.objects.count(),
    "keys_stored_twice": sum(1 for row in keys if row["n"] > 1),
    "notices": Notice.objects.count(),
    "notices_sent": Notice.objects.filter(sent_at__isnull=False).count(),
    "notice_attempts_max": max([n.attempts for n in Notice.objects.all()] or [0]),
}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/portal_bench")
    if not base_url.startswith("postgres"):
        raise SystemExit("The outbox benchmark needs Postgres: set DATABASE_URL=postgres://…")
    url = base_url.rsplit("/", 1)[0] + "/" + DATABASE
    work = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    mail_dir = work / "mail"
    mail_dir.mkdir()
    env = environment(mail_dir, url)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        prepare_database(url)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
        people = seed(env)
        start_broker()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        logs = open(work / "services.log", "wb")  # noqa: SIM115  (closed with the processes)
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "portal.wsgi", "-w", "4", "-b", f"127.0.0.1:{port}"],
                env=env,
                cwd=ROOT,
                stdout=logs,
                stderr=logs,
            )
        )
        processes.append(
            subprocess.Popen(
                [*CELERY, "-s", str(work / "beat-schedule")],
                env=env,
                cwd=ROOT,
                stdout=logs,
                stderr=logs,
            )
        )
        wait_for(lambda: _up(base), 60, "gunicorn")
        jobs = [(people[n % CAREGIVERS], str(uuid.uuid4()), n) for n in range(MESSAGES)]
        done = 0
        lock = threading.Lock()
        broker_events: list[str] = []

        def send(job: tuple[dict[str, str], str, int]) -> list[tuple[int, float]]:
            nonlocal done
            person, key, number = job
            answers = [post(base, person, key, number), post(base, person, key, number)]  # a client's retry
            with lock:
                done += 1
                if done == MESSAGES // 3:
                    stop_broker()
                    broker_events.append(f"broker stopped after {done} messages")
                elif done == 2 * MESSAGES // 3:
                    start_broker()
                    broker_events.append(f"broker started again after {done} messages")
            return answers

        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            answers = [answer for pair in pool.map(send, jobs) for answer in pair]
        sending_seconds = time.perf_counter() - started
        if not broker_up():
            start_broker()
        wait_for(lambda: len(count_emails(mail_dir)) >= MESSAGES, DELIVERY_TIMEOUT, "every notice to be sent")
        time.sleep(5)  # two more sweeps: anything sent twice would show now
        figures = check(env)
        emails = count_emails(mail_dir)
        statuses: dict[str, int] = {}
        for status, _ms in answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        timings = sorted(ms for _status, ms in answers)
        figures.update(
            {
                "requests": len(answers),
                "statuses": statuses,
                "emails": len(emails),
                # Each parent is told once per message written for them: PER_CAREGIVER emails each, no more.
                "recipients_with_other_than_one_email_per_message": sum(
                    1 for person in set(emails) if emails.count(person) != PER_CAREGIVER
                ),
                "sending_seconds": round(sending_seconds, 1),
                "request_p50_ms": round(statistics.median(timings), 1),
                "request_p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 1),
                "broker": broker_events,
            }
        )
        print(json.dumps(figures, indent=2))
        failures = []
        if figures["messages"] != MESSAGES or figures["keys_stored_twice"]:
            failures.append("messages not stored exactly once")
        if figures["notices"] != MESSAGES or figures["notices_sent"] != MESSAGES:
            failures.append("notices missing or unsent")
        if figures["emails"] != MESSAGES or figures["recipients_with_other_than_one_email_per_message"]:
            failures.append(f"{figures['emails']} emails for {MESSAGES} notices")
        if set(statuses) - {"201", "200"}:
            failures.append(f"requests failed: {statuses}")
        print("OUTBOX: " + ("MET" if not failures else "FAILED: " + "; ".join(failures)))
        if failures:
            raise SystemExit(1)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if broker_up():
            stop_broker()
        shutil.rmtree(work, ignore_errors=True)


def _up(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    main()
