"""Medication orders and dispenses in real FHIR R4 shapes, and sources that make them refillable or not."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.models import Organization, Patient
from records.ingest import write_page
from records.models import FhirResource, HealthSystem, RecordSource, SourceKind

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LISINOPRIL = ("314076", "Lisinopril 10 MG Oral Tablet")
METFORMIN = ("861007", "Metformin 500 MG Oral Tablet")  # the medicine of world.refill (waiting)
ATORVASTATIN = ("617312", "Atorvastatin 40 MG Oral Tablet")


def clinic_source(patient: Patient, organization: Organization) -> RecordSource:
    """The patient's connection to the EHR of an organization on the platform: its orders are refillable there."""
    system, _created = HealthSystem.objects.get_or_create(
        fhir_base_url=f"https://fhir.{organization.slug}.example/r4",
        defaults={"name": f"{organization.name} EHR", "organization": organization},
    )
    source, _created = RecordSource.objects.get_or_create(
        patient=patient, kind=SourceKind.CONNECTION, health_system=system, defaults={"label": system.name}
    )
    return source


def upload_source(patient: Patient) -> RecordSource:
    source, _created = RecordSource.objects.get_or_create(
        patient=patient, kind=SourceKind.UPLOAD, label="My files", defaults={}
    )
    return source


def order(
    rid: str,
    medicine: tuple[str, str] = LISINOPRIL,
    *,
    authored: date | str = "2026-01-10",
    days: int | None = 30,
    quantity: int = 30,
    status: str = "active",
    security: str | None = None,
) -> dict[str, Any]:
    code, name = medicine
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": name}], "text": name},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": str(authored),
        "requester": {"display": "Dr. Casey Nguyen"},
        "dosageInstruction": [{"text": "1 tablet by mouth once a day"}],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": 2,
            "quantity": {"value": quantity, "unit": "tablets", "system": "http://unitsofmeasure.org", "code": "{tbl}"},
        },
    }
    if days is not None:
        resource["dispenseRequest"]["expectedSupplyDuration"] = {
            "value": days,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    if security:
        resource["meta"] = {"security": [{"code": security}]}
    return resource


def dispense(
    rid: str, medicine: tuple[str, str] = LISINOPRIL, *, handed_over: date, days: int = 30, status: str = "completed"
) -> dict[str, Any]:
    """A pharmacy's dispense, its medicine in a contained Medication (as in the FHIR examples)."""
    code, name = medicine
    return {
        "resourceType": "MedicationDispense",
        "id": rid,
        "contained": [
            {"resourceType": "Medication", "id": "med1", "code": {"coding": [{"system": RXNORM, "code": code}]}}
        ],
        "status": status,
        "medicationReference": {"reference": "#med1", "display": name},
        "subject": {"reference": "Patient/p1"},
        "quantity": {"value": days, "unit": "tablets"},
        "daysSupply": {"value": days, "unit": "Day", "system": "http://unitsofmeasure.org", "code": "d"},
        "whenPrepared": f"{handed_over.isoformat()}T10:00:00Z",
        "whenHandedOver": f"{handed_over.isoformat()}T15:00:00Z",
    }


def store(source: RecordSource, *resources: dict[str, Any]) -> list[FhirResource]:
    result = write_page(source, list(resources))
    assert not result.problems, result.problems
    return [FhirResource.objects.get(source=source, resource_id=r["id"]) for r in resources]
