"""Messages, the patient's and caregiver's side: the list, a new message, a thread, its files, email choices."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.actors import actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from accounts.scoping import Desk
from messaging import actions
from messaging.models import Attachment, Message, NotificationChoice, Thread, ThreadStatus, Topic
from records.ingest import write_page
from records.models import FhirResource
from tests.conftest import SMALL_PDF, World, sign_in
from tests.records.record_data import lab

HOSTILE_SUBJECT = "<script>alert(1)</script>"
HOSTILE_BODY = '"><img src=x onerror=alert(1)> see javascript:alert(1) and https://example.org/help'
HOSTILE_NAME = '"><img src=x onerror=alert(1)>.pdf'
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def pdf(name: str = "letter.pdf", content: bytes = SMALL_PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def form_key(html: str) -> str:
    found = re.search(r'name="key" value="([0-9a-f-]+)"', html)
    assert found, "the form carries its idempotency key"
    return found.group(1)


def compose(client: Client, world: World, patient_key: str, **fields: Any) -> Any:
    """Opens the new message page and sends it with `fields` (the care team at Riverside by default)."""
    page = client.get(reverse("messaging:compose"))
    assert page.status_code == 200
    patient = world.people.get(patient_key, world.patient_record)
    data = {
        "pool": world.pools["here"].pk,
        "topic": Topic.CARE,
        "subject": "Swollen feet",
        "body": "Her feet are swollen since Monday.",
        "patient": str(patient.pk),
        "key": form_key(page.content.decode()),
        **fields,
    }
    return client.post(reverse("messaging:compose"), data)


# A new message -------------------------------------------------------------------------------------------


def test_a_patient_writes_with_a_file_and_is_told_when_to_expect_a_reply(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    page = client.get(reverse("messaging:compose")).content.decode()
    assert "Diabetes care team" in page
    assert "Riverside Family Clinic" in page
    assert "people who help me with my account will not see this conversation" in page
    response = compose(client, world, "alex", attachments=[pdf()])
    thread = Thread.objects.get(patient=world.patient_record, subject="Swollen feet")
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:thread", args=[thread.pk])
    assert thread.pool == world.pools["here"]
    assert thread.organization == world.org_here
    assert thread.status == ThreadStatus.WAITING_ON_STAFF
    assert thread.reply_due_at is not None
    message = thread.messages.get()
    assert message.on_behalf_of_name == ""
    assert message.attachments.get().original_name == "letter.pdf"
    html = client.get(response["Location"]).content.decode()
    assert "Your message was sent to Diabetes care team. Expect a reply by" in html
    assert "Her feet are swollen since Monday." in html
    file_url = reverse("messaging:attachment", args=[thread.pk, message.attachments.get().pk])
    assert file_url in html
    download = client.get(file_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == SMALL_PDF
    assert download["Content-Disposition"].startswith("attachment")


def test_a_caregiver_writes_on_behalf_of_the_patient(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    page = client.get(reverse("messaging:compose")).content.decode()
    assert "You are writing for Rosa Lopez" in page
    assert 'name="private"' not in page  # only the patient writes privately
    response = compose(client, world, "rosa", private="on")
    assert response.status_code == 302
    thread = Thread.objects.get(patient=world.people["rosa"], subject="Swollen feet")
    assert not thread.private
    message = thread.messages.get()
    assert message.on_behalf_of_name == "Rosa Lopez"
    html = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
    author = world.user("caregiver_full")
    assert f"Sent by {author.full_name or author.email} on behalf of Rosa Lopez" in html


def test_a_patient_may_write_privately(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    compose(client, world, "alex", private="on")
    thread = Thread.objects.get(patient=world.patient_record, subject="Swollen feet")
    assert thread.private
    html = client.get(reverse("messaging:inbox")).content.decode()
    assert "Only you" in html


def test_a_message_for_someone_else_after_switching_is_refused_on_the_form(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    response = compose(client, world, "alex")  # the form was made for Alex, the session acts for Rosa
    assert response.status_code == 200
    assert "You switched to another person&#x27;s record" in response.content.decode()
    assert not Thread.objects.filter(subject="Swollen feet").exists()


def test_a_double_submit_stores_one_message(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    key = str(uuid.uuid4())
    first = compose(client, world, "alex", key=key)
    second = compose(client, world, "alex", key=key)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Thread.objects.filter(subject="Swollen feet").count() == 1
    assert Message.objects.filter(idempotency_key=key).count() == 1


def test_an_executable_named_pdf_is_refused_and_what_was_typed_stays(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    response = compose(
        client, world, "alex", subject="My report", body="Please read it", attachments=[pdf("report.pdf", EXECUTABLE)]
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "report.pdf is not a PDF, JPEG or PNG file" in html
    assert 'value="My report"' in html
    assert "Please read it" in html
    assert not Thread.objects.filter(subject="My report").exists()
    assert not Attachment.objects.exclude(pk=world.attachment.pk).exists()


def test_an_oversize_file_is_refused_with_a_clear_message(client: Client, world: World, settings: Any) -> None:
    settings.MESSAGE_ATTACHMENT_MAX_BYTES = 20
    sign_in(client, world, "patient")
    response = compose(client, world, "alex", attachments=[pdf("scan.pdf")])
    html = response.content.decode()
    assert response.status_code == 200
    assert "scan.pdf is larger than" in html
    assert not Thread.objects.filter(subject="Swollen feet").exists()
    assert Attachment.objects.count() == 1  # the world's own


def test_six_files_are_refused(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    response = compose(client, world, "alex", attachments=[pdf(f"page{n}.pdf") for n in range(6)])
    assert response.status_code == 200
    assert "Attach at most 5 files to one message." in response.content.decode()
    assert not Thread.objects.filter(subject="Swollen feet").exists()


def test_only_care_teams_where_the_person_is_enrolled_are_offered(client: Client, world: World) -> None:
    sign_in(client, world, "parent_of_teen")  # Theo is enrolled at Lakeside only
    page = client.get(reverse("messaging:compose")).content.decode()
    assert "Pediatric nurses" in page
    assert "Diabetes care team" not in page
    response = compose(client, world, "teen", pool=world.pools["here"].pk)
    assert response.status_code == 200
    assert not Thread.objects.filter(subject="Swollen feet").exists()


# Hostile words and names render inert ------------------------------------------------------------------


def test_hostile_subjects_bodies_and_file_names_render_inert(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    compose(client, world, "alex", subject=HOSTILE_SUBJECT, body=HOSTILE_BODY, attachments=[pdf(HOSTILE_NAME)])
    thread = Thread.objects.get(patient=world.patient_record, subject=HOSTILE_SUBJECT)
    for url in (reverse("messaging:thread", args=[thread.pk]), reverse("messaging:inbox")):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html
        assert 'href="javascript:' not in html.lower()
    html = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
    assert '<a href="https://example.org/help" rel="nofollow">' in html  # a plain web link still works
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.pdf" in html


# A thread --------------------------------------------------------------------------------------------------


def staff_reply(world: World, thread: Thread, body: str = "Please come in on Tuesday.", **more: Any) -> Message:
    staff = actor_for(world.user("staff_here")).at_desk(Desk(world.org_here))
    return actions.reply_as_staff(staff=staff, thread=thread, body=body, **more)


def test_a_reply_is_marked_new_until_read(client: Client, world: World) -> None:
    thread = world.threads["rosa"]
    staff_reply(world, thread)
    sign_in(client, world, "caregiver_full")
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert "<strong>Swollen ankles</strong>" in inbox
    assert "New reply" in inbox
    assert "1 new reply from the care team." in client.get(reverse("family")).content.decode()
    page = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
    assert "Please come in on Tuesday." in page
    assert "New reply" in page
    assert "Internal: check her last potassium" not in page  # the care team's note is never shown
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert "New reply" not in inbox
    assert "new reply from the care team" not in client.get(reverse("family")).content.decode()


def test_a_caregiver_replies_and_a_closed_thread_keeps_the_text(client: Client, world: World) -> None:
    thread = world.threads["rosa"]
    sign_in(client, world, "caregiver_full")
    page = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
    response = client.post(
        reverse("messaging:thread", args=[thread.pk]), {"body": "It got worse.", "key": form_key(page)}
    )
    assert response.status_code == 302
    assert thread.messages.filter(body="It got worse.", on_behalf_of_name="Rosa Lopez").count() == 1
    Thread.objects.filter(pk=thread.pk).update(status=ThreadStatus.CLOSED)
    page = client.get(reverse("messaging:thread", args=[thread.pk])).content.decode()
    assert "This conversation is closed." in page
    response = client.post(
        reverse("messaging:thread", args=[thread.pk]), {"body": "One more thing", "key": str(uuid.uuid4())}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This conversation is closed. Start a new message" in html
    assert "One more thing" in html
    assert not thread.messages.filter(body="One more thing").exists()


def test_a_proxys_read_is_in_the_patients_access_history(client: Client, world: World) -> None:
    thread = world.threads["rosa"]
    sign_in(client, world, "caregiver_full")
    client.get(reverse("messaging:thread", args=[thread.pk]))
    client.get(reverse("messaging:attachment", args=[thread.pk, world.attachment.pk]))
    read = AuditEvent.objects.filter(
        action=AuditAction.MESSAGE_THREAD_VIEWED,
        subject_patient=world.people["rosa"],
        actor_user=world.user("caregiver_full"),
    )
    assert read.count() == 1
    assert AuditEvent.objects.filter(
        action=AuditAction.MESSAGE_ATTACHMENT_VIEWED, subject_patient=world.people["rosa"]
    ).exists()
    history = client.get(reverse("access_history")).content.decode()  # Rosa's, seen by her power of attorney
    assert "Read a message conversation" in history


def test_the_patients_own_read_is_not_recorded(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    assert client.get(reverse("messaging:thread", args=[world.threads["alex"].pk])).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.MESSAGE_THREAD_VIEWED).exists()


# Who sees what ---------------------------------------------------------------------------------------------


def test_a_parent_never_sees_an_adolescents_private_thread(client: Client, world: World) -> None:
    private = world.threads["teen_private"]
    sign_in(client, world, "parent_of_teen")
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert "School form" in inbox
    assert "Private question" not in inbox
    assert client.get(reverse("messaging:thread", args=[private.pk])).status_code == 404
    assert client.post(reverse("messaging:thread", args=[private.pk]), {"body": "x"}).status_code == 404
    teen = world.people["teen"].pk
    api = reverse("api-messages-thread", kwargs={"patient_id": teen, "thread_id": private.pk})
    assert client.get(api).status_code == 404
    assert client.post(api, {"body": "x"}, content_type="application/json").status_code == 404
    listed = client.get(reverse("api-messages", kwargs={"patient_id": teen})).json()
    assert [row["subject"] for row in listed["results"]] == ["School form"]
    assert not Message.objects.filter(body="x").exists()


@pytest.mark.parametrize("persona", ["caregiver_records", "caregiver_manager", "stranger", "staff_here"])
def test_no_messaging_scope_no_messages(client: Client, world: World, persona: str) -> None:
    sign_in(client, world, persona)
    thread = world.threads["rosa"]
    for url in (
        reverse("messaging:inbox"),
        reverse("messaging:compose"),
        reverse("messaging:thread", args=[thread.pk]),
        reverse("messaging:attachment", args=[thread.pk, world.attachment.pk]),
        reverse("messaging:email_choices"),
        reverse("api-messages", kwargs={"patient_id": world.people["rosa"].pk}),
    ):
        assert client.get(url).status_code == 404, url


def test_a_refill_conversation_needs_the_refills_scope(client: Client, world: World) -> None:
    from proxy.models import ProxyGrant

    ProxyGrant.objects.filter(pk=world.grants["caregiver_full"].pk).update(scopes=["records", "messaging"])
    sign_in(client, world, "caregiver_full")
    assert "Refill: Metformin" not in client.get(reverse("messaging:inbox")).content.decode()
    assert client.get(reverse("messaging:thread", args=[world.refill.thread_id])).status_code == 404


def test_no_messages_link_without_the_scope(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_records")
    assert reverse("messaging:inbox") not in client.get(reverse("home")).content.decode()
    client.logout()
    sign_in(client, world, "caregiver_full")
    assert reverse("messaging:inbox") in client.get(reverse("home")).content.decode()


def test_an_empty_inbox_says_so(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver")  # Maria, for herself: no messages yet
    html = client.get(reverse("messaging:inbox")).content.decode()
    assert "You have no messages yet." in html
    assert reverse("messaging:compose") in html


# Ask about this result -------------------------------------------------------------------------------------


def rosas_result(world: World, *, linked: bool) -> FhirResource:
    system = world.rosa_connection.health_system
    system.organization = world.org_here if linked else None
    system.save()
    source = world.rosa_connection.source
    write_page(source, [lab("rosa-a1c")])
    return FhirResource.objects.get(source=source, resource_id="rosa-a1c")


def test_ask_about_a_result_writes_to_the_ordering_organization(client: Client, world: World) -> None:
    result = rosas_result(world, linked=True)
    sign_in(client, world, "caregiver_full")
    record_page = client.get(reverse("records:result", args=[result.pk])).content.decode()
    ask = f"{reverse('messaging:compose')}?result={result.pk}"
    assert ask in record_page
    assert "Ask about this result" in record_page
    page = client.get(ask).content.decode()
    assert "Hemoglobin A1c" in page
    assert "Diabetes care team" in page
    assert 'value="Question about a test result"' in page
    assert '<option value="results" selected>' in page
    response = client.post(
        ask,
        {
            "pool": world.pools["here"].pk,
            "topic": Topic.RESULTS,
            "subject": "Question about a test result",
            "body": "Is this high?",
            "patient": str(world.people["rosa"].pk),
            "key": form_key(page),
        },
    )
    assert response.status_code == 302
    thread = Thread.objects.get(result=result)
    assert thread.topic == Topic.RESULTS
    assert thread.pool == world.pools["here"]
    assert "Hemoglobin A1c" in client.get(response["Location"]).content.decode()


def test_a_result_from_a_health_system_not_on_the_portal_says_whom_to_ask(client: Client, world: World) -> None:
    result = rosas_result(world, linked=False)
    sign_in(client, world, "caregiver_full")
    assert "Ask about this result" not in client.get(reverse("records:result", args=[result.pk])).content.decode()
    page = client.get(f"{reverse('messaging:compose')}?result={result.pk}").content.decode()
    assert "This result came from Outside Hospital, which does not take messages through this portal." in page
    assert 'name="body"' not in page


def test_no_ask_link_for_someone_without_messages(client: Client, world: World) -> None:
    result = rosas_result(world, linked=True)
    sign_in(client, world, "caregiver_records")
    assert "Ask about this result" not in client.get(reverse("records:result", args=[result.pk])).content.decode()


def test_a_result_the_caregiver_may_not_read_is_a_404(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    other = world.patient_record  # Alex's result, not Rosa's
    from tests.records.record_data import source_for

    source = source_for(other, "Alex's lab")
    write_page(source, [lab("alex-a1c")])
    row = FhirResource.objects.get(source=source, resource_id="alex-a1c")
    assert client.get(f"{reverse('messaging:compose')}?result={row.pk}").status_code == 404
    assert client.get(f"{reverse('messaging:compose')}?result=junk").status_code == 404


# Emails -----------------------------------------------------------------------------------------------------


def test_a_caregiver_opts_in_to_emails_and_the_patient_is_told_theirs_are_on(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    page = client.get(reverse("messaging:email_choices")).content.decode()
    assert "Email me when there is a new message" in page
    assert "Email me before a medicine runs out" in page
    response = client.post(reverse("messaging:email_choices"), {"messages": "on"})
    assert response.status_code == 302
    choice = NotificationChoice.objects.get(user=world.user("caregiver_full"), patient=world.people["rosa"])
    assert choice.messages
    assert not choice.refill_reminders
    assert "checked" in client.get(reverse("messaging:email_choices")).content.decode()
    client.logout()
    sign_in(client, world, "patient")
    assert "You are always emailed" in client.get(reverse("messaging:email_choices")).content.decode()


def test_new_replies_are_counted_for_the_whole_family_in_one_query(
    world: World, django_assert_num_queries: Any
) -> None:
    """Maria looks after Rosa (every scope) and Theo (13): a private reply to Theo is never counted for her."""
    from messaging.selectors import unread_by_subject
    from proxy.access import subjects_for
    from proxy.models import GrantStatus, ProxyGrant

    caregiver = world.user("caregiver")
    for person in ("rosa", "teen"):
        ProxyGrant.objects.create(
            grantee=caregiver,
            patient=world.people[person],
            legal_basis="power_of_attorney" if person == "rosa" else "parent_of_minor",
            scopes=["records", "messaging", "refills"],
            status=GrantStatus.ACTIVE,
        )
    staff_reply(world, world.threads["rosa"])
    staff_reply(world, world.threads["alex"])
    other = actor_for(world.user("staff_other")).at_desk(Desk(world.org_other))
    actions.reply_as_staff(staff=other, thread=world.threads["teen"], body="Form is ready")
    actions.reply_as_staff(staff=other, thread=world.threads["teen_private"], body="Private answer")
    actor = actor_for(caregiver)
    subjects = subjects_for(actor)
    with django_assert_num_queries(1):
        counts = unread_by_subject(actor, subjects)
    assert counts == {world.people["rosa"].pk: 1, world.people["teen"].pk: 1}


def test_a_result_is_named_on_a_thread_only_to_those_who_may_read_it(client: Client, world: World) -> None:
    """Theo (13) asked about a confidential result: his parent sees the thread, never the result's name."""
    from records.models import RecordSource, SourceKind

    source = RecordSource.objects.create(patient=world.people["teen"], kind=SourceKind.UPLOAD, label="Files")
    write_page(source, [lab("teen-hiv", code="75622-1", display="HIV test", value=None, security="HIV")])
    result = FhirResource.objects.get(resource_id="teen-hiv")
    Thread.objects.filter(pk=world.threads["teen"].pk).update(result=result)
    sign_in(client, world, "parent_of_teen")
    html = client.get(reverse("messaging:thread", args=[world.threads["teen"].pk])).content.decode()
    assert "A test result is linked to this conversation." in html
    assert "HIV" not in html
