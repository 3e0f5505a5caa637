"""SMART sign-in against the sandbox as real servers and hostile ones behave: the same patient, the scope
asked and granted, the id_token, confidential clients, refusals and revocation."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client
from django.urls import reverse

from accounts.actors import actor_for
from accounts.models import AuditEvent
from fhir_sandbox.server import RunningSandbox
from records import smart
from records.actions import DifferentPersonError, save_connection
from records.models import ClientKind, Connection, ConnectionStatus, FhirResource, HealthSystem
from records.sync import sync_connection
from tests.conftest import World, sign_in
from tests.records.clinic import PATIENT, TOTAL
from tests.records.smart_sign_in import clinic_system, smart_sandbox, start_sign_in
from tests.records.smart_sign_in import sign_in as sign_in_at

V2_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"


@pytest.fixture
def sandbox(tmp_path: Path, settings: Any) -> Iterator[RunningSandbox]:
    settings.FHIR_PAGE_SIZE = 50
    running = smart_sandbox(
        tmp_path,
        {
            "client_id": "portal-secret",
            "client_secret": "s3 cr+et/=",
            "redirect_uris": ["http://testserver/records/callback/"],
        },
    )
    yield running
    running.stop()


@pytest.fixture
def alex(client: Client, world: World) -> Client:
    return sign_in(client, world, "patient")


def get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def shown(client: Client, response: Any) -> str:
    """The page a redirect lands on, with its messages."""
    return str(client.get(response["Location"]).content.decode())


def stored(connection: Connection) -> set[tuple[str, str]]:
    return set(FhirResource.objects.filter(source=connection.source).values_list("resource_type", "resource_id"))


def connection_of(world: World) -> Connection:
    return Connection.objects.get(source__patient=world.patient_record)


# 1. Signing in again must bring back the same patient ------------------------------------------------------


def test_signing_in_again_as_someone_else_is_refused_and_changes_nothing(
    alex: Client, world: World, sandbox: RunningSandbox, eager_tasks: None
) -> None:
    system = clinic_system(sandbox)
    sign_in_at(alex, system, PATIENT, run_tasks=True)
    before = connection_of(world)
    assert before.cursors
    assert before.fhir_user == f"Patient/{PATIENT}"
    resources = stored(before)
    assert len(resources) == TOTAL

    response = sign_in_at(alex, system, "pat-2", run_tasks=True)
    assert response.status_code == 302
    page = shown(alex, response)
    assert "You signed in as someone else at Test Clinic; this connection is for Alex Rivera&#x27;s records." in page
    after = connection_of(world)
    for name in (
        "fhir_patient_id",
        "fhir_user",
        "access_token",
        "refresh_token",
        "token_expires_at",
        "scope",
        "cursors",
    ):
        assert getattr(after, name) == getattr(before, name), name
    assert after.status == ConnectionStatus.ACTIVE
    assert stored(after) == resources
    assert not FhirResource.objects.filter(resource_id__startswith="pat-2").exists()
    assert AuditEvent.objects.filter(
        action="records.reauthorization_refused", subject_patient=world.patient_record
    ).exists()
    # The refused sign-in's tokens were revoked at the health system; the connection's own still work.
    assert sandbox.systems["clinic"].routes["revoke"] == 2
    assert get(f"{sandbox.fhir_base('clinic')}/Patient/{PATIENT}", after.access_token) == 200


def test_signing_in_again_as_the_same_patient_renews_the_tokens_and_keeps_the_cursors(
    alex: Client, world: World, sandbox: RunningSandbox, eager_tasks: None
) -> None:
    system = clinic_system(sandbox)
    sign_in_at(alex, system, PATIENT, run_tasks=True)
    before = connection_of(world)
    sandbox.switches("clinic", revoke_refresh_tokens=True)
    Connection.objects.filter(pk=before.pk).update(status=ConnectionStatus.NEEDS_REAUTHORIZATION, refusal_error="x")
    response = sign_in_at(alex, system, PATIENT)
    assert response["Location"] == reverse("records:connection", args=[before.pk])
    after = connection_of(world)
    assert after.status == ConnectionStatus.ACTIVE
    assert after.refusal_error == ""
    assert after.access_token != before.access_token
    assert after.cursors == before.cursors
    assert AuditEvent.objects.filter(action="records.reauthorized").exists()


def test_a_different_account_for_the_same_patient_is_refused(world: World) -> None:
    system = HealthSystem.objects.create(name="Elsewhere", fhir_base_url="https://fhir.elsewhere.example/r4")
    actor = actor_for(world.user("patient"))
    first = smart.Tokens("a1", "r1", None, "p1", "patient/*.rs", fhir_user="Patient/p1")
    arguments = {"actor": actor, "patient": world.patient_record, "system": system, "token_endpoint": ""}
    connection = save_connection(tokens=first, **arguments)
    with pytest.raises(DifferentPersonError, match="with a different account than the one this connection was made"):
        save_connection(tokens=replace(first, access_token="a2", fhir_user="RelatedPerson/r9"), **arguments)
    connection.refresh_from_db()
    assert (connection.access_token, connection.fhir_user) == ("a1", "Patient/p1")
    # Without an id_token the patient alone decides, and who signed in first stays on record.
    save_connection(tokens=replace(first, access_token="a3", fhir_user=""), **arguments)
    connection.refresh_from_db()
    assert (connection.access_token, connection.fhir_user) == ("a3", "Patient/p1")


def test_after_disconnecting_with_the_records_deleted_anyone_may_be_connected(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    system = clinic_system(sandbox)
    sign_in_at(alex, system, PATIENT)
    connection = connection_of(world)
    alex.post(reverse("records:disconnect", args=[connection.pk]), {"records": "delete"})
    connection.refresh_from_db()
    assert (connection.fhir_patient_id, connection.cursors) == ("", {})
    sign_in_at(alex, system, "pat-2")
    connection.refresh_from_db()
    assert (connection.fhir_patient_id, connection.status) == ("pat-2", ConnectionStatus.ACTIVE)


def test_after_disconnecting_with_the_records_kept_it_must_still_be_the_same_patient(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    system = clinic_system(sandbox)
    sign_in_at(alex, system, PATIENT)
    connection = connection_of(world)
    alex.post(reverse("records:disconnect", args=[connection.pk]), {"records": "keep"})
    response = sign_in_at(alex, system, "pat-2")
    assert "You signed in as someone else" in shown(alex, response)
    connection.refresh_from_db()
    assert (connection.fhir_patient_id, connection.status) == (PATIENT, ConnectionStatus.DISCONNECTED)


# 10. The scope: built once, v2 where offered, the granted one stored; the id_token checked -------------------


def requested_scope(alex: Client, system: Any) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start_sign_in(alex, system)).query))


def test_the_scope_asked_for_is_built_once_with_v2_scopes_where_offered(alex: Client, sandbox: RunningSandbox) -> None:
    system = clinic_system(sandbox)
    query = requested_scope(alex, system)
    assert query["scope"] == V2_SCOPE
    assert query["nonce"]
    sandbox.switches("clinic", discovery_v1_only=True)
    assert requested_scope(alex, system)["scope"] == "launch/patient openid fhirUser offline_access patient/*.read"
    sandbox.switches("clinic", discovery_v1_only=False, discovery_without_jwks=True)
    query = requested_scope(alex, system)
    assert query["scope"] == "launch/patient offline_access patient/*.rs"  # nothing to check an id_token with
    assert "nonce" not in query


def test_a_v1_only_server_is_connected_with_v1_scopes(alex: Client, world: World, sandbox: RunningSandbox) -> None:
    sandbox.switches("clinic", discovery_v1_only=True)
    sign_in_at(alex, clinic_system(sandbox), PATIENT)
    assert connection_of(world).scope == "launch/patient openid fhirUser offline_access patient/*.read"


def test_the_scope_stored_is_the_one_granted(alex: Client, world: World, sandbox: RunningSandbox) -> None:
    sandbox.switches("clinic", granted_scope="patient/Patient.rs patient/Observation.rs")
    sign_in_at(alex, clinic_system(sandbox), PATIENT)
    granted = "launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs"
    assert connection_of(world).scope == granted


@pytest.mark.parametrize("fault", ["wrong_key", "wrong_aud", "wrong_iss", "expired", "wrong_nonce"])
def test_an_id_token_that_does_not_check_out_refuses_the_sign_in(
    alex: Client, world: World, sandbox: RunningSandbox, fault: str
) -> None:
    sandbox.switches("clinic", id_token_fault=fault)
    response = sign_in_at(alex, clinic_system(sandbox), PATIENT)
    assert "answer about who signed in was not valid" in shown(alex, response)
    assert not Connection.objects.filter(source__patient=world.patient_record).exists()


# 8. A refused refresh asks the person to sign in again; an outage is temporary ------------------------------


def connected(alex: Client, world: World, sandbox: RunningSandbox, **fields: Any) -> Connection:
    sign_in_at(alex, clinic_system(sandbox, **fields), PATIENT)
    return connection_of(world)


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_refresh_asks_to_sign_in_again_and_keeps_the_servers_words(
    alex: Client, world: World, sandbox: RunningSandbox, status: int
) -> None:
    connection = connected(alex, world, sandbox)
    sandbox.switches("clinic", revoke_refresh_tokens=True, expire_tokens=True, invalid_grant_status=status)
    with pytest.raises(smart.SignInAgainError, match="asks you to sign in again") as refused:
        smart.refresh(
            fhir_base_url=connection.health_system.fhir_base_url,
            token_endpoint=connection.token_endpoint,
            client_id="portal-test",
            refresh_token=connection.refresh_token,
            system=connection.health_system,
        )
    assert refused.value.refusal.error == "invalid_grant"
    assert "refresh token" in refused.value.refusal.description
    assert refused.value.refusal.uri.startswith("https://")

    sync_connection(connection.pk)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION
    assert connection.status_detail == "The health system asks you to sign in again."
    assert connection.refusal_error == "invalid_grant"
    assert "refresh token" in connection.refusal_description


def test_an_outage_of_the_token_endpoint_is_temporary(alex: Client, world: World, sandbox: RunningSandbox) -> None:
    connection = connected(alex, world, sandbox)
    sandbox.switches("clinic", token_5xx_next=1)
    arguments = {
        "fhir_base_url": connection.health_system.fhir_base_url,
        "token_endpoint": connection.token_endpoint,
        "client_id": "portal-test",
        "refresh_token": connection.refresh_token,
    }
    with pytest.raises(smart.TemporaryError):
        smart.refresh(**arguments)
    with pytest.raises(smart.TemporaryError):
        smart.refresh(**(arguments | {"token_endpoint": "http://127.0.0.1:9/auth/token"}))  # nobody answers
    sandbox.switches("clinic", expire_tokens=True, token_5xx_next=1)
    sync_connection(connection.pk)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE  # the next sync tries again


def test_refusal_words_are_cleaned_and_capped() -> None:
    refusal = smart.Refusal.from_answer(
        {
            "error": "invalid_grant\x00<script>",
            "error_description": 'Token "expired"\n\t' + "x" * 1000,
            "error_uri": "javascript:alert(1)",
        }
    )
    assert refusal.error == "invalid_grant <script>"  # the page escapes it like any text
    assert refusal.description.startswith("Token expired x")
    assert len(refusal.description) == 300
    assert refusal.uri == ""


# 9. Disconnecting revokes the tokens at the health system ----------------------------------------------------


def test_disconnecting_revokes_the_tokens_at_the_health_system(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    connection = connected(alex, world, sandbox)
    assert connection.revocation_endpoint == f"{sandbox.url}/clinic/auth/revoke"
    access, refresh = connection.access_token, connection.refresh_token
    assert get(f"{sandbox.fhir_base('clinic')}/Patient/{PATIENT}", access) == 200
    page = alex.post(reverse("records:disconnect", args=[connection.pk]), {"records": "keep"}, follow=True)
    assert "Test Clinic has ended this portal&#x27;s access." in page.content.decode()
    assert get(f"{sandbox.fhir_base('clinic')}/Patient/{PATIENT}", access) == 401
    assert refresh not in sandbox.systems["clinic"].refresh
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token) == ("", "")
    event = AuditEvent.objects.filter(action="records.disconnected").latest("pk")
    assert event.detail["revocation"] == "requested"


def test_a_failed_revocation_is_shown_and_the_tokens_are_forgotten_here_anyway(
    alex: Client, world: World, sandbox: RunningSandbox
) -> None:
    connection = connected(alex, world, sandbox)
    access = connection.access_token
    sandbox.switches("clinic", revocation_fails=True)
    page = alex.post(reverse("records:disconnect", args=[connection.pk]), {"records": "keep"}, follow=True)
    assert "We could not get Test Clinic to end this portal&#x27;s access." in page.content.decode()
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token, connection.status) == (
        "",
        "",
        ConnectionStatus.DISCONNECTED,
    )
    assert get(f"{sandbox.fhir_base('clinic')}/Patient/{PATIENT}", access) == 200


def test_a_health_system_without_revocation_is_said_so(alex: Client, world: World, sandbox: RunningSandbox) -> None:
    sandbox.switches("clinic", discovery_without_revocation=True)
    connection = connected(alex, world, sandbox)
    assert connection.revocation_endpoint == ""
    page = alex.post(reverse("records:disconnect", args=[connection.pk]), {"records": "keep"}, follow=True)
    assert "Test Clinic offers apps no way to end their access themselves." in page.content.decode()


# 11. Discovery's capabilities; confidential clients -----------------------------------------------------------


def test_client_secret_basic(alex: Client, world: World, sandbox: RunningSandbox) -> None:
    fields = {"client_id": "portal-secret", "client_kind": ClientKind.SECRET, "client_secret": "s3 cr+et/="}
    connection = connected(alex, world, sandbox, **fields)
    assert connection.status == ConnectionStatus.ACTIVE
    tokens = smart.refresh(
        fhir_base_url=connection.health_system.fhir_base_url,
        token_endpoint=connection.token_endpoint,
        client_id="portal-secret",
        refresh_token=connection.refresh_token,
        system=connection.health_system,
    )
    assert tokens.access_token


def test_a_wrong_client_secret_is_refused(alex: Client, world: World, sandbox: RunningSandbox) -> None:
    system = clinic_system(sandbox, client_id="portal-secret", client_kind=ClientKind.SECRET, client_secret="wrong")
    response = sign_in_at(alex, system, PATIENT)
    assert "The sign-in could not be finished" in shown(alex, response)
    assert not Connection.objects.filter(source__patient=world.patient_record).exists()


def private_pem(kind: str) -> str:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "RSA"
        else ec.generate_private_key(ec.SECP384R1())
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize("kind", ["RSA", "EC"])
def test_private_key_jwt_with_the_key_registered_at_the_health_system(
    alex: Client, world: World, tmp_path: Path, settings: Any, kind: str
) -> None:
    settings.SMART_CLIENT_PRIVATE_KEY = private_pem(kind)
    registered = {"client_id": "portal-jwt", "redirect_uris": ["http://testserver/records/callback/"]}
    with smart_sandbox(tmp_path, registered | {"jwks": smart.portal_jwks()}) as sandbox:
        fields = {"client_id": "portal-jwt", "client_kind": ClientKind.PRIVATE_KEY_JWT}
        connection = connected(alex, world, sandbox, **fields)
        assert connection.status == ConnectionStatus.ACTIVE
        renewed = smart.refresh(
            fhir_base_url=connection.health_system.fhir_base_url,
            token_endpoint=connection.token_endpoint,
            client_id="portal-jwt",
            refresh_token=connection.refresh_token,
            system=connection.health_system,
        )
        assert renewed.access_token
        # Another key than the one registered: refused.
        settings.SMART_CLIENT_PRIVATE_KEY = private_pem(kind)
        with pytest.raises(smart.SignInAgainError) as refused:
            smart.refresh(
                fhir_base_url=connection.health_system.fhir_base_url,
                token_endpoint=connection.token_endpoint,
                client_id="portal-jwt",
                refresh_token=renewed.refresh_token,
                system=connection.health_system,
            )
        assert refused.value.refusal.error == "invalid_client"


@pytest.mark.django_db(transaction=True)
def test_private_key_jwt_with_the_health_system_reading_the_portals_jwks(
    client: Client, world: World, tmp_path: Path, settings: Any, live_server: Any
) -> None:
    settings.SMART_CLIENT_PRIVATE_KEY = private_pem("RSA")
    published = json.loads(urllib.request.urlopen(f"{live_server.url}/.well-known/jwks.json", timeout=5).read())
    assert published == smart.portal_jwks()
    assert "d" not in published["keys"][0]
    registered = {"client_id": "portal-jwt", "redirect_uris": ["http://testserver/records/callback/"]}
    with smart_sandbox(tmp_path, registered | {"jwks_uri": f"{live_server.url}/.well-known/jwks.json"}) as sandbox:
        alex = sign_in(client, world, "patient")
        connection = connected(alex, world, sandbox, client_id="portal-jwt", client_kind=ClientKind.PRIVATE_KEY_JWT)
        assert connection.status == ConnectionStatus.ACTIVE


def test_private_key_jwt_without_a_key_here_is_explained(
    alex: Client, world: World, sandbox: RunningSandbox, settings: Any
) -> None:
    settings.SMART_CLIENT_PRIVATE_KEY = ""
    system = clinic_system(sandbox, client_kind=ClientKind.PRIVATE_KEY_JWT)
    page = alex.post(reverse("records:connect", args=[system.pk]), follow=True).content.decode()
    assert "registration is incomplete here" in page


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"capabilities": ["client-public"]}, "standalone launch"),
        ({"code_challenge_methods_supported": ["plain"]}, "PKCE S256"),
        ({"capabilities": ["launch-standalone", "client-confidential-symmetric"]}, "registration"),
    ],
)
def test_discovery_must_offer_what_the_portal_needs(document: dict[str, Any], why: str) -> None:
    base = {
        "capabilities": ["launch-standalone", "client-public"],
        "code_challenge_methods_supported": ["S256"],
    }
    merged = base | document
    configuration = smart.SmartConfiguration(
        authorization_endpoint="https://ehr.example/authorize",
        token_endpoint="https://ehr.example/token",
        capabilities=frozenset(merged["capabilities"]),
        code_challenge_methods=frozenset(merged["code_challenge_methods_supported"]),
    )
    with pytest.raises(smart.SmartError, match=why):
        configuration.check_client(ClientKind.PUBLIC)


def test_a_server_listing_only_v2_scopes_gets_v2_scopes() -> None:
    medplum_like = smart.SmartConfiguration(
        authorization_endpoint="https://ehr.example/authorize",
        token_endpoint="https://ehr.example/token",
        scopes_supported=frozenset({"patient/*.rs", "openid", "offline_access"}),
    )
    assert medplum_like.scope() == "launch/patient offline_access patient/*.rs"
