"""What the person writes down themselves, through the API: the journal and home measurements.

The same rules as the pages (records.views.patient_entries): whoever may read the record (records scope) reads
and adds; only an entry's author or the patient changes, deletes or marks it (403 with nothing changed for
anyone else who may read it; 404 for anyone who may not). Bodies are checked by the pages' forms; writes go
through records.patient_actions, which record them in the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.audit_labels import AuditAction
from proxy.actions import NotAllowedError
from records import patient_actions, patient_data
from records.access import access_home_measurement_by_id, access_journal_entry_by_id
from records.api.forms import checked_by
from records.api.serializers_writes import (
    JournalEntryChangeSerializer,
    JournalEntrySerializer,
    JournalQuerySerializer,
    MeasurementQuerySerializer,
    MeasurementSerializer,
    NewJournalEntrySerializer,
    NewMeasurementSerializer,
    QuestionStateSerializer,
)
from records.api.views import (
    FIELD_ERRORS,
    NOT_YOURS,
    RecordAPIView,
    described,
    record_read,
    record_write,
    refused,
)
from records.models import EntryKind
from records.patient_forms import MEASUREMENT_FORMS, EditJournalEntryForm, NewJournalEntryForm

if TYPE_CHECKING:
    from accounts.actors import Actor
    from accounts.models import Patient
    from records.models import HomeMeasurement, JournalEntry

DELETED = OpenApiResponse(description="Deleted for good (the access history keeps that it existed).")


def _may_change(actor: Actor, entry: JournalEntry | HomeMeasurement) -> None:
    """Someone who may read it but did not write it (and is not the patient): 403 before anything is read."""
    if not patient_data.may_change(actor, entry):
        raise PermissionDenied(_("Only the person who entered this, or the patient, may change or delete it."))


# The journal --------------------------------------------------------------------------------------------


class JournalView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_JOURNAL_VIEWED)

    @described(
        "The person's journal: questions still to ask first, then newest first (paged)",
        parameters=[JournalQuerySerializer],
        responses=JournalEntrySerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        query = JournalQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        actor = self.actor
        entries = patient_data.journal_list(actor, query.validated_data.get("kind", ""))
        return self.paginated(
            entries, JournalEntrySerializer, shape=lambda page: patient_data.journal_lines(actor, page)
        )

    @described(
        "Add an entry: a symptom, a side effect, a question for the next visit, or a note",
        write=True,
        request=NewJournalEntrySerializer,
        responses={201: JournalEntrySerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, patient: Patient) -> Response:
        body = NewJournalEntrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = {"happened_on": timezone.localdate(), **body.validated_data, "subject": patient.pk}
        chosen = checked_by(NewJournalEntryForm(values, patient=patient))
        try:
            entry = patient_actions.add_journal_entry(
                actor=self.actor,
                patient=patient,
                kind=chosen["kind"],
                text=chosen["text"],
                happened_on=chosen["happened_on"],
                request=request._request,
            )
        except NotAllowedError as error:
            raise refused(error) from error
        line = patient_data.journal_lines(self.actor, [entry])[0]
        return Response(JournalEntrySerializer(line).data, status=status.HTTP_201_CREATED)


class JournalEntryView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_JOURNAL_ENTRY_VIEWED, entry_id=access_journal_entry_by_id)

    @described("One entry of the journal", responses=JournalEntrySerializer)
    def get(self, request: Request, patient: Patient, entry: JournalEntry) -> Response:
        return Response(JournalEntrySerializer(patient_data.journal_lines(self.actor, [entry])[0]).data)

    @described(
        "Change an entry (its author or the patient; fields left out stay as they are)",
        write=True,
        request=JournalEntryChangeSerializer,
        responses={200: JournalEntrySerializer, 400: FIELD_ERRORS, 403: NOT_YOURS},
    )
    def patch(self, request: Request, patient: Patient, entry: JournalEntry) -> Response:
        actor = self.actor
        _may_change(actor, entry)
        body = JournalEntryChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        current = {
            "kind": entry.kind,
            "text": entry.text,
            "happened_on": entry.happened_on,
            "question_state": entry.question_state,
        }
        chosen = checked_by(EditJournalEntryForm({**current, **body.validated_data}))
        try:
            changed = patient_actions.change_journal_entry(actor=actor, entry=entry, request=request._request, **chosen)
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(JournalEntrySerializer(patient_data.journal_lines(actor, [changed])[0]).data)

    @described(
        "Delete an entry (its author or the patient)",
        write=True,
        request=None,
        responses={204: DELETED, 403: NOT_YOURS},
    )
    def delete(self, request: Request, patient: Patient, entry: JournalEntry) -> Response:
        _may_change(self.actor, entry)
        try:
            patient_actions.delete_journal_entry(actor=self.actor, entry=entry, request=request._request)
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class JournalQuestionView(RecordAPIView):
    audience = record_write(entry_id=access_journal_entry_by_id)

    @described(
        'Mark a question for the next visit "asked" (the default), "answered", or "open" again',
        write=True,
        request=QuestionStateSerializer,
        responses={200: JournalEntrySerializer, 400: FIELD_ERRORS, 403: NOT_YOURS},
    )
    def post(self, request: Request, patient: Patient, entry: JournalEntry) -> Response:
        actor = self.actor
        _may_change(actor, entry)
        body = QuestionStateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if entry.kind != EntryKind.QUESTION:
            raise ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        _("Only a question for the next visit can be marked asked or answered.")
                    ]
                }
            )
        try:
            marked = patient_actions.mark_question(
                actor=actor, entry=entry, state=body.validated_data["state"], request=request._request
            )
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(JournalEntrySerializer(patient_data.journal_lines(actor, [marked])[0]).data)


# Home measurements --------------------------------------------------------------------------------------


class MeasurementsView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_MEASUREMENTS_VIEWED)

    @described(
        "Readings taken at home, newest first (paged)",
        parameters=[MeasurementQuerySerializer],
        responses=MeasurementSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        query = MeasurementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        actor = self.actor
        readings = patient_data.measurement_list(actor, query.validated_data.get("kind", ""))
        return self.paginated(
            readings, MeasurementSerializer, shape=lambda page: patient_data.measurement_lines(actor, page)
        )

    @described(
        "Add a reading taken at home (blood pressure, weight or blood glucose)",
        write=True,
        request=NewMeasurementSerializer,
        responses={201: MeasurementSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, patient: Patient) -> Response:
        body = NewMeasurementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values: dict[str, Any] = {"measured_at": timezone.now(), **body.validated_data, "subject": patient.pk}
        form = MEASUREMENT_FORMS[values.pop("kind")](values, patient=patient)
        checked_by(form)
        try:
            reading = patient_actions.add_home_measurement(
                actor=self.actor, patient=patient, request=request._request, **form.reading()
            )
        except NotAllowedError as error:
            raise refused(error) from error
        line = patient_data.measurement_lines(self.actor, [reading])[0]
        return Response(MeasurementSerializer(line).data, status=status.HTTP_201_CREATED)


class MeasurementView(RecordAPIView):
    audience = record_write(measurement_id=access_home_measurement_by_id)

    @described(
        "Delete a reading (its author or the patient; a mistyped reading is deleted and entered again)",
        write=True,
        request=None,
        responses={204: DELETED, 403: NOT_YOURS},
    )
    def delete(self, request: Request, patient: Patient, measurement: HomeMeasurement) -> Response:
        _may_change(self.actor, measurement)
        try:
            patient_actions.delete_home_measurement(actor=self.actor, measurement=measurement, request=request._request)
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)
