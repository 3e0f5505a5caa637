"""A caregiver asks for access with documents; an admin reviews; the answer reaches the caregiver."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Enrollment, Patient
from accounts.models.audit import Basis
from proxy.middleware import ACTING_FOR_KEY
from proxy.models import AccessRequest, AccessRequestDocument, GrantStatus, ProxyGrant
from tests.conftest import SMALL_PDF, World, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def request_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "patient_given_name": "Lily",
        "patient_family_name": "Stranger",
        "patient_birth_date": "2020-05-04",
        "relationship": "my daughter",
        "legal_basis": Basis.PARENT_OF_MINOR,
        "organization": "",
        "requested_scopes": ["records", "scheduling"],
        "note": "",
        "documents": [SimpleUploadedFile("birth certificate.pdf", SMALL_PDF, content_type="application/pdf")],
    }
    data.update(overrides)
    return data


def test_request_for_a_child_without_a_record_then_approved(world: World) -> None:
    requester, reviewer = Client(), Client()
    sign_in(requester, world, "stranger")
    response = requester.post(reverse("proxy:request_access"), request_form(organization=world.org_here.pk))
    assert response.status_code == 302
    access_request = AccessRequest.objects.get(patient_given_name="Lily")
    document = AccessRequestDocument.objects.get(request=access_request)
    assert document.content_type == "application/pdf"
    assert "birth" not in document.file.name  # stored under a random name
    assert "Waiting for review" in requester.get(reverse("proxy:my_requests")).content.decode()

    sign_in(reviewer, world, "org_admin")
    queue = reviewer.get(reverse("proxy:org_queue", args=["riverside"])).content.decode()
    assert "Lily Stranger" in queue
    review_url = reverse("proxy:org_review", args=["riverside", access_request.pk])
    page = reviewer.get(review_url).content.decode()
    assert "birth certificate.pdf" in page
    doc = reviewer.get(reverse("proxy:org_document", args=["riverside", access_request.pk, document.pk]))
    assert doc.status_code == 200
    assert doc["Content-Type"] == "application/pdf"
    assert b"".join(doc.streaming_content) == SMALL_PDF
    assert AuditEvent.objects.filter(action="proxy.document_viewed", actor_user=world.user("org_admin")).exists()

    response = reviewer.post(
        review_url,
        {
            "decision": "approve",
            "patient": "new",
            "mrn": "RFC-999",
            "scopes": ["records"],
            "expires_at": "",
            "reason": "",
        },
    )
    assert response.status_code == 302
    lily = Patient.objects.get(given_name="Lily")
    assert Enrollment.objects.filter(patient=lily, organization=world.org_here, mrn="RFC-999").exists()
    grant = ProxyGrant.objects.get(patient=lily)
    assert (grant.grantee, grant.status, grant.legal_basis) == (
        world.user("stranger"),
        GrantStatus.ACTIVE,
        Basis.PARENT_OF_MINOR,
    )
    assert grant.scopes == ["records"]
    assert grant.reviewed_by == world.user("org_admin")
    approved = AuditEvent.objects.get(action="proxy.request_approved")
    assert approved.basis == Basis.STAFF
    assert approved.subject_patient == lily

    # The requester can now act for the child.
    requester.post(reverse("proxy:switch_subject"), {"subject": str(lily.pk)})
    assert requester.session[ACTING_FOR_KEY] == str(lily.pk)
    assert "Lily Stranger" in requester.get(reverse("person")).content.decode()


def test_a_denied_request_shows_the_reason(world: World) -> None:
    requester, reviewer = Client(), Client()
    sign_in(requester, world, "stranger")
    requester.post(reverse("proxy:request_access"), request_form())
    access_request = AccessRequest.objects.get(patient_given_name="Lily")
    assert access_request.organization is None  # reviewed by the platform

    sign_in(reviewer, world, "platform_admin")
    url = reverse("proxy:platform_review", args=[access_request.pk])
    empty = reviewer.post(url, {"decision": "deny", "reason": ""})
    assert "This field is required." in empty.content.decode()
    reviewer.post(url, {"decision": "deny", "reason": "The certificate does not name you."})
    access_request.refresh_from_db()
    assert access_request.status == GrantStatus.DENIED
    page = requester.get(reverse("proxy:my_requests")).content.decode()
    assert "The certificate does not name you." in page
    assert not ProxyGrant.objects.filter(grantee=world.user("stranger"), patient__given_name="Lily").exists()
    # Decided once: a second decision is refused.
    reviewer.post(url, {"decision": "approve", "patient": "new", "scopes": ["records"]})
    assert not ProxyGrant.objects.filter(patient__given_name="Lily").exists()


def test_uploads_are_checked_by_content_and_size(client: Client, world: World, settings: object) -> None:
    sign_in(client, world, "stranger")
    disguised = SimpleUploadedFile("court-order.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf")
    response = client.post(reverse("proxy:request_access"), request_form(documents=[disguised]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "is not a PDF, PNG or JPEG file" in html
    assert 'value="Lily"' in html  # nothing typed is lost
    settings.PROXY_DOCUMENT_MAX_BYTES = 32
    big = SimpleUploadedFile("scan.png", PNG, content_type="image/png")
    response = client.post(reverse("proxy:request_access"), request_form(documents=[big]))
    assert "is larger than" in response.content.decode()
    missing = client.post(reverse("proxy:request_access"), request_form(documents=[]))
    assert "Please add at least one document." in missing.content.decode()
    assert not AccessRequest.objects.filter(patient_given_name="Lily").exists()


def test_admins_list_filter_and_revoke_grants_with_a_reason(client: Client, world: World) -> None:
    sign_in(client, world, "org_admin")
    listing = client.get(reverse("proxy:org_grants", args=["riverside"]), {"q": "Rosa", "status": "active"})
    html = listing.content.decode()
    assert "Rosa Lopez" in html
    assert "Theo Young" not in html  # Lakeside's patient: not Riverside's business
    grant = world.grants["caregiver_full"]
    url = reverse("proxy:org_grant", args=["riverside", grant.pk])
    no_reason = client.post(url, {"reason": ""})
    assert "Please give a reason" in no_reason.content.decode()
    client.post(url, {"reason": "Court order withdrawn"})
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED
    history = client.get(url).content.decode()
    assert "Ended someone&#x27;s access" in history or "Ended someone's access" in history
