"""One simulated health system: its resources, OAuth clients, codes, tokens, fault switches and counters.

Everything is in memory and guarded by one lock per system; the HTTP layer in
server.py only translates requests into calls here and results into responses.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.request
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir_sandbox import data, signing
from fhir_sandbox.data import Key, Resource

CODE_SECONDS = 60
MAX_COUNT = 1000
KEPT_SEARCHES = 1000  # paging cursors kept; older ones answer 410 Gone, as on real servers
EVERY_SWITCHES = ("drop_connection_every", "status_5xx_every", "status_429_every", "truncate_body_every")
NUMBER_SWITCHES = (*EVERY_SWITCHES, "latency_ms", "retry_after_seconds", "status_5xx_next")
ACTION_SWITCHES = ("expire_tokens", "revoke_refresh_tokens")
# A hostile or broken server's answers (see README, "Hostile switches"); body and link switches act on the searches
# of `hostile_types` only when it is set, else on every search.
HOSTILE_NUMBERS = ("huge_body_mb", "big_page_entries", "drip_body_ms")
HOSTILE_TYPE_LISTS = ("forbidden_types", "missing_types", "hostile_types")
HOSTILE_TEXTS = ("next_link", "next_link_url", "granted_scope")
HOSTILE_FLAGS = ("inject_foreign",)
NEXT_LINK_MODES = ("self", "endless")
DEFAULT_SCOPE = "launch/patient openid fhirUser patient/*.read"
PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CONFIG_KEYS = {
    "prefix",
    "name",
    "data",
    "clients",
    "access_token_seconds",
    "refresh_token_seconds",
    "page_size_default",
    "switches",
}
# The sign-in side (README, "Sign-in switches"): what discovery offers, and the ways a token endpoint misbehaves.
AUTH_FLAGS = ("discovery_v1_only", "discovery_without_jwks", "discovery_without_revocation", "revocation_fails")
ID_TOKEN_FAULTS = ("wrong_key", "wrong_aud", "wrong_iss", "expired", "wrong_nonce")
AUTH_SWITCHES = (*AUTH_FLAGS, "id_token_fault", "invalid_grant_status", "token_5xx_next")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_MAX_SECONDS = 300  # SMART: a client assertion expires within five minutes
PLAIN_SCOPES = {"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter", "offline_access"}


class FhirError(Exception):
    """A FHIR error answer: becomes an OperationOutcome with this status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class OAuthError(Exception):
    """An OAuth 2.0 error answer from the token endpoint (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class Entry:
    """A stored resource with what search needs precomputed: its patient and its lastUpdated."""

    resource: Resource
    patient: str | None
    updated: datetime

    @property
    def key(self) -> Key:
        return self.resource["resourceType"], self.resource["id"]

    @functools.cached_property
    def encoded(self) -> bytes:
        """The resource's JSON, made once: searches send it as it is, many times over."""
        return json.dumps(self.resource, separators=(",", ":")).encode()

    def order(self) -> tuple[datetime, str, str]:
        """The one stable order of every result list: (meta.lastUpdated, type, id)."""
        return self.updated, *self.key


@dataclass
class Grant:
    """What an access or refresh token stands for."""

    client_id: str
    patient: str | None  # None: a sandbox-minted token that sees every patient
    scope: str
    expires_at: float
    family: str = ""  # the sign-in it comes from: revoking a refresh token ends its access tokens too


@dataclass
class Search:
    """A frozen result list that `next` links page through, so paging is stable while data changes."""

    keys: list[Key]
    patient: str | None
    kind: str = ""  # the type searched ("" for $everything), for the hostile switches on later pages


class System:
    """A health system served under /<prefix>/."""

    def __init__(self, config: dict[str, Any], base_dir: Path) -> None:
        unknown = set(config) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown keys in system config: {sorted(unknown)}")
        self.prefix = str(config.get("prefix", ""))
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.prefix) or self.prefix.startswith("_"):
            raise ValueError(f"system prefix must be letters, digits, - or _ (and not start with _): {self.prefix!r}")
        self.name = str(config.get("name", self.prefix))
        self.clients = {str(c["client_id"]): c for c in config.get("clients", [])}
        self.token_seconds = int(config.get("access_token_seconds", 300))
        # How long the person granted access at sign-in (refresh tokens end then; some servers say so as
        # `refresh_token_expires_in`); None: until revoked, as most servers answer.
        refresh_seconds = config.get("refresh_token_seconds")
        self.refresh_seconds: int | None = int(refresh_seconds) if refresh_seconds is not None else None
        self.page_size = int(config.get("page_size_default", 50))
        self.lock = threading.RLock()
        self.entries: dict[Key, Entry] = {}
        # Search indexes, kept by _store: a type search touches only its own type (and patient).
        self.by_type: dict[str, dict[Key, Entry]] = {}
        self.by_type_patient: dict[tuple[str, str | None], dict[Key, Entry]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.searches: OrderedDict[str, Search] = OrderedDict()
        self.switches: dict[str, Any] = {}
        self.counters: Counter[str] = Counter()
        self.routes: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.assertions: dict[str, float] = {}  # client assertion jti -> expiry, so that none is used twice
        sources = config.get("data") or []
        paths = [base_dir / p for p in ([sources] if isinstance(sources, str) else sources)]
        self.add(data.read_paths(paths))
        self.set_switches(config.get("switches", {}))

    # --- Data -----------------------------------------------------------------

    def add(self, items: Iterable[tuple[Resource, str | None, str]], bump: bool = False) -> list[str]:
        """Store resources (new or replacing), resolving references; `bump` gives replacements a new version."""
        resources = data.prepare(items)
        with self.lock:
            index = {k: r.resource["id"] for r in self.entries.values() for k in data.identifier_keys(r.resource)}
            index.update({k: r["id"] for r in resources for k in data.identifier_keys(r)})
            data.resolve_conditional(resources, index)
            for resource in resources:
                old = self.entries.get((resource["resourceType"], resource["id"]))
                if bump and old:
                    resource["meta"]["versionId"] = str(_version(old.resource) + 1)
                self._store(resource)
            for resource in resources:  # Provenance belongs to the patient of what it is about
                if resource["resourceType"] == "Provenance" and not data.patient_of(resource):
                    targets = [data.reference_key(t.get("reference", "")) for t in resource.get("target", [])]
                    owners = [self.entries[t].patient for t in targets if t in self.entries]
                    if owners and owners[0]:
                        self._store(resource, owners[0])
        return [f"{r['resourceType']}/{r['id']}" for r in resources]

    def _store(self, resource: Resource, patient: str | None = None) -> None:
        entry = Entry(
            resource, patient or data.patient_of(resource), data.parse_instant(resource["meta"]["lastUpdated"])
        )
        old = self.entries.get(entry.key)
        if old is not None:
            self.by_type_patient.get((old.key[0], old.patient), {}).pop(old.key, None)
        self.entries[entry.key] = entry
        self.by_type.setdefault(entry.key[0], {})[entry.key] = entry
        self.by_type_patient.setdefault((entry.key[0], entry.patient), {})[entry.key] = entry

    def touch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Make resources look changed now (new lastUpdated and versionId), for testing incremental sync."""
        stamp = data.now_instant()
        with self.lock:
            if "id" in request:
                key = (str(request.get("type", "")), str(request["id"]))
                if key not in self.entries:
                    raise ValueError(f"no {key[0]}/{key[1]}")
                chosen = [self.entries[key]]
            elif "patient" in request:
                count = request.get("count")
                if count is not None and not isinstance(count, int):
                    raise ValueError("count must be a whole number")
                wanted = request.get("type")
                mine = [
                    e for e in self.entries.values() if e.patient == request["patient"] and wanted in (None, e.key[0])
                ]
                chosen = sorted(mine, key=Entry.order)[:count]
            else:
                raise ValueError('send {"type": ..., "id": ...} or {"patient": ..., "count": N}')
            for entry in chosen:
                version = str(_version(entry.resource) + 1)
                meta = entry.resource.get("meta", {}) | {"lastUpdated": stamp, "versionId": version}
                self._store({**entry.resource, "meta": meta}, entry.patient)
        return {"lastUpdated": stamp, "touched": [f"{e.key[0]}/{e.key[1]}" for e in chosen]}

    def patients(self) -> list[Resource]:
        with self.lock:
            return sorted((e.resource for e in self.entries.values() if e.key[0] == "Patient"), key=lambda r: r["id"])

    def types(self) -> dict[str, bool]:
        """Each resource type held, and whether it is patient data (True) or shared reference data."""
        with self.lock:  # from the index: one look per (type, patient) bucket, not per resource
            found: dict[str, bool] = {}
            for (kind, patient), bucket in self.by_type_patient.items():
                if bucket:
                    found[kind] = found.get(kind, False) or patient is not None
        return dict(sorted(found.items()))

    # --- FHIR REST ------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str, grant: Grant) -> Resource:
        self.refuse_type(resource_type, grant)
        entry = self.entries.get((resource_type, resource_id))
        if entry is None:
            raise FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known here")
        if not _visible(entry, grant):
            raise FhirError(403, "forbidden", "this token's patient may not see that resource")
        return entry.resource

    def search(
        self, resource_type: str, params: dict[str, list[str]], grant: Grant
    ) -> tuple[list[Entry], list[tuple[str, str]]]:
        """Matches for a type search, in stable order, and the parameters that were applied (for the self link)."""
        self.refuse_type(resource_type, grant)
        applied: list[tuple[str, str]] = []
        patients: set[str] | None = None
        for name in ("patient", "subject"):
            for value in params.get(name, []):
                applied.append((name, value))
                wanted = {_patient_id(v) for v in value.split(",")}
                patients = wanted if patients is None else patients & wanted
        if grant.patient and patients is not None and patients - {grant.patient}:
            raise FhirError(403, "forbidden", "this token may only search its own patient's data")
        ids: set[str] | None = None
        for value in params.get("_id", []):
            applied.append(("_id", value))
            ids = set(value.split(",")) if ids is None else ids & set(value.split(","))
        try:
            tests = [data.date_matcher(v) for v in params.get("_lastUpdated", [])]
        except ValueError as error:
            raise FhirError(400, "invalid", f"_lastUpdated: {error}") from error
        applied += [("_lastUpdated", v) for v in params.get("_lastUpdated", [])]
        with self.lock:
            if patients is None:
                candidates: list[Entry] = list(self.by_type.get(resource_type, {}).values())
            else:
                candidates = [
                    e for p in sorted(patients) for e in self.by_type_patient.get((resource_type, p), {}).values()
                ]
            found = [
                e
                for e in candidates
                if e.key[0] == resource_type
                and (patients is None or e.patient in patients)
                and (ids is None or e.key[1] in ids)
                and all(test(e.updated) for test in tests)
                and _visible(e, grant)
            ]
        return sorted(found, key=Entry.order), applied

    def everything(
        self, patient_id: str, params: dict[str, list[str]], grant: Grant
    ) -> tuple[list[Entry], list[tuple[str, str]]]:
        """Patient/$everything: the patient, everything that names them, and the shared resources those refer to."""
        self.read("Patient", patient_id, grant)
        applied: list[tuple[str, str]] = []
        since = None
        if params.get("_since"):
            try:
                since = data.date_range(params["_since"][-1])[0]
            except ValueError as error:
                raise FhirError(400, "invalid", f"_since: {error}") from error
            applied.append(("_since", params["_since"][-1]))
        types = set(params["_type"][-1].split(",")) if params.get("_type") else None
        if types:
            applied.append(("_type", params["_type"][-1]))
        with self.lock:
            own = [e for e in self.entries.values() if e.patient == patient_id]
            referred = {data.reference_key(h["reference"]) for e in own for h in data.references(e.resource)}
            shared = [e for k in referred if k and (e := self.entries.get(k)) and e.patient is None]
        found = [
            e for e in own + shared if (since is None or e.updated >= since) and (types is None or e.key[0] in types)
        ]
        return sorted(found, key=Entry.order), applied

    def remember(self, found: list[Entry], grant: Grant, kind: str = "") -> str:
        """Keep a result list for paging and return its cursor."""
        cursor = secrets.token_urlsafe(12)
        with self.lock:
            self.searches[cursor] = Search([e.key for e in found], grant.patient, kind)
            while len(self.searches) > KEPT_SEARCHES:
                self.searches.popitem(last=False)
        return cursor

    def page(self, cursor: str, offset: int, count: int, grant: Grant) -> tuple[list[Entry], int]:
        with self.lock:
            search = self.searches.get(cursor)
            if search is None:
                raise FhirError(410, "not-found", "this search has expired or never existed; search again")
            if grant.patient and search.patient != grant.patient:
                raise FhirError(403, "forbidden", "this search belongs to another patient's token")
            if search.kind:
                self.refuse_type(search.kind, grant)
            keys = search.keys[offset : offset + count]
            return [self.entries[k] for k in keys if k in self.entries], len(search.keys)

    def search_kind(self, cursor: str) -> str:
        """The type a paging cursor's search was for ("" for $everything or a forgotten cursor)."""
        with self.lock:
            search = self.searches.get(cursor)
            return search.kind if search is not None else ""

    def count_param(self, params: dict[str, list[str]]) -> int:
        raw = params.get("_count", [str(self.page_size)])[-1]
        if not raw.isdigit():
            raise FhirError(400, "invalid", "_count must be a whole number")
        return min(int(raw), MAX_COUNT)

    # --- OAuth ----------------------------------------------------------------

    def check_authorize(self, params: dict[str, str], fhir_base: str) -> str | None:
        """Why an authorize request is refused, or None if it is acceptable."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return "Unknown client_id."
        if params.get("redirect_uri") not in client.get("redirect_uris", []):
            return "redirect_uri is not registered for this client (it must match exactly)."
        if params.get("response_type") != "code":
            return "response_type must be code."
        if params.get("aud", "").rstrip("/") != fhir_base:
            return f"aud must be this system's FHIR base URL, {fhir_base}."
        if params.get("code_challenge_method") != "S256" or not PKCE_VALUE.fullmatch(params.get("code_challenge", "")):
            return "PKCE is required: code_challenge (base64url SHA-256) with code_challenge_method=S256."
        if not params.get("state") or not params.get("scope"):
            return "state and scope are required."
        return self.scope_problem(params["scope"]) or None

    def issue_code(self, params: dict[str, str], patient: str) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            now = time.time()
            for old in [c for c, v in self.codes.items() if v["expires_at"] < now]:
                del self.codes[old]
            self.codes[code] = {
                "client_id": params["client_id"],
                "redirect_uri": params["redirect_uri"],
                "patient": patient,
                "scope": params["scope"],
                "challenge": params["code_challenge"],
                "nonce": params.get("nonce", ""),
                "expires_at": now + CODE_SECONDS,
            }
        return code

    def token(
        self, form: dict[str, str], basic: tuple[str, str] | None, *, issuer: str = "", token_url: str = ""
    ) -> dict[str, Any]:
        """The token endpoint: authorization_code (with PKCE) and refresh_token (rotating) grants.

        `issuer` (this system's FHIR base) signs id_tokens; `token_url` is the audience client assertions must name.
        """
        try:
            return self._token(form, basic, issuer=issuer, token_url=token_url)
        except OAuthError as error:
            if error.error == "invalid_grant" and self.switches.get("invalid_grant_status") == 401:
                error.status = 401  # as some servers answer a refused refresh, though RFC 6749 says 400
            raise

    def _token(
        self, form: dict[str, str], basic: tuple[str, str] | None, *, issuer: str, token_url: str
    ) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        with self.lock:
            if self.switches.get("token_5xx_next"):
                self.switches["token_5xx_next"] -= 1
                raise OAuthError("temporarily_unavailable", "simulated outage", 503)
            if grant_type == "authorization_code":
                client_id = self._client(form, basic, token_url=token_url)
                record = self.codes.pop(form.get("code", ""), None)  # single use, even when the exchange fails
                if record is None or record["expires_at"] < time.time():
                    raise OAuthError("invalid_grant", "code is unknown, used or expired")
                if record["client_id"] != client_id or record["redirect_uri"] != form.get("redirect_uri"):
                    raise OAuthError("invalid_grant", "client_id or redirect_uri differ from the authorize request")
                verifier = form.get("code_verifier", "")
                if not PKCE_VALUE.fullmatch(verifier):
                    raise OAuthError("invalid_request", "code_verifier is missing or malformed (43-128 characters)")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not secrets.compare_digest(digest, record["challenge"]):
                    raise OAuthError("invalid_grant", "code_verifier does not match code_challenge")
                answer = self._link(self._issue(client_id, record["patient"], record["scope"]))
                if "openid" in answer["scope"].split() and issuer:
                    answer["id_token"] = self.id_token(client_id, record["patient"], record["nonce"], issuer, answer)
                return answer
            if grant_type == "refresh_token":
                old = self.refresh.get(form.get("refresh_token", ""))
                client_id = self._client(form, basic, fallback=old.client_id if old else None, token_url=token_url)
                if old is None or old.client_id != client_id or old.expires_at <= time.time():
                    raise OAuthError("invalid_grant", "refresh token is unknown, already used, revoked or expired")
                del self.refresh[form["refresh_token"]]  # rotation: the old one stops working
                # The access the person granted does not grow with each renewal: the new one ends when the old did.
                return self._link(
                    self._issue(client_id, old.patient, old.scope, refresh_until=old.expires_at), old.family
                )
        raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")

    # --- Sign-in: id_tokens, client assertions, revocation --------------------------------------

    @functools.cached_property
    def signing_key(self) -> signing.SigningKey:
        """The key id_tokens are signed with (published at /auth/jwks), made on first use."""
        return signing.SigningKey(f"{self.prefix}-1")

    @functools.cached_property
    def stray_key(self) -> signing.SigningKey:
        """A key nobody published, under the same kid: for the `id_token_fault: wrong_key` switch."""
        return signing.SigningKey(f"{self.prefix}-1")

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.signing_key.jwk()]}

    def id_token(self, client_id: str, patient: str, nonce: str, issuer: str, answer: dict[str, Any]) -> str:
        """An OpenID Connect id_token for the person who signed in (the test patient), with fhirUser if asked."""
        fault = self.switches.get("id_token_fault") or ""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer + ("/elsewhere" if fault == "wrong_iss" else ""),
            "sub": patient,
            "aud": "another-app" if fault == "wrong_aud" else client_id,
            "iat": now - (7200 if fault == "expired" else 0),
            "exp": now + (-3600 if fault == "expired" else self.token_seconds),
        }
        if nonce:
            claims["nonce"] = "not-the-nonce-sent" if fault == "wrong_nonce" else nonce
        if "fhirUser" in answer["scope"].split():
            claims["fhirUser"] = f"{issuer}/Patient/{patient}"
        return (self.stray_key if fault == "wrong_key" else self.signing_key).sign(claims)

    def _link(self, answer: dict[str, Any], family: str = "") -> dict[str, Any]:
        """Mark the tokens of one answer as one family (a refresh carries its sign-in's family on)."""
        family = family or secrets.token_urlsafe(8)
        for kind, store in (("access_token", self.access), ("refresh_token", self.refresh)):
            if answer.get(kind) in store:
                store[answer[kind]].family = family
        return answer

    def _check_assertion(
        self, client: dict[str, Any], client_id: str, form: dict[str, str], audiences: tuple[str, ...]
    ) -> None:
        """private_key_jwt (RFC 7523, as SMART asks): a JWT signed with the client's registered key."""
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise OAuthError("invalid_client", "this client must send a client assertion (private_key_jwt)", 401)
        try:
            claims = signing.verify(form["client_assertion"], self._client_keys(client))
        except ValueError as error:
            raise OAuthError("invalid_client", f"client assertion refused: {error}", 401) from error
        now = time.time()
        audience = claims.get("aud")
        named = audience if isinstance(audience, list) else [audience]
        expires = claims.get("exp")
        problem = (
            "iss and sub must be the client_id"
            if claims.get("iss") != client_id or claims.get("sub") != client_id
            else "aud must be the token endpoint URL"
            if not any(a in named for a in audiences if a)
            else "exp must be a number within the next five minutes"
            if not isinstance(expires, int | float) or not now < expires <= now + ASSERTION_MAX_SECONDS + 5
            else "jti is required and may be used once"
            if not isinstance(claims.get("jti"), str) or claims["jti"] in self.assertions
            else ""
        )
        if problem:
            raise OAuthError("invalid_client", f"client assertion refused: {problem}", 401)
        for jti in [j for j, until in self.assertions.items() if until < now]:
            del self.assertions[jti]
        self.assertions[claims["jti"]] = float(expires or 0)

    @staticmethod
    def _client_keys(client: dict[str, Any]) -> dict[str, Any]:
        """The client's registered JWK Set: inline (`jwks`) or fetched from its `jwks_uri` (the portal's)."""
        if "jwks" in client:
            return dict(client["jwks"])
        try:
            with urllib.request.urlopen(str(client["jwks_uri"]), timeout=5) as answer:  # noqa: S310 (configured URL)
                keys = json.loads(answer.read(1_000_000))
        except (OSError, ValueError) as error:
            raise ValueError(f"the client's jwks_uri could not be read ({error})") from error
        return keys if isinstance(keys, dict) else {}

    def revoke(self, form: dict[str, str], basic: tuple[str, str] | None, *, audiences: tuple[str, ...]) -> None:
        """RFC 7009: the token stops working (a refresh token takes its access tokens along); unknown ones are fine."""
        with self.lock:
            if self.switches.get("revocation_fails"):
                raise OAuthError("temporarily_unavailable", "simulated outage of the revocation endpoint", 503)
            client_id = self._client(form, basic, audiences=audiences)
            token = form.get("token", "")
            if not token:
                raise OAuthError("invalid_request", "token is required")
            grant = self.refresh.get(token) or self.access.get(token)
            if grant is None:
                return  # RFC 7009 section 2.2: an unknown or already revoked token is answered 200 all the same
            if grant.client_id != client_id:
                raise OAuthError("unauthorized_client", "this token was issued to another client")
            self.access.pop(token, None)
            if self.refresh.pop(token, None) is not None and grant.family:
                for access in [a for a, g in self.access.items() if g.family == grant.family]:
                    del self.access[access]

    def scope_problem(self, scope: str) -> str:
        """Why a requested scope is refused at the authorize endpoint ("" when it is fine)."""
        for item in scope.split():
            context, _, rest = item.partition("/")
            kind, _, access = rest.split("?", 1)[0].rpartition(".")
            resource = context in ("patient", "user", "system") and (kind == "*" or kind.isalpha())
            if item in PLAIN_SCOPES or (resource and access in ("read", "write", "*")):
                continue
            if resource and access and set(access) <= set("cruds") and not self.switches.get("discovery_v1_only"):
                continue  # a SMART 2 scope (patient/*.rs), offered unless the server plays a v1-only one
            return f"invalid_scope: {item} is not a scope this server offers."
        return ""

    def mint(self, request: dict[str, Any]) -> dict[str, Any]:
        """A token without the browser dance, for tests. No patient: a token that sees every patient."""
        patient = request.get("patient")
        if patient is not None and ("Patient", patient) not in self.entries:
            raise ValueError(f"no Patient/{patient}")
        client_id = request.get("client_id") or next(iter(self.clients), "sandbox")
        if self.clients and client_id not in self.clients:
            raise ValueError(f"unknown client_id {client_id!r}")
        scope = request.get("scope") or DEFAULT_SCOPE
        if request.get("offline") and "offline_access" not in scope.split():
            scope += " offline_access"
        with self.lock:
            seconds = int(request.get("expires_in", self.token_seconds))
            return self._link(self._issue(client_id, patient, scope, seconds))

    def grant_for(self, authorization: str | None) -> Grant:
        """The grant behind an `Authorization: Bearer` header, or a 401."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise FhirError(
                401, "login", "an access token is required", {"WWW-Authenticate": 'Bearer realm="fhir_sandbox"'}
            )
        with self.lock:
            grant = self.access.get(token.strip())
        if grant is None or grant.expires_at <= time.time():
            problem = "unknown" if grant is None else "expired"
            header = f'Bearer realm="fhir_sandbox", error="invalid_token", error_description="token {problem}"'
            raise FhirError(401, "login", f"the access token is {problem}", {"WWW-Authenticate": header})
        return grant

    def _client(
        self,
        form: dict[str, str],
        basic: tuple[str, str] | None,
        fallback: str | None = None,
        token_url: str = "",
        audiences: tuple[str, ...] = (),
    ) -> str:
        """Authenticate the client: public clients name themselves, confidential ones prove a secret or a key."""
        client_id = basic[0] if basic else form.get("client_id") or fallback
        if not client_id and form.get("client_assertion"):
            client_id = _assertion_issuer(form["client_assertion"])
        if not client_id:
            raise OAuthError("invalid_request", "client_id is required")
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError("invalid_client", "unknown client", 401)
        if "jwks" in client or "jwks_uri" in client:
            self._check_assertion(client, client_id, form, (token_url, *audiences))
        elif "client_secret" in client:
            given = basic[1] if basic else form.get("client_secret", "")
            if not secrets.compare_digest(given.encode(), str(client["client_secret"]).encode()):
                raise OAuthError("invalid_client", "client authentication failed", 401)
        return client_id

    def _issue(
        self,
        client_id: str,
        patient: str | None,
        scope: str,
        seconds: int | None = None,
        refresh_until: float | None = None,
    ) -> dict[str, Any]:
        seconds = self.token_seconds if seconds is None else seconds
        scope = self.narrowed(scope)  # the `granted_scope` switch: the person shared less than was asked
        access = secrets.token_urlsafe(32)
        self.access[access] = Grant(client_id, patient, scope, time.time() + seconds)
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": seconds, "scope": scope}
        if patient:
            answer["patient"] = patient
        if "offline_access" in scope.split():
            answer["refresh_token"] = secrets.token_urlsafe(32)
            if refresh_until is None:
                refresh_until = time.time() + self.refresh_seconds if self.refresh_seconds else float("inf")
            self.refresh[answer["refresh_token"]] = Grant(client_id, patient, scope, refresh_until)
            if refresh_until != float("inf"):
                answer["refresh_token_expires_in"] = max(0, int(refresh_until - time.time()))
        return answer

    # --- Fault switches and counters -------------------------------------------

    def set_switches(self, values: dict[str, Any]) -> dict[str, Any]:
        """Change fault switches; each changed `*_every` switch restarts its count. 0, false or null turns one off."""
        known = {*NUMBER_SWITCHES, *ACTION_SWITCHES, *HOSTILE_NUMBERS, *HOSTILE_TYPE_LISTS, *HOSTILE_TEXTS}
        unknown = set(values) - known - set(HOSTILE_FLAGS) - set(AUTH_SWITCHES) - {"reset"}
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}")
        numbers = {
            k: 0 if values[k] in (None, False) else values[k]
            for k in (*NUMBER_SWITCHES, *HOSTILE_NUMBERS)
            if k in values
        }
        for name, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0")
        numbers.update(_hostile_values(values))
        numbers.update(_auth_values(values))
        with self.lock:
            if values.get("reset"):
                self.switches.clear()
                self.counters.clear()
            for name, value in numbers.items():
                self.switches[name] = value
                self.counters[name] = 0
            if values.get("expire_tokens"):
                for grant in self.access.values():
                    grant.expires_at = 0
            if values.get("revoke_refresh_tokens"):
                self.refresh.clear()
            return {k: v for k, v in self.switches.items() if v}

    def latency(self) -> float:
        return self.switches.get("latency_ms", 0) / 1000

    def next_fault(self) -> str | None:
        """Count one FHIR data request against every active `*_every` switch; return the fault to inject, if any."""
        with self.lock:
            fired = set()
            for name in EVERY_SWITCHES:
                if self.switches.get(name):
                    self.counters[name] += 1
                    if self.counters[name] % self.switches[name] == 0:
                        fired.add(name)
            if self.switches.get("status_5xx_next"):
                self.switches["status_5xx_next"] -= 1
                fired.add("status_5xx_every")
            fault = next((n for n in EVERY_SWITCHES if n in fired), None)  # precedence: drop, 503, 429, truncate
            if fault:
                self.faults[fault] += 1
            return fault

    def count(self, route: str) -> None:
        with self.lock:
            self.routes[route] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            by_type = Counter(key[0] for key in self.entries)
            return {
                "routes": dict(self.routes),
                "faults": dict(self.faults),
                "switches": {k: v for k, v in self.switches.items() if v},
                "resources": dict(sorted(by_type.items())),
                "live_access_tokens": sum(g.expires_at > time.time() for g in self.access.values()),
                "refresh_tokens": len(self.refresh),
            }

    # --- Hostile switches: a server that refuses, narrows or misleads ------------------------------

    def refuse_type(self, resource_type: str, grant: Grant) -> None:
        """403 for `forbidden_types` and for types the token's scope does not cover; 404 for `missing_types`."""
        if resource_type in (self.switches.get("forbidden_types") or ()):
            raise FhirError(403, "forbidden", f"access to {resource_type} is not allowed here")
        if resource_type in (self.switches.get("missing_types") or ()):
            raise FhirError(404, "not-supported", f"{resource_type} is not supported here")
        if not scope_allows(grant.scope, resource_type):
            raise FhirError(403, "forbidden", f"this token's scope does not cover {resource_type}")

    def narrowed(self, scope: str) -> str:
        """The scope granted: with `granted_scope` set, its resource scopes replace those asked for."""
        granted = self.switches.get("granted_scope")
        if not granted:
            return scope
        kept = [s for s in scope.split() if not RESOURCE_SCOPE.fullmatch(s)]  # openid, offline_access...
        return " ".join([*kept, *granted.split()])

    def hostile(self, kind: str) -> bool:
        """Whether the body and link switches act on a search of this type."""
        chosen = self.switches.get("hostile_types")
        return bool(kind) and (not chosen or kind in chosen)


def _visible(entry: Entry, grant: Grant) -> bool:
    return grant.patient is None or entry.patient is None or entry.patient == grant.patient


def _patient_id(value: str) -> str:
    """`123`, `Patient/123` or an absolute Patient URL as `123`; any other type matches no patient."""
    if "/" not in value:
        return value
    match = data.PATIENT_REFERENCE.search(value)
    return match[1] if match else "\0"


def _assertion_issuer(assertion: str) -> str:
    with contextlib.suppress(ValueError):
        return str(signing.unverified(assertion)[1].get("iss") or "")
    return ""


def _auth_values(values: dict[str, Any]) -> dict[str, Any]:
    """The sign-in switches, checked; 0, false, null or "" turns one off."""
    checked: dict[str, Any] = {}
    for name in AUTH_FLAGS:
        if name in values:
            checked[name] = bool(values[name])
    if "id_token_fault" in values:
        fault = values["id_token_fault"] or ""
        if fault not in ("", *ID_TOKEN_FAULTS):
            raise ValueError(f"id_token_fault must be one of {', '.join(ID_TOKEN_FAULTS)}")
        checked["id_token_fault"] = fault
    if "invalid_grant_status" in values:
        status = values["invalid_grant_status"] or 0
        if status not in (0, 400, 401):
            raise ValueError("invalid_grant_status must be 400 or 401")
        checked["invalid_grant_status"] = status
    if "token_5xx_next" in values:
        count = values["token_5xx_next"] or 0
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("token_5xx_next must be a whole number >= 0")
        checked["token_5xx_next"] = count
    return checked


def _version(resource: Resource) -> int:
    version = str(resource.get("meta", {}).get("versionId", "1"))
    return int(version) if version.isdigit() else 1


# Scopes: SMART v1 (`patient/Observation.read`, `patient/*.*`) and v2 (`patient/Observation.rs`, `patient/*.cruds`).
RESOURCE_SCOPE = re.compile(
    r"(?:patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<access>read|write|\*|[cruds]+)(?:\?\S*)?"
)


def scope_allows(scope: str, resource_type: str) -> bool:
    """Whether a token's scope lets it search a type; a scope naming no resource at all allows everything."""
    found = [m for m in map(RESOURCE_SCOPE.fullmatch, scope.split()) if m]
    if not found:
        return True  # tokens minted without resource scopes (tests) see every type, as before
    return any(
        m["type"] in ("*", resource_type)
        and m["access"] != "write"
        and (m["access"] in ("read", "*") or bool(set(m["access"]) & {"r", "s"}))
        for m in found
    )


def _hostile_values(values: dict[str, Any]) -> dict[str, Any]:
    """The hostile switches that are not numbers, checked; None, false, "" or [] turns one off."""
    checked: dict[str, Any] = {}
    for name in HOSTILE_TYPE_LISTS:
        if name in values:
            value = values[name] or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a list of resource types")
            checked[name] = list(value)
    for name in HOSTILE_TEXTS:
        if name in values:
            value = values[name] or ""
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            if name == "next_link" and value not in ("", *NEXT_LINK_MODES):
                raise ValueError(f"next_link must be one of {', '.join(NEXT_LINK_MODES)}")
            checked[name] = value
    for name in HOSTILE_FLAGS:
        if name in values:
            checked[name] = bool(values[name])
    return checked
