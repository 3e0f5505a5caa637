"""The sign-in backends, loading each request's user with what every request's actor needs (one query, not three)."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db.models import Exists, OuterRef

from accounts.models import Membership, User


class RequestUserMixin:
    """The session's user, with their own Patient row and whether they work anywhere (for accounts.actors.actor_for)."""

    def get_user(self, user_id: Any) -> User | None:
        works = Exists(Membership.objects.filter(user=OuterRef("pk")))
        try:
            user = User._default_manager.select_related("own_patient").annotate(has_memberships=works).get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(RequestUserMixin, DjangoModelBackend):
    pass


class AuthenticationBackend(RequestUserMixin, AllauthBackend):
    pass
