"""The record's summary is light on the wire and makes no third-party request, with a full record behind it.

The record: two health systems over five years of visits (vital signs, lab panels, problems, medicines,
vaccines, notes), appointments to come, and records that arrived since the last visit, so every part of the
summary is filled to its limit. The page and every same-origin file it makes a browser fetch (stylesheet,
scripts, icons) must weigh under 60 KB gzipped (tests/page_weight.py says how it is counted).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from tests.conftest import World, sign_in
from tests.page_weight import foreign_urls, page_weight
from tests.records.record_data import condition, immunization, lab, medication, source_for, store

LIMIT_BYTES = 60 * 1000
VITALS = [
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 126),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]", 81),
    ("8867-4", "Heart rate", "/min", 72),
    ("29463-7", "Body weight", "kg", 82),
    ("39156-5", "Body mass index", "kg/m2", 27),
    ("8310-5", "Body temperature", "Cel", 36.8),
    ("59408-5", "Oxygen saturation", "%", 97),
    ("9279-1", "Respiratory rate", "/min", 15),
]
LABS = [
    ("4548-4", "Hemoglobin A1c", "%"),
    ("2345-7", "Glucose", "mg/dL"),
    ("2160-0", "Creatinine", "mg/dL"),
    ("2951-2", "Sodium", "mmol/L"),
    ("2823-3", "Potassium", "mmol/L"),
    ("2093-3", "Cholesterol, total", "mg/dL"),
    ("2085-9", "HDL cholesterol", "mg/dL"),
    ("13457-7", "LDL cholesterol", "mg/dL"),
    ("718-7", "Hemoglobin", "g/dL"),
    ("777-3", "Platelets", "10*3/uL"),
]


def a_full_record(world: World) -> int:
    """Alex's record from two health systems; returns how many resources it has."""
    start = datetime(2021, 6, 1, 9, 0, tzinfo=UTC)
    count = 0
    for number, label in enumerate(("Riverside Family Clinic", "St. Mary's Hospital")):
        source = source_for(world.patient_record, label)
        resources: list[dict[str, Any]] = []
        for visit in range(30):
            when = start + timedelta(days=60 * visit + number)
            moment = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            for code, display, unit, value in VITALS:
                resources.append(
                    lab(
                        f"v{visit}-{code}",
                        code=code,
                        display=display,
                        unit=unit,
                        value=value + visit % 5,
                        when=moment,
                        low=None,
                        high=None,
                        interpretation="",
                        category="vital-signs",
                    )
                )
            for code, display, unit in LABS:
                resources.append(lab(f"l{visit}-{code}", code=code, display=display, unit=unit, when=moment))
        for n in range(14):
            resources.append(condition(f"problem-{n}", f"Long-standing health problem number {n}", code=f"2000{n}"))
            resources.append(medication(f"medicine-{n}", f"Medicine number {n} 10 mg tablet"))
        for n in range(6):
            resources.append(immunization(f"flu-{n}", when=f"{2020 + n}-10-15"))
            resources.append(
                {
                    "resourceType": "AllergyIntolerance",
                    "id": f"allergy-{n}",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {"text": f"Allergy number {n}"},
                }
            )
            soon = timezone.now() + timedelta(days=7 + n)
            resources.append(
                {
                    "resourceType": "Appointment",
                    "id": f"appointment-{n}",
                    "status": "booked",
                    "description": f"Follow-up visit number {n}",
                    "start": soon.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            )
        store(source, *resources)
        count += len(resources)
    return count


def test_the_summary_weighs_under_60_kb_gzipped_with_everything_it_fetches(client: Client, world: World) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=7)):
        record_audit_event(action=AuditAction.LOGIN, user=world.user("patient"))  # the last visit
    assert a_full_record(world) > 1000  # arrived since the last visit: the "new" part is full too
    sign_in(client, world, "patient")

    weight = page_weight(client, reverse("records:summary"))

    html = client.get(reverse("records:summary")).content.decode()
    assert "Long-standing health problem number" in html
    assert "Follow-up visit number" in html
    assert "Heart rate" in html
    assert any(path.endswith(".css") for path in weight.files)
    assert any(path.endswith(".js") for path in weight.files)
    assert weight.total_gzip < LIMIT_BYTES, weight
    assert weight.foreign == [], weight.foreign  # no request to another host


def test_an_absolute_url_to_another_host_is_found() -> None:
    text = '<img src="https://cdn.example.com/x.png"><a href="//fonts.example.net/a.css">'
    text += '<svg xmlns="http://www.w3.org/2000/svg"></svg><a href="http://testserver/records/">'
    assert foreign_urls(text, "testserver") == ["https://cdn.example.com/x.png", "//fonts.example.net/a.css"]
