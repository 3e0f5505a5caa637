"""The messages API of the patient's side: /api/v1/patients/{patient_id}/messages/…

The path names the patient, as the record's API does (proxy.api.base): the caller, or someone they hold a live
grant with the messaging scope for; anyone else is a 404. A private thread is the patient's alone: a caregiver
gets 404 for it, as for one that does not exist. The same access helpers, selectors and actions as the pages;
reads by anyone but the patient are recorded in the audit log (and so in the patient's access history).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import Scope
from accounts.audience import Audience, Kind, Loader
from accounts.audit_labels import AuditAction
from messaging import actions, selectors
from messaging.access import access_attachment_by_id, access_pool_to_write_to, access_thread_by_id
from messaging.api.serializers import (
    CareTeamChoiceSerializer,
    NewThreadSerializer,
    ReplySerializer,
    ThreadDetailSerializer,
    ThreadSerializer,
)
from messaging.files import attachment_download
from proxy.access import access_subject_by_id
from proxy.actions import NotAllowedError
from proxy.api.base import PATIENT_KWARG, PortalAPIView
from records.access import access_result_by_id
from records.api.views import FileNegotiation

if TYPE_CHECKING:
    from django.http.response import HttpResponseBase

    from accounts.actors import Actor
    from accounts.models import Patient
    from messaging.models import Attachment, Thread
    from records.models import FhirResource

TAGS = ["messages"]
IN_PATH = (
    "The path names the patient: the caller, or someone they hold a live grant with the messaging scope for "
    "(anyone else, an unknown or malformed id: 404). A private conversation is the patient's alone (404 to anyone "
    "helping them)."
)
WRITE_NOTE = (
    " JSON, or multipart/form-data with `files` (repeated). Writes from a browser session need the CSRF token "
    "(X-CSRFToken header); bearer-token calls do not."
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type=OpenApiTypes.UUID,
    description="A UUID of the client's: the same message sent again with it is stored once (also a body field).",
)
FIELD_ERRORS = OpenApiResponse(description="What to fix, by field name.", response=OpenApiTypes.OBJECT)
REFUSED = OpenApiResponse(description="The caller may not do this (nothing changed).")


def messages_audience(audit: AuditAction | None = None, *, audit_self: bool = False, **objects: Loader) -> Audience:
    """A call on the messages of the patient the path names (messaging scope)."""
    return Audience(
        Kind.SUBJECT,
        scope=Scope.MESSAGING,
        audit=audit,
        audit_self=audit_self,
        objects={PATIENT_KWARG: access_subject_by_id, **objects},
    )


def described(summary: str, *, write: bool = False, **more: Any) -> Any:
    return extend_schema(summary=summary, description=IN_PATH + (WRITE_NOTE if write else ""), tags=TAGS, **more)


def _idempotency_key(request: Request, body: dict[str, Any]) -> uuid.UUID | None:
    key = body.get("idempotency_key")
    header = (request.headers.get("Idempotency-Key") or "").strip()
    if key is None and header:
        try:
            key = uuid.UUID(header)
        except ValueError as error:
            raise ValidationError({"Idempotency-Key": [_("Send a UUID, or leave the header out.")]}) from error
    return key


def _refused(error: NotAllowedError) -> PermissionDenied:
    return PermissionDenied(str(error))


def _readable_result(actor: Actor, result_id: object) -> FhirResource | None:
    if result_id is None:
        return None
    try:
        return access_result_by_id(actor, result_id)
    except Http404:
        return None


def _detail(actor: Actor, thread: Thread) -> dict[str, Any]:
    listed = selectors.patient_threads(actor).get(pk=thread.pk)
    history = list(selectors.thread_messages(thread, staff_side=False))
    context = {"history": history, "result": _readable_result(actor, thread.result_id)}
    return ThreadDetailSerializer(listed, context=context).data


class ThreadsView(PortalAPIView):
    audience = messages_audience(AuditAction.MESSAGES_VIEWED)

    @described(
        "The patient's conversations with care teams, newest first (paged)", responses=ThreadSerializer(many=True)
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return self.paginated(selectors.patient_threads(self.actor), ThreadSerializer)

    @described(
        "Start a conversation with a care team (with files, a result asked about, privately)",
        write=True,
        operation_id="messages_start",
        request={"application/json": NewThreadSerializer, "multipart/form-data": NewThreadSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: ThreadDetailSerializer,
            200: OpenApiResponse(ThreadDetailSerializer, description="Sent before with the same key: stored once."),
            400: FIELD_ERRORS,
            403: REFUSED,
        },
    )
    def post(self, request: Request, patient: Patient) -> Response:
        actor = self.actor
        body = NewThreadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        key = _idempotency_key(request, data)
        try:
            pool = access_pool_to_write_to(actor, data["care_team"])
        except Http404 as error:
            raise ValidationError(
                {"care_team": [_("Choose one of the care teams this person may write to.")]}
            ) from error
        result = None
        if data.get("result") is not None:
            result = _readable_result(actor, data["result"])
            if result is None:
                raise ValidationError({"result": [_("There is no such result in this person's record.")]})
            system = result.source.health_system
            if system is None or system.organization_id != pool.organization_id:
                raise ValidationError(
                    {"care_team": [_("Ask a care team of the organization the result came from about it.")]}
                )
        try:
            sent = actions.start_thread(
                actor=actor,
                pool=pool,
                topic=data["topic"],
                subject=data["subject"],
                body=data["body"],
                files=data.get("files") or [],
                private=data.get("private", False),
                result=result,
                idempotency_key=key,
                request=request._request,
            )
        except NotAllowedError as error:
            raise _refused(error) from error
        except actions.MessagingError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(
            _detail(actor, sent.thread), status=status.HTTP_201_CREATED if sent.created else status.HTTP_200_OK
        )


class CareTeamsView(PortalAPIView):
    audience = messages_audience()

    @described(
        "The care teams the patient may write to (at organizations where they are enrolled)",
        responses=CareTeamChoiceSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return Response(CareTeamChoiceSerializer(selectors.pools_to_write_to(self.actor), many=True).data)


class ThreadView(PortalAPIView):
    audience = messages_audience(AuditAction.MESSAGE_THREAD_VIEWED, thread_id=access_thread_by_id)

    @described("A conversation with its messages, oldest first; marks it read", responses=ThreadDetailSerializer)
    def get(self, request: Request, patient: Patient, thread: Thread) -> Response:
        actor = self.actor
        answer = _detail(actor, thread)
        if actor.user is not None:
            actions.mark_read(user=actor.user, thread=thread)
        return Response(answer)

    @described(
        "Write again in a conversation (refused while it is closed: start a new one)",
        write=True,
        operation_id="messages_reply",
        request={"application/json": ReplySerializer, "multipart/form-data": ReplySerializer},
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ThreadDetailSerializer, 200: ThreadDetailSerializer, 400: FIELD_ERRORS, 403: REFUSED},
    )
    def post(self, request: Request, patient: Patient, thread: Thread) -> Response:
        actor = self.actor
        body = ReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            sent = actions.reply_as_patient(
                actor=actor,
                thread=thread,
                body=data["body"],
                files=data.get("files") or [],
                idempotency_key=_idempotency_key(request, data),
                request=request._request,
            )
        except NotAllowedError as error:
            raise _refused(error) from error
        except actions.MessagingError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        return Response(
            _detail(actor, sent.thread), status=status.HTTP_201_CREATED if sent.created else status.HTTP_200_OK
        )


class AttachmentView(PortalAPIView):
    audience = messages_audience(
        AuditAction.MESSAGE_ATTACHMENT_VIEWED,
        audit_self=True,
        thread_id=access_thread_by_id,
        attachment_id=access_attachment_by_id,
    )
    content_negotiation_class = FileNegotiation

    @described(
        "A file sent with a message, as a download (recorded in the access history, the patient's own too)",
        responses={
            (200, media): OpenApiResponse(OpenApiTypes.BINARY)
            for media in ("application/pdf", "image/jpeg", "image/png")
        },
    )
    def get(self, request: Request, patient: Patient, thread: Thread, attachment: Attachment) -> HttpResponseBase:
        return attachment_download(attachment)
