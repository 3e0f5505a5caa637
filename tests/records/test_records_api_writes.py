"""The record's API beyond its reads: downloads, a note's attachment, shared links, the journal and home
measurements, and the patient's privacy choices, under /api/v1/patients/{id}/…

Each does what its page does, through the same forms, actions and access helpers: the same files and headers,
the same audit rows, the same refusals (404 for anyone who may not reach it, 403 with nothing changed for
someone who may read but not change), and the page's checks answered as 400 with the field's name.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, Patient
from proxy.access import resolve_actor
from records import shlinks
from records.actions import create_share_link
from records.models import (
    EntryKind,
    FhirResource,
    HomeMeasurement,
    JournalEntry,
    MeasurementKind,
    QuestionState,
    ResultRelease,
    SensitiveShare,
    ShareLink,
    ShareOpening,
    ShareOutcome,
)
from tests.conftest import SMALL_PDF, World, create_token_for, sign_in
from tests.records.record_data import condition, lab, source_for, store
from tests.security.test_authorization_matrix import alex_helper, snapshot

JSON = "application/json"


def rosa(world: World) -> Patient:
    return world.people["rosa"]


def url(name: str, patient: Patient | str, **kwargs: object) -> str:
    return reverse(name, kwargs={"patient_id": str(getattr(patient, "pk", patient)), **kwargs})


def send(client: Client, method: str, target: str, body: Any = None, **headers: str) -> Any:
    if method == "GET":
        return client.get(target, body or {}, headers=headers)
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, target, data=data, content_type=JSON, headers=headers)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:600])
    if response.streaming or not response.content or not response["Content-Type"].startswith(JSON):
        return response
    return response.json()


def audit_rows(action: AuditAction) -> list[tuple[Any, str, str]]:
    return list(
        AuditEvent.objects.filter(action=action.value)
        .order_by("pk")
        .values_list("subject_patient_id", "object_type", "object_id")
    )


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def days_ago(days: int) -> str:
    return (timezone.now() - timedelta(days=days)).date().isoformat()


@pytest.fixture
def rosa_record(world: World) -> dict[str, int]:
    """Rosa's record (a result, a problem and a note with a PDF) at her connected hospital."""
    pdf = base64.b64encode(SMALL_PDF).decode()
    note = {
        "resourceType": "DocumentReference",
        "id": "rosa-letter",
        "status": "current",
        "content": [{"attachment": {"contentType": "application/pdf", "data": pdf, "title": "Letter"}}],
    }
    store(world.rosa_connection.source, lab("rosa-a1c"), condition("rosa-t2d", "Type 2 diabetes"), note)
    rows = FhirResource.objects.filter(patient=rosa(world))
    return {row.resource_id: row.pk for row in rows}


# Downloads and attachments: the page's files, byte for byte and header for header ---------------------------

FILE_HEADERS = ("Content-Type", "Content-Disposition", "Cache-Control")


@pytest.mark.parametrize("fmt", ["fhir", "csv", "pdf"])
def test_a_download_is_the_pages_file_with_its_headers(
    client: Client, world: World, rosa_record: dict[str, int], fmt: str
) -> None:
    sign_in(client, world, "caregiver_full")
    query = {"format": fmt, "from": "2020-01-01", "to": days_ago(0)}
    page = client.get(reverse("records:download_file"), query)
    api = client.get(url("api-record-download", rosa(world)), query, headers={"accept": "application/pdf"})
    assert page.status_code == api.status_code == 200
    for header in FILE_HEADERS:
        assert api[header] == page[header], header
    api_body, page_body = body_of(api), body_of(page)
    assert api_body.startswith({"fhir": b"{", "csv": b"\xef\xbb\xbf", "pdf": b"%PDF-"}[fmt])
    if fmt == "csv":
        assert api_body == page_body
    if fmt == "fhir":  # the bundle's head says when it was made
        assert json.loads(api_body)["entry"] == json.loads(page_body)["entry"]


def test_every_download_is_recorded_the_patients_own_too(client: Client, world: World) -> None:
    store(source_for(world.patient_record, "Riverside"), lab("a1c"))
    sign_in(client, world, "patient")
    ok(client.get(url("api-record-download", world.patient_record), {"format": "csv"}))
    assert audit_rows(AuditAction.RECORDS_DOWNLOADED) == [(world.patient_record.pk, "", "")]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({}, ["format"]),
        ({"format": "xml"}, ["format"]),
        ({"format": "csv", "from": "31/03/2026"}, ["from"]),
        ({"format": "csv", "from": "2026-03-02", "to": "2026-03-01"}, ["non_field_errors"]),
    ],
)
def test_bad_download_choices_are_400_with_the_forms_messages(
    client: Client, world: World, query: dict[str, str], fields: list[str]
) -> None:
    sign_in(client, world, "caregiver_records")
    response = client.get(url("api-record-download", rosa(world)), query)
    assert response.status_code == 400
    assert sorted(response.json()) == fields
    assert audit_rows(AuditAction.RECORDS_DOWNLOADED) == []


def test_an_attachment_is_the_pages_download_and_is_recorded(
    client: Client, world: World, rosa_record: dict[str, int]
) -> None:
    sign_in(client, world, "caregiver_records")
    note = rosa_record["rosa-letter"]
    page = client.get(reverse("records:attachment", args=[note, 0]))
    api = client.get(url("api-record-attachment", rosa(world), item_id=note, index=0))
    assert api.status_code == 200
    assert api.content == page.content == SMALL_PDF
    for header in (*FILE_HEADERS, "X-Content-Type-Options", "Content-Security-Policy"):
        assert api[header] == page[header], header
    assert audit_rows(AuditAction.RECORDS_ATTACHMENT_DOWNLOADED)[-1] == (rosa(world).pk, "fhirresource", str(note))
    for item_id, index in ((note, 1), (rosa_record["rosa-t2d"], 0)):
        assert client.get(url("api-record-attachment", rosa(world), item_id=item_id, index=index)).status_code == 404


# Shared links -------------------------------------------------------------------------------------------------


def test_a_link_is_made_listed_shown_and_ended(client: Client, world: World, rosa_record: dict[str, int]) -> None:
    sign_in(client, world, "caregiver_full")
    links = url("api-record-share-links", rosa(world))
    made = ok(send(client, "POST", links, {"label": "  For  Dr. Patel ", "days": 30, "passcode": "secret-1"}), 201)
    assert made["label"] == "For Dr. Patel"  # the page's form tidies it
    assert made["state"] == "active"
    assert made["has_passcode"]
    assert made["made_by_you"]
    payload = shlinks.decode_link(made["shlink"])
    assert payload["flag"] == "LP"
    assert payload["label"] == "For Dr. Patel"
    assert made["url"] == f"http://testserver{reverse('records:shl_viewer')}#{made['shlink']}"
    link = ShareLink.objects.get(pk=made["id"])
    assert link.created_by == world.user("caregiver_full")
    assert (link.expires_at - link.created_at).days == 30
    assert audit_rows(AuditAction.RECORDS_SHARE_LINK_CREATED) == [(rosa(world).pk, "sharelink", str(link.pk))]

    ShareOpening.objects.create(link=link, recipient="Dr. Patel", outcome=ShareOutcome.OPENED)
    listed = ok(client.get(links))
    assert listed["count"] == 1
    assert listed["results"][0]["openings_count"] == 1
    assert "shlink" not in listed["results"][0]  # the key only on the link's own page

    detail = ok(client.get(url("api-record-share-link", rosa(world), link_id=link.pk)))
    assert detail["shlink"] == made["shlink"]
    assert detail["qr_svg"].startswith("<svg")
    assert [(o["recipient"], o["outcome"]) for o in detail["openings"]] == [("Dr. Patel", "opened")]
    assert audit_rows(AuditAction.RECORDS_SHARE_LINK_VIEWED) == [(rosa(world).pk, "sharelink", str(link.pk))]

    ended = ok(send(client, "POST", url("api-record-share-link-revoke", rosa(world), link_id=link.pk)))
    assert ended["state"] == "revoked"
    assert ended["shlink"] is None
    assert ended["qr_svg"] is None
    link.refresh_from_db()
    assert link.revoked_by == world.user("caregiver_full")


def test_the_patients_own_look_at_a_link_is_recorded(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    made = ok(send(client, "POST", url("api-record-share-links", world.patient_record), {"label": "x", "days": 1}), 201)
    ok(client.get(url("api-record-share-link", world.patient_record, link_id=made["id"])))
    assert audit_rows(AuditAction.RECORDS_SHARE_LINK_VIEWED) == [
        (world.patient_record.pk, "sharelink", str(made["id"]))
    ]


def test_someone_from_whom_sensitive_items_stay_hidden_sees_only_their_own_links(client: Client, world: World) -> None:
    actor = resolve_actor(world.user("caregiver_full"), subject_id=str(rosa(world).pk))
    others = create_share_link(actor=actor, label="Power of attorney's link", days=7)
    sign_in(client, world, "caregiver_records")
    links = url("api-record-share-links", rosa(world))
    mine = ok(send(client, "POST", links, {"label": "Mine", "days": 7}), 201)
    assert [link["label"] for link in ok(client.get(links))["results"]] == ["Mine"]
    before = snapshot()
    assert client.get(url("api-record-share-link", rosa(world), link_id=others.pk)).status_code == 404
    revoke = url("api-record-share-link-revoke", rosa(world), link_id=others.pk)
    assert send(client, "POST", revoke).status_code == 404
    assert snapshot() == before
    assert ok(client.get(url("api-record-share-link", rosa(world), link_id=mine["id"])))["shlink"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"days": 7}, ["label"]),
        ({"label": "   ", "days": 7}, ["label"]),
        ({"label": "x", "days": 5}, ["days"]),
        ({"label": "x", "days": 7, "passcode": "12345"}, ["passcode"]),
        ({"label": "x", "days": 7, "content": "dates"}, ["start"]),
        ({"label": "x", "days": 7, "content": "dates", "start": "2026-03-02", "end": "2026-03-01"}, ["end"]),
        ({"label": ["x"], "days": 7}, ["label"]),
    ],
)
def test_a_new_links_choices_are_checked_as_on_the_page(
    client: Client, world: World, body: dict[str, Any], fields: list[str]
) -> None:
    sign_in(client, world, "caregiver_full")
    before = snapshot()
    response = send(client, "POST", url("api-record-share-links", rosa(world)), body)
    assert response.status_code == 400, response.content
    assert sorted(response.json()) == fields
    assert snapshot() == before


# The journal and home measurements ----------------------------------------------------------------------------


def rosas_entry(world: World, persona: str = "caregiver_full", kind: str = EntryKind.SYMPTOM) -> JournalEntry:
    """An entry of Rosa's, two days ago (a day in the past in every time zone)."""
    return JournalEntry.objects.create(
        patient=rosa(world),
        kind=kind,
        text="Dizzy after lunch",
        happened_on=days_ago(2),
        author=world.user(persona),
        author_name="Full",
    )


def test_the_journal_is_listed_added_to_changed_marked_and_deleted(client: Client, world: World) -> None:
    rosas_entry(world, "caregiver_records")
    sign_in(client, world, "caregiver_full")
    journal = url("api-record-journal", rosa(world))
    added = ok(send(client, "POST", journal, {"kind": "question", "text": "Is the dose right?"}), 201)
    assert added["happened_on"] in (days_ago(1), days_ago(0))  # today where the caller is
    assert added["question_state"] == "open"
    assert added["changeable"]
    listed = ok(client.get(journal))["results"]
    assert [(e["kind"], e["changeable"]) for e in listed] == [("question", True), ("symptom", False)]
    assert [e["kind"] for e in ok(client.get(journal, {"kind": "symptom"}))["results"]] == ["symptom"]
    assert client.get(journal, {"kind": "diary"}).status_code == 400

    entry = url("api-record-journal-entry", rosa(world), entry_id=added["id"])
    changed = ok(send(client, "PATCH", entry, {"text": "Is the dose still right?"}))
    assert (changed["kind"], changed["text"]) == ("question", "Is the dose still right?")
    assert changed["edited_at"] is not None
    question = url("api-record-journal-question", rosa(world), entry_id=added["id"])
    assert ok(send(client, "POST", question, {}))["question_state"] == QuestionState.ASKED
    ok(send(client, "DELETE", entry), 204)
    assert not JournalEntry.objects.filter(pk=added["id"]).exists()
    journal_rows = AuditEvent.objects.filter(action__startswith="records.journal_", subject_patient=rosa(world))
    assert list(journal_rows.order_by("pk").values_list("action", flat=True)) == [
        "records.journal_entry_added", "records.journal_viewed", "records.journal_viewed",
        "records.journal_entry_changed", "records.journal_question_marked", "records.journal_entry_deleted",
    ]  # fmt: skip


def test_the_patient_changes_what_a_caregiver_wrote(client: Client, world: World) -> None:
    store(source_for(world.patient_record, "Riverside"), lab("a1c"))
    helper = alex_helper(world)
    entry = JournalEntry.objects.create(
        patient=world.patient_record,
        kind=EntryKind.NOTE,
        text="x",
        happened_on=days_ago(2),
        author=helper.grantee,
        author_name="Helper",
    )
    sign_in(client, world, "patient")
    target = url("api-record-journal-entry", world.patient_record, entry_id=entry.pk)
    assert ok(send(client, "PATCH", target, {"kind": "symptom"}))["kind"] == "symptom"


def test_a_grantee_may_read_but_not_change_someone_elses_entry(client: Client, world: World) -> None:
    entry = rosas_entry(world, "caregiver_full", EntryKind.QUESTION)
    sign_in(client, world, "caregiver_records")
    target = url("api-record-journal-entry", rosa(world), entry_id=entry.pk)
    assert ok(client.get(target))["changeable"] is False
    before = snapshot()
    for method, where, body in (
        ("PATCH", target, {"text": "Changed"}),
        ("PATCH", target, {"happened_on": "2999-01-01"}),  # refused before its body is even read
        ("DELETE", target, None),
        ("POST", url("api-record-journal-question", rosa(world), entry_id=entry.pk), {"state": "asked"}),
    ):
        response = send(client, method, where, body)
        assert response.status_code == 403, (method, response.status_code)
        assert "Only the person who entered this" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "symptom"}, ["text"]),
        ({"kind": "diary", "text": "x"}, ["kind"]),
        ({"kind": "symptom", "text": "x", "happened_on": "2999-01-01"}, ["happened_on"]),
        ({"kind": "symptom", "text": "x" * 2001}, ["text"]),
        ({"kind": "symptom", "text": "   "}, ["text"]),
    ],
)
def test_a_journal_entry_is_checked_as_on_the_page(
    client: Client, world: World, body: dict[str, Any], fields: list[str]
) -> None:
    sign_in(client, world, "caregiver_records")
    before = snapshot()
    response = send(client, "POST", url("api-record-journal", rosa(world)), body)
    assert response.status_code == 400
    assert sorted(response.json()) == fields
    assert snapshot() == before


def test_only_a_question_is_marked(client: Client, world: World) -> None:
    entry = rosas_entry(world)
    sign_in(client, world, "caregiver_full")
    before = snapshot()
    target = url("api-record-journal-question", rosa(world), entry_id=entry.pk)
    assert sorted(send(client, "POST", target, {"state": "asked"}).json()) == ["non_field_errors"]
    assert sorted(send(client, "POST", target, {"state": "forgotten"}).json()) == ["state"]
    assert snapshot() == before


def test_home_measurements_are_listed_added_and_deleted(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_records")
    readings = url("api-record-measurements", rosa(world))
    when = (timezone.now() - timedelta(hours=2)).isoformat()
    pressure = ok(send(client, "POST", readings, {"kind": "blood_pressure", "systolic": 131, "diastolic": 84}), 201)
    assert pressure["value_text"] == "131/84 mmHg"
    assert pressure["entered_by"] == "Entered by you"
    weight_body = {"kind": "weight", "value": 154.2, "unit": "[lb_av]", "measured_at": when}
    weight = ok(send(client, "POST", readings, weight_body), 201)
    assert weight["value"] == 154.2
    assert weight["unit_display"] == "lb"
    glucose = {"kind": "glucose", "value": 5.8, "unit": "mmol/L", "glucose_context": "fasting"}
    assert ok(send(client, "POST", readings, glucose), 201)["glucose_context_label"] == "Fasting"
    assert ok(client.get(readings))["count"] == 3
    assert [r["kind"] for r in ok(client.get(readings, {"kind": "weight"}))["results"]] == ["weight"]
    reading = HomeMeasurement.objects.get(pk=weight["id"])
    assert reading.author == world.user("caregiver_records")
    assert str(reading.value) == "154.20"
    ok(send(client, "DELETE", url("api-record-measurement", rosa(world), measurement_id=reading.pk)), 204)
    assert not HomeMeasurement.objects.filter(pk=reading.pk).exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "blood_pressure", "systolic": 120}, ["diastolic"]),
        ({"kind": "blood_pressure", "systolic": 80, "diastolic": 120}, ["diastolic"]),
        ({"kind": "blood_pressure", "systolic": 400, "diastolic": 80}, ["systolic"]),
        ({"kind": "weight", "value": 0.5, "unit": "kg"}, ["value"]),
        ({"kind": "weight", "value": 70}, ["unit"]),
        ({"kind": "glucose", "value": 5.8, "unit": "mmol/L"}, ["glucose_context"]),
        ({"kind": "glucose", "value": 5.8, "unit": "kg", "glucose_context": "other"}, ["unit"]),
        ({"kind": "weight", "value": 70, "unit": "kg", "measured_at": "2999-01-01T08:00:00Z"}, ["measured_at"]),
        ({"kind": "weight", "value": "heavy", "unit": "kg"}, ["value"]),
        ({"systolic": 120, "diastolic": 80}, ["kind"]),
    ],
)
def test_a_reading_is_checked_as_on_the_page(
    client: Client, world: World, body: dict[str, Any], fields: list[str]
) -> None:
    sign_in(client, world, "caregiver_full")
    before = snapshot()
    response = send(client, "POST", url("api-record-measurements", rosa(world)), body)
    assert response.status_code == 400
    assert sorted(response.json()) == fields
    assert snapshot() == before


def test_a_grantee_may_not_delete_someone_elses_reading(client: Client, world: World) -> None:
    reading = HomeMeasurement.objects.create(
        patient=rosa(world), kind=MeasurementKind.WEIGHT, value=70, unit="kg", author=world.user("caregiver_full")
    )
    sign_in(client, world, "caregiver_records")
    before = snapshot()
    target = url("api-record-measurement", rosa(world), measurement_id=reading.pk)
    assert send(client, "DELETE", target).status_code == 403
    assert snapshot() == before


# Privacy choices: the patient alone --------------------------------------------------------------------------


@pytest.fixture
def alex_private(world: World) -> dict[str, int]:
    """Alex's private HIV test (from two sources), waiting for him; a private problem; his helper (records only)."""
    alex_helper(world)
    hiv = lab("hiv-1", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV")
    mood = condition("mood", "Depression", code="35489007", meta={"security": [{"code": "PSY"}]})
    store(source_for(world.patient_record, "Riverside"), hiv, mood, lab("a1c"))
    store(source_for(world.patient_record, "County Hospital"), hiv, mood)
    Patient.objects.filter(pk=world.patient_record.pk).update(results_after_discussion=True)
    rows = FhirResource.objects.filter(patient=world.patient_record).order_by("pk")
    hiv_rows = [row.pk for row in rows if row.resource_id == "hiv-1"]
    mood_rows = [row.pk for row in rows if row.resource_id == "mood"]
    return {"hiv": hiv_rows[0], "hiv_copy": hiv_rows[1], "mood": mood_rows[0], "mood_copy": mood_rows[1]}


def test_the_patient_sees_and_makes_privacy_choices(client: Client, world: World, alex_private: dict[str, int]) -> None:
    alex = world.patient_record
    grant = alex_helper(world)
    sign_in(client, world, "patient")
    choices = ok(client.get(url("api-record-privacy", alex)))
    assert choices["results_wait"] is True
    [waiting] = choices["waiting"]  # the two copies are one result
    assert set(waiting) == {"id", "sources", "day"}
    assert waiting["id"] in (alex_private["hiv"], alex_private["hiv_copy"])
    assert sorted(waiting["sources"]) == ["County Hospital", "Riverside"]
    assert waiting["day"].startswith("2026-")
    assert "HIV" not in json.dumps(choices["waiting"])  # the source and the day, never the test
    [helper] = choices["helpers"]
    assert helper["grant_id"] == str(grant.pk)
    assert not any(kind["chosen"] for kind in helper["kinds"])

    kinds = ok(send(client, "POST", url("api-record-private-kinds", alex, grant_id=grant.pk), {"kinds": ["hiv"]}))
    assert [kind["value"] for kind in kinds["kinds"] if kind["chosen"]] == ["hiv"]
    show = url("api-record-show-item", alex, item_id=alex_private["mood"])
    shown = ok(send(client, "POST", show, {"grant": str(grant.pk)}))
    assert {item["item_id"] for item in shown["items"]} == {alex_private["mood"], alex_private["mood_copy"]}
    share = shown["items"][0]["share_id"]
    assert send(client, "POST", url("api-record-stop-showing", alex, share_id=share)).status_code == 204
    assert not SensitiveShare.objects.filter(grant=grant, resource__isnull=False).exists()

    released = ok(send(client, "POST", url("api-record-release-result", alex, result_id=alex_private["hiv"])))
    assert released == {"result_id": alex_private["hiv"], "copies": 2}
    assert ResultRelease.objects.count() == 2
    assert ok(send(client, "POST", url("api-record-results-wait", alex), {"wait": False})) == {"wait": False}
    alex.refresh_from_db()
    assert alex.results_after_discussion is False


def test_bad_privacy_bodies_are_400_with_field_names(
    client: Client, world: World, alex_private: dict[str, int]
) -> None:
    alex = world.patient_record
    grant = alex_helper(world)
    sign_in(client, world, "patient")
    before = snapshot()
    for target, body, fields in (
        (url("api-record-results-wait", alex), {}, ["wait"]),
        (url("api-record-private-kinds", alex, grant_id=grant.pk), {"kinds": ["diet"]}, ["kinds"]),
        (url("api-record-show-item", alex, item_id=alex_private["mood"]), {}, ["grant"]),
        (url("api-record-show-item", alex, item_id=alex_private["mood"]), {"grant": str(uuid4())}, ["grant"]),
    ):
        response = send(client, "POST", target, body)
        assert response.status_code == 400, (target, response.status_code)
        assert sorted(response.json()) == fields
    assert snapshot() == before


def privacy_calls(world: World, ids: dict[str, int]) -> list[tuple[str, str, Any]]:
    alex, grant = world.patient_record, alex_helper(world)
    share = SensitiveShare.objects.create(patient=alex, grant=grant, category="hiv")
    return [
        ("GET", url("api-record-privacy", alex), None),
        ("POST", url("api-record-results-wait", alex), {"wait": False}),
        ("POST", url("api-record-release-result", alex, result_id=ids["hiv"]), None),
        ("POST", url("api-record-private-kinds", alex, grant_id=grant.pk), {"kinds": []}),
        ("POST", url("api-record-show-item", alex, item_id=ids["mood"]), {"grant": str(grant.pk)}),
        ("POST", url("api-record-stop-showing", alex, share_id=share.pk), None),
    ]


def test_a_helper_gets_404_from_every_privacy_call(client: Client, world: World, alex_private: dict[str, int]) -> None:
    """Alex's helper reads Alex's record, but never his privacy choices."""
    calls = privacy_calls(world, alex_private)
    helper = alex_helper(world)
    client.force_login(helper.grantee)
    assert client.get(url("api-record-summary", world.patient_record)).status_code == 200
    before, audited = snapshot(), AuditEvent.objects.count()
    for method, target, body in calls:
        assert send(client, method, target, body).status_code == 404, target
    assert snapshot() == before
    assert AuditEvent.objects.count() == audited


# Refusals, everywhere ---------------------------------------------------------------------------------------


def rosa_calls(world: World, ids: dict[str, int]) -> list[tuple[str, str, Any]]:
    """Every new call on Rosa's record, with a body that would succeed."""
    person = rosa(world)
    actor = resolve_actor(world.user("caregiver_full"), subject_id=str(person.pk))
    link = create_share_link(actor=actor, label="Rosa's link", days=7)
    entry = rosas_entry(world, "caregiver_full", EntryKind.QUESTION)
    reading = HomeMeasurement.objects.create(
        patient=person, kind=MeasurementKind.WEIGHT, value=70, unit="kg", author=world.user("caregiver_full")
    )
    return [
        ("GET", url("api-record-download", person), {"format": "csv"}),
        ("GET", url("api-record-attachment", person, item_id=ids["rosa-letter"], index=0), None),
        ("GET", url("api-record-share-links", person), None),
        ("POST", url("api-record-share-links", person), {"label": "x", "days": 7}),
        ("GET", url("api-record-share-link", person, link_id=link.pk), None),
        ("POST", url("api-record-share-link-revoke", person, link_id=link.pk), None),
        ("GET", url("api-record-journal", person), None),
        ("POST", url("api-record-journal", person), {"kind": "note", "text": "x"}),
        ("GET", url("api-record-journal-entry", person, entry_id=entry.pk), None),
        ("PATCH", url("api-record-journal-entry", person, entry_id=entry.pk), {"text": "y"}),
        ("POST", url("api-record-journal-question", person, entry_id=entry.pk), {"state": "asked"}),
        ("DELETE", url("api-record-journal-entry", person, entry_id=entry.pk), None),
        ("GET", url("api-record-measurements", person), None),
        ("POST", url("api-record-measurements", person), {"kind": "blood_pressure", "systolic": 120, "diastolic": 80}),
        ("DELETE", url("api-record-measurement", person, measurement_id=reading.pk), None),
    ]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("caregiver_manager", 404),  # a grant on Rosa without the records scope
        ("patient", 404),  # another family
        ("staff_here", 404),  # Rosa's clinic's nurse: not someone acting for her
        ("anonymous", 401),
    ],
)
def test_anyone_else_is_refused_everywhere_and_nothing_changes(
    client: Client, world: World, rosa_record: dict[str, int], persona: str, expected: int
) -> None:
    calls = rosa_calls(world, rosa_record)
    sign_in(client, world, persona)
    before, audited = snapshot(), AuditEvent.objects.count()
    for method, target, body in calls:
        response = send(client, method, target, body)
        assert response.status_code == expected, (method, target, response.status_code)
    assert snapshot() == before
    assert AuditEvent.objects.count() == audited


def test_the_caregiver_with_records_may_do_everything_its_page_allows(
    client: Client, world: World, rosa_record: dict[str, int]
) -> None:
    """The power of attorney: every call succeeds (the order above ends with the deletes)."""
    calls = rosa_calls(world, rosa_record)
    sign_in(client, world, "caregiver_full")
    for method, target, body in calls:
        response = send(client, method, target, body)
        assert response.status_code in (200, 201, 204), (method, target, response.status_code, response.content[:300])


def test_a_session_write_needs_the_csrf_token_and_a_token_call_does_not(
    world: World, rosa_record: dict[str, int]
) -> None:
    writes = [call for call in rosa_calls(world, rosa_record) if call[0] != "GET"]
    session = Client(enforce_csrf_checks=True)
    sign_in(session, world, "caregiver_full")
    before = snapshot()
    for method, target, body in writes:
        response = send(session, method, target, body)
        assert response.status_code == 403, (method, target, response.status_code)
        assert "CSRF" in response.json()["detail"]
    assert snapshot() == before
    _row, token = create_token_for(world.user("caregiver_full"))
    bearer = Client(enforce_csrf_checks=True)
    for method, target, body in writes:
        response = send(bearer, method, target, body, authorization=f"Bearer {token}")
        assert response.status_code in (200, 201, 204), (method, target, response.status_code)
    assert not JournalEntry.objects.filter(patient=rosa(world)).exclude(text="x").exists()


def test_a_token_writes_for_the_patient_the_path_names(client: Client, world: World) -> None:
    _row, token = create_token_for(world.user("caregiver_records"))
    bearer = {"authorization": f"Bearer {token}"}
    journal = url("api-record-journal", rosa(world))
    ok(send(client, "POST", journal, {"kind": "note", "text": "By token"}, **bearer), 201)
    before = snapshot()
    other = send(
        client, "POST", journal, {"kind": "note", "text": "x"}, **bearer, acting_for=str(world.patient_record.pk)
    )
    assert other.status_code == 400
    assert list(other.json()) == ["Acting-For"]
    assert snapshot() == before


# The schema ---------------------------------------------------------------------------------------------------

WRITE_PATHS: dict[str, set[str]] = {
    "download/": {"get"},
    "items/{item_id}/attachments/{index}/": {"get"},
    "share-links/": {"get", "post"},
    "share-links/{link_id}/": {"get"},
    "share-links/{link_id}/revoke/": {"post"},
    "journal/": {"get", "post"},
    "journal/{entry_id}/": {"get", "patch", "delete"},
    "journal/{entry_id}/question/": {"post"},
    "measurements/": {"get", "post"},
    "measurements/{measurement_id}/": {"delete"},
    "privacy/": {"get"},
    "privacy/results-wait/": {"post"},
    "privacy/waiting/{result_id}/show/": {"post"},
    "privacy/helpers/{grant_id}/kinds/": {"post"},
    "items/{item_id}/show/": {"post"},
    "privacy/shown/{share_id}/stop/": {"post"},
}


def test_the_schema_describes_every_new_call(client: Client, world: World) -> None:
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    for tail, methods in WRITE_PATHS.items():
        operations = schema["paths"][f"/api/v1/patients/{{patient_id}}/{tail}"]
        assert set(operations) - {"parameters"} == methods, tail
        for method in methods:
            assert operations[method]["summary"], (tail, method)
            assert operations[method]["tags"] == ["record"], (tail, method)
    download = schema["paths"]["/api/v1/patients/{patient_id}/download/"]["get"]
    assert set(download["responses"]["200"]["content"]) == {"application/fhir+json", "text/csv", "application/pdf"}
    assert download["responses"]["200"]["content"]["application/pdf"]["schema"] == {
        "type": "string",
        "format": "binary",
    }
    assert {p["name"] for p in download["parameters"]} >= {"format", "from", "to"}
    create = schema["paths"]["/api/v1/patients/{patient_id}/share-links/"]["post"]
    assert "201" in create["responses"]
    assert "400" in create["responses"]
    assert set(schema["components"]["schemas"]["ShareLinkDetail"]["properties"]) >= {
        "shlink", "url", "qr_svg", "openings", "state", "expires_at", "has_passcode", "created_at", "openings_count"
    }  # fmt: skip
    waiting = schema["components"]["schemas"]["WaitingResult"]["properties"]
    assert set(waiting) == {"id", "sources", "day"}
