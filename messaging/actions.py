"""Writes of the messaging app: threads, replies, notes, claiming, closing, reading, and the outbox of notices.

Every action takes objects already checked by messaging.access (a thread, a pool, a result), the acting
`Actor`, and keyword arguments; one transaction holds the change, its audit row and its notices (the outbox),
and the notices leave after commit (messaging.notices). Who asks is re-checked here: a refusal raises
NotAllowedError (answered 403, nothing changed); a change that cannot be made raises MessagingError.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from accounts.models import Enrollment, Membership, Patient, User
from messaging.access import INBOX_ROLES, colleagues_at_desk
from messaging.files import CheckedFile
from messaging.models import (
    Attachment,
    Message,
    MessageKind,
    Notice,
    NoticeKind,
    NotificationChoice,
    Pool,
    QuickReply,
    Thread,
    ThreadRead,
    ThreadStatus,
    Topic,
)
from messaging.notices import deliver_after_commit
from messaging.turnaround import reply_due
from proxy.actions import NotAllowedError, ProxyError

if TYPE_CHECKING:
    from django.http import HttpRequest

    from records.models import FhirResource

BODY_LIMIT = 10_000
SUBJECT_LIMIT = 150

__all__ = ["MessagingError", "NotAllowedError"]


class MessagingError(ProxyError):
    """A change that cannot be made, with a message for the person who asked (nothing changed)."""


@dataclass(frozen=True)
class Sent:
    thread: Thread
    message: Message
    created: bool  # False when the same idempotency key was sent before: nothing new was stored


def _clean_body(body: str) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise MessagingError(_("Write a message first."))
    if len(text) > BODY_LIMIT:
        raise MessagingError(_("A message can be at most %(limit)s characters.") % {"limit": BODY_LIMIT})
    return text


def _user_name(user: User) -> str:
    return user.full_name or user.email


def _patient_side_author(actor: Actor) -> tuple[User, Patient]:
    if actor.user is None or actor.subject is None or Scope.MESSAGING not in actor.scopes:
        raise NotAllowedError(_("You may not send messages for this person."))
    return actor.user, actor.subject


def _on_behalf(actor: Actor, patient: Patient) -> str:
    return "" if actor.acts_for_self else patient.display_name


def _save_attachments(message: Message, files: list[CheckedFile]) -> None:
    for checked in files:
        attachment = Attachment(
            message=message,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.upload.size or 0,
        )
        attachment.file.save(f"{uuid.uuid4().hex}.{checked.extension}", checked.upload, save=False)
        attachment.save()


def _existing(author: User, idempotency_key: uuid.UUID | None) -> Message | None:
    if idempotency_key is None:
        return None
    return Message.objects.select_related("thread").filter(author=author, idempotency_key=idempotency_key).first()


def start_thread(
    *,
    actor: Actor,
    pool: Pool,
    topic: str,
    subject: str,
    body: str,
    files: list[CheckedFile] | None = None,
    private: bool = False,
    result: FhirResource | None = None,
    idempotency_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> Sent:
    """A new conversation with a care team (`pool` from access_pool_to_write_to; `result` from access_result_by_id)."""
    author, patient = _patient_side_author(actor)
    if topic not in Topic.values or topic == Topic.REFILL:
        raise MessagingError(_("Choose what the message is about."))
    if private and not actor.acts_for_self:
        raise NotAllowedError(_("Only the patient can write a private message."))
    if result is not None and result.patient_id != patient.pk:
        raise NotAllowedError(_("That result is not in this person's record."))
    title = " ".join((subject or "").split())[:SUBJECT_LIMIT]
    if not title:
        raise MessagingError(_("Give the message a subject."))
    text = _clean_body(body)
    earlier = _existing(author, idempotency_key)
    if earlier is not None:
        return Sent(thread=earlier.thread, message=earlier, created=False)
    now = timezone.now()
    try:
        with transaction.atomic():
            # Re-checked inside the transaction: enrolled at the pool's organization, the team still taking messages.
            if not Enrollment.objects.filter(patient=patient, organization_id=pool.organization_id).exists():
                raise NotAllowedError(_("This person is not a patient of that organization."))
            if not Pool.objects.filter(pk=pool.pk, is_active=True).exists():
                raise MessagingError(_("That care team no longer takes messages. Choose another."))
            thread = Thread.objects.create(
                organization_id=pool.organization_id,
                pool=pool,
                patient=patient,
                topic=topic,
                subject=title,
                started_by=author,
                private=private,
                result=result,
                status=ThreadStatus.WAITING_ON_STAFF,
                created_at=now,
                last_message_at=now,
                last_patient_message_at=now,
                reply_due_at=reply_due(pool.organization, now),
            )
            message = Message.objects.create(
                thread=thread,
                author=author,
                author_name=_user_name(author),
                on_behalf_of_name=_on_behalf(actor, patient),
                body=text,
                created_at=now,
                idempotency_key=idempotency_key,
            )
            _save_attachments(message, files or [])
            ThreadRead.objects.create(thread=thread, user=author, read_at=now)
            queue_patient_side_notices(thread, message=message, kind=NoticeKind.NEW_MESSAGE, author=author)
            record_audit_event(
                action=AuditAction.MESSAGE_SENT,
                actor=actor,
                request=request,
                object_type="thread",
                object_id=thread.pk,
            )
    except IntegrityError:
        # The same key sent twice at once: the other request stored it.
        earlier = _existing(author, idempotency_key)
        if earlier is None:
            raise
        return Sent(thread=earlier.thread, message=earlier, created=False)
    return Sent(thread=thread, message=message, created=True)


def reply_as_patient(
    *,
    actor: Actor,
    thread: Thread,
    body: str,
    files: list[CheckedFile] | None = None,
    idempotency_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> Sent:
    """The patient or a caregiver writes again in a thread (from access_thread_by_id)."""
    author, patient = _patient_side_author(actor)
    if thread.patient_id != patient.pk or (thread.private and not actor.acts_for_self):
        raise NotAllowedError(_("You may not write in this conversation."))
    text = _clean_body(body)
    earlier = _existing(author, idempotency_key)
    if earlier is not None:
        return Sent(thread=earlier.thread, message=earlier, created=False)
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Thread.objects.select_for_update(of=("self",))
            .select_related("organization", "patient__user", "assigned_to")
            .get(pk=thread.pk)
        )
        if locked.status == ThreadStatus.CLOSED:
            raise MessagingError(_("This conversation is closed. Start a new message to write to the care team."))
        message = Message.objects.create(
            thread=locked,
            author=author,
            author_name=_user_name(author),
            on_behalf_of_name=_on_behalf(actor, patient),
            body=text,
            created_at=now,
            idempotency_key=idempotency_key,
        )
        _save_attachments(message, files or [])
        # A new question restarts the clock only when the team was not already due to answer.
        due = locked.reply_due_at if locked.status == ThreadStatus.WAITING_ON_STAFF else None
        Thread.objects.filter(pk=locked.pk).update(
            status=ThreadStatus.WAITING_ON_STAFF,
            last_message_at=now,
            last_patient_message_at=now,
            reply_due_at=due or reply_due(locked.organization, now),
            escalated_at=None if due is None else locked.escalated_at,
        )
        _mark_read(locked, author, now)
        queue_patient_side_notices(locked, message=message, kind=NoticeKind.NEW_MESSAGE, author=author)
        if locked.assigned_to is not None:
            # The staff member who took the conversation hears that the patient's side wrote again.
            queue_notice(
                kind=NoticeKind.NEW_FOR_STAFF,
                recipient=locked.assigned_to,
                thread=locked,
                message=message,
                dedupe=f"{message.pk}:{locked.assigned_to.pk}",
            )
        record_audit_event(
            action=AuditAction.MESSAGE_SENT, actor=actor, request=request, object_type="thread", object_id=locked.pk
        )
    thread.refresh_from_db()
    return Sent(thread=thread, message=message, created=True)


def _audit_staff_change(action: AuditAction, *, staff: Actor, thread: Thread, request: HttpRequest | None) -> None:
    """A care team's change to a thread, in the patient's access history."""
    record_audit_event(
        action=action, actor=staff, subject=thread.patient, request=request, object_type="thread", object_id=thread.pk
    )


def _check_desk(staff: Actor, thread: Thread, roles: frozenset[str] = INBOX_ROLES) -> User:
    """The staff member works at the thread's organization, in a role that answers messages."""
    if staff.user is None or staff.desk is None or staff.desk.organization is None:
        raise NotAllowedError(_("Only the care team can do this."))
    if thread.organization_id != staff.desk.organization.pk or not staff.roles_at(thread.organization_id) & roles:
        raise NotAllowedError(_("Only the care team can do this."))
    return staff.user


def reply_as_staff(
    *,
    staff: Actor,
    thread: Thread,
    body: str,
    files: list[CheckedFile] | None = None,
    close: bool = False,
    request: HttpRequest | None = None,
) -> Message:
    """The care team answers (from access_staff_thread_by_id): the patient's side is told by email, no details."""
    user = _check_desk(staff, thread)
    text = _clean_body(body)
    now = timezone.now()
    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        message = Message.objects.create(
            thread=locked, author=user, from_staff=True, author_name=_user_name(user), body=text, created_at=now
        )
        _save_attachments(message, files or [])
        Thread.objects.filter(pk=locked.pk).update(
            status=ThreadStatus.CLOSED if close else ThreadStatus.WAITING_ON_PATIENT,
            assigned_to=locked.assigned_to_id or user.pk,
            last_message_at=now,
            last_staff_message_at=now,
            reply_due_at=None,
            closed_at=now if close else None,
        )
        _mark_read(locked, user, now)
        _audit_staff_change(AuditAction.MESSAGE_REPLIED, staff=staff, thread=locked, request=request)
        queue_patient_side_notices(locked, message=message, kind=NoticeKind.NEW_MESSAGE)
    thread.refresh_from_db()
    return message


def add_note(*, staff: Actor, thread: Thread, body: str, request: HttpRequest | None = None) -> Message:
    """An internal note: the care team sees it in the thread; the patient's side never does."""
    user = _check_desk(staff, thread)
    text = _clean_body(body)
    with transaction.atomic():
        message = Message.objects.create(
            thread=thread, kind=MessageKind.NOTE, author=user, from_staff=True, author_name=_user_name(user), body=text
        )
        _audit_staff_change(AuditAction.MESSAGE_NOTE_ADDED, staff=staff, thread=thread, request=request)
    return message


def _event(thread: Thread, user: User, text: str) -> None:
    Message.objects.create(
        thread=thread, kind=MessageKind.EVENT, author=user, from_staff=True, author_name=_user_name(user), body=text
    )


def claim_thread(*, staff: Actor, thread: Thread, request: HttpRequest | None = None) -> None:
    """Take an unassigned thread. Two people claiming at once: the first wins, the other is told who has it."""
    user = _check_desk(staff, thread)
    with transaction.atomic():
        taken = Thread.objects.filter(pk=thread.pk).filter(Q(assigned_to__isnull=True) | Q(assigned_to=user))
        if not taken.update(assigned_to=user):
            holder = Thread.objects.filter(pk=thread.pk).values_list("assigned_to__full_name", flat=True).first()
            raise MessagingError(
                _("%(name)s has already taken this conversation.") % {"name": holder or _("Someone else")}
            )
        _event(thread, user, _("%(name)s took this conversation.") % {"name": _user_name(user)})
        _audit_staff_change(AuditAction.MESSAGE_THREAD_ASSIGNED, staff=staff, thread=thread, request=request)
    thread.refresh_from_db()


def assign_thread(*, staff: Actor, thread: Thread, assignee: User | None, request: HttpRequest | None = None) -> None:
    """Give a thread to a colleague (one of access.colleagues_at_desk(staff)), or back to the pool (None)."""
    user = _check_desk(staff, thread)
    if assignee is not None and not colleagues_at_desk(staff).filter(pk=assignee.pk).exists():
        raise NotAllowedError(_("A conversation can go only to someone on this organization's care team."))
    with transaction.atomic():
        Thread.objects.filter(pk=thread.pk).update(assigned_to=assignee)
        if assignee is None:
            _event(
                thread, user, _("%(name)s put this conversation back in the team's inbox.") % {"name": _user_name(user)}
            )
        else:
            _event(
                thread,
                user,
                _("%(name)s gave this conversation to %(other)s.")
                % {"name": _user_name(user), "other": _user_name(assignee)},
            )
            if assignee.pk != user.pk:
                queue_notice(
                    kind=NoticeKind.NEW_FOR_STAFF,
                    recipient=assignee,
                    thread=thread,
                    dedupe=f"assigned:{thread.pk}:{assignee.pk}:{timezone.now().timestamp()}",
                )
        _audit_staff_change(AuditAction.MESSAGE_THREAD_ASSIGNED, staff=staff, thread=thread, request=request)
    thread.refresh_from_db()


def close_thread(*, staff: Actor, thread: Thread, request: HttpRequest | None = None) -> None:
    user = _check_desk(staff, thread)
    with transaction.atomic():
        if (
            not Thread.objects.filter(pk=thread.pk)
            .exclude(status=ThreadStatus.CLOSED)
            .update(status=ThreadStatus.CLOSED, closed_at=timezone.now(), reply_due_at=None)
        ):
            raise MessagingError(_("This conversation is already closed."))
        _event(thread, user, _("%(name)s closed this conversation.") % {"name": _user_name(user)})
        _audit_staff_change(AuditAction.MESSAGE_THREAD_CLOSED, staff=staff, thread=thread, request=request)
    thread.refresh_from_db()


def reopen_thread(*, staff: Actor, thread: Thread, request: HttpRequest | None = None) -> None:
    """Reopened threads wait on the care team again, due by the organization's turnaround from now."""
    user = _check_desk(staff, thread)
    now = timezone.now()
    with transaction.atomic():
        if not Thread.objects.filter(pk=thread.pk, status=ThreadStatus.CLOSED).update(
            status=ThreadStatus.WAITING_ON_STAFF,
            closed_at=None,
            reply_due_at=reply_due(thread.organization, now),
            escalated_at=None,
        ):
            raise MessagingError(_("This conversation is not closed."))
        _event(thread, user, _("%(name)s reopened this conversation.") % {"name": _user_name(user)})
        _audit_staff_change(AuditAction.MESSAGE_THREAD_REOPENED, staff=staff, thread=thread, request=request)
    thread.refresh_from_db()


def _mark_read(thread: Thread, user: User, when: datetime) -> None:
    ThreadRead.objects.update_or_create(thread=thread, user=user, defaults={"read_at": when})


def mark_read(*, user: User, thread: Thread) -> None:
    """The person has seen the thread as it is now (after its page was shown to them)."""
    _mark_read(thread, user, timezone.now())


# The outbox


def queue_notice(
    *, kind: str, recipient: User, dedupe: str, thread: Thread | None = None, message: Message | None = None
) -> None:
    """One notice in the outbox, inside the caller's transaction; sent once, after commit (messaging.notices)."""
    Notice.objects.bulk_create(
        [Notice(kind=kind, recipient=recipient, thread=thread, message=message, dedupe_key=f"{kind}:{dedupe}"[:200])],
        ignore_conflicts=True,
    )
    deliver_after_commit()


def patient_side_recipients(thread: Thread) -> list[User]:
    """Who hears of news in a thread: the patient (if they sign in) and caregivers who hold the scope and chose to.

    A private thread is the patient's alone. A refill request's news goes to caregivers with the refills scope
    who chose refill emails or message emails; a conversation's to those with messaging who chose message emails.
    """
    people: list[User] = []
    patient = thread.patient
    if patient.user_id is not None and patient.user is not None and patient.user.is_active:
        people.append(patient.user)
    if thread.private:
        return people
    if thread.topic == Topic.REFILL:
        return people + caregivers_who_chose(patient, scope=Scope.REFILLS, wanting=("refill_reminders", "messages"))
    return people + caregivers_who_chose(patient, scope=Scope.MESSAGING, wanting=("messages",))


def caregivers_who_chose(patient: Patient, *, scope: str, wanting: tuple[str, ...]) -> list[User]:
    """Active grantees of `patient` with `scope` who asked for any of these emails (NotificationChoice fields;
    proxy.policy's limits still apply)."""
    from proxy.selectors import active_grantees

    asked = Q()
    for choice in wanting:
        asked |= Q(**{choice: True})
    chosen = set(NotificationChoice.objects.filter(asked, patient=patient).values_list("user_id", flat=True))
    return [user for user in active_grantees(patient, scope=scope) if user.pk in chosen]


def queue_patient_side_notices(thread: Thread, *, message: Message, kind: str, author: User | None = None) -> None:
    """Everyone on the patient's side who should hear of `message`, but its author."""
    for recipient in patient_side_recipients(thread):
        if author is not None and recipient.pk == author.pk:
            continue
        queue_notice(
            kind=kind, recipient=recipient, thread=thread, message=message, dedupe=f"{message.pk}:{recipient.pk}"
        )


def choose_notifications(
    *, actor: Actor, messages: bool, refill_reminders: bool, request: HttpRequest | None = None
) -> None:
    """A caregiver's choice of emails about the person they act for (the patient's own are always on)."""
    if actor.user is None or actor.subject is None or actor.acts_for_self:
        raise NotAllowedError(_("Only someone helping this person chooses these emails."))
    with transaction.atomic():
        NotificationChoice.objects.update_or_create(
            user=actor.user,
            patient=actor.subject,
            defaults={
                "messages": messages and Scope.MESSAGING in actor.scopes,
                "refill_reminders": refill_reminders and Scope.REFILLS in actor.scopes,
            },
        )
        record_audit_event(action=AuditAction.MESSAGING_NOTIFICATIONS_CHANGED, actor=actor, request=request)


def escalate_overdue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Threads past their reply date go to their pool's lead, once each (the beat task calls this)."""
    moment = now or timezone.now()
    escalated = 0
    due = (
        Thread.objects.filter(status=ThreadStatus.WAITING_ON_STAFF, escalated_at__isnull=True, reply_due_at__lt=moment)
        .select_related("pool__lead", "patient")
        .order_by("reply_due_at")[:limit]
    )
    for thread in due:
        with transaction.atomic():
            if not Thread.objects.filter(pk=thread.pk, escalated_at__isnull=True).update(escalated_at=moment):
                continue
            record_audit_event(
                action=AuditAction.MESSAGE_THREAD_ESCALATED,
                subject=thread.patient,
                basis="system",
                object_type="thread",
                object_id=thread.pk,
            )
            lead = thread.pool.lead
            if lead is not None and lead.is_active:
                queue_notice(
                    kind=NoticeKind.ESCALATION, recipient=lead, thread=thread, dedupe=f"{thread.pk}:{moment.date()}"
                )
            escalated += 1
    return escalated


# Quick replies (an organization's reply templates, kept by its admins)


def _check_quick_reply_admin(staff: Actor) -> None:
    if staff.desk is None or staff.desk.organization is None or not staff.is_org_admin_of(staff.desk.organization.pk):
        raise NotAllowedError(_("Only the organization's admins can change its reply templates."))


def _clean_quick_reply(title: str, body: str) -> tuple[str, str]:
    name = " ".join((title or "").split())[:QUICK_REPLY_TITLE_LIMIT]
    if not name:
        raise MessagingError(_("Give the template a title."))
    return name, _clean_body(body)


QUICK_REPLY_TITLE_LIMIT = 100


def save_quick_reply(
    *,
    staff: Actor,
    title: str,
    body: str,
    quick_reply: QuickReply | None = None,
    request: HttpRequest | None = None,
) -> QuickReply:
    """A new template at the desk's organization, or a change to one (from access_quick_reply_by_id)."""
    _check_quick_reply_admin(staff)
    organization = staff.organization
    if quick_reply is not None and quick_reply.organization_id != organization.pk:
        raise NotAllowedError(_("Only the organization's admins can change its reply templates."))
    name, text = _clean_quick_reply(title, body)
    taken = QuickReply.objects.filter(organization=organization, title=name)
    if quick_reply is not None:
        taken = taken.exclude(pk=quick_reply.pk)
    try:
        with transaction.atomic():
            if taken.exists():
                raise MessagingError(_("Another template already has this title."))
            if quick_reply is None:
                quick_reply = QuickReply.objects.create(organization=organization, title=name, body=text)
                change = "created"
            else:
                QuickReply.objects.filter(pk=quick_reply.pk).update(title=name, body=text)
                quick_reply.title, quick_reply.body = name, text
                change = "changed"
            record_audit_event(
                action=AuditAction.QUICK_REPLY_CHANGED,
                actor=staff,
                request=request,
                object_type="quickreply",
                object_id=quick_reply.pk,
                detail={"change": change},
            )
    except IntegrityError as error:  # the same title saved twice at once
        raise MessagingError(_("Another template already has this title.")) from error
    return quick_reply


def delete_quick_reply(*, staff: Actor, quick_reply: QuickReply, request: HttpRequest | None = None) -> None:
    _check_quick_reply_admin(staff)
    if quick_reply.organization_id != staff.organization.pk:
        raise NotAllowedError(_("Only the organization's admins can change its reply templates."))
    with transaction.atomic():
        record_audit_event(
            action=AuditAction.QUICK_REPLY_CHANGED,
            actor=staff,
            request=request,
            object_type="quickreply",
            object_id=quick_reply.pk,
            detail={"change": "deleted"},
        )
        QuickReply.objects.filter(pk=quick_reply.pk).delete()


# The daily staff digest


def staff_digest_recipients() -> dict[int, User]:
    """Everyone who works an inbox: members of an active pool, and staff with an inbox role (active accounts)."""
    from_pools = Pool.objects.filter(is_active=True).values("members")
    from_roles = Membership.objects.filter(role__in=INBOX_ROLES).values("user_id")
    people = User.objects.filter(is_active=True).filter(Q(pk__in=from_pools) | Q(pk__in=from_roles))
    return {user.pk: user for user in people}


def queue_staff_digests(*, now: datetime | None = None) -> int:
    """One digest a day to each inbox member with something waiting; a second run the same day adds none.

    The notice carries no counts: they are read when it is sent (messaging.notices), so the email tells how
    things stand then, in numbers only (no names, no subjects).
    """
    from messaging.selectors import inbox_counts_by_organization

    moment = now or timezone.now()
    day = moment.date().isoformat()
    people = staff_digest_recipients()
    seats = _inbox_seats(set(people))
    counts = inbox_counts_by_organization({org for orgs in seats.values() for org in orgs}, now=moment)
    queued = 0
    with transaction.atomic():
        for user_id, organization_ids in sorted(seats.items()):
            if not any(counts[o].waiting or counts[o].refills for o in organization_ids):
                continue
            before = Notice.objects.filter(dedupe_key=f"{NoticeKind.STAFF_DIGEST}:{user_id}:{day}").exists()
            queue_notice(kind=NoticeKind.STAFF_DIGEST, recipient=people[user_id], dedupe=f"{user_id}:{day}")
            queued += 0 if before else 1
    return queued


def _inbox_seats(user_ids: set[int]) -> dict[int, set[int]]:
    """For each person, the organizations whose inbox they work (two queries for everyone)."""
    seats: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    for user_id, organization_id in Membership.objects.filter(user_id__in=user_ids, role__in=INBOX_ROLES).values_list(
        "user_id", "organization_id"
    ):
        seats[user_id].add(organization_id)
    for user_id, organization_id in Pool.members.through.objects.filter(
        user_id__in=user_ids, pool__is_active=True
    ).values_list("user_id", "pool__organization_id"):
        seats[user_id].add(organization_id)
    return seats
