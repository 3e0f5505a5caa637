"""SMART App Launch 2.x, standalone, for patient access: discovery, sign-in, tokens, revocation.

The flow: discovery from `.well-known/smart-configuration` (capabilities, issuer, jwks_uri,
revocation endpoint), the authorization code with PKCE (S256) and a nonce, the code exchange
with the client's proof (none, client_secret_basic or private_key_jwt), the id_token checked
against the health system's published keys, refresh, and revocation (RFC 7009).

The OAuth requests are made here rather than by fhirclient 4.4.0, which finds endpoints only in
the CapabilityStatement, prepends `launch/patient` to the scope it is given, sends no nonce, cannot
add a client assertion to the code exchange or the refresh, drops the id_token and the body of an
error answer, and sets no timeout (docs/decisions.md, "Health records (the pipeline)").

Every URL is checked before the portal reaches it (records.safe_urls), every request has a
timeout, and every answer is read up to a size limit: a health system is treated as untrusted.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urljoin, urlsplit, urlunsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from records.models import ClientKind, HealthSystem
from records.safe_urls import (
    PublicAddressAdapter,
    UnsafeURLError,
    check_health_system_url,
    check_url_shape,
    private_allowed,
)

logger = logging.getLogger(__name__)

V1_READ = "patient/*.read"
V2_READ = "patient/*.rs"  # SMART 2: read and search
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
CLOCK_LEEWAY_SECONDS = 60
ASSERTION_SECONDS = 240  # SMART: a client assertion lives at most five minutes
MAX_ANSWER_BYTES = 1_000_000  # discovery, keys and token answers are a few kilobytes
MAX_TOKEN_CHARS = 16_000
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
FHIR_USER = re.compile(r"(?:.*/)?(Patient|Practitioner|PractitionerRole|RelatedPerson|Person)/([A-Za-z0-9\-.]{1,64})")
# RFC 6749 section 5.2: the characters an error, error_description and error_uri may hold.
OAUTH_TEXT = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
CLIENT_CAPABILITY = {
    ClientKind.PUBLIC: "client-public",
    ClientKind.SECRET: "client-confidential-symmetric",
    ClientKind.PRIVATE_KEY_JWT: "client-confidential-asymmetric",
}
AUTH_METHOD = {ClientKind.SECRET: "client_secret_basic", ClientKind.PRIVATE_KEY_JWT: "private_key_jwt"}


# Errors -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """The health system's own words for a refusal: cleaned to RFC 6749's characters and capped."""

    error: str = ""
    description: str = ""
    uri: str = ""

    @classmethod
    def from_answer(cls, answer: dict[str, Any] | None) -> Refusal:
        answer = answer or {}
        uri = _oauth_text(answer.get("error_uri"), 500)
        try:
            check_url_shape(uri)
        except UnsafeURLError:
            uri = ""  # shown as a link: never a javascript: or private address
        return cls(_oauth_text(answer.get("error"), 40), _oauth_text(answer.get("error_description"), 300), uri)

    def fields(self) -> dict[str, str]:
        """The connection's refusal fields."""
        return {"refusal_error": self.error, "refusal_description": self.description, "refusal_uri": self.uri}


NO_REFUSAL = Refusal()


class SmartError(Exception):
    """The health system's authorization did not work; the message is fit to show (no health data)."""

    def __init__(self, message: str, *, refusal: Refusal = NO_REFUSAL) -> None:
        super().__init__(message)
        self.refusal = refusal


class SignInAgainError(SmartError):
    """The health system refused the grant (invalid_grant, invalid_client, …): only a new sign-in helps."""


class TemporaryError(SmartError):
    """The health system did not answer, or answered 5xx or 429: worth trying again later."""


def refusal_fields(error: BaseException) -> dict[str, str]:
    """The refusal fields of a connection for this error or the SmartError it was raised from."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, SmartError):
            return current.refusal.fields()
        current = current.__cause__
    return NO_REFUSAL.fields()


def _oauth_text(value: object, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(OAUTH_TEXT.sub(" ", value[: limit * 4]).split())[:limit]


# HTTP ---------------------------------------------------------------------------------------------------


class TimeoutSession(requests.Session):
    """Every request has a timeout; outside development it reaches public addresses only, redirects included."""

    def __init__(self) -> None:
        super().__init__()
        if not private_allowed():
            adapter = PublicAddressAdapter()
            self.mount("https://", adapter)
            self.mount("http://", adapter)

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", settings.FHIR_HTTP_TIMEOUT_SECONDS)
        return super().request(method, url, *args, **kwargs)

    def get_redirect_target(self, response: requests.Response) -> str | None:
        target = super().get_redirect_target(response)
        if target:
            try:
                check_url_shape(urljoin(response.url, target))
            except UnsafeURLError as error:
                raise requests.exceptions.InvalidURL(str(error)) from error
        return target


def _session() -> requests.Session:
    return TimeoutSession()


def _call(
    method: str, url: str, *, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any] | None]:
    """One request: the status and the answer when it is a JSON object (None otherwise). Raises requests' errors."""
    response = _session().request(
        method,
        url,
        data=data,
        headers={"Accept": "application/json", **(headers or {})},
        stream=True,
        allow_redirects=method == "GET",  # a token or revocation request is never sent on elsewhere
    )
    with response:
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                return response.status_code, None
    try:
        value = json.loads(bytes(body))
    except ValueError:
        return response.status_code, None
    return response.status_code, value if isinstance(value, dict) else None


# Discovery ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str
    issuer: str = ""
    jwks_uri: str = ""
    revocation_endpoint: str = ""
    capabilities: frozenset[str] = frozenset()
    code_challenge_methods: frozenset[str] = frozenset()
    auth_methods: frozenset[str] | None = None  # None: the server did not say
    scopes_supported: frozenset[str] = frozenset()

    @property
    def supports_s256(self) -> bool:
        return "S256" in self.code_challenge_methods

    @property
    def scopes_v2(self) -> bool:
        """SMART 2 scopes: announced by `permission-v2`, or by a server that lists only v2 ones (Medplum)."""
        if "permission-v2" in self.capabilities:
            return True
        return V2_READ in self.scopes_supported and V1_READ not in self.scopes_supported

    @property
    def identifies_user(self) -> bool:
        """Whether an id_token can be checked: the keys to check it with, and the issuer it must name."""
        return bool(self.jwks_uri and self.issuer)

    def scope(self) -> str:
        """What the portal asks for: the patient chosen at sign-in, who signed in, a refresh token, read access."""
        parts = ["launch/patient"]
        if self.identifies_user:
            parts += ["openid", "fhirUser"]
        parts += ["offline_access", V2_READ if self.scopes_v2 else V1_READ]
        return " ".join(parts)

    def check_client(self, kind: str) -> None:
        if "launch-standalone" not in self.capabilities:
            raise SmartError(_("The health system does not offer the sign-in this portal uses (standalone launch)."))
        if not self.supports_s256:
            raise SmartError(_("The health system does not support the secure sign-in method (PKCE S256) we require."))
        method = AUTH_METHOD.get(ClientKind(kind))
        if CLIENT_CAPABILITY[ClientKind(kind)] not in self.capabilities or (
            method is not None and self.auth_methods is not None and method not in self.auth_methods
        ):
            raise SmartError(
                _("The health system does not accept this portal's registration. Please tell the portal's team.")
            )


def _string(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    return value if isinstance(value, str) else ""


def _strings(document: dict[str, Any], key: str) -> frozenset[str]:
    value = document.get(key)
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


def discover(fhir_base_url: str) -> SmartConfiguration:
    """The health system's SMART configuration; every endpoint the portal will reach is checked first."""
    base = fhir_base_url.rstrip("/")
    unanswered = _("The health system did not answer when we asked how to sign in there.")
    try:
        check_health_system_url(base)
        status, document = _call("GET", base + "/.well-known/smart-configuration")
    except UnsafeURLError as error:
        raise SmartError(_("The health system's address cannot be used: %(reason)s") % {"reason": error}) from error
    except requests.RequestException as error:
        raise TemporaryError(unanswered) from error
    if status != 200 or document is None:
        raise TemporaryError(unanswered) if status >= 500 else SmartError(unanswered)
    configuration = SmartConfiguration(
        authorization_endpoint=_string(document, "authorization_endpoint"),
        token_endpoint=_string(document, "token_endpoint"),
        issuer=_string(document, "issuer"),
        jwks_uri=_string(document, "jwks_uri"),
        revocation_endpoint=_string(document, "revocation_endpoint"),
        capabilities=_strings(document, "capabilities"),
        code_challenge_methods=_strings(document, "code_challenge_methods_supported"),
        auth_methods=_strings(document, "token_endpoint_auth_methods_supported")
        if "token_endpoint_auth_methods_supported" in document
        else None,
        scopes_supported=_strings(document, "scopes_supported"),
    )
    if not configuration.authorization_endpoint or not configuration.token_endpoint:
        raise SmartError(_("The health system's sign-in information is incomplete."))
    try:
        check_url_shape(configuration.authorization_endpoint)  # the browser goes there, not the portal
        for url in (configuration.token_endpoint, configuration.jwks_uri, configuration.revocation_endpoint):
            if url:
                check_health_system_url(url)
    except UnsafeURLError as error:
        raise SmartError(
            _("The health system's sign-in addresses cannot be used: %(reason)s") % {"reason": error}
        ) from error
    return configuration


# The portal as a client --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    key: RSAKey | ECKey
    algorithm: str
    kid: str


@functools.lru_cache(maxsize=2)
def _load_signing_key(pem: str) -> SigningKey:
    try:
        private = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured("SMART_CLIENT_PRIVATE_KEY is not a PEM private key without a password.") from error
    if isinstance(private, rsa.RSAPrivateKey) and private.key_size >= 2048:
        key: RSAKey | ECKey = RSAKey.import_key(pem)
        algorithm = "RS384"
    elif isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp384r1":
        key = ECKey.import_key(pem)
        algorithm = "ES384"
    else:
        raise ImproperlyConfigured(
            "SMART_CLIENT_PRIVATE_KEY must be RSA (2048 bits or more) or EC P-384 (SMART's RS384, ES384)."
        )
    return SigningKey(key=key, algorithm=algorithm, kid=key.thumbprint())


def signing_key() -> SigningKey | None:
    """The portal's key for private_key_jwt, from SMART_CLIENT_PRIVATE_KEY (None when there is none)."""
    pem = settings.SMART_CLIENT_PRIVATE_KEY
    return _load_signing_key(pem) if pem else None


def portal_jwks() -> dict[str, Any]:
    """The public half of the portal's signing key, as a JWK Set (served at /.well-known/jwks.json)."""
    key = signing_key()
    if key is None:
        return {"keys": []}
    public = key.key.as_dict(private=False)
    return {"keys": [{**public, "kid": key.kid, "alg": key.algorithm, "use": "sig"}]}


@dataclass(frozen=True)
class ClientAuth:
    """How the portal proves itself at one health system's token and revocation endpoints."""

    client_id: str
    kind: str = ClientKind.PUBLIC
    secret: str = field(default="", repr=False)

    @classmethod
    def for_system(cls, system: HealthSystem) -> ClientAuth:
        kind = ClientKind(system.client_kind or ClientKind.PUBLIC)
        if kind == ClientKind.SECRET and not system.client_secret:
            raise SmartError(_("This health system's registration is incomplete here. Please tell the portal's team."))
        if kind == ClientKind.PRIVATE_KEY_JWT and not settings.SMART_CLIENT_PRIVATE_KEY:
            raise SmartError(_("This health system's registration is incomplete here. Please tell the portal's team."))
        return cls(client_id=system.client_id, kind=kind, secret=system.client_secret or "")

    def apply(self, form: dict[str, str], audience: str) -> dict[str, str]:
        """The headers that prove the client (and adds to the form what it needs)."""
        if self.kind == ClientKind.SECRET:
            # RFC 6749 section 2.3.1: both parts form-encoded before they are joined.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self.secret)}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        form["client_id"] = self.client_id
        if self.kind == ClientKind.PRIVATE_KEY_JWT:
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = client_assertion(self.client_id, audience)
        return {}


def client_assertion(client_id: str, audience: str) -> str:
    """A signed JWT that proves the portal holds its key (RFC 7523, as SMART's asymmetric client auth asks)."""
    key = signing_key()
    if key is None:
        raise SmartError(_("This health system's registration is incomplete here. Please tell the portal's team."))
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_SECONDS,
        "jti": secrets.token_urlsafe(24),
    }
    header = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key.key, algorithms=[key.algorithm])


# Tokens -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    patient_id: str
    scope: str  # as granted (on a refresh: empty when the answer did not say, meaning unchanged)
    fhir_user: str = ""  # who signed in (Patient/123, RelatedPerson/9), from a checked id_token
    access_until: datetime | None = None  # when the access the person granted ends, if the server says


def _token_request(client: ClientAuth, token_endpoint: str, form: dict[str, str]) -> dict[str, Any]:
    """POSTs to the token endpoint with the client's proof; the answer, or the right kind of SmartError."""
    unreadable = _("The health system's answer to the sign-in could not be read.")
    try:
        check_health_system_url(token_endpoint)
        form = dict(form)
        headers = client.apply(form, token_endpoint)
        status, answer = _call("POST", token_endpoint, data=form, headers=headers)
    except UnsafeURLError as error:
        raise SmartError(
            _("The health system's sign-in addresses cannot be used: %(reason)s") % {"reason": error}
        ) from error
    except requests.RequestException as error:
        raise TemporaryError(_("The health system did not answer; we will try again later.")) from error
    if status == 200 and answer is not None:
        return answer
    if status >= 500 or status == 429:
        raise TemporaryError(_("The health system did not answer; we will try again later."))
    if 400 <= status < 500:
        refusal = Refusal.from_answer(answer)
        logger.info("SMART token request refused (HTTP %s, %s)", status, refusal.error or "no error code")
        raise SignInAgainError(_("The health system asks you to sign in again."), refusal=refusal)
    raise SmartError(unreadable)


def _normal_scope(value: str) -> str:
    seen: dict[str, None] = dict.fromkeys(value.split())
    return " ".join(seen)[:2000]


def _tokens(answer: dict[str, Any], *, requested_scope: str) -> Tokens:
    unreadable = _("The health system's answer to the sign-in could not be read.")
    access = answer.get("access_token")
    token_type = answer.get("token_type")
    if not isinstance(access, str) or not access or len(access) > MAX_TOKEN_CHARS:
        raise SmartError(unreadable)
    if token_type is not None and (not isinstance(token_type, str) or token_type.lower() != "bearer"):
        raise SmartError(unreadable)
    refresh = answer.get("refresh_token")
    if not isinstance(refresh, str) or len(refresh) > MAX_TOKEN_CHARS:
        refresh = ""
    expires_at = _in_seconds(answer.get("expires_in"))
    # Not in RFC 6749, but sent by servers that let the person choose how long access lasts.
    access_until = _in_seconds(answer.get("refresh_token_expires_in"))
    patient = answer.get("patient", "")
    if not isinstance(patient, str) or (patient and not FHIR_ID.fullmatch(patient)):
        raise SmartError(_("The health system did not say whose record was shared."))
    scope = answer.get("scope")
    granted = _normal_scope(scope) if isinstance(scope, str) else requested_scope  # RFC 6749: absent means as asked
    return Tokens(access, refresh, expires_at, patient, granted, access_until=access_until)


def _in_seconds(value: object) -> datetime | None:
    """A number of seconds from now in a token answer (a number, or digits in a string), if it is a sane one."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 10 * 365 * 86400:
        return timezone.now() + timedelta(seconds=value)
    return None


def _fetch_keys(jwks_uri: str) -> KeySet:
    try:
        status, document = _call("GET", jwks_uri)
    except requests.RequestException as error:
        raise TemporaryError(_("The health system did not answer when finishing the sign-in.")) from error
    keys = (document or {}).get("keys")
    usable = [
        key
        for key in (keys if isinstance(keys, list) else [])
        if isinstance(key, dict) and key.get("kty") in ("RSA", "EC") and key.get("use", "sig") == "sig"
    ]
    if status != 200 or not usable:
        raise SmartError(
            _("We could not check who signed in at the health system (its keys were not available). Please try again.")
        )
    try:
        return KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError, TypeError) as error:
        raise SmartError(
            _("We could not check who signed in at the health system (its keys were not available). Please try again.")
        ) from error


def verified_fhir_user(id_token: str, *, issuer: str, jwks_uri: str, client_id: str, nonce: str) -> str:
    """Checks the id_token (signature from the published keys, iss, aud, exp, iat, nonce) and returns fhirUser.

    fhirUser comes back as `Type/id` (empty when the token names none); anything wrong raises SmartError.
    """
    keys = _fetch_keys(jwks_uri)
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        claims = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS).claims
        registry.validate(claims)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        logger.info("SMART id_token refused: %s", type(error).__name__)
        raise SmartError(
            _("The health system's answer about who signed in was not valid, so it was not used. Please try again.")
        ) from error
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SmartError(
            _("The health system's answer about who signed in was not valid, so it was not used. Please try again.")
        )
    match = FHIR_USER.fullmatch(str(claims.get("fhirUser") or ""))
    return f"{match[1]}/{match[2]}" if match else ""


# The sign-in --------------------------------------------------------------------------------------------


def _pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def start(*, system: HealthSystem, redirect_uri: str) -> tuple[str, dict[str, str]]:
    """The URL to send the person to, and what to keep (server-side, in the session) until they come back."""
    client = ClientAuth.for_system(system)
    configuration = discover(system.fhir_base_url)
    configuration.check_client(client.kind)
    base = system.fhir_base_url.rstrip("/")
    scope = configuration.scope()
    pending = {
        "state": secrets.token_urlsafe(32),
        "code_verifier": secrets.token_urlsafe(64),
        "nonce": secrets.token_urlsafe(32) if configuration.identifies_user else "",
        "redirect_uri": redirect_uri,
        "scope": scope,
        "fhir_base_url": base,
        "issuer": configuration.issuer,
        "token_endpoint": configuration.token_endpoint,
        "jwks_uri": configuration.jwks_uri,
        "revocation_endpoint": configuration.revocation_endpoint,
    }
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": pending["state"],
        "aud": base,
        "code_challenge": _pkce_challenge(pending["code_verifier"]),
        "code_challenge_method": "S256",
    }
    if pending["nonce"]:
        params["nonce"] = pending["nonce"]
    target = urlsplit(configuration.authorization_endpoint)
    kept = [(k, v) for k, v in parse_qsl(target.query, keep_blank_values=True) if k not in params]
    return urlunsplit(target._replace(query=urlencode([*kept, *params.items()]))), pending


def finish(*, system: HealthSystem, pending: dict[str, str], callback_url: str) -> Tokens:
    """Checks the answer, exchanges the code (with the PKCE verifier) and checks who signed in."""
    query = dict(parse_qsl(urlsplit(callback_url).query))
    if query.get("error"):
        raise SmartError(_("Sign-in at the health system was cancelled or refused."))
    unfinished = _("The sign-in could not be finished. Please try connecting again.")
    if not secrets.compare_digest(query.get("state", "").encode(), pending["state"].encode()) or not query.get("code"):
        raise SmartError(unfinished)
    if "iss" in query and pending["issuer"] and query["iss"] != pending["issuer"]:
        raise SmartError(unfinished)  # RFC 9207: the answer came from another server than the one asked
    client = ClientAuth.for_system(system)
    form = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": pending["redirect_uri"],
        "code_verifier": pending["code_verifier"],
    }
    try:
        answer = _token_request(client, pending["token_endpoint"], form)
    except SignInAgainError as error:
        raise SmartError(unfinished, refusal=error.refusal) from error
    except TemporaryError as error:
        raise TemporaryError(_("The health system did not answer when finishing the sign-in.")) from error
    tokens = _tokens(answer, requested_scope=pending["scope"])
    if not tokens.patient_id:
        raise SmartError(_("The health system did not say whose record was shared."))
    id_token = answer.get("id_token")
    if pending["nonce"] and isinstance(id_token, str) and id_token:
        fhir_user = verified_fhir_user(
            id_token,
            issuer=pending["issuer"],
            jwks_uri=pending["jwks_uri"],
            client_id=client.client_id,
            nonce=pending["nonce"],
        )
        tokens = replace(tokens, fhir_user=fhir_user)
    return tokens


def refresh(
    *,
    fhir_base_url: str,
    token_endpoint: str,
    client_id: str,
    refresh_token: str,
    system: HealthSystem | None = None,
) -> Tokens:
    """A new access token from the refresh token.

    Raises SignInAgainError when the health system refuses (its words in `.refusal`), TemporaryError
    when it does not answer or answers 5xx or 429, SmartError when its answer cannot be read.
    `system` gives the client's proof for a confidential client (without it: a public client).
    """
    client = ClientAuth.for_system(system) if system is not None else ClientAuth(client_id=client_id)
    answer = _token_request(client, token_endpoint, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    return _tokens(answer, requested_scope="")


def revoke(
    *, system: HealthSystem, revocation_endpoint: str, token_endpoint: str, tokens: Sequence[tuple[str, str]]
) -> bool:
    """Asks the health system to revoke these (token, type hint) pairs (RFC 7009); True when it confirmed each.

    The refresh token goes first: revoking it ends the access tokens of the same grant on most servers.
    """
    if not revocation_endpoint:
        return False
    try:
        client = ClientAuth.for_system(system)
        check_health_system_url(revocation_endpoint)
        for token, hint in tokens:
            if not token:
                continue
            form = {"token": token, "token_type_hint": hint}
            # The client assertion names the authorization server by its token endpoint (RFC 7523 section 3).
            headers = client.apply(form, token_endpoint or revocation_endpoint)
            status, _answer = _call("POST", revocation_endpoint, data=form, headers=headers)
            if status != 200:
                logger.info("SMART revocation refused (HTTP %s)", status)
                return False
    except (SmartError, UnsafeURLError, requests.RequestException) as error:
        logger.info("SMART revocation failed: %s", type(error).__name__)
        return False
    return True
