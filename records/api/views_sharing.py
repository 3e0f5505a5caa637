"""SMART Health Links to the record, through the API: the share page's list, new link, one link, and ending one.

The same rules as the pages (records.views.share): the records scope; someone from whom sensitive items stay
hidden sees (and may end) only the links they made (records.access.share_links_visible_to); a link is made
and ended by records.actions, checked by the share page's form; showing a link again shows its key, so every
read of one link is recorded, the patient's own too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit_labels import AuditAction
from proxy.actions import NotAllowedError
from records import actions
from records.access import access_share_link_by_id, share_links_visible_to
from records.api.forms import checked_by
from records.api.reads import share_link_detail
from records.api.serializers_writes import NewShareLinkSerializer, ShareLinkDetailSerializer, ShareLinkSerializer
from records.api.views import FIELD_ERRORS, RecordAPIView, described, record_read, record_write, refused
from records.forms import ShareLinkForm

if TYPE_CHECKING:
    from accounts.models import Patient
    from records.models import ShareLink


class ShareLinksView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_SHARE_LINKS_VIEWED)

    @described("The links made to share this record, newest first (paged)", responses=ShareLinkSerializer(many=True))
    def get(self, request: Request, patient: Patient) -> Response:
        links = (
            share_links_visible_to(self.actor)
            .select_related("created_by")
            .annotate(openings_count=Count("openings"))
            .order_by("-created_at", "-pk")
        )
        return self.paginated(links, ShareLinkSerializer, context=self.context)

    @described(
        "Make a link to a snapshot of what the caller may see of the record, now",
        write=True,
        request=NewShareLinkSerializer,
        responses={201: ShareLinkDetailSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, patient: Patient) -> Response:
        body = NewShareLinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The share page's form, for the person the path names (its `subject` check cannot fail here).
        chosen = checked_by(ShareLinkForm({**body.validated_data, "subject": patient.pk}, patient=patient))
        try:
            link = actions.create_share_link(
                actor=self.actor,
                label=chosen["label"],
                days=chosen["days"],
                passcode=chosen["passcode"],
                content=chosen["content"],
                start=chosen["start"],
                end=chosen["end"],
                request=request._request,
            )
        except NotAllowedError as error:
            raise refused(error) from error
        made = ShareLinkDetailSerializer(share_link_detail(request._request, link), context=self.context)
        return Response(made.data, status=status.HTTP_201_CREATED)


class ShareLinkView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_SHARE_LINK_VIEWED, audit_self=True, link_id=access_share_link_by_id)

    @described(
        "One link: while it works, its text and QR code (they hold the key: every read is recorded, the patient's "
        "too); who used it",
        responses=ShareLinkDetailSerializer,
    )
    def get(self, request: Request, patient: Patient, link: ShareLink) -> Response:
        return Response(ShareLinkDetailSerializer(share_link_detail(request._request, link), context=self.context).data)


class RevokeShareLinkView(RecordAPIView):
    audience = record_write(link_id=access_share_link_by_id)

    @described(
        "End a link now (anyone who tries it is told it ended; ending it again changes nothing)",
        write=True,
        request=None,
        responses=ShareLinkDetailSerializer,
    )
    def post(self, request: Request, patient: Patient, link: ShareLink) -> Response:
        try:
            actions.revoke_share_link(actor=self.actor, link=link, request=request._request)
        except NotAllowedError as error:
            raise refused(error) from error
        link.refresh_from_db()
        return Response(ShareLinkDetailSerializer(share_link_detail(request._request, link), context=self.context).data)
