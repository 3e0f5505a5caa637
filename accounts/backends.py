"""The sign-in backends' core: each request's user read with what every request's actor needs, in one query.

The backends the settings name are proxy.backends', which add what the access layer asks of the user.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import Membership, User


class RequestUserMixin:
    """The session's user, with their own Patient row and whether they work anywhere (for accounts.actors.actor_for)."""

    def request_user_queryset(self) -> QuerySet[User]:
        works = Exists(Membership.objects.filter(user=OuterRef("pk")))
        return User._default_manager.select_related("own_patient").annotate(has_memberships=works)

    def get_user(self, user_id: Any) -> User | None:
        try:
            user = self.request_user_queryset().get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]
