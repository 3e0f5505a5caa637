"""The patient's privacy choices, through the API: private items shown to helpers, and results that wait.

Only the patient acting for themselves: the path must name the caller's own record (records.privacy.
records.access.access_own_record_by_id); anyone else, a caregiver or a helper included, gets 404, as on the pages
(records.views.privacy). Every change goes through an action in records.privacy, which records it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import Scope
from accounts.audience import Audience, Kind, Loader
from accounts.audit_labels import AuditAction
from proxy.actions import NotAllowedError
from proxy.api.base import PATIENT_KWARG
from records import access, privacy
from records.api.serializers_writes import (
    HelperChoicesSerializer,
    PrivacyChoicesSerializer,
    PrivateKindsSerializer,
    ReleasedSerializer,
    ResultsWaitSerializer,
    ShowItemSerializer,
)
from records.api.views import FIELD_ERRORS, RecordAPIView, described, refused

if TYPE_CHECKING:
    from accounts.models import Patient
    from proxy.models import ProxyGrant
    from records.models import FhirResource, SensitiveShare

ONLY_THE_PATIENT = (
    "Only the patient, acting for themselves: the path names the caller's own record (anyone else, caregivers "
    "and helpers included, gets 404)."
)


def own_record(audit: AuditAction | None = None, **objects: Loader) -> Audience:
    """A call on the caller's own record's privacy choices (records scope)."""
    return Audience(
        Kind.SUBJECT,
        scope=Scope.RECORDS,
        audit=audit,
        objects={PATIENT_KWARG: access.access_own_record_by_id, **objects},
    )


def privately(summary: str, *, write: bool = True, **more: Any) -> Any:
    """extend_schema for a privacy call: the record's tag and language header, and who may call it."""
    return described(summary, description=ONLY_THE_PATIENT, write=write, **more)


def _helper(actor_choices: privacy.PrivacyChoices, grant: ProxyGrant) -> privacy.HelperChoices:
    return next(helper for helper in actor_choices.helpers if helper.grant.pk == grant.pk)


class PrivacyView(RecordAPIView):
    audience = own_record(AuditAction.RECORDS_PRIVACY_VIEWED)

    @privately(
        "The patient's privacy choices: whether private results wait, those that wait (their source and day, "
        "never the test), and what each helper may see",
        write=False,
        responses=PrivacyChoicesSerializer,
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return Response(PrivacyChoicesSerializer(privacy.privacy_choices(self.actor)).data)


class ResultsWaitView(RecordAPIView):
    audience = own_record()

    @privately(
        "Private test results wait until the patient chooses to see them (true), or are shown at once (false: "
        "every waiting result is shown now)",
        request=ResultsWaitSerializer,
        responses={200: ResultsWaitSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, patient: Patient) -> Response:
        body = ResultsWaitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            privacy.wait_for_discussion(actor=self.actor, wait=body.validated_data["wait"], request=request._request)
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(ResultsWaitSerializer({"wait": patient.results_after_discussion}).data)


class ReleaseResultView(RecordAPIView):
    audience = own_record(result_id=access.access_waiting_result_by_id)

    @privately(
        "I have talked it over: show this waiting result (every copy of it) from now on",
        request=None,
        responses=ReleasedSerializer,
    )
    def post(self, request: Request, patient: Patient, result: FhirResource) -> Response:
        try:
            copies = privacy.release_result(actor=self.actor, result=result, request=request._request)
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(ReleasedSerializer({"result_id": result.pk, "copies": copies}).data)


class PrivateKindsView(RecordAPIView):
    audience = own_record(grant_id=access.access_private_item_helper_by_id)

    @privately(
        "Choose every kind of private item this helper may see (the others stop being shown)",
        request=PrivateKindsSerializer,
        responses={200: HelperChoicesSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, patient: Patient, grant: ProxyGrant) -> Response:
        body = PrivateKindsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            privacy.choose_private_kinds(
                actor=self.actor, grant=grant, categories=body.validated_data["kinds"], request=request._request
            )
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(HelperChoicesSerializer(_helper(privacy.privacy_choices(self.actor), grant)).data)


class ShowItemView(RecordAPIView):
    audience = own_record(item_id=access.access_private_item_by_id)

    @privately(
        "Show one private item (every copy of it) to one helper",
        request=ShowItemSerializer,
        responses={200: HelperChoicesSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, patient: Patient, item: FhirResource) -> Response:
        body = ShowItemSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor = self.actor
        try:
            grant = access.access_private_item_helper_by_id(actor, body.validated_data["grant"])
        except Http404 as error:
            raise ValidationError({"grant": [_("Not someone private items can be shown to.")]}) from error
        try:
            privacy.show_private_item(actor=actor, grant=grant, item=item, request=request._request)
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(HelperChoicesSerializer(_helper(privacy.privacy_choices(actor), grant)).data)


class StopShowingView(RecordAPIView):
    audience = own_record(share_id=access.access_private_item_share_by_id)

    @privately(
        "Stop showing a private item (every copy of it) or a kind of item to a helper",
        request=None,
        responses={204: OpenApiResponse(description="They no longer see it.")},
    )
    def post(self, request: Request, patient: Patient, share: SensitiveShare) -> Response:
        try:
            privacy.stop_showing(actor=self.actor, share=share, request=request._request)
        except NotAllowedError as error:
            raise refused(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)
