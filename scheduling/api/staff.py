"""Appointments through the API, the staff's side (/api/v1/staff/<org_slug>/...): the desk's schedule, free
times, booking for a patient, marking visits, and providers' hours and time away. The same actions as the
staff pages (scheduling.views.staff, desk_booking, setup), with the same roles."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import access_patient_by_id
from accounts.actions.audit import record_audit_events
from accounts.audience import Audience, Kind
from accounts.audit_labels import AuditAction
from proxy.api.base import PortalAPIView
from scheduling import desk, setup
from scheduling.access import (
    HOURS_ROLES,
    SCHEDULE_ROLES,
    access_staff_appointment_by_id,
    access_staff_location_by_id,
    access_staff_provider_by_id,
    access_staff_visit_type_by_id,
)
from scheduling.actions import (
    Booking,
    BookingError,
    SlotTakenError,
    StaffMark,
    book_appointment,
    cancel_appointment,
    mark_appointment,
)
from scheduling.api.patient import (
    APPOINTMENT_STATUS_CHOICES,
    CSRF_NOTE,
    FIELD_ERRORS,
    TAKEN,
    VISIT_MODE_CHOICES,
    JoinUrlField,
    SlotSerializer,
)
from scheduling.forms import TimeAwayForm, WindowForm
from scheduling.models import Appointment, Mode, Provider
from scheduling.selectors import open_slots
from scheduling.times import day_bounds

if TYPE_CHECKING:
    from scheduling.slots import Slot

TAGS = ["staff appointments"]
MAX_DAYS = 14  # a schedule or slot read covers at most two weeks
MARKS = [*StaffMark.ALL, "cancel"]


class StaffPatientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="display_name")


class StaffAppointmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = StaffPatientSerializer()
    mrn = serializers.CharField(allow_null=True, default=None)
    provider = serializers.IntegerField(source="provider_id")
    provider_name = serializers.CharField(source="provider.display_name")
    visit_type = serializers.CharField(source="visit_type.name")
    mode = serializers.ChoiceField(choices=VISIT_MODE_CHOICES)
    location = serializers.IntegerField(source="location_id", allow_null=True)
    starts = serializers.DateTimeField(source="starts_at")
    ends = serializers.DateTimeField(source="ends_at")
    status = serializers.ChoiceField(choices=APPOINTMENT_STATUS_CHOICES)
    booked_by_staff = serializers.BooleanField()
    reason = serializers.CharField()
    join_url = JoinUrlField()


class ScheduleQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text="The first day (the organization's clock); today if left out."
    )
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DAYS, default=1)


class DeskBookingSerializer(serializers.Serializer):
    patient = serializers.UUIDField()
    visit_type = serializers.IntegerField()
    provider = serializers.IntegerField()
    starts = serializers.DateTimeField(help_text="A free time's `starts`, with its offset.")
    mode = serializers.ChoiceField(choices=VISIT_MODE_CHOICES)
    location = serializers.IntegerField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class MarkSerializer(serializers.Serializer):
    mark = serializers.ChoiceField(choices=MARKS)


class HoursSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    weekday = serializers.IntegerField(read_only=True, help_text="ISO: 1 Monday … 7 Sunday")
    starts = serializers.TimeField(read_only=True, format="%H:%M")
    ends = serializers.TimeField(read_only=True, format="%H:%M")
    location = serializers.IntegerField(source="location_id", allow_null=True, read_only=True)
    modes = serializers.ListField(child=serializers.ChoiceField(choices=VISIT_MODE_CHOICES), read_only=True)
    valid_from = serializers.DateField(allow_null=True, read_only=True)
    valid_until = serializers.DateField(allow_null=True, read_only=True)


class NewHoursSerializer(serializers.Serializer):
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7), min_length=1)
    starts = serializers.TimeField()
    ends = serializers.TimeField()
    location = serializers.IntegerField(required=False, allow_null=True, default=None)
    modes = serializers.ListField(child=serializers.ChoiceField(choices=VISIT_MODE_CHOICES), min_length=1)
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)


class TimeAwaySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts = serializers.DateTimeField(source="starts_at")
    ends = serializers.DateTimeField(source="ends_at")
    reason = serializers.CharField()


class NewTimeAwaySerializer(serializers.Serializer):
    starts_on = serializers.DateField()
    starts_time = serializers.TimeField(required=False, allow_null=True, default=None)
    ends_on = serializers.DateField()
    ends_time = serializers.TimeField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class TimeAwayMadeSerializer(serializers.Serializer):
    time_away = TimeAwaySerializer()
    booked_inside = serializers.ListField(
        child=serializers.UUIDField(), help_text="Visits still booked in that time (not cancelled): move them."
    )


def _form_errors(form: Any) -> ValidationError:
    return ValidationError({name or "non_field_errors": list(errors) for name, errors in form.errors.items()})


def _first_day(staff: Any, raw: date | None) -> date:
    return raw or timezone.now().astimezone(ZoneInfo(staff.organization.time_zone)).date()


class StaffAppointmentsView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=SCHEDULE_ROLES)

    @extend_schema(
        summary="The desk's visits, day by day (at most 14 days); each visit listed is in its patient's access history",
        tags=TAGS,
        parameters=[ScheduleQuerySerializer],
        responses=StaffAppointmentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        staff = self.checked_actor
        query = ScheduleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first = _first_day(staff, query.validated_data.get("start"))
        visits = desk.visits_between(staff, first, first + timedelta(days=query.validated_data["days"] - 1))
        record_audit_events(
            action=AuditAction.SCHEDULE_VIEWED,
            actor=staff,
            request=request._request,
            rows=[(visit.patient, "appointment", visit.pk) for visit in visits],
        )
        return Response(StaffAppointmentSerializer(visits, many=True).data)

    @extend_schema(
        summary="Book a free time for a patient of the organization",
        description="Any kind of visit the organization offers (online or not), inside the online notice too; "
        "booked, never `requested`." + CSRF_NOTE,
        tags=TAGS,
        request=DeskBookingSerializer,
        responses={201: StaffAppointmentSerializer, 400: FIELD_ERRORS, 409: TAKEN},
    )
    def post(self, request: Request) -> Response:
        staff = self.checked_actor
        body = DeskBookingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        found: dict[str, Any] = {}
        for name, loader in (
            ("patient", access_patient_by_id),
            ("visit_type", access_staff_visit_type_by_id),
            ("provider", access_staff_provider_by_id),
            ("location", access_staff_location_by_id),
        ):
            if data.get(name) is None:
                found[name] = None
                continue
            try:
                found[name] = loader(staff, data[name])
            except Http404 as error:
                raise ValidationError({name: [_("Not one of this clinic's.")]}) from error
        booking = Booking(
            visit_type=found["visit_type"],
            provider=found["provider"],
            starts_at=data["starts"],
            mode=data["mode"],
            location=found["location"] if data["mode"] == Mode.IN_PERSON else None,
            reason=data["reason"],
        )
        try:
            appointment = book_appointment(
                actor=staff, patient=found["patient"], booking=booking, by_staff=True, request=request._request
            )
        except SlotTakenError as error:
            alternatives = list(SlotSerializer(error.alternatives, many=True).data)
            return Response({"detail": str(error), "alternatives": alternatives}, status=status.HTTP_409_CONFLICT)
        except BookingError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(StaffAppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class StaffSlotsView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=SCHEDULE_ROLES)

    @extend_schema(
        summary="Free times of a kind of visit from a day on (at most 14 days), for booking at the desk",
        description="The online notice does not apply to staff; the booking horizon does.",
        tags=TAGS,
        parameters=[
            OpenApiParameter("visit_type", int, required=True),
            OpenApiParameter("provider", int, required=False),
            OpenApiParameter("mode", str, required=False, enum=VISIT_MODE_CHOICES),
            ScheduleQuerySerializer,
        ],
        responses=SlotSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        staff = self.checked_actor
        visit_type = access_staff_visit_type_by_id(staff, request.query_params.get("visit_type"))
        raw_provider = request.query_params.get("provider")
        provider = access_staff_provider_by_id(staff, raw_provider) if raw_provider else None
        mode = request.query_params.get("mode") or None
        if mode is not None and mode not in visit_type.modes:
            raise ValidationError({"mode": [_("This kind of visit is not offered that way.")]})
        query = ScheduleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        zone = ZoneInfo(staff.organization.time_zone)
        first = _first_day(staff, query.validated_data.get("start"))
        start, _end = day_bounds(first, zone)
        _start, end = day_bounds(first + timedelta(days=query.validated_data["days"] - 1), zone)
        slots: list[Slot] = open_slots(
            visit_type, start=start, end=end, now=timezone.now(), provider=provider, mode=mode, waive_notice=True
        )
        return Response(SlotSerializer(slots, many=True).data)


class StaffMarkView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=SCHEDULE_ROLES, objects={"appointment_id": access_staff_appointment_by_id})

    @extend_schema(
        summary="Mark a visit: confirm, arrived, completed, no_show or cancel",
        description="A mark that no longer fits the visit (someone marked it first, or not its day): 409, nothing "
        "changed." + CSRF_NOTE,
        tags=TAGS,
        request=MarkSerializer,
        responses={200: StaffAppointmentSerializer, 400: FIELD_ERRORS, 409: FIELD_ERRORS},
    )
    def post(self, request: Request, appointment: Appointment) -> Response:
        body = MarkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = body.validated_data["mark"]
        staff = self.checked_actor
        try:
            if chosen == "cancel":
                cancel_appointment(actor=staff, appointment=appointment, by_staff=True, request=request._request)
            else:
                mark_appointment(staff=staff, appointment=appointment, mark=chosen, request=request._request)
        except BookingError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(StaffAppointmentSerializer(appointment).data)


class StaffHoursView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=HOURS_ROLES, objects={"provider_id": access_staff_provider_by_id})

    @extend_schema(summary="A provider's weekly hours", tags=TAGS, responses=HoursSerializer(many=True))
    def get(self, request: Request, provider: Provider) -> Response:
        return Response(HoursSerializer(desk.hours_of(provider), many=True).data)

    @extend_schema(
        summary="Add weekly hours on some weekdays (refused whole when one overlaps hours the provider has)",
        description="Times on the location's clock (the organization's without a location); in-person hours need "
        "a location." + CSRF_NOTE,
        tags=TAGS,
        request=NewHoursSerializer,
        responses={201: HoursSerializer(many=True), 400: FIELD_ERRORS},
    )
    def post(self, request: Request, provider: Provider) -> Response:
        body = NewHoursSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        form = WindowForm(
            {
                "weekdays": [str(day) for day in data["weekdays"]],
                "starts": data["starts"],
                "ends": data["ends"],
                "location": data["location"] or "",
                "modes": data["modes"],
                "valid_from": data["valid_from"] or "",
                "valid_until": data["valid_until"] or "",
            },
            provider=provider,
        )
        if not form.is_valid():
            raise _form_errors(form)
        try:
            made = setup.add_hours(
                staff=self.checked_actor, provider=provider, request=request._request, **form.cleaned_data
            )
        except setup.SetupError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(HoursSerializer(made, many=True).data, status=status.HTTP_201_CREATED)


class StaffTimeAwayView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=HOURS_ROLES, objects={"provider_id": access_staff_provider_by_id})

    @extend_schema(
        summary="A provider's time away that has not ended", tags=TAGS, responses=TimeAwaySerializer(many=True)
    )
    def get(self, request: Request, provider: Provider) -> Response:
        rows = [item.away for item in desk.time_away_of(provider, now=timezone.now())]
        return Response(TimeAwaySerializer(rows, many=True).data)

    @extend_schema(
        summary="Block a provider's time (without hours: whole days, on the organization's clock)",
        description="Visits already booked inside it stay booked; the answer lists them." + CSRF_NOTE,
        tags=TAGS,
        request=NewTimeAwaySerializer,
        responses={201: TimeAwayMadeSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, provider: Provider) -> Response:
        body = NewTimeAwaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        staff = self.checked_actor
        form = TimeAwayForm(
            {key: value if value is not None else "" for key, value in data.items()},
            zone=ZoneInfo(staff.organization.time_zone),
        )
        if not form.is_valid():
            raise _form_errors(form)
        away, booked = setup.add_time_away(
            staff=staff,
            provider=provider,
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
            reason=form.cleaned_data["reason"],
            request=request._request,
        )
        made = {"time_away": away, "booked_inside": [visit.pk for visit in booked]}
        return Response(TimeAwayMadeSerializer(made).data, status=status.HTTP_201_CREATED)
