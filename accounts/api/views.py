from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actions.mfa import has_mfa
from accounts.actors import Actor, actor_for
from accounts.api.serializers import MeSerializer
from accounts.selectors import subjects_for


class ActorAPIView(APIView):
    """Base for API views: resolves the same actor the pages use."""

    @property
    def actor(self) -> Actor:
        if not hasattr(self, "_actor"):
            self._actor = actor_for(self.request.user)
        return self._actor


class MeView(ActorAPIView):
    @extend_schema(responses=MeSerializer, summary="Who am I, and whom may I act for")
    def get(self, request: Request) -> Response:
        actor = self.actor
        user = actor.user
        assert user is not None
        subjects = subjects_for(actor)
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
