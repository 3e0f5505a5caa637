"""Appointment reminders: at the organization's offsets before a booked visit (7 days, 1 day, 2 hours by
default), by email, and by text message to those who asked for them (accounts.sms).

Two steps, each run by the beat task scheduling.send_appointment_reminders every few minutes:
queue_due_reminders writes a row per visit, recipient, offset and channel that fell due (the unique key makes
it once; an offset whose moment came before the visit was booked is not written, and after a pause of the
beat only the latest offset due is); deliver_reminders sends the unsent rows, each in its recipient's
language and time zone, and skips those whose visit no longer holds (cancelled, moved). A reminder says when
and where, for whom, and nothing of the visit's kind or reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from smtplib import SMTPException
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from accounts.actors import Scope
from accounts.models import User
from accounts.sms import send_text
from proxy.selectors import person_and_helpers
from scheduling.models import (
    Appointment,
    AppointmentReminder,
    AppointmentStatus,
    Mode,
    ReminderChannel,
    SchedulingPolicy,
    default_reminder_offsets,
)

logger = logging.getLogger(__name__)
LOOKAHEAD = timedelta(days=31)  # the longest offset an organization may set
MAX_ATTEMPTS = 5
BATCH = 100


def recipients(appointment: Appointment) -> list[User]:
    """The person (when they sign in) and everyone who holds the scheduling scope for them today."""
    return person_and_helpers(appointment.patient, scope=Scope.SCHEDULING)


def _offsets(policy: SchedulingPolicy | None) -> list[int]:
    raw = policy.reminder_offsets_minutes if policy is not None else default_reminder_offsets()
    return sorted({int(value) for value in raw if isinstance(value, int) and 0 < value <= LOOKAHEAD.days * 1440})


def queue_due_reminders(*, now: datetime | None = None) -> int:
    """Writes the reminders that fell due; returns how many rows were written."""
    moment = now or timezone.now()
    visits = (
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED, starts_at__gt=moment, starts_at__lte=moment + LOOKAHEAD
        )
        .select_related("patient__user", "organization__scheduling_policy")
        .order_by("starts_at")
    )
    written = 0
    for visit in visits:
        policy = getattr(visit.organization, "scheduling_policy", None)
        due = [
            offset
            for offset in _offsets(policy)
            if visit.starts_at - timedelta(minutes=offset) <= moment
            and visit.starts_at - timedelta(minutes=offset) >= visit.created_at
        ]
        if not due:
            continue
        offset = min(due)  # the latest moment due: after a pause, one reminder, not a burst
        for person in recipients(visit):
            channels = [ReminderChannel.EMAIL]
            if person.reminders_by_text and person.phone:
                channels.append(ReminderChannel.TEXT)
            for channel in channels:
                try:
                    with transaction.atomic():
                        _, created = AppointmentReminder.objects.get_or_create(
                            appointment=visit, recipient=person, offset_minutes=offset, channel=channel
                        )
                except IntegrityError:  # another sweep wrote it a moment ago
                    created = False
                written += int(created)
    return written


def reminder_text(reminder: AppointmentReminder) -> tuple[str, str, str]:
    """(subject, email body, text message) in the active language, the time in the recipient's time zone."""
    visit = reminder.appointment
    recipient = reminder.recipient
    zone = ZoneInfo(recipient.time_zone or visit.organization.time_zone)
    local = visit.starts_at.astimezone(zone)
    when = f"{date_format(local, 'l j F')}, {time_format(local, 'H:i')} {local.tzname()}"
    patient = visit.patient
    whose = (
        _("You have a visit")
        if patient.user_id == recipient.pk
        else _("%(name)s has a visit") % {"name": patient.given_name or patient.display_name}
    )
    if visit.mode == Mode.VIDEO:
        where = _("by video")
    elif visit.mode == Mode.PHONE:
        where = _("by phone")
    elif visit.location is not None:
        where = ", ".join(part for part in (visit.location.name, visit.location.address) if part)
    else:
        where = visit.organization.name
    link = settings.PORTAL_URL + reverse("scheduling:appointments")
    line = _("%(whose)s at %(clinic)s on %(when)s (%(where)s).") % {
        "whose": whose,
        "clinic": visit.organization.name,
        "when": when,
        "where": where,
    }
    subject = _("Reminder: a visit on %(when)s") % {"when": when}
    body = line + "\n\n" + _("To see it, move it or cancel it, sign in: %(link)s") % {"link": link}
    return subject, body, line


def deliver_reminders(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Sends unsent reminders (skipping those whose visit no longer holds); returns how many were sent."""
    moment = now or timezone.now()
    sent = 0
    while sent < limit:
        with transaction.atomic():
            batch = list(
                AppointmentReminder.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related(
                    "recipient", "appointment__patient", "appointment__organization", "appointment__location"
                )
                .filter(sent_at__isnull=True, skipped_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                .order_by("created_at", "pk")[:BATCH]
            )
            if not batch:
                break
            for reminder in batch:
                visit = reminder.appointment
                if visit.status != AppointmentStatus.BOOKED or visit.starts_at <= moment:
                    AppointmentReminder.objects.filter(pk=reminder.pk).update(skipped_at=moment)
                    continue
                recipient = reminder.recipient
                with translation.override(recipient.language or settings.LANGUAGE_CODE):
                    subject, body, line = reminder_text(reminder)
                try:
                    if reminder.channel == ReminderChannel.TEXT:
                        send_text(recipient.phone, line)
                    else:
                        send_mail(
                            subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
                            message=body,
                            from_email=None,
                            recipient_list=[recipient.email],
                        )
                except (SMTPException, OSError):
                    logger.warning("An appointment reminder could not be sent; it will be tried again.")
                    AppointmentReminder.objects.filter(pk=reminder.pk).update(attempts=reminder.attempts + 1)
                    continue
                AppointmentReminder.objects.filter(pk=reminder.pk).update(
                    sent_at=timezone.now(), attempts=reminder.attempts + 1
                )
                sent += 1
        if len(batch) < BATCH:
            break
    return sent
