"""The record's API (/api/v1/patients/{id}/…): the pages' reads as JSON, with the same scoping and audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.validation import validate_schema

from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, Patient
from records.models import ConnectionStatus, FhirResource, RecordSource
from records.sections import SECTIONS
from tests.conftest import World, create_token_for, sign_in
from tests.records.record_data import condition, immunization, lab, medication, source_for, store
from tests.security.test_authorization_matrix import snapshot

MMOL_A1C = 64.0  # mmol/mol: 8.0 % by the IFCC-NGSP master equation


def record_for(patient: Patient, first: RecordSource) -> dict[str, int]:
    """A record from two sources that share a problem, a vaccine and an HbA1c (one of them in mmol/mol)."""
    second = source_for(patient, "County Hospital")
    shared = (condition("t1d", "Type 1 diabetes"), immunization("flu-2025"))
    soon = (timezone.now() + timedelta(days=3)).isoformat()
    store(
        first,
        *shared,
        lab("a1c-1", when="2026-03-01T09:00:00Z", basedOn=[{"display": "Dr. Casey Nguyen"}]),
        lab("a1c-0", value=7.1, when="2025-09-01T09:00:00Z", status="corrected"),
        lab("hiv-1", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV"),
        lab("bp-1", code="85354-9", display="Blood pressure", value=None, low=None, high=None, interpretation="",
            category="vital-signs", component=[
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic"}]},
                 "valueQuantity": {"value": 128, "unit": "mm[Hg]"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic"}]},
                 "valueQuantity": {"value": 82, "unit": "mm[Hg]"}},
            ]),
        medication("insulin"),
        {"resourceType": "AllergyIntolerance", "id": "pen", "clinicalStatus": {"coding": [{"code": "active"}]},
         "code": {"text": "Penicillin"}, "recordedDate": "2020-01-01"},
        {"resourceType": "Appointment", "id": "appt-1", "status": "booked", "start": soon,
         "description": "Diabetes check-up"},
        {"resourceType": "DiagnosticReport", "id": "panel-1", "status": "final", "code": {"text": "Diabetes panel"},
         "category": [{"coding": [{"code": "LAB"}]}], "effectiveDateTime": "2026-03-01T09:00:00Z",
         "result": [{"reference": "Observation/a1c-1"}]},
    )  # fmt: skip
    store(second, *shared, lab("a1c-2", value=MMOL_A1C, unit="mmol/mol", when="2026-06-01T09:00:00Z", low=20, high=42))
    ids = {
        row.resource_id: row.pk
        for row in FhirResource.objects.filter(patient=patient).only("pk", "resource_id", "source_id")
        if row.source_id == first.pk or row.resource_id == "a1c-2"
    }
    return {**ids, "first": first.pk, "second": second.pk}


@pytest.fixture
def rosa(world: World) -> dict[str, int]:
    return record_for(world.people["rosa"], world.rosa_connection.source)


@pytest.fixture
def alex(world: World) -> dict[str, int]:
    return record_for(world.patient_record, source_for(world.patient_record, "Riverside Family Clinic"))


# Who reads whose record: the patient his own, a records caregiver Rosa's.
READERS = {"patient": lambda w: w.patient_record, "caregiver_records": lambda w: w.people["rosa"]}


def url(name: str, patient: Patient | str, *args: object) -> str:
    return reverse(name, args=[str(getattr(patient, "pk", patient)), *args])


def get(client: Client, name: str, patient: Patient | str, *args: object, **query: Any) -> Any:
    headers = query.pop("headers", {})
    response = client.get(url(name, patient, *args), query, headers=headers)
    assert response.status_code == 200, (response.status_code, response.content[:500])
    return response.json()


def records_audit() -> list[tuple[str, Any, str, str]]:
    return list(
        AuditEvent.objects.filter(action__startswith="records.")
        .order_by("pk")
        .values_list("action", "subject_patient_id", "object_type", "object_id")
    )


# One call per endpoint: (url name, path args after the patient, the audit action the pages use).
def endpoints(ids: dict[str, int]) -> list[tuple[str, tuple[object, ...], AuditAction]]:
    return [
        ("api-record-summary", (), AuditAction.RECORDS_SUMMARY_VIEWED),
        ("api-record-timeline", (), AuditAction.RECORDS_TIMELINE_VIEWED),
        ("api-record-results", (), AuditAction.RECORDS_RESULTS_VIEWED),
        ("api-record-result", (ids["a1c-1"],), AuditAction.RECORDS_RESULT_VIEWED),
        ("api-record-section", ("immunizations",), AuditAction.RECORDS_SECTION_VIEWED),
        ("api-record-item", (ids["t1d"],), AuditAction.RECORDS_ITEM_VIEWED),
        ("api-record-preventive-care", (), AuditAction.RECORDS_SECTION_VIEWED),
        ("api-record-sources", (), AuditAction.RECORDS_CONNECTIONS_LISTED),
    ]


@pytest.mark.parametrize("persona", list(READERS))
def test_every_endpoint_answers_and_is_audited_for_anyone_but_the_patient(
    client: Client, world: World, rosa: dict[str, int], alex: dict[str, int], persona: str
) -> None:
    patient = READERS[persona](world)
    ids = alex if persona == "patient" else rosa
    sign_in(client, world, persona)
    for name, args, action in endpoints(ids):
        before = records_audit()
        get(client, name, patient, *args)
        added = records_audit()[len(before) :]
        if persona == "patient":
            assert added == [], name  # the person's own reads are not recorded (as on the pages)
            continue
        object_id = str(args[0]) if name in ("api-record-result", "api-record-item") else ""
        object_type = "fhirresource" if object_id else ""
        assert added == [(action.value, patient.pk, object_type, object_id)], name


@pytest.mark.parametrize("persona", list(READERS))
def test_the_summary_has_what_the_page_shows(client: Client, world: World, rosa: Any, alex: Any, persona: str) -> None:
    world.rosa_connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    world.rosa_connection.save()
    sign_in(client, world, persona)
    summary = get(client, "api-record-summary", READERS[persona](world))
    problem = next(p for p in summary["problems"] if p["name"] == "Type 1 diabetes")
    assert problem["copies"] == 2
    assert len(problem["sources"]) == 2
    assert problem["is_current"] is True
    assert [m["name"] for m in summary["medications"]] == ["Insulin glargine"]
    assert [a["name"] for a in summary["allergies"]] == ["Penicillin"]
    assert [u["name"] for u in summary["upcoming"]] == ["Diabetes check-up"]
    assert [v["name"] for v in summary["vitals"]] == ["Blood pressure"]
    assert summary["preventive_care"]
    assert {c["status"] for c in summary["preventive_care"]} <= {"due", "up_to_date"}
    needing = summary["connections_needing_attention"]
    if persona == "caregiver_records":
        assert [(c["health_system"], c["status"]) for c in needing] == [("Outside Hospital", "needs_reauth")]
    else:
        assert needing == []
    assert summary["since"] is None
    assert summary["new"] == []


def test_the_timeline_filters_as_the_page_does(client: Client, world: World, rosa: dict[str, int]) -> None:
    rosa_patient = world.people["rosa"]
    sign_in(client, world, "caregiver_records")
    everything = get(client, "api-record-timeline", rosa_patient)
    names = [item["name"] for item in everything["results"]]
    assert names.count("Influenza vaccine") == 1  # one vaccine from two sources
    assert everything["count"] >= len(names)
    vaccines = get(client, "api-record-timeline", rosa_patient, kind="immunization")["results"]
    assert [(v["name"], v["copies"]) for v in vaccines] == [("Influenza vaccine", 2)]
    second = get(client, "api-record-timeline", rosa_patient, source=rosa["second"])["results"]
    assert {s["sources"][0] for s in second} == {"County Hospital"}
    day = get(client, "api-record-timeline", rosa_patient, on="2026-06-01")["results"]
    assert [d["id"] for d in day] == [rosa["a1c-2"]]
    ranged = get(client, "api-record-timeline", rosa_patient, **{"from": "2025-08-01", "to": "2025-12-31"})["results"]
    assert {r["name"] for r in ranged} == {"Hemoglobin A1c", "Influenza vaccine"}
    paged = get(client, "api-record-timeline", rosa_patient, page_size=2)
    assert len(paged["results"]) <= 2
    assert paged["next"]


def test_bad_timeline_filters_are_400_with_field_messages(client: Client, world: World, rosa: Any, alex: Any) -> None:
    sign_in(client, world, "caregiver_records")
    target = url("api-record-timeline", world.people["rosa"])
    alex_source = RecordSource.objects.filter(patient=world.patient_record).first()
    before, audited = snapshot(), records_audit()
    for query, field in (
        ({"kind": "spaceship"}, "kind"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-40"}, "to"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "to"),
        ({"on": "2026-05-01", "from": "2026-04-01"}, "on"),
        ({"source": "abc"}, "source"),
        ({"source": alex_source.pk}, "source"),  # another person's source: not one of this record's
    ):
        response = client.get(target, query)
        assert response.status_code == 400, query
        assert list(response.json()) == [field], response.json()
    assert snapshot() == before
    assert records_audit() == audited


def test_results_list_each_test_once_with_its_latest_value(client: Client, world: World, rosa: Any) -> None:
    sign_in(client, world, "caregiver_records")
    lines = get(client, "api-record-results", world.people["rosa"])["results"]
    a1c = next(line for line in lines if line["loinc"] == "4548-4")
    assert a1c["count"] == 3
    assert a1c["latest"]["id"] == rosa["a1c-2"]
    assert "previous" not in a1c  # every value is the result's trend (results/{id}/)
    vitals = get(client, "api-record-results", world.people["rosa"], kind="vital")["results"]
    assert [v["name"] for v in vitals] == ["Blood pressure"]
    bad = client.get(url("api-record-results", world.people["rosa"]), {"kind": "x"})
    assert bad.status_code == 400
    assert list(bad.json()) == ["kind"]


def test_a_result_in_detail(client: Client, world: World, rosa: dict[str, int]) -> None:
    sign_in(client, world, "caregiver_records")
    result = get(client, "api-record-result", world.people["rosa"], rosa["a1c-1"])
    assert (result["value_number"], result["unit"]) == (7.9, "%")
    assert result["reference_range"] == {"low": 4.0, "high": 5.6, "text": ""}
    assert result["flag"] == "H"
    assert result["flag_words"]["code"] == "H"
    assert result["flag_words"]["words"]
    assert result["ordered_by"] == "Dr. Casey Nguyen"
    assert result["report"]["name"] == "Diabetes panel"
    assert [r["id"] for r in result["report_results"]] == [rosa["a1c-1"]]
    assert result["revised"] is False
    assert result["explanation"]["loinc"] == "4548-4"
    assert result["explanation"]["about"]
    trend = result["trend"]
    # Three values from two sources, the one in mmol/mol converted to %, oldest first.
    assert trend["unit"] == "%"
    assert trend["left_out"] == 0
    assert [round(p["value"], 1) for p in trend["points"]] == [7.1, 7.9, 8.0]
    assert trend["points"][-1]["sources"] == "County Hospital"
    assert [h["id"] for h in result["history"]] == [rosa["a1c-2"], rosa["a1c-1"], rosa["a1c-0"]]
    assert result["history"][-1]["status"] == "corrected"
    corrected = get(client, "api-record-result", world.people["rosa"], rosa["a1c-0"])
    assert corrected["revised"] is True
    panel = get(client, "api-record-result", world.people["rosa"], rosa["bp-1"])
    assert [(c["display"], c["value"]) for c in panel["components"]] == [("Systolic", 128.0), ("Diastolic", 82.0)]
    # Not an Observation: no result here (the item endpoint has it).
    assert client.get(url("api-record-result", world.people["rosa"], rosa["t1d"])).status_code == 404


def test_words_follow_accept_language(client: Client, world: World, rosa: dict[str, int]) -> None:
    sign_in(client, world, "caregiver_records")
    rosa_patient = world.people["rosa"]
    english = get(client, "api-record-result", rosa_patient, rosa["a1c-1"], headers={"accept-language": "en"})
    spanish_call = client.get(url("api-record-result", rosa_patient, rosa["a1c-1"]), headers={"accept-language": "es"})
    assert spanish_call.status_code == 200
    assert spanish_call["Content-Language"] == "es"
    assert "Accept-Language" in spanish_call["Vary"]
    spanish = spanish_call.json()
    assert spanish["explanation"]["about"] != english["explanation"]["about"]
    assert spanish["flag_words"]["words"] != english["flag_words"]["words"]
    assert spanish["kind_label"] != english["kind_label"]
    care_en = get(client, "api-record-preventive-care", rosa_patient, headers={"accept-language": "en"})["results"]
    care_es = get(client, "api-record-preventive-care", rosa_patient, headers={"accept-language": "es-MX,es;q=0.9"})
    english_titles = {c["rule"]: c["title"] for c in care_en}
    spanish_titles = {c["rule"]: c["title"] for c in care_es["results"]}
    assert set(english_titles) == set(spanish_titles)
    assert all(english_titles[rule] != spanish_titles[rule] for rule in english_titles)


def test_every_section_lists_its_items_once_with_their_sources(client: Client, world: World, rosa: Any) -> None:
    sign_in(client, world, "caregiver_records")
    rosa_patient = world.people["rosa"]
    for slug in SECTIONS:
        get(client, "api-record-section", rosa_patient, slug)
    vaccines = get(client, "api-record-section", rosa_patient, "immunizations")
    assert vaccines["count"] == 1
    assert sorted(vaccines["results"][0]["sources"]) == ["County Hospital", "Outside Hospital"]
    assert client.get(url("api-record-section", rosa_patient, "no-such-part")).status_code == 404


def test_an_item_with_its_sources_and_the_fhir_resource(client: Client, world: World, rosa: dict[str, int]) -> None:
    sign_in(client, world, "caregiver_records")
    item = get(client, "api-record-item", world.people["rosa"], rosa["t1d"])
    assert item["name"] == "Type 1 diabetes"
    assert item["kind"] == "problem"
    assert sorted(item["sources"]) == ["County Hospital", "Outside Hospital"]
    assert item["copies"] == 2
    assert item["raw"]["resourceType"] == "Condition"
    assert item["raw"]["id"] == "t1d"
    report = get(client, "api-record-item", world.people["rosa"], rosa["panel-1"])
    assert [r["id"] for r in report["report_results"]] == [rosa["a1c-1"]]


def test_sources_with_what_the_reader_may_see(client: Client, world: World, rosa: dict[str, int]) -> None:
    sign_in(client, world, "caregiver_records")
    sources = get(client, "api-record-sources", world.people["rosa"])["results"]
    by_name = {s["name"]: s for s in sources}
    assert by_name["Outside Hospital"]["kind"] == "connection"
    assert by_name["Outside Hospital"]["connection"]["status"] == "active"
    assert by_name["County Hospital"]["connection"] is None
    assert by_name["County Hospital"]["items"] == 3  # problem, vaccine, HbA1c
    # Rosa's caregiver does not see her HIV test (sensitive): nor is it counted.
    assert (
        by_name["Outside Hospital"]["items"]
        == FhirResource.objects.filter(source_id=rosa["first"], sensitivity="normal").count()
    )


# Refusals ---------------------------------------------------------------------------------------------------


def all_urls(patient: Patient | str, ids: dict[str, int]) -> list[str]:
    return [url(name, patient, *args) for name, args, _action in endpoints(ids)]


@pytest.mark.parametrize(
    ("persona", "whose"),
    [
        ("caregiver_manager", "rosa"),  # a grant on Rosa without the records scope
        ("patient", "rosa"),  # another family's patient
        ("caregiver_records", "alex"),
        ("caregiver_records", "teen"),
        ("staff_here", "rosa"),  # Rosa's clinic's nurse: not someone acting for her
        ("caregiver_records", "unknown"),
    ],
)
def test_anyone_else_gets_404_and_nothing_changes(
    client: Client, world: World, rosa: dict[str, int], alex: dict[str, int], persona: str, whose: str
) -> None:
    patients = {"rosa": world.people["rosa"], "alex": world.patient_record, "teen": world.people["teen"]}
    patient = patients.get(whose, str(uuid4()))
    sign_in(client, world, persona)
    before, audited = snapshot(), AuditEvent.objects.count()
    for target in all_urls(patient, alex if whose == "alex" else rosa):
        response = client.get(target)
        assert response.status_code == 404, (target, response.status_code)
    assert snapshot() == before
    assert AuditEvent.objects.count() == audited


def test_a_malformed_patient_id_is_404(client: Client, world: World, rosa: dict[str, int]) -> None:
    sign_in(client, world, "caregiver_records")
    rosa_id = str(world.people["rosa"].pk)
    before = snapshot()
    for target in all_urls(world.people["rosa"], rosa):
        for bad in (rosa_id[:-1], rosa_id + "0", "1", "../" + rosa_id):
            assert client.get(target.replace(rosa_id, bad)).status_code == 404
    assert snapshot() == before


def test_an_unauthenticated_call_is_401(client: Client, world: World, rosa: dict[str, int]) -> None:
    before, audited = snapshot(), AuditEvent.objects.count()
    for target in all_urls(world.people["rosa"], rosa):
        assert client.get(target).status_code == 401
    assert snapshot() == before
    assert AuditEvent.objects.count() == audited


def test_a_token_acts_for_the_patient_the_path_names(client: Client, world: World, rosa: dict[str, int]) -> None:
    _row, token = create_token_for(world.user("caregiver_records"))
    rosa_id = str(world.people["rosa"].pk)
    bearer = {"authorization": f"Bearer {token}"}
    summary = url("api-record-summary", world.people["rosa"])
    assert client.get(summary, headers=bearer).status_code == 200
    assert client.get(summary, headers={**bearer, "acting-for": rosa_id}).status_code == 200
    # An Acting-For header that names someone else is a mistake to point out, whoever it names.
    for other in (str(world.patient_record.pk), str(uuid4()), "junk"):
        before = snapshot()
        response = client.get(summary, headers={**bearer, "acting-for": other})
        assert response.status_code == 400
        assert list(response.json()) == ["Acting-For"]
        assert snapshot() == before
    # A revoked grant: the path answers 404 like any other patient the caller may not act for.
    world.grants["caregiver_records"].status = "revoked"
    world.grants["caregiver_records"].save()
    assert client.get(summary, headers=bearer).status_code == 404


def test_the_path_decides_whatever_the_session_acts_for(client: Client, world: World, alex: Any) -> None:
    """A caregiver whose session acts for Rosa reads their own record by naming it (Maria has one)."""
    sign_in(client, world, "caregiver_full")
    own = world.user("caregiver_full")
    mine = Patient.objects.create(user=own, given_name="Full", family_name="Caregiver", birth_date="1980-01-01")
    assert get(client, "api-record-summary", mine)["problems"] == []
    assert client.get(url("api-record-summary", world.patient_record)).status_code == 404


# Sensitive items ------------------------------------------------------------------------------------------


def test_sensitive_items_stay_hidden_from_a_parent_of_a_teen(client: Client, world: World) -> None:
    teen = world.people["teen"]
    source = source_for(teen, "Lakeside Pediatrics")
    store(
        source,
        lab("teen-a1c", when="2026-03-01T09:00:00Z"),
        lab("teen-a1c-private", value=9.9, when="2026-04-01T09:00:00Z", security="R"),
        lab("teen-glucose", code="2345-7", display="Glucose", unit="mg/dL", security="R"),
        condition("teen-private", "Private problem", code="12345",
                  meta={"security": [{"code": "R"}]}),
    )  # fmt: skip
    hidden = list(FhirResource.objects.filter(patient=teen).exclude(sensitivity="normal").values_list("pk", flat=True))
    shown = FhirResource.objects.get(patient=teen, resource_id="teen-a1c").pk
    assert len(hidden) == 3
    sign_in(client, world, "parent_of_teen")

    timeline = get(client, "api-record-timeline", teen)
    assert [item["id"] for item in timeline["results"]] == [shown]
    assert timeline["count"] == 1
    lines = get(client, "api-record-results", teen)
    assert [(line["name"], line["count"]) for line in lines["results"]] == [("Hemoglobin A1c", 1)]
    assert lines["count"] == 1
    assert get(client, "api-record-section", teen, "problems")["count"] == 0
    summary = get(client, "api-record-summary", teen)
    assert summary["problems"] == []
    result = get(client, "api-record-result", teen, shown)
    assert [h["id"] for h in result["history"]] == [shown]
    assert len(result["trend"]["points"]) == 1
    assert [s["items"] for s in get(client, "api-record-sources", teen)["results"]] == [1]
    for pk in hidden:
        assert client.get(url("api-record-item", teen, pk)).status_code == 404
        assert client.get(url("api-record-result", teen, pk)).status_code == 404


# The schema -------------------------------------------------------------------------------------------------

NEW_PATHS = [
    "/api/v1/patients/{patient_id}/summary/",
    "/api/v1/patients/{patient_id}/timeline/",
    "/api/v1/patients/{patient_id}/results/",
    "/api/v1/patients/{patient_id}/results/{result_id}/",
    "/api/v1/patients/{patient_id}/sections/{section}/",
    "/api/v1/patients/{patient_id}/items/{item_id}/",
    "/api/v1/patients/{patient_id}/preventive-care/",
    "/api/v1/patients/{patient_id}/sources/",
]


def test_the_schema_describes_every_record_path_and_validates(client: Client, world: World, tmp_path: Any) -> None:
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    validate_schema(schema)
    # Built without a warning (an unresolved type or an unnamed enum would be one).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    for path in NEW_PATHS:
        operation = schema["paths"][path]["get"]
        assert set(operation) >= {"parameters", "responses", "summary", "description"}, path
        patient = next(p for p in operation["parameters"] if p["name"] == "patient_id")
        assert patient["in"] == "path"
        assert patient["schema"]["format"] == "uuid"
        assert "200" in operation["responses"]
    timeline = schema["paths"]["/api/v1/patients/{patient_id}/timeline/"]["get"]
    assert {p["name"] for p in timeline["parameters"]} >= {"kind", "source", "on", "from", "to", "page", "page_size"}
    section = schema["paths"]["/api/v1/patients/{patient_id}/sections/{section}/"]["get"]
    slug = next(p for p in section["parameters"] if p["name"] == "section")
    assert slug["schema"]["enum"] == sorted(SECTIONS) or set(slug["schema"]["enum"]) == set(SECTIONS)
    result = schema["components"]["schemas"]["ResultDetail"]["properties"]
    assert {"value_number", "unit", "reference_range", "flag", "flag_words", "report", "ordered_by", "components",
            "revised", "explanation", "trend", "history"} <= set(result)  # fmt: skip
