"""fhir_sandbox's sign-in side as an outside client sees it: discovery, id_tokens, client proofs, revocation.

Driven over real HTTP; the id_tokens are checked and the client assertions signed with joserfc,
the JOSE library the portal itself uses, so that the two sides agree on the standards, not on
each other's code.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from fhir_sandbox.server import RunningSandbox, start
from tests.sandbox.test_sandbox import (
    REDIRECT,
    admin,
    authorize_url,
    call,
    config_for,
    exchange,
    get_json,
    sign_in,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "portal-rsa"})
EC_KEY = ECKey.generate_key("P-384", parameters={"kid": "portal-ec"})
SECRET = "s3 cr+et/="  # characters that RFC 6749's form-encoding of Basic credentials changes


@pytest.fixture
def sandbox(data_dir: Path) -> Iterator[RunningSandbox]:
    """The shared sandbox (tests/sandbox/conftest.py) with a client of each confidential kind besides."""
    config = config_for(data_dir)
    config["systems"][0]["clients"] += [
        {"client_id": "jwt-app", "redirect_uris": [REDIRECT], "jwks": KeySet([RSA_KEY, EC_KEY]).as_dict(private=False)},
        {"client_id": "odd-secret", "client_secret": SECRET, "redirect_uris": [REDIRECT]},
    ]
    running = start(config)
    yield running
    running.stop()


def discovery(sandbox: RunningSandbox) -> dict[str, Any]:
    return dict(get_json(f"{sandbox.fhir_base('riverside')}/.well-known/smart-configuration"))


def signed_in(sandbox: RunningSandbox, **overrides: str) -> dict[str, Any]:
    code, verifier = sign_in(sandbox, **overrides)
    status, answer = exchange(sandbox, code, verifier)
    assert status == 200, answer
    return answer


def assertion(client_id: str, audience: str, key: RSAKey | ECKey = RSA_KEY, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": audience, "exp": now + 240, "jti": secrets.token_urlsafe(12)}
    algorithm = "RS384" if isinstance(key, RSAKey) else "ES384"
    return jwt.encode({"alg": algorithm, "kid": key.kid}, body | claims, key, algorithms=[algorithm])


def token_call(sandbox: RunningSandbox, form: dict[str, str], **headers: str) -> tuple[int, dict[str, Any]]:
    status, _, body = call("POST", f"{sandbox.url}/riverside/auth/token", form=form, headers=headers)
    return status, json.loads(body)


def revoke(sandbox: RunningSandbox, form: dict[str, str]) -> int:
    return call("POST", f"{sandbox.url}/riverside/auth/revoke", form=form)[0]


# --- Discovery -------------------------------------------------------------------------------------------


def test_discovery_names_the_issuer_keys_revocation_and_v2_scopes(sandbox: RunningSandbox) -> None:
    document = discovery(sandbox)
    root = f"{sandbox.url}/riverside"
    assert document["issuer"] == f"{root}/fhir"
    assert document["jwks_uri"] == f"{root}/auth/jwks"
    assert document["revocation_endpoint"] == f"{root}/auth/revoke"
    assert {"permission-v2", "client-confidential-asymmetric", "sso-openid-connect"} <= set(document["capabilities"])
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "patient/*.rs" in document["scopes_supported"]


def test_discovery_switches_play_a_server_with_fewer_features(sandbox: RunningSandbox) -> None:
    admin(
        sandbox,
        "riverside",
        "switches",
        {"discovery_v1_only": True, "discovery_without_jwks": True, "discovery_without_revocation": True},
    )
    document = discovery(sandbox)
    assert "permission-v2" not in document["capabilities"]
    assert "patient/*.rs" not in document["scopes_supported"]
    assert "jwks_uri" not in document
    assert "revocation_endpoint" not in document


def test_v2_scopes_are_accepted_and_a_v1_only_server_refuses_them(sandbox: RunningSandbox) -> None:
    answer = signed_in(sandbox, scope="launch/patient offline_access patient/*.rs")
    assert answer["scope"] == "launch/patient offline_access patient/*.rs"
    admin(sandbox, "riverside", "switches", {"discovery_v1_only": True})
    status, _, body = call("GET", authorize_url(sandbox, scope="launch/patient patient/*.rs")[0])
    assert status == 400
    assert "invalid_scope" in body.decode()
    status, _, body = call("GET", authorize_url(sandbox, scope="launch/patient patient/*.read")[0])
    assert status == 200


def test_a_scope_that_is_not_one_is_refused(sandbox: RunningSandbox) -> None:
    status, _, body = call("GET", authorize_url(sandbox, scope="launch/patient give-me-everything")[0])
    assert status == 400
    assert "invalid_scope" in body.decode()


# --- id_token ----------------------------------------------------------------------------------------------


def id_token_claims(sandbox: RunningSandbox, answer: dict[str, Any]) -> dict[str, Any]:
    keys = KeySet.import_key_set(get_json(discovery(sandbox)["jwks_uri"]))
    return dict(jwt.decode(answer["id_token"], keys, algorithms=["RS256"]).claims)


def test_the_id_token_is_signed_with_the_published_key_and_names_who_signed_in(sandbox: RunningSandbox) -> None:
    answer = signed_in(sandbox, nonce="nonce-1")
    claims = id_token_claims(sandbox, answer)
    assert claims["iss"] == discovery(sandbox)["issuer"]
    assert claims["aud"] == "portal-dev"
    assert claims["nonce"] == "nonce-1"
    assert claims["sub"] == "alice"
    assert claims["fhirUser"] == f"{sandbox.fhir_base('riverside')}/Patient/alice"
    assert claims["iat"] <= time.time() < claims["exp"]


def test_no_id_token_without_openid(sandbox: RunningSandbox) -> None:
    assert "id_token" not in signed_in(sandbox, scope="launch/patient patient/*.rs")


@pytest.mark.parametrize(
    ("fault", "claim"),
    [("wrong_aud", "aud"), ("wrong_iss", "iss"), ("wrong_nonce", "nonce"), ("expired", "exp")],
)
def test_id_token_faults_change_the_claim_they_name(sandbox: RunningSandbox, fault: str, claim: str) -> None:
    good = id_token_claims(sandbox, signed_in(sandbox, nonce="nonce-1"))
    admin(sandbox, "riverside", "switches", {"id_token_fault": fault})
    bad = id_token_claims(sandbox, signed_in(sandbox, nonce="nonce-1"))
    assert bad[claim] != good[claim]
    if fault == "expired":
        assert bad["exp"] < time.time()


def test_id_token_signed_with_a_key_nobody_published(sandbox: RunningSandbox) -> None:
    admin(sandbox, "riverside", "switches", {"id_token_fault": "wrong_key"})
    with pytest.raises(JoseError):
        id_token_claims(sandbox, signed_in(sandbox, nonce="nonce-1"))


def test_sign_in_switches_are_checked(sandbox: RunningSandbox) -> None:
    assert admin(sandbox, "riverside", "switches", {"id_token_fault": "bad"}, expect=400)["error"]
    assert admin(sandbox, "riverside", "switches", {"invalid_grant_status": 418}, expect=400)["error"]
    assert admin(sandbox, "riverside", "switches", {"token_5xx_next": -1}, expect=400)["error"]


# --- Refusals ------------------------------------------------------------------------------------------------


def refresh_form(answer: dict[str, Any]) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"], "client_id": "portal-dev"}


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_refresh_is_invalid_grant_with_its_words(sandbox: RunningSandbox, status: int) -> None:
    answer = signed_in(sandbox)
    admin(sandbox, "riverside", "switches", {"revoke_refresh_tokens": True, "invalid_grant_status": status})
    got, body = token_call(sandbox, refresh_form(answer))
    assert got == status
    assert body["error"] == "invalid_grant"
    assert body["error_description"]
    assert body["error_uri"].startswith("https://")


def test_the_token_endpoint_can_be_down_for_a_while(sandbox: RunningSandbox) -> None:
    answer = signed_in(sandbox)
    admin(sandbox, "riverside", "switches", {"token_5xx_next": 1})
    got, body = token_call(sandbox, refresh_form(answer))
    assert (got, body["error"]) == (503, "temporarily_unavailable")
    assert token_call(sandbox, refresh_form(answer))[0] == 200


# --- Revocation (RFC 7009) ---------------------------------------------------------------------------------


def test_revoking_the_access_token_ends_it(sandbox: RunningSandbox) -> None:
    answer = signed_in(sandbox)
    url = f"{sandbox.fhir_base('riverside')}/Patient/alice"
    assert call("GET", url, token=answer["access_token"])[0] == 200
    form = {"token": answer["access_token"], "token_type_hint": "access_token", "client_id": "portal-dev"}
    assert revoke(sandbox, form) == 200
    assert call("GET", url, token=answer["access_token"])[0] == 401
    assert revoke(sandbox, form) == 200  # an unknown token is answered 200 all the same


def test_revoking_the_refresh_token_ends_its_access_tokens_too(sandbox: RunningSandbox) -> None:
    answer = signed_in(sandbox)
    other = signed_in(sandbox)
    form = {"token": answer["refresh_token"], "token_type_hint": "refresh_token", "client_id": "portal-dev"}
    assert revoke(sandbox, form) == 200
    url = f"{sandbox.fhir_base('riverside')}/Patient/alice"
    assert call("GET", url, token=answer["access_token"])[0] == 401
    assert token_call(sandbox, refresh_form(answer))[1]["error"] == "invalid_grant"
    assert call("GET", url, token=other["access_token"])[0] == 200  # another sign-in's tokens stay


def test_revocation_refuses_another_clients_token_and_can_fail(sandbox: RunningSandbox) -> None:
    answer = signed_in(sandbox)
    basic = base64.b64encode(b"backend-app:s3cret").decode()
    status, _, _ = call(
        "POST",
        f"{sandbox.url}/riverside/auth/revoke",
        form={"token": answer["access_token"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert status == 400
    admin(sandbox, "riverside", "switches", {"revocation_fails": True})
    assert revoke(sandbox, {"token": answer["access_token"], "client_id": "portal-dev"}) == 503
    assert call("GET", f"{sandbox.fhir_base('riverside')}/Patient/alice", token=answer["access_token"])[0] == 200


# --- Confidential clients ------------------------------------------------------------------------------------


def test_client_secret_basic_is_form_encoded_before_it_is_joined(sandbox: RunningSandbox) -> None:
    code, verifier = sign_in(sandbox, client_id="odd-secret")
    pair = urlencode({"a": "odd-secret"})[2:] + ":" + urlencode({"a": SECRET})[2:]
    basic = base64.b64encode(pair.encode()).decode()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    status, body = token_call(sandbox, form, Authorization=f"Basic {basic}")
    assert status == 200, body


@pytest.mark.parametrize("key", [RSA_KEY, EC_KEY], ids=["RS384", "ES384"])
def test_private_key_jwt(sandbox: RunningSandbox, key: RSAKey | ECKey) -> None:
    token_url = f"{sandbox.url}/riverside/auth/token"
    code, verifier = sign_in(sandbox, client_id="jwt-app")
    proof = assertion("jwt-app", token_url, key)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": proof,
    }
    status, answer = token_call(sandbox, form)
    assert status == 200, answer
    # The same assertion twice is a replay.
    refresh = {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]}
    assert token_call(sandbox, refresh | {"client_assertion_type": ASSERTION_TYPE, "client_assertion": proof})[0] == 401
    fresh = assertion("jwt-app", token_url, key)
    status, renewed = token_call(
        sandbox, refresh | {"client_assertion_type": ASSERTION_TYPE, "client_assertion": fresh}
    )
    assert status == 200, renewed


@pytest.mark.parametrize(
    ("proof", "why"),
    [
        (lambda url: assertion("jwt-app", "https://elsewhere.example/token"), "aud"),
        (lambda url: assertion("jwt-app", url, exp=int(time.time()) + 3600), "exp"),
        (lambda url: assertion("jwt-app", url, sub="someone-else"), "iss and sub"),
        (
            lambda url: assertion("jwt-app", url, RSAKey.generate_key(2048, parameters={"kid": "portal-rsa"})),
            "signature",
        ),
        (lambda url: "", "client assertion"),
    ],
)
def test_private_key_jwt_refusals(sandbox: RunningSandbox, proof: Any, why: str) -> None:
    code, verifier = sign_in(sandbox, client_id="jwt-app")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": "jwt-app",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": proof(f"{sandbox.url}/riverside/auth/token"),
    }
    status, answer = token_call(sandbox, form)
    assert (status, answer["error"]) == (401, "invalid_client")
    assert why in answer["error_description"]
