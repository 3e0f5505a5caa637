"""The record's pages: summary, results, a result, timeline, sections and items, for the person and caregivers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.actors import actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from records.sections import SECTIONS
from records.selectors import visible_to
from tests.conftest import World, sign_in
from tests.records.record_data import condition, immunization, lab, medication, source_for, store

Ids = dict[str, int]
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def alex_record(world: World) -> Ids:
    """Alex's record from two health systems that share a vaccine, a problem and an HbA1c."""
    riverside = source_for(world.patient_record, "Riverside Family Clinic")
    hospital = source_for(world.patient_record, "Outside Hospital")
    shared = (
        lab("a1c-1", when="2026-10-01T09:00:00Z"),
        condition("t1d", "Type 1 diabetes"),
        immunization("flu-2025"),
    )
    store(riverside, *shared, lab("a1c-0", value=8.4, when="2026-04-01T09:00:00Z"), medication("insulin"))
    store(hospital, *shared)
    store(
        riverside,
        {
            "resourceType": "DiagnosticReport",
            "id": "panel-1",
            "status": "final",
            "category": [{"coding": [{"code": "LAB"}]}],
            "code": {"text": "Diabetes panel"},
            "effectiveDateTime": "2026-10-01T09:00:00Z",
            "result": [{"reference": "Observation/a1c-1"}],
        },
    )
    store(riverside, lab("hiv-1", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV"))
    return {"riverside": riverside.pk, "hospital": hospital.pk}


def page(client: Client, name: str, *args: object, **query: str) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_summary_shows_current_problems_medicines_and_new_items(
    client: Client, world: World, alex_record: Ids
) -> None:
    sign_in(client, world, "patient")
    html = page(client, "records:summary")
    assert "Type 1 diabetes" in html
    assert "Insulin glargine" in html
    assert html.count("Type 1 diabetes") == 1  # two sources, one item
    assert "Riverside Family Clinic" in html
    assert "Outside Hospital" in html


def test_one_list_without_duplicates_with_a_badge_per_source(client: Client, world: World, alex_record: Ids) -> None:
    sign_in(client, world, "patient")
    html = page(client, "records:section", "immunizations")
    assert html.count(">Influenza vaccine<") == 1
    item = html.split(">Influenza vaccine<", 1)[1].split("</li>", 1)[0]
    assert "Riverside Family Clinic" in item
    assert "Outside Hospital" in item


def test_results_list_one_line_per_test_with_its_latest_value(client: Client, world: World, alex_record: Ids) -> None:
    sign_in(client, world, "patient")
    html = page(client, "records:results")
    assert html.count(">Hemoglobin A1c</a>") == 1
    assert "7.9 %" in html
    assert "8.4 %" not in html
    assert "higher than the usual range" in html
    assert "2 values" in html  # two dates (the copy from the second system is the same value)


def test_a_result_shows_its_range_report_sources_and_history(client: Client, world: World, alex_record: Ids) -> None:
    row = visible_to(actor_for(world.user("patient"))).get(resource_id="a1c-1", source_id=alex_record["riverside"])
    sign_in(client, world, "patient")
    html = page(client, "records:result", row.pk)
    assert "4\u20135.6 %" in html  # the usual range (with an en dash)
    assert "Diabetes panel" in html  # the report it belongs to
    assert "Outside Hospital" in html  # the same result from the other system
    assert "8.4 %" in html  # the test's earlier value, in the history table


def test_a_corrected_result_is_marked(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Lab")
    store(source, lab("fixed", status="corrected"))
    sign_in(client, world, "patient")
    html = page(client, "records:results")
    assert "Corrected" in html


def test_a_caregiver_sees_the_record_without_the_sensitive_items(client: Client, world: World) -> None:
    source = source_for(world.people["rosa"], "Riverside Family Clinic")
    store(source, lab("rosa-a1c"), lab("rosa-hiv", code="75622-1", display="HIV test", security="HIV"))
    sign_in(client, world, "caregiver_records")
    html = page(client, "records:results")
    assert "Hemoglobin A1c" in html
    assert "HIV test" not in html
    timeline = page(client, "records:timeline")
    assert "Hemoglobin A1c" in timeline
    assert "HIV test" not in timeline


def test_the_patient_sees_a_quiet_marker_on_sensitive_items(client: Client, world: World, alex_record: Ids) -> None:
    sign_in(client, world, "patient")
    html = page(client, "records:timeline")
    line = html.split(">HIV test<", 1)[1].split("</li>", 1)[0]
    assert "Private" in line


def test_a_parent_of_a_teen_never_sees_confidential_items(client: Client, world: World) -> None:
    source = source_for(world.people["teen"], "Lakeside Pediatrics")
    store(source, lab("teen-1"), lab("teen-2", code="2345-7", display="Glucose", security="R"))
    sign_in(client, world, "parent_of_teen")
    html = page(client, "records:results")
    assert "Hemoglobin A1c" in html
    assert "Glucose" not in html


def test_reads_by_a_caregiver_are_audited_and_the_persons_own_are_not(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    page(client, "records:summary")
    assert AuditEvent.objects.filter(
        action=AuditAction.RECORDS_SUMMARY_VIEWED, subject_patient=world.people["rosa"]
    ).exists()
    client.logout()
    sign_in(client, world, "patient")
    page(client, "records:summary")
    assert not AuditEvent.objects.filter(
        action=AuditAction.RECORDS_SUMMARY_VIEWED, subject_patient=world.patient_record
    ).exists()


def test_the_timeline_filters_by_kind_source_and_dates(client: Client, world: World, alex_record: Ids) -> None:
    sign_in(client, world, "patient")
    html = page(client, "records:timeline", kind="immunization")
    assert "Influenza vaccine" in html
    assert "Hemoglobin A1c" not in html
    html = page(client, "records:timeline", source=str(alex_record["hospital"]))
    assert "Insulin glargine" not in html
    assert "Hemoglobin A1c" in html
    html = page(client, "records:timeline", **{"from": "2026-09-01", "to": "2026-12-31"})
    assert "Hemoglobin A1c" in html
    assert "Influenza vaccine" not in html
    html = page(client, "records:timeline", on="2025-10-15")
    assert "Influenza vaccine" in html
    assert "Hemoglobin A1c" not in html
    html = page(client, "records:timeline", **{"from": "2026-12-31", "to": "2026-09-01"})
    assert "we swapped them" in html
    assert "Hemoglobin A1c" in html
    # Junk filters are ignored, never an error.
    page(client, "records:timeline", kind="<b>", source="abc", on="2026-02-31", page="x")


@pytest.mark.parametrize("slug", sorted(SECTIONS))
def test_every_section_renders_empty_and_full(client: Client, world: World, alex_record: Ids, slug: str) -> None:
    sign_in(client, world, "patient")
    html = page(client, "records:section", slug)
    assert str(SECTIONS[slug].title) in html


def test_an_unknown_section_is_not_found(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    assert client.get(reverse("records:section", args=["nothing-here"])).status_code == 404


def test_another_persons_item_is_not_found(client: Client, world: World, alex_record: Ids) -> None:
    row = visible_to(actor_for(world.user("patient"))).filter(resource_type="Observation").first()
    sign_in(client, world, "caregiver_full")  # Rosa's caregiver, not Alex's
    assert client.get(reverse("records:result", args=[row.pk])).status_code == 404
    assert client.get(reverse("records:item", args=[row.pk])).status_code == 404


def test_a_non_result_is_not_a_result_page(client: Client, world: World, alex_record: Ids) -> None:
    row = visible_to(actor_for(world.user("patient"))).filter(resource_type="Condition").first()
    sign_in(client, world, "patient")
    assert client.get(reverse("records:result", args=[row.pk])).status_code == 404
    assert client.get(reverse("records:item", args=[row.pk])).status_code == 200


def test_hostile_strings_render_inert_and_odd_values_show_what_is_known(client: Client, world: World) -> None:
    source = source_for(world.patient_record, HOSTILE)
    store(
        source,
        lab("h1", display=HOSTILE, unit=HOSTILE, low=None, high=None, interpretation=""),
        lab("h2", code="2345-7", display="Glucose", unit="", low=None, high=None, when="2026-03"),
        lab("h3", code="718-7", display="Hemoglobin", value=None, valueString=HOSTILE),
        condition("c1", HOSTILE, note=[{"text": HOSTILE}]),
        {"resourceType": "Observation", "id": "bare", "status": "final"},
        {
            "resourceType": "DocumentReference",
            "id": "d1",
            "description": HOSTILE,
            "content": [{"attachment": {"title": HOSTILE}}],
        },
    )
    sign_in(client, world, "patient")
    rows = list(visible_to(actor_for(world.user("patient"))))
    pages = [page(client, "records:summary"), page(client, "records:results"), page(client, "records:timeline")]
    pages += [page(client, "records:section", slug) for slug in SECTIONS]
    pages += [
        page(client, "records:result" if r.resource_type == "Observation" else "records:item", r.pk) for r in rows
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    assert any("&lt;script&gt;" in html for html in pages)


def test_a_result_explains_itself_and_draws_one_trend_across_sources_in_one_unit(client: Client, world: World) -> None:
    riverside = source_for(world.patient_record, "Riverside Family Clinic")
    hospital = source_for(world.patient_record, "Outside Hospital")
    store(
        riverside,
        lab("a1c-new", value=7.9, when="2026-10-01T09:00:00Z"),
        lab("a1c-old", value=7.2, when="2026-01-05T09:00:00Z"),
    )
    # The hospital reports HbA1c in mmol/mol (IFCC): 64 mmol/mol is about 8.0 %.
    store(
        hospital,
        lab("a1c-ifcc", code="4548-4", value=64, unit="mmol/mol", low=20, high=42, when="2026-06-01T09:00:00Z"),
    )
    row = visible_to(actor_for(world.user("patient"))).get(resource_id="a1c-new")
    sign_in(client, world, "patient")
    html = page(client, "records:result", row.pk)
    assert "<svg" in html
    assert 'role="img"' in html
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count("<circle") >= 3  # the three values, from both sources, on one chart
    assert "Outside Hospital" in svg
    assert "average blood sugar" in html.lower()  # the plain-language explanation of HbA1c
    assert "higher than the usual range" in html.lower()
    assert "style=" not in svg
    assert "<script" not in svg


def test_the_glossary_is_in_the_readers_language(client: Client) -> None:
    html = client.get(reverse("records:glossary")).content.decode()
    assert "Reference range" in html or "reference range" in html.lower()
    spanish = client.get(reverse("records:glossary"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "rango de referencia" in spanish.lower()


def test_the_summary_shows_preventive_care_with_its_rule_and_source(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(
        source,
        immunization("flu-old", when="2020-10-15"),
        lab(
            "bp",
            code="8480-6",
            display="Systolic",
            value=120,
            unit="mm[Hg]",
            category="vital-signs",
            when="2026-11-01T09:00:00Z",
        ),
    )
    sign_in(client, world, "patient")
    html = page(client, "records:summary")
    care = html.split('id="care-title"', 1)[1].split("</section>", 1)[0]
    assert "Flu" in care or "flu" in care
    assert "from Riverside Family Clinic" in care  # where the last one was found
    assert "Due" in care


def _english_msgids() -> set[str]:
    """Our catalog's English words whose Spanish differs (a page in Spanish must show none of them)."""
    from tests.test_translations import PO_PATH, parse_po

    return {
        entry.msgid
        for entry in parse_po(PO_PATH)
        if entry.msgid and entry.msgstr.get(0) and entry.msgstr[0] != entry.msgid and len(entry.msgid) > 3
    }


def test_the_record_pages_in_spanish_show_no_english_words(client: Client, world: World, alex_record: Ids) -> None:
    import re
    from html import unescape

    from django.utils import translation

    english = _english_msgids() - {"English"}  # the language switcher names each language in its own words
    sign_in(client, world, "patient")
    client.cookies["django_language"] = "es"
    row = visible_to(actor_for(world.user("patient"))).get(resource_id="a1c-1", source_id=alex_record["riverside"])
    urls = [reverse("records:summary"), reverse("records:results"), reverse("records:timeline")]
    urls += [reverse("records:section", args=[slug]) for slug in SECTIONS]
    urls += [reverse("records:result", args=[row.pk]), reverse("records:glossary"), reverse("records:privacy")]
    with translation.override("es"):
        for url in urls:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="es")
            assert response.status_code == 200
            html = response.content.decode()
            assert '<html lang="es"' in html, url
            texts = {unescape(t).strip() for t in re.findall(r">([^<>]+)<", html)}
            assert not (texts & english), (url, sorted(texts & english))


def test_a_stopped_medicine_is_past_and_not_on_the_summary(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(source, medication("metformin", "Metformin", status="stopped"), medication("insulin", status=""))
    sign_in(client, world, "patient")
    summary = page(client, "records:summary").split('id="medications-title"', 1)[1].split("</section>", 1)[0]
    assert "Insulin glargine" in summary
    assert "Metformin" not in summary
    listing = page(client, "records:section", "medications")
    assert listing.index("Insulin glargine") < listing.index(">Past<") < listing.index("Metformin")
