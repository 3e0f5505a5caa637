"""The demo family's health records as FHIR R4 collection Bundles, and a sandbox config that serves them.

    python -m fhir_sandbox.demo FOLDER --redirect-uri URI [--redirect-uri URI ...] [--today YYYY-MM-DD]

writes `FOLDER/<prefix>/<patient id>.json` (one Bundle per patient per health system)
and `FOLDER/config.json`, then prints the config's path. Start the sandbox with
`python -m fhir_sandbox --config FOLDER/config.json`.

The people are those of the portal's demo (accounts/demo.py, DESIGN.md): Rosa Lopez
(78) at Riverside Family Clinic and St. Mary's Regional Hospital, Leo Lopez (13) at
Lakeside Pediatrics, Alex Rivera (34) at Riverside and St. Mary's, Maria Lopez (46)
at Riverside. Dates are counted back from `today`, so the demo always looks current:
Rosa's newest HbA1c is a few days old, her metformin runs out on the coming Friday,
Leo's appointment is on the coming Thursday.

Deterministic: each chart draws from its own random.Random with a fixed seed, ids are
readable and fixed (`rosa-a1c-2026-11-18`), and JSON is written with sorted keys, so the
same `today` and redirect URIs give byte-identical files. Every resource's
meta.lastUpdated is its clinical date at 12:00Z (never later than yesterday), so
incremental sync by `_lastUpdated` behaves as it would against a real system.
Standard library only, like the rest of the sandbox.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

Resource = dict[str, Any]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
NPI = "http://hl7.org/fhir/sid/us-npi"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYER_TYPE = "https://nahdo.org/sopt"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
# No standard CodeSystem carries "mental-health" for a Condition's category; the clinic uses its own.
LOCAL_CATEGORY = "http://riverside.example/fhir/CodeSystem/condition-category"

CLIENT_ID = "portal-dev"
ACCESS_TOKEN_SECONDS = 600


class Code(NamedTuple):
    system: str
    code: str
    display: str
    text: str = ""

    def concept(self) -> dict[str, Any]:
        return {
            "coding": [{"system": self.system, "code": self.code, "display": self.display}],
            "text": self.text or self.display,
        }


class Lab(NamedTuple):
    """An observation code with its UCUM unit, reference range and decimals."""

    code: Code
    unit: str
    low: float | None = None
    high: float | None = None
    decimals: int = 1


# Observations ------------------------------------------------------------------------------------------
A1C = Lab(Code(LOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "Hemoglobin A1c"), "%", None, 5.7)
GLUCOSE = Lab(Code(LOINC, "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "Glucose"), "mg/dL", 70, 99, 0)
CHOLESTEROL = Lab(
    Code(LOINC, "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "Total cholesterol"), "mg/dL", None, 200, 0
)
HDL = Lab(
    Code(LOINC, "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "HDL cholesterol"),
    "mg/dL",
    40,
    None,
    0,
)
LDL = Lab(
    Code(LOINC, "13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", "LDL cholesterol"),
    "mg/dL",
    None,
    100,
    0,
)
CREATININE = Lab(
    Code(LOINC, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Creatinine"), "mg/dL", 0.5, 1.1, 2
)
EGFR = Lab(
    Code(
        LOINC,
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by "
        "Creatinine-based formula (CKD-EPI 2021)",
        "eGFR (kidney function)",
    ),
    "mL/min/{1.73_m2}",
    60,
    None,
    0,
)
SODIUM = Lab(Code(LOINC, "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Sodium"), "mmol/L", 135, 145, 0)
POTASSIUM = Lab(
    Code(LOINC, "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Potassium"), "mmol/L", 3.5, 5.1, 1
)
WBC = Lab(
    Code(LOINC, "6690-2", "Leukocytes [#/volume] in Blood by Automated count", "White blood cell count"),
    "10*3/uL",
    4.0,
    11.0,
    1,
)
UACR = Lab(
    Code(LOINC, "9318-7", "Albumin/Creatinine [Mass Ratio] in Urine", "Urine albumin/creatinine ratio"),
    "mg/g",
    None,
    30,
    0,
)
WEIGHT = Lab(Code(LOINC, "29463-7", "Body weight", "Weight"), "kg")
HEIGHT = Lab(Code(LOINC, "8302-2", "Body height", "Height"), "cm")
BMI = Lab(Code(LOINC, "39156-5", "Body mass index (BMI) [Ratio]", "BMI"), "kg/m2")
HEART_RATE = Lab(Code(LOINC, "8867-4", "Heart rate", "Heart rate"), "/min", 60, 100, 0)
TEMPERATURE = Lab(Code(LOINC, "8310-5", "Body temperature", "Temperature"), "Cel", 36.1, 37.9, 1)
RESPIRATORY_RATE = Lab(Code(LOINC, "9279-1", "Respiratory rate", "Breathing rate"), "/min", 12, 20, 0)
OXYGEN = Lab(
    Code(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "Oxygen saturation"),
    "%",
    94,
    None,
    0,
)
BP_PANEL = Code(LOINC, "85354-9", "Blood pressure panel with all children optional", "Blood pressure")
SYSTOLIC = Code(LOINC, "8480-6", "Systolic blood pressure")
DIASTOLIC = Code(LOINC, "8462-4", "Diastolic blood pressure")
LIPID_PANEL = Code(LOINC, "24331-1", "Lipid 1996 panel - Serum or Plasma", "Lipid panel")
BASIC_PANEL = Code(LOINC, "51990-0", "Basic metabolic panel - Blood", "Basic metabolic panel")

# Documents and imaging -----------------------------------------------------------------------------------
PROGRESS_NOTE = Code(LOINC, "11506-3", "Progress note")
DISCHARGE_SUMMARY = Code(LOINC, "18842-5", "Discharge summary")
ED_NOTE = Code(LOINC, "34111-5", "Emergency department Note")
CHEST_XRAY = Code(LOINC, "36643-5", "XR Chest 2 Views", "Chest X-ray")
MAMMOGRAM = Code(LOINC, "24606-6", "MG Breast Screening", "Screening mammogram")

# Problems, allergies, medicines, vaccines -----------------------------------------------------------------
DIABETES_2 = Code(SNOMED, "44054006", "Diabetes mellitus type 2", "Type 2 diabetes")
DIABETES_1 = Code(SNOMED, "46635009", "Diabetes mellitus type 1", "Type 1 diabetes")
HYPERTENSION = Code(SNOMED, "38341003", "Hypertensive disorder, systemic arterial", "High blood pressure")
HYPERLIPIDEMIA = Code(SNOMED, "55822004", "Hyperlipidemia", "High cholesterol")
DEMENTIA = Code(SNOMED, "52448006", "Dementia", "Dementia, early stage")
PNEUMONIA = Code(SNOMED, "233604007", "Pneumonia", "Pneumonia (right lower lobe)")
HYPOGLYCEMIA = Code(SNOMED, "302866003", "Hypoglycemia", "Low blood sugar (hypoglycemia)")
ASTHMA = Code(SNOMED, "195967001", "Asthma")
ANXIETY = Code(SNOMED, "48694002", "Anxiety", "Anxiety")
PENICILLIN = Code(RXNORM, "7980", "Penicillin G", "Penicillin")
PEANUT = Code(SNOMED, "762952008", "Peanut (substance)", "Peanuts")
HIVES = Code(SNOMED, "247472004", "Wheal", "Hives")
ANAPHYLAXIS = Code(SNOMED, "39579001", "Anaphylaxis")
SKIN_RASH = Code(SNOMED, "271807003", "Eruption of skin", "Rash")
METFORMIN = Code(RXNORM, "860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "Metformin ER")
LISINOPRIL = Code(RXNORM, "314076", "lisinopril 10 MG Oral Tablet", "Lisinopril")
DONEPEZIL = Code(RXNORM, "997223", "donepezil hydrochloride 10 MG Oral Tablet", "Donepezil")
ALBUTEROL = Code(RXNORM, "745678", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "Albuterol inhaler")
GLARGINE = Code(RXNORM, "285018", "Lantus 100 UNT/ML Injectable Solution", "Insulin glargine (long-acting)")
LISPRO = Code(RXNORM, "311041", "insulin lispro 100 UNT/ML Injectable Solution", "Insulin lispro (mealtime)")
FLU = Code(CVX, "158", "influenza, injectable, quadrivalent, contains preservative", "Flu vaccine")
PNEUMOCOCCAL = Code(CVX, "33", "pneumococcal polysaccharide vaccine, 23 valent", "Pneumococcal vaccine (PPSV23)")
COVID_MRNA = Code(CVX, "208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, 30 mcg/0.3mL", "COVID-19")
COVID = Code(CVX, "213", "SARS-COV-2 (COVID-19) vaccine, UNSPECIFIED FORMULATION", "COVID-19 booster")
SHINGLES = Code(CVX, "187", "zoster vaccine recombinant", "Shingles vaccine")
DTAP = Code(CVX, "20", "DTaP", "DTaP (diphtheria, tetanus, whooping cough)")
IPV = Code(CVX, "10", "IPV", "Polio (IPV)")
MMR = Code(CVX, "03", "MMR", "MMR (measles, mumps, rubella)")
VARICELLA = Code(CVX, "21", "varicella", "Chickenpox (varicella)")
HPV = Code(CVX, "62", "HPV, quadrivalent", "HPV")
MENACWY = Code(CVX, "114", "meningococcal MCV4P", "Meningococcal (MenACWY)")
TDAP = Code(CVX, "115", "Tdap", "Tdap (tetanus, diphtheria, whooping cough)")

# Visits -------------------------------------------------------------------------------------------------
FOLLOW_UP = Code(SNOMED, "390906007", "Follow-up encounter", "Follow-up visit")
CHECK_UP = Code(SNOMED, "162673000", "General examination of patient", "Annual physical")
WELL_CHILD = Code(SNOMED, "410620009", "Well child visit", "Well-child visit")
ADMISSION = Code(SNOMED, "32485007", "Hospital admission", "Hospital stay")
EMERGENCY = Code(SNOMED, "50849002", "Emergency room admission", "Emergency visit")
OFFICE_VISIT = Code(CPT, "99214", "Office or other outpatient visit, established patient, moderate")
PREVENTIVE_ADULT = Code(CPT, "99396", "Preventive medicine visit, established patient, 40-64 years")
PREVENTIVE_CHILD = (
    Code(CPT, "99391", "Preventive medicine visit, established patient, infant (under 1 year)"),
    Code(CPT, "99392", "Preventive medicine visit, established patient, 1-4 years"),
    Code(CPT, "99393", "Preventive medicine visit, established patient, 5-11 years"),
    Code(CPT, "99394", "Preventive medicine visit, established patient, 12-17 years"),
)
ED_VISIT = Code(CPT, "99284", "Emergency department visit, moderate")
MAMMOGRAM_CPT = Code(CPT, "77067", "Screening mammography, bilateral")

# Boys' median length/height (cm) and weight (kg) by age in months, roughly the CDC/WHO charts.
GROWTH = (
    (0, 49.9, 3.3),
    (2, 58.4, 5.6),
    (4, 63.9, 7.0),
    (6, 67.6, 7.9),
    (9, 72.0, 8.9),
    (12, 75.7, 9.6),
    (15, 79.1, 10.3),
    (18, 82.3, 10.9),
    (24, 87.1, 12.2),
    (30, 91.9, 13.3),
    (36, 96.1, 14.3),
    (48, 103.3, 16.3),
    (60, 110.0, 18.4),
    (72, 116.0, 20.7),
    (84, 121.7, 22.9),
    (96, 127.3, 25.6),
    (108, 132.6, 28.6),
    (120, 137.8, 31.9),
    (132, 143.1, 35.6),
    (144, 149.1, 40.0),
    (156, 156.2, 45.0),
    (168, 163.2, 50.8),
)


# Dates --------------------------------------------------------------------------------------------------


def years_ago(today: date, years: int, extra_days: int) -> date:
    """A birth date the way accounts/demo.py computes it, so the portal's demo patients match these charts."""
    return date(today.year - years, today.month, min(today.day, 28)) - timedelta(days=extra_days)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31))


def coming(today: date, weekday: int) -> date:
    """The next such weekday after today (Monday is 0); a week ahead when today is that day."""
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def weekday_near(day: date) -> date:
    """A clinic day: Saturday moves back to Friday, Sunday forward to Monday."""
    return day - timedelta(days=1) if day.weekday() == 5 else day + timedelta(days=1) if day.weekday() == 6 else day


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def at(day: date, hour: int, minute: int = 0) -> str:
    """A FHIR instant on that day (UTC; clinic hours are about 14:00 to 23:00Z in Chicago)."""
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def money(value: float) -> dict[str, Any]:
    return {"value": round(value, 2), "currency": "USD"}


def ref(resource_type: str, resource_id: str, display: str = "") -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}", **({"display": display} if display else {})}


def dicom_uid(text: str) -> str:
    """A stable DICOM UID under the 2.25 (UUID-derived) root."""
    return "2.25." + str(int(hashlib.sha256(text.encode()).hexdigest()[:30], 16))


def egfr(creatinine: float, age: int, female: bool) -> float:
    """CKD-EPI 2021 (race-free) estimated GFR."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine / kappa
    value = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.2 * 0.9938**age
    return value * 1.012 if female else value


def growth(months: float) -> tuple[float, float]:
    """Median (height cm, weight kg) at an age in months, interpolated."""
    for (m0, h0, w0), (m1, h1, w1) in itertools.pairwise(GROWTH):
        if months <= m1:
            share = max(0.0, (months - m0) / (m1 - m0))
            return h0 + (h1 - h0) * share, w0 + (w1 - w0) * share
    return GROWTH[-1][1], GROWTH[-1][2]


# Health systems and their reference data ---------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    prefix: str
    name: str  # the EHR's name in the sandbox config
    organization: str  # Organization id of the provider
    suffix: str  # of Patient ids: rosa-lopez-rfc
    base: str  # for Bundle fullUrls
    mrn_system: str


RIVERSIDE = Site(
    "riverside",
    "Riverside Family Clinic EHR",
    "riverside-family-clinic",
    "rfc",
    "https://riverside.example/fhir",
    "https://riverside.example/fhir/sid/mrn",
)
LAKESIDE = Site(
    "lakeside",
    "Lakeside Pediatrics EHR",
    "lakeside-pediatrics",
    "lkp",
    "https://lakeside.example/fhir",
    "https://lakeside.example/fhir/sid/mrn",
)
OUTSIDE = Site(
    "outside",
    "St. Mary's Regional Hospital",
    "st-marys-regional",
    "smr",
    "https://stmarys.example/fhir",
    "https://stmarys.example/fhir/sid/mrn",
)
SITES = (RIVERSIDE, LAKESIDE, OUTSIDE)


def _organization(
    org_id: str, name: str, kind: str, npi: str, street: str, city: str, phone: str, state: str = "IL"
) -> Resource:
    return {
        "resourceType": "Organization",
        "id": org_id,
        "active": True,
        "identifier": [{"system": NPI, "value": npi}],
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": kind,
                        "display": "Healthcare Provider" if kind == "prov" else "Payer",
                    }
                ]
            }
        ],
        "name": name,
        "telecom": [{"system": "phone", "value": phone, "use": "work"}],
        "address": [{"line": [street], "city": city, "state": state, "country": "US"}],
    }


def _practitioner(person_id: str, given: str, family: str, title: str, gender: str, npi: str) -> Resource:
    name: dict[str, Any] = {"use": "official", "family": family, "given": [given], "suffix": [title]}
    if title in ("MD", "DO"):
        name["prefix"] = ["Dr."]
    return {
        "resourceType": "Practitioner",
        "id": person_id,
        "active": True,
        "identifier": [{"system": NPI, "value": npi}],
        "name": [name],
        "gender": gender,
        "qualification": [{"code": {"text": title}}],
    }


REFERENCE_DATA: dict[str, list[Resource]] = {
    "riverside": [
        _organization(
            "riverside-family-clinic",
            "Riverside Family Clinic",
            "prov",
            "1999000011",
            "400 River Road",
            "Riverside",
            "+1-312-555-0140",
        ),
        _practitioner("rfc-dr-nguyen", "Anh", "Nguyen", "MD", "female", "1999000102"),
        _practitioner("rfc-dr-garcia", "Elena", "Garcia", "MD", "female", "1999000110"),
        _practitioner("rfc-nurse-lee", "Jordan", "Lee", "RN", "unknown", "1999000128"),
        _practitioner("rfc-dr-chen", "Wei", "Chen", "MD", "male", "1999000185"),
    ],
    "lakeside": [
        _organization(
            "lakeside-pediatrics",
            "Lakeside Pediatrics",
            "prov",
            "1999000029",
            "12 Shore Drive",
            "Lakeside",
            "+1-312-555-0170",
        ),
        _practitioner("lkp-dr-okoro", "Grace", "Okoro", "MD", "female", "1999000136"),
        _practitioner("lkp-nurse-shah", "Priya", "Shah", "RN", "female", "1999000144"),
    ],
    "outside": [
        _organization(
            "st-marys-regional",
            "St. Mary's Regional Hospital",
            "prov",
            "1999000037",
            "900 Hospital Way",
            "Springfield",
            "+1-312-555-0190",
        ),
        _practitioner("smr-dr-hassan", "Omar", "Hassan", "MD", "male", "1999000151"),
        _practitioner("smr-dr-brennan", "Kate", "Brennan", "MD", "female", "1999000169"),
        _practitioner("smr-dr-ortiz", "Luis", "Ortiz", "MD", "male", "1999000177"),
    ],
}
PAYERS = [
    _organization(
        "medicare", "Medicare", "pay", "1999000045", "7500 Security Boulevard", "Baltimore", "+1-800-555-0133", "MD"
    ),
    _organization(
        "prairie-health-plan",
        "Prairie Health Plan",
        "pay",
        "1999000052",
        "1 Prairie Plaza",
        "Chicago",
        "+1-800-555-0166",
    ),
]


# One chart: one patient's records at one health system -------------------------------------------------


class Chart:
    """Builds one patient's resources at one health system; every add() gets a stable, readable id."""

    def __init__(self, today: date, site: Site, person: str, tag: str, name: tuple[str, str], birth: date) -> None:
        self.today, self.site, self.tag = today, site, tag
        self.given, self.family = name
        self.birth = birth
        self.patient_id = f"{person}-{site.suffix}"
        # Demo data, not secrets: a seeded generator so that every run draws the same values.
        self.rng = random.Random(f"fhir_sandbox.demo/{self.patient_id}")  # noqa: S311
        self.resources: list[Resource] = []
        self.ids: set[str] = set()
        self.organization = ref("Organization", site.organization)

    @property
    def subject(self) -> dict[str, str]:
        return ref("Patient", self.patient_id)

    def stamp(self, day: date) -> str:
        """meta.lastUpdated: the clinical date at 12:00Z, never later than yesterday."""
        return f"{min(day, self.today - timedelta(days=1)).isoformat()}T12:00:00Z"

    def add(
        self,
        resource_type: str,
        kind: str,
        day: date,
        body: Resource,
        updated: date | None = None,
        resource_id: str | None = None,
    ) -> Resource:
        """Add a resource with id TAG-KIND-DATE (-2, -3... when taken) unless given one."""
        if resource_id is None:
            resource_id = f"{self.tag}-{kind}-{day.isoformat()}"
            number = 1
            while resource_id in self.ids:
                number += 1
                resource_id = f"{self.tag}-{kind}-{day.isoformat()}-{number}"
        if resource_id in self.ids:
            raise ValueError(f"two resources would share the id {resource_id}")
        self.ids.add(resource_id)
        meta = {"lastUpdated": self.stamp(updated or day), **body.pop("meta", {})}
        resource = {"resourceType": resource_type, "id": resource_id, "meta": meta, **body}
        self.resources.append(resource)
        return resource

    def reference(self, resource: Resource) -> dict[str, str]:
        return ref(resource["resourceType"], resource["id"])

    # --- The patient and standing items -------------------------------------------------------

    def patient(self, gender: str, mrn: str, since: date, **extra: Any) -> Resource:
        body = {
            "active": True,
            "identifier": [
                {
                    "use": "usual",
                    "type": {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
                        "text": "Medical record number",
                    },
                    "system": self.site.mrn_system,
                    "value": mrn,
                }
            ],
            "name": [{"use": "official", "family": self.family, "given": [self.given]}],
            "gender": gender,
            "birthDate": self.birth.isoformat(),
            "managingOrganization": self.organization,
            **extra,
        }
        return self.add("Patient", "patient", since, body, resource_id=self.patient_id)

    def condition(
        self,
        code: Code,
        onset: date,
        recorded: date,
        *,
        recorder: str,
        category: str = "problem-list-item",
        status: str = "active",
        abated: date | None = None,
        encounter: Resource | None = None,
        **extra: Any,
    ) -> Resource:
        body: Resource = {
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": status}]},
            "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": category}]}],
            "code": code.concept(),
            "subject": self.subject,
            "onsetDateTime": onset.isoformat(),
            "recordedDate": recorded.isoformat(),
            "recorder": ref("Practitioner", recorder),
            **extra,
        }
        if abated:
            body["abatementDateTime"] = abated.isoformat()
        if encounter:
            body["encounter"] = self.reference(encounter)
        return self.add("Condition", "condition-" + code.code, recorded, body)

    def allergy(self, code: Code, recorded: date, category: str, reactions: list[Code], **extra: Any) -> Resource:
        body = {
            "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": ALLERGY_VERIFICATION, "code": "confirmed"}]},
            "type": "allergy",
            "category": [category],
            "criticality": "high",
            "code": code.concept(),
            "patient": self.subject,
            "recordedDate": recorded.isoformat(),
            "reaction": [{"manifestation": [r.concept() for r in reactions], **extra}],
        }
        return self.add("AllergyIntolerance", "allergy", recorded, body)

    def coverage(self, payer: str, since: date, recorded: date, member: str, relationship: str = "self") -> Resource:
        medicare = payer == "medicare"
        body = {
            "status": "active",
            "type": {
                "coding": [
                    {
                        "system": PAYER_TYPE,
                        "code": "1" if medicare else "5",
                        "display": "MEDICARE" if medicare else "PRIVATE HEALTH INSURANCE",
                    }
                ]
            },
            "subscriberId": member,
            "beneficiary": self.subject,
            "relationship": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": relationship}
                ]
            },
            "period": {"start": since.isoformat()},
            "payor": [ref("Organization", payer, "Medicare" if medicare else "Prairie Health Plan")],
            "class": [
                {
                    "type": {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]
                    },
                    "value": "PART-B" if medicare else "PHP-GOLD-PPO",
                    "name": "Medicare Part B" if medicare else "Prairie Gold PPO",
                }
            ],
        }
        return self.add("Coverage", "coverage", recorded, body)

    def medication(
        self,
        kind: str,
        code: Code,
        authored: date,
        *,
        days: int,
        quantity: int,
        unit: str,
        dosage: str,
        requester: str,
        reasons: list[Resource],
        refills: int = 0,
        status: str = "active",
    ) -> Resource:
        body = {
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": code.concept(),
            "subject": self.subject,
            "authoredOn": at(authored, 16, 10),
            "requester": ref("Practitioner", requester),
            "reasonReference": [self.reference(r) for r in reasons],
            "dosageInstruction": [{"sequence": 1, "text": dosage}],
            "dispenseRequest": {
                "validityPeriod": {"start": authored.isoformat(), "end": (authored + timedelta(days=365)).isoformat()},
                "numberOfRepeatsAllowed": refills,
                "quantity": {"value": quantity, "unit": unit},
                "expectedSupplyDuration": {"value": days, "unit": "days", "system": UCUM, "code": "d"},
            },
        }
        return self.add("MedicationRequest", kind, authored, body)

    def immunization(
        self, code: Code, day: date, *, performer: str, dose: int | None = None, encounter: Resource | None = None
    ) -> Resource:
        body: Resource = {
            "status": "completed",
            "vaccineCode": code.concept(),
            "patient": self.subject,
            "occurrenceDateTime": at(day, 15, 30),
            "recorded": at(day, 15, 45),
            "primarySource": True,
            "lotNumber": f"{code.code.zfill(3)}{self.rng.randint(10000, 99999)}",
            "performer": [{"actor": ref("Practitioner", performer)}],
        }
        if dose:
            body["protocolApplied"] = [{"doseNumberPositiveInt": dose}]
        if encounter:
            body["encounter"] = self.reference(encounter)
        return self.add("Immunization", "vaccine-cvx" + code.code, day, body)

    # --- Visits ----------------------------------------------------------------------------------

    def encounter(
        self,
        kind: str,
        day: date,
        code: Code,
        *,
        practitioner: str,
        minutes: int = 30,
        cls: str = "AMB",
        reasons: Iterable[Code] = (),
        end: date | None = None,
        hour: int | None = None,
        **extra: Any,
    ) -> Resource:
        start_hour = hour if hour is not None else self.rng.randint(14, 21)
        start_minute = self.rng.choice((0, 15, 30, 45))
        if end is None:
            finish = start_hour * 60 + start_minute + minutes
            end_text = at(day, finish // 60, finish % 60)
        else:
            end_text = at(end, 17, 0)
        class_display = {"AMB": "ambulatory", "IMP": "inpatient encounter", "EMER": "emergency"}[cls]
        body: Resource = {
            "status": "finished",
            "class": {"system": ACT_CODE, "code": cls, "display": class_display},
            "type": [code.concept()],
            "subject": self.subject,
            "participant": [
                {
                    "type": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                    "code": "PPRF",
                                    "display": "primary performer",
                                }
                            ]
                        }
                    ],
                    "individual": ref("Practitioner", practitioner),
                }
            ],
            "period": {"start": at(day, start_hour, start_minute), "end": end_text},
            "serviceProvider": self.organization,
            **extra,
        }
        if reasons:
            body["reasonCode"] = [r.concept() for r in reasons]
        return self.add("Encounter", kind, day, body)

    def note(
        self,
        encounter: Resource,
        text: str,
        *,
        description: str,
        author: str,
        code: Code = PROGRESS_NOTE,
        day: date | None = None,
        kind: str = "note",
        **extra: Any,
    ) -> Resource:
        period = encounter["period"]
        when = day or date.fromisoformat(period["end"][:10])
        body = {
            "status": "current",
            "docStatus": "final",
            "type": code.concept(),
            "category": [
                {"coding": [{"system": DOCUMENT_CATEGORY, "code": "clinical-note", "display": "Clinical Note"}]}
            ],
            "subject": self.subject,
            "date": period["end"],
            "author": [ref("Practitioner", author)],
            "custodian": self.organization,
            "description": description,
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "language": "en-US",
                        "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                        "title": description,
                        "creation": period["end"],
                    }
                }
            ],
            "context": {"encounter": [self.reference(encounter)], "period": period},
            **extra,
        }
        return self.add("DocumentReference", kind, when, body)

    def claim(
        self,
        encounter: Resource,
        service: Code,
        charge: float,
        *,
        coverage: Resource,
        paid_share: float,
        institutional: bool = False,
        service_text: str = "",
    ) -> Resource:
        period = encounter["period"]
        first, last = date.fromisoformat(period["start"][:10]), date.fromisoformat(period["end"][:10])
        created = max(last, min(last + timedelta(days=14), self.today - timedelta(days=1)))
        charge = round(charge, 2)
        eligible = round(charge * 0.62, 2)
        paid = round(eligible * paid_share, 2)
        product = service.concept() if not service_text else {"text": service_text}
        item: Resource = {"sequence": 1, "productOrService": product}
        if institutional:
            item["servicedPeriod"] = {"start": first.isoformat(), "end": last.isoformat()}
        else:
            item["servicedDate"] = first.isoformat()
        item |= {"encounter": [self.reference(encounter)], "net": money(charge)}
        body = {
            "status": "active",
            "type": {"coding": [{"system": CLAIM_TYPE, "code": "institutional" if institutional else "professional"}]},
            "use": "claim",
            "patient": self.subject,
            "billablePeriod": {"start": first.isoformat(), "end": last.isoformat()},
            "created": at(created, 12),
            "insurer": coverage["payor"][0],
            "provider": self.organization,
            "outcome": "complete",
            "insurance": [{"focal": True, "coverage": self.reference(coverage)}],
            "item": [item],
            "total": [
                {"category": {"coding": [{"system": ADJUDICATION, "code": "submitted"}]}, "amount": money(charge)},
                {"category": {"coding": [{"system": ADJUDICATION, "code": "eligible"}]}, "amount": money(eligible)},
                {"category": {"coding": [{"system": ADJUDICATION, "code": "benefit"}]}, "amount": money(paid)},
            ],
            "payment": {"date": created.isoformat(), "amount": money(paid)},
        }
        return self.add("ExplanationOfBenefit", "eob", first, body, updated=created)

    # --- Observations and reports --------------------------------------------------------------------

    def observation(
        self,
        kind: str,
        lab: Lab,
        value: float,
        when: str,
        *,
        encounter: Resource | None = None,
        category: str = "laboratory",
        **extra: Any,
    ) -> Resource:
        value = round(value, lab.decimals) if lab.decimals else round(value)
        body: Resource = {
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": OBSERVATION_CATEGORY,
                            "code": category,
                            "display": "Laboratory" if category == "laboratory" else "Vital Signs",
                        }
                    ]
                }
            ],
            "code": lab.code.concept(),
            "subject": self.subject,
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": lab.unit, "system": UCUM, "code": lab.unit},
            **extra,
        }
        if category == "laboratory":
            body["issued"] = when[:11] + "23:00:00Z"
            body["performer"] = [self.organization]
        if encounter:
            body["encounter"] = self.reference(encounter)
        if lab.low is not None or lab.high is not None:
            bounds: Resource = {}
            if lab.low is not None:
                bounds["low"] = {"value": lab.low, "unit": lab.unit, "system": UCUM, "code": lab.unit}
            if lab.high is not None:
                bounds["high"] = {"value": lab.high, "unit": lab.unit, "system": UCUM, "code": lab.unit}
            body["referenceRange"] = [bounds]
            flag = (
                "L"
                if lab.low is not None and value < lab.low
                else "H"
                if lab.high is not None and value > lab.high
                else "N"
            )
            display = {"L": "Low", "H": "High", "N": "Normal"}[flag]
            body["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag, "display": display}]}]
        return self.add("Observation", kind, date.fromisoformat(when[:10]), body)

    def vital(self, kind: str, lab: Lab, value: float, when: str, encounter: Resource) -> Resource:
        return self.observation(kind, lab, value, when, encounter=encounter, category="vital-signs")

    def blood_pressure(self, systolic: int, diastolic: int, when: str, encounter: Resource) -> Resource:
        def part(code: Code, value: int) -> Resource:
            return {
                "code": code.concept(),
                "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
            }

        body = {
            "status": "final",
            "category": [
                {"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
            ],
            "code": BP_PANEL.concept(),
            "subject": self.subject,
            "encounter": self.reference(encounter),
            "effectiveDateTime": when,
            "component": [part(SYSTOLIC, systolic), part(DIASTOLIC, diastolic)],
        }
        return self.add("Observation", "bp", date.fromisoformat(when[:10]), body)

    def lab_report(
        self, kind: str, code: Code, results: list[Resource], encounter: Resource | None, **extra: Any
    ) -> Resource:
        when = results[0]["effectiveDateTime"]
        body: Resource = {
            "status": "final",
            "category": [{"coding": [{"system": REPORT_CATEGORY, "code": "LAB", "display": "Laboratory"}]}],
            "code": code.concept(),
            "subject": self.subject,
            "effectiveDateTime": when,
            "issued": results[0]["issued"],
            "performer": [self.organization],
            "result": [self.reference(r) for r in results],
            **extra,
        }
        if encounter:
            body["encounter"] = self.reference(encounter)
        return self.add("DiagnosticReport", kind, date.fromisoformat(when[:10]), body)

    def imaging(
        self,
        kind: str,
        code: Code,
        day: date,
        conclusion: str,
        *,
        modality: str,
        views: list[str],
        body_site: Code,
        interpreter: str,
        encounter: Resource | None = None,
        reasons: Iterable[Code] = (),
    ) -> tuple[Resource, Resource]:
        """An ImagingStudy and the radiology DiagnosticReport that reads it."""
        when = at(day, 16, 20)
        study_uid = dicom_uid(f"{self.patient_id}/{kind}/{day}")
        series_uid = dicom_uid(f"{self.patient_id}/{kind}/{day}/series")
        study: Resource = {
            "status": "available",
            "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
            "subject": self.subject,
            "started": when,
            "modality": [{"system": DICOM, "code": modality}],
            "numberOfSeries": 1,
            "numberOfInstances": len(views),
            "procedureCode": [code.concept()],
            "interpreter": [ref("Practitioner", interpreter)],
            "description": code.text or code.display,
            "series": [
                {
                    "uid": series_uid,
                    "number": 1,
                    "modality": {"system": DICOM, "code": modality},
                    "description": ", ".join(views),
                    "numberOfInstances": len(views),
                    "bodySite": {"system": body_site.system, "code": body_site.code, "display": body_site.display},
                    "started": when,
                    "instance": [
                        {
                            "uid": f"{series_uid}.{n}",
                            "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.1.1"},
                            "number": n,
                            "title": view,
                        }
                        for n, view in enumerate(views, start=1)
                    ],
                }
            ],
        }
        if reasons:
            study["reasonCode"] = [r.concept() for r in reasons]
        if encounter:
            study["encounter"] = self.reference(encounter)
        study_resource = self.add("ImagingStudy", kind + "-study", day, study)
        report: Resource = {
            "status": "final",
            "category": [
                {
                    "coding": [
                        {"system": REPORT_CATEGORY, "code": "RAD", "display": "Radiology"},
                        {"system": LOINC, "code": "LP29684-5", "display": "Radiology"},
                    ]
                }
            ],
            "code": code.concept(),
            "subject": self.subject,
            "effectiveDateTime": when,
            "issued": at(day, 21, 5),
            "performer": [self.organization],
            "resultsInterpreter": [ref("Practitioner", interpreter)],
            "imagingStudy": [self.reference(study_resource)],
            "conclusion": conclusion,
        }
        if encounter:
            report["encounter"] = self.reference(encounter)
        return study_resource, self.add("DiagnosticReport", kind, day, report)


def quarterly(rng: random.Random, newest: date, count: int, step: float = 91.3) -> list[date]:
    """Visit days about `step` days apart, oldest first, the newest exactly on `newest` (moved off a weekend)."""
    days = [
        weekday_near(newest - timedelta(days=round(step * k) + (rng.randint(-7, 7) if k else 0))) for k in range(count)
    ]
    return sorted(days)


def flu_days(rng: random.Random, first: date, today: date) -> list[date]:
    """A flu shot day in October of each year, those on or after `first` and before `today`."""
    days = [weekday_near(date(year, 10, 6 + rng.randint(0, 16))) for year in range(first.year, today.year + 1)]
    return [day for day in days if first <= day < today]


# The people -----------------------------------------------------------------------------------------------


@dataclass
class Family:
    today: date

    def __post_init__(self) -> None:
        t = self.today
        self.births = {
            "rosa": years_ago(t, 78, 120),
            "leo": years_ago(t, 13, 75),
            "alex": years_ago(t, 34, 40),
            "maria": years_ago(t, 46, 200),
        }
        self.rosa_a1c: list[tuple[date, float]] = []
        spring = t.year if t >= date(t.year, 6, 1) else t.year - 1
        self.rosa_admitted = weekday_near(date(spring, 4, 9))

    # --- Rosa at Riverside -------------------------------------------------------------------------

    def rosa_riverside(self) -> Chart:
        t = self.today
        c = Chart(t, RIVERSIDE, "rosa-lopez", "rosa", ("Rosa", "Lopez"), self.births["rosa"])
        rng = c.rng
        visits = quarterly(rng, t - timedelta(days=5), 17)
        first = visits[0]
        c.patient(
            "female",
            "RFC-100872",
            first,
            telecom=[{"system": "phone", "value": "+1-312-555-0172", "use": "home"}],
            address=[{"line": ["218 Elm Street"], "city": "Riverside", "state": "IL", "postalCode": "60546"}],
            communication=[
                {
                    "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}], "text": "Spanish"},
                    "preferred": True,
                }
            ],
            contact=[
                {
                    "relationship": [
                        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]},
                        {"text": "Daughter; holds power of attorney"},
                    ],
                    "name": {"family": "Lopez", "given": ["Maria"]},
                    "telecom": [{"system": "phone", "value": "+1-312-555-0188", "use": "mobile"}],
                }
            ],
            generalPractitioner=[ref("Practitioner", "rfc-dr-nguyen")],
        )
        doctor = "rfc-dr-nguyen"
        diabetes = c.condition(DIABETES_2, t - timedelta(days=12 * 365 + 40), first, recorder=doctor)
        pressure = c.condition(HYPERTENSION, t - timedelta(days=15 * 365 + 100), first, recorder=doctor)
        c.condition(HYPERLIPIDEMIA, t - timedelta(days=10 * 365 + 10), first, recorder=doctor)
        dementia_day = next(v for v in visits if v >= t - timedelta(days=420))
        dementia = c.condition(
            DEMENTIA,
            dementia_day,
            dementia_day,
            recorder=doctor,
            severity=Code(SNOMED, "255604002", "Mild").concept(),
            meta={
                "security": [
                    {"system": ACT_CODE, "code": "PSY", "display": "psychiatry disorder information sensitivity"}
                ]
            },
            note=[{"text": "Memory testing (MoCA 21/30). Early-stage dementia; daughter Maria helps with medicines."}],
        )
        dementia["category"].append(
            {"coding": [{"system": LOCAL_CATEGORY, "code": "mental-health", "display": "Mental health"}]}
        )
        c.allergy(
            PENICILLIN,
            first,
            "medication",
            [HIVES, SKIN_RASH],
            severity="moderate",
            description="Hives and a rash after a penicillin injection as a young woman.",
        )
        medicare = c.coverage("medicare", add_months(self.births["rosa"], 65 * 12), first, "1EG4-TE5-MK72")

        # Quarterly diabetes and blood pressure visits: HbA1c creeping up over four years, 7.9 then 8.4.
        a1c_values = [round(6.5 + 1.2 * k / 14 + rng.uniform(-0.15, 0.15), 1) for k in range(len(visits) - 2)]
        a1c_values += [7.9, 8.4]
        weight = 68.5
        creatinine = 0.86
        for k, (day, a1c) in enumerate(zip(visits, a1c_values, strict=True)):
            age = age_on(c.birth, day)
            visit = c.encounter(
                "visit", day, FOLLOW_UP, practitioner=doctor, reasons=(DIABETES_2, HYPERTENSION), minutes=30
            )
            start = visit["period"]["start"]
            draw = start[:11] + "13:40:00Z"
            c.observation("a1c", A1C, a1c, draw, encounter=visit)
            self.rosa_a1c.append((day, a1c))
            systolic, diastolic = 134 + round(12 * k / 16) + rng.randint(-5, 6), 76 + rng.randint(-3, 8)
            c.blood_pressure(systolic, diastolic, start, visit)
            weight = max(62.0, weight - rng.uniform(0.0, 0.45))
            c.vital("weight", WEIGHT, weight, start, visit)
            lines = [
                f"Follow-up visit for diabetes and blood pressure, {long_date(day)}.",
                "",
                f"Rosa Lopez, {age}, came in with her daughter Maria, who helps with her medicines.",
                f"HbA1c today is {a1c:.1f}%"
                + (f" (last time {a1c_values[k - 1]:.1f}%)." if k else ".")
                + f" Blood pressure {systolic}/{diastolic}. Weight {weight:.1f} kg.",
            ]
            if k % 4 == 0:
                cholesterol, hdl = 185 + rng.randint(-12, 14), 52 + rng.randint(-5, 6)
                ldl = cholesterol - hdl - rng.randint(28, 40)
                results = [
                    c.observation("cholesterol", CHOLESTEROL, cholesterol, draw, encounter=visit),
                    c.observation("hdl", HDL, hdl, draw, encounter=visit),
                    c.observation("ldl", LDL, ldl, draw, encounter=visit),
                ]
                c.lab_report("lipid-panel", LIPID_PANEL, results, visit)
                lines.append(f"Cholesterol panel: total {cholesterol}, LDL {ldl}, HDL {hdl} mg/dL.")
            if k % 2 == 0:
                creatinine += rng.uniform(0.0, 0.03)
                c.observation("creatinine", CREATININE, creatinine, draw, encounter=visit)
                kidney = egfr(round(creatinine, 2), age, female=True)
                c.observation("egfr", EGFR, kidney, draw, encounter=visit)
                lines.append(f"Kidney function (eGFR) {kidney:.0f}; metformin dose is still right for her kidneys.")
            if k == len(visits) - 1:
                lines += [
                    "",
                    "HbA1c has gone up over the last two checks. Plan: continue metformin 1,000 mg with the",
                    "evening meal and lisinopril 10 mg daily; Maria will help with a food diary for two weeks.",
                    "Metformin refill is due this week. Recheck HbA1c in 3 months.",
                ]
            else:
                lines += ["", "Plan: continue current medicines. Recheck HbA1c in 3 months."]
            lines += ["", "Anh Nguyen, MD"]
            c.note(
                visit, "\n".join(lines), description="Visit note: diabetes and blood pressure follow-up", author=doctor
            )
            c.claim(visit, OFFICE_VISIT, 180 + rng.uniform(0, 60), coverage=medicare, paid_share=0.8)

        # Medicines: metformin's 30-day supply runs out on the coming Friday.
        friday = coming(t, 4)
        c.medication(
            "rx-metformin",
            METFORMIN,
            friday - timedelta(days=30),
            days=30,
            quantity=60,
            unit="tablet",
            dosage="Take 2 tablets (1,000 mg) by mouth once daily with the evening meal.",
            requester=doctor,
            reasons=[diabetes],
        )
        c.medication(
            "rx-lisinopril",
            LISINOPRIL,
            t - timedelta(days=40),
            days=90,
            quantity=90,
            unit="tablet",
            dosage="Take 1 tablet by mouth once daily.",
            requester=doctor,
            reasons=[pressure],
            refills=1,
        )
        c.medication(
            "rx-donepezil",
            DONEPEZIL,
            t - timedelta(days=20),
            days=90,
            quantity=90,
            unit="tablet",
            dosage="Take 1 tablet by mouth at bedtime.",
            requester=doctor,
            reasons=[dementia],
            refills=2,
        )

        # Vaccines.
        nurse = "rfc-nurse-lee"
        for day in flu_days(rng, first, t):
            c.immunization(FLU, day, performer=nurse)
        c.immunization(PNEUMOCOCCAL, weekday_near(t - timedelta(days=1100)), performer=nurse)
        c.immunization(COVID_MRNA, weekday_near(first + timedelta(days=20)), performer=nurse, dose=1)
        c.immunization(COVID_MRNA, weekday_near(first + timedelta(days=41)), performer=nurse, dose=2)
        c.immunization(COVID, weekday_near(first + timedelta(days=220)), performer=nurse, dose=3)
        c.immunization(COVID, weekday_near(t - timedelta(days=400)), performer=nurse, dose=4)
        c.immunization(SHINGLES, weekday_near(t - timedelta(days=900)), performer=nurse, dose=1)
        c.immunization(SHINGLES, weekday_near(t - timedelta(days=840)), performer=nurse, dose=2)
        return c

    # --- Rosa at St. Mary's: the hospital stay last spring ---------------------------------------------

    def rosa_outside(self) -> Chart:
        """Her HbA1c here continues the Riverside series, so rosa_riverside() runs first (see charts())."""
        t = self.today
        c = Chart(t, OUTSIDE, "rosa-lopez", "rosa-smr", ("Rosa", "Lopez"), self.births["rosa"])
        admitted = self.rosa_admitted
        discharged = admitted + timedelta(days=4)
        hospitalist, radiologist = "smr-dr-hassan", "smr-dr-brennan"
        c.patient("female", "SMR-5550127", admitted)
        medicare = c.coverage("medicare", add_months(self.births["rosa"], 65 * 12), admitted, "1EG4-TE5-MK72")
        stay = c.encounter(
            "admission",
            admitted,
            ADMISSION,
            practitioner=hospitalist,
            cls="IMP",
            reasons=(PNEUMONIA,),
            end=discharged,
            hour=20,
            hospitalization={
                "admitSource": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/admit-source", "code": "emd"}]
                },
                "dischargeDisposition": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "home"}
                    ]
                },
            },
        )
        c.condition(
            PNEUMONIA,
            admitted,
            admitted,
            recorder=hospitalist,
            category="encounter-diagnosis",
            status="resolved",
            abated=discharged,
            encounter=stay,
        )
        c.allergy(PENICILLIN, admitted, "medication", [HIVES], severity="moderate")
        earlier = [v for d, v in self.rosa_a1c if d <= admitted]
        a1c = min(8.3, round((earlier[-1] if earlier else 7.6) + 0.1, 1))
        first_draw = at(admitted, 21, 10)
        c.observation("a1c", A1C, a1c, first_draw, encounter=stay)
        c.observation("creatinine", CREATININE, 1.18, first_draw, encounter=stay)
        temperatures, oxygen = (38.6, 38.0, 37.4, 36.9), (91, 93, 95, 96)
        rates, pulses, sugars = (24, 22, 18, 16), (104, 96, 88, 80), (212, 186, 161, 148)
        for n in range(4):
            day = admitted + timedelta(days=n)
            when = at(day, 21 if n == 0 else 14, 30)
            c.vital("temperature", TEMPERATURE, temperatures[n], when, stay)
            c.vital("oxygen", OXYGEN, oxygen[n], when, stay)
            c.vital("respiratory-rate", RESPIRATORY_RATE, rates[n], when, stay)
            c.vital("heart-rate", HEART_RATE, pulses[n], when, stay)
            c.blood_pressure(138 - 3 * n, 80 - n, when, stay)
            c.observation("glucose", GLUCOSE, sugars[n], when[:11] + "12:15:00Z" if n else first_draw, encounter=stay)
            if n in (0, 2):
                c.observation(
                    "wbc", WBC, 15.8 if n == 0 else 11.2, when[:11] + "12:20:00Z" if n else first_draw, encounter=stay
                )
        c.imaging(
            "chest-xray",
            CHEST_XRAY,
            admitted,
            "Right lower lobe consolidation, consistent with pneumonia. No pleural effusion. Heart size normal.",
            modality="DX",
            views=["PA", "Lateral"],
            body_site=Code(SNOMED, "51185008", "Thoracic structure"),
            interpreter=radiologist,
            encounter=stay,
            reasons=(PNEUMONIA,),
        )
        summary = "\n".join(
            [
                "St. Mary's Regional Hospital - Discharge summary",
                "",
                f"Patient: Rosa Lopez, {age_on(c.birth, admitted)}. Admitted {long_date(admitted)}; "
                f"discharged {long_date(discharged)}.",
                "Reason for admission: pneumonia of the right lower lobe (fever, cough, low oxygen).",
                "",
                "Hospital course: chest X-ray showed right lower lobe pneumonia. Treated with IV ceftriaxone and",
                "azithromycin (penicillin allergy noted: hives; ceftriaxone was tolerated). Oxygen was stopped on",
                "day 3. Blood sugars ran high while she was ill and improved as the infection cleared.",
                f"HbA1c during the stay: {a1c:.1f}%.",
                "",
                "Discharge medicines: levofloxacin 750 mg by mouth once daily for 3 more days; continue metformin,",
                "lisinopril and donepezil as before.",
                "Follow-up: Dr. Anh Nguyen at Riverside Family Clinic within 1 week.",
                "Discharged home with her daughter Maria.",
                "",
                "Omar Hassan, MD (hospital medicine)",
            ]
        )
        c.note(
            stay,
            summary,
            description="Discharge summary: pneumonia",
            author=hospitalist,
            code=DISCHARGE_SUMMARY,
            kind="discharge-summary",
        )
        c.claim(
            stay,
            ADMISSION,
            18640.0,
            coverage=medicare,
            paid_share=0.9,
            institutional=True,
            service_text="Inpatient stay, 4 days (simple pneumonia)",
        )
        return c

    # --- Leo at Lakeside Pediatrics ---------------------------------------------------------------------

    def leo_lakeside(self) -> Chart:
        t = self.today
        birth = self.births["leo"]
        c = Chart(t, LAKESIDE, "leo-lopez", "leo", ("Leo", "Lopez"), birth)
        rng = c.rng
        doctor, nurse = "lkp-dr-okoro", "lkp-nurse-shah"
        c.patient(
            "male",
            "LKP-200415",
            birth + timedelta(days=3),
            contact=[
                {
                    "relationship": [
                        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}
                    ],
                    "name": {"family": "Lopez", "given": ["Maria"]},
                    "telecom": [{"system": "phone", "value": "+1-312-555-0188", "use": "mobile"}],
                }
            ],
            generalPractitioner=[ref("Practitioner", doctor)],
        )
        coverage = c.coverage("prairie-health-plan", birth, birth + timedelta(days=3), "PHP-88214-03", "child")
        asthma_day = weekday_near(add_months(birth, 62))
        vaccines_at = {
            2: [(DTAP, 1), (IPV, 1)],
            4: [(DTAP, 2), (IPV, 2)],
            6: [(DTAP, 3), (IPV, 3)],
            12: [(MMR, 1), (VARICELLA, 1)],
            15: [(DTAP, 4)],
            48: [(DTAP, 5), (IPV, 4), (MMR, 2), (VARICELLA, 2)],
            132: [(TDAP, 1), (MENACWY, 1), (HPV, 1)],
        }
        ages = [2, 4, 6, 9, 12, 15, 18, 24, 30, *range(36, 157, 12)]
        factor_h, factor_w = 1.012, 1.035
        last_visit: Resource | None = None
        flu_years: set[int] = set()
        for months in ages:
            day = weekday_near(add_months(birth, months) + timedelta(days=rng.randint(3, 12)))
            if day >= t:
                break
            visit = c.encounter("well-child", day, WELL_CHILD, practitioner=doctor, minutes=40)
            last_visit = visit
            when = visit["period"]["start"]
            height, weight = growth((day - birth).days / 30.4375)
            height *= factor_h * (1 + rng.uniform(-0.006, 0.006))
            weight *= factor_w * (1 + rng.uniform(-0.02, 0.02))
            c.vital("height", HEIGHT, height, when, visit)
            c.vital("weight", WEIGHT, weight, when, visit)
            mass_index = round(weight, 1) / (round(height, 1) / 100) ** 2
            age_text = f"{months} months" if months < 36 else f"{months // 12} years"
            lines = [
                f"Well-child visit at {age_text}, {long_date(day)}.",
                "",
                f"Leo came in with his mother Maria. Height {height:.1f} cm, weight {weight:.1f} kg"
                + (f", BMI {mass_index:.1f}." if months >= 24 else "."),
                "Growing and developing well.",
            ]
            if months >= 24:
                c.vital("bmi", BMI, mass_index, when, visit)
            if day >= asthma_day:
                lines.append(
                    "Asthma: well controlled; uses albuterol a few times a month, mostly with colds or sports."
                )
            given = vaccines_at.get(months, [])
            if day.month in (9, 10, 11) and months >= 6:
                given = [*given, (FLU, 0)]
                flu_years.add(day.year)
            for code, dose in given:
                c.immunization(code, day, performer=nurse, dose=dose or None, encounter=visit)
            if given:
                lines.append("Vaccines today: " + ", ".join(code.text for code, _ in given) + ".")
            if months >= 144:
                lines.append("As is routine at this age, part of the visit was spent with Leo on his own.")
            lines += ["", "Plan: next well-child visit in one year.", "", "Grace Okoro, MD"]
            c.note(visit, "\n".join(lines), description=f"Well-child visit, {age_text}", author=doctor)
            service = PREVENTIVE_CHILD[min(3, (months >= 12) + (months >= 60) + (months >= 144))]
            c.claim(visit, service, 150 + months / 3 + rng.uniform(0, 45), coverage=coverage, paid_share=1.0)
        # The second HPV dose six months after the first, and a flu shot every fall.
        c.immunization(HPV, weekday_near(add_months(birth, 138) + timedelta(days=5)), performer=nurse, dose=2)
        for day in flu_days(rng, add_months(birth, 6), t):
            if day.year not in flu_years:
                c.immunization(FLU, day, performer=nurse)
        asthma = c.condition(ASTHMA, asthma_day, asthma_day, recorder=doctor)
        c.allergy(
            PEANUT,
            weekday_near(add_months(birth, 26)),
            "food",
            [HIVES, ANAPHYLAXIS],
            severity="severe",
            description="Hives and throat swelling after peanut butter at age 2. Carries epinephrine.",
        )
        assert last_visit is not None
        latest_day = date.fromisoformat(last_visit["period"]["start"][:10])
        c.medication(
            "rx-albuterol",
            ALBUTEROL,
            latest_day,
            days=30,
            quantity=1,
            unit="inhaler",
            dosage="2 puffs by mouth every 4 to 6 hours as needed for cough or wheezing.",
            requester=doctor,
            reasons=[asthma],
            refills=2,
        )
        # One confidential item from the adolescent's private time with the doctor (hidden from a parent).
        c.condition(
            ANXIETY,
            latest_day,
            latest_day,
            recorder=doctor,
            category="encounter-diagnosis",
            encounter=last_visit,
            meta={"security": [{"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}]},
            note=[
                {"text": "Discussed privately with Leo (confidential adolescent visit). Counseling follow-up arranged."}
            ],
        )
        thursday = coming(t, 3)
        booked = max(latest_day, t - timedelta(days=10))
        c.add(
            "Appointment",
            "appointment",
            thursday,
            {
                "status": "booked",
                "serviceType": [{"text": "Asthma check-up"}],
                "appointmentType": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "FOLLOWUP"}]
                },
                "reasonReference": [c.reference(asthma)],
                "description": "Asthma check-up with Dr. Okoro",
                "start": at(thursday, 21, 30),
                "end": at(thursday, 22, 0),
                "minutesDuration": 30,
                "created": booked.isoformat(),
                "comment": "Please fill in the asthma control questionnaire before the visit.",
                # R4 has no Appointment.subject (R5 does); the sandbox finds a resource's patient through it.
                "subject": c.subject,
                "participant": [
                    {"actor": c.subject, "required": "required", "status": "accepted"},
                    {"actor": ref("Practitioner", doctor), "required": "required", "status": "accepted"},
                ],
            },
            updated=booked,
        )
        return c

    # --- Alex at Riverside -------------------------------------------------------------------------------

    def alex_riverside(self) -> Chart:
        t = self.today
        birth = self.births["alex"]
        c = Chart(t, RIVERSIDE, "alex-rivera", "alex", ("Alex", "Rivera"), birth)
        rng = c.rng
        doctor, nurse = "rfc-dr-garcia", "rfc-nurse-lee"
        visits = quarterly(rng, weekday_near(t - timedelta(days=12)), 21)
        first = visits[0]
        c.patient(
            "male",
            "RFC-100234",
            first,
            telecom=[
                {"system": "phone", "value": "+1-312-555-0123", "use": "mobile"},
                {"system": "email", "value": "patient@demo.test"},
            ],
            address=[{"line": ["77 Lake Avenue, Apt 4"], "city": "Riverside", "state": "IL", "postalCode": "60546"}],
            generalPractitioner=[ref("Practitioner", doctor)],
        )
        diabetes = c.condition(DIABETES_1, add_months(birth, 12 * 12 + 4), first, recorder=doctor)
        coverage = c.coverage("prairie-health-plan", first - timedelta(days=200), first, "PHP-51077-01")
        c.add(
            "Device",
            "cgm",
            first + timedelta(days=35),
            {
                "status": "active",
                "type": {
                    "coding": [{"system": SNOMED, "code": "337414009", "display": "Blood glucose meters"}],
                    "text": "Continuous glucose monitor",
                },
                "deviceName": [{"name": "Continuous glucose monitor (CGM) sensor", "type": "user-friendly-name"}],
                "serialNumber": f"CGM{rng.randint(10**7, 10**8 - 1)}",
                "patient": c.subject,
                "owner": c.organization,
                "note": [{"text": "Sensor changed every 10 days; readings shared with the clinic."}],
            },
        )
        team = c.add(
            "CareTeam",
            "care-team",
            first,
            {
                "status": "active",
                "name": "Diabetes care team",
                "subject": c.subject,
                "period": {"start": first.isoformat()},
                "participant": [
                    {"role": [{"text": "Primary care physician"}], "member": ref("Practitioner", doctor)},
                    {"role": [{"text": "Diabetes nurse"}], "member": ref("Practitioner", nurse)},
                ],
                "managingOrganization": [c.organization],
            },
        )
        goal = c.add(
            "Goal",
            "goal-a1c",
            first,
            {
                "lifecycleStatus": "active",
                "achievementStatus": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": "in-progress"}
                    ]
                },
                "description": {"text": "HbA1c below 7%"},
                "subject": c.subject,
                "startDate": first.isoformat(),
                "target": [
                    {
                        "measure": A1C.code.concept(),
                        "detailQuantity": {"value": 7, "comparator": "<", "unit": "%", "system": UCUM, "code": "%"},
                    }
                ],
                "expressedBy": ref("Practitioner", doctor),
                "addresses": [c.reference(diabetes)],
            },
        )
        c.add(
            "CarePlan",
            "care-plan",
            first,
            {
                "status": "active",
                "intent": "plan",
                "category": [Code(SNOMED, "698360004", "Diabetes self management plan").concept()],
                "title": "Diabetes self-management",
                "description": "Insulin by carbohydrate counting, CGM review, and a check-in every three months.",
                "subject": c.subject,
                "period": {"start": first.isoformat()},
                "created": first.isoformat(),
                "author": ref("Practitioner", doctor),
                "careTeam": [c.reference(team)],
                "addresses": [c.reference(diabetes)],
                "goal": [c.reference(goal)],
                "activity": [
                    {"detail": {"status": "in-progress", "description": text}}
                    for text in (
                        "Long-acting insulin at bedtime; mealtime insulin by carbohydrate ratio.",
                        "Review CGM time in range weekly; message the care team about lows below 70 mg/dL.",
                        "Carry fast sugar and a glucagon kit; tell friends and coworkers how to help.",
                        "HbA1c, kidney and cholesterol tests as scheduled; yearly eye exam.",
                    )
                ],
            },
        )
        a1c = 7.6
        for k, day in enumerate(visits):
            visit = c.encounter("visit", day, FOLLOW_UP, practitioner=doctor, reasons=(DIABETES_1,), minutes=30)
            start = visit["period"]["start"]
            draw = start[:11] + "13:30:00Z"
            a1c = min(8.1, max(6.8, round(a1c + rng.uniform(-0.35, 0.35), 1)))
            c.observation("a1c", A1C, a1c, draw, encounter=visit)
            sugar = rng.randint(96, 235)
            c.observation("glucose", GLUCOSE, sugar, draw, encounter=visit)
            systolic, diastolic = 116 + rng.randint(-6, 8), 74 + rng.randint(-5, 6)
            c.blood_pressure(systolic, diastolic, start, visit)
            weight = 78 + rng.uniform(-1.5, 1.5)
            c.vital("weight", WEIGHT, weight, start, visit)
            lines = [
                f"Diabetes follow-up, {long_date(day)}.",
                "",
                f"HbA1c {a1c:.1f}% (goal below 7%). Glucose at the visit {sugar} mg/dL. "
                f"Blood pressure {systolic}/{diastolic}. Weight {weight:.1f} kg.",
                "CGM reviewed with Alex: time in range about "
                f"{rng.randint(55, 78)}%; {rng.choice(('no', 'one', 'two'))} lows below 70 mg/dL since last visit.",
            ]
            if k % 4 == 0:
                cholesterol, hdl = 172 + rng.randint(-10, 12), 55 + rng.randint(-4, 6)
                ldl = cholesterol - hdl - rng.randint(20, 30)
                results = [
                    c.observation("cholesterol", CHOLESTEROL, cholesterol, draw, encounter=visit),
                    c.observation("hdl", HDL, hdl, draw, encounter=visit),
                    c.observation("ldl", LDL, ldl, draw, encounter=visit),
                ]
                c.lab_report("lipid-panel", LIPID_PANEL, results, visit)
                creatinine = 0.88 + rng.uniform(-0.05, 0.06)
                c.observation("creatinine", CREATININE, creatinine, draw, encounter=visit)
                c.observation(
                    "egfr", EGFR, egfr(round(creatinine, 2), age_on(birth, day), female=False), draw, encounter=visit
                )
                c.observation("uacr", UACR, rng.randint(6, 18), draw, encounter=visit)
                lines.append("Yearly labs: cholesterol, kidney function and urine albumin are normal.")
            lines += [
                "",
                "Plan: adjust the carbohydrate ratio as discussed; next visit in 3 months.",
                "",
                "Elena Garcia, MD",
            ]
            c.note(visit, "\n".join(lines), description="Visit note: type 1 diabetes follow-up", author=doctor)
            c.claim(visit, OFFICE_VISIT, 175 + rng.uniform(0, 70), coverage=coverage, paid_share=0.85)
        c.medication(
            "rx-glargine",
            GLARGINE,
            t - timedelta(days=18),
            days=30,
            quantity=10,
            unit="mL",
            dosage="Inject 22 units under the skin once daily at bedtime.",
            requester=doctor,
            reasons=[diabetes],
            refills=5,
        )
        c.medication(
            "rx-lispro",
            LISPRO,
            t - timedelta(days=9),
            days=30,
            quantity=20,
            unit="mL",
            dosage="Inject under the skin with meals: 1 unit per 10 g of carbohydrate, plus correction as directed.",
            requester=doctor,
            reasons=[diabetes],
            refills=5,
        )
        for day in flu_days(rng, first, t):
            c.immunization(FLU, day, performer=nurse)
        c.immunization(COVID_MRNA, weekday_near(first + timedelta(days=30)), performer=nurse, dose=1)
        c.immunization(COVID_MRNA, weekday_near(first + timedelta(days=51)), performer=nurse, dose=2)
        c.immunization(COVID, weekday_near(t - timedelta(days=380)), performer=nurse, dose=3)
        c.immunization(TDAP, weekday_near(first + timedelta(days=300)), performer=nurse)
        return c

    # --- Alex at St. Mary's: an emergency visit for a low blood sugar two years ago ---------------------------

    def alex_outside(self) -> Chart:
        t = self.today
        c = Chart(t, OUTSIDE, "alex-rivera", "alex-smr", ("Alex", "Rivera"), self.births["alex"])
        er_doctor = "smr-dr-ortiz"
        day = t - timedelta(days=730)
        c.patient("male", "SMR-5561840", day)
        coverage = c.coverage("prairie-health-plan", day - timedelta(days=400), day, "PHP-51077-01")
        visit = c.encounter(
            "emergency",
            day,
            EMERGENCY,
            practitioner=er_doctor,
            cls="EMER",
            reasons=(HYPOGLYCEMIA,),
            minutes=270,
            hour=14,
        )
        # The hospital lists his known type 1 diabetes too (the same code and onset as Riverside's problem list),
        # so the portal's problem list shows it once, from both sources.
        c.condition(DIABETES_1, add_months(self.births["alex"], 12 * 12 + 4), day, recorder=er_doctor, encounter=visit)
        c.condition(
            HYPOGLYCEMIA,
            day,
            day,
            recorder=er_doctor,
            category="encounter-diagnosis",
            status="resolved",
            abated=day,
            encounter=visit,
        )
        arrival = visit["period"]["start"]
        low = c.observation("glucose", GLUCOSE, 48, arrival, encounter=visit)
        panel = [
            low,
            c.observation("sodium", SODIUM, 139, arrival, encounter=visit),
            c.observation("potassium", POTASSIUM, 3.8, arrival, encounter=visit),
            c.observation("creatinine", CREATININE, 0.92, arrival, encounter=visit),
        ]
        c.lab_report("basic-panel", BASIC_PANEL, panel, visit)
        c.observation("glucose", GLUCOSE, 112, arrival[:11] + "16:05:00Z", encounter=visit)
        c.vital("heart-rate", HEART_RATE, 108, arrival, visit)
        c.blood_pressure(128, 82, arrival, visit)
        text = "\n".join(
            [
                "St. Mary's Regional Hospital - Emergency department note",
                "",
                f"Alex Rivera, {age_on(c.birth, day)}, with type 1 diabetes, brought in by a coworker: sweaty and",
                "confused after a run; he had taken his usual mealtime insulin and then skipped lunch.",
                "Glucose on arrival 48 mg/dL. Given IV dextrose; alert and talking normally within 15 minutes.",
                "Repeat glucose 112 mg/dL. Ate a meal in the department. Electrolytes and kidney function normal.",
                "",
                "Discharged home with a friend. Advised: carry fast sugar on runs, lower mealtime insulin on",
                "exercise days, and tell his diabetes team at Riverside Family Clinic this week.",
                "",
                "Luis Ortiz, MD (emergency medicine)",
            ]
        )
        c.note(
            visit,
            text,
            description="Emergency department note: low blood sugar",
            author=er_doctor,
            code=ED_NOTE,
            kind="ed-note",
        )
        c.claim(visit, ED_VISIT, 1865.0, coverage=coverage, paid_share=0.8)
        return c

    # --- Maria at Riverside ------------------------------------------------------------------------------

    def maria_riverside(self) -> Chart:
        t = self.today
        birth = self.births["maria"]
        c = Chart(t, RIVERSIDE, "maria-lopez", "maria", ("Maria", "Lopez"), birth)
        rng = c.rng
        doctor, nurse = "rfc-dr-nguyen", "rfc-nurse-lee"
        physicals = quarterly(rng, weekday_near(t - timedelta(days=150)), 5, step=365.25)
        first = physicals[0]
        c.patient(
            "female",
            "RFC-100871",
            first,
            telecom=[
                {"system": "phone", "value": "+1-312-555-0188", "use": "mobile"},
                {"system": "email", "value": "caregiver@demo.test"},
            ],
            address=[{"line": ["31 Birch Lane"], "city": "Riverside", "state": "IL", "postalCode": "60546"}],
            generalPractitioner=[ref("Practitioner", doctor)],
        )
        coverage = c.coverage("prairie-health-plan", first - timedelta(days=300), first, "PHP-88214-01")
        for k, day in enumerate(physicals):
            visit = c.encounter("physical", day, CHECK_UP, practitioner=doctor, minutes=40)
            start = visit["period"]["start"]
            systolic, diastolic = 118 + rng.randint(-6, 8), 76 + rng.randint(-5, 5)
            c.blood_pressure(systolic, diastolic, start, visit)
            weight = 66 + k * 0.4 + rng.uniform(-1, 1)
            c.vital("weight", WEIGHT, weight, start, visit)
            lines = [
                f"Annual physical, {long_date(day)}.",
                "",
                f"Maria Lopez, {age_on(birth, day)}. Feels well; busy caring for her mother and her son.",
                f"Blood pressure {systolic}/{diastolic}. Weight {weight:.1f} kg.",
            ]
            if k % 2 == 0:
                draw = start[:11] + "13:50:00Z"
                cholesterol, hdl = 192 + rng.randint(-10, 10), 61 + rng.randint(-4, 4)
                ldl = cholesterol - hdl - rng.randint(18, 26)
                results = [
                    c.observation("cholesterol", CHOLESTEROL, cholesterol, draw, encounter=visit),
                    c.observation("hdl", HDL, hdl, draw, encounter=visit),
                    c.observation("ldl", LDL, ldl, draw, encounter=visit),
                ]
                c.lab_report("lipid-panel", LIPID_PANEL, results, visit)
                lines.append(f"Cholesterol: total {cholesterol}, LDL {ldl}, HDL {hdl} mg/dL.")
            lines += [
                "Screening mammogram every two years; talked about caregiver stress and sleep.",
                "",
                "Plan: see you in a year.",
                "",
                "Anh Nguyen, MD",
            ]
            c.note(visit, "\n".join(lines), description="Visit note: annual physical", author=doctor)
            c.claim(visit, PREVENTIVE_ADULT, 260 + rng.uniform(0, 40), coverage=coverage, paid_share=1.0)
        for day in (weekday_near(t - timedelta(days=140)), weekday_near(t - timedelta(days=140 + 730))):
            if day <= first:
                continue
            visit = c.encounter(
                "mammogram-visit",
                day,
                Code(SNOMED, "268547008", "Screening for malignant neoplasm of breast", "Screening mammogram"),
                practitioner=doctor,
                minutes=20,
            )
            c.imaging(
                "mammogram",
                MAMMOGRAM,
                day,
                "BI-RADS 1: negative. Scattered fibroglandular tissue. Routine screening in 2 years.",
                modality="MG",
                views=["R CC", "L CC", "R MLO", "L MLO"],
                body_site=Code(SNOMED, "76752008", "Breast structure"),
                interpreter="rfc-dr-chen",
                encounter=visit,
            )
            c.claim(visit, MAMMOGRAM_CPT, 285.0, coverage=coverage, paid_share=1.0)
        c.immunization(FLU, flu_days(rng, t - timedelta(days=400), t)[-1], performer=nurse)
        return c

    def charts(self) -> list[Chart]:
        return [
            self.rosa_riverside(),
            self.rosa_outside(),
            self.leo_lakeside(),
            self.alex_riverside(),
            self.alex_outside(),
            self.maria_riverside(),
        ]


# Bundles, files and the config ---------------------------------------------------------------------------


def _bundle(chart: Chart) -> Resource:
    """A collection Bundle: the patient, the shared reference data their records name, then their records."""
    shared = {(r["resourceType"], r["id"]): r for r in [*REFERENCE_DATA[chart.site.prefix], *PAYERS]}
    named = {
        tuple(holder["reference"].split("/", 1)) for resource in chart.resources for holder in _references(resource)
    }
    reference_stamp = f"{(chart.today - timedelta(days=15 * 365)).isoformat()}T12:00:00Z"
    reference = [{**shared[key], "meta": {"lastUpdated": reference_stamp}} for key in sorted(shared) if key in named]
    patient, *records = chart.resources
    records.sort(key=lambda r: (r["meta"]["lastUpdated"], r["resourceType"], r["id"]))
    entries = [patient, *reference, *records]
    return {
        "resourceType": "Bundle",
        "id": f"demo-{chart.patient_id}",
        "type": "collection",
        "timestamp": max(r["meta"]["lastUpdated"] for r in entries),
        "entry": [{"fullUrl": f"{chart.site.base}/{r['resourceType']}/{r['id']}", "resource": r} for r in entries],
    }


def _references(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            found.append(node)
        for value in node.values():
            found += _references(value)
    elif isinstance(node, list):
        for item in node:
            found += _references(item)
    return found


def demo_bundles(today: date | None = None) -> dict[str, dict[str, Resource]]:
    """Every demo Bundle, by system prefix and then Patient id."""
    family = Family(today or date.today())
    bundles: dict[str, dict[str, Resource]] = {site.prefix: {} for site in SITES}
    for chart in family.charts():
        bundles[chart.site.prefix][chart.patient_id] = _bundle(chart)
    return bundles


def demo_config(redirect_uris: list[str]) -> dict[str, Any]:
    """The sandbox config for the three demo systems; each system's data is the folder named by its prefix."""
    return {
        "systems": [
            {
                "prefix": site.prefix,
                "name": site.name,
                "data": site.prefix,
                "clients": [{"client_id": CLIENT_ID, "redirect_uris": list(redirect_uris)}],
                "access_token_seconds": ACCESS_TOKEN_SECONDS,
            }
            for site in SITES
        ]
    }


def _write(path: Path, document: Any) -> None:
    """Write JSON with sorted keys; leave the file alone when it already holds exactly that."""
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text("utf-8") != text:
        path.write_text(text, "utf-8")


def write_demo(folder: Path, *, redirect_uris: list[str], today: date | None = None) -> Path:
    """Write the demo Bundles to `folder/<prefix>/<patient id>.json` and the config to `folder/config.json`.

    Returns the config's path. The same inputs give byte-identical files.
    """
    folder = Path(folder)
    for prefix, bundles in demo_bundles(today).items():
        (folder / prefix).mkdir(parents=True, exist_ok=True)
        for patient_id, bundle in bundles.items():
            _write(folder / prefix / f"{patient_id}.json", bundle)
    config = folder / "config.json"
    _write(config, demo_config(redirect_uris))
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fhir_sandbox.demo", description="Write the demo family's FHIR bundles and a sandbox config."
    )
    parser.add_argument("folder", type=Path, help="where to write <prefix>/<patient>.json and config.json")
    parser.add_argument(
        "--redirect-uri", action="append", required=True, dest="redirect_uris", help="the portal's SMART callback URL"
    )
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    args = parser.parse_args(argv)
    config = write_demo(args.folder, redirect_uris=args.redirect_uris, today=args.today)
    sys.stdout.write(f"{config}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
