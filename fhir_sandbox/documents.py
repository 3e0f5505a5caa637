"""The documents the sandbox answers with: FHIR discovery, Bundles, OperationOutcomes and the sign-in page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from typing import Any

from fhir_sandbox.system import Entry, System

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
SMART_SCOPES = ["openid", "fhirUser", "launch/patient", "offline_access", "patient/*.read", "patient/*.rs"]
SMART_CAPABILITIES = (
    "launch-standalone client-public client-confidential-symmetric client-confidential-asymmetric"
    " context-standalone-patient permission-offline permission-patient permission-v1 permission-v2"
    " sso-openid-connect"
)


def outcome(severity: str, code: str, message: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": message}]}


def capability(system: System, root: str) -> dict[str, Any]:
    """The CapabilityStatement; fhirclient 4.4.0 finds the OAuth endpoints only in its oauth-uris extension."""
    resources = []
    for resource_type, patient_data in system.types().items():
        params = [("_id", "token"), ("_lastUpdated", "date")]
        if patient_data and resource_type != "Patient":
            params += [("patient", "reference"), ("subject", "reference")]
        resource: dict[str, Any] = {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": n, "type": t} for n, t in params],
        }
        if resource_type == "Patient":
            resource["operation"] = [{"name": "everything", "definition": EVERYTHING}]
        resources.append(resource)
    oauth = [
        {"url": "authorize", "valueUri": f"{root}/auth/authorize"},
        {"url": "token", "valueUri": f"{root}/auth/token"},
    ]
    security = {
        "extension": [{"url": OAUTH_URIS, "extension": oauth}],
        "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}]}],
    }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2024-01-01",
        "publisher": "fhir_sandbox (a development stand-in, not a real health system)",
        "kind": "instance",
        "software": {"name": "fhir_sandbox"},
        "implementation": {"description": system.name, "url": f"{root}/fhir"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "security": security, "resource": resources}],
    }


def smart_configuration(root: str, system: System | None = None) -> dict[str, Any]:
    """SMART discovery; the `discovery_*` switches play a server with fewer features (v1 scopes only, no keys...)."""
    switches = system.switches if system is not None else {}
    capabilities = SMART_CAPABILITIES.split()
    scopes = SMART_SCOPES
    document: dict[str, Any] = {
        "issuer": f"{root}/fhir",
        "jwks_uri": f"{root}/auth/jwks",
        "authorization_endpoint": f"{root}/auth/authorize",
        "token_endpoint": f"{root}/auth/token",
        "revocation_endpoint": f"{root}/auth/revoke",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }
    if switches.get("discovery_v1_only"):
        capabilities = [c for c in capabilities if c != "permission-v2"]
        scopes = [s for s in scopes if not s.endswith(".rs")]
    if switches.get("discovery_without_jwks"):
        del document["jwks_uri"]
        capabilities = [c for c in capabilities if c != "sso-openid-connect"]
    if switches.get("discovery_without_revocation"):
        del document["revocation_endpoint"]
    return document | {"scopes_supported": scopes, "capabilities": capabilities}


def searchset(base: str, entries: list[Entry], total: int, self_url: str, next_url: str | None) -> bytes:
    """The searchset as JSON bytes, joined from each entry's ready-made JSON (no re-encoding per search)."""
    links = [{"relation": "self", "url": self_url}] + ([{"relation": "next", "url": next_url}] if next_url else [])
    head = json.dumps({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links})
    items = b",".join(
        b'{"fullUrl":'
        + json.dumps(f"{base}/{e.key[0]}/{e.key[1]}").encode()
        + b',"resource":'
        + e.encoded
        + b',"search":{"mode":"match"}}'
        for e in entries
    )
    return head[:-1].encode() + b',"entry":[' + items + b"]}"


# Hostile answers ---------------------------------------------------------------------------------------


def foreign_entries(base: str, patient: str) -> list[dict[str, Any]]:
    """What a broken or hostile server mixes into a patient's search results: none of it is that patient's record.

    Five entries that must be left out (a stranger's Patient, an OperationOutcome as a match, a Bundle inside the
    Bundle, someone else's Observation, a type not asked for when the search is not for Conditions) and one outcome
    entry that a client skips without a word (search.mode "outcome").
    """
    subject = {"reference": f"Patient/{patient}"}
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "intruder", "name": [{"text": "Intruder"}]},
        outcome("information", "informational", "not a resource of the result"),
        {
            "resourceType": "Bundle",
            "id": "nested",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Observation",
                        "id": "nested-obs",
                        "status": "final",
                        "code": {"text": "Nested"},
                        "subject": subject,
                    }
                }
            ],
        },
        {
            "resourceType": "Observation",
            "id": "foreign-obs",
            "status": "final",
            "code": {"text": "Not theirs"},
            "subject": {"reference": "Patient/someone-else"},
        },
        {"resourceType": "Condition", "id": "stray-condition", "code": {"text": "Stray"}, "subject": subject},
    ]
    resources[1]["id"] = "outcome-as-match"
    entries = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    entries.append(
        {"resource": outcome("warning", "informational", "fhir_sandbox: a search note"), "search": {"mode": "outcome"}}
    )
    return entries


def with_foreign_entries(searchset_bytes: bytes, base: str, patient: str) -> bytes:
    """The searchset with foreign_entries appended to its entry list."""
    extra = b",".join(json.dumps(e, separators=(",", ":")).encode() for e in foreign_entries(base, patient))
    head = searchset_bytes[:-2]  # the searchset ends with the entry list: `...]}`
    return head + (b"" if head.endswith(b"[") else b",") + extra + b"]}"


def generated_searchset(kind: str, patient: str, *, entries: int = 0, size: int = 0) -> Iterator[bytes]:
    """A one-page searchset of `entries` made-up resources, or of about `size` bytes, yielded in pieces of ~64 KB.

    Made as it is sent, never held whole: a 200 MB answer costs the sandbox one piece at a time.
    """
    yield json.dumps({"resourceType": "Bundle", "type": "searchset", "link": []})[:-1].encode() + b',"entry":['
    padding = "x" * 700 if size else ""
    sent, number, piece = 0, 0, []
    while (entries and number < entries) or (size and sent < size):
        resource = {
            "resourceType": kind,
            "id": f"gen-{number}",
            "meta": {"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"},
            "status": "final",
            "code": {"text": "Generated"},
            "subject": {"reference": f"Patient/{patient}"},
            "valueQuantity": {"value": number % 100, "unit": "/min"},
            **({"note": [{"text": padding}]} if padding else {}),
        }
        item = (b"," if number else b"") + json.dumps({"resource": resource}, separators=(",", ":")).encode()
        piece.append(item)
        sent += len(item)
        number += 1
        if len(piece) >= 64:
            yield b"".join(piece)
            piece = []
    yield b"".join(piece) + b"]}"


def patient_label(patient: dict[str, Any]) -> str:
    names = patient.get("name") or [{}]
    name = names[0].get("text") or " ".join([*names[0].get("given", []), names[0].get("family", "")]).strip()
    return f"{name or patient['id']}, born {patient.get('birthDate', 'unknown')}"


PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
fieldset{{margin:1rem 0}} button{{font-size:1rem;padding:.4rem 1.2rem;margin-right:.5rem}}
.error{{color:#a00000}}
</style>
</head>
<body><main>
<h1>{title}</h1>
<p>This is <strong>fhir_sandbox</strong>, a development stand-in for a real health system. All data is made up.</p>
{body}
</main></body>
</html>
"""


CHECKED = {True: " checked", False: ""}


def consent_page(system: System, client_id: str, scope: str, action: str, error: str = "") -> str:
    """The sign-in page: pick a test patient, then Allow or Deny. No scripts; plain labelled form controls."""
    choices = "\n".join(
        f'<div><input type="radio" name="patient" id="patient-{i}" value="{escape(p["id"])}"{CHECKED[i == 0]}>'
        f' <label for="patient-{i}">{escape(patient_label(p))}</label></div>'
        for i, p in enumerate(sorted(system.patients(), key=patient_label))
    )
    body = (
        (f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
        + f"<p>The app <strong>{escape(client_id)}</strong> asks for: <code>{escape(scope)}</code></p>"
        + f'<form method="post" action="{escape(action)}"><fieldset><legend>Which test patient are you?</legend>'
        + (choices or "<p>This system has no patients.</p>")
        + "</fieldset>"
        + '<button type="submit" name="decision" value="allow">Allow</button>'
        + '<button type="submit" name="decision" value="deny">Deny</button></form>'
    )
    return PAGE.format(title=escape(f"Sign in to {system.name} as a test patient"), body=body)


def error_page(system: System, message: str) -> str:
    body = f'<p class="error" role="alert">This sign-in request cannot be accepted: {escape(message)}</p>'
    return PAGE.format(title=escape(f"Sign in to {system.name}: request refused"), body=body)
