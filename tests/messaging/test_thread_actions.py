"""The messaging actions themselves: who may write what, what they store, what they refuse (nothing changed)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from accounts.actors import Actor, actor_for
from accounts.models import AuditEvent
from accounts.scoping import Desk
from messaging import actions
from messaging.access import access_thread_by_id, threads_visible_to
from messaging.files import AttachmentRejectedError, check_attachments
from messaging.models import Message, MessageKind, Notice, NoticeKind, NotificationChoice, Thread, ThreadStatus, Topic
from messaging.notices import deliver_pending
from messaging.selectors import patient_threads, thread_messages
from proxy.access import resolve_actor
from tests.conftest import SMALL_PDF, World
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def acting(world: World, persona: str) -> Actor:
    grant = world.grants.get(persona)
    return resolve_actor(world.user(persona), subject_id=grant.patient_id if grant else None)


def at_desk(world: World, persona: str, *, here: bool = True) -> Actor:
    return actor_for(world.user(persona)).at_desk(Desk(world.org_here if here else world.org_other))


def counts() -> tuple[int, int, int]:
    return Thread.objects.count(), Message.objects.count(), Notice.objects.count()


def test_a_caregiver_starts_a_thread_on_behalf_of_the_patient(world: World) -> None:
    actor = acting(world, "caregiver_full")
    sent = actions.start_thread(
        actor=actor,
        pool=world.pools["here"],
        topic=Topic.CARE,
        subject="  Dizzy   in the mornings ",
        body="She feels dizzy after her pills.",
    )
    thread = sent.thread
    assert sent.created
    assert thread.patient == world.people["rosa"]
    assert thread.subject == "Dizzy in the mornings"
    assert thread.status == ThreadStatus.WAITING_ON_STAFF
    assert thread.reply_due_at > timezone.now()
    assert sent.message.on_behalf_of_name == "Rosa Lopez"
    assert sent.message.author == world.user("caregiver_full")
    audit = AuditEvent.objects.get(action="messages.sent", object_id=str(thread.pk))
    assert audit.subject_patient == world.people["rosa"]
    assert audit.basis == "power_of_attorney"


def test_the_same_key_sent_twice_stores_one_message(world: World) -> None:
    actor = acting(world, "patient")
    key = uuid.uuid4()
    first = actions.start_thread(
        actor=actor, pool=world.pools["here"], topic=Topic.OTHER, subject="Hi", body="One", idempotency_key=key
    )
    before = counts()
    again = actions.start_thread(
        actor=actor, pool=world.pools["here"], topic=Topic.OTHER, subject="Hi", body="One", idempotency_key=key
    )
    assert not again.created
    assert again.thread == first.thread
    assert counts() == before


@pytest.mark.parametrize(
    ("persona", "pool_key", "private"),
    [
        ("caregiver_records", "here", False),  # no messaging scope
        ("caregiver_full", "here", True),  # a caregiver cannot write privately
        ("patient", "other", False),  # Alex is not enrolled at Lakeside
    ],
)
def test_refusals_change_nothing(world: World, persona: str, pool_key: str, private: bool) -> None:
    before = counts()
    with pytest.raises(actions.NotAllowedError):
        actions.start_thread(
            actor=acting(world, persona),
            pool=world.pools[pool_key],
            topic=Topic.CARE,
            subject="x",
            body="y",
            private=private,
        )
    assert counts() == before


def test_empty_or_huge_bodies_are_refused_with_a_message(world: World) -> None:
    for body in ("   ", "x" * (actions.BODY_LIMIT + 1)):
        with pytest.raises(actions.MessagingError):
            actions.start_thread(
                actor=acting(world, "patient"), pool=world.pools["here"], topic=Topic.CARE, subject="x", body=body
            )
    with pytest.raises(actions.MessagingError):
        actions.start_thread(
            actor=acting(world, "patient"), pool=world.pools["here"], topic=Topic.REFILL, subject="x", body="y"
        )


def test_a_private_thread_is_the_patients_alone(world: World) -> None:
    # Theo's private thread: his parent neither lists nor opens it.
    parent = acting(world, "parent_of_teen")
    listed = set(threads_visible_to(parent))
    assert world.threads["teen"] in listed
    assert world.threads["teen_private"] not in listed
    with pytest.raises(Http404):
        access_thread_by_id(parent, world.threads["teen_private"].pk)


def test_staff_reply_notifies_the_patient_side_once_without_health_details(world: World, settings: Any) -> None:
    settings.PORTAL_URL = "https://portal.example"
    rosa_thread = world.threads["rosa"]
    NotificationChoice.objects.create(user=world.user("caregiver_full"), patient=world.people["rosa"], messages=True)
    # The records-only grantee holds no messaging scope: never told, even had they asked.
    NotificationChoice.objects.create(user=world.user("caregiver_records"), patient=world.people["rosa"], messages=True)
    nurse = at_desk(world, "staff_here")
    actions.reply_as_staff(staff=nurse, thread=rosa_thread, body="Please keep her feet up; potassium is fine.")
    rosa_thread.refresh_from_db()
    assert rosa_thread.status == ThreadStatus.WAITING_ON_PATIENT
    assert rosa_thread.reply_due_at is None
    assert rosa_thread.assigned_to == world.user("staff_here")
    notices = list(Notice.objects.filter(kind=NoticeKind.NEW_MESSAGE))
    assert [n.recipient for n in notices] == [world.user("caregiver_full")]  # Rosa has no login
    mail.outbox.clear()
    assert deliver_pending() == 1
    assert deliver_pending() == 0
    (email,) = mail.outbox
    assert email.to == [world.user("caregiver_full").email]
    assert "potassium" not in email.body
    assert "Swollen" not in email.body
    assert "Rosa" not in email.body
    assert "https://portal.example/messages/" in email.body


def test_internal_notes_stay_on_the_staff_side(world: World) -> None:
    nurse = at_desk(world, "staff_here")
    actions.add_note(staff=nurse, thread=world.threads["alex"], body="Call pharmacy first")
    patient_side = list(thread_messages(world.threads["alex"], staff_side=False))
    staff_side = list(thread_messages(world.threads["alex"], staff_side=True))
    assert all(m.kind != MessageKind.NOTE for m in patient_side)
    assert any(m.kind == MessageKind.NOTE for m in staff_side)
    assert not Notice.objects.exists()


def test_staff_of_another_organization_change_nothing(world: World) -> None:
    before = counts()
    lakeside = at_desk(world, "staff_other", here=False)
    for attempt in (
        lambda: actions.reply_as_staff(staff=lakeside, thread=world.threads["rosa"], body="hi"),
        lambda: actions.add_note(staff=lakeside, thread=world.threads["rosa"], body="hi"),
        lambda: actions.claim_thread(staff=lakeside, thread=world.threads["rosa"]),
        lambda: actions.close_thread(staff=lakeside, thread=world.threads["rosa"]),
    ):
        with pytest.raises(actions.NotAllowedError):
            attempt()
    assert counts() == before
    assert Thread.objects.get(pk=world.threads["rosa"].pk).assigned_to is None


def test_two_staff_claiming_at_once_the_second_is_told(world: World) -> None:
    nurse = at_desk(world, "staff_here")
    admin = at_desk(world, "org_admin")
    thread = world.threads["alex"]
    actions.claim_thread(staff=nurse, thread=thread)
    with pytest.raises(actions.MessagingError, match="Jordan Lee"):
        actions.claim_thread(staff=admin, thread=Thread.objects.get(pk=thread.pk))
    assert Thread.objects.get(pk=thread.pk).assigned_to == world.user("staff_here")


def test_a_patient_reply_after_an_answer_restarts_the_clock_and_closed_threads_refuse(world: World) -> None:
    thread = world.threads["alex"]
    nurse = at_desk(world, "staff_here")
    actions.reply_as_staff(staff=nurse, thread=thread, body="Take it with food.")
    patient = acting(world, "patient")
    actions.reply_as_patient(actor=patient, thread=thread, body="Thanks, and at night?")
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING_ON_STAFF
    assert thread.reply_due_at is not None
    actions.close_thread(staff=nurse, thread=thread)
    before = counts()
    with pytest.raises(actions.MessagingError):
        actions.reply_as_patient(actor=patient, thread=thread, body="One more thing")
    assert counts() == before
    actions.reopen_thread(staff=nurse, thread=thread)
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING_ON_STAFF


def unread_count(actor: Actor) -> int:
    return sum(1 for thread in patient_threads(actor) if thread.unread)


def test_unread_markers_follow_what_the_person_has_seen(world: World) -> None:
    patient = acting(world, "patient")
    assert unread_count(patient) == 0
    actions.reply_as_staff(staff=at_desk(world, "staff_here"), thread=world.threads["alex"], body="Answer")
    assert unread_count(patient) == 1
    actions.mark_read(user=world.user("patient"), thread=world.threads["alex"])
    assert unread_count(patient) == 0


def test_overdue_threads_are_escalated_to_the_lead_once(world: World) -> None:
    Thread.objects.filter(pk=world.threads["rosa"].pk).update(reply_due_at=timezone.now() - timedelta(hours=1))
    assert actions.escalate_overdue() == 1
    assert actions.escalate_overdue() == 0
    notice = Notice.objects.get(kind=NoticeKind.ESCALATION)
    assert notice.recipient == world.user("org_admin")
    assert notice.thread == world.threads["rosa"]


def test_files_are_checked_by_content() -> None:
    good = SimpleUploadedFile("scan.pdf", SMALL_PDF, content_type="application/pdf")
    (checked,) = check_attachments([good])
    assert checked.content_type == "application/pdf"
    assert checked.name == "scan.pdf"
    executable = SimpleUploadedFile("report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100, content_type="application/pdf")
    with pytest.raises(AttachmentRejectedError, match=r"report\.pdf is not a PDF"):
        check_attachments([executable])
    scripted = SimpleUploadedFile("form.pdf", SMALL_PDF.replace(b"<<>>", b"<</OpenAction<</S/JavaScript>>>>", 1))
    with pytest.raises(AttachmentRejectedError, match="active content"):
        check_attachments([scripted])
    with pytest.raises(AttachmentRejectedError, match="at most 5"):
        check_attachments([SimpleUploadedFile(f"{n}.pdf", SMALL_PDF) for n in range(6)])
    hostile = SimpleUploadedFile("../../etc/<script>x</script>\x00.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (checked,) = check_attachments([hostile])
    assert "/" not in checked.name
    assert "\x00" not in checked.name


def test_the_patients_side_hears_of_each_others_messages_and_the_assignee_of_replies(world: World) -> None:
    rosa = world.people["rosa"]
    rosa.user = UserFactory(email="rosa@example.test")
    rosa.save(update_fields=["user"])
    thread = Thread.objects.get(pk=world.threads["rosa"].pk)
    actions.claim_thread(staff=at_desk(world, "staff_here"), thread=thread)
    sent = actions.reply_as_patient(actor=acting(world, "caregiver_full"), thread=thread, body="Still swollen today")
    told = {(n.kind, n.recipient.email) for n in Notice.objects.filter(message=sent.message)}
    # Rosa is told that her daughter wrote; the nurse who took it hears of it; the author is never told.
    assert told == {
        (NoticeKind.NEW_MESSAGE, "rosa@example.test"),
        (NoticeKind.NEW_FOR_STAFF, "nurse.here@example.test"),
    }
