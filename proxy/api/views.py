from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_otp.middleware import is_verified
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import access_subject
from accounts.actions.mfa import has_mfa
from accounts.actors import Actor, Scope
from accounts.models import ApiToken, Patient, User
from proxy import actions
from proxy.access import AccessEndedError, Subject, resolve_actor, subjects_for
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
from proxy.desks import desk_for_request, review_desk, reviewer_actor
from proxy.middleware import ACTING_FOR_KEY
from proxy.models import AccessRequest, GrantStatus, ProxyGrant

ACTING_FOR_HEADER = OpenApiParameter(
    name="Acting-For",
    location=OpenApiParameter.HEADER,
    required=False,
    description="The id of the patient to act for (from /api/v1/me/). Default: the caller's own record.",
)


class ActorAPIView(APIView):
    """Base for API views: the same actor the pages use.

    A token client names the subject in the `Acting-For` header; a browser
    session uses the person it switched to in the page header.
    """

    @property
    def actor(self) -> Actor:
        if not hasattr(self, "_actor"):
            request = self.request
            subject_id = request.headers.get("Acting-For")
            if subject_id is None and hasattr(request, "session"):
                subject_id = request.session.get(ACTING_FOR_KEY)
            user = request.user if isinstance(request.user, User) else None
            try:
                self._actor = resolve_actor(user, subject_id=subject_id or None)
            except (AccessEndedError, ValueError) as error:
                raise PermissionDenied("You may not act for that patient.") from error
        return self._actor


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


class MeView(ActorAPIView):
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


class SubjectsView(ActorAPIView):
    @extend_schema(responses=SubjectSerializer(many=True), summary="Everyone the caller may act for")
    def get(self, request: Request) -> Response:
        return Response(SubjectSerializer([subject_data(s) for s in subjects_for(self.actor)], many=True).data)


def _grants_on_subject(actor: Actor) -> QuerySet[ProxyGrant]:
    patient = access_subject(actor, Scope.MANAGE_PROXIES)
    return ProxyGrant.objects.filter(patient=patient).select_related("grantee", "patient", "invitation")


def _as_validation_error(error: actions.ProxyError) -> ValidationError:
    return ValidationError({"detail": str(error)})


class GrantsView(ActorAPIView):
    """Grants on the record the caller acts for (needs the manage-proxies scope)."""

    @extend_schema(
        responses=GrantSerializer(many=True), summary="Who may act for this patient", parameters=[ACTING_FOR_HEADER]
    )
    def get(self, request: Request) -> Response:
        grants = _grants_on_subject(self.actor).order_by("-status_changed_at")
        return Response(GrantSerializer(grants, many=True).data)

    @extend_schema(
        request=InviteSerializer,
        responses={201: GrantSerializer},
        summary="Invite someone by email (they accept through the emailed link)",
        parameters=[ACTING_FOR_HEADER],
    )
    def post(self, request: Request) -> Response:
        patient = access_subject(self.actor, Scope.MANAGE_PROXIES)
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            sent = actions.invite_caregiver(
                actor=self.actor, patient=patient, request=request._request, **data.validated_data
            )
        except actions.ProxyError as error:
            raise _as_validation_error(error) from error
        return Response(GrantSerializer(sent.invitation.grant).data, status=status.HTTP_201_CREATED)


class GrantAPIView(ActorAPIView):
    def _grant(self, grant_id: str) -> ProxyGrant:
        grant = _grants_on_subject(self.actor).filter(pk=grant_id).first()
        if grant is None:
            raise NotFound
        return grant


class GrantDetailView(GrantAPIView):
    @extend_schema(responses=GrantSerializer, parameters=[ACTING_FOR_HEADER])
    def get(self, request: Request, grant_id: str) -> Response:
        return Response(GrantSerializer(self._grant(grant_id)).data)

    @extend_schema(
        request=GrantChangeSerializer,
        responses=GrantSerializer,
        summary="Change what a grantee may do, and until when",
        parameters=[ACTING_FOR_HEADER],
    )
    def patch(self, request: Request, grant_id: str) -> Response:
        grant = self._grant(grant_id)
        data = GrantChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            grant = actions.change_grant_scopes(
                actor=self.actor,
                grant=grant,
                scopes=data.validated_data["scopes"],
                expires_at=data.validated_data["expires_at"],
                keep_expiry="expires_at" not in request.data,
                request=request._request,
            )
        except actions.ProxyError as error:
            raise _as_validation_error(error) from error
        return Response(GrantSerializer(grant).data)


class GrantRevokeView(GrantAPIView):
    @extend_schema(
        request=ReasonSerializer, responses=GrantSerializer, summary="End a grant now", parameters=[ACTING_FOR_HEADER]
    )
    def post(self, request: Request, grant_id: str) -> Response:
        grant = self._grant(grant_id)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            grant = actions.revoke_grant(
                actor=self.actor, grant=grant, reason=data.validated_data["reason"], request=request._request
            )
        except actions.ProxyError as error:
            raise _as_validation_error(error) from error
        return Response(GrantSerializer(grant).data)


class AccessRequestsView(ActorAPIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=AccessRequestSerializer(many=True), summary="The caller's own access requests")
    def get(self, request: Request) -> Response:
        mine = AccessRequest.objects.filter(requester=self.actor.user).order_by("-created_at")
        return Response(AccessRequestSerializer(mine, many=True).data)

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
            raise _as_validation_error(error) from error
        return Response(AccessRequestSerializer(created).data, status=status.HTTP_201_CREATED)


class ReviewerAPIView(ActorAPIView):
    """Reviewers need two-step verification: a verified session, or a token of someone who has it on."""

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        user = self.actor.user
        by_token = isinstance(request.auth, ApiToken)
        if user is None or not has_mfa(user) or not (by_token or is_verified(user)):
            raise PermissionDenied("Reviewing access needs two-step verification.")


ORGANIZATION_PARAMETER = OpenApiParameter(
    name="organization", required=False, description="An organization's slug; without it, the platform's queue."
)


class ReviewQueueView(ReviewerAPIView):
    @extend_schema(
        responses=AccessRequestSerializer(many=True),
        parameters=[ORGANIZATION_PARAMETER],
        summary="Access requests waiting for review",
    )
    def get(self, request: Request) -> Response:
        desk = review_desk(self.actor, request.query_params.get("organization") or None)
        pending = desk.requests().filter(status=GrantStatus.PENDING).order_by("created_at")
        return Response(AccessRequestSerializer(pending, many=True).data)


class ReviewDecisionView(ReviewerAPIView):
    def _request(self, request_id: int) -> tuple[AccessRequest, Actor]:
        found = AccessRequest.objects.select_related("organization").filter(pk=request_id).first()
        if found is None:
            raise NotFound
        desk = desk_for_request(self.actor, found)
        return found, reviewer_actor(self.actor, desk)


class ApproveView(ReviewDecisionView):
    @extend_schema(request=ApproveSerializer, responses=GrantSerializer, summary="Approve an access request")
    def post(self, request: Request, request_id: int) -> Response:
        access_request, reviewer = self._request(request_id)
        data = ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            grant = actions.approve_access_request(
                actor=reviewer,
                access_request=access_request,
                patient_choice=values["patient"],
                scopes=values["scopes"],
                expires_at=values["expires_at"],
                mrn=values["mrn"],
                reason=values["reason"],
                request=request._request,
            )
        except (actions.ProxyError, Patient.DoesNotExist, DjangoValidationError) as error:
            raise ValidationError({"detail": str(error)}) from error
        return Response(GrantSerializer(grant).data)


class DenyView(ReviewDecisionView):
    @extend_schema(request=ReasonSerializer, responses=AccessRequestSerializer, summary="Deny an access request")
    def post(self, request: Request, request_id: int) -> Response:
        access_request, reviewer = self._request(request_id)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            denied = actions.deny_access_request(
                actor=reviewer,
                access_request=access_request,
                reason=data.validated_data["reason"],
                request=request._request,
            )
        except actions.ProxyError as error:
            raise _as_validation_error(error) from error
        return Response(AccessRequestSerializer(denied).data)
