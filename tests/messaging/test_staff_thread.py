"""A thread at the staff desk: history with notes, the patient beside it, replies, notes, claiming, closing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.actors import Actor, actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, Enrollment
from accounts.scoping import Desk
from messaging import actions
from messaging.access import access_attachment_by_id, access_thread_by_id
from messaging.models import Message, MessageKind, Notice, NoticeKind, QuickReply, Thread, ThreadRead, ThreadStatus
from messaging.selectors import thread_messages
from proxy.access import resolve_actor
from records.models import HealthSystem, RecordSource, SourceKind
from tests.conftest import SMALL_PDF, World, sign_in
from tests.records.record_data import lab, store

pytestmark = pytest.mark.django_db


def url(world: World, name: str = "messaging:staff_thread", thread: str = "rosa", **more: Any) -> str:
    return reverse(name, kwargs={"org_slug": "riverside", "thread_id": world.threads[thread].pk, **more})


def jordan(world: World) -> Actor:
    return actor_for(world.user("staff_here")).at_desk(Desk(world.org_here))


def test_the_whole_history_with_notes_marked(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    sign_in(client, world, "staff_here")
    response = client.get(url(world))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Internal: check her last potassium" in page
    assert "Internal note — the patient does not see this" in page
    assert "Sent by" in page
    assert "on behalf of Rosa Lopez" in page
    attachment_url = reverse(
        "messaging:staff_attachment",
        kwargs={"org_slug": "riverside", "thread_id": world.threads["rosa"].pk, "attachment_id": world.attachment.pk},
    )
    assert attachment_url in page
    download = client.get(attachment_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == SMALL_PDF


def test_a_staff_read_is_in_the_patients_access_history(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    client.get(url(world))
    event = AuditEvent.objects.get(action=AuditAction.MESSAGE_THREAD_VIEWED)
    assert event.subject_patient_id == world.people["rosa"].pk
    assert event.actor_user_id == world.user("staff_here").pk
    assert event.object_id == str(world.threads["rosa"].pk)
    # Rosa's power of attorney sees it in her access history.
    sign_in(client, world, "caregiver_full")
    history = client.get(reverse("access_history")).content.decode()
    assert "Read a message conversation" in history
    assert "Jordan Lee" in history
    # The page marked the thread read for Jordan.
    assert ThreadRead.objects.filter(thread=world.threads["rosa"], user=world.user("staff_here")).exists()


def test_the_side_panel_shows_this_organizations_records_only(client: Client, world: World) -> None:
    rosa = world.people["rosa"]
    Enrollment.objects.filter(patient=rosa, organization=world.org_here).update(mrn="RV-1001")
    own = HealthSystem.objects.create(
        name="Riverside EHR", fhir_base_url="https://fhir.riverside.example/r4", organization=world.org_here
    )
    source = RecordSource.objects.create(
        patient=rosa, kind=SourceKind.CONNECTION, health_system=own, label="Riverside EHR"
    )
    store(source, lab("own-a1c", value=8.1, when="2026-09-01T09:00:00Z"))
    store(
        source,
        lab("own-hiv", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV"),
    )
    store(world.rosa_connection.source, lab("outside-a1c", display="Outside glucose", code="2345-7", value=140))
    sign_in(client, world, "staff_here")
    page = client.get(url(world)).content.decode()
    assert "RV-1001" in page
    assert "8.1" in page
    assert "Hemoglobin A1c" in page
    assert "Outside glucose" not in page
    assert "HIV test" in page  # a nurse sees the organization's sensitive results
    # The organization's admin (not a clinical role) does not.
    sign_in(client, world, "org_admin")
    page = client.get(url(world)).content.decode()
    assert "Hemoglobin A1c" in page
    assert "HIV test" not in page
    assert "Sensitive items are shown to clinicians and nurses only." in page


def test_a_linked_result_is_shown_as_that_result(client: Client, world: World) -> None:
    store(world.rosa_connection.source, lab("asked-a1c", value=9.2, when="2026-08-01T09:00:00Z"))
    from records.selectors import visible_to

    caregiver = resolve_actor(world.user("caregiver_full"), subject_id=str(world.people["rosa"].pk))
    result = visible_to(caregiver).get(resource_id="asked-a1c")
    Thread.objects.filter(pk=world.threads["rosa"].pk).update(result=result)
    sign_in(client, world, "staff_here")
    page = client.get(url(world)).content.decode()
    assert "Asked about this result" in page
    assert "9.2" in page


def test_reply_attach_and_close(client: Client, world: World, eager_tasks: None) -> None:
    sign_in(client, world, "staff_here")
    response = client.post(
        url(world, "messaging:staff_reply"),
        {
            "body": "Please keep your feet up. <script>alert(1)</script> https://example.org/feet",
            "attachments": [SimpleUploadedFile("advice.pdf", SMALL_PDF, "application/pdf")],
            "close": "on",
        },
    )
    assert response.status_code == 302
    thread = Thread.objects.get(pk=world.threads["rosa"].pk)
    assert thread.status == ThreadStatus.CLOSED
    assert thread.assigned_to == world.user("staff_here")
    reply = thread.messages.filter(from_staff=True, kind=MessageKind.MESSAGE).get()
    assert reply.attachments.count() == 1
    page = client.get(url(world)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="https://example.org/feet"' in page
    # The patient's side hears of it without any detail (Rosa has no login: her helpers who chose to hear).
    assert all("feet" not in m.body for m in mail.outbox)


def test_a_refused_file_changes_nothing(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    before = Message.objects.count()
    response = client.post(
        url(world, "messaging:staff_reply"),
        {"body": "Here", "attachments": [SimpleUploadedFile("run.pdf", b"MZ\x90\x00binary", "application/pdf")]},
    )
    assert response.status_code == 400
    assert "not a PDF, JPEG or PNG" in response.content.decode()
    assert Message.objects.count() == before


def test_quick_reply_fills_the_reply_without_script(client: Client, world: World) -> None:
    template = QuickReply.objects.create(organization=world.org_here, title="Lab follow-up", body="Your lab is fine.")
    elsewhere = QuickReply.objects.create(organization=world.org_other, title="Other", body="Not yours")
    sign_in(client, world, "staff_here")
    page = client.get(url(world) + f"?quick={template.pk}").content.decode()
    assert "Your lab is fine.</textarea>" in page
    assert client.get(url(world) + f"?quick={elsewhere.pk}").status_code == 404


def test_note_claim_assign_close_reopen(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    assert client.post(url(world, "messaging:staff_note"), {"body": "Call her daughter"}).status_code == 302
    note = Message.objects.get(body="Call her daughter")
    assert note.kind == MessageKind.NOTE
    assert client.post(url(world, "messaging:staff_claim")).status_code == 302
    assert Thread.objects.get(pk=world.threads["rosa"].pk).assigned_to == world.user("staff_here")
    admin = world.user("org_admin")
    assert client.post(url(world, "messaging:staff_assign"), {"assignee": str(admin.pk)}).status_code == 302
    assert Thread.objects.get(pk=world.threads["rosa"].pk).assigned_to == admin
    assert Notice.objects.filter(kind=NoticeKind.NEW_FOR_STAFF, recipient=admin).count() == 1
    # Someone at another organization is not a colleague: refused by the form, nothing changes.
    response = client.post(url(world, "messaging:staff_assign"), {"assignee": str(world.user("staff_other").pk)})
    assert response.status_code == 400
    assert Thread.objects.get(pk=world.threads["rosa"].pk).assigned_to == admin
    assert client.post(url(world, "messaging:staff_assign"), {"assignee": ""}).status_code == 302
    assert Thread.objects.get(pk=world.threads["rosa"].pk).assigned_to is None
    assert client.post(url(world, "messaging:staff_close")).status_code == 302
    assert Thread.objects.get(pk=world.threads["rosa"].pk).status == ThreadStatus.CLOSED
    again = client.post(url(world, "messaging:staff_close"))
    assert again.status_code == 409
    assert "already closed" in again.content.decode()
    assert client.post(url(world, "messaging:staff_reopen")).status_code == 302
    thread = Thread.objects.get(pk=world.threads["rosa"].pk)
    assert thread.status == ThreadStatus.WAITING_ON_STAFF
    assert thread.reply_due_at is not None


def test_the_second_to_claim_is_told_who_has_it(client: Client, world: World) -> None:
    thread = world.threads["alex"]
    admin_actor = actor_for(world.user("org_admin")).at_desk(Desk(world.org_here))
    actions.claim_thread(staff=admin_actor, thread=thread)
    events = Message.objects.filter(thread=thread).count()
    sign_in(client, world, "staff_here")
    response = client.post(url(world, "messaging:staff_claim", thread="alex"))
    assert response.status_code == 409
    assert "Sam Okafor has already taken this conversation." in response.content.decode()
    assert Thread.objects.get(pk=thread.pk).assigned_to == world.user("org_admin")
    assert Message.objects.filter(thread=thread).count() == events


def test_two_claims_one_winner(world: World) -> None:
    thread = world.threads["alex"]
    admin_actor = actor_for(world.user("org_admin")).at_desk(Desk(world.org_here))
    actions.claim_thread(staff=jordan(world), thread=thread)
    with pytest.raises(actions.MessagingError, match="Jordan Lee has already taken"):
        actions.claim_thread(staff=admin_actor, thread=Thread.objects.get(pk=thread.pk))
    # Claiming one's own thread again changes nothing and is no error.
    actions.claim_thread(staff=jordan(world), thread=thread)
    assert Thread.objects.get(pk=thread.pk).assigned_to == world.user("staff_here")


def test_internal_notes_never_reach_the_patients_side(client: Client, world: World) -> None:
    thread = world.threads["rosa"]
    assert world.note in set(thread_messages(thread, staff_side=True))
    assert world.note not in set(thread_messages(thread, staff_side=False))
    # A file on a note is never the patient's side's to open.
    from messaging.models import Attachment

    on_note = Attachment.objects.create(
        message=world.note, original_name="n.pdf", content_type="application/pdf", size=1, file="messages/x"
    )
    caregiver = resolve_actor(world.user("caregiver_full"), subject_id=str(world.people["rosa"].pk))
    checked = access_thread_by_id(caregiver, thread.pk)
    from django.http import Http404

    with pytest.raises(Http404):
        access_attachment_by_id(caregiver, on_note.pk, thread=checked)
    assert access_attachment_by_id(caregiver, world.attachment.pk, thread=checked) == world.attachment


def test_staff_elsewhere_get_404_everywhere_and_change_nothing(client: Client, world: World) -> None:
    sign_in(client, world, "staff_other")
    before = (Message.objects.count(), list(Thread.objects.order_by("pk").values()))
    # Their own desk does not open Riverside's threads, and Riverside's desk is not theirs.
    lakeside = reverse("messaging:staff_thread", kwargs={"org_slug": "lakeside", "thread_id": world.threads["rosa"].pk})
    assert client.get(lakeside).status_code == 404
    for name in ("staff_reply", "staff_note", "staff_claim", "staff_assign", "staff_close", "staff_reopen"):
        assert client.post(url(world, f"messaging:{name}"), {"body": "x"}).status_code == 404
        other_desk = reverse(
            f"messaging:{name}", kwargs={"org_slug": "lakeside", "thread_id": world.threads["rosa"].pk}
        )
        assert client.post(other_desk, {"body": "x"}).status_code == 404
    assert client.get(url(world)).status_code == 404
    assert (Message.objects.count(), list(Thread.objects.order_by("pk").values())) == before


def test_a_refused_person_changes_nothing(client: Client, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from accounts.models import Role
    from tests.factories import MembershipFactory, UserFactory

    billing = UserFactory(email="billing@example.test", full_name="Bill Ing")
    MembershipFactory(user=billing, organization=world.org_here, role=Role.BILLING)
    desk = actor_for(billing).at_desk(Desk(world.org_here))
    thread = world.threads["rosa"]
    before = (Message.objects.count(), list(Thread.objects.order_by("pk").values()))
    for attempt in (
        lambda: actions.reply_as_staff(staff=desk, thread=thread, body="Hello"),
        lambda: actions.add_note(staff=desk, thread=thread, body="Note"),
        lambda: actions.claim_thread(staff=desk, thread=thread),
        lambda: actions.close_thread(staff=desk, thread=thread),
    ):
        with pytest.raises(actions.NotAllowedError):
            attempt()
    assert (Message.objects.count(), list(Thread.objects.order_by("pk").values())) == before

    # A refusal inside an action (the desk re-checked in its transaction) answers 403 on the page.
    def refuse(**kwargs: Any) -> None:
        raise actions.NotAllowedError("Only the care team can do this.")

    monkeypatch.setattr(actions, "claim_thread", refuse)
    sign_in(client, world, "staff_here")
    response = client.post(url(world, "messaging:staff_claim"))
    assert response.status_code == 403
    assert "Only the care team can do this." in response.content.decode()
