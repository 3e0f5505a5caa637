"""SMART App Launch (standalone, authorization code with PKCE S256) around fhirclient.

fhirclient 4.4.0 does the OAuth dance (state, PKCE, the code exchange, the
refresh) but finds endpoints only in the CapabilityStatement, sets no request
timeout and has no retry. So: discovery comes first from
`.well-known/smart-configuration` (what SMART requires), the endpoints are
handed to fhirclient through its saved state, and every request it makes goes
through a session with a timeout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from fhirclient import client as fhir_client

logger = logging.getLogger(__name__)

# Patient-level read access and a refresh token, for a standalone launch that picks the patient.
SCOPE = "launch/patient openid fhirUser offline_access patient/*.read"


class SmartError(Exception):
    """The health system's authorization did not work; the message is fit to show (no health data)."""


@dataclass(frozen=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str
    supports_s256: bool


class TimeoutSession(requests.Session):
    """Every request has a timeout (fhirclient sets none, and a silent health system must not hang a worker)."""

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", settings.FHIR_HTTP_TIMEOUT_SECONDS)
        return super().request(method, url, *args, **kwargs)


def _session() -> requests.Session:
    return TimeoutSession()


def discover(fhir_base_url: str) -> SmartConfiguration:
    url = fhir_base_url.rstrip("/") + "/.well-known/smart-configuration"
    try:
        response = _session().get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SmartError("The health system did not answer its sign-in discovery request.") from error
    try:
        configuration = SmartConfiguration(
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            supports_s256="S256" in (document.get("code_challenge_methods_supported") or []),
        )
    except (KeyError, TypeError) as error:
        raise SmartError("The health system's sign-in discovery document is incomplete.") from error
    if not configuration.supports_s256:
        raise SmartError("The health system does not support the secure sign-in method (PKCE S256) we require.")
    return configuration


def _client(state: dict[str, Any]) -> fhir_client.FHIRClient:
    client = fhir_client.FHIRClient(state=state)
    client.server.session = _session()
    return client


def start(*, fhir_base_url: str, client_id: str, redirect_uri: str) -> tuple[str, dict[str, Any]]:
    """The URL to send the person to, and the state to keep (server-side) until they come back."""
    configuration = discover(fhir_base_url)
    base = fhir_base_url.rstrip("/")
    state = {
        "app_id": client_id,
        "scope": SCOPE,
        "redirect": redirect_uri,
        "server": {
            "base_uri": base + "/",
            "auth_type": "oauth2",
            "auth": {
                "app_id": client_id,
                "aud": base,
                "authorize_uri": configuration.authorization_endpoint,
                "token_uri": configuration.token_endpoint,
                "redirect_uri": redirect_uri,
            },
        },
    }
    client = _client(state)
    url = client.authorize_url  # creates the state value and the PKCE verifier
    return url, client.state


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    patient_id: str
    scope: str


def _tokens(client: fhir_client.FHIRClient, returned: dict[str, Any] | None = None) -> Tokens:
    auth = client.server.auth
    expires_at = None
    if auth.expires_at is not None:  # fhirclient keeps a naive local time; carry the remaining span over
        expires_at = timezone.now() + (auth.expires_at - datetime.now())
    return Tokens(
        access_token=auth.access_token or "",
        refresh_token=auth.refresh_token or "",
        expires_at=expires_at,
        patient_id=str(client.patient_id or (returned or {}).get("patient") or ""),
        scope=str((returned or {}).get("scope") or client.scope or ""),
    )


def finish(*, state: dict[str, Any], callback_url: str) -> Tokens:
    """Checks the state and exchanges the code (with the PKCE verifier) for tokens."""
    query = dict(parse_qsl(urlsplit(callback_url).query))
    if query.get("error"):
        raise SmartError("Sign-in at the health system was cancelled or refused.")
    client = _client(state)
    try:
        client.handle_callback(callback_url)
    except requests.RequestException as error:
        raise SmartError("The health system did not answer when finishing the sign-in.") from error
    except Exception as error:
        logger.info("SMART callback refused: %s", type(error).__name__)
        raise SmartError("The sign-in could not be finished. Please try connecting again.") from error
    tokens = _tokens(client)
    if not tokens.access_token or not tokens.patient_id:
        raise SmartError("The health system did not say whose record was shared.")
    return tokens


def refresh(*, fhir_base_url: str, token_endpoint: str, client_id: str, refresh_token: str) -> Tokens:
    """A new access token from the refresh token (raises SmartError when the health system refuses)."""
    base = fhir_base_url.rstrip("/")
    client = _client(
        {
            "app_id": client_id,
            "scope": SCOPE,
            "server": {
                "base_uri": base + "/",
                "auth_type": "oauth2",
                "auth": {"app_id": client_id, "aud": base, "token_uri": token_endpoint, "refresh_token": refresh_token},
            },
        }
    )
    try:
        returned = client.server.reauthorize()
    except requests.HTTPError as error:
        raise SmartError("The health system refused to renew access; signing in again is needed.") from error
    except requests.RequestException as error:
        raise SmartError("The health system did not answer the token refresh.") from error
    except Exception as error:
        raise SmartError("The health system's token answer could not be read.") from error
    tokens = _tokens(client, returned)
    if not tokens.access_token:
        raise SmartError("The health system's token answer could not be read.")
    return tokens
