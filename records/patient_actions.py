"""Writes of what the person writes down themselves: journal entries and home measurements.

Whoever may read the record (the person, or a caregiver with the records scope) may add; only the author
or the patient may change or delete an entry (a refusal is proxy.actions.NotAllowedError: 403, nothing
changed). Each write is one transaction with its audit row; the audit row names the entry, never its words.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from proxy.actions import NotAllowedError
from records.models import (
    BP_UNIT,
    EntryKind,
    HomeMeasurement,
    JournalEntry,
    MeasurementKind,
    QuestionState,
)
from records.patient_data import may_change

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import Patient


def _author_name(actor: Actor) -> str:
    assert actor.user is not None
    return (actor.user.full_name.strip() or actor.user.email)[:200]


def _check_writer(actor: Actor, patient: Patient) -> None:
    """Adding: someone acting for this patient now, with the records scope."""
    if actor.user is None or actor.subject is None or actor.subject.pk != patient.pk or not actor.may(Scope.RECORDS):
        raise NotAllowedError(_("You may not add to this record."))


def _check_changer(actor: Actor, entry: JournalEntry | HomeMeasurement) -> None:
    if not may_change(actor, entry) or not actor.may(Scope.RECORDS):
        raise NotAllowedError(_("Only the person who entered this, or the patient, may change or delete it."))


def _audit(
    action: AuditAction,
    *,
    actor: Actor,
    patient: Patient,
    obj: JournalEntry | HomeMeasurement,
    request: HttpRequest | None,
) -> None:
    record_audit_event(
        action=action,
        actor=actor,
        request=request,
        subject=patient,
        object_type=obj._meta.model_name or "",
        object_id=obj.pk,
    )


# The journal --------------------------------------------------------------------------------------------


def add_journal_entry(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    text: str,
    happened_on: date,
    request: HttpRequest | None = None,
) -> JournalEntry:
    _check_writer(actor, patient)
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            patient=patient,
            kind=EntryKind(kind),
            text=text,
            happened_on=happened_on,
            author=actor.user,
            author_name=_author_name(actor),
        )
        _audit(AuditAction.RECORDS_JOURNAL_ENTRY_ADDED, actor=actor, patient=patient, obj=entry, request=request)
    return entry


def _locked(entry: JournalEntry) -> JournalEntry:
    return JournalEntry.objects.select_for_update().select_related("patient").get(pk=entry.pk)


def change_journal_entry(
    *,
    actor: Actor,
    entry: JournalEntry,
    kind: str,
    text: str,
    happened_on: date,
    question_state: str = QuestionState.OPEN,
    request: HttpRequest | None = None,
) -> JournalEntry:
    _check_changer(actor, entry)
    with transaction.atomic():
        locked = _locked(entry)
        _check_changer(actor, locked)
        locked.kind = EntryKind(kind)
        locked.text = text
        locked.happened_on = happened_on
        locked.question_state = QuestionState(question_state) if kind == EntryKind.QUESTION else QuestionState.OPEN
        locked.edited_at = timezone.now()
        locked.save(update_fields=["kind", "text", "happened_on", "question_state", "edited_at"])
        _audit(
            AuditAction.RECORDS_JOURNAL_ENTRY_CHANGED, actor=actor, patient=locked.patient, obj=locked, request=request
        )
    return locked


def mark_question(*, actor: Actor, entry: JournalEntry, state: str, request: HttpRequest | None = None) -> JournalEntry:
    """A question for the next visit, now asked or answered (or still to ask again)."""
    _check_changer(actor, entry)
    with transaction.atomic():
        locked = _locked(entry)
        _check_changer(actor, locked)
        if locked.kind != EntryKind.QUESTION:
            raise NotAllowedError(_("Only a question for the next visit can be marked asked or answered."))
        locked.question_state = QuestionState(state)
        locked.edited_at = timezone.now()
        locked.save(update_fields=["question_state", "edited_at"])
        _audit(
            AuditAction.RECORDS_JOURNAL_QUESTION_MARKED,
            actor=actor,
            patient=locked.patient,
            obj=locked,
            request=request,
        )
    return locked


def delete_journal_entry(*, actor: Actor, entry: JournalEntry, request: HttpRequest | None = None) -> None:
    _check_changer(actor, entry)
    with transaction.atomic():
        locked = _locked(entry)
        _check_changer(actor, locked)
        _audit(
            AuditAction.RECORDS_JOURNAL_ENTRY_DELETED, actor=actor, patient=locked.patient, obj=locked, request=request
        )
        locked.delete()


# Home measurements --------------------------------------------------------------------------------------


def add_home_measurement(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    measured_at: datetime,
    systolic: int | None = None,
    diastolic: int | None = None,
    value: Decimal | None = None,
    unit: str = "",
    glucose_context: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> HomeMeasurement:
    """One home reading (checked by records.patient_forms); the database refuses a reading that is not whole."""
    _check_writer(actor, patient)
    blood_pressure = kind == MeasurementKind.BLOOD_PRESSURE
    with transaction.atomic():
        reading = HomeMeasurement.objects.create(
            patient=patient,
            kind=MeasurementKind(kind),
            measured_at=measured_at,
            systolic=systolic if blood_pressure else None,
            diastolic=diastolic if blood_pressure else None,
            value=None if blood_pressure else value,
            unit=BP_UNIT if blood_pressure else unit,
            glucose_context=glucose_context if kind == MeasurementKind.GLUCOSE else "",
            note=note,
            author=actor.user,
            author_name=_author_name(actor),
        )
        _audit(AuditAction.RECORDS_MEASUREMENT_ADDED, actor=actor, patient=patient, obj=reading, request=request)
    return reading


def delete_home_measurement(*, actor: Actor, measurement: HomeMeasurement, request: HttpRequest | None = None) -> None:
    _check_changer(actor, measurement)
    with transaction.atomic():
        locked = HomeMeasurement.objects.select_for_update().select_related("patient").get(pk=measurement.pk)
        _check_changer(actor, locked)
        _audit(
            AuditAction.RECORDS_MEASUREMENT_DELETED, actor=actor, patient=locked.patient, obj=locked, request=request
        )
        locked.delete()
