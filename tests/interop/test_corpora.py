"""Every Synthea bundle and every HL7 example imports without a crash, with exact counts, and idempotently."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Patient
from records.actions import import_fhir_file
from records.models import FhirResource, ImportRun, RecordSource
from tests.factories import PatientFactory
from tests.shared_data import SHARED, shared_folder

SYNTHEA_REFERENCE = ("hospitalInformation", "practitionerInformation")


def expected_resources(document: dict[str, Any]) -> dict[tuple[str, str], None]:
    """What a file holds, counted independently of the importer: (type, id or fullUrl), in order."""
    found: dict[tuple[str, str], None] = {}
    if document.get("resourceType") != "Bundle":
        found[(document["resourceType"], document.get("id", ""))] = None
        return found
    for entry in document.get("entry") or []:
        resource = entry.get("resource")
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            key = resource.get("id") or entry.get("fullUrl", "").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            found[(resource["resourceType"], key)] = None
    return found


def assert_imported(patient: Patient, path: Path, label: str) -> ImportRun:
    data = path.read_bytes()
    document = json.loads(data)
    expected = expected_resources(document)
    run = import_fhir_file(patient=patient, data=data, filename=path.name, label=label)
    assert run.failed == 0, list(run.issues.values_list("message", flat=True)[:5])
    assert run.new + run.changed + run.unchanged == len(expected), path.name
    source = RecordSource.objects.get(patient=patient, label=label)
    by_type = Counter(kind for kind, _ in expected)
    for kind, count in by_type.items():
        ids = [rid for k, rid in expected if k == kind]
        stored = FhirResource.objects.filter(source=source, resource_type=kind, resource_id__in=ids).count()
        assert stored == count, f"{path.name}: {kind} {stored} stored, {count} in the file"
    again = import_fhir_file(patient=patient, data=data, filename=path.name, label=label)
    assert (again.new, again.changed, again.failed) == (0, 0, 0), path.name
    assert again.unchanged == len(expected)
    return run


def synthea_files() -> list[Path]:
    folder = SHARED / "synthea"
    if not folder.is_dir():
        return [Path("synthea-absent")]
    return sorted(p for p in folder.rglob("*.json") if not p.name.startswith(SYNTHEA_REFERENCE))


@pytest.mark.parametrize("path", synthea_files(), ids=lambda p: p.name[:40])
def test_synthea_patient_bundle(db: object, path: Path) -> None:
    folder = shared_folder("synthea")
    patient = PatientFactory()
    label = "Synthea"
    if "google-fhir-data-pipes" in str(path):
        # These bundles point at shared practitioners and organizations by identifier (conditional references).
        for reference in sorted((folder / "google-fhir-data-pipes-synthea-hiv").glob("*Information*.json")):
            import_fhir_file(patient=patient, data=reference.read_bytes(), filename=reference.name, label=label)
    assert_imported(patient, path, label)
    if "google-fhir-data-pipes" in str(path):
        encounter = FhirResource.objects.filter(patient=patient, resource_type="Encounter").first()
        assert encounter is not None
        references = json.dumps(encounter.raw)
        assert "?identifier=" not in references, "conditional references are resolved"


def test_every_hl7_example(db: object) -> None:
    folder = shared_folder("examples")
    patient = PatientFactory()
    files = sorted(folder.glob("*.json"))
    assert len(files) > 400  # the manifest lists every HL7 example copied here
    for path in files:
        assert_imported(patient, path, label=path.stem[:200])
