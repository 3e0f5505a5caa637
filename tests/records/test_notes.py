"""Visit notes and their attachments: shown safely, downloaded only through the authorized view, audited."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.actors import actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, Patient
from records.actions import import_fhir_file
from records.models import FhirResource
from records.notes import TEXT_LIMIT, decode_base64, sanitize_note_html
from records.projections import project
from records.selectors import visible_to
from tests.conftest import SMALL_PDF, World, sign_in
from tests.records.record_data import source_for, store
from tests.shared_data import shared_folder

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
HOSTILE_HTML = (
    "<h1 onclick=\"alert('pwned-h1')\">Plan</h1>"
    "<script>alert('pwned-script')</script>"
    "<img src=x onerror=\"alert('pwned-img')\">"
    "<a href=\"javascript:alert('pwned-link')\">click me</a>"
    '<p style="position:fixed;top:0">styled</p><style>body{display:none}</style>'
    '<iframe src="https://evil.example/">pwned-iframe</iframe>'
    "<svg onload=\"alert('pwned-svg')\"><script>alert('pwned-svg2')</script></svg>"
    "<math><mi xlink:href=\"javascript:alert('pwned-math')\">m</mi></math>"
    '<form action="https://evil.example/"><input name="pwned-form"></form>'
    '<table><tr><td colspan="2" rowspan="99999" onmouseover="alert(\'pwned-td\')">cell</td></tr></table>'
    "<!-- pwned-comment --><div><b>unclosed"
)
HOSTILE_MARKERS = (
    "pwned-",
    "javascript:",
    "onerror",
    "onclick",
    "onload",
    "<iframe",
    "<math",
    "<style",
    "evil.example",
)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def attachment(content_type: str, data: bytes | str | None = None, *, title: str = "", url: str = "") -> dict:
    found: dict[str, Any] = {"contentType": content_type}
    if data is not None:
        found["data"] = b64(data)
    if title:
        found["title"] = title
    if url:
        found["url"] = url
    return {"attachment": found}


def document(rid: str, *contents: dict, encounter: Any = None, security: str = "", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "type": {"text": "Visit note"},
        "date": "2026-10-02T10:00:00Z",
        "content": list(contents),
        **extra,
    }
    if encounter is not None:
        resource["context"] = {"encounter": encounter}
    if security:
        resource["meta"] = {"security": [{"code": security}]}
    return resource


def encounter(rid: str, display: str = "Diabetes check-up") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": rid,
        "status": "finished",
        "type": [{"text": display}],
        "period": {"start": "2026-10-02T09:00:00Z"},
    }


def item_id(patient: Patient, rid: str) -> int:
    return FhirResource.objects.get(patient=patient, resource_id=rid).pk


def item_page(client: Client, pk: int) -> str:
    response = client.get(reverse("records:item", args=[pk]))
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def download_url(pk: int | str, index: int | str) -> str:
    return f"/records/items/{pk}/attachments/{index}/"


def downloads() -> int:
    return AuditEvent.objects.filter(action=AuditAction.RECORDS_ATTACHMENT_DOWNLOADED).count()


# Showing notes -------------------------------------------------------------------------------------------


def test_text_and_html_notes_render_with_their_narrative(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(
        source,
        document(
            "note-1",
            attachment("text/plain", "Blood sugar better.\n    Keep insulin at 10 units.", title="Progress note"),
            attachment(
                "text/html; charset=utf-8",
                "<h1>Plan</h1><h3>Diet</h3><p>Walk <b>daily</b>.</p><table><tr><td colspan=2>both</td></tr></table>",
                title="Care plan",
            ),
            text={"status": "additional", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Seen today.</p></div>'},
        ),
    )
    sign_in(client, world, "patient")
    html = item_page(client, item_id(world.patient_record, "note-1"))
    assert '<pre class="note-text">Blood sugar better.\n    Keep insulin at 10 units.</pre>' in html
    assert "<h3>Plan</h3><h4>Diet</h4><p>Walk <b>daily</b>.</p>" in html  # headings sit under the page's own
    assert '<td colspan="2">both</td>' in html
    assert "<p>Seen today.</p>" in html
    assert "Progress note" in html
    assert "Care plan" in html
    assert "Notes are shown as your care team wrote them" in html
    assert "/attachments/" not in html  # everything was shown whole: no file to download


def test_hostile_html_and_narrative_are_inert(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(
        source,
        document(
            "note-bad",
            attachment("text/html", HOSTILE_HTML, title="Letter"),
            text={"status": "generated", "div": HOSTILE_HTML},
        ),
    )
    sign_in(client, world, "patient")
    html = item_page(client, item_id(world.patient_record, "note-bad"))
    for marker in HOSTILE_MARKERS:
        assert marker not in html, marker
    assert 'style="' not in html
    assert "<h3>Plan</h3>" in html
    assert "click me" in html  # a link's words stay, the link goes
    assert "<b>unclosed</b></div>" in html  # the note's tags are closed inside its own box
    assert '<td colspan="2">cell</td>' in html  # a span too large is dropped
    assert html.count("Notes are shown as your care team wrote them") == 1


def test_a_huge_note_is_cut_and_offered_whole_as_a_file(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    long_text = "line of a very long note\n" * 60_000  # 1.5 MB
    store(source, document("note-long", attachment("text/plain", long_text), attachment("text/html", long_text)))
    sign_in(client, world, "patient")
    pk = item_id(world.patient_record, "note-long")
    html = item_page(client, pk)
    assert len(html) < 2 * TEXT_LIMIT + 50_000
    assert html.count("only its beginning is shown") == 2
    assert f'href="{download_url(pk, 0)}"' in html
    response = client.get(download_url(pk, 0))
    assert response.status_code == 200
    assert response.content == long_text.encode()
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="document-{pk}-0.txt"'


def test_a_hostile_attachment_title_is_escaped_and_files_are_listed(client: Client, world: World) -> None:
    title = '<script>alert("pwned-title")</script><img src=x onerror=alert(1)>'
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(
        source,
        document(
            "letter",
            attachment("application/pdf", SMALL_PDF, title=title),
            attachment("text/rtf", "{\\rtf1 Hello}", title="Discharge letter"),
            attachment("application/hl7-v3+xml", "<ClinicalDocument/>", title="Summary of care"),
            attachment("image/png", url="https://fhir.example/Binary/1", title="Wound photo"),
            {"attachment": {"contentType": "text/plain", "data": "***not base64***", "title": "Broken"}},
        ),
    )
    sign_in(client, world, "patient")
    pk = item_id(world.patient_record, "letter")
    html = item_page(client, pk)
    assert "&lt;script&gt;alert(&quot;pwned-title&quot;)&lt;/script&gt;" in html
    assert 'pwned-title")</script>' not in html
    assert "<img src=x" not in html
    for index in (0, 1, 2):
        assert f'href="{download_url(pk, index)}"' in html
    assert download_url(pk, 3) not in html
    assert download_url(pk, 4) not in html
    assert "Kept at Riverside Family Clinic" in html
    assert "This file could not be read." in html
    assert "<ClinicalDocument" not in html
    assert "\\rtf1" not in html


# Visits and their notes ----------------------------------------------------------------------------------


def test_a_visit_lists_its_notes_and_a_note_links_its_visit(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    other = source_for(world.patient_record, "Outside Hospital")
    store(
        source,
        encounter("enc-1"),
        encounter("enc-2", "Flu shot"),
        document(
            "n1", attachment("text/plain", "a"), encounter=[{"reference": "Encounter/enc-1"}], description="Note A"
        ),
        document("n2", attachment("text/plain", "b"), encounter={"reference": "Encounter/enc-1"}, description="Note B"),
        document(
            "n3", attachment("text/plain", "c"), encounter=[{"reference": "Encounter/enc-2"}], description="Note C"
        ),
        document("n4", attachment("text/plain", "d"), description="Note D"),
    )
    # The same ids at another source are another visit's notes.
    store(other, document("n5", encounter=[{"reference": "Encounter/enc-1"}], description="Note E"))
    sign_in(client, world, "patient")
    html = item_page(client, item_id(world.patient_record, "enc-1"))
    assert "Notes from this visit" in html
    assert "Note A" in html
    assert "Note B" in html
    assert "Note C" not in html
    assert "Note D" not in html
    assert "Note E" not in html
    note = item_page(client, FhirResource.objects.get(source=source, resource_id="n1").pk)
    assert "Written for the visit:" in note
    assert "Diabetes check-up" in note
    flu = item_page(client, FhirResource.objects.get(resource_id="enc-2").pk)
    assert "Note C" in flu
    assert "Note A" not in flu
    store(source, encounter("enc-3", "Phone call"))
    assert "No notes from this visit" in item_page(client, FhirResource.objects.get(resource_id="enc-3").pk)


def test_notes_projected_before_the_encounter_was_kept_are_still_found(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(source, encounter("enc-1"), document("old", encounter=[{"reference": "Encounter/enc-1"}], description="Old"))
    row = FhirResource.objects.get(resource_id="old")
    assert row.details["encounter"] == "enc-1"
    del row.details["encounter"]
    FhirResource.objects.filter(pk=row.pk).update(details=row.details, projection_version=0)
    sign_in(client, world, "patient")
    html = item_page(client, item_id(world.patient_record, "enc-1"))
    assert "Old" in html
    assert "Diabetes check-up" in item_page(client, row.pk)


def test_the_projection_keeps_the_visit_of_a_note() -> None:
    assert project(document("a", encounter=[{"reference": "Encounter/e1"}])).details["encounter"] == "e1"
    assert project(document("b", encounter={"reference": "urn:uuid:e2"})).details["encounter"] == "e2"
    assert "encounter" not in project(document("c", encounter=[{"reference": "Patient/p"}])).details
    assert "encounter" not in project(document("d", encounter="junk")).details


# Downloads ---------------------------------------------------------------------------------------------


def assert_served(response: Any, *, content: bytes, content_type: str, filename: str) -> None:
    assert response.status_code == 200
    assert response.content == content
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("persona", ["caregiver_full", "caregiver_records"])
def test_a_caregiver_with_the_records_scope_downloads_a_pdf_and_it_is_audited(
    client: Client, world: World, persona: str
) -> None:
    rosa = world.people["rosa"]
    store(
        source_for(rosa, "Riverside Family Clinic"), document("rosa-letter", attachment("application/pdf", SMALL_PDF))
    )
    pk = item_id(rosa, "rosa-letter")
    sign_in(client, world, persona)
    response = client.get(download_url(pk, 0))
    assert_served(response, content=SMALL_PDF, content_type="application/pdf", filename=f"document-{pk}-0.pdf")
    event = AuditEvent.objects.get(action=AuditAction.RECORDS_ATTACHMENT_DOWNLOADED)
    assert event.subject_patient == rosa
    assert event.object_id == str(pk)


def test_the_patient_downloads_a_pdf_and_their_own_download_is_audited(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(source, document("scan", attachment("text/plain", "x"), attachment("application/pdf", SMALL_PDF)))
    pk = item_id(world.patient_record, "scan")
    sign_in(client, world, "patient")
    response = client.get(download_url(pk, 1))
    assert_served(response, content=SMALL_PDF, content_type="application/pdf", filename=f"document-{pk}-1.pdf")
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.RECORDS_ATTACHMENT_DOWNLOADED, subject_patient=world.patient_record
        ).count()
        == 1
    )


def test_content_that_is_not_what_it_claims_is_served_as_an_opaque_file(client: Client, world: World) -> None:
    page = b"<html><script>alert('pwned')</script></html>"
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(
        source,
        document(
            "pics",
            attachment("image/png", page),
            attachment("image/png", PNG),
            attachment("image/svg+xml", b"<svg onload=alert(1)>"),
            attachment("text/html", page),
            attachment("", b"\x00\x01"),
        ),
    )
    pk = item_id(world.patient_record, "pics")
    sign_in(client, world, "patient")
    octet = "application/octet-stream"
    assert_served(client.get(download_url(pk, 0)), content=page, content_type=octet, filename=f"document-{pk}-0.bin")
    assert_served(
        client.get(download_url(pk, 1)), content=PNG, content_type="image/png", filename=f"document-{pk}-1.png"
    )
    svg = client.get(download_url(pk, 2))
    assert_served(svg, content=b"<svg onload=alert(1)>", content_type=octet, filename=f"document-{pk}-2.bin")
    assert_served(client.get(download_url(pk, 3)), content=page, content_type=octet, filename=f"document-{pk}-3.html")
    assert_served(
        client.get(download_url(pk, 4)), content=b"\x00\x01", content_type=octet, filename=f"document-{pk}-4.bin"
    )


def _refused(client: Client, url: str) -> None:
    before = (downloads(), FhirResource.objects.count())
    response = client.get(url)
    assert response.status_code == 404, (url, response.status_code)
    assert (downloads(), FhirResource.objects.count()) == before


def test_everyone_else_and_every_wrong_address_is_refused_and_nothing_changes(client: Client, world: World) -> None:
    rosa, teen = world.people["rosa"], world.people["teen"]
    store(
        source_for(rosa, "Riverside Family Clinic"), document("rosa-letter", attachment("application/pdf", SMALL_PDF))
    )
    teen_source = source_for(teen, "Lakeside Pediatrics")
    store(
        teen_source,
        document("teen-psy", attachment("application/pdf", SMALL_PDF), security="PSY"),
        document("teen-ok", attachment("application/pdf", SMALL_PDF)),
    )
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(
        source,
        document("alex", attachment("application/pdf", SMALL_PDF), attachment("image/png", url="https://x.example/b")),
        encounter("alex-visit"),
    )
    rosa_pk, alex_pk = item_id(rosa, "rosa-letter"), item_id(world.patient_record, "alex")

    sign_in(client, world, "caregiver_manager")  # Rosa's helper without the records scope
    _refused(client, download_url(rosa_pk, 0))
    client.logout()

    sign_in(client, world, "parent_of_teen")  # sensitive items stay hidden from a parent of an adolescent
    _refused(client, download_url(item_id(teen, "teen-psy"), 0))
    assert client.get(download_url(item_id(teen, "teen-ok"), 0)).status_code == 200
    client.logout()

    sign_in(client, world, "caregiver_full")  # another family's record
    _refused(client, download_url(alex_pk, 0))
    client.logout()

    sign_in(client, world, "patient")
    _refused(client, download_url(rosa_pk, 0))
    _refused(client, download_url(alex_pk, 2))  # no such attachment
    _refused(client, download_url(alex_pk, 1))  # kept only at the health system
    _refused(client, download_url(alex_pk, 99999999999))
    _refused(client, download_url(item_id(world.patient_record, "alex-visit"), 0))  # not a note
    for junk in ("abc", "-1", "99999999999999999999999", "1.5", "%00", "1e3"):
        _refused(client, download_url(junk, 0))
        _refused(client, download_url(alex_pk, junk))
    _refused(client, download_url(0, 0))
    assert client.get(download_url(alex_pk, 0)).status_code == 200
    client.logout()
    assert client.get(download_url(alex_pk, 0)).status_code == 302  # signed out: to the sign-in page


def test_only_safe_methods_are_answered(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(source, document("alex", attachment("application/pdf", SMALL_PDF)))
    sign_in(client, world, "patient")
    assert client.post(download_url(item_id(world.patient_record, "alex"), 0)).status_code == 405


# Pieces ------------------------------------------------------------------------------------------------


def test_base64_with_line_breaks_and_cut_points_decodes() -> None:
    data = bytes(range(256)) * 10
    encoded = base64.encodebytes(data).decode()  # MIME style, a line break every 76 characters
    assert decode_base64(encoded) == (data, False)
    assert decode_base64(encoded, 100) == (data[:100], True)
    assert decode_base64(encoded, len(data)) == (data, False)
    assert decode_base64("abc") == (b"i\xb7", False)  # padding may be left out
    assert decode_base64("abcde") is None  # not a whole number of bytes
    assert decode_base64("ab=c") is None
    assert decode_base64("@@@@") is None


def test_the_sanitizer_keeps_only_its_allow_list() -> None:
    cleaned = str(sanitize_note_html(HOSTILE_HTML))
    for marker in HOSTILE_MARKERS:
        assert marker not in cleaned, marker
    assert (
        str(sanitize_note_html("<h2>a</h2><h5>b</h5><ul><li>c</li></ul>")) == "<h3>a</h3><h4>b</h4><ul><li>c</li></ul>"
    )


# The HL7 examples ----------------------------------------------------------------------------------------


def test_the_hl7_example_documents_render(client: Client, world: World) -> None:
    folder = shared_folder("examples")
    patient = world.patient_record
    for name in ("DocumentReference-example.json", "Bundle-xds.json"):
        import_fhir_file(patient=patient, data=(folder / name).read_bytes(), filename=name, label=name[:-5])
    rows = list(visible_to(actor_for(world.user("patient"))).filter(resource_type="DocumentReference"))
    assert len(rows) >= 2
    sign_in(client, world, "patient")
    for row in rows:
        html = item_page(client, row.pk)
        assert "Summary from the health system" in html
        assert "Kept at" in html
        assert "localhost:9556" not in html
        assert 'href="http' not in html.split("Summary from the health system")[1]
    raw = json.loads((folder / "DocumentReference-example.json").read_text())
    assert raw["context"]["encounter"][0]["reference"] == "Encounter/xcda"
