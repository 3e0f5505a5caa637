"""From a raw FHIR R4 resource to the projection every page reads.

Pure functions of the resource's JSON (no models, no database), so that they
are cheap on the ingest path and easy to test on any corpus. Unknown types and
odd shapes give a thinner projection, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

# Stored with every row's projection. Raise it whenever a change here would project a stored resource
# differently; `manage.py reproject` (or the records.reproject task) then re-derives the older rows from
# their raw JSON. Rows stored before versions existed carry 0.
PROJECTION_VERSION = 3  # 2: interpretation, who ordered and performed, a report's results, note attachments;
# 3: the kind of sensitive item (sensitive_category), which a patient may choose to show to a helper

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
PREFERRED_SYSTEMS = (LOINC, RXNORM, CVX, SNOMED)

# meta.security confidentiality codes (v3 Confidentiality) and sensitivity codes (v3 ActCode).
CONFIDENTIAL_CODES = frozenset({"R", "V"})
SENSITIVE_CODES = frozenset(
    {
        "ETH",
        "GDIS",
        "HIV",
        "MST",
        "PSY",
        "SCA",
        "SDV",
        "SEX",
        "SICKLE",
        "STD",
        "TBOO",
        "BH",
        "PREGNANT",
        "PSYTHPN",
        "SUD",
        "DEMO",
        "DIA",
        "EMP",
        "LOCIS",
        "PDS",
        "PRS",
        "RELIG",
        "SOC",
    }
)
SENSITIVE_CATEGORIES = frozenset(
    {
        "behavioral-health",
        "mental-health",
        "substance-abuse",
        "substance-use",
        "sexual-health",
        "reproductive-health",
        "hiv",
        "genetics",
    }
)
# The kinds of sensitive item a patient may choose to show to someone who helps them, by the codes that
# mark them (meta.security and category codes, lower-cased); confidentiality alone (R, V) is "restricted".
SENSITIVE_GROUPS: dict[str, frozenset[str]] = {
    "mental_health": frozenset({"psy", "psythpn", "bh", "behavioral-health", "mental-health"}),
    "substance_use": frozenset({"eth", "sud", "substance-abuse", "substance-use"}),
    "sexual_health": frozenset({"sex", "std", "pregnant", "sexual-health", "reproductive-health"}),
    "hiv": frozenset({"hiv"}),
    "genetics": frozenset({"genetics", "sickle", "sca"}),
}
ABNORMAL_INTERPRETATIONS = frozenset({"H", "L", "HH", "LL", "HU", "LU", "A", "AA", ">", "<", "POS", "DET"})
NORMAL_INTERPRETATIONS = frozenset({"N", "NEG", "ND"})
# Interpretations kept for their words but that say nothing about normal or not on their own.
OTHER_INTERPRETATIONS = frozenset({"IND", "E", "W", "B", "U", "D", "R", "S", "I"})
# Result statuses people are told about: the value changed after it was first reported.
REVISED_STATUSES = frozenset({"corrected", "amended"})


@dataclass
class Projection:
    kind: str
    effective_at: datetime | None = None
    code_system: str = ""
    code: str = ""
    display: str = ""
    status: str = ""
    value_number: float | None = None
    value_text: str = ""
    unit: str = ""
    ref_low: float | None = None
    ref_high: float | None = None
    ref_text: str = ""
    abnormal: bool | None = None
    sensitivity: str = "normal"
    sensitive_category: str = ""  # for a sensitive item: a key of SENSITIVE_GROUPS, "restricted" or "other"
    details: dict[str, Any] = field(default_factory=dict)


# Small readers --------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, limit: int = 500) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


class PartialDate(datetime):
    """A FHIR date without a time (a day, a month or a year), kept at noon UTC.

    Noon, so that the day reads the same in every time zone from UTC-11 to UTC+12; `precision` tells the pages
    to show only what is known ("2026", "March 2026").
    """

    precision: str = "day"


def _partial(day: date, precision: str) -> PartialDate:
    moment = PartialDate(day.year, day.month, day.day, 12, tzinfo=UTC)
    moment.precision = precision
    return moment


def parse_instant(value: Any) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware datetime (dates as a PartialDate, at noon UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        # A dateTime has a "T"; without one it is a date (Python would read "2026-03-01" as midnight).
        moment = parse_datetime(value) if "T" in value else None
    except ValueError:
        moment = None
    if moment is not None:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        if len(value) == 4 and value.isdigit():
            return _partial(date(int(value), 1, 1), "year")
        if len(value) == 7 and value[4] == "-":
            return _partial(date(int(value[:4]), int(value[5:7]), 1), "month")
        day = parse_date(value)
    except ValueError:
        return None
    return _partial(day, "day") if day else None


def first_of(resource: dict[str, Any], *paths: str) -> datetime | None:
    """The first date found among `paths` (dotted, e.g. 'effectivePeriod.start')."""
    for path in paths:
        node: Any = resource
        for part in path.split("."):
            node = _dict(node).get(part)
        found = parse_instant(node)
        if found is not None:
            return found
    return None


def concept(value: Any) -> tuple[str, str, str]:
    """(system, code, display) of a CodeableConcept, preferring LOINC, RxNorm, CVX, then SNOMED."""
    concept_ = _dict(value)
    codings = [c for c in _list(concept_.get("coding")) if isinstance(c, dict)]
    chosen: dict[str, Any] = {}
    for system in PREFERRED_SYSTEMS:
        chosen = next((c for c in codings if c.get("system") == system), {})
        if chosen:
            break
    if not chosen and codings:
        chosen = codings[0]
    display = _text(concept_.get("text")) or _text(chosen.get("display"))
    return _text(chosen.get("system"), 200), _text(chosen.get("code"), 100), display


def _codes(value: Any) -> set[str]:
    return {str(c.get("code")) for c in _list(_dict(value).get("coding")) if isinstance(c, dict) and c.get("code")}


def _status(resource: dict[str, Any], key: str = "status") -> str:
    value = resource.get(key)
    if isinstance(value, dict):  # clinicalStatus and friends are CodeableConcepts
        return next(iter(sorted(_codes(value))), "")[:64]
    return _text(value, 64)


def _reference_display(value: Any) -> str:
    return _text(_dict(value).get("display"))


def _name(value: Any) -> str:
    names = [n for n in _list(value) if isinstance(n, dict)]
    if not names:
        return _text(value) if isinstance(value, str) else ""
    chosen = next((n for n in names if n.get("use") == "official"), names[0])
    if chosen.get("text"):
        return _text(chosen["text"])
    given = " ".join(g for g in _list(chosen.get("given")) if isinstance(g, str))
    return f"{given} {chosen.get('family', '')}".strip()[:500]


def _who(resource: dict[str, Any], *keys: str) -> str:
    """The display of the first reference among `keys` (a Reference or a list of them), e.g. who ordered a test."""
    for key in keys:
        value = resource.get(key)
        for reference in _list(value) if isinstance(value, list) else [value]:
            reference = _dict(reference)
            display = _reference_display(reference) or _reference_display(reference.get("actor"))
            if display:
                return display[:200]
    return ""


def _reference_ids(value: Any, resource_type: str) -> list[str]:
    """The ids of the `resource_type` resources a list of References points at (relative references only)."""
    found: list[str] = []
    for reference in _list(value):
        target = _text(_dict(reference).get("reference"), 200)
        if target.startswith(f"{resource_type}/"):
            found.append(target.split("/", 1)[1].split("/_history", 1)[0][:64])
        elif target.startswith("urn:uuid:"):
            found.append(target[len("urn:uuid:") :][:64])
    return found[:200]


def sensitivity_of(resource: dict[str, Any]) -> str:
    security = {str(c.get("code")) for c in _list(_dict(resource.get("meta")).get("security")) if isinstance(c, dict)}
    if security & CONFIDENTIAL_CODES:
        return "confidential"
    if security & SENSITIVE_CODES:
        return "sensitive"
    for category in _list(resource.get("category")):
        if {code.lower() for code in _codes(category)} & SENSITIVE_CATEGORIES:
            return "sensitive"
    return "normal"


def sensitive_category_of(resource: dict[str, Any], sensitivity: str) -> str:
    """Which kind of sensitive item this is ("" for a normal one): the first group its codes name."""
    if sensitivity == "normal":
        return ""
    security = {str(c.get("code")) for c in _list(_dict(resource.get("meta")).get("security")) if isinstance(c, dict)}
    codes = {code.lower() for code in security}
    for category in _list(resource.get("category")):
        codes |= {code.lower() for code in _codes(category)}
    for group, members in SENSITIVE_GROUPS.items():
        if codes & members:
            return group
    return "restricted" if security & CONFIDENTIAL_CODES else "other"


# Observations and their values ------------------------------------------------------------------------


def _quantity(value: Any) -> tuple[float | None, str]:
    quantity = _dict(value)
    return _number(quantity.get("value")), _text(quantity.get("unit") or quantity.get("code"), 64)


def _observation_value(resource: dict[str, Any], projection: Projection) -> None:
    if "valueQuantity" in resource:
        projection.value_number, projection.unit = _quantity(resource["valueQuantity"])
    elif "valueCodeableConcept" in resource:
        projection.value_text = concept(resource["valueCodeableConcept"])[2]
    elif isinstance(resource.get("valueString"), str):
        projection.value_text = resource["valueString"][:2000]
    elif "valueBoolean" in resource:
        projection.value_text = "yes" if resource["valueBoolean"] else "no"
    elif _number(resource.get("valueInteger")) is not None:
        projection.value_number = _number(resource["valueInteger"])
    components = [c for c in _list(resource.get("component")) if isinstance(c, dict)]
    if components and projection.value_number is None and not projection.value_text:
        parts: list[dict[str, Any]] = []
        for component in components:
            number, unit = _quantity(component.get("valueQuantity"))
            if number is not None:
                parts.append(
                    {
                        "code": concept(component.get("code"))[1],
                        "display": concept(component.get("code"))[2],
                        "value": number,
                        "unit": unit,
                    }
                )
        if parts:
            projection.details["components"] = parts
            projection.value_text = "/".join(f"{p['value']:g}" for p in parts)
            projection.unit = str(parts[0]["unit"])
    ranges = [r for r in _list(resource.get("referenceRange")) if isinstance(r, dict)]
    if ranges:
        projection.ref_low = _quantity(ranges[0].get("low"))[0]
        projection.ref_high = _quantity(ranges[0].get("high"))[0]
        projection.ref_text = _text(ranges[0].get("text"), 200)
    interpretation = (
        set().union(*(_codes(i) for i in _list(resource.get("interpretation"))))
        if _list(resource.get("interpretation"))
        else set()
    )
    known = sorted(interpretation & (ABNORMAL_INTERPRETATIONS | NORMAL_INTERPRETATIONS | OTHER_INTERPRETATIONS))
    if known:
        projection.details["interpretation"] = known[0][:8]
    if interpretation & ABNORMAL_INTERPRETATIONS:
        projection.abnormal = True
    elif interpretation & NORMAL_INTERPRETATIONS:
        projection.abnormal = False
    elif projection.value_number is not None and (projection.ref_low is not None or projection.ref_high is not None):
        below = projection.ref_low is not None and projection.value_number < projection.ref_low
        above = projection.ref_high is not None and projection.value_number > projection.ref_high
        projection.abnormal = below or above


def _observation(resource: dict[str, Any]) -> Projection:
    categories = (
        set().union(*(_codes(c) for c in _list(resource.get("category")))) if _list(resource.get("category")) else set()
    )
    kind = "vital" if "vital-signs" in categories else "lab" if "laboratory" in categories else "observation"
    system, code, display = concept(resource.get("code"))
    projection = Projection(
        kind=kind,
        code_system=system,
        code=code,
        display=display,
        status=_status(resource),
        effective_at=first_of(resource, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    )
    _observation_value(resource, projection)
    _add_people(projection, ordered_by=_who(resource, "basedOn"), performed_by=_who(resource, "performer"))
    return projection


def _add_people(projection: Projection, **people: str) -> None:
    for key, name in people.items():
        if name:
            projection.details[key] = name


# Every other supported type ----------------------------------------------------------------------------


def _coded(kind: str, code_key: str, *date_paths: str, status_key: str = "status"):  # type: ignore[no-untyped-def]
    def project(resource: dict[str, Any]) -> Projection:
        value = resource.get(code_key)
        if isinstance(value, list):
            value = value[0] if value else {}
        system, code, display = concept(value)
        return Projection(
            kind=kind,
            code_system=system,
            code=code,
            display=display,
            status=_status(resource, status_key),
            effective_at=first_of(resource, *date_paths),
        )

    return project


def _diagnostic_report(resource: dict[str, Any]) -> Projection:
    categories = (
        set().union(*(_codes(c) for c in _list(resource.get("category")))) if _list(resource.get("category")) else set()
    )
    kind = (
        "imaging"
        if categories & {"RAD", "IMG", "LP29684-5", "18748-4"}
        else "lab"
        if categories & {"LAB", "CH", "HM", "MB", "LP29693-6"}
        else "report"
    )
    system, code, display = concept(resource.get("code"))
    projection = Projection(
        kind=kind,
        code_system=system,
        code=code,
        display=display,
        status=_status(resource),
        effective_at=first_of(resource, "effectiveDateTime", "effectivePeriod.start", "issued"),
        value_text=_text(resource.get("conclusion"), 4000),
    )
    results = _reference_ids(resource.get("result"), "Observation")
    if results:
        projection.details["results"] = results
    _add_people(projection, ordered_by=_who(resource, "basedOn"), performed_by=_who(resource, "performer"))
    return projection


def _medication(resource: dict[str, Any], date_paths: tuple[str, ...]) -> Projection:
    system, code, display = concept(resource.get("medicationCodeableConcept"))
    if not display:
        reference = _dict(resource.get("medicationReference"))
        display = _reference_display(reference)
        target = _text(reference.get("reference"))
        if target.startswith("#"):  # a contained Medication
            for contained in _list(resource.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == target[1:]:
                    system, code, display = concept(contained.get("code"))
    projection = Projection(
        kind="medication",
        code_system=system,
        code=code,
        display=display,
        status=_status(resource),
        effective_at=first_of(resource, *date_paths),
    )
    dosage = [d for d in _list(resource.get("dosageInstruction") or resource.get("dosage")) if isinstance(d, dict)]
    if dosage:
        projection.value_text = _text(dosage[0].get("text"), 1000)
    dispense = _dict(resource.get("dispenseRequest"))
    supply_days = _number(_dict(dispense.get("expectedSupplyDuration")).get("value"))
    if supply_days is not None:
        projection.details["days_supply"] = supply_days
    refills = _number(dispense.get("numberOfRepeatsAllowed"))
    if refills is not None:
        projection.details["refills"] = int(refills)
    _add_people(projection, ordered_by=_who(resource, "requester", "informationSource"))
    return projection


def _money(resource: dict[str, Any]) -> Projection:
    system, code, display = concept(resource.get("type"))
    projection = Projection(
        kind="claim",
        code_system=system,
        code=code,
        display=display,
        status=_status(resource),
        effective_at=first_of(resource, "billablePeriod.start", "created"),
    )
    totals = resource.get("total")
    amount = (
        _dict(totals)
        if isinstance(totals, dict)
        else _dict(next((_dict(t).get("amount") for t in _list(totals) if isinstance(t, dict)), {}))
    )
    payment = _dict(_dict(resource.get("payment")).get("amount"))
    chosen = amount if amount else payment
    projection.value_number = _number(chosen.get("value"))
    projection.unit = _text(chosen.get("currency"), 8)
    return projection


def _named(kind: str, *date_paths: str):  # type: ignore[no-untyped-def]
    def project(resource: dict[str, Any]) -> Projection:
        display = _name(resource.get("name")) if resource.get("name") else _text(resource.get("description"))
        return Projection(
            kind=kind,
            display=display,
            status=_status(resource),
            effective_at=first_of(resource, *date_paths) if date_paths else None,
        )

    return project


def _patient(resource: dict[str, Any]) -> Projection:
    return Projection(
        kind="patient",
        display=_name(resource.get("name")),
        effective_at=first_of(resource, "birthDate"),
        details={"gender": _text(resource.get("gender"), 20)},
    )


def _goal(resource: dict[str, Any]) -> Projection:
    return Projection(
        kind="goal",
        display=concept(resource.get("description"))[2],
        status=_status(resource, "lifecycleStatus"),
        effective_at=first_of(resource, "startDate"),
    )


def _care_plan(resource: dict[str, Any]) -> Projection:
    categories = _list(resource.get("category"))
    system, code, display = concept(categories[0] if categories else {})
    return Projection(
        kind="care_plan",
        code_system=system,
        code=code,
        display=_text(resource.get("title")) or display,
        status=_status(resource),
        effective_at=first_of(resource, "period.start", "created"),
    )


def _coverage(resource: dict[str, Any]) -> Projection:
    system, code, display = concept(resource.get("type"))
    payors = [_reference_display(p) for p in _list(resource.get("payor"))]
    return Projection(
        kind="coverage",
        code_system=system,
        code=code,
        display=next((p for p in payors if p), display),
        status=_status(resource),
        effective_at=first_of(resource, "period.start"),
    )


def _document(resource: dict[str, Any]) -> Projection:
    system, code, display = concept(resource.get("type"))
    projection = Projection(
        kind="document",
        code_system=system,
        code=code,
        display=_text(resource.get("description")) or display,
        status=_status(resource),
        effective_at=first_of(resource, "date", "context.period.start"),
    )
    attachments = document_attachments(resource)
    if attachments:
        projection.details["attachments"] = attachments
    encounter = document_encounter(resource)
    if encounter:
        projection.details["encounter"] = encounter
    _add_people(projection, performed_by=_who(resource, "author"))
    return projection


def document_attachments(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """What each attachment of a DocumentReference is (never its content), the first 20.

    The detail page shows text and HTML, and offers the rest for download through an authorized view.
    """
    attachments = []
    for index, content in enumerate(_list(resource.get("content"))[:20]):
        attachment = _dict(_dict(content).get("attachment"))
        if attachment:
            attachments.append(
                {
                    "index": index,
                    "type": _text(attachment.get("contentType"), 100).split(";")[0].strip().lower(),
                    "title": _text(attachment.get("title"), 200),
                    "inline": isinstance(attachment.get("data"), str),
                }
            )
    return attachments


def document_encounter(resource: dict[str, Any]) -> str:
    """The id of the visit (Encounter) a DocumentReference belongs to: the first of `context.encounter`.

    R4 makes it a list of References; STU3 files carry one Reference. Relative references and urn:uuid only, as
    elsewhere, so the id is the Encounter's own id in the same source.
    """
    value = _dict(resource.get("context")).get("encounter")
    found = _reference_ids(value if isinstance(value, list) else [value], "Encounter")
    return found[0] if found else ""


PROJECTORS: dict[str, Any] = {
    "Observation": _observation,
    "DiagnosticReport": _diagnostic_report,
    "MedicationRequest": lambda r: _medication(r, ("authoredOn",)),
    "MedicationStatement": lambda r: _medication(r, ("effectiveDateTime", "effectivePeriod.start", "dateAsserted")),
    "AllergyIntolerance": _coded("allergy", "code", "onsetDateTime", "recordedDate", status_key="clinicalStatus"),
    "Condition": _coded(
        "problem", "code", "onsetDateTime", "onsetPeriod.start", "recordedDate", status_key="clinicalStatus"
    ),
    "Immunization": _coded("immunization", "vaccineCode", "occurrenceDateTime", "recorded"),
    "Encounter": _coded("visit", "type", "period.start"),
    "Procedure": _coded("procedure", "code", "performedDateTime", "performedPeriod.start"),
    "DocumentReference": _document,
    "CarePlan": _care_plan,
    "Goal": _goal,
    "CareTeam": _named("care_team", "period.start"),
    "Coverage": _coverage,
    "ExplanationOfBenefit": _money,
    "Claim": _money,
    "Appointment": lambda r: Projection(
        kind="appointment",
        display=_text(r.get("description"))
        or concept(_list(r.get("serviceType"))[0] if _list(r.get("serviceType")) else {})[2],
        status=_status(r),
        effective_at=first_of(r, "start"),
    ),
    "Device": lambda r: Projection(
        kind="device",
        display=concept(r.get("type"))[2]
        or _text(next((_dict(n).get("name") for n in _list(r.get("deviceName"))), "")),
        status=_status(r),
    ),
    "ImagingStudy": lambda r: Projection(
        kind="imaging",
        display=_text(r.get("description"))
        or concept(_list(r.get("procedureCode"))[0] if _list(r.get("procedureCode")) else {})[2],
        status=_status(r),
        effective_at=first_of(r, "started"),
    ),
    "Patient": _patient,
    "Practitioner": _named("practitioner"),
    "Organization": _named("organization"),
    "Location": _named("location"),
}


def project(resource: dict[str, Any]) -> Projection:
    """The projection of any resource; unknown types get the generic one."""
    projector = PROJECTORS.get(str(resource.get("resourceType")))
    if projector is not None:
        projection: Projection = projector(resource)
    else:
        projection = Projection(
            kind="other",
            display=_text(_dict(resource.get("code")).get("text")),
            status=_status(resource),
            effective_at=first_of(
                resource, "date", "created", "authoredOn", "issued", "recorded", "occurrenceDateTime"
            ),
        )
    projection.sensitivity = sensitivity_of(resource)
    projection.sensitive_category = sensitive_category_of(resource, projection.sensitivity)
    if isinstance(projection.effective_at, PartialDate):
        projection.details["date_precision"] = projection.effective_at.precision
    return projection
