"""No double booking, through the API against gunicorn on Postgres: 50 people ask for the same time at once;
exactly one gets it, the 49 others are told it was just taken, with the nearest free times."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from scheduling.models import Appointment
from scheduling.selectors import first_available
from tests.conftest import create_token_for
from tests.scheduling.clinic import Clinic, make_clinic

REPO = Path(__file__).resolve().parents[2]
PEOPLE = 50

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the race is decided by Postgres's constraint"),
    pytest.mark.django_db(transaction=True),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def gunicorn() -> Iterator[str]:
    """The portal under gunicorn (2 workers, 16 threads each), on the test database."""
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url}
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "16", "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=10).read()
                break
            except OSError as error:  # not listening yet, or still loading Django (a timeout)
                if process.poll() is not None or time.monotonic() > deadline:
                    problem = process.stderr.read().decode() if process.stderr else "gunicorn did not start"
                    raise RuntimeError(problem) from error
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_fifty_people_racing_for_one_time_book_exactly_one(gunicorn: str) -> None:
    clinic: Clinic = make_clinic()
    people = []
    for _ in range(PEOPLE):
        patient, actor = clinic.another_patient()
        _row, token = create_token_for(actor.user)
        people.append((patient, token))
    now = timezone.now()
    (slot,) = first_available(clinic.checkup, now=now + timedelta(days=1), count=1, provider=clinic.doctor)
    body = json.dumps(
        {
            "visit_type": clinic.checkup.pk,
            "provider": clinic.doctor.pk,
            "starts": slot.starts_at.isoformat(),
            "mode": "in_person",
            "location": clinic.location.pk,
        }
    ).encode()
    start = threading.Barrier(PEOPLE)
    answers: list[tuple[int, Any]] = []

    def ask(patient: Any, token: str) -> None:
        request = urllib.request.Request(
            f"{gunicorn}/api/v1/patients/{patient.pk}/appointments/",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answers.append((response.status, response.read()))
        except urllib.error.HTTPError as error:
            answers.append((error.code, error.read()))

    threads = [threading.Thread(target=ask, args=person) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(code for code, _body in answers)
    assert statuses == [201] + [409] * (PEOPLE - 1), statuses
    for code, payload in answers:
        if code == 409:
            assert b"just taken" in payload
            assert b'"alternatives":[{' in payload.replace(b" ", b"")
    assert Appointment.objects.filter(starts_at=slot.starts_at, provider=clinic.doctor).count() == 1
