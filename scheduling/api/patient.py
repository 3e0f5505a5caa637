"""Appointments through the API, the patient's side (/api/v1/patients/<patient_id>/appointments/): the same
reads and actions as the pages (scheduling.views.patient)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import Scope
from accounts.audience import Audience, Kind
from accounts.audit_labels import AuditAction
from proxy.access import access_subject_by_id
from proxy.api.base import PATIENT_KWARG, PortalAPIView
from scheduling import selectors
from scheduling.access import (
    access_appointment_by_id,
    access_location_by_id,
    access_provider_by_id,
    access_visit_type_by_id,
)
from scheduling.actions import Booking, BookingError, SlotTakenError, book_appointment, cancel_appointment
from scheduling.models import Appointment, AppointmentStatus, Mode
from scheduling.video import join_url

if TYPE_CHECKING:
    from accounts.models import Patient
    from scheduling.slots import Slot

# Named enums in the OpenAPI schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
APPOINTMENT_STATUS_CHOICES = list(AppointmentStatus.values)
VISIT_MODE_CHOICES = list(Mode.values)
TAGS = ["appointments"]
CSRF_NOTE = " Writes from a browser session need the CSRF token (X-CSRFToken header); bearer-token calls do not."
FIELD_ERRORS = OpenApiResponse(
    description="What to fix, by field name (non_field_errors: the request as a whole); nothing changed.",
    response=OpenApiTypes.OBJECT,
)
TAKEN = OpenApiResponse(
    description="The time is not free (taken a moment ago, or not offered): `detail` says so and `alternatives` "
    "lists the nearest free times. Nothing changed.",
    response=OpenApiTypes.OBJECT,
)
FIRST_AVAILABLE = 12


class ProviderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    title = serializers.CharField()


class VisitTypeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    organization = serializers.CharField(source="organization.name")
    duration_minutes = serializers.IntegerField()
    modes = serializers.ListField(child=serializers.ChoiceField(choices=VISIT_MODE_CHOICES))
    needs_approval = serializers.BooleanField()
    providers = ProviderSerializer(many=True, source="providers.all")


class SortedModesField(serializers.ListField):
    """A slot's ways (a set) in a stable order."""

    def to_representation(self, data: Any) -> list[Any]:
        return super().to_representation(sorted(data))


class SlotSerializer(serializers.Serializer):
    provider = serializers.IntegerField(source="provider_id")
    starts = serializers.DateTimeField(source="starts_at")
    ends = serializers.DateTimeField(source="ends_at")
    location = serializers.IntegerField(source="location_id", allow_null=True)
    modes = SortedModesField(child=serializers.ChoiceField(choices=VISIT_MODE_CHOICES))


@extend_schema_field(OpenApiTypes.URI)
class JoinUrlField(serializers.Field):
    """A video visit's link while it may be joined (scheduling.video); null otherwise."""

    def __init__(self) -> None:
        super().__init__(
            source="*",
            read_only=True,
            allow_null=True,
            help_text="A video visit's link, from 15 minutes before it starts to 30 minutes after it ends; else null.",
        )

    def to_representation(self, appointment: Appointment) -> str | None:
        return join_url(appointment, now=timezone.now())


class AppointmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    organization = serializers.CharField(source="organization.name")
    provider = serializers.CharField(source="provider.display_name")
    visit_type = serializers.CharField(source="visit_type.name")
    mode = serializers.ChoiceField(choices=VISIT_MODE_CHOICES)
    location = serializers.CharField(source="location.name", allow_null=True, default=None)
    starts = serializers.DateTimeField(source="starts_at")
    ends = serializers.DateTimeField(source="ends_at")
    status = serializers.ChoiceField(choices=APPOINTMENT_STATUS_CHOICES)
    reason = serializers.CharField()
    questions = serializers.CharField()
    join_url = JoinUrlField()


class NewAppointmentSerializer(serializers.Serializer):
    visit_type = serializers.IntegerField()
    provider = serializers.IntegerField()
    starts = serializers.DateTimeField(help_text="A free time's `starts`, with its offset.")
    mode = serializers.ChoiceField(choices=VISIT_MODE_CHOICES)
    location = serializers.IntegerField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    questions = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


def _slots(slots: list[Slot]) -> list[dict[str, Any]]:
    return list(SlotSerializer(slots, many=True).data)


class AppointmentsView(PortalAPIView):
    """The path names the patient: the caller, or someone they hold a live grant with the scheduling scope for."""

    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.SCHEDULING,
        audit=AuditAction.APPOINTMENTS_VIEWED,
        objects={PATIENT_KWARG: access_subject_by_id},
    )

    @extend_schema(
        summary="The person's appointments, newest first", tags=TAGS, responses=AppointmentSerializer(many=True)
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return self.paginated(selectors.appointments_of(patient), AppointmentSerializer)

    @extend_schema(
        summary="Book a free time",
        description="A visit type that needs the clinic's approval is booked as `requested`." + CSRF_NOTE,
        tags=TAGS,
        request=NewAppointmentSerializer,
        responses={201: AppointmentSerializer, 400: FIELD_ERRORS, 409: TAKEN},
    )
    def post(self, request: Request, patient: Patient) -> Response:
        body = NewAppointmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        actor = self.actor
        try:
            visit_type = access_visit_type_by_id(actor, data["visit_type"])
        except Http404 as error:
            raise ValidationError({"visit_type": [_("Not a visit this person may book.")]}) from error
        try:
            provider = access_provider_by_id(actor, data["provider"], visit_type=visit_type)
        except Http404 as error:
            raise ValidationError({"provider": [_("This provider does not offer that visit.")]}) from error
        location = None
        if data["location"] is not None:
            try:
                location = access_location_by_id(actor, data["location"], visit_type=visit_type)
            except Http404 as error:
                raise ValidationError({"location": [_("Not one of the clinic's places.")]}) from error
        booking = Booking(
            visit_type=visit_type,
            provider=provider,
            starts_at=data["starts"],
            mode=data["mode"],
            location=location if data["mode"] == Mode.IN_PERSON else None,
            reason=data["reason"],
            questions=data["questions"],
        )
        try:
            appointment = book_appointment(actor=actor, patient=patient, booking=booking, request=request._request)
        except SlotTakenError as error:
            return Response(
                {"detail": str(error), "alternatives": _slots(error.alternatives)}, status=status.HTTP_409_CONFLICT
            )
        except BookingError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class VisitTypesView(PortalAPIView):
    audience = Audience(Kind.SUBJECT, scope=Scope.SCHEDULING, objects={PATIENT_KWARG: access_subject_by_id})

    @extend_schema(
        summary="The visits the person may book online, at every clinic where they are a patient",
        tags=TAGS,
        responses=VisitTypeSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return Response(VisitTypeSerializer(selectors.bookable_visit_types(patient), many=True).data)


class SlotsView(PortalAPIView):
    audience = Audience(Kind.SUBJECT, scope=Scope.SCHEDULING, objects={PATIENT_KWARG: access_subject_by_id})

    @extend_schema(
        summary="The soonest free times of a kind of visit (with anyone, or one provider; any way, or one)",
        tags=TAGS,
        parameters=[
            OpenApiParameter("visit_type", int, required=True),
            OpenApiParameter("provider", int, required=False),
            OpenApiParameter("mode", str, required=False, enum=VISIT_MODE_CHOICES),
        ],
        responses=SlotSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        actor = self.actor
        visit_type = access_visit_type_by_id(actor, request.query_params.get("visit_type"))
        raw_provider = request.query_params.get("provider")
        provider = access_provider_by_id(actor, raw_provider, visit_type=visit_type) if raw_provider else None
        mode = request.query_params.get("mode") or None
        if mode is not None and mode not in visit_type.modes:
            raise ValidationError({"mode": [_("This kind of visit is not offered that way.")]})
        slots = selectors.first_available(
            visit_type, now=timezone.now(), count=FIRST_AVAILABLE, provider=provider, mode=mode
        )
        return Response(_slots(slots))


class CancelView(PortalAPIView):
    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.SCHEDULING,
        objects={PATIENT_KWARG: access_subject_by_id, "appointment_id": access_appointment_by_id},
    )

    @extend_schema(
        summary="Cancel a visit (online until the clinic's cutoff; after it, the answer says whom to call)",
        description=CSRF_NOTE.strip(),
        tags=TAGS,
        request=None,
        responses={200: AppointmentSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, patient: Patient, appointment: Appointment) -> Response:
        try:
            cancel_appointment(actor=self.actor, appointment=appointment, request=request._request)
        except BookingError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(AppointmentSerializer(appointment).data)
