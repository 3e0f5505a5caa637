"""Refills through the API: the patient's side (/api/v1/patients/<patient_id>/refills/) and the staff's
(/api/v1/staff/<org_slug>/refills/), the same reads and actions as the pages (messaging.views.refills,
messaging.views.staff_refills).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import Scope
from accounts.audience import Audience, Kind, load_objects, staff_desk
from accounts.audit_labels import AuditAction
from messaging import refill_actions, refills
from messaging.access import INBOX_ROLES, access_medication_by_id, access_pharmacy_by_id, access_staff_refill_by_id
from messaging.actions import MessagingError
from messaging.models import RefillRequest, RefillStatus
from proxy.access import access_subject_by_id
from proxy.actions import NotAllowedError
from proxy.api.base import PATIENT_KWARG, PortalAPIView

if TYPE_CHECKING:
    from accounts.models import Patient

# Named enums in the OpenAPI schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
REFILL_STATUS_CHOICES = list(RefillStatus.values)
REFILL_DECISION_CHOICES = list(refill_actions.Decision.ALL)
TAGS = ["refills"]
STAFF_TAGS = ["staff refills"]
CSRF_NOTE = " Writes from a browser session need the CSRF token (X-CSRFToken header); bearer-token calls do not."
FIELD_ERRORS = OpenApiResponse(
    description="What to fix, by field name (non_field_errors: the request as a whole); nothing changed.",
    response=OpenApiTypes.OBJECT,
)
REFUSED = OpenApiResponse(description="The caller may not do this (nothing changed).")
CONFLICT = OpenApiResponse(
    description="Already done: a refill of this medicine is waiting, or someone else decided first (nothing "
    "changed; `detail` says who)."
)


# Serializers -------------------------------------------------------------------------------------------


class PharmacySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    favorite = serializers.BooleanField(required=False, help_text="One of the person's favourites.")


class MedicineSerializer(serializers.Serializer):
    """A current medicine: refillable here (with the organization's pharmacies), or where to ask instead."""

    medication = serializers.IntegerField(source="order.pk", help_text="The id to ask a refill with.")
    key = serializers.CharField(help_text='"rxnorm:<code>" or "name:<name>": the same medicine across orders.')
    name = serializers.CharField()
    refillable = serializers.BooleanField()
    organization = serializers.CharField(source="organization.name", allow_null=True, default=None)
    ask_instead = serializers.CharField(help_text="Where to ask, when it cannot be refilled here.")
    runs_out_on = serializers.DateField(allow_null=True)
    reminders_on = serializers.BooleanField()
    waiting_request = serializers.IntegerField(source="waiting.pk", allow_null=True, default=None)


class RefillRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    medication_name = serializers.CharField()
    medication_key = serializers.CharField()
    organization = serializers.CharField(source="organization.name")
    pharmacy = serializers.CharField(source="pharmacy.name")
    status = serializers.ChoiceField(choices=REFILL_STATUS_CHOICES)
    status_text = serializers.SerializerMethodField(help_text="The status in plain words, as the patient reads it.")
    quantity = serializers.IntegerField(allow_null=True)
    refills = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    thread = serializers.IntegerField(source="thread_id")

    def get_status_text(self, refill: RefillRequest) -> str:
        return refill_actions.decision_text(refill)


class RefillsSerializer(serializers.Serializer):
    medicines = MedicineSerializer(many=True)
    requests = RefillRequestSerializer(many=True)


class NewRefillSerializer(serializers.Serializer):
    medication = serializers.IntegerField(help_text="A medicine's `medication` id from the list.")
    pharmacy = serializers.IntegerField(help_text="One of the prescribing organization's pharmacies.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=refill_actions.NOTE_LIMIT, default="")
    keep_favorite = serializers.BooleanField(required=False, default=False)
    private = serializers.BooleanField(
        required=False, default=False, help_text="Only the patient, acting for themselves: no caregiver sees it."
    )


class StaffRefillSerializer(RefillRequestSerializer):
    patient_name = serializers.CharField(source="patient.display_name")
    patient_birth_date = serializers.DateField(source="patient.birth_date", allow_null=True)
    mrn = serializers.CharField(allow_null=True, required=False, default=None)
    requested_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()

    def get_requested_by(self, refill: RefillRequest) -> str:
        user = refill.requested_by
        return (user.full_name or user.email) if user else ""

    def get_decided_by(self, refill: RefillRequest) -> str:
        user = refill.decided_by
        return (user.full_name or user.email) if user else ""


class RefillQueueSerializer(serializers.Serializer):
    waiting = StaffRefillSerializer(many=True)
    decided = StaffRefillSerializer(many=True)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=REFILL_DECISION_CHOICES)
    quantity = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    refills = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=refill_actions.REASON_LIMIT)


# The patient's side -------------------------------------------------------------------------------------


class RefillsView(PortalAPIView):
    """The path names the patient: the caller, or someone they hold a live grant with the refills scope for."""

    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.REFILLS,
        audit=AuditAction.REFILLS_VIEWED,
        objects={PATIENT_KWARG: access_subject_by_id},
    )

    @extend_schema(
        summary="The medicines (refillable ones, and with the records scope where to ask for the others) and the "
        "refill requests, waiting ones first",
        tags=TAGS,
        responses=RefillsSerializer,
    )
    def get(self, request: Request, patient: Patient) -> Response:
        actor = self.actor
        body = {"medicines": refills.medicines(actor), "requests": list(refills.refill_history(actor)[:200])}
        return Response(RefillsSerializer(body).data)

    @extend_schema(
        summary="Ask for a refill of a medicine, to one of the prescribing organization's pharmacies",
        description="A second request for a medicine while one is waiting is a 409." + CSRF_NOTE,
        tags=TAGS,
        request=NewRefillSerializer,
        responses={201: RefillRequestSerializer, 400: FIELD_ERRORS, 403: REFUSED, 409: CONFLICT},
    )
    def post(self, request: Request, patient: Patient) -> Response:
        body = NewRefillSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        actor = self.actor
        try:
            medication = access_medication_by_id(actor, data["medication"])
        except Http404 as error:
            raise ValidationError({"medication": [_("Not a medicine of this person's.")]}) from error
        try:
            pharmacy = access_pharmacy_by_id(actor, data["pharmacy"])
        except Http404 as error:
            raise ValidationError({"pharmacy": [_("Not one of the organization's pharmacies.")]}) from error
        medicine = refills.medicine_by_order(actor, medication.pk)
        try:
            done = refill_actions.request_refill(
                actor=actor,
                medication=medication,
                pharmacy=pharmacy,
                note=data["note"],
                keep_favorite=data["keep_favorite"],
                private=data["private"],
                request=request._request,
            )
        except NotAllowedError as error:
            raise PermissionDenied(str(error)) from error
        except MessagingError as error:
            if medicine is not None and medicine.waiting is not None:
                return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(RefillRequestSerializer(done.refill).data, status=status.HTTP_201_CREATED)


# The staff side -----------------------------------------------------------------------------------------


class StaffDeskAPIView(PortalAPIView):
    """A staff call at the desk the path names (staff/<org_slug>/...), past two-step verification."""

    def _enter_audience(self, request: Request) -> None:
        self._require_second_factor(request)
        staff = staff_desk(self.actor, self.audience, self.kwargs.pop("org_slug", None))
        self.checked_actor = staff
        self.loaded = load_objects(self.audience, staff, self.kwargs)
        self.kwargs.update(self.loaded)


class StaffRefillsView(StaffDeskAPIView):
    audience = Audience(Kind.STAFF, roles=INBOX_ROLES)

    @extend_schema(
        summary="The desk's refill queue: waiting requests oldest first, then the latest decided",
        description="Staff of the organization the path names who work its inbox, with two-step verification; "
        "anyone else gets 404 (403 without two-step verification). Every request listed is recorded as read.",
        tags=STAFF_TAGS,
        responses=RefillQueueSerializer,
    )
    def get(self, request: Request) -> Response:
        staff = self.checked_actor
        waiting, decided = refills.refill_queue(staff)
        refill_actions.record_queue_read(staff=staff, refills=[*waiting, *decided], request=request._request)
        return Response(RefillQueueSerializer({"waiting": waiting, "decided": decided}).data)


class StaffRefillDecideView(StaffDeskAPIView):
    audience = Audience(Kind.STAFF, roles=INBOX_ROLES, objects={"refill_id": access_staff_refill_by_id})

    @extend_schema(
        summary="Decide a refill request: approve (quantity, refills), deny (reason) or ask for a visit (reason)",
        description="Only clinicians and nurses decide (others: 403). Someone else decided first: 409, nothing "
        "changed, `detail` says who." + CSRF_NOTE,
        tags=STAFF_TAGS,
        request=DecisionSerializer,
        responses={200: StaffRefillSerializer, 400: FIELD_ERRORS, 403: REFUSED, 409: CONFLICT},
    )
    def post(self, request: Request, refill: RefillRequest) -> Response:
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        try:
            decided = refill_actions.decide_refill(
                staff=self.checked_actor,
                refill=refill,
                decision=data["decision"],
                quantity=data.get("quantity"),
                refills=data.get("refills"),
                reason=data["reason"],
                request=request._request,
            )
        except NotAllowedError as error:
            raise PermissionDenied(str(error)) from error
        except refill_actions.AlreadyDecidedError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except MessagingError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(StaffRefillSerializer(decided).data)
