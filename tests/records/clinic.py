"""A test health system: the FHIR sandbox playing one clinic with two patients (one of them synced)."""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fhir_sandbox.server import RunningSandbox, start

PATIENT = "pat-1"
EXPECTED = {
    "Patient": 1,
    "Observation": 130,
    "Condition": 10,
    "MedicationRequest": 5,
    "MedicationDispense": 5,
    "Encounter": 3,
}
TOTAL = sum(EXPECTED.values())


def write_data(folder: Path) -> None:
    def entry(resource: dict[str, Any]) -> dict[str, Any]:
        return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}

    def subject(patient: str) -> dict[str, str]:
        return {"reference": f"Patient/{patient}"}

    resources: list[dict[str, Any]] = []
    for patient, scale in ((PATIENT, 1), ("pat-2", 0.2)):
        resources.append(
            {
                "resourceType": "Patient",
                "id": patient,
                "name": [{"family": "Sync", "given": [patient]}],
                "birthDate": "1960-01-01",
            }
        )
        for n in range(int(130 * scale)):
            resources.append(
                {
                    "resourceType": "Observation",
                    "id": f"{patient}-obs-{n}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "HbA1c"},
                    "subject": subject(patient),
                    "effectiveDateTime": f"20{10 + n % 15:02d}-03-01",
                    "valueQuantity": {"value": 5 + (n % 30) / 10, "unit": "%"},
                }
            )
        for n in range(int(10 * scale)):
            resources.append(
                {
                    "resourceType": "Condition",
                    "id": f"{patient}-cond-{n}",
                    "subject": subject(patient),
                    "code": {"text": f"Condition {n}"},
                }
            )
        for n in range(int(5 * scale)):
            resources.append(
                {
                    "resourceType": "MedicationRequest",
                    "id": f"{patient}-med-{n}",
                    "status": "active",
                    "intent": "order",
                    "subject": subject(patient),
                    "medicationCodeableConcept": {"text": f"Medicine {n}"},
                }
            )
        for n in range(int(5 * scale)):
            resources.append(
                {
                    "resourceType": "MedicationDispense",
                    "id": f"{patient}-dispense-{n}",
                    "status": "completed",
                    "subject": subject(patient),
                    "medicationCodeableConcept": {"text": f"Medicine {n}"},
                    "authorizingPrescription": [{"reference": f"MedicationRequest/{patient}-med-{n}"}],
                    "daysSupply": {"value": 30, "unit": "Day", "system": "http://unitsofmeasure.org", "code": "d"},
                    "whenHandedOver": "2026-11-01T15:00:00Z",
                }
            )
        for n in range(int(3 * scale)):
            resources.append(
                {
                    "resourceType": "Encounter",
                    "id": f"{patient}-enc-{n}",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": subject(patient),
                }
            )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [entry(r) for r in resources]}
    folder.mkdir()
    path = folder / "data.json"
    path.write_text(json.dumps(bundle))
    os.utime(path, (1704067200, 1704067200))  # the sandbox dates resources by their file: 2024-01-01


def clinic_sandbox(
    folder: Path, *, redirect_uri: str = "http://testserver/records/callback/"
) -> AbstractContextManager[RunningSandbox]:
    """The sandbox serving write_data's clinic under the prefix "clinic", client "portal-test"."""
    write_data(folder / "clinic")
    return start(
        {
            "systems": [
                {
                    "prefix": "clinic",
                    "name": "Test Clinic EHR",
                    "data": str(folder / "clinic"),
                    "clients": [{"client_id": "portal-test", "redirect_uris": [redirect_uri]}],
                }
            ]
        }
    )
