"""The import pipeline and the projections, on small hand-written resources."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from records.actions import import_fhir_file
from records.ingest import FileRejectedError, content_hash, read_fhir_file
from records.models import FhirResource, ImportIssue
from records.projections import project
from tests.conftest import World


def hba1c(value: float, *, rid: str = "a1c-1", when: str = "2026-10-01T09:00:00Z", **extra: object) -> dict:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}],
            "text": "HbA1c",
        },
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
        "referenceRange": [{"high": {"value": 5.6, "unit": "%"}}],
        **extra,
    }


def test_a_lab_result_projection() -> None:
    projection = project(hba1c(7.9))
    assert (projection.kind, projection.code_system, projection.code) == ("lab", "http://loinc.org", "4548-4")
    assert projection.display == "HbA1c"
    assert projection.value_number == 7.9
    assert projection.unit == "%"
    assert projection.ref_high == 5.6
    assert projection.abnormal is True
    assert project(hba1c(5.1)).abnormal is False
    assert project(hba1c(5.1, interpretation=[{"coding": [{"code": "H"}]}])).abnormal is True


def test_blood_pressure_components() -> None:
    projection = project(
        {
            "resourceType": "Observation",
            "id": "bp",
            "status": "final",
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}], "text": "Blood pressure"},
            "effectiveDateTime": "2026-01-02",
            "component": [
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                    "valueQuantity": {"value": 128, "unit": "mm[Hg]"},
                },
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                    "valueQuantity": {"value": 82, "unit": "mm[Hg]"},
                },
            ],
        }
    )
    assert projection.kind == "vital"
    assert projection.value_text == "128/82"
    assert projection.unit == "mm[Hg]"
    assert projection.effective_at is not None
    # A date without a time is that calendar day, kept at noon UTC so that it reads the same day everywhere.
    assert projection.effective_at.isoformat() == "2026-01-02T12:00:00+00:00"
    assert projection.details["date_precision"] == "day"


def test_partial_dates_keep_their_precision() -> None:
    assert project(hba1c(6.0, when="2026")).details["date_precision"] == "year"
    month = project(hba1c(6.0, when="2026-03"))
    assert month.details["date_precision"] == "month"
    assert month.effective_at.month == 3
    timed = project(hba1c(6.0, when="2026-03-04T08:30:00-05:00"))
    assert "date_precision" not in timed.details
    assert timed.effective_at.isoformat() == "2026-03-04T08:30:00-05:00"


def test_sensitivity_from_security_labels_and_categories() -> None:
    assert project(hba1c(6.0, meta={"security": [{"code": "R"}]})).sensitivity == "confidential"
    assert project(hba1c(6.0, meta={"security": [{"code": "HIV"}]})).sensitivity == "sensitive"
    condition = {
        "resourceType": "Condition",
        "id": "c",
        "category": [{"coding": [{"code": "behavioral-health"}]}],
        "code": {"text": "Anxiety"},
    }
    assert project(condition).sensitivity == "sensitive"
    assert project(hba1c(6.0)).sensitivity == "normal"


def test_medication_with_contained_medication_and_days_supply() -> None:
    projection = project(
        {
            "resourceType": "MedicationRequest",
            "id": "m",
            "status": "active",
            "authoredOn": "2026-11-01",
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "med",
                    "code": {
                        "coding": [
                            {
                                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                "code": "860975",
                                "display": "metformin 500 MG",
                            }
                        ]
                    },
                }
            ],
            "medicationReference": {"reference": "#med"},
            "dosageInstruction": [{"text": "1 tablet twice a day"}],
            "dispenseRequest": {"expectedSupplyDuration": {"value": 30, "unit": "days"}, "numberOfRepeatsAllowed": 3},
        }
    )
    assert (projection.kind, projection.code, projection.display) == ("medication", "860975", "metformin 500 MG")
    assert projection.details == {"days_supply": 30.0, "refills": 3, "date_precision": "day"}
    assert projection.value_text == "1 tablet twice a day"


def test_odd_shapes_never_raise() -> None:
    for resource in (
        {"resourceType": "Observation", "id": "x", "code": "not-a-concept", "valueQuantity": "7"},
        {"resourceType": "Encounter", "id": "y", "type": "wrong", "period": {"start": "not a date"}},
        {"resourceType": "Questionnaire", "id": "z"},
    ):
        assert project(resource).kind


def test_hash_ignores_version_and_last_updated() -> None:
    resource = hba1c(7.0)
    assert content_hash(
        {**resource, "meta": {"versionId": "2", "lastUpdated": "2026-01-01T00:00:00Z"}}
    ) == content_hash({**resource, "meta": {"versionId": "9"}})
    assert content_hash(resource) != content_hash(hba1c(7.1))


def test_import_counts_changes_and_skips_bad_resources(world: World) -> None:
    patient = world.patient_record
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": {"resourceType": "Patient", "name": [{"family": "Rivera", "given": ["Alex"]}]},
            },
            {"resource": hba1c(7.9, subject={"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"})},
            {"resource": {"resourceType": "Observation", "id": "bad id with spaces"}},
            {"resource": "not an object"},
        ],
    }
    run = import_fhir_file(patient=patient, data=json.dumps(bundle).encode(), filename="labs.json")
    assert (run.new, run.changed, run.unchanged, run.failed) == (2, 0, 0, 2)
    assert ImportIssue.objects.filter(run=run).count() == 2
    stored = FhirResource.objects.get(resource_type="Observation", patient=patient)
    assert stored.raw["subject"]["reference"] == "Patient/11111111-1111-1111-1111-111111111111"
    assert stored.display == "HbA1c"

    bundle["entry"][1]["resource"] = hba1c(8.2)
    again = import_fhir_file(patient=patient, data=json.dumps(bundle).encode(), filename="labs.json")
    assert (again.new, again.changed, again.unchanged, again.failed) == (0, 1, 1, 2)
    stored.refresh_from_db()
    assert stored.value_number == 8.2


def test_ndjson(world: World) -> None:
    lines = "\n".join(json.dumps(hba1c(6.0 + n / 10, rid=f"a1c-{n}")) for n in range(3)) + "\n{broken\n"
    run = import_fhir_file(patient=world.patient_record, data=lines.encode(), filename="export.ndjson")
    assert (run.new, run.failed) == (3, 1)
    assert "Line 4 is not valid JSON" in ImportIssue.objects.get(run=run).message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"{oops", r"not valid JSON \(line 1"),
        (b'{"hello": "world"}', "not a FHIR resource"),
    ],
)
def test_files_that_are_not_fhir_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(FileRejectedError, match=message):
        read_fhir_file(data)


def test_import_fhir_command(world: World, tmp_path: object) -> None:
    path = tmp_path / "obs.json"
    path.write_text(json.dumps(hba1c(7.0)))
    out = StringIO()
    call_command("import_fhir", "--patient", "patient@example.test", str(path), stdout=out)
    assert "1 new, 0 changed, 0 unchanged, 0 failed" in out.getvalue()
    call_command("import_fhir", "--patient", str(world.patient_record.pk), str(path), stdout=out)
    assert "0 new, 0 changed, 1 unchanged" in out.getvalue()
    with pytest.raises(CommandError, match="No patient"):
        call_command("import_fhir", "--patient", "nobody@example.test", str(path))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(CommandError, match="1 of 1 files"):
        call_command("import_fhir", "--patient", "patient@example.test", str(bad), stderr=StringIO())
