"""The session's backends, Django's and allauth's, reading each request's user in one query (see accounts.backends).

To the core's user they add whether the user holds any active grant: most people hold none, and for them
the page's "acting for" list (proxy.access.subjects_for) asks the database nothing more. It is read on
every request, so a grant given or revoked counts on the next one.
"""

from __future__ import annotations

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db.models import Exists, OuterRef, QuerySet

from accounts.backends import RequestUserMixin as CoreRequestUserMixin
from accounts.models import User
from proxy.models import GrantStatus, ProxyGrant


class RequestUserMixin(CoreRequestUserMixin):
    def request_user_queryset(self) -> QuerySet[User]:
        holds = Exists(ProxyGrant.objects.filter(grantee=OuterRef("pk"), status=GrantStatus.ACTIVE))
        return super().request_user_queryset().annotate(holds_grants=holds)


class ModelBackend(RequestUserMixin, DjangoModelBackend):
    pass


class AuthenticationBackend(RequestUserMixin, AllauthBackend):
    pass
