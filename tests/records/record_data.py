"""Small FHIR resources for the record pages' tests, written through the real ingest path (write_page)."""

from __future__ import annotations

from typing import Any

from accounts.models import Patient
from records.ingest import write_page
from records.models import RecordSource, SourceKind
from records.projections import CVX, LOINC, SNOMED


def source_for(patient: Patient, label: str) -> RecordSource:
    return RecordSource.objects.create(patient=patient, kind=SourceKind.UPLOAD, label=label)


def lab(
    rid: str,
    *,
    code: str = "4548-4",
    display: str = "Hemoglobin A1c",
    value: float | None = 7.9,
    unit: str = "%",
    when: str = "2026-10-01T09:00:00Z",
    low: float | None = 4.0,
    high: float | None = 5.6,
    interpretation: str = "H",
    status: str = "final",
    security: str = "",
    category: str = "laboratory",
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "category": [{"coding": [{"code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "effectiveDateTime": when,
        **extra,
    }
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit}
    if low is not None or high is not None:
        bounds: dict[str, Any] = {}
        if low is not None:
            bounds["low"] = {"value": low, "unit": unit}
        if high is not None:
            bounds["high"] = {"value": high, "unit": unit}
        resource["referenceRange"] = [bounds]
    if interpretation:
        resource["interpretation"] = [{"coding": [{"code": interpretation}]}]
    if security:
        resource["meta"] = {"security": [{"code": security}]}
    return resource


def condition(
    rid: str, display: str, *, code: str = "46635009", status: str = "active", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display},
        "onsetDateTime": "2010-05-01",
        **extra,
    }


def immunization(rid: str, *, cvx: str = "140", display: str = "Influenza vaccine", when: str = "2025-10-15") -> dict:
    return {
        "resourceType": "Immunization",
        "id": rid,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": CVX, "code": cvx, "display": display}], "text": display},
        "occurrenceDateTime": when,
    }


def medication(rid: str, display: str = "Insulin glargine", *, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"text": display},
        "authoredOn": "2026-01-10",
        "requester": {"display": "Dr. Casey Nguyen"},
        "dosageInstruction": [{"text": "10 units at bedtime"}],
    }


def store(source: RecordSource, *resources: dict[str, Any]) -> None:
    result = write_page(source, list(resources))
    assert not result.problems, result.problems
