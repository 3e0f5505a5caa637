from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import access_patient_by_id
from accounts.actions.audit import record_audit_events
from accounts.actions.mfa import has_mfa
from accounts.actors import Scope
from accounts.audience import Audience, Kind
from accounts.audit_labels import AuditAction
from accounts.models import Role
from proxy import actions
from proxy.access import Subject, access_grant_by_id, access_request_by_id, grants_managed_by, subjects_for
from proxy.api.base import ACTING_FOR_HEADER, ORGANIZATION_PARAMETER, PortalAPIView
from proxy.api.serializers import (
    AccessRequestSerializer,
    ApproveSerializer,
    GrantChangeSerializer,
    GrantSerializer,
    InviteSerializer,
    MeSerializer,
    ReasonSerializer,
    SubjectSerializer,
)
from proxy.desks import ReviewDesk
from proxy.models import AccessRequest, GrantStatus, ProxyGrant
from proxy.selectors import requests_made_by

ADMINS = frozenset({Role.ORG_ADMIN})


def review_desk(**declared: Any) -> Audience:
    """Reviewers' calls: an organization's admins (?organization=<slug>) or the platform's (no parameter)."""
    return Audience(Kind.STAFF, roles=ADMINS, organization=True, platform=True, **declared)


def subject_data(subject: Subject) -> dict[str, object]:
    return {
        "id": subject.patient.pk,
        "name": subject.patient.display_name,
        "basis": subject.basis,
        "scopes": sorted(subject.scopes),
        "is_self": subject.is_self,
        "limited_for_adolescent": subject.hide_sensitive,
        "grant_id": subject.grant.pk if subject.grant else None,
        "expires_at": subject.grant.expires_at if subject.grant else None,
    }


def _as_error(error: actions.ProxyError) -> Exception:
    """A refusal of who asks answers 403 (nothing changes); anything else is a 400 with the reason."""
    if isinstance(error, actions.NotAllowedError):
        return PermissionDenied(str(error))
    return ValidationError({"detail": str(error)})


class MeView(PortalAPIView):
    audience = Audience(Kind.ACCOUNT)

    @extend_schema(responses=MeSerializer, summary="Who am I, and whom may I act for", parameters=[ACTING_FOR_HEADER])
    def get(self, request: Request) -> Response:
        actor = self.actor
        user = actor.user
        assert user is not None
        subjects = [subject_data(s) for s in subjects_for(actor)]
        current = next((s for s in subjects if actor.subject and s["id"] == actor.subject.pk), None)
        data = {
            "email": user.email,
            "full_name": user.full_name,
            "mfa_enabled": has_mfa(user),
            "acting_for": current,
            "may_act_for": subjects,
            "memberships": [
                {"organization": m.organization.name, "organization_slug": m.organization.slug, "role": m.role}
                for m in actor.memberships
            ],
        }
        return Response(MeSerializer(data).data)


class SubjectsView(PortalAPIView):
    audience = Audience(Kind.ACCOUNT)

    @extend_schema(responses=SubjectSerializer(many=True), summary="Everyone the caller may act for (paged)")
    def get(self, request: Request) -> Response:
        return self.paginated([subject_data(s) for s in subjects_for(self.actor)], SubjectSerializer)


class GrantsView(PortalAPIView):
    """Grants on the record the caller acts for (needs the manage-proxies scope); never the caller's own."""

    audience = Audience(Kind.SUBJECT, scope=Scope.MANAGE_PROXIES, audit=AuditAction.PROXY_GRANTS_VIEWED)

    @extend_schema(
        responses=GrantSerializer(many=True),
        summary="Who may act for this patient (paged)",
        parameters=[ACTING_FOR_HEADER],
    )
    def get(self, request: Request) -> Response:
        grants = grants_managed_by(self.actor).order_by("-status_changed_at", "pk")
        return self.paginated(grants, GrantSerializer)

    @extend_schema(
        request=InviteSerializer,
        responses={201: GrantSerializer},
        summary="Invite someone by email (they accept through the emailed link)",
        parameters=[ACTING_FOR_HEADER],
    )
    def post(self, request: Request) -> Response:
        assert self.subject is not None
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            sent = actions.invite_caregiver(
                actor=self.actor, patient=self.subject, request=request._request, **data.validated_data
            )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        return Response(GrantSerializer(sent.invitation.grant).data, status=status.HTTP_201_CREATED)


class GrantDetailView(PortalAPIView):
    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.MANAGE_PROXIES,
        audit=AuditAction.PROXY_GRANT_VIEWED,
        objects={"grant_id": access_grant_by_id},
    )

    @extend_schema(responses=GrantSerializer, parameters=[ACTING_FOR_HEADER])
    def get(self, request: Request, grant: ProxyGrant) -> Response:
        return Response(GrantSerializer(grant).data)

    @extend_schema(
        request=GrantChangeSerializer,
        responses=GrantSerializer,
        summary="Change what a grantee may do, and until when",
        parameters=[ACTING_FOR_HEADER],
    )
    def patch(self, request: Request, grant: ProxyGrant) -> Response:
        data = GrantChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            grant = actions.change_grant_scopes(
                actor=self.actor,
                grant=grant,
                scopes=data.validated_data["scopes"],
                expires_at=data.validated_data["expires_at"],
                keep_expiry="expires_at" not in request.data,
                allows_sensitive=data.validated_data.get("allows_sensitive"),
                request=request._request,
            )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        return Response(GrantSerializer(grant).data)


class GrantRevokeView(PortalAPIView):
    audience = Audience(Kind.SUBJECT, scope=Scope.MANAGE_PROXIES, objects={"grant_id": access_grant_by_id})

    @extend_schema(
        request=ReasonSerializer, responses=GrantSerializer, summary="End a grant now", parameters=[ACTING_FOR_HEADER]
    )
    def post(self, request: Request, grant: ProxyGrant) -> Response:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            if grant.status == GrantStatus.PENDING and grant.grantee_id is None:
                actions.withdraw_invitation(actor=self.actor, grant=grant, request=request._request)
                grant.refresh_from_db()
            else:
                grant = actions.revoke_grant(
                    actor=self.actor, grant=grant, reason=data.validated_data["reason"], request=request._request
                )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        return Response(GrantSerializer(grant).data)


class AccessRequestsView(PortalAPIView):
    audience = Audience(Kind.ACCOUNT)
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=AccessRequestSerializer(many=True), summary="The caller's own access requests (paged)")
    def get(self, request: Request) -> Response:
        mine = requests_made_by(self.actor)
        return self.paginated(mine, AccessRequestSerializer)

    @extend_schema(
        request=AccessRequestSerializer,
        responses={201: AccessRequestSerializer},
        summary="Ask for access to someone's record (multipart, with documents)",
    )
    def post(self, request: Request) -> Response:
        data = AccessRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        documents = fields.pop("documents")
        assert self.actor.user is not None
        try:
            created = actions.submit_access_request(
                user=self.actor.user, documents=documents, request=request._request, **fields
            )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        return Response(AccessRequestSerializer(created).data, status=status.HTTP_201_CREATED)


class ReviewQueueView(PortalAPIView):
    """Reviewers work at a desk: ?organization=<slug> for an organization's admins, none for the platform's."""

    audience = review_desk()

    @extend_schema(
        responses=AccessRequestSerializer(many=True),
        parameters=[ORGANIZATION_PARAMETER],
        summary="Access requests waiting for review (paged)",
    )
    def get(self, request: Request) -> Response:
        pending = ReviewDesk(self.checked_actor).requests().filter(status=GrantStatus.PENDING).order_by("created_at")
        response = self.paginated(pending, AccessRequestSerializer)
        shown = [row["id"] for row in response.data["results"]]
        record_audit_events(
            action=AuditAction.PROXY_REQUEST_VIEWED,
            actor=self.checked_actor,
            request=request._request,
            rows=[(found.patient, "accessrequest", found.pk) for found in pending.filter(pk__in=shown)],
        )
        return response


class ApproveView(PortalAPIView):
    audience = review_desk(objects={"access_request_id": access_request_by_id})

    @extend_schema(
        request=ApproveSerializer,
        responses=GrantSerializer,
        parameters=[ORGANIZATION_PARAMETER],
        summary="Approve an access request (at the desk that reviews it)",
    )
    def post(self, request: Request, access_request: AccessRequest) -> Response:
        data = ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        staff = self.checked_actor
        # The record is one the desk cares for, through its access helper (404 for any other id).
        patient = None if values["patient"] == actions.NEW_PATIENT else access_patient_by_id(staff, values["patient"])
        try:
            grant = actions.approve_access_request(
                actor=staff,
                access_request=access_request,
                patient=patient,
                scopes=values["scopes"],
                expires_at=values["expires_at"],
                mrn=values["mrn"],
                reason=values["reason"],
                allows_sensitive=values["allows_sensitive"],
                request=request._request,
            )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        return Response(GrantSerializer(grant).data)


class DenyView(PortalAPIView):
    audience = review_desk(objects={"access_request_id": access_request_by_id})

    @extend_schema(
        request=ReasonSerializer,
        responses=AccessRequestSerializer,
        parameters=[ORGANIZATION_PARAMETER],
        summary="Deny an access request (at the desk that reviews it)",
    )
    def post(self, request: Request, access_request: AccessRequest) -> Response:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            denied = actions.deny_access_request(
                actor=self.checked_actor,
                access_request=access_request,
                reason=data.validated_data["reason"],
                request=request._request,
            )
        except actions.ProxyError as error:
            raise _as_error(error) from error
        return Response(AccessRequestSerializer(denied).data)
