"""Threads between a patient and a care team, refill requests worked in the same inbox, and their notices.

A thread belongs to one patient and one organization (where the patient is enrolled) and sits in one of
the organization's pools (care teams). Patients and caregivers see a thread's messages; staff also see
its internal notes. A refill request is a thread of the topic "refill" with its request beside it, so the
inbox, claiming, replies and turnaround work the same for both.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization, Patient, User


def weekend() -> list[int]:
    return [6, 7]


class MessagingPolicy(models.Model):
    """An organization's promise: a reply within so many business days (its weekends and holidays aside)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="messaging_policy")
    turnaround_business_days = models.PositiveSmallIntegerField(_("reply within (business days)"), default=2)
    # ISO weekdays the clinic is closed (6 Saturday, 7 Sunday); an empty list: open every day.
    closed_weekdays = models.JSONField(default=weekend, blank=True)

    def __str__(self) -> str:
        return f"{self.organization}: {self.turnaround_business_days} business days"


class Holiday(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="holidays")
    day = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="holiday_unique_day")]


class Pool(models.Model):
    """A care team at an organization: the inbox its staff work together."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="message_pools")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("what to write to this team about"), max_length=300, blank=True)
    # Threads past their turnaround are escalated to the lead.
    lead = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    members = models.ManyToManyField(User, blank=True, related_name="message_pools")
    handles_refills = models.BooleanField(_("receives refill requests"), default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="pool_unique_name")]

    def __str__(self) -> str:
        return self.name


class Topic(models.TextChoices):
    CARE = "care", _("A question about my care")
    RESULTS = "results", _("Test results")
    BILLING = "billing", _("Billing")
    FORMS = "forms", _("Forms and letters")
    OTHER = "other", _("Something else")
    REFILL = "refill", _("Refill request")


PATIENT_TOPICS = [choice for choice in Topic.choices if choice[0] != Topic.REFILL]


class ThreadStatus(models.TextChoices):
    WAITING_ON_STAFF = "waiting_on_staff", _("Waiting for the care team")
    WAITING_ON_PATIENT = "waiting_on_patient", _("Waiting for the patient")
    CLOSED = "closed", pgettext_lazy("thread status", "Closed")


class Thread(models.Model):
    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="threads")
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="threads")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="threads")
    topic = models.CharField(max_length=16, choices=Topic.choices)
    subject = models.CharField(_("subject"), max_length=150)
    started_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    # Only the patient sees it: no caregiver (a parent of an adolescent above all) ever does.
    private = models.BooleanField(default=False)
    # "Ask about this result": the result's resource, shown to staff as that result (messaging may read records).
    result = models.ForeignKey(
        "records.FhirResource", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=24, choices=ThreadStatus.choices, default=ThreadStatus.WAITING_ON_STAFF)
    assigned_to = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_patient_message_at = models.DateTimeField(null=True, blank=True)  # patient or caregiver
    last_staff_message_at = models.DateTimeField(null=True, blank=True)  # replies only, never internal notes
    # When a reply is due (the organization's turnaround from the patient's latest message); None once answered.
    reply_due_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["pool", "status", "reply_due_at"], name="thread_pool_status_due"),
            models.Index(fields=["pool", "-last_message_at"], name="thread_pool_recent"),
            models.Index(fields=["assigned_to", "status"], name="thread_assignee_status"),
            models.Index(fields=["patient", "-last_message_at"], name="thread_patient_recent"),
            # A staff search of the open threads: those of the patients a name matches, at the desk's organization
            # only (with the patient alone, the planner also walked the organization's open threads to keep them).
            models.Index(
                fields=["patient", "organization"], name="thread_patient_org_open", condition=~Q(status="closed")
            ),
            models.Index(
                fields=["reply_due_at"],
                name="thread_due_unescalated",
                condition=Q(status="waiting_on_staff", escalated_at__isnull=True),
            ),
            # The staff inbox reads a page of a large inbox in the order of one of these (messaging.selectors.inbox):
            # open threads soonest due (a desk's or a pool's), one status soonest due, one status newest first.
            models.Index(
                fields=["organization", "reply_due_at", "id"], name="thread_org_open_due", condition=~Q(status="closed")
            ),
            models.Index(
                fields=["pool", "reply_due_at", "id"], name="thread_pool_open_due", condition=~Q(status="closed")
            ),
            models.Index(fields=["organization", "status", "reply_due_at", "id"], name="thread_org_status_due"),
            models.Index(fields=["organization", "status", "-last_message_at", "-id"], name="thread_org_status_recent"),
            models.Index(fields=["pool", "status", "-last_message_at", "-id"], name="thread_pool_status_recent"),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk}"

    @property
    def is_closed(self) -> bool:
        return self.status == ThreadStatus.CLOSED

    @property
    def audit_subject(self) -> Patient:
        """Whose record a read of the thread is about (accounts.audience records declared reads under them)."""
        return self.patient

    def is_overdue(self, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        return (
            self.status == ThreadStatus.WAITING_ON_STAFF
            and self.reply_due_at is not None
            and self.reply_due_at < moment
        )


class MessageKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Internal note")  # staff only; never shown to the patient or a caregiver
    EVENT = "event", _("Update")  # what happened (claimed, closed, refill approved), in the thread's history


class Message(models.Model):
    id = models.BigAutoField(primary_key=True)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    from_staff = models.BooleanField(default=False)
    # Names as they were when written (a renamed account does not rewrite history).
    author_name = models.CharField(max_length=200)
    on_behalf_of_name = models.CharField(max_length=200, blank=True)  # "sent by NAME on behalf of PATIENT"
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # A retried send (a double click, a client's retry) stores one message: the client's key, unique per author.
    idempotency_key = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"], name="message_thread_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                name="message_unique_idempotency_key",
                condition=Q(idempotency_key__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"Message {self.pk}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # A random name: the person's file name (which may name a condition) never reaches the disk.
    return f"messages/{uuid.uuid4().hex}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"Attachment {self.pk}"


class ThreadRead(models.Model):
    """How far a person has read a thread (the unread markers)."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="thread_read_unique")]


class QuickReply(models.Model):
    """An organization's reply templates for common answers."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="quick_replies")
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "title"], name="quick_reply_unique_title")]

    def __str__(self) -> str:
        return self.title


class Pharmacy(models.Model):
    """A pharmacy an organization sends prescriptions to."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="pharmacies")
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="pharmacy_unique_name")]

    def __str__(self) -> str:
        return self.name


class FavoritePharmacy(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="favorite_pharmacies")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "pharmacy"], name="favorite_pharmacy_unique")]


class RefillStatus(models.TextChoices):
    SENT = "sent", pgettext_lazy("refill status", "Sent")
    APPROVED = "approved", pgettext_lazy("refill status", "Approved")
    DENIED = "denied", pgettext_lazy("refill status", "Denied")
    VISIT_NEEDED = "visit_needed", pgettext_lazy("refill status", "Visit needed")


class RefillRequest(models.Model):
    """A request to renew a medication, answered in its thread: approved, denied with a reason, or a visit."""

    thread = models.OneToOneField(Thread, on_delete=models.CASCADE, related_name="refill")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="refill_requests")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="refill_requests")
    # The prescription in the record (a MedicationRequest from the organization's own health system).
    medication = models.ForeignKey("records.FhirResource", null=True, on_delete=models.SET_NULL, related_name="+")
    medication_name = models.CharField(max_length=300)  # as it was when asked
    medication_key = models.CharField(
        max_length=200
    )  # code or name: the same medicine from one prescription to the next
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=RefillStatus.choices, default=RefillStatus.SENT)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    refills = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)  # why it was denied, or what the visit is for
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "status"], name="refill_org_status"),
            models.Index(fields=["patient", "-requested_at"], name="refill_patient_recent"),
        ]
        constraints = [
            # One open request per medicine at a time: a second click or a second caregiver asks once.
            models.UniqueConstraint(
                fields=["patient", "organization", "medication_key"],
                name="refill_one_open_request",
                condition=Q(status="sent"),
            )
        ]

    def __str__(self) -> str:
        return f"Refill request {self.pk}"


class RefillReminderChoice(models.Model):
    """Reminders turned off for one medicine of one patient (they are on by default)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    medication_key = models.CharField(max_length=200)
    reminders_on = models.BooleanField(default=False)
    changed_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "medication_key"], name="refill_reminder_choice_unique")
        ]


class RefillReminderSent(models.Model):
    """A reminder already sent for one supply of one medicine to one person: the beat task sends it once."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    medication_key = models.CharField(max_length=200)
    runs_out_on = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "user", "medication_key", "runs_out_on"], name="refill_reminder_sent_once"
            )
        ]


class NoticeKind(models.TextChoices):
    NEW_MESSAGE = "new_message"  # to the patient and caregivers who opted in
    REFILL_UPDATE = "refill_update"
    NEW_FOR_STAFF = "new_for_staff"  # to the assigned staff member
    ESCALATION = "escalation"  # to the pool's lead
    REFILL_REMINDER = "refill_reminder"
    STAFF_DIGEST = "staff_digest"  # once a day to each inbox member: counts only


class Notice(models.Model):
    """The outbox: a notice to send, written in the same transaction as what it announces.

    A message is saved even when the broker is down; the notice waits here and leaves once, when a worker
    gets to it (right after commit, or at the next sweep). Notices say only that there is something to see.
    """

    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # What makes a notice the same notice (kind, recipient and what it is about): the database sends it once.
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="notice_unsent", condition=Q(sent_at__isnull=True)),
        ]


class NotificationChoice(models.Model):
    """A caregiver's choice to hear about one person's messages or refills by email (off until chosen).

    The patient always hears about their own messages.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    messages = models.BooleanField(_("email me when there is a new message"), default=False)
    refill_reminders = models.BooleanField(_("email me before a medicine runs out"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "patient"], name="notification_choice_unique")]
