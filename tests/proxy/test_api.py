"""The proxy API: subjects, grants and access requests, with the same actor and rules as the pages."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse

from accounts.models import ApiToken
from accounts.models.tokens import digest_token, new_token
from proxy.models import AccessRequest, GrantStatus, ProxyGrant
from tests.conftest import SMALL_PDF, World, sign_in


def bearer(world: World, persona: str) -> dict[str, str]:
    token = new_token()
    ApiToken.objects.create(user=world.user(persona), name="test", digest=digest_token(token))
    return {"authorization": f"Bearer {token}"}


def test_subjects_and_acting_for_by_header(world: World) -> None:
    api = Client()
    headers = bearer(world, "caregiver_full")
    subjects = api.get(reverse("api-subjects"), headers=headers).json()["results"]
    assert [s["name"] for s in subjects] == ["Rosa Lopez"]
    rosa = subjects[0]["id"]
    me = api.get(reverse("api-me"), headers={**headers, "acting-for": rosa}).json()
    assert me["acting_for"]["name"] == "Rosa Lopez"
    assert me["acting_for"]["basis"] == "power_of_attorney"
    # Someone the caller holds no grant for is refused.
    teen = str(world.people["teen"].pk)
    assert api.get(reverse("api-me"), headers={**headers, "acting-for": teen}).status_code == 403


def test_manage_grants_through_the_api(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post(
            reverse("api-grants"),
            {"email": "helper@example.test", "scopes": ["records"]},
            content_type="application/json",
        )
    assert created.status_code == 201, created.json()
    grant_id = created.json()["id"]
    assert created.json()["status"] == "pending"
    assert created.json()["invited_email"] == "helper@example.test"
    listed = client.get(reverse("api-grants")).json()
    assert listed["count"] == 1
    assert [g["id"] for g in listed["results"]] == [grant_id]
    bad = client.patch(reverse("api-grant", args=[grant_id]), {"scopes": ["flying"]}, content_type="application/json")
    assert bad.status_code == 400
    changed = client.patch(
        reverse("api-grant", args=[grant_id]), {"scopes": ["records", "billing"]}, content_type="application/json"
    )
    assert changed.json()["scopes"] == ["billing", "records"]
    revoked = client.post(
        reverse("api-grant-revoke", args=[grant_id]), {"reason": "changed my mind"}, content_type="application/json"
    )
    assert revoked.json()["status"] == "revoked"
    assert ProxyGrant.objects.get(pk=grant_id).status == GrantStatus.REVOKED


def test_a_records_only_caregiver_cannot_manage_grants(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_records")
    assert client.get(reverse("api-grants")).status_code == 404
    grant = world.grants["caregiver_full"]
    assert client.post(reverse("api-grant-revoke", args=[grant.pk])).status_code == 404


def test_request_and_review_through_the_api(world: World) -> None:
    requester = Client()
    response = requester.post(
        reverse("api-access-requests"),
        {
            "patient_given_name": "Lily",
            "patient_family_name": "Stranger",
            "patient_birth_date": "2020-05-04",
            "relationship": "daughter",
            "legal_basis": "parent_of_minor",
            "organization": "riverside",
            "requested_scopes": ["records"],
            "documents": [SimpleUploadedFile("proof.pdf", SMALL_PDF, content_type="application/pdf")],
        },
        headers=bearer(world, "stranger"),
    )
    assert response.status_code == 201, response.json()
    request_id = response.json()["id"]
    assert response.json()["document_count"] == 1

    reviewer = Client()
    admin_headers = bearer(world, "org_admin")  # org_admin has two-step verification on
    queue = reviewer.get(reverse("api-review-queue"), {"organization": "riverside"}, headers=admin_headers).json()
    assert request_id in [r["id"] for r in queue["results"]]
    approved = reviewer.post(
        reverse("api-review-approve", args=[request_id]) + "?organization=riverside",
        {"patient": "new", "mrn": "RS-1001", "scopes": ["records"]},
        content_type="application/json",
        headers=admin_headers,
    )
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "active"
    assert AccessRequest.objects.get(pk=request_id).status == GrantStatus.ACTIVE
    again = reviewer.post(
        reverse("api-review-deny", args=[request_id]) + "?organization=riverside",
        {"reason": "too late"},
        content_type="application/json",
        headers=admin_headers,
    )
    assert again.status_code == 400


def test_reviewers_without_two_step_verification_are_refused(world: World) -> None:
    api = Client()
    assert (
        api.get(
            reverse("api-review-queue"), {"organization": "riverside"}, headers=bearer(world, "staff_no_mfa")
        ).status_code
        == 403
    )


def test_a_disguised_upload_is_refused_by_the_api(world: World) -> None:
    response = Client().post(
        reverse("api-access-requests"),
        {
            "patient_given_name": "Lily",
            "patient_family_name": "Stranger",
            "patient_birth_date": "2020-05-04",
            "relationship": "daughter",
            "legal_basis": "parent_of_minor",
            "requested_scopes": ["records"],
            "documents": [SimpleUploadedFile("proof.pdf", b"GIF89a fake", content_type="application/pdf")],
        },
        headers=bearer(world, "stranger"),
    )
    assert response.status_code == 400
    assert "not a PDF, PNG or JPEG" in str(response.json())
