"""Regression tests for what outside reviewers broke in the access layer, one section per finding.

Each test fails on the code the reviewers attacked; the authorization matrix
(test_authorization_matrix.py) then holds the same ground for every URL, method and persona.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from rest_framework.throttling import AnonRateThrottle

from accounts.actors import Scope
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from accounts.models.audit import Basis
from accounts.scoping import Desk
from proxy import actions
from proxy.access import AccessEndedError, grant_access, resolve_actor
from proxy.models import AccessRequest, GrantStatus, ProxyGrant
from tests.conftest import World, create_token_for, sign_in
from tests.factories import UserFactory


def _json(client: Client, method: str, url: str, body: dict[str, object], **headers: str) -> object:
    return client.generic(method, url, json.dumps(body), content_type="application/json", **headers)


def _lakeside_request(world: World, requester_persona: str = "stranger") -> AccessRequest:
    return AccessRequest.objects.create(
        requester=world.user(requester_persona),
        organization=world.org_other,
        patient_given_name="Alex",
        patient_family_name="Rivera",
        patient_birth_date=world.patient_record.birth_date,
        relationship="brother",
        legal_basis=Basis.POWER_OF_ATTORNEY,
        requested_scopes=sorted(Scope.ALL),
    )


# 1. Cross-tenant takeover, and admins approving their own requests ------------------------------------


def test_1_an_admin_cannot_approve_a_request_onto_another_organizations_patient(world: World) -> None:
    """Lakeside's admin names Alex (Riverside's patient) in the body: 404, and no grant exists."""
    access_request = _lakeside_request(world)
    _row, token = create_token_for(world.user("admin_other"))
    response = _json(
        Client(),
        "POST",
        reverse("api-review-approve", args=[access_request.pk]) + "?organization=lakeside",
        {"patient": str(world.patient_record.pk), "scopes": sorted(Scope.ALL)},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 404
    assert not ProxyGrant.objects.filter(patient=world.patient_record).exists()
    access_request.refresh_from_db()
    assert access_request.status == GrantStatus.PENDING


def test_1_the_web_form_cannot_be_made_to_name_another_organizations_patient(client: Client, world: World) -> None:
    access_request = _lakeside_request(world)
    sign_in(client, world, "admin_other")
    url = reverse("proxy:org_review", args=["lakeside", access_request.pk])
    response = client.post(
        url, {"decision": "approve", "patient": str(world.patient_record.pk), "scopes": [Scope.RECORDS]}
    )
    assert response.status_code == 200  # the choice is not offered: the form says so
    assert not ProxyGrant.objects.filter(patient=world.patient_record).exists()


def test_1_the_approval_itself_refuses_a_record_outside_the_desk(world: World) -> None:
    """Defence in depth: even handed an object, the action checks the desk's scope inside its transaction."""
    access_request = _lakeside_request(world)
    from accounts.actors import actor_for

    lakeside = actor_for(world.user("admin_other")).at_desk(Desk(world.org_other))
    with pytest.raises(actions.NotAllowedError):
        actions.approve_access_request(
            actor=lakeside,
            access_request=access_request,
            patient=world.patient_record,
            scopes=[Scope.RECORDS],
            expires_at=None,
        )
    assert not ProxyGrant.objects.filter(patient=world.patient_record).exists()


@pytest.mark.parametrize("surface", ["api", "web"])
def test_1_an_admin_cannot_decide_their_own_request(client: Client, world: World, surface: str) -> None:
    own = world.own_request
    assert own is not None
    if surface == "api":
        _row, token = create_token_for(world.user("admin_requester"))
        response = _json(
            Client(),
            "POST",
            reverse("api-review-approve", args=[own.pk]) + "?organization=riverside",
            {"patient": str(world.people["rosa"].pk), "scopes": [Scope.RECORDS]},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    else:
        sign_in(client, world, "admin_requester")
        page = client.get(reverse("proxy:org_review", args=["riverside", own.pk])).content.decode()
        assert "you cannot decide it" in page
        response = client.post(
            reverse("proxy:org_review", args=["riverside", own.pk]),
            {"decision": "approve", "patient": str(world.people["rosa"].pk), "scopes": [Scope.RECORDS]},
        )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.status == GrantStatus.PENDING
    assert not ProxyGrant.objects.filter(grantee=world.user("admin_requester")).exists()


def test_1_another_admin_of_the_desk_decides_it(client: Client, world: World) -> None:
    own = world.own_request
    assert own is not None
    sign_in(client, world, "org_admin")
    response = client.post(
        reverse("proxy:org_review", args=["riverside", own.pk]),
        {"decision": "approve", "patient": str(world.people["rosa"].pk), "scopes": [Scope.RECORDS]},
    )
    assert response.status_code == 302
    assert ProxyGrant.objects.get(grantee=world.user("admin_requester")).patient == world.people["rosa"]


# 2. A parent cannot lift the adolescent limits; a grantee gives only what it holds --------------------


def _invite_as(client: Client, email: str, scopes: list[str], **extra: object) -> object:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("proxy:invite"), {"email": email, "scopes": scopes, **extra})


def test_2_a_parents_invitation_for_a_teen_keeps_the_parent_basis_and_its_limits(world: World) -> None:
    """Acting for Theo (13), his parent invites a second account of theirs: it stays a parent's grant."""
    parent = Client()
    sign_in(parent, world, "parent_of_teen")
    assert _invite_as(parent, "second.account@example.test", [Scope.RECORDS]).status_code == 302
    grant = ProxyGrant.objects.get(invitation__email="second.account@example.test")
    assert grant.legal_basis == Basis.PARENT_OF_MINOR
    assert not grant.allows_sensitive

    second = UserFactory(email="second.account@example.test")
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    other = Client()
    other.force_login(second)
    assert other.post(link).status_code == 302
    grant.refresh_from_db()
    access = grant_access(grant)
    assert access is not None
    assert access.hide_sensitive  # confidential items stay hidden
    teen = world.people["teen"]
    eighteenth = teen.birth_date.replace(year=teen.birth_date.year + 18)
    at_eighteen = timezone.make_aware(timezone.datetime.combine(eighteenth, timezone.datetime.min.time()))
    assert grant_access(grant, at_eighteen + timedelta(days=1)) is None  # and it ends at 18


def test_2_a_parent_of_a_teen_cannot_offer_sensitive_items(client: Client, world: World) -> None:
    sign_in(client, world, "parent_of_teen")
    response = _invite_as(client, "someone@example.test", [Scope.RECORDS], allows_sensitive="on")
    assert response.status_code == 403
    assert not ProxyGrant.objects.filter(invitation__email="someone@example.test").exists()


def test_2_a_manage_only_grantee_cannot_give_what_it_does_not_hold(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_manager")
    response = _invite_as(client, "friend@example.test", [Scope.RECORDS])
    assert response.status_code == 403
    assert not ProxyGrant.objects.filter(invitation__email="friend@example.test").exists()
    # What it holds it may pass on.
    assert _invite_as(client, "friend@example.test", [Scope.MANAGE_PROXIES]).status_code == 302


@pytest.mark.parametrize("surface", ["web", "api"])
def test_2_nobody_edits_their_own_grant(client: Client, world: World, surface: str) -> None:
    own = world.grants["caregiver_manager"]
    sign_in(client, world, "caregiver_manager")
    if surface == "web":
        response = client.post(reverse("proxy:grant_edit", args=[own.pk]), {"scopes": sorted(Scope.ALL)})
    else:
        response = _json(client, "PATCH", reverse("api-grant", args=[own.pk]), {"scopes": sorted(Scope.ALL)})
    assert response.status_code == 404
    own.refresh_from_db()
    assert own.scopes == [Scope.MANAGE_PROXIES]


def test_2_a_manager_does_not_see_their_own_grant_among_those_they_manage(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_manager")
    listed = client.get(reverse("api-grants")).json()["results"]
    assert str(world.grants["caregiver_manager"].pk) not in {g["id"] for g in listed}
    assert str(world.grants["caregiver_records"].pk) in {g["id"] for g in listed}


def test_2_a_manager_cannot_add_a_scope_they_lack_to_someone_elses_grant(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_manager")
    target = world.grants["caregiver_records"]
    response = _json(
        client, "PATCH", reverse("api-grant", args=[target.pk]), {"scopes": [Scope.RECORDS, Scope.BILLING]}
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.scopes == [Scope.RECORDS]


def test_2_access_given_cannot_outlast_the_givers_own(client: Client, world: World) -> None:
    own = world.grants["caregiver_manager"]
    ProxyGrant.objects.filter(pk=own.pk).update(expires_at=timezone.now() + timedelta(days=10))
    sign_in(client, world, "caregiver_manager")
    later = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert _invite_as(client, "late@example.test", [Scope.MANAGE_PROXIES], expires_at=later).status_code == 403
    assert _invite_as(client, "open@example.test", [Scope.MANAGE_PROXIES]).status_code == 302
    given = ProxyGrant.objects.get(invitation__email="open@example.test")
    assert given.expires_at is not None
    assert given.expires_at <= timezone.now() + timedelta(days=10)


def test_2_an_adult_patients_own_invitation_is_their_consent(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    assert _invite_as(client, "sister@example.test", [Scope.RECORDS], allows_sensitive="on").status_code == 302
    grant = ProxyGrant.objects.get(invitation__email="sister@example.test")
    assert grant.legal_basis == Basis.PATIENT_CONSENT
    assert grant.allows_sensitive


# 5. Answers that were 500 errors ---------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["proxy:org_grants", "proxy:platform_grants"])
def test_5_grant_lists_show_a_pending_invitation(client: Client, world: World, url_name: str) -> None:
    persona = "org_admin" if url_name.startswith("proxy:org") else "platform_admin"
    sign_in(client, world, persona)
    url = reverse(url_name, args=["riverside"] if persona == "org_admin" else [])
    response = client.get(url)
    assert response.status_code == 200
    assert "invited@example.test" in response.content.decode()


@pytest.mark.parametrize("value", ["not-a-uuid", "1 OR 1=1", "", "../../etc", "0" * 40])
def test_5_acting_for_junk_is_refused_not_a_crash(client: Client, world: World, value: str) -> None:
    sign_in(client, world, "caregiver")
    response = client.post(reverse("proxy:switch_subject"), {"subject": value or "x"})
    assert response.status_code == 403
    _row, token = create_token_for(world.user("caregiver"))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACTING_FOR=value or "x")
    assert api.get(reverse("api-me")).status_code == 403
    with pytest.raises(AccessEndedError):
        resolve_actor(world.user("caregiver"), subject_id=value or "x")


# 6. The API: 401 without credentials, throttles before permissions, pages ------------------------------


def test_6_anonymous_api_calls_get_401_with_the_bearer_scheme(world: World) -> None:
    response = Client().get(reverse("api-me"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_6_a_flood_of_anonymous_calls_is_throttled(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {**AnonRateThrottle.THROTTLE_RATES, "anon": "3/min"})
    statuses = [Client().get(reverse("api-me")).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_6_a_flood_of_bad_tokens_is_throttled_before_authentication(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proxy.api.base import FloodThrottle

    monkeypatch.setattr(FloodThrottle, "THROTTLE_RATES", {**FloodThrottle.THROTTLE_RATES, "flood": "3/min"})
    client = Client(HTTP_AUTHORIZATION="Bearer fhp_not-a-real-token")
    statuses = [client.get(reverse("api-me")).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_6_api_lists_are_paged_with_a_ceiling(client: Client, world: World) -> None:
    patient = world.patient_record
    ProxyGrant.objects.bulk_create(
        ProxyGrant(patient=patient, legal_basis=Basis.PATIENT_CONSENT, scopes=[Scope.RECORDS], status="revoked")
        for _ in range(230)
    )
    sign_in(client, world, "patient")
    first = client.get(reverse("api-grants")).json()
    assert first["count"] == 230
    assert len(first["results"]) == 50
    assert first["next"]
    huge = client.get(reverse("api-grants"), {"page_size": 10_000}).json()
    assert len(huge["results"]) == 200


# 7. Reads by anyone but the person are audited ---------------------------------------------------------


def _read_events(action: AuditAction, persona_user: object) -> int:
    return AuditEvent.objects.filter(action=action.value, actor_user=persona_user).count()


def test_7_a_caregiver_opening_a_connection_page_is_audited(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    assert world.rosa_connection is not None
    assert client.get(reverse("records:connection", args=[world.rosa_connection.pk])).status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.RECORDS_CONNECTION_VIEWED.value)
    assert event.actor_user == world.user("caregiver_full")
    assert event.subject_patient == world.people["rosa"]
    assert event.object_id == str(world.rosa_connection.pk)


def test_7_reviewers_opening_a_request_and_a_grants_history_are_audited(client: Client, world: World) -> None:
    sign_in(client, world, "org_admin")
    admin = world.user("org_admin")
    assert world.org_request is not None
    client.get(reverse("proxy:org_review", args=["riverside", world.org_request.pk]))
    assert _read_events(AuditAction.PROXY_REQUEST_VIEWED, admin) == 1
    grant = world.grants["caregiver_full"]
    client.get(reverse("proxy:org_grant", args=["riverside", grant.pk]))
    event = AuditEvent.objects.get(action=AuditAction.PROXY_GRANT_VIEWED.value, actor_user=admin)
    assert event.subject_patient == grant.patient
    assert event.basis == Basis.STAFF


def test_7_api_reads_of_someone_elses_access_are_audited(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    client.get(reverse("api-grants"))
    client.get(reverse("api-grant", args=[world.grants["caregiver_records"].pk]))
    user = world.user("caregiver_full")
    assert _read_events(AuditAction.PROXY_GRANTS_VIEWED, user) == 1
    assert _read_events(AuditAction.PROXY_GRANT_VIEWED, user) == 1


def test_7_the_persons_own_reads_are_not_counted_as_access_by_others(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    client.get(reverse("api-grants"))
    client.get(reverse("proxy:sharing"))
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.PROXY_GRANTS_VIEWED.value], actor_user=world.user("patient")
    ).exists()


def test_7_a_caregiver_seeing_someone_on_the_family_page_is_audited(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    client.get(reverse("family"))
    event = AuditEvent.objects.get(action=AuditAction.SUMMARY_VIEWED.value)
    assert event.subject_patient == world.people["rosa"]


def test_7_refused_reads_leave_no_read_event(client: Client, world: World) -> None:
    sign_in(client, world, "stranger")
    assert world.rosa_connection is not None
    assert client.get(reverse("records:connection", args=[world.rosa_connection.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.RECORDS_CONNECTION_VIEWED.value).exists()
