"""The staff side's API, at an organization's desk: /api/v1/staff/<org_slug>/threads/ and each thread's actions.

The same rules as the pages (messaging.views.staff): staff of the organization the path names, in an inbox
role, past two-step verification (a verified session, or a bearer token of someone who has it on); anyone
else gets 404 as for a desk that does not exist. Threads and colleagues arrive through messaging.access;
writes go through messaging.actions. A refusal of who asks is 403 (nothing changed); a change that can no
longer be made (someone else took the thread, it is closed already) is 409, saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actions.audit import record_audit_events
from accounts.audience import Audience, Kind
from accounts.audit_labels import AuditAction
from messaging import actions, selectors
from messaging.access import INBOX_ROLES, access_colleague_by_id, access_pool_by_id, access_staff_thread_by_id
from messaging.api.serializers_staff import (
    InboxQuerySerializer,
    StaffAssignSerializer,
    StaffMessageSerializer,
    StaffNoteSerializer,
    StaffReplySerializer,
    StaffThreadDetailSerializer,
    StaffThreadSerializer,
)
from messaging.models import Thread
from messaging.selectors import InboxFilter
from proxy.api.base import PortalAPIView

TAGS = ["Staff inbox"]
THREAD = {"thread_id": access_staff_thread_by_id}
CONFLICT = OpenApiResponse(description="Nothing changed: someone else took the thread first, or it is so already.")
REFUSED = OpenApiResponse(description="Only the organization's care team may do this; nothing changed.")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This thread changed in the meantime."
    default_code = "conflict"


def inbox_desk(**declared: Any) -> Audience:
    """Staff of the organization the path names (`org_slug`), in an inbox role."""
    return Audience(Kind.STAFF, roles=INBOX_ROLES, **declared)


def _as_error(error: actions.ProxyError, *, conflict: bool = False) -> Exception:
    if isinstance(error, actions.NotAllowedError):
        return PermissionDenied(str(error))
    if conflict:
        return Conflict(str(error))
    return ValidationError({"detail": str(error)})


class StaffAPIView(PortalAPIView):
    def org_slug(self) -> str:
        return self.checked_actor.organization.slug

    def thread_data(self, thread: Thread) -> dict[str, Any]:
        staff = self.checked_actor
        thread.refresh_from_db()
        checked = access_staff_thread_by_id(staff, thread.pk)
        panel = selectors.patient_panel(staff, checked)
        context = {
            "org_slug": self.org_slug(),
            "history": list(selectors.thread_messages(checked, staff_side=True).select_related("thread")),
            "panel": panel,
            "mrn": panel.mrn,
            "now": timezone.now(),
        }
        return dict(StaffThreadDetailSerializer(checked, context=context).data)


class StaffThreadsView(StaffAPIView):
    audience = inbox_desk()

    @extend_schema(
        tags=TAGS,
        summary="The organization's inbox: overdue first, then soonest due (paged); each listed thread is audited",
        parameters=[InboxQuerySerializer],
        responses=StaffThreadSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        staff = self.checked_actor
        query = InboxQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        pool = access_pool_by_id(staff, values["pool"]) if values.get("pool") is not None else None
        rows = selectors.inbox(
            staff,
            pool_id=pool.pk if pool else None,
            view=values.get("view") or InboxFilter.OPEN,
            search=values.get("q", ""),
        )
        response = self.paginated(rows, StaffThreadSerializer, context={"now": timezone.now()})
        shown = {row["id"] for row in response.data["results"]}
        record_audit_events(
            action=AuditAction.MESSAGE_INBOX_VIEWED,
            actor=staff,
            request=request._request,
            rows=[(thread.patient, "thread", thread.pk) for thread in self._listed(rows, shown)],
        )
        return response

    @staticmethod
    def _listed(rows: Any, shown: set[int]) -> list[Thread]:
        return list(rows.filter(pk__in=shown)) if shown else []


class StaffThreadView(StaffAPIView):
    audience = inbox_desk(audit=AuditAction.MESSAGE_THREAD_VIEWED, objects=THREAD)

    @extend_schema(
        tags=TAGS,
        summary="A thread's whole history (internal notes and updates too) and the patient beside it",
        responses=StaffThreadDetailSerializer,
    )
    def get(self, request: Request, thread: Thread) -> Response:
        data = self.thread_data(thread)
        user = self.checked_actor.user
        assert user is not None
        actions.mark_read(user=user, thread=thread)
        return Response(data)


class StaffReplyView(StaffAPIView):
    audience = inbox_desk(objects=THREAD)

    @extend_schema(
        tags=TAGS,
        summary="Reply to the patient's side (told by email that there is a reply, nothing more)",
        request=StaffReplySerializer,
        responses={201: StaffMessageSerializer, 403: REFUSED},
    )
    def post(self, request: Request, thread: Thread) -> Response:
        body = StaffReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            message = actions.reply_as_staff(
                staff=self.checked_actor,
                thread=thread,
                body=body.validated_data["body"],
                close=body.validated_data["close"],
                request=request._request,
            )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        data = StaffMessageSerializer(message, context={"org_slug": self.org_slug()}).data
        return Response(data, status=status.HTTP_201_CREATED)


class StaffNoteView(StaffAPIView):
    audience = inbox_desk(objects=THREAD)

    @extend_schema(
        tags=TAGS,
        summary="An internal note: the care team sees it, the patient's side never does",
        request=StaffNoteSerializer,
        responses={201: StaffMessageSerializer, 403: REFUSED},
    )
    def post(self, request: Request, thread: Thread) -> Response:
        body = StaffNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            message = actions.add_note(
                staff=self.checked_actor, thread=thread, body=body.validated_data["body"], request=request._request
            )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        data = StaffMessageSerializer(message, context={"org_slug": self.org_slug()}).data
        return Response(data, status=status.HTTP_201_CREATED)


class _ThreadChange(StaffAPIView):
    """A change to the thread itself; answers the thread as it is now."""

    audience = inbox_desk(objects=THREAD)

    def changed(self, thread: Thread, change: Callable[[], object]) -> Response:
        """Runs `change` (one of messaging.actions) and answers the thread; a refusal or a conflict changes nothing."""
        try:
            change()
        except actions.ProxyError as error:
            raise _as_error(error, conflict=True) from error
        return Response(self.thread_data(thread))


CHANGE_RESPONSES = {200: StaffThreadDetailSerializer, 403: REFUSED, 409: CONFLICT}


class StaffClaimView(_ThreadChange):
    @extend_schema(
        tags=TAGS, summary="Take the thread (409 naming who has it, if someone else took it first)", request=None,
        responses=CHANGE_RESPONSES,
    )  # fmt: skip
    def post(self, request: Request, thread: Thread) -> Response:
        return self.changed(
            thread, lambda: actions.claim_thread(staff=self.checked_actor, thread=thread, request=request._request)
        )


class StaffAssignView(_ThreadChange):
    @extend_schema(
        tags=TAGS, summary="Give the thread to a colleague, or back to the pool", request=StaffAssignSerializer,
        responses=CHANGE_RESPONSES,
    )  # fmt: skip
    def post(self, request: Request, thread: Thread) -> Response:
        body = StaffAssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = body.validated_data["assignee"]
        assignee = access_colleague_by_id(self.checked_actor, chosen) if chosen is not None else None
        return self.changed(
            thread,
            lambda: actions.assign_thread(
                staff=self.checked_actor, thread=thread, assignee=assignee, request=request._request
            ),
        )


class StaffCloseView(_ThreadChange):
    @extend_schema(tags=TAGS, summary="Close the thread", request=None, responses=CHANGE_RESPONSES)
    def post(self, request: Request, thread: Thread) -> Response:
        return self.changed(
            thread, lambda: actions.close_thread(staff=self.checked_actor, thread=thread, request=request._request)
        )


class StaffReopenView(_ThreadChange):
    @extend_schema(
        tags=TAGS, summary="Reopen a closed thread (due again by the organization's turnaround)", request=None,
        responses=CHANGE_RESPONSES,
    )  # fmt: skip
    def post(self, request: Request, thread: Thread) -> Response:
        return self.changed(
            thread, lambda: actions.reopen_thread(staff=self.checked_actor, thread=thread, request=request._request)
        )
