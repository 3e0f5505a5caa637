"""Private items shown to a chosen helper (one item or a whole kind), and private results that wait.

Only the patient makes these choices; helpers see what the patient chose and nothing more; a parent of
an adolescent sees none of it whatever is chosen; results that wait are hidden from everyone until the
patient chooses to see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Scope
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant
from records.models import FhirResource, ResultRelease, SensitiveShare
from records.projections import sensitive_category_of
from tests.conftest import World, sign_in
from tests.factories import UserFactory
from tests.records.record_data import condition, lab, source_for, store
from tests.security.test_authorization_matrix import snapshot


@dataclass
class Setup:
    maria: ProxyGrant  # records only, no private items
    sam: ProxyGrant  # records only, no private items
    open_helper: ProxyGrant  # may see every private item (the grant allows them)
    hiv: FhirResource  # a private result, from both sources
    hiv_copy: FhirResource
    mood: FhirResource  # a private problem (mental health)
    a1c: FhirResource  # an ordinary result


def _grant(
    world: World, user_email: str, *, allows_sensitive: bool = False, basis: str = Basis.PATIENT_CONSENT
) -> ProxyGrant:
    return ProxyGrant.objects.create(
        grantee=UserFactory(email=user_email),
        patient=world.patient_record,
        legal_basis=basis,
        scopes=[Scope.RECORDS],
        allows_sensitive=allows_sensitive,
        status=GrantStatus.ACTIVE,
        starts_at=timezone.now() - timedelta(days=1),
    )


@pytest.fixture
def setup(world: World) -> Setup:
    riverside = source_for(world.patient_record, "Riverside Family Clinic")
    hospital = source_for(world.patient_record, "Outside Hospital")
    hiv = lab("hiv-1", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV")
    store(
        riverside,
        hiv,
        lab("a1c-1"),
        condition("mood", "Depression", code="35489007", meta={"security": [{"code": "PSY"}]}),
    )
    store(hospital, hiv)
    rows = FhirResource.objects.filter(patient=world.patient_record)
    return Setup(
        maria=_grant(world, "maria.helper@example.test"),
        sam=_grant(world, "sam.helper@example.test"),
        open_helper=_grant(world, "open.helper@example.test", allows_sensitive=True),
        hiv=rows.get(resource_id="hiv-1", source=riverside),
        hiv_copy=rows.get(resource_id="hiv-1", source=hospital),
        mood=rows.get(resource_id="mood"),
        a1c=rows.get(resource_id="a1c-1"),
    )


def _as_helper(client: Client, grant: ProxyGrant) -> Client:
    from proxy.middleware import ACTING_FOR_KEY

    client.force_login(grant.grantee)
    session = client.session
    session[ACTING_FOR_KEY] = str(grant.patient_id)
    session.save()
    return client


def _sees(client: Client, row: FhirResource) -> bool:
    return client.get(reverse("records:item", args=[row.pk])).status_code == 200


def test_sensitive_items_get_their_kind_from_their_codes() -> None:
    assert sensitive_category_of({"meta": {"security": [{"code": "HIV"}]}}, "sensitive") == "hiv"
    assert sensitive_category_of({"meta": {"security": [{"code": "PSY"}]}}, "sensitive") == "mental_health"
    assert (
        sensitive_category_of({"category": [{"coding": [{"code": "substance-use"}]}]}, "sensitive") == "substance_use"
    )
    assert sensitive_category_of({"meta": {"security": [{"code": "R"}]}}, "confidential") == "restricted"
    assert sensitive_category_of({"meta": {"security": [{"code": "RELIG"}]}}, "sensitive") == "other"
    assert sensitive_category_of({"meta": {"security": [{"code": "HIV"}]}}, "normal") == ""


def test_a_helper_sees_no_private_item_until_the_patient_shows_one(client: Client, world: World, setup: Setup) -> None:
    helper = _as_helper(Client(), setup.maria)
    assert _sees(helper, setup.a1c)
    assert not _sees(helper, setup.hiv)
    assert not _sees(helper, setup.mood)

    patient = sign_in(client, world, "patient")
    html = patient.get(reverse("records:item", args=[setup.hiv.pk])).content.decode()
    assert "Who sees this private item" in html
    assert str(setup.maria.grantee) in html
    response = patient.post(reverse("records:show_item", args=[setup.hiv.pk]), {"grant": str(setup.maria.pk)})
    assert response.status_code == 302

    # Both copies (one per source) are shown, and only to Maria.
    assert SensitiveShare.objects.filter(grant=setup.maria).count() == 2
    assert _sees(helper, setup.hiv)
    assert _sees(helper, setup.hiv_copy)
    assert not _sees(helper, setup.mood)
    assert not _sees(_as_helper(Client(), setup.sam), setup.hiv)
    results = helper.get(reverse("records:results")).content.decode()
    assert results.count("HIV test") == 1  # one item with two sources' badges
    assert AuditEvent.objects.filter(action=AuditAction.RECORDS_SENSITIVE_SHOWN.value).count() == 1

    share = SensitiveShare.objects.filter(grant=setup.maria).first()
    assert patient.post(reverse("records:stop_showing", args=[share.pk])).status_code == 302
    assert not SensitiveShare.objects.filter(grant=setup.maria).exists()
    assert not _sees(helper, setup.hiv)
    assert not _sees(helper, setup.hiv_copy)


def test_a_whole_kind_of_private_item_can_be_shown(client: Client, world: World, setup: Setup) -> None:
    patient = sign_in(client, world, "patient")
    url = reverse("records:private_kinds", args=[setup.maria.pk])
    assert patient.post(url, {"kind": ["mental_health", "not-a-kind"]}).status_code == 302
    helper = _as_helper(Client(), setup.maria)
    assert _sees(helper, setup.mood)
    assert not _sees(helper, setup.hiv)
    page = patient.get(reverse("records:privacy")).content.decode()
    assert 'value="mental_health" id="kind-1-1" checked' in page
    assert patient.post(url, {}).status_code == 302  # nothing ticked: nothing shown
    assert not _sees(helper, setup.mood)
    assert AuditEvent.objects.filter(action=AuditAction.RECORDS_SENSITIVE_HIDDEN.value).count() == 1


@pytest.mark.parametrize("who", ["helper", "open_helper", "stranger"])
def test_only_the_patient_makes_privacy_choices(world: World, setup: Setup, who: str) -> None:
    client = (
        sign_in(Client(), world, "stranger")
        if who == "stranger"
        else _as_helper(Client(), setup.maria if who == "helper" else setup.open_helper)
    )
    share = SensitiveShare.objects.create(patient=world.patient_record, grant=setup.sam, category="hiv")
    before = snapshot()
    answers = [
        client.get(reverse("records:privacy")).status_code,
        client.post(reverse("records:show_item", args=[setup.hiv.pk]), {"grant": str(setup.maria.pk)}).status_code,
        client.post(reverse("records:private_kinds", args=[setup.maria.pk]), {"kind": ["hiv"]}).status_code,
        client.post(reverse("records:stop_showing", args=[share.pk])).status_code,
        client.post(reverse("records:results_wait"), {"wait": "on"}).status_code,
        client.post(reverse("records:release_result", args=[setup.hiv.pk])).status_code,
    ]
    assert set(answers) == {404}
    assert snapshot() == before


def test_helpers_who_cannot_be_shown_private_items_are_refused(client: Client, world: World, setup: Setup) -> None:
    patient = sign_in(client, world, "patient")
    other_family = world.grants["caregiver_full"]  # a grant on Rosa's record
    parent = _grant(world, "parent@example.test", basis=Basis.PARENT_OF_MINOR)
    before = snapshot()
    for grant in (other_family, parent, setup.open_helper):
        assert (
            patient.post(reverse("records:show_item", args=[setup.hiv.pk]), {"grant": str(grant.pk)}).status_code == 404
        )
        assert patient.post(reverse("records:private_kinds", args=[grant.pk]), {"kind": ["hiv"]}).status_code == 404
    assert (
        patient.post(reverse("records:show_item", args=[setup.a1c.pk]), {"grant": str(setup.maria.pk)}).status_code
        == 404
    )
    assert patient.post(reverse("records:show_item", args=[setup.hiv.pk]), {"grant": "junk"}).status_code == 404
    assert snapshot() == before


def test_a_parent_of_a_teen_never_sees_private_items_even_if_a_share_exists(world: World) -> None:
    teen = world.people["teen"]
    source = source_for(teen, "Lakeside Pediatrics")
    store(source, lab("teen-hiv", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV"))
    row = FhirResource.objects.get(patient=teen, resource_id="teen-hiv")
    grant = world.grants["parent_of_teen"]
    SensitiveShare.objects.create(patient=teen, grant=grant, resource=row)
    SensitiveShare.objects.create(patient=teen, grant=grant, category="hiv")
    parent = sign_in(Client(), world, "parent_of_teen")
    assert parent.get(reverse("records:item", args=[row.pk])).status_code == 404
    assert "HIV test" not in parent.get(reverse("records:results")).content.decode()


def test_private_results_wait_for_everyone_until_the_patient_chooses(
    client: Client, world: World, setup: Setup
) -> None:
    patient = sign_in(client, world, "patient")
    open_helper = _as_helper(Client(), setup.open_helper)
    assert _sees(open_helper, setup.hiv)

    assert patient.post(reverse("records:results_wait"), {"wait": "on"}).status_code == 302
    world.patient_record.refresh_from_db()
    assert world.patient_record.results_after_discussion
    assert not _sees(patient, setup.hiv)
    assert not _sees(open_helper, setup.hiv)
    assert _sees(patient, setup.mood)
    assert _sees(patient, setup.a1c)
    assert "HIV test" not in patient.get(reverse("records:results")).content.decode()
    summary = patient.get(reverse("records:summary")).content.decode()
    assert "One private test result waits until you choose to see it." in summary
    privacy = patient.get(reverse("records:privacy")).content.decode()
    assert "HIV test" not in privacy
    assert "A private result from" in privacy

    # A helper cannot release it, and a normal result is not a waiting one.
    assert open_helper.post(reverse("records:release_result", args=[setup.hiv.pk])).status_code == 404
    assert patient.post(reverse("records:release_result", args=[setup.a1c.pk])).status_code == 404

    response = patient.post(reverse("records:release_result", args=[setup.hiv.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("records:item", args=[setup.hiv.pk])
    assert ResultRelease.objects.count() == 2  # both copies
    assert _sees(patient, setup.hiv)
    assert _sees(patient, setup.hiv_copy)
    assert _sees(open_helper, setup.hiv)
    assert "waits until you choose" not in patient.get(reverse("records:summary")).content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.RECORDS_RESULT_RELEASED.value).count() == 1

    assert patient.post(reverse("records:results_wait"), {}).status_code == 302
    world.patient_record.refresh_from_db()
    assert not world.patient_record.results_after_discussion
    assert AuditEvent.objects.filter(action=AuditAction.RECORDS_RESULTS_WAIT_CHANGED.value).count() == 2


def test_a_shown_item_that_waits_still_waits_for_the_helper(client: Client, world: World, setup: Setup) -> None:
    SensitiveShare.objects.create(patient=world.patient_record, grant=setup.maria, resource=setup.hiv)
    helper = _as_helper(Client(), setup.maria)
    assert _sees(helper, setup.hiv)
    sign_in(client, world, "patient").post(reverse("records:results_wait"), {"wait": "on"})
    assert not _sees(helper, setup.hiv)
