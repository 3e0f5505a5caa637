"""Invitations, viewing as, scopes, revocation on the next request, and the audit trail."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.models.audit import Basis
from proxy.middleware import ACTING_FOR_KEY
from proxy.models import GrantStatus, ProxyGrant
from tests.conftest import World, sign_in
from tests.factories import UserFactory


def invite(client: Client, email: str, scopes: list[str]) -> str:
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("proxy:invite"), {"email": email, "relationship": "daughter", "scopes": scopes})
    assert response.status_code == 302, response.content.decode()[:2000]
    message = mail.outbox[-1]
    assert message.to == [email]
    return re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)


def test_invite_accept_act_and_revoke(world: World) -> None:
    patient_client, helper_client = Client(), Client()
    sign_in(patient_client, world, "patient")
    link = invite(patient_client, "helper@example.test", ["records", "scheduling"])
    body = mail.outbox[-1].body
    assert "Alex Rivera invited you to help with someone's care" in body
    assert "diabetes" not in body.lower()

    # Not signed in: the link offers sign-in or sign-up and keeps the way back.
    page = helper_client.get(link).content.decode()
    assert "Create an account" in page
    assert "Alex" not in page.split("<main", 1)[1]  # names only for the invited person, signed in
    helper = UserFactory(email="helper@example.test", full_name="Hana Helper")
    helper_client.force_login(helper)
    assert helper_client.post(link).status_code == 302
    grant = ProxyGrant.objects.get(grantee=helper)
    assert grant.status == GrantStatus.ACTIVE
    assert grant.legal_basis == Basis.PATIENT_CONSENT
    assert sorted(grant.scopes) == ["records", "scheduling"]

    # Single use.
    again = helper_client.post(link).content.decode()
    assert "cannot be used" in again

    # Viewing as: the switcher offers the patient; the record page acts for them.
    assert "Alex Rivera" in helper_client.get(reverse("home")).content.decode()
    helper_client.post(reverse("proxy:switch_subject"), {"subject": str(world.patient_record.pk)})
    person = helper_client.get(reverse("person"))
    assert person.status_code == 200
    assert "Alex Rivera" in person.content.decode()
    assert helper_client.get(reverse("proxy:sharing")).status_code == 404  # no manage-proxies scope
    viewed = AuditEvent.objects.filter(action="record.viewed", actor_user=helper).get()
    assert viewed.subject_patient_id == world.patient_record.pk
    assert viewed.basis == Basis.PATIENT_CONSENT

    # The patient sees the helper and what they did.
    sharing = patient_client.get(reverse("proxy:sharing")).content.decode()
    assert "Hana Helper" in sharing
    history = patient_client.get(reverse("access_history")).content.decode()
    assert "Hana Helper" in history
    assert "Viewed the record" in history

    # Revoked: the helper's very next request is refused, then they are back on their own account.
    patient_client.post(reverse("proxy:grant_revoke", args=[grant.pk]), {"reason": "No longer needed"})
    refused = helper_client.get(reverse("person"))
    assert refused.status_code == 403
    assert "Access has ended" in refused.content.decode()
    assert helper_client.get(reverse("home")).status_code == 200
    assert ACTING_FOR_KEY not in helper_client.session
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED
    assert grant.status_reason == "No longer needed"


def test_an_invitation_is_for_its_email_only(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    link = invite(client, "someone@example.test", ["records"])
    other = Client()
    sign_in(other, world, "stranger")
    page = other.post(link).content.decode()
    assert "sent to another email address" in page
    assert not ProxyGrant.objects.filter(grantee=world.user("stranger")).exists()


def test_an_invitation_link_expires(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    link = invite(client, "late@example.test", ["records"])
    late = UserFactory(email="late@example.test")
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        other = Client()
        other.force_login(late)
        assert "cannot be used" in other.post(link).content.decode()
    assert not ProxyGrant.objects.filter(grantee=late).exists()


def test_a_tampered_link_is_refused(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    link = invite(client, "x@example.test", ["records"])
    assert "cannot be used" in client.get(link[:-3] + "zz/").content.decode()


def test_the_database_allows_one_live_grant_per_pair(world: World) -> None:
    grant = world.grants["caregiver_full"]
    with pytest.raises(IntegrityError):
        ProxyGrant.objects.create(
            grantee=grant.grantee,
            patient=grant.patient,
            legal_basis=Basis.OTHER,
            scopes=["records"],
            status=GrantStatus.PENDING,
        )


def test_scopes_can_be_changed_and_take_effect_at_once(world: World) -> None:
    manager, helper = Client(), Client()
    sign_in(manager, world, "caregiver_full")  # manages Rosa's record
    sign_in(helper, world, "caregiver_records")
    grant = world.grants["caregiver_records"]
    assert helper.get(reverse("person")).status_code == 200
    response = manager.post(reverse("proxy:grant_edit", args=[grant.pk]), {"scopes": ["scheduling"]})
    assert response.status_code == 302
    assert helper.get(reverse("person")).status_code == 404  # records scope gone
    change = AuditEvent.objects.get(action="proxy.scopes_changed")
    assert change.basis == Basis.POWER_OF_ATTORNEY
    assert change.detail["scopes"] == ["scheduling"]


def test_choosing_no_scope_is_explained(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    response = client.post(reverse("proxy:invite"), {"email": "a@example.test", "scopes": []})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert 'value="a@example.test"' in response.content.decode()


def test_a_parent_of_a_teen_has_limited_access(client: Client, world: World) -> None:
    sign_in(client, world, "parent_of_teen")
    html = client.get(reverse("home")).content.decode()
    assert "Some sensitive items are private to them" in html
    data = client.get(reverse("api-me")).json()
    assert data["acting_for"]["name"] == "Theo Young"
    assert data["acting_for"]["limited_for_adolescent"] is True


def test_switching_to_someone_without_a_grant_is_refused(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_records")
    client.post(reverse("proxy:switch_subject"), {"subject": str(world.people["teen"].pk)})
    assert client.session[ACTING_FOR_KEY] == str(world.people["rosa"].pk)  # unchanged
    client.post(reverse("proxy:switch_subject"), {"subject": "self"})
    assert ACTING_FOR_KEY not in client.session


def test_family_view_lists_everyone_with_a_constant_number_of_queries(client: Client, world: World) -> None:
    from proxy.models import ProxyGrant as Grant
    from tests.factories import EnrollmentFactory, PatientFactory
    from tests.query_counts import count_queries

    sign_in(client, world, "caregiver")
    for person in ("rosa", "teen"):
        Grant.objects.create(
            grantee=world.user("caregiver"),
            patient=world.people[person],
            legal_basis=Basis.POWER_OF_ATTORNEY,
            scopes=["records"],
            status=GrantStatus.ACTIVE,
        )
    url = reverse("family")
    html = client.get(url).content.decode()
    assert "Rosa Lopez" in html
    assert "Theo Young" in html
    baseline = count_queries(client, url)
    for _ in range(4):
        child = PatientFactory()
        EnrollmentFactory(patient=child, organization=world.org_here)
        Grant.objects.create(
            grantee=world.user("caregiver"),
            patient=child,
            legal_basis=Basis.PARENT_OF_MINOR,
            scopes=["records"],
            status=GrantStatus.ACTIVE,
        )
    assert count_queries(client, url) == baseline


def test_an_organization_sets_its_policy_for_minors(client: Client, world: World) -> None:
    """Riverside limits parents from 14: a 13-year-old enrolled only there gets full parent access."""
    teen = world.people["teen"]
    from accounts.models import Enrollment

    Enrollment.objects.filter(patient=teen).delete()
    Enrollment.objects.create(patient=teen, organization=world.org_here, mrn="RFC-TEEN")
    admin = Client()
    sign_in(admin, world, "org_admin")
    bad = admin.post(reverse("org_policy", args=["riverside"]), {"adolescent_from_age": "5"})
    assert "Choose an age from 10 to 17." in bad.content.decode()
    admin.post(reverse("org_policy", args=["riverside"]), {"adolescent_from_age": "14"})
    assert AuditEvent.objects.filter(action="organization.policy_changed").exists()
    sign_in(client, world, "parent_of_teen")
    assert client.get(reverse("api-me")).json()["acting_for"]["limited_for_adolescent"] is False
