"""Sharing the record with a SMART Health Link: the shlink payload, the manifest and its passcode, the
encrypted snapshot, the short-lived file location, expiry and revocation, who may share what, and the
openings the person sees."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from joserfc import jwe
from joserfc.jwk import OctKey

from accounts.actors import actor_for
from accounts.audit_labels import AuditAction
from accounts.crypto import decrypt
from accounts.models import AuditEvent
from proxy.access import resolve_actor
from records import shlinks
from records.actions import create_share_link
from records.exports import record_bundle
from records.models import ShareLink, ShareOpening, ShareOutcome
from tests.conftest import World, sign_in
from tests.records.record_data import condition, immunization, lab, medication, source_for, store

VIEWER = "Family health portal viewer"


def alex_record(world: World) -> None:
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(
        source,
        condition("t1d", "Type 1 diabetes"),
        lab("a1c", value=7.9, when="2026-10-01T09:00:00Z"),
        lab("a1c-old", value=8.4, when="2025-04-01T09:00:00Z"),
        medication("insulin"),
        immunization("flu", when="2025-10-15"),
    )


def make_link(client: Client, **fields: Any) -> ShareLink:
    """Makes a link through the page, as the signed-in person, for whomever they act for."""
    subject = client.get(reverse("records:share_links")).context["form"].initial["subject"]
    data = {"label": "For Dr. Patel", "days": "7", "passcode": "", "content": "whole", "subject": str(subject)}
    data.update({key: str(value) for key, value in fields.items()})
    response = client.post(reverse("records:share_links"), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return ShareLink.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))


def link_text(client: Client, link: ShareLink) -> str:
    return client.get(reverse("records:share_link", args=[link.pk])).context["link_text"]


def ask_manifest(link: ShareLink, **body: Any) -> Any:
    body.setdefault("recipient", VIEWER)
    return Client().post(
        reverse("records:shl_manifest", args=[link.token]), data=json.dumps(body), content_type="application/json"
    )


def open_jwe(token: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The protected header and the content of a compact JWE, decrypted with the link's key."""
    key_bytes = shlinks.b64url_decode(key)
    decrypted = jwe.decrypt_compact(token, OctKey.import_key(key_bytes), algorithms=["dir", "A256GCM", "DEF"])
    return decrypted.protected, json.loads(decrypted.plaintext or b"")


def record_ids(bundle: dict[str, Any]) -> set[str]:
    """The ids of the record's items in a bundle (the Patient resource naming the person aside)."""
    return {e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"}


@pytest.fixture
def alex(client: Client, world: World) -> Client:
    alex_record(world)
    return sign_in(client, world, "patient")


# The link's format ----------------------------------------------------------------------------------------


def test_the_link_is_a_shlink_with_the_specs_payload(alex: Client) -> None:
    link = make_link(alex, label="For Dr. Patel, March visit", passcode="secret-123")
    text = link_text(alex, link)
    viewer, _hash, shlink = text.partition("#")
    assert viewer.endswith(reverse("records:shl_viewer"))
    assert shlink.startswith("shlink:/")
    payload = shlinks.decode_link(text)
    assert set(payload) == {"url", "key", "exp", "flag", "label", "v"}
    assert payload["url"] == f"http://testserver{reverse('records:shl_manifest', args=[link.token])}"
    assert len(payload["key"]) == 43
    assert len(shlinks.b64url_decode(payload["key"])) == 32
    assert payload["exp"] == int(link.expires_at.timestamp())
    assert link.expires_at - link.created_at == timedelta(days=7)
    assert payload["flag"] == "LP"
    assert payload["label"] == "For Dr. Patel, March visit"
    assert payload["v"] == 1
    assert len(link.token) >= 43  # 256 bits in the manifest URL
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM records_sharelink WHERE id = %s", [link.pk])
        stored = cursor.fetchone()[0]
    assert payload["key"] not in stored
    assert decrypt(stored) == payload["key"]  # kept encrypted
    page = alex.get(reverse("records:share_link", args=[link.pk]))
    assert b"<svg" in page.content
    assert b"<script" not in page.content.split(b"<main")[1]


def test_a_link_without_a_passcode_has_no_p_flag(alex: Client) -> None:
    assert shlinks.decode_link(link_text(alex, make_link(alex)))["flag"] == "L"


def test_the_expiry_is_one_of_the_offered_choices_and_required(alex: Client, world: World) -> None:
    subject = str(world.patient_record.pk)
    for days in ("", "2", "365"):
        response = alex.post(
            reverse("records:share_links"), {"label": "x", "days": days, "content": "whole", "subject": subject}
        )
        assert response.status_code == 200
        assert "days" in response.context["form"].errors
    response = alex.post(
        reverse("records:share_links"),
        {"label": "x", "days": "90", "content": "whole", "subject": subject, "passcode": "12345"},
    )
    assert "passcode" in response.context["form"].errors  # at least 6 characters
    assert not ShareLink.objects.exists()


# The manifest ---------------------------------------------------------------------------------------------


def test_the_manifest_answers_the_encrypted_snapshot(alex: Client, world: World) -> None:
    link = make_link(alex)
    key = shlinks.decode_link(link_text(alex, link))["key"]
    response = ask_manifest(link)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    manifest = response.json()
    assert manifest["status"] == "finalized"
    [file] = manifest["files"]
    assert file["contentType"] == "application/fhir+json"
    header, bundle = open_jwe(file["embedded"], key)
    assert header["alg"] == "dir"
    assert header["enc"] == "A256GCM"
    assert header["zip"] == "DEF"
    expected = record_bundle(actor_for(world.user("patient")))
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert bundle["entry"] == expected["entry"]
    person, *entries = bundle["entry"]
    assert {entry["resource"]["id"] for entry in entries} == {"t1d", "a1c", "a1c-old", "insulin", "flu"}
    # The chart here names whose record it is, first.
    assert person["resource"]["resourceType"] == "Patient"
    assert person["resource"]["name"][0]["given"] == ["Alex"]
    assert person["resource"]["name"][0]["family"] == "Rivera"


def test_the_snapshot_is_made_at_creation(alex: Client, world: World) -> None:
    link = make_link(alex)
    key = shlinks.decode_link(link_text(alex, link))["key"]
    store(source_for(world.patient_record, "Later"), condition("later", "Asthma", code="195967001"))
    _header, bundle = open_jwe(ask_manifest(link).json()["files"][0]["embedded"], key)
    assert "later" not in record_ids(bundle)


def test_a_date_range_link_holds_only_items_within_it(alex: Client) -> None:
    link = make_link(alex, content="dates", start="2026-01-01", end="2026-12-31")
    key = shlinks.decode_link(link_text(alex, link))["key"]
    _header, bundle = open_jwe(ask_manifest(link).json()["files"][0]["embedded"], key)
    assert record_ids(bundle) == {"a1c", "insulin"}


def test_a_range_needs_a_day_in_the_right_order(alex: Client, world: World) -> None:
    base = {"label": "x", "days": "7", "content": "dates", "subject": str(world.patient_record.pk)}
    assert "start" in alex.post(reverse("records:share_links"), base).context["form"].errors
    swapped = {**base, "start": "2026-05-01", "end": "2026-01-01"}
    assert "end" in alex.post(reverse("records:share_links"), swapped).context["form"].errors


def test_the_passcode_is_asked_and_wrong_ones_count_down_to_a_lock(alex: Client) -> None:
    link = make_link(alex, passcode="correct horse")
    assert link.passcode_hash
    assert "correct horse" not in link.passcode_hash
    assert ask_manifest(link).json() == {"remainingAttempts": 9}  # none given counts as a wrong one
    response = ask_manifest(link, passcode="wrong")
    assert response.status_code == 401
    assert response.json() == {"remainingAttempts": 8}
    assert response["Access-Control-Allow-Origin"] == "*"
    assert ask_manifest(link, passcode="correct horse").status_code == 200
    for left in range(7, -1, -1):
        assert ask_manifest(link, passcode="still wrong").json() == {"remainingAttempts": left}
    link.refresh_from_db()
    assert link.is_locked
    assert link.failed_attempts == 10
    assert ask_manifest(link, passcode="correct horse").status_code == 404  # locked for good
    outcomes = list(link.openings.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [
        ShareOutcome.WRONG_PASSCODE,
        ShareOutcome.WRONG_PASSCODE,
        ShareOutcome.OPENED,
        *[ShareOutcome.WRONG_PASSCODE] * 8,
        ShareOutcome.REFUSED,
    ]
    page = alex.get(reverse("records:share_link", args=[link.pk]))
    assert page.context["link_text"] == ""
    assert b"Locked after 10 wrong passcodes" in page.content


def test_an_expired_link_is_refused_and_the_attempt_recorded(alex: Client) -> None:
    link = make_link(alex, days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        response = ask_manifest(link)
        assert response.status_code == 404
        assert response["Access-Control-Allow-Origin"] == "*"
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = alex.get(reverse("records:share_link", args=[link.pk]))
    assert page.context["link_text"] == ""
    assert b"Expired on" in page.content
    assert list(link.openings.values_list("outcome", flat=True)) == [ShareOutcome.REFUSED]


def test_a_revoked_link_answers_404(alex: Client) -> None:
    link = make_link(alex)
    assert ask_manifest(link).status_code == 200
    response = alex.post(reverse("records:revoke_share_link", args=[link.pk]))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert link.state == "revoked"
    assert ask_manifest(link).status_code == 404
    assert list(link.openings.order_by("pk").values_list("outcome", flat=True)) == [
        ShareOutcome.OPENED,
        ShareOutcome.REFUSED,
    ]
    assert AuditEvent.objects.filter(action=AuditAction.RECORDS_SHARE_LINK_REVOKED, object_id=str(link.pk)).exists()


def test_an_unknown_token_and_bad_bodies(alex: Client) -> None:
    link = make_link(alex)
    url = reverse("records:shl_manifest", args=["no-such-token"])
    assert Client().post(url, data='{"recipient": "x"}', content_type="application/json").status_code == 404
    manifest = reverse("records:shl_manifest", args=[link.token])
    for body in (
        "",
        "[]",
        "not json",
        '{"passcode": "x"}',
        '{"recipient": ""}',
        '{"recipient": "x", "passcode": 5}',
        '{"recipient": "x", "embeddedLengthMax": -1}',
        '{"recipient": "x", "embeddedLengthMax": "9"}',
    ):
        assert Client().post(manifest, data=body, content_type="application/json").status_code == 400, body
    assert Client().get(manifest).status_code == 405
    assert not link.openings.exists()


def test_a_cross_origin_viewer_may_ask_first(alex: Client) -> None:
    link = make_link(alex)
    response = Client().options(
        reverse("records:shl_manifest", args=[link.token]),
        HTTP_ORIGIN="https://viewer.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "content-type" in response["Access-Control-Allow-Headers"].lower()
    # Nothing else answers OPTIONS, and only the public SHL endpoints allow any origin.
    assert Client().options(reverse("records:shl_viewer")).status_code == 405
    assert "Access-Control-Allow-Origin" not in alex.get(reverse("records:share_links"))
    assert "Access-Control-Allow-Origin" not in Client().get(reverse("records:shl_viewer"))


def test_a_small_embedded_length_gets_a_short_lived_location_used_once(alex: Client) -> None:
    link = make_link(alex)
    key = shlinks.decode_link(link_text(alex, link))["key"]
    [file] = ask_manifest(link, embeddedLengthMax=10).json()["files"]
    assert "embedded" not in file
    location = file["location"]
    assert location.startswith("http://testserver/shl/")
    response = Client().get(location)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jose"
    assert response["Access-Control-Allow-Origin"] == "*"
    _header, bundle = open_jwe(response.content.decode(), key)
    assert len(record_ids(bundle)) == 5
    assert Client().get(location).status_code == 404  # once only
    [again] = ask_manifest(link, embeddedLengthMax=10).json()["files"]
    with time_machine.travel(timezone.now() + timedelta(seconds=shlinks.LOCATION_SECONDS + 5)):
        assert Client().get(again["location"]).status_code == 404  # too old
    [third] = ask_manifest(link, embeddedLengthMax=10).json()["files"]
    alex.post(reverse("records:revoke_share_link", args=[link.pk]))
    assert Client().get(third["location"]).status_code == 404  # the link ended since
    forged = reverse("records:shl_file", args=[link.token, "forged:ticket"])
    assert Client().get(forged).status_code == 404
    [big] = ask_manifest(make_link(alex), embeddedLengthMax=100_000).json()["files"]
    assert "embedded" in big


def test_requests_are_limited_per_link_and_per_address(alex: Client, settings: Any) -> None:
    settings.SHARE_LINK_RATE_PER_LINK = 3
    link = make_link(alex)
    for _ in range(3):
        assert ask_manifest(link).status_code == 200
    response = ask_manifest(link)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert link.openings.count() == 3  # a refused flood records nothing
    settings.SHARE_LINK_RATE_PER_LINK = 1000
    settings.SHARE_LINK_RATE_PER_ADDRESS = 5  # 4 used above
    assert ask_manifest(make_link(alex)).status_code == 200
    assert ask_manifest(make_link(alex)).status_code == 429


# Who may share what ---------------------------------------------------------------------------------------


def test_a_caregiver_without_the_records_scope_is_refused(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_manager")
    assert client.get(reverse("records:share_links")).status_code == 404
    body = {"label": "x", "days": "7", "content": "whole", "subject": str(world.people["rosa"].pk)}
    assert client.post(reverse("records:share_links"), body).status_code == 404
    assert not ShareLink.objects.exists()


def test_a_caregivers_link_is_for_the_person_they_act_for_and_says_who_made_it(client: Client, world: World) -> None:
    rosa = world.people["rosa"]
    store(world.rosa_connection.source, condition("rosa-t2d", "Type 2 diabetes"))
    sign_in(client, world, "caregiver_records")
    link = make_link(client)
    assert link.patient == rosa
    assert link.created_by == world.user("caregiver_records")
    event = AuditEvent.objects.get(action=AuditAction.RECORDS_SHARE_LINK_CREATED)
    assert event.subject_patient == rosa
    assert event.actor_user == world.user("caregiver_records")
    assert event.basis == "patient_consent"


def test_a_link_made_hiding_sensitive_items_holds_none_and_others_links_stay_hidden(
    client: Client, world: World
) -> None:
    theo = world.people["teen"]
    source = source_for(theo, "Lakeside Pediatrics")
    store(
        source,
        condition("asthma", "Asthma", code="195967001"),
        lab("private", code="5195-3", display="Private test", security="R"),
    )
    parent = resolve_actor(world.user("parent_of_teen"), subject_id=str(theo.pk))
    assert parent.hide_sensitive
    sign_in(client, world, "parent_of_teen")
    link = make_link(client)
    assert link.made_hiding_sensitive
    key = shlinks.decode_link(link_text(client, link))["key"]
    _header, bundle = open_jwe(ask_manifest(link).json()["files"][0]["embedded"], key)
    assert record_ids(bundle) == {"asthma"}
    # A link made with everything in it (by Theo himself, one day) is not the parent's to see or end.
    full = create_share_link(actor=replace(parent, hide_sensitive=False), label="Theo's own", days=7)
    assert full.entries == 3  # Theo, his asthma and the private test
    assert client.get(reverse("records:share_link", args=[full.pk])).status_code == 404
    assert client.post(reverse("records:revoke_share_link", args=[full.pk])).status_code == 404
    assert [row.pk for row in client.get(reverse("records:share_links")).context["links"]] == [link.pk]


# What the person sees -------------------------------------------------------------------------------------


def test_every_opening_is_listed_with_its_recipient_and_outcome(alex: Client) -> None:
    link = make_link(alex, passcode="letmein1")
    ask_manifest(link, recipient="Dr. Patel's office " + "x" * 200, passcode="letmein1")
    ask_manifest(link, recipient="Someone", passcode="nope")
    page = alex.get(reverse("records:share_link", args=[link.pk]))
    openings = page.context["openings"]
    assert [(o.outcome, len(o.recipient)) for o in openings] == [
        (ShareOutcome.WRONG_PASSCODE, len("Someone")),
        (ShareOutcome.OPENED, ShareOpening.RECIPIENT_MAX),
    ]
    assert b"Dr. Patel&#x27;s office" in page.content
    assert b"Wrong passcode" in page.content
    audited = AuditEvent.objects.filter(object_type="sharelink", object_id=str(link.pk))
    assert set(audited.values_list("action", flat=True)) >= {
        AuditAction.RECORDS_SHARE_LINK_CREATED,
        AuditAction.RECORDS_SHARE_LINK_OPENED,
        AuditAction.RECORDS_SHARE_LINK_WRONG_PASSCODE,
        AuditAction.RECORDS_SHARE_LINK_VIEWED,  # the person's own view too: the page shows the key again
    }
    opened = audited.get(action=AuditAction.RECORDS_SHARE_LINK_OPENED)
    assert opened.actor_user is None
    assert opened.basis == "anonymous"
    assert opened.detail == {}


def test_the_viewer_page_carries_its_words_and_no_inline_script(client: Client) -> None:
    response = client.get(reverse("records:shl_viewer"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-t-ended="This link no longer works.' in content
    assert "/static/js/shl-viewer.js" in content
    main = content.split("<main", 1)[1]
    assert "<script" not in main
    assert "It needs JavaScript." in main
