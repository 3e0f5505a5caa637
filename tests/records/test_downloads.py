"""Downloading the record: the FHIR Bundle, the PDF summary and the results CSV, whole or for a period.

What each format holds, who may download (and what they never get), hostile strings from a health system
in every format, the form's checks, the response's headers and the access history's line.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.actors import actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from records import exports
from records import pdf as pdf_module
from records.exports import bundle_bytes, record_bundle
from records.ingest import write_page
from records.pdf import render_pdf
from records.selectors import visible_to
from tests.conftest import World, sign_in
from tests.records.record_data import condition, immunization, lab, medication, source_for, store

HOSTILE = '<script>alert("x")</script><img src="http://127.0.0.1:9/x.png" onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'
FILE_NAME = re.compile(
    r'^attachment; filename="(health-record|health-summary|test-results)-\d{4}-\d{2}-\d{2}\.(json|pdf|csv)"$'
)


def _download(client: Client, fmt: str, **dates: str) -> Any:
    query = {"format": fmt, **{("from" if key == "start" else "to"): value for key, value in dates.items()}}
    return client.get(reverse("records:download_file"), query)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def bundle_of(client: Client, **dates: str) -> dict[str, Any]:
    response = _download(client, "fhir", **dates)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/fhir+json"
    return orjson.loads(_body(response))


def csv_of(client: Client, **dates: str) -> list[list[str]]:
    response = _download(client, "csv", **dates)
    assert response.status_code == 200, response.status_code
    data = _body(response)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark, for spreadsheet apps
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def pdf_of(client: Client, **query: Any) -> PdfReader:
    headers = query.pop("headers", {})
    response = client.get(reverse("records:download_file"), {"format": "pdf", **query}, **headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    return PdfReader(io.BytesIO(response.content))


def pdf_text(reader: PdfReader) -> str:
    """The PDF's text with its line breaks as spaces (table cells wrap their words)."""
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def alex_record(world: World) -> None:
    """Alex's record from two sources sharing an HbA1c and a problem, a sensitive test, and undated items."""
    riverside = source_for(world.patient_record, "Riverside Family Clinic")
    hospital = source_for(world.patient_record, "Outside Hospital")
    shared = (lab("a1c-1", when="2026-10-01T09:00:00Z"), condition("t1d", "Type 1 diabetes"))
    store(
        riverside,
        *shared,
        lab("a1c-0", value=8.4, when="2026-04-01T09:00:00Z"),
        medication("insulin"),
        immunization("flu-2025"),
        lab("hiv-1", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV"),
        {
            "resourceType": "AllergyIntolerance",
            "id": "undated",
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"text": "Penicillin"},
        },
    )
    store(hospital, *shared)


# The FHIR Bundle -----------------------------------------------------------------------------------------


def test_the_bundle_holds_every_visible_resource_as_stored_with_a_full_url(
    client: Client, world: World, alex_record: None
) -> None:
    actor = actor_for(world.user("patient"))
    rows = list(visible_to(actor))
    sign_in(client, world, "patient")
    bundle = bundle_of(client)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    entries = bundle["entry"]
    patient = entries[0]["resource"]
    assert patient["resourceType"] == "Patient"
    assert patient["name"][0]["family"] == "Rivera"
    assert patient["birthDate"] == world.patient_record.birth_date.isoformat()
    assert len(entries) == len(rows) + 1
    full_urls = [entry["fullUrl"] for entry in entries]
    assert len(set(full_urls)) == len(full_urls)
    assert all(url.startswith("urn:uuid:") for url in full_urls)  # uploaded files have no server address
    stored = sorted(orjson.dumps(row.raw, option=orjson.OPT_SORT_KEYS) for row in rows)
    sent = sorted(orjson.dumps(entry["resource"], option=orjson.OPT_SORT_KEYS) for entry in entries[1:])
    assert sent == stored  # raw, as stored: both copies of the shared items, the sensitive test (his own) too
    # The streamed download and the function other features call give the same entries.
    assert [entry["fullUrl"] for entry in record_bundle(actor)["entry"]] == full_urls


def test_a_connected_systems_resources_are_addressed_at_that_system(client: Client, world: World) -> None:
    write_page(world.rosa_connection.source, [lab("rosa-a1c")])
    sign_in(client, world, "caregiver_full")
    entries = bundle_of(client)["entry"]
    assert entries[1]["fullUrl"] == "https://fhir.outside.example/r4/Observation/rosa-a1c"


def test_a_period_keeps_the_items_dated_within_it_and_leaves_out_undated_ones(
    client: Client, world: World, alex_record: None
) -> None:
    source = source_for(world.patient_record, "Lakeside Lab")
    store(
        source,
        lab("march", code="2345-7", display="Glucose", when="2026-03"),  # a month without a day: its first day
        lab("may-1", code="718-7", display="Hemoglobin", when="2026-05-01"),  # a calendar day, not UTC midnight
        lab("evening", code="2093-3", display="Cholesterol", when="2026-04-30T23:30:00-05:00"),  # 30 April, Chicago
    )
    sign_in(client, world, "patient")
    bundle = bundle_of(client, start="2026-03-01", end="2026-04-30")
    ids = {entry["resource"]["id"] for entry in bundle["entry"][1:]}
    assert ids == {"march", "a1c-0", "evening"}
    whole = {entry["resource"]["id"] for entry in bundle_of(client)["entry"][1:]}
    assert {"undated", "t1d", "insulin", "may-1", "a1c-1"} <= whole
    # Either bound alone: from a day on, or up to a day.
    from_may = {e["resource"]["id"] for e in bundle_of(client, start="2026-05-01")["entry"][1:]}
    assert from_may == {"may-1", "a1c-1", "hiv-1"}
    up_to = {e["resource"]["id"] for e in bundle_of(client, end="2026-03-31")["entry"][1:]}
    assert "march" in up_to
    assert "a1c-0" not in up_to
    # The same period keeps the same results in the CSV.
    rows = csv_of(client, start="2026-03-01", end="2026-04-30")[1:]
    assert sorted(row[1] for row in rows) == ["Cholesterol", "Glucose", "Hemoglobin A1c"]


def test_record_bundle_takes_a_period_and_an_extreme_date_is_no_error(world: World, alex_record: None) -> None:
    actor = actor_for(world.user("patient"))
    with timezone.override("Pacific/Kiritimati"):
        assert len(record_bundle(actor, start=date.min, end=date.max)["entry"]) > 1
        in_april = record_bundle(actor, start=date(2026, 4, 1), end=date(2026, 4, 30))
    assert [entry["resource"]["id"] for entry in in_april["entry"][1:]] == ["a1c-0"]


# The CSV -------------------------------------------------------------------------------------------------


def test_the_csv_has_one_row_per_result_with_its_words_and_every_source(
    client: Client, world: World, alex_record: None
) -> None:
    sign_in(client, world, "patient")
    rows = csv_of(client)
    assert rows[0] == ["Date", "Test", "LOINC code", "Value", "Unit", "Usual range", "Flag", "Status", "Source"]
    body = rows[1:]
    a1c = [row for row in body if row[1] == "Hemoglobin A1c"]
    assert len(a1c) == 2  # two values; the copy from the second source is the same result
    newest = a1c[0]
    assert newest[2] == "4548-4"
    assert newest[3:6] == ["7.9", "%", "4\u20135.6"]
    assert newest[6] == "higher than the usual range"
    assert newest[7] == "final"
    assert sorted(newest[8].split("; ")) == ["Outside Hospital", "Riverside Family Clinic"]
    assert newest[0].startswith("2026-10-01")
    hiv = next(row for row in body if row[1] == "HIV test")
    assert hiv[6] == "negative"


# The PDF -------------------------------------------------------------------------------------------------


def test_the_pdf_summarises_the_record_with_its_sources(client: Client, world: World, alex_record: None) -> None:
    sign_in(client, world, "patient")
    text = pdf_text(pdf_of(client))
    for expected in (
        "Health record summary",
        "Alex Rivera",
        "The whole record",
        "Type 1 diabetes",
        "Insulin glargine",
        "Penicillin",
        "Influenza vaccine",
        "Hemoglobin A1c",
        "higher than the usual range",
        "Riverside Family Clinic",
        "Outside Hospital",
    ):
        assert expected in text, expected
    assert text.count("Type 1 diabetes") == 1  # two sources, one item


def test_a_pdf_of_a_period_says_which_and_leaves_out_undated_items(
    client: Client, world: World, alex_record: None
) -> None:
    sign_in(client, world, "patient")
    text = pdf_text(pdf_of(client, **{"from": "2026-04-01", "to": "2026-04-30"}))
    assert "Items dated from April 1, 2026 to April 30, 2026" in text
    assert "Penicillin" not in text
    assert "8.4" in text
    assert "7.9" not in text


def test_the_pdf_in_spanish(client: Client, world: World, alex_record: None) -> None:
    sign_in(client, world, "patient")
    client.cookies["django_language"] = "es"
    text = pdf_text(pdf_of(client, headers={"HTTP_ACCEPT_LANGUAGE": "es"}))
    for spanish in ("Problemas de salud", "Medicamentos actuales", "Alergias", "Vacunas", "Resultados de pruebas"):
        assert spanish in text, spanish
    assert "más alto que el rango habitual" in text  # the flag in words, from the bilingual content
    assert "7,9 %" in text  # numbers as Spanish readers write them
    assert "Fecha de nacimiento" in text
    assert "higher than the usual range" not in text


# Who may download, and what they never get ---------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["records:download", "records:download_file"])
def test_a_caregiver_without_the_records_scope_is_refused(client: Client, world: World, url_name: str) -> None:
    write_page(world.rosa_connection.source, [lab("rosa-a1c")])
    sign_in(client, world, "caregiver_manager")
    for fmt in ("fhir", "pdf", "csv"):
        assert client.get(reverse(url_name), {"format": fmt}).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.RECORDS_DOWNLOADED).exists()


def test_a_caregiver_from_whom_sensitive_items_are_hidden_gets_none_in_any_format(client: Client, world: World) -> None:
    rosa = world.people["rosa"]
    source = source_for(rosa, "Riverside Family Clinic")
    store(
        source,
        lab("rosa-a1c"),
        lab("rosa-hiv", code="75622-1", display="HIV test", security="HIV"),
        condition("rosa-dep", "Depression", code="35489007", meta={"security": [{"code": "PSY"}]}),
    )
    sign_in(client, world, "caregiver_records")
    bundle = orjson.dumps(bundle_of(client)).decode()
    assert "rosa-a1c" in bundle
    assert "rosa-hiv" not in bundle
    assert "HIV" not in bundle
    assert "rosa-dep" not in bundle
    rows = csv_of(client)
    assert [row[1] for row in rows[1:]] == ["Hemoglobin A1c"]
    text = pdf_text(pdf_of(client))
    assert "Hemoglobin A1c" in text
    assert "HIV" not in text
    assert "Depression" not in text


def test_every_download_is_recorded_for_everyone_the_person_included(client: Client, world: World) -> None:
    write_page(world.rosa_connection.source, [lab("rosa-a1c")])
    sign_in(client, world, "caregiver_full")
    for fmt in ("fhir", "pdf", "csv"):
        _body(_download(client, fmt))
    events = AuditEvent.objects.filter(action=AuditAction.RECORDS_DOWNLOADED, subject_patient=world.people["rosa"])
    assert events.count() == 3
    assert {event.actor_user for event in events} == {world.user("caregiver_full")}
    client.logout()
    sign_in(client, world, "patient")
    _body(_download(client, "csv"))
    own = AuditEvent.objects.filter(action=AuditAction.RECORDS_DOWNLOADED, subject_patient=world.patient_record)
    assert own.count() == 1
    # Opening the page to choose is not a download.
    client.get(reverse("records:download"))
    assert own.count() == 1


# The page and its form -----------------------------------------------------------------------------------


def test_the_page_offers_the_three_formats_and_the_record_links_to_it(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    html = client.get(reverse("records:download")).content.decode()
    for value in ("pdf", "csv", "fhir"):
        assert f'value="{value}"' in html
    assert f'action="{reverse("records:download_file")}"' in html
    assert 'method="get"' in html
    summary = client.get(reverse("records:summary")).content.decode()
    assert summary.count(f'href="{reverse("records:download")}"') == 2  # the record's navigation and the summary


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"format": "pdf", "from": "2026-05-01", "to": "2026-04-01"}, "The start date is after the end date."),
        ({"format": "csv", "from": "yesterday"}, "Enter the date as year-month-day, for example 2026-03-31."),
        ({"format": "csv", "to": "2026-02-30"}, "Enter the date as year-month-day, for example 2026-03-31."),
        ({"format": "exe"}, "Choose one of the formats below."),
        ({}, "Choose what to download."),
    ],
)
def test_bad_input_shows_the_form_again_with_what_to_fix(
    client: Client, world: World, query: dict[str, str], message: str
) -> None:
    sign_in(client, world, "patient")
    response = client.get(reverse("records:download_file"), query)
    assert response.status_code == 400
    assert "attachment" not in response.get("Content-Disposition", "")
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.RECORDS_DOWNLOADED).exists()


@pytest.mark.parametrize("fmt", ["fhir", "pdf", "csv"])
def test_a_download_is_an_attachment_named_by_its_day_and_never_stored(
    client: Client, world: World, alex_record: None, fmt: str
) -> None:
    sign_in(client, world, "patient")
    response = _download(client, fmt, start="2026-01-01", end="2026-12-31")
    assert response.status_code == 200
    assert FILE_NAME.match(response["Content-Disposition"]), response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert "Rivera" not in response["Content-Disposition"]


# Hostile strings -----------------------------------------------------------------------------------------


@pytest.fixture
def hostile_record(world: World) -> None:
    """What a careless or hostile health system might send: markup, formulas, huge strings, half data."""
    source = source_for(world.patient_record, HOSTILE)
    store(
        source,
        lab("h1", display=HOSTILE, unit=HOSTILE, low=None, high=None, interpretation=""),
        lab("h2", code="2345-7", display=FORMULA, unit="", low=None, high=None, when="2026-03"),
        lab("h3", code="718-7", display="+cmd|' /C calc'!A0", value=None, valueString="@SUM(1+1)*cmd|' /C calc'!A0"),
        lab("h4", code="2093-3", display="-2+3", value=-1.5, unit="\tmmol/L", low=-2.0, high=None, when="2026"),
        lab("h5", code="2571-8", display="x" * 5000, value=1e300, unit="\rmg", low=None, high=9.0),
        lab(
            "h6",
            code="1742-6",
            display="Tab\tand\nnewline",
            value=None,
            low=None,
            high=None,
            interpretation="",
            referenceRange=[{"text": "=1+1"}],
        ),
        condition("c1", HOSTILE, note=[{"text": HOSTILE}]),
        medication("m1", display=FORMULA),
        immunization("i1", display="<a href='http://evil.example'>click</a>", when="2025"),
        {"resourceType": "Encounter", "id": "e1", "status": "finished", "type": [{"text": HOSTILE}]},
        {"resourceType": "Observation", "id": "bare", "status": "final"},
    )


def test_hostile_strings_stay_inert_in_every_format(client: Client, world: World, hostile_record: None) -> None:
    sign_in(client, world, "patient")
    for query in ({}, {"start": "2020-01-01", "end": "2030-12-31"}):
        bundle = bundle_of(client, **query)
        assert any(entry["resource"].get("code", {}).get("text") == HOSTILE for entry in bundle["entry"])
        rows = csv_of(client, **query)
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _is_number(cell), row
        pdf_of(client, **{"from": query.get("start", ""), "to": query.get("end", "")})
    cells = {cell for row in csv_of(client)[1:] for cell in row}
    assert "'" + FORMULA in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells
    assert "'=1+1" in cells  # a range in the lab's own words
    assert "'-2+3" in cells
    assert "-1.5" in cells  # a negative number the portal wrote stays a number
    assert HOSTILE in cells  # markup is only text in a spreadsheet
    month = next(row for row in csv_of(client)[1:] if row[1] == "'" + FORMULA)
    assert month[0] == "2026-03"  # a date without a day stays without one
    assert month[4] == ""  # no unit
    assert month[5] == ""  # no range


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_hostile_strings_in_the_pdf_are_only_text_and_nothing_is_fetched(
    client: Client, world: World, hostile_record: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []
    original = pdf_module.RefuseEveryUrl.fetch

    def spy(self: Any, url: str, headers: Any = None) -> Any:
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(pdf_module.RefuseEveryUrl, "fetch", spy)
    sign_in(client, world, "patient")
    reader = pdf_of(client)
    text = pdf_text(reader)
    assert '<script>alert("x")</script>' in text  # shown literally
    assert "<a href='http://evil.example'>click</a>" in text
    assert FORMULA in text
    assert fetched == []  # nothing in the record made the server ask for a URL
    _assert_no_links_or_scripts(reader)


def _assert_no_links_or_scripts(reader: PdfReader) -> None:
    root = reader.trailer["/Root"]
    assert "/OpenAction" not in root
    assert "/AA" not in root
    assert "/JavaScript" not in (root.get("/Names") or {})
    for page in reader.pages:
        assert "/AA" not in page
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            assert annotation.get("/Subtype") != "/Link", annotation
            assert "/A" not in annotation
    raw = b"".join(bytes(str(page.get_object()), "utf-8") for page in reader.pages)
    assert b"JavaScript" not in raw


def test_the_renderer_refuses_every_url_and_still_makes_the_document() -> None:
    html = (
        '<html><body><p>Kept</p><img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">'
        '<p style="background: url(data:image/png;base64,iVBORw0KGgo=)">Also kept</p></body></html>'
    )
    text = pdf_text(PdfReader(io.BytesIO(render_pdf(html))))
    assert "Kept" in text
    assert "Also kept" in text
    assert "root:" not in text


# Cost --------------------------------------------------------------------------------------------------


def _queries(client: Client, fmt: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = _download(client, fmt)
        _body(response)  # a streamed file reads the records while it is sent
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("fmt", ["fhir", "pdf", "csv"])
def test_a_downloads_query_count_does_not_grow_with_the_record(client: Client, world: World, fmt: str) -> None:
    source = world.rosa_connection.source
    store(source, lab("first"), condition("first-problem", "Asthma"), medication("first-medicine"))
    sign_in(client, world, "caregiver_full")
    _queries(client, fmt)
    before = _queries(client, fmt)
    for n in range(6):
        store(
            source,
            lab(f"a1c-{n}", value=7 + n / 10, when=f"2026-0{n + 1}-10T09:00:00Z"),
            condition(f"problem-{n}", f"Problem {n}", code=f"1000{n}"),
            medication(f"medicine-{n}", f"Medicine {n}"),
            immunization(f"flu-{n}", when=f"202{n}-10-15"),
            {"resourceType": "Encounter", "id": f"visit-{n}", "status": "finished", "period": {"start": "2026-02-01"}},
        )
    assert _queries(client, fmt) == before


def test_a_bundle_with_a_number_past_64_bits_still_serialises(world: World) -> None:
    store(source_for(world.patient_record, "Lab"), lab("huge", value=1e300))
    bundle = record_bundle(actor_for(world.user("patient")))
    bundle["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Basic", "big": 10**300}})
    assert orjson.loads(bundle_bytes(bundle))["entry"][-1]["resource"]["resourceType"] == "Basic"


def test_the_pdf_shows_the_newest_results_and_says_the_csv_has_them_all(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "SUMMARY_RESULTS_CAP", 2)
    source = source_for(world.patient_record, "Lab")
    store(source, *(lab(f"a1c-{n}", value=7 + n, when=f"2026-0{n + 1}-10T09:00:00Z") for n in range(4)))
    sign_in(client, world, "patient")
    text = pdf_text(pdf_of(client))
    assert "The newest 2 results are shown. The spreadsheet (CSV) download has every result." in text
    assert "10" in text
    assert "7 %" not in text  # the oldest
    assert len(csv_of(client)) == 1 + 4
