"""The sandbox's hostile switches, over real HTTP: a server that refuses types, narrows scopes, misleads with
`next` links, sends huge, endless or dripping answers, or mixes other people's resources into a search.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fhir_sandbox.server import RunningSandbox
from fhir_sandbox.system import scope_allows
from tests.sandbox.test_sandbox import admin, call, exchange, get_json, mint, sign_in


@pytest.fixture
def alice(sandbox: RunningSandbox) -> str:
    return str(mint(sandbox, patient="alice")["access_token"])


def next_link(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


def test_forbidden_and_missing_types(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    assert admin(
        sandbox, "riverside", "switches", {"forbidden_types": ["Observation"], "missing_types": ["Claim"]}
    ) == {
        "forbidden_types": ["Observation"],
        "missing_types": ["Claim"],
    }
    assert call("GET", f"{base}/Observation?patient=alice", token=alice)[0] == 403
    assert call("GET", f"{base}/Observation/obs-nd-1", token=alice)[0] == 403
    assert call("GET", f"{base}/Claim?patient=alice", token=alice)[0] == 404
    assert get_json(f"{base}/Encounter?patient=alice", alice)["total"] == 1  # the others answer as before
    sandbox.switches("riverside", forbidden_types=[])
    assert call("GET", f"{base}/Observation?patient=alice", token=alice)[0] == 200


def test_a_paging_cursor_of_a_forbidden_type_is_refused_too(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    first = get_json(f"{base}/Observation?patient=alice&_count=5", alice)
    sandbox.switches("riverside", forbidden_types=["Observation"])
    link = next_link(first)
    assert link is not None
    assert call("GET", link, token=alice)[0] == 403


def test_granted_scope_narrows_what_the_person_shares_at_sign_in(sandbox: RunningSandbox) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", granted_scope="patient/Patient.rs patient/Encounter.rs")
    code, verifier = sign_in(sandbox)
    status, tokens = exchange(sandbox, code, verifier)
    assert status == 200
    assert tokens["scope"].split() == [
        "launch/patient",
        "openid",
        "fhirUser",
        "offline_access",
        "patient/Patient.rs",
        "patient/Encounter.rs",
    ]
    assert tokens["refresh_token"]  # offline_access was asked for and is kept
    token = tokens["access_token"]
    assert call("GET", f"{base}/Encounter?patient=alice", token=token)[0] == 200
    assert call("GET", f"{base}/Patient/alice", token=token)[0] == 200
    assert call("GET", f"{base}/Observation?patient=alice", token=token)[0] == 403  # outside the granted scope
    refreshed = json.loads(
        call(
            "POST",
            f"{sandbox.url}/riverside/auth/token",
            form={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "portal-dev"},
        )[2]
    )
    assert refreshed["scope"] == tokens["scope"]  # a renewal keeps the narrower scope


@pytest.mark.parametrize(
    ("scope", "kind", "allowed"),
    [
        ("patient/*.read", "Observation", True),
        ("patient/*.rs", "Observation", True),
        ("patient/*.cruds", "Observation", True),
        ("patient/Observation.read", "Condition", False),
        ("patient/Observation.rs?category=laboratory", "Observation", True),
        ("patient/Observation.write", "Observation", False),
        ("launch/patient openid", "Observation", True),  # no resource scope at all: a test token sees everything
    ],
)
def test_scope_allows(scope: str, kind: str, allowed: bool) -> None:
    assert scope_allows(scope, kind) is allowed


def test_next_link_url_replaces_the_link_of_the_hostile_types_only(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", hostile_types=["Observation"], next_link_url="file:///etc/passwd")
    first = get_json(f"{base}/Observation?patient=alice&_count=5", alice)
    assert next_link(first) == "file:///etc/passwd"
    last = get_json(f"{base}/Observation?patient=alice&_count=50", alice)
    assert next_link(last) == "file:///etc/passwd"  # even where no page follows
    assert next_link(get_json(f"{base}/Encounter?patient=alice&_count=5", alice)) is None


def test_next_link_self_points_at_the_page_itself(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", next_link="self")
    first = get_json(f"{base}/Observation?patient=alice&_count=5", alice)
    self_link = next(link["url"] for link in first["link"] if link["relation"] == "self")
    assert next_link(first) == self_link
    again = get_json(self_link, alice)
    assert [e["resource"]["id"] for e in again["entry"]] == [e["resource"]["id"] for e in first["entry"]]


def test_next_link_endless_never_ends(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", next_link="endless")
    link: str | None = f"{base}/Observation?patient=alice&_count=5"
    sizes = []
    for _ in range(6):
        assert link is not None
        bundle = get_json(link, alice)
        sizes.append(len(bundle.get("entry", [])))
        link = next_link(bundle)
    assert sizes == [5, 5, 3, 0, 0, 0]
    assert link is not None
    assert int(parse_qs(urlsplit(link).query)["_getpagesoffset"][0]) == 30


def read_chunked(url: str, token: str, limit: int) -> tuple[dict[str, str], bytes, bool]:
    """Up to `limit` body bytes of a GET (headers, bytes, whether the body ended before the limit)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        body = b""
        while len(body) < limit:
            piece = response.read1(65536)
            if not piece:
                return headers, body, True
            body += piece
        return headers, body, False
    finally:
        connection.close()


def test_huge_body_is_generated_and_streamed(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", hostile_types=["Observation"], huge_body_mb=200)
    started = time.monotonic()
    headers, body, ended = read_chunked(f"{base}/Observation?patient=alice", alice, 4 * 1024 * 1024)
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert not ended
    assert body.startswith(b'{"resourceType": "Bundle", "type": "searchset"')
    assert time.monotonic() - started < 5  # made as it is sent: the first megabytes come at once
    sandbox.switches("riverside", huge_body_mb=1)
    _, whole, ended = read_chunked(f"{base}/Observation?patient=alice", alice, 4 * 1024 * 1024)
    assert ended
    parsed = json.loads(whole)
    assert 1024 * 1024 <= len(whole) < 1.1 * 1024 * 1024
    assert {e["resource"]["subject"]["reference"] for e in parsed["entry"]} == {"Patient/alice"}


def test_big_page_has_that_many_entries(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", hostile_types=["Observation"], big_page_entries=1000)
    bundle = get_json(f"{base}/Observation?patient=alice", alice)
    assert len(bundle["entry"]) == 1000
    assert len({e["resource"]["id"] for e in bundle["entry"]}) == 1000
    assert get_json(f"{base}/Encounter?patient=alice", alice)["total"] == 1


def test_drip_sends_one_byte_at_a_time(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", drip_body_ms=100)
    parts = urlsplit(f"{base}/Observation?patient=alice")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}", headers={"Authorization": f"Bearer {alice}"})
        response = connection.getresponse()
        assert int(response.headers["Content-Length"]) > 1000
        started = time.monotonic()
        received = b"".join(response.read1(100) for _ in range(4))
        assert received == b'{"re'
        assert time.monotonic() - started >= 0.25
    finally:
        connection.close()


def test_inject_foreign_mixes_other_resources_into_the_first_page(sandbox: RunningSandbox, alice: str) -> None:
    base = sandbox.fhir_base("riverside")
    sandbox.switches("riverside", hostile_types=["Encounter"], inject_foreign=True)
    bundle = get_json(f"{base}/Encounter?patient=alice", alice)
    found = [(e["resource"]["resourceType"], e["resource"].get("id"), e["search"]["mode"]) for e in bundle["entry"]]
    assert found[0][0] == "Encounter"
    assert found[1:] == [
        ("Patient", "intruder", "match"),
        ("OperationOutcome", "outcome-as-match", "match"),
        ("Bundle", "nested", "match"),
        ("Observation", "foreign-obs", "match"),
        ("Condition", "stray-condition", "match"),
        ("OperationOutcome", None, "outcome"),
    ]
    assert len(get_json(f"{base}/Observation?patient=alice&_count=50", alice)["entry"]) == 13  # not hostile


def test_hostile_switches_are_validated(sandbox: RunningSandbox) -> None:
    for bad in (
        {"forbidden_types": "Observation"},
        {"next_link": "sideways"},
        {"next_link_url": 5},
        {"huge_body_mb": -1},
        {"granted_scope": ["patient/*.rs"]},
    ):
        assert admin(sandbox, "riverside", "switches", bad, expect=400)["error"]
    sandbox.switches("riverside", next_link="self", hostile_types=["Observation"])
    assert admin(sandbox, "riverside", "switches", {"reset": True}) == {}
