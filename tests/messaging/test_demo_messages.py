"""The demo: Nurse Jordan's pool has waiting threads (one overdue) and a refill request from Rosa's record."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.demo import demo_patient
from fhir_sandbox.demo import main as write_demo_data
from messaging.models import Pool, RefillRequest, RefillStatus, Thread, ThreadStatus


@pytest.fixture
def demo(db: object, settings: Any, tmp_path: Path) -> Path:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    write_demo_data([str(tmp_path), "--redirect-uri", "http://127.0.0.1:8000/records/callback/"])
    return tmp_path


def test_jordans_pool_has_waiting_and_overdue_threads_and_rosas_refill(demo: Path) -> None:
    call_command("seed_demo_records", str(demo), stdout=StringIO())
    pool = Pool.objects.get(organization__slug="riverside", name="Diabetes care team")
    assert pool.members.filter(email="nurse@riverside.demo.test").exists()
    waiting = Thread.objects.filter(pool=pool, status=ThreadStatus.WAITING_ON_STAFF)
    assert waiting.count() >= 3
    assert waiting.filter(reply_due_at__lt=timezone.now()).exists()
    refill = RefillRequest.objects.get(patient=demo_patient("rosa"))
    assert refill.status == RefillStatus.SENT
    assert refill.medication_name
    assert refill.medication_key.startswith("rxnorm:")  # the key the refills page matches prescriptions by
    assert refill.requested_by.email == "caregiver@demo.test"
    assert refill.thread.pool == pool


def test_seeding_twice_adds_nothing(demo: Path) -> None:
    call_command("seed_demo_records", str(demo), stdout=StringIO())
    counts = (Thread.objects.count(), RefillRequest.objects.count(), Pool.objects.count())
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo_records", str(demo), stdout=StringIO())
    assert (Thread.objects.count(), RefillRequest.objects.count(), Pool.objects.count()) == counts
