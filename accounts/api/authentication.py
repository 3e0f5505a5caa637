from __future__ import annotations

from django.utils import timezone
from django.utils.translation import pgettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User
from accounts.models.tokens import TOKEN_PREFIX, digest_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer fhp_…` with a token made on the API tokens page."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _separator, token = header.partition(" ")
        if scheme != self.keyword:
            return None
        token = token.strip()
        if not token.startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed(pgettext_lazy("API sign-in", "Invalid token."))
        now = timezone.now()
        # An ended (revoked) or expired token is refused like one that never existed.
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=digest_token(token), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
            .first()
        )
        if row is None:
            raise exceptions.AuthenticationFailed(pgettext_lazy("API sign-in", "Invalid token."))
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the bearer token in the OpenAPI schema."""

    target_class = "accounts.api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A token made on the API tokens page."}
