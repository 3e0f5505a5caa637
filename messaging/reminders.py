"""Refill reminders: a note before a medicine runs out, to the person and to the caregivers who asked for one.

Once a day (the beat task messaging.send_refill_reminders) every person with a medication order is looked at
with the eyes of each reader: the patient, if they sign in, and each caregiver who holds the refills scope
today and chose refill emails (NotificationChoice.refill_reminders). A reader is reminded of a medicine on
their refills page (messaging.refills.medicines: a caregiver never hears of a medicine hidden from them)
whose supply runs out within REFILL_REMINDER_DAYS, once per supply (RefillReminderSent), never when
reminders are off for that medicine or a refill request for it is waiting, and never once it has run out
(a stale date is no reason to write). The email names no medicine (messaging.notices).
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, Scope, actor_for
from accounts.models import Patient, User
from messaging.actions import caregivers_who_chose, queue_notice
from messaging.models import NoticeKind, RefillReminderSent, RefillRequest, RefillStatus
from messaging.refills import medicines
from proxy.access import AccessEndedError, resolve_actor
from records.selectors import patients_with_medication_orders

logger = logging.getLogger(__name__)


def _readers(patient: Patient) -> list[tuple[User, Actor]]:
    readers: list[tuple[User, Actor]] = []
    user = patient.user
    if user is not None and user.is_active:
        readers.append((user, actor_for(user)))
    for caregiver in caregivers_who_chose(patient, scope=Scope.REFILLS, wanting=("refill_reminders",)):
        if user is not None and caregiver.pk == user.pk:
            continue
        try:
            actor = resolve_actor(caregiver, subject_id=str(patient.pk))
        except AccessEndedError:
            continue
        if actor.subject is not None and actor.subject.pk == patient.pk:
            readers.append((caregiver, actor))
    return readers


def remind_patient(patient: Patient, *, today: date, days_before: int) -> int:
    """Reminders due today for one person's medicines; returns how many were queued."""
    waiting = set(
        RefillRequest.objects.filter(patient=patient, status=RefillStatus.SENT).values_list("medication_key", flat=True)
    )
    queued = 0
    for user, actor in _readers(patient):
        for medicine in medicines(actor):
            runs_out = medicine.runs_out_on
            if runs_out is None or not medicine.reminders_on or medicine.key in waiting:
                continue
            if not 0 <= (runs_out - today).days <= days_before:
                continue
            with transaction.atomic():
                _row, created = RefillReminderSent.objects.get_or_create(
                    patient=patient, user=user, medication_key=medicine.key, runs_out_on=runs_out
                )
                if created:
                    queue_notice(
                        kind=NoticeKind.REFILL_REMINDER,
                        recipient=user,
                        dedupe=f"{patient.pk}:{user.pk}:{medicine.key}:{runs_out.isoformat()}",
                    )
                    queued += 1
    return queued


def send_refill_reminders(*, today: date | None = None) -> int:
    """Everyone's reminders due today (safe to run twice: each supply is reminded once per reader)."""
    day = today or timezone.localdate()
    days_before = int(settings.REFILL_REMINDER_DAYS)
    queued = 0
    ids = list(patients_with_medication_orders())
    for patient in Patient.objects.filter(pk__in=ids).select_related("user").order_by("pk"):
        try:
            queued += remind_patient(patient, today=day, days_before=days_before)
        except Exception:  # one person's odd record must not stop everyone else's reminders
            logger.exception("Refill reminders failed for one person; the others go on.")
    return queued
