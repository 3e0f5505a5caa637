"""Plain-language names for the kinds of records a health system shares (FHIR resource types), as people read them."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

RESOURCE_TYPE_LABELS: dict[str, Promise] = {
    "Patient": _("Personal details"),
    "Observation": _("Test results and measurements"),
    "DiagnosticReport": _("Test and imaging reports"),
    "MedicationRequest": _("Prescriptions"),
    "MedicationStatement": _("Medicines taken"),
    "MedicationDispense": _("Medicines from the pharmacy"),
    "Medication": _("Medicine details"),
    "AllergyIntolerance": _("Allergies"),
    "Condition": _("Health problems"),
    "Immunization": _("Vaccines"),
    "Encounter": _("Visits and stays"),
    "Procedure": _("Procedures"),
    "DocumentReference": _("Documents and notes"),
    "CarePlan": _("Care plans"),
    "Goal": _("Health goals"),
    "CareTeam": _("Care team"),
    "Coverage": _("Insurance"),
    "ExplanationOfBenefit": _("What the insurer paid"),
    "Claim": _("Claims"),
    "Appointment": _("Appointments"),
    "Device": _("Devices and implants"),
    "ImagingStudy": _("Imaging"),
    "Provenance": _("Where records came from"),
    "Practitioner": _("Clinicians"),
    "PractitionerRole": _("Clinicians' roles"),
    "Organization": _("Organizations"),
    "Location": _("Places of care"),
}


def resource_type_label(resource_type: str) -> str:
    """The kind's name in the active language; an unknown type keeps its own name rather than vanish."""
    label = RESOURCE_TYPE_LABELS.get(resource_type)
    return str(label) if label is not None else resource_type
