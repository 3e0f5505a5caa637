from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actions.mfa import has_mfa
from accounts.actors import Actor
from accounts.models import User
from proxy.access import AccessEndedError, Subject, resolve_actor, subjects_for
from proxy.api.serializers import MeSerializer
from proxy.middleware import ACTING_FOR_KEY

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
