"""The demo family's FHIR data (fhir_sandbox.demo): deterministic, served whole, telling the demo's stories.

Generated for a fixed Monday (2026-11-23) into a temporary folder and served by an
in-process sandbox over real HTTP. The portal's projections are pure functions, so
no database is needed.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from fhir_sandbox import data, demo
from fhir_sandbox.server import RunningSandbox, start
from records.projections import project

TODAY = date(2026, 11, 23)  # a Monday
REDIRECTS = ["http://127.0.0.1:8000/records/callback/", "http://localhost:8000/records/callback/"]
EXPECTED = {
    "riverside": {"rosa-lopez-rfc", "alex-rivera-rfc", "maria-lopez-rfc"},
    "lakeside": {"leo-lopez-lkp"},
    "outside": {"rosa-lopez-smr", "alex-rivera-smr"},
}
Resource = dict[str, Any]


# --- Fixtures and a tiny HTTP client ----------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    demo.write_demo(root, redirect_uris=REDIRECTS, today=TODAY)
    return root


@pytest.fixture(scope="module")
def bundles(folder: Path) -> dict[str, dict[str, list[Resource]]]:
    """The written files' resources, by system prefix and Patient id."""
    found: dict[str, dict[str, list[Resource]]] = {}
    for path in sorted(folder.glob("*/*.json")):
        bundle = json.loads(path.read_text("utf-8"))
        found.setdefault(path.parent.name, {})[path.stem] = [e["resource"] for e in bundle["entry"]]
    return found


@pytest.fixture(scope="module")
def sandbox(folder: Path) -> Iterator[RunningSandbox]:
    with start(folder / "config.json") as running:
        yield running


def get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def mint(sandbox: RunningSandbox, prefix: str, **fields: Any) -> str:
    request = urllib.request.Request(
        f"{sandbox.url}/{prefix}/_sandbox/token",
        data=json.dumps(fields).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


def follow(url: str, token: str) -> list[Resource]:
    """Every resource of a search, following `next` links to the end."""
    found: list[Resource] = []
    next_url: str | None = url
    while next_url:
        page = get_json(next_url, token)
        found += [e["resource"] for e in page.get("entry", [])]
        next_url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    return found


def empty_values(node: Any, path: str = "") -> list[str]:
    """Where a resource holds an empty array, object or string (FHIR JSON allows none of them)."""
    if node in ([], {}, ""):
        return [path]
    if isinstance(node, dict):
        return [p for name, value in node.items() for p in empty_values(value, f"{path}.{name}")]
    if isinstance(node, list):
        return [p for n, value in enumerate(node) for p in empty_values(value, f"{path}[{n}]")]
    return []


def key(resource: Resource) -> tuple[str, str]:
    return resource["resourceType"], resource["id"]


def code_of(resource: Resource, field: str = "code") -> str:
    concept = resource[field][0] if isinstance(resource[field], list) else resource[field]
    return str(concept["coding"][0]["code"])


def of_code(resources: list[Resource], resource_type: str, code: str, field: str = "code") -> list[Resource]:
    return [r for r in resources if r["resourceType"] == resource_type and code_of(r, field) == code]


def day_of(text: str) -> date:
    return date.fromisoformat(text[:10])


# --- Generation ----------------------------------------------------------------------------------------


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert demo.write_demo(first, redirect_uris=REDIRECTS, today=TODAY) == first / "config.json"
    demo.write_demo(second, redirect_uris=REDIRECTS, today=TODAY)
    written = files(first)
    assert written == files(second)
    assert sorted(written) == sorted(
        ["config.json", *(f"{prefix}/{patient}.json" for prefix, ids in EXPECTED.items() for patient in ids)]
    )
    demo.write_demo(first, redirect_uris=REDIRECTS, today=TODAY)  # again, over the same folder
    assert files(first) == written
    demo.write_demo(first, redirect_uris=REDIRECTS, today=TODAY + timedelta(days=1))
    assert files(first)["riverside/rosa-lopez-rfc.json"] != written["riverside/rosa-lopez-rfc.json"]


def test_generation_is_of_a_realistic_size() -> None:
    # (Its speed is not timed here: timings belong to `make bench`, not to tests on a shared machine.)
    generated = demo.demo_bundles(TODAY)
    total = sum(len(b["entry"]) for systems in generated.values() for b in systems.values())
    assert 400 <= total <= 1500


def test_config_serves_three_systems_to_the_portal_client(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text("utf-8"))
    systems = {s["prefix"]: s for s in config["systems"]}
    assert list(systems) == ["riverside", "lakeside", "outside"]
    assert systems["riverside"]["name"] == "Riverside Family Clinic EHR"
    assert systems["lakeside"]["name"] == "Lakeside Pediatrics EHR"
    assert systems["outside"]["name"] == "St. Mary's Regional Hospital"
    for prefix, system in systems.items():
        assert system["clients"] == [{"client_id": "portal-dev", "redirect_uris": REDIRECTS}]
        assert system["access_token_seconds"] == 600
        assert (folder / system["data"]).is_dir()
        assert {p.stem for p in (folder / system["data"]).glob("*.json")} == EXPECTED[prefix]


def test_command_line_writes_the_files_and_prints_the_config_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(tmp_path), "--redirect-uri", REDIRECTS[0], "--redirect-uri", REDIRECTS[1], "--today", "2026-11-23"]
    assert demo.main(argv) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'config.json'}\n"
    assert json.loads((tmp_path / "config.json").read_text())["systems"][0]["clients"][0]["redirect_uris"] == REDIRECTS
    assert (tmp_path / "lakeside" / "leo-lopez-lkp.json").is_file()


def test_without_a_date_the_demo_is_current(tmp_path: Path) -> None:
    demo.write_demo(tmp_path, redirect_uris=REDIRECTS)
    bundle = json.loads((tmp_path / "riverside" / "rosa-lopez-rfc.json").read_text())
    a1c = of_code([e["resource"] for e in bundle["entry"]], "Observation", "4548-4")
    newest = max(day_of(r["effectiveDateTime"]) for r in a1c)
    assert date.today() - timedelta(days=7) <= newest < date.today()


# --- Shape of every resource -------------------------------------------------------------------------------


def test_every_resource_has_a_readable_id_meta_and_its_patient(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    for prefix, charts in bundles.items():
        assert set(charts) == EXPECTED[prefix]
        shared: dict[tuple[str, str], Resource] = {}
        for patient_id, resources in charts.items():
            keys = [key(r) for r in resources]
            assert len(keys) == len(set(keys)), f"duplicate ids in {patient_id}"
            assert key(resources[0]) == ("Patient", patient_id)
            for resource in resources:
                assert data.VALID_ID.fullmatch(resource["id"]), resource["id"]
                assert not empty_values(resource), (key(resource), empty_values(resource))
                stamp = resource["meta"]["lastUpdated"]
                assert stamp.endswith("T12:00:00Z"), (key(resource), stamp)
                assert day_of(stamp) < TODAY, (key(resource), stamp)
                owner = data.patient_of(resource)
                if owner is None:  # shared reference data, the same in every bundle of this system
                    assert resource["resourceType"] in ("Organization", "Practitioner")
                    assert shared.setdefault(key(resource), resource) == resource
                else:
                    assert owner == patient_id, key(resource)
                for holder in data.references(resource):
                    assert data.reference_key(holder["reference"]) in keys, (key(resource), holder)


def test_clinical_statuses_are_realistic(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    allowed = {
        "Observation": {"final"},
        "DiagnosticReport": {"final"},
        "Encounter": {"finished"},
        "Immunization": {"completed"},
        "MedicationRequest": {"active"},
        "DocumentReference": {"current"},
        "ExplanationOfBenefit": {"active"},
        "Coverage": {"active"},
        "Appointment": {"booked"},
        "ImagingStudy": {"available"},
        "CarePlan": {"active"},
        "CareTeam": {"active"},
        "Device": {"active"},
    }
    for charts in bundles.values():
        for resources in charts.values():
            for resource in resources:
                if resource["resourceType"] in allowed:
                    assert resource["status"] in allowed[resource["resourceType"]], key(resource)
                if resource["resourceType"] in ("Condition", "AllergyIntolerance"):
                    assert code_of(resource, "clinicalStatus") in ("active", "resolved")


# --- Served by the sandbox ---------------------------------------------------------------------------------


def test_the_sandbox_serves_every_bundle_with_every_reference_resolved(
    sandbox: RunningSandbox, bundles: dict[str, dict[str, list[Resource]]]
) -> None:
    for prefix, charts in bundles.items():
        expected = {key(r) for resources in charts.values() for r in resources}
        token = mint(sandbox, prefix)  # no patient: sees every patient of this system
        served: dict[tuple[str, str], Resource] = {}
        for resource_type in sorted({t for t, _ in expected}):
            found = follow(f"{sandbox.fhir_base(prefix)}/{resource_type}?_count=200", token)
            served.update((key(r), r) for r in found)
        assert set(served) == expected, prefix
        for resource in served.values():
            for holder in data.references(resource):
                assert not holder["reference"].startswith("urn:"), holder
                assert data.reference_key(holder["reference"]) in served, (key(resource), holder)


def test_each_patient_is_at_the_expected_systems(sandbox: RunningSandbox) -> None:
    people = {
        "rosa-lopez": ("Rosa", "female", demo.years_ago(TODAY, 78, 120), 78),
        "leo-lopez": ("Leo", "male", demo.years_ago(TODAY, 13, 75), 13),
        "alex-rivera": ("Alex", "male", demo.years_ago(TODAY, 34, 40), 34),
        "maria-lopez": ("Maria", "female", demo.years_ago(TODAY, 46, 200), 46),
    }
    for prefix, patient_ids in EXPECTED.items():
        everyone = follow(f"{sandbox.fhir_base(prefix)}/Patient", mint(sandbox, prefix))
        assert {p["id"] for p in everyone} == patient_ids
        for patient_id in patient_ids:
            token = mint(sandbox, prefix, patient=patient_id)
            patient = get_json(f"{sandbox.fhir_base(prefix)}/Patient/{patient_id}", token)
            given, gender, birth, age = people[patient_id.rsplit("-", 1)[0]]
            assert patient["name"][0]["given"] == [given]
            assert patient["gender"] == gender
            assert patient["birthDate"] == birth.isoformat()
            assert demo.age_on(birth, TODAY) == age


def test_everything_for_each_patient_is_exactly_their_bundle(
    sandbox: RunningSandbox, bundles: dict[str, dict[str, list[Resource]]]
) -> None:
    """Every record names its patient the way the sandbox (and a real server) finds it, and nothing is left over."""
    for prefix, charts in bundles.items():
        for patient_id, resources in charts.items():
            token = mint(sandbox, prefix, patient=patient_id)
            everything = follow(f"{sandbox.fhir_base(prefix)}/Patient/{patient_id}/$everything?_count=500", token)
            assert sorted(key(r) for r in everything) == sorted(key(r) for r in resources), patient_id


def test_incremental_sync_by_last_updated_sees_only_newer_records(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    token = mint(sandbox, "riverside", patient="rosa-lopez-rfc")
    since = (TODAY - timedelta(days=10)).isoformat()
    recent = follow(f"{base}/Observation?patient=rosa-lopez-rfc&_lastUpdated=ge{since}", token)
    assert recent, "the newest visit's results are within the last ten days"
    assert all(day_of(r["meta"]["lastUpdated"]) >= TODAY - timedelta(days=10) for r in recent)
    assert {code_of(r) for r in recent} >= {"4548-4", "85354-9", "29463-7"}


# --- The stories ---------------------------------------------------------------------------------------------


def test_rosas_newest_hba1c_is_newer_and_higher_than_the_one_before(
    bundles: dict[str, dict[str, list[Resource]]],
) -> None:
    a1c = sorted(
        of_code(bundles["riverside"]["rosa-lopez-rfc"], "Observation", "4548-4"), key=lambda r: r["effectiveDateTime"]
    )
    assert len(a1c) >= 16
    assert day_of(a1c[-1]["effectiveDateTime"]) - day_of(a1c[0]["effectiveDateTime"]) >= timedelta(days=4 * 365 - 30)
    newest, before = a1c[-1], a1c[-2]
    assert (newest["valueQuantity"]["value"], before["valueQuantity"]["value"]) == (8.4, 7.9)
    assert newest["effectiveDateTime"] > before["effectiveDateTime"]
    assert TODAY - timedelta(days=7) <= day_of(newest["effectiveDateTime"]) < TODAY
    assert newest["valueQuantity"]["unit"] == "%"
    assert newest["referenceRange"][0]["high"]["value"] == 5.7
    assert a1c[0]["valueQuantity"]["value"] < 7.0 < newest["valueQuantity"]["value"]  # trending up


def test_rosas_hospital_stay_last_spring(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    resources = bundles["outside"]["rosa-lopez-smr"]
    (stay,) = [r for r in resources if r["resourceType"] == "Encounter"]
    start, end = day_of(stay["period"]["start"]), day_of(stay["period"]["end"])
    assert stay["class"]["code"] == "IMP"
    assert (end - start).days == 4
    assert (start.year, start.month) == (2026, 4)
    (a1c,) = of_code(resources, "Observation", "4548-4")
    assert start <= day_of(a1c["effectiveDateTime"]) <= end
    assert a1c["valueQuantity"]["value"] < 8.4
    (summary,) = of_code(resources, "DocumentReference", "18842-5", "type")
    text = base64.b64decode(summary["content"][0]["attachment"]["data"]).decode()
    assert summary["content"][0]["attachment"]["contentType"] == "text/plain"
    assert "pneumonia" in text
    assert "Rosa Lopez" in text
    (xray,) = of_code(resources, "DiagnosticReport", "36643-5")
    assert xray["category"][0]["coding"][0]["code"] == "RAD"
    assert "pneumonia" in xray["conclusion"]
    study = next(r for r in resources if r["resourceType"] == "ImagingStudy")
    assert xray["imagingStudy"] == [{"reference": f"ImagingStudy/{study['id']}"}]


def test_rosas_dementia_is_marked_sensitive(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    (dementia,) = of_code(bundles["riverside"]["rosa-lopez-rfc"], "Condition", "52448006")
    assert [c["code"] for c in dementia["meta"]["security"]] == ["PSY"]
    assert "mental-health" in {c["code"] for category in dementia["category"] for c in category["coding"]}
    assert project(dementia).sensitivity == "sensitive"


def test_leo_has_exactly_one_restricted_item(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    resources = bundles["lakeside"]["leo-lopez-lkp"]
    restricted = [r for r in resources if any(c["code"] == "R" for c in r["meta"].get("security", []))]
    assert len(restricted) == 1
    (item,) = restricted
    assert item["resourceType"] in ("Condition", "Observation")
    assert item["meta"]["security"][0]["system"] == "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    assert project(item).sensitivity == "confidential"
    assert {project(r).sensitivity for r in resources if r is not item} == {"normal"}


def test_leos_growth_vaccines_asthma_and_allergy(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    resources = bundles["lakeside"]["leo-lopez-lkp"]
    visits = [r for r in resources if r["resourceType"] == "Encounter"]
    heights = sorted(of_code(resources, "Observation", "8302-2"), key=lambda r: r["effectiveDateTime"])
    assert len(heights) == len(visits) >= 14
    values = [h["valueQuantity"]["value"] for h in heights]
    assert values == sorted(values)
    assert of_code(resources, "Observation", "29463-7")
    assert of_code(resources, "Observation", "39156-5")
    given = {code_of(r, "vaccineCode") for r in resources if r["resourceType"] == "Immunization"}
    assert given >= {"20", "10", "03", "21", "62", "114", "115", "158"}
    assert of_code(resources, "Condition", "195967001")
    assert of_code(resources, "MedicationRequest", "745678", "medicationCodeableConcept")
    (allergy,) = [r for r in resources if r["resourceType"] == "AllergyIntolerance"]
    assert allergy["category"] == ["food"]


def test_alex_has_type_1_diabetes_care_across_two_systems(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    resources = bundles["riverside"]["alex-rivera-rfc"]
    (diabetes,) = of_code(resources, "Condition", "46635009")
    assert demo.age_on(demo.years_ago(TODAY, 34, 40), day_of(diabetes["onsetDateTime"])) == 12
    a1c = [r["valueQuantity"]["value"] for r in of_code(resources, "Observation", "4548-4")]
    assert len(a1c) >= 20
    assert all(6.8 <= v <= 8.1 for v in a1c)
    assert len(set(a1c)) > 5
    assert of_code(resources, "Observation", "2345-7")
    for rxnorm in ("285018", "311041"):
        (insulin,) = of_code(resources, "MedicationRequest", rxnorm, "medicationCodeableConcept")
        assert insulin["dispenseRequest"]["expectedSupplyDuration"]["value"] > 0
    assert {r["resourceType"] for r in resources} >= {"Device", "Goal", "CarePlan", "CareTeam"}
    outside = bundles["outside"]["alex-rivera-smr"]
    (er,) = [r for r in outside if r["resourceType"] == "Encounter"]
    assert er["class"]["code"] == "EMER"
    assert (TODAY - day_of(er["period"]["start"])).days == 730
    assert of_code(outside, "Condition", "302866003")
    assert of_code(outside, "Condition", "46635009")  # his known type 1 diabetes, as Riverside lists it
    assert min(r["valueQuantity"]["value"] for r in of_code(outside, "Observation", "2345-7")) < 70


def test_maria_has_physicals_a_mammogram_a_flu_shot_and_coverage(
    bundles: dict[str, dict[str, list[Resource]]],
) -> None:
    resources = bundles["riverside"]["maria-lopez-rfc"]
    assert len(of_code(resources, "Encounter", "162673000", "type")) >= 3
    mammograms = of_code(resources, "DiagnosticReport", "24606-6")
    assert mammograms
    assert {project(m).kind for m in mammograms} == {"imaging"}
    assert of_code(resources, "Immunization", "158", "vaccineCode")
    assert [r["resourceType"] for r in resources].count("Coverage") == 1


@pytest.mark.parametrize("offset", range(7))
def test_refill_runs_out_and_appointment_is_in_the_coming_week(offset: int) -> None:
    today = TODAY + timedelta(days=offset)  # every weekday, Monday to Sunday
    generated = demo.demo_bundles(today)
    rosa = [e["resource"] for e in generated["riverside"]["rosa-lopez-rfc"]["entry"]]
    (metformin,) = of_code(rosa, "MedicationRequest", "860975", "medicationCodeableConcept")
    supply = metformin["dispenseRequest"]["expectedSupplyDuration"]
    assert (supply["value"], supply["code"]) == (30, "d")
    runs_out = day_of(metformin["authoredOn"]) + timedelta(days=supply["value"])
    assert runs_out.weekday() == 4
    assert timedelta(days=1) <= runs_out - today <= timedelta(days=7)
    leo = [e["resource"] for e in generated["lakeside"]["leo-lopez-lkp"]["entry"]]
    (appointment,) = [r for r in leo if r["resourceType"] == "Appointment"]
    assert appointment["status"] == "booked"
    thursday = day_of(appointment["start"])
    assert thursday.weekday() == 3
    assert timedelta(days=1) <= thursday - today <= timedelta(days=7)
    stamps = {
        day_of(e["resource"]["meta"]["lastUpdated"]) for b in generated.values() for x in b.values() for e in x["entry"]
    }
    assert max(stamps) < today


def test_the_fixed_monday_gives_friday_the_27th_and_thursday_the_26th(
    bundles: dict[str, dict[str, list[Resource]]],
) -> None:
    (metformin,) = of_code(
        bundles["riverside"]["rosa-lopez-rfc"], "MedicationRequest", "860975", "medicationCodeableConcept"
    )
    assert day_of(metformin["authoredOn"]) + timedelta(days=30) == date(2026, 11, 27)
    (appointment,) = [r for r in bundles["lakeside"]["leo-lopez-lkp"] if r["resourceType"] == "Appointment"]
    assert day_of(appointment["start"]) == date(2026, 11, 26)


# --- What the portal reads ------------------------------------------------------------------------------------


def test_the_portals_projections_read_the_main_items(bundles: dict[str, dict[str, list[Resource]]]) -> None:
    rosa = bundles["riverside"]["rosa-lopez-rfc"]
    newest = max(of_code(rosa, "Observation", "4548-4"), key=lambda r: r["effectiveDateTime"])
    a1c = project(newest)
    assert (a1c.kind, a1c.code, a1c.abnormal) == ("lab", "4548-4", True)
    assert (a1c.value_number, a1c.unit, a1c.ref_high, a1c.sensitivity) == (8.4, "%", 5.7, "normal")
    (metformin,) = of_code(rosa, "MedicationRequest", "860975", "medicationCodeableConcept")
    medicine = project(metformin)
    assert (medicine.kind, medicine.code, medicine.status) == ("medication", "860975", "active")
    assert medicine.details["days_supply"] == 30
    pressure = project(of_code(rosa, "Observation", "85354-9")[-1])
    assert pressure.kind == "vital"
    assert [c["code"] for c in pressure.details["components"]] == ["8480-6", "8462-4"]
    note = project(of_code(rosa, "DocumentReference", "11506-3", "type")[-1])
    assert (note.kind, note.code) == ("document", "11506-3")
    bill = project(next(r for r in rosa if r["resourceType"] == "ExplanationOfBenefit"))
    assert (bill.kind, bill.unit) == ("claim", "USD")
    assert (bill.value_number or 0) > 0
    flu = project(of_code(rosa, "Immunization", "158", "vaccineCode")[0])
    assert (flu.kind, flu.code_system) == ("immunization", "http://hl7.org/fhir/sid/cvx")
    xray = project(of_code(bundles["outside"]["rosa-lopez-smr"], "DiagnosticReport", "36643-5")[0])
    assert xray.kind == "imaging"
    assert "pneumonia" in xray.value_text
    appointment = project(next(r for r in bundles["lakeside"]["leo-lopez-lkp"] if r["resourceType"] == "Appointment"))
    assert appointment.kind == "appointment"
    assert appointment.effective_at.date() == date(2026, 11, 26)
    alex = bundles["riverside"]["alex-rivera-rfc"]
    kinds = {project(r).kind for r in alex if r["resourceType"] in ("Goal", "CarePlan", "CareTeam", "Device")}
    assert kinds == {"goal", "care_plan", "care_team", "device"}
