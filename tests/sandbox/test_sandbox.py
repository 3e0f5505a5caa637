"""fhir_sandbox, driven over real HTTP with only the standard library as client.

Each test gets its own server (port 0) over a small data folder written here:
a transaction Bundle with urn:uuid references, a searchset, NDJSON and single
resources. Two further tests load real Synthea files from the shared folder
next to the repository, and are skipped when it is absent. No database.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from fhir_sandbox import data
from fhir_sandbox.server import RunningSandbox, start
from tests.shared_data import SHARED, require_shared

REPO = Path(__file__).resolve().parents[2]
SYNTHEA = SHARED / "synthea"
REDIRECT = "http://127.0.0.1:8000/records/callback/"
JAN_1_2024 = 1704067200  # 2024-01-01T00:00:00Z, the mtime of every fixture file
ALICE_UUID = "urn:uuid:11111111-1111-4111-8111-111111111111"
ORG_UUID = "urn:uuid:22222222-2222-4222-8222-222222222222"


# --- Fixture data --------------------------------------------------------------------------------


def observation(subject: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Heart rate"},
        "subject": {"reference": subject},
        **extra,
    }


def write_fixtures(root: Path) -> None:
    riverside, lakeside = root / "riverside", root / "lakeside"
    riverside.mkdir()
    lakeside.mkdir()
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": ALICE_UUID,
                "resource": {
                    "resourceType": "Patient",
                    "id": "alice",
                    "name": [{"given": ["Alice"], "family": "Example"}],
                    "birthDate": "1984-03-02",
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": ORG_UUID,
                "resource": {"resourceType": "Organization", "id": "org-1", "name": "Riverside Clinic"},
                "request": {"method": "POST", "url": "Organization"},
            },
            *(
                {
                    "fullUrl": f"urn:uuid:33333333-3333-4333-8333-33333333333{n}",
                    "resource": observation(ALICE_UUID, performer=[{"reference": ORG_UUID}]),
                    "request": {"method": "POST", "url": "Observation"},
                }
                for n in range(7)
            ),
            {
                "fullUrl": "urn:uuid:44444444-4444-4444-8444-444444444444",
                "resource": {
                    "resourceType": "Encounter",
                    "subject": {"reference": ALICE_UUID},
                    "serviceProvider": {"reference": ORG_UUID},
                },
            },
            {
                "fullUrl": "urn:uuid:55555555-5555-4555-8555-555555555555",
                "resource": {"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": ALICE_UUID}},
            },
            {
                "fullUrl": "urn:uuid:66666666-6666-4666-8666-666666666666",
                "resource": {"resourceType": "Claim", "status": "active", "patient": {"reference": ALICE_UUID}},
            },
        ],
    }
    searchset = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "fullUrl": "http://elsewhere.example/fhir/Patient/bob",
                "resource": {
                    "resourceType": "Patient",
                    "id": "bob",
                    "name": [{"given": ["Bob"], "family": "Sample"}],
                    "birthDate": "2012-09-18",
                },
                "search": {"mode": "match"},
            },
            *(
                {
                    "fullUrl": f"http://elsewhere.example/fhir/Condition/bob-c{n}",
                    "resource": {
                        "resourceType": "Condition",
                        "id": f"bob-c{n}",
                        "subject": {"reference": "Patient/bob"},
                    },
                    "search": {"mode": "include"},
                }
                for n in range(3)
            ),
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "information", "code": "informational"}],
                },
                "search": {"mode": "outcome"},
            },
        ],
    }
    ndjson = [observation("Patient/alice", id=f"obs-nd-{n}") for n in range(1, 6)]
    ndjson += [observation("Patient/bob", id=f"obs-bob-{n}") for n in range(1, 3)]
    ndjson.append({"resourceType": "Practitioner", "id": "dr-who", "name": [{"family": "Who"}]})
    ndjson.append(observation("Patient/alice", id="obs-old", meta={"lastUpdated": "2023-06-01T00:00:00Z"}))
    (riverside / "transaction.json").write_text(json.dumps(transaction))
    (riverside / "searchset.json").write_text(json.dumps(searchset))
    (riverside / "extra.ndjson").write_text("\n".join(json.dumps(r) for r in ndjson) + "\n")
    (lakeside / "carol.json").write_text(
        json.dumps({"resourceType": "Patient", "id": "carol", "birthDate": "1951-11-30"})
    )
    (lakeside / "carol.ndjson").write_text(json.dumps(observation("Patient/carol", id="carol-obs")) + "\n")
    for file in [*riverside.iterdir(), *lakeside.iterdir()]:
        os.utime(file, (JAN_1_2024, JAN_1_2024))


def config_for(root: Path) -> dict[str, Any]:
    return {
        "systems": [
            {
                "prefix": "riverside",
                "name": "Riverside Family Clinic EHR",
                "data": str(root / "riverside"),
                "clients": [
                    {"client_id": "portal-dev", "redirect_uris": [REDIRECT]},
                    {"client_id": "backend-app", "client_secret": "s3cret", "redirect_uris": [REDIRECT]},
                ],
                "access_token_seconds": 300,
                "page_size_default": 50,
            },
            {
                "prefix": "lakeside",
                "name": "Lakeside Regional Hospital",
                "data": [str(root / "lakeside")],
                "clients": [{"client_id": "lakeside-app", "redirect_uris": [REDIRECT]}],
            },
        ]
    }


# --- A tiny HTTP client ---------------------------------------------------------------------------


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection; no redirects followed, no exception for error statuses."""
    parts = urlsplit(url)
    headers = dict(headers or {})
    body = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    if form is not None:
        body, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def get_json(url: str, token: str | None = None, expect: int = 200) -> Any:
    status, _, body = call("GET", url, token=token)
    assert status == expect, body
    return json.loads(body)


def admin(sandbox: RunningSandbox, prefix: str, action: str, payload: Any, expect: int = 200) -> Any:
    status, _, body = call("POST", f"{sandbox.url}/{prefix}/_sandbox/{action}", json_body=payload)
    assert status == expect, body
    return json.loads(body)


def mint(sandbox: RunningSandbox, prefix: str = "riverside", **request: Any) -> dict[str, Any]:
    return admin(sandbox, prefix, "token", request)


def follow(url: str, token: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a search: (all entries, all Bundles)."""
    bundles = []
    next_url: str | None = url
    while next_url:
        bundle = get_json(next_url, token)
        bundles.append(bundle)
        next_url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    return [e for b in bundles for e in b.get("entry", [])], bundles


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(sandbox: RunningSandbox, prefix: str = "riverside", **overrides: str) -> tuple[str, str]:
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": "portal-dev",
        "redirect_uri": REDIRECT,
        "scope": "launch/patient openid fhirUser patient/*.read offline_access",
        "state": "state-123",
        "aud": sandbox.fhir_base(prefix),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    } | overrides
    return f"{sandbox.url}/{prefix}/auth/authorize?{urlencode(params)}", verifier


def sign_in(
    sandbox: RunningSandbox, prefix: str = "riverside", patient: str = "alice", **overrides: str
) -> tuple[str, str]:
    """Allow on the sign-in page; returns (code, verifier)."""
    url, verifier = authorize_url(sandbox, prefix, **overrides)
    status, headers, _ = call("POST", url, form={"patient": patient, "decision": "allow"})
    assert status == 303
    answer = parse_qs(urlsplit(headers["location"]).query)
    assert answer["state"] == ["state-123"]
    return answer["code"][0], verifier


def exchange(
    sandbox: RunningSandbox, code: str, verifier: str, prefix: str = "riverside", **extra: str
) -> tuple[int, dict[str, Any]]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "portal-dev",
        "code_verifier": verifier,
    }
    status, _, body = call("POST", f"{sandbox.url}/{prefix}/auth/token", form=form | extra)
    return status, json.loads(body)


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries]


# --- Discovery and loading -------------------------------------------------------------------------


def test_index_lists_every_system(sandbox: RunningSandbox) -> None:
    index = get_json(f"{sandbox.url}/")
    assert [s["prefix"] for s in index["systems"]] == ["riverside", "lakeside"]
    assert index["systems"][0]["fhir_base"] == sandbox.fhir_base("riverside")


def test_capability_statement_names_oauth_endpoints_and_types(sandbox: RunningSandbox) -> None:
    status, headers, body = call("GET", f"{sandbox.fhir_base('riverside')}/metadata")
    assert status == 200
    assert headers["content-type"] == "application/fhir+json"
    statement = json.loads(body)
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    (oauth,) = [e for e in rest["security"]["extension"] if e["url"].endswith("/oauth-uris")]
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    assert uris == {
        "authorize": f"{sandbox.url}/riverside/auth/authorize",
        "token": f"{sandbox.url}/riverside/auth/token",
    }
    resources = {r["type"]: r for r in rest["resource"]}
    assert {"Patient", "Observation", "Organization", "Practitioner", "Condition", "Coverage", "Claim"} <= set(
        resources
    )
    assert "OperationOutcome" not in resources  # the searchset's outcome entry is not data
    assert {p["name"] for p in resources["Observation"]["searchParam"]} >= {"patient", "subject", "_lastUpdated", "_id"}
    assert resources["Patient"]["operation"][0]["name"] == "everything"


def test_smart_configuration(sandbox: RunningSandbox) -> None:
    config = get_json(f"{sandbox.fhir_base('riverside')}/.well-known/smart-configuration")
    assert config["authorization_endpoint"] == f"{sandbox.url}/riverside/auth/authorize"
    assert config["token_endpoint"] == f"{sandbox.url}/riverside/auth/token"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert set(config["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert config["response_types_supported"] == ["code"]
    assert {"launch-standalone", "client-public", "client-confidential-symmetric", "context-standalone-patient"} <= set(
        config["capabilities"]
    )
    assert {"permission-offline", "permission-patient"} <= set(config["capabilities"])


def test_loading_rewrites_urn_uuid_references_and_fills_meta(sandbox: RunningSandbox) -> None:
    token = mint(sandbox, patient="alice")["access_token"]
    entries, _ = follow(f"{sandbox.fhir_base('riverside')}/Observation?patient=alice", token)
    from_bundle = [e["resource"] for e in entries if "performer" in e["resource"]]
    assert len(from_bundle) == 7
    for resource in from_bundle:
        assert resource["subject"] == {"reference": "Patient/alice"}  # the Patient kept its own id
        assert resource["performer"] == [{"reference": "Organization/org-1"}]
        assert resource["id"].startswith("33333333-3333-4333-8333-")  # no id: the fullUrl's uuid
        assert resource["meta"] == {"lastUpdated": "2024-01-01T00:00:00Z", "versionId": "1"}
    old = get_json(f"{sandbox.fhir_base('riverside')}/Observation/obs-old", token)
    assert old["meta"]["lastUpdated"] == "2023-06-01T00:00:00Z"  # a given lastUpdated is kept
    for resource_type in ("Coverage", "Claim", "Encounter"):
        bundle = get_json(f"{sandbox.fhir_base('riverside')}/{resource_type}?patient=alice", token)
        assert bundle["total"] == 1, resource_type
    encounter = get_json(f"{sandbox.fhir_base('riverside')}/Encounter?patient=alice", token)["entry"][0]["resource"]
    assert encounter["serviceProvider"] == {"reference": "Organization/org-1"}
    assert get_json(f"{sandbox.fhir_base('riverside')}/OperationOutcome", token)["total"] == 0


# --- SMART standalone launch ------------------------------------------------------------------------


def test_sign_in_page_lists_patients_accessibly(sandbox: RunningSandbox) -> None:
    url, _ = authorize_url(sandbox)
    status, headers, body = call("GET", url)
    page = body.decode()
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page
    assert "Sign in to Riverside Family Clinic EHR as a test patient" in page
    assert "Alice Example, born 1984-03-02" in page
    assert "Bob Sample, born 2012-09-18" in page
    assert page.count('type="radio"') == page.count("<label for=") == 2
    assert "<script" not in page
    assert 'value="allow"' in page
    assert 'value="deny"' in page


def test_authorization_code_flow_with_pkce(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox, patient="alice")
    status, answer = exchange(sandbox, code, verifier)
    assert status == 200, answer
    assert answer["token_type"] == "Bearer"
    assert answer["patient"] == "alice"
    assert answer["expires_in"] == 300
    assert "offline_access" in answer["scope"].split()
    assert answer["refresh_token"]
    patient = get_json(f"{sandbox.fhir_base('riverside')}/Patient/alice", answer["access_token"])
    assert patient["id"] == "alice"
    # The code was used: a second exchange fails.
    status, again = exchange(sandbox, code, verifier)
    assert (status, again["error"]) == (400, "invalid_grant")


def test_wrong_verifier_fails_and_spends_the_code(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox)
    status, answer = exchange(sandbox, code, pkce()[0])
    assert (status, answer["error"]) == (400, "invalid_grant")
    status, answer = exchange(sandbox, code, verifier)
    assert (status, answer["error"]) == (400, "invalid_grant")


def test_wrong_redirect_uri_at_the_token_endpoint_fails(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox)
    status, answer = exchange(sandbox, code, verifier, redirect_uri="http://127.0.0.1:8000/other/")
    assert (status, answer["error"]) == (400, "invalid_grant")


def test_token_endpoint_errors(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox)
    status, answer = exchange(sandbox, code, verifier, client_id="nobody")
    assert (status, answer["error"]) == (401, "invalid_client")
    status, answer = exchange(sandbox, code, "too-short")
    assert (status, answer["error"]) == (400, "invalid_request")
    status, answer = exchange(sandbox, code, verifier, grant_type="password")
    assert (status, answer["error"]) == (400, "unsupported_grant_type")


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"aud": "http://127.0.0.1:1/riverside/fhir"}, "aud must be"),
        ({"code_challenge_method": "plain"}, "PKCE is required"),
        ({"code_challenge": ""}, "PKCE is required"),
        ({"client_id": "lakeside-app"}, "Unknown client_id"),
        ({"redirect_uri": "http://127.0.0.1:8000/evil/"}, "redirect_uri is not registered"),
        ({"response_type": "token"}, "response_type must be code"),
    ],
)
def test_authorize_refuses_bad_requests_with_a_400_page(
    sandbox: RunningSandbox, override: dict[str, str], why: str
) -> None:
    url, _ = authorize_url(sandbox, **override)
    for method in ("GET", "POST"):
        status, headers, body = call(
            method, url, form={"patient": "alice", "decision": "allow"} if method == "POST" else None
        )
        assert status == 400
        assert "location" not in headers
        assert why in body.decode()


def test_deny_redirects_with_access_denied(sandbox: RunningSandbox) -> None:
    url, _ = authorize_url(sandbox)
    status, headers, _ = call("POST", url, form={"decision": "deny"})
    assert status == 303
    assert headers["location"] == f"{REDIRECT}?error=access_denied&state=state-123"


def test_confidential_client_must_prove_its_secret(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox, client_id="backend-app")
    status, answer = exchange(sandbox, code, verifier, client_id="backend-app", client_secret="wrong")
    assert (status, answer["error"]) == (401, "invalid_client")
    code, verifier = sign_in(sandbox, client_id="backend-app")
    basic = base64.b64encode(b"backend-app:s3cret").decode()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    status, _, body = call(
        "POST", f"{sandbox.url}/riverside/auth/token", form=form, headers={"Authorization": f"Basic {basic}"}
    )
    assert status == 200, body


def test_refresh_rotates_the_refresh_token(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox)
    _, first = exchange(sandbox, code, verifier)
    refresh_url = f"{sandbox.url}/riverside/auth/token"
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": "portal-dev"}
    status, _, body = call("POST", refresh_url, form=form)
    second = json.loads(body)
    assert status == 200, second
    assert second["patient"] == "alice"
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    get_json(f"{sandbox.fhir_base('riverside')}/Patient/alice", second["access_token"])
    status, _, body = call("POST", refresh_url, form=form)  # the old refresh token stopped working
    assert (status, json.loads(body)["error"]) == (400, "invalid_grant")
    status, _, body = call("POST", refresh_url, form=form | {"refresh_token": second["refresh_token"]})
    assert status == 200, body


def test_no_refresh_token_without_offline_access(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox, scope="launch/patient patient/*.read")
    status, answer = exchange(sandbox, code, verifier)
    assert status == 200
    assert "refresh_token" not in answer


def test_missing_unknown_and_expired_tokens_get_401(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.fhir_base('riverside')}/Patient/alice"
    expired = mint(sandbox, patient="alice", expires_in=0)["access_token"]
    for token in (None, "not-a-token", expired):
        status, headers, body = call("GET", url, token=token)
        assert status == 401
        assert headers["www-authenticate"].startswith("Bearer")
        assert headers["content-type"] == "application/fhir+json"
        assert json.loads(body)["resourceType"] == "OperationOutcome"
    _, headers, _ = call("GET", url, token=expired)
    assert 'error="invalid_token"' in headers["www-authenticate"]


# --- Search, paging, scoping ---------------------------------------------------------------------------


def test_a_token_sees_only_its_patient_and_shared_data(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    bob = mint(sandbox, patient="bob")["access_token"]
    assert call("GET", f"{base}/Observation/obs-nd-1", token=bob)[0] == 403
    assert call("GET", f"{base}/Patient/alice", token=bob)[0] == 403
    assert call("GET", f"{base}/Observation?patient=alice", token=bob)[0] == 403
    assert call("GET", f"{base}/Patient/alice/$everything", token=bob)[0] == 403
    assert call("GET", f"{base}/Observation/does-not-exist", token=bob)[0] == 404
    unfiltered, _ = follow(f"{base}/Observation", bob)
    assert sorted(ids(unfiltered)) == ["Observation/obs-bob-1", "Observation/obs-bob-2"]
    assert ids(follow(f"{base}/Patient", bob)[0]) == ["Patient/bob"]
    assert get_json(f"{base}/Condition?subject=Patient/bob", bob)["total"] == 3
    assert get_json(f"{base}/Organization/org-1", bob)["name"] == "Riverside Clinic"
    assert ids(follow(f"{base}/Practitioner", bob)[0]) == ["Practitioner/dr-who"]


def test_search_pages_follow_absolute_next_links_to_the_end(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    token = mint(sandbox, patient="alice")["access_token"]
    entries, bundles = follow(f"{base}/Observation?patient=alice&_count=5", token)
    assert [len(b["entry"]) for b in bundles] == [5, 5, 3]
    assert all(b["total"] == 13 and b["type"] == "searchset" for b in bundles)
    assert len(set(ids(entries))) == len(entries) == 13
    for bundle in bundles:
        for link in bundle["link"]:
            assert link["url"].startswith(f"{sandbox.url}/riverside/fhir")
    assert all(e["search"] == {"mode": "match"} for e in entries)
    assert all(e["fullUrl"] == f"{base}/Observation/{e['resource']['id']}" for e in entries)
    order = [(e["resource"]["meta"]["lastUpdated"], e["resource"]["id"]) for e in entries]
    assert order == sorted(order)
    assert order[0][1] == "obs-old"
    for other in ("subject=Patient/alice", "subject=alice", f"subject={base}/Patient/alice"):
        assert get_json(f"{base}/Observation?{other}", token)["total"] == 13
    assert ids(get_json(f"{base}/Observation?_id=obs-nd-2", token)["entry"]) == ["Observation/obs-nd-2"]
    stats = get_json(f"{sandbox.url}/riverside/_sandbox/stats")
    assert stats["routes"]["page"] == 2
    assert stats["resources"]["Observation"] == 15


def test_paging_is_stable_while_resources_change(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    token = mint(sandbox, patient="alice")["access_token"]
    first = get_json(f"{base}/Observation?patient=alice&_count=5", token)
    admin(sandbox, "riverside", "touch", {"type": "Observation", "id": first["entry"][0]["resource"]["id"]})
    rest, _ = follow(next(link["url"] for link in first["link"] if link["relation"] == "next"), token)
    assert len(set(ids(first["entry"] + rest))) == 13


def test_count_is_capped_and_validated(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    token = mint(sandbox, patient="alice")["access_token"]
    bundle = get_json(f"{base}/Observation?_count=5000", token)
    assert "_count=1000" in bundle["link"][0]["url"]
    assert call("GET", f"{base}/Observation?_count=lots", token=token)[0] == 400
    assert get_json(f"{base}/Observation?_count=0", token)["total"] == 13


def test_last_updated_filters_after_touch(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    token = mint(sandbox, patient="alice")["access_token"]
    first = admin(sandbox, "riverside", "touch", {"type": "Observation", "id": "obs-nd-1"})
    assert first["touched"] == ["Observation/obs-nd-1"]
    second = admin(sandbox, "riverside", "touch", {"patient": "alice", "type": "Observation", "count": 2})
    touched = set(first["touched"]) | set(second["touched"])
    assert len(touched) == 3
    changed, _ = follow(f"{base}/Observation?patient=alice&_lastUpdated=gt2024-01-01T00:00:00Z", token)
    assert set(ids(changed)) == touched
    assert {e["resource"]["meta"]["versionId"] for e in changed} == {"2"}
    since_first = get_json(f"{base}/Observation?patient=alice&_lastUpdated=ge{first['lastUpdated']}", token)
    assert since_first["total"] == 3
    untouched = {
        f"Observation/{e['resource']['id']}" for e in follow(f"{base}/Observation?patient=alice", token)[0]
    } - touched
    day, _ = follow(f"{base}/Observation?patient=alice&_lastUpdated=ge2024-01-01&_lastUpdated=lt2024-01-02", token)
    assert set(ids(day)) == untouched
    assert set(ids(follow(f"{base}/Observation?patient=alice&_lastUpdated=eq2024-01-01", token)[0])) == untouched
    assert get_json(f"{base}/Observation?patient=alice&_lastUpdated=le2023-12-31", token)["total"] == 0
    assert get_json(f"{base}/Observation?patient=alice&_lastUpdated=lt2024", token)["total"] == 0
    assert call("GET", f"{base}/Observation?_lastUpdated=xx2024", token=token)[0] == 400
    read = get_json(f"{base}/Observation/obs-nd-1", token)
    assert read["meta"]["lastUpdated"] == first["lastUpdated"]


def test_patient_everything(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    token = mint(sandbox, patient="alice")["access_token"]
    entries, bundles = follow(f"{base}/Patient/alice/$everything?_count=4", token)
    found = ids(entries)
    assert len(found) == len(set(found)) == bundles[0]["total"]
    types = Counter(e["resource"]["resourceType"] for e in entries)
    # Organization/org-1 is shared data that Alice's resources refer to; Practitioner/dr-who is not referred to.
    assert types == {"Patient": 1, "Observation": 13, "Encounter": 1, "Coverage": 1, "Claim": 1, "Organization": 1}
    assert "Patient/alice" in found
    touched = admin(sandbox, "riverside", "touch", {"type": "Observation", "id": "obs-nd-3"})
    recent = get_json(f"{base}/Patient/alice/$everything?_since={touched['lastUpdated']}", token)
    assert ids(recent["entry"]) == ["Observation/obs-nd-3"]
    only = get_json(f"{base}/Patient/alice/$everything?_type=Claim,Coverage", token)
    assert sorted(e["resource"]["resourceType"] for e in only["entry"]) == ["Claim", "Coverage"]


def test_resources_can_be_added_and_replaced_at_run_time(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    new_patient = "urn:uuid:77777777-7777-4777-8777-777777777777"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": new_patient, "resource": {"resourceType": "Patient", "name": [{"text": "Dana New"}]}},
            {"fullUrl": "urn:uuid:88888888-8888-4888-8888-888888888888", "resource": observation(new_patient)},
        ],
    }
    stored = admin(sandbox, "riverside", "resources", bundle)["stored"]
    assert stored == [
        "Patient/77777777-7777-4777-8777-777777777777",
        "Observation/88888888-8888-4888-8888-888888888888",
    ]
    token = mint(sandbox, patient="77777777-7777-4777-8777-777777777777")["access_token"]
    obs = get_json(f"{base}/Observation?patient=77777777-7777-4777-8777-777777777777", token)["entry"][0]["resource"]
    assert obs["subject"] == {"reference": "Patient/77777777-7777-4777-8777-777777777777"}
    admin(sandbox, "riverside", "resources", observation("Patient/alice", id="obs-nd-4", status="amended"))
    alice = mint(sandbox, patient="alice")["access_token"]
    replaced = get_json(f"{base}/Observation/obs-nd-4", alice)
    assert (replaced["status"], replaced["meta"]["versionId"]) == ("amended", "2")
    assert admin(sandbox, "riverside", "touch", {"oops": 1}, expect=400)["error"]


# --- Fault switches ------------------------------------------------------------------------------------


def test_429_every_nth_data_request_with_retry_after(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    token = mint(sandbox, patient="alice")["access_token"]
    assert admin(sandbox, "riverside", "switches", {"status_429_every": 2, "retry_after_seconds": 7}) == {
        "status_429_every": 2,
        "retry_after_seconds": 7,
    }
    statuses = []
    for _ in range(4):
        status, headers, body = call("GET", f"{base}/Patient/alice", token=token)
        statuses.append(status)
        if status == 429:
            assert headers["retry-after"] == "7"
            assert json.loads(body)["issue"][0]["code"] == "throttled"
        call("GET", f"{base}/metadata")  # discovery is never counted nor faulted
    assert statuses == [200, 429, 200, 429]
    assert call("GET", f"{sandbox.fhir_base('lakeside')}/metadata")[0] == 200
    assert get_json(f"{sandbox.url}/riverside/_sandbox/stats")["faults"] == {"status_429_every": 2}


def test_503_every_nth_and_next_k(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.fhir_base('riverside')}/Patient/alice"
    token = mint(sandbox, patient="alice")["access_token"]
    sandbox.switches("riverside", status_5xx_next=2)
    assert [call("GET", url, token=token)[0] for _ in range(3)] == [503, 503, 200]
    sandbox.switches("riverside", status_5xx_every=3)
    assert [call("GET", url, token=token)[0] for _ in range(6)] == [200, 200, 503, 200, 200, 503]
    sandbox.switches("riverside", reset=True)
    assert call("GET", url, token=token)[0] == 200


def test_dropped_connection_raises_in_the_client(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.fhir_base('riverside')}/Patient/alice"
    token = mint(sandbox, patient="alice")["access_token"]
    sandbox.switches("riverside", drop_connection_every=2)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected: closed without a response
        urllib.request.urlopen(request, timeout=5)
    # Auth and sandbox endpoints are never faulted.
    assert mint(sandbox, patient="alice")["access_token"]
    assert call("GET", f"{sandbox.fhir_base('riverside')}/metadata")[0] == 200


def test_truncated_body_cannot_be_read_whole(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.fhir_base('riverside')}/Observation?patient=alice"
    token = mint(sandbox, patient="alice")["access_token"]
    sandbox.switches("riverside", truncate_body_every=1)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        length = int(response.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as incomplete:
            response.read()
    assert len(incomplete.value.partial) == length // 2
    with pytest.raises(json.JSONDecodeError):
        json.loads(incomplete.value.partial)


def test_expire_tokens_and_revoke_refresh_tokens(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.fhir_base('riverside')}/Patient/alice"
    tokens = mint(sandbox, patient="alice", offline=True)
    assert call("GET", url, token=tokens["access_token"])[0] == 200
    sandbox.switches("riverside", expire_tokens=True)
    status, headers, _ = call("GET", url, token=tokens["access_token"])
    assert status == 401
    assert "expired" in headers["www-authenticate"]
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "portal-dev"}
    status, _, body = call("POST", f"{sandbox.url}/riverside/auth/token", form=form)
    renewed = json.loads(body)
    assert status == 200
    assert call("GET", url, token=renewed["access_token"])[0] == 200  # tokens issued afterwards work
    admin(sandbox, "riverside", "switches", {"revoke_refresh_tokens": True})
    status, _, body = call(
        "POST", f"{sandbox.url}/riverside/auth/token", form=form | {"refresh_token": renewed["refresh_token"]}
    )
    assert (status, json.loads(body)["error"]) == (400, "invalid_grant")


def test_latency_is_added_to_every_fhir_response(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.fhir_base('riverside')}/Patient/alice"
    token = mint(sandbox, patient="alice")["access_token"]
    sandbox.switches("riverside", latency_ms=200)
    for target, expected in ((url, 200), (f"{sandbox.fhir_base('riverside')}/metadata", 200)):
        started = time.monotonic()
        assert call("GET", target, token=token)[0] == expected
        assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    mint(sandbox, patient="alice")  # the test controls and auth endpoints are not slowed
    assert time.monotonic() - started < 0.2


def test_switches_endpoint_validates(sandbox: RunningSandbox) -> None:
    assert "unknown switches" in admin(sandbox, "riverside", "switches", {"status_418_every": 1}, expect=400)["error"]
    assert admin(sandbox, "riverside", "switches", {"latency_ms": -1}, expect=400)["error"]
    assert get_json(f"{sandbox.url}/riverside/_sandbox/switches") == {}


# --- Two systems, one server ----------------------------------------------------------------------------


def test_two_systems_keep_patients_clients_and_tokens_apart(sandbox: RunningSandbox) -> None:
    lakeside, riverside = sandbox.fhir_base("lakeside"), sandbox.fhir_base("riverside")
    url, _ = authorize_url(sandbox, "lakeside", client_id="lakeside-app")
    page = call("GET", url)[2].decode()
    assert "Sign in to Lakeside Regional Hospital" in page
    assert "carol" in page
    assert "Alice" not in page
    assert call("GET", authorize_url(sandbox, "lakeside")[0])[0] == 400  # portal-dev is Riverside's client
    code, verifier = sign_in(sandbox, "lakeside", patient="carol", client_id="lakeside-app")
    status, answer = exchange(sandbox, code, verifier, "lakeside", client_id="lakeside-app")
    assert status == 200, answer
    carol = answer["access_token"]
    assert ids(follow(f"{lakeside}/Observation", carol)[0]) == ["Observation/carol-obs"]
    assert call("GET", f"{riverside}/Patient/alice", token=carol)[0] == 401  # a Lakeside token means nothing here
    alice = mint(sandbox, patient="alice")["access_token"]
    assert call("GET", f"{lakeside}/Patient/carol", token=alice)[0] == 401
    assert call("GET", f"{lakeside}/Patient/alice", token=mint(sandbox, "lakeside")["access_token"])[0] == 404


# --- The command line ----------------------------------------------------------------------------------


def test_command_line_prints_ready_line_and_stops_on_sigterm(data_dir: Path, tmp_path: Path) -> None:
    config = config_for(data_dir)
    config["systems"][0]["data"] = os.path.relpath(data_dir / "riverside", tmp_path)  # relative to the file
    (tmp_path / "sandbox.json").write_text(json.dumps(config))
    process = subprocess.Popen(  # noqa: S603 (our own module)
        [sys.executable, "-m", "fhir_sandbox", "--config", str(tmp_path / "sandbox.json"), "--port", "0", "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("fhir_sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert [s["prefix"] for s in get_json(f"{url}/")["systems"]] == ["riverside", "lakeside"]
        assert get_json(f"{url}/riverside/_sandbox/stats")["resources"]["Observation"] == 15
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


# --- Real Synthea output -------------------------------------------------------------------------------


def synthea_file(*parts: str) -> Path:
    return require_shared(SYNTHEA.joinpath(*parts))


def test_a_synthea_bundle_is_served_completely() -> None:
    path = synthea_file("smart-generated-sample-data", "Vito_Feeney_63dd4423-56ec-4f40-9dd6-82bc133aaddc.json")
    bundle = json.loads(path.read_text())
    expected = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert sum(expected.values()) > 1200
    patient_id = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    with start({"systems": [{"prefix": "synthea", "data": str(path), "clients": []}]}) as running:
        base = running.fhir_base("synthea")
        token = mint(running, "synthea", patient=patient_id)["access_token"]
        served: Counter[str] = Counter()
        for resource_type in expected:
            entries, bundles = follow(f"{base}/{resource_type}?_count=200", token)
            assert len(set(ids(entries))) == len(entries) == bundles[0]["total"]
            served[resource_type] = len(entries)
            for entry in entries:
                for holder in data.references(entry["resource"]):
                    assert not holder["reference"].startswith("urn:uuid:"), holder
        assert served == expected
        everything, _ = follow(f"{base}/Patient/{patient_id}/$everything?_count=500", token)
        assert len(set(ids(everything))) == sum(expected.values())


def test_synthea_conditional_references_resolve_against_reference_data() -> None:
    folder = "google-fhir-data-pipes-synthea-hiv"
    files = [
        synthea_file(folder, "hospitalInformation1633536936158.json"),
        synthea_file(folder, "practitionerInformation1633536936158.json"),
        synthea_file(folder, "Cecelia952_Romaguera67_f1731e33-dc55-4ee8-72d7-cece2e49bedd.json"),
    ]
    with start({"systems": [{"prefix": "hiv", "data": [str(f) for f in files]}]}) as running:
        base = running.fhir_base("hiv")
        token = mint(running, "hiv", patient="f1731e33-dc55-4ee8-72d7-cece2e49bedd")["access_token"]
        encounter = get_json(f"{base}/Encounter?_count=1", token)["entry"][0]["resource"]
        practitioner = encounter["participant"][0]["individual"]["reference"]
        assert practitioner.startswith("Practitioner/")
        assert get_json(f"{base}/{practitioner}", token)["resourceType"] == "Practitioner"
        assert encounter["serviceProvider"]["reference"].startswith("Organization/")
